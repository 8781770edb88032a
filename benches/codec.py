"""Engine micro-benchmark: how fast the Rust connection encodes and decodes messages.

Run with ``.venv/bin/python benches/codec.py``. It drives two ``_core.Connection`` objects
through their handshake in memory, then times ``take_output`` (pipe -> bytes) and ``feed``
(bytes in 64 KiB chunks -> pipe), draining the inbound pipe as a real consumer does. No
sockets, no trio: this isolates the per-buffer cost of crossing into Rust. The end-to-end
comparison with pyzmq is ``zmtrio bench``. ``--curve`` runs both connections under CURVE
(every frame boxed on the way out and opened on the way in).
"""

from __future__ import annotations

import argparse
import time

from zmtrio import PULL, PUSH, _core

CHUNK = 64 * 1024


def _ready_pair(curve: bool) -> tuple[_core.Connection, _core.Connection]:
    if curve:
        server_public, server_secret = _core.curve_keypair()
        _, client_secret = _core.curve_keypair()
        sender = _core.Connection(
            PUSH, mechanism=2, secret_key=client_secret, server_key=server_public
        )
        receiver = _core.Connection(PULL, mechanism=2, as_server=True, secret_key=server_secret)
    else:
        sender, receiver = _core.Connection(PUSH), _core.Connection(PULL)
    scratch = _core.Pipe(0)
    while not (sender.ready and receiver.ready):
        for source, target in ((sender, receiver), (receiver, sender)):
            output = source.take_output(None, 0)
            if output is not None:
                target.feed(output, scratch, [], 0.0)
    return sender, receiver


def measure(
    frames: int, size: int, count: int, repeats: int, curve: bool = False
) -> tuple[float, float, int]:
    """Best-of-``repeats`` encode and decode rates (messages/s) and the stream size."""
    best_encode = best_decode = float("inf")
    stream_size = 0
    message = [bytes(size)] * frames
    for _ in range(repeats):
        sender, receiver = _ready_pair(curve)
        outbound = _core.Pipe(0)
        outbound.push_many([list(message) for _ in range(count)], count)
        start = time.perf_counter()
        buffers = []
        while (output := sender.take_output(outbound, CHUNK)) is not None:
            buffers.append(output)
        best_encode = min(best_encode, time.perf_counter() - start)
        stream = b"".join(buffers)
        stream_size = len(stream)
        chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
        inbound = _core.Pipe(0)
        events: list[tuple[object, ...]] = []
        received = 0
        start = time.perf_counter()
        for chunk in chunks:
            receiver.feed(chunk, inbound, events, 0.0)
            received += len(inbound.pop_many(count))
        best_decode = min(best_decode, time.perf_counter() - start)
        assert received == count
    return count / best_encode, count / best_decode, stream_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--curve", action="store_true", help="both connections under CURVE")
    args = parser.parse_args()
    print(f"{'message':<14} {'encode msg/s':>14} {'decode msg/s':>14} {'encode GB/s':>12}")
    for frames, size, count in (
        (1, 64, args.count),
        (3, 64, args.count),
        (1, 1024, args.count),
        (1, 70_000, max(args.count // 50, 1)),
    ):
        encode, decode, stream_size = measure(frames, size, count, args.repeats, args.curve)
        label = f"{frames} x {size} B"
        gigabytes = stream_size / count * encode / 1e9
        print(f"{label:<14} {encode:>14,.0f} {decode:>14,.0f} {gigabytes:>12.2f}")


if __name__ == "__main__":
    main()
