"""``send_batch`` frames a batch once: to one connection that writes frames in clear (PUSH,
DEALER with one peer) its small messages are queued as one run that counts as that many
messages against the high-water mark; anything else is copied by one Rust call. Checked on
the core's pieces (``encode_batch``, ``copy_messages``, ``Pipe.push_encoded``) and end to end
against pyzmq and zmtrio peers, with the guarantees of the API (order, a cancelled batch
queued a prefix, nothing lost when the peers change while a batch waits for room)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
import zmq
import zmtrio
from zmtrio import _core

from tests.conftest import ZmqPeer, endpoint_for, wait_until

#: The largest frame a run takes (``RUN_MAX_FRAME`` in rust/src/batch.rs).
RUN_MAX_FRAME = 8 * 1024


def numbered(count: int, size: int = 16) -> list[list[bytes]]:
    """``count`` two-frame messages: the number, then ``size`` bytes of filler."""
    return [[i.to_bytes(4, "big"), b"." * size] for i in range(count)]


# ---------------------------------------------------------------- the core's pieces


def test_encode_batch_frames_small_bytes_messages_back_to_back() -> None:
    messages: list[Any] = [[b"a", b"bc"], (b"",), [b"x" * RUN_MAX_FRAME]]
    batch = _core.encode_batch(messages)
    assert batch is not None and len(batch) == 3
    assert batch.messages(0) == [[b"a", b"bc"], [b""], [b"x" * RUN_MAX_FRAME]]
    assert batch.messages(2) == [[b"x" * RUN_MAX_FRAME]]
    assert batch.messages(3) == []
    empty = _core.encode_batch([])
    assert empty is not None and len(empty) == 0


@pytest.mark.parametrize(
    "message",
    [[], [bytearray(b"x")], [memoryview(b"x")], ["text"], b"frames", [b"x" * (RUN_MAX_FRAME + 1)]],
    ids=["empty", "bytearray", "memoryview", "str", "bytes-message", "large-frame"],
)
def test_encode_batch_leaves_other_messages_to_the_slow_path(message: Any) -> None:
    assert _core.encode_batch([[b"fine"], message]) is None


def test_copy_messages_makes_new_lists_of_the_same_frames() -> None:
    frames = [b"a", b"b"]
    copies = _core.copy_messages([frames, (b"c",)])
    assert copies == [[b"a", b"b"], [b"c"]]
    assert copies is not None and copies[0] is not frames and copies[0][0] is frames[0]
    for odd in ([], [bytearray(b"x")], "text", [b"x", 1]):
        assert _core.copy_messages([[b"fine"], odd]) is None


def test_a_run_counts_as_its_messages_against_the_high_water_mark() -> None:
    batch = _core.encode_batch([[b"a"], [b"b", b"c"], [b"d"]])
    assert batch is not None
    pipe = _core.Pipe(5)
    assert pipe.push_encoded(batch, 0) == 3
    assert len(pipe) == 3
    assert pipe.try_push([b"e"]) == 4
    assert pipe.push_encoded(batch, 1) == 1  # room for one more message only
    assert len(pipe) == 5 and pipe.full()
    assert pipe.try_push([b"f"]) == -1
    assert pipe.push_many([[b"f"]], 1) == 0
    assert pipe.push_encoded(batch, 0) == 0
    run = pipe.pop()
    assert isinstance(run, _core.EncodedBatch) and run.messages(0) == batch.messages(0)
    assert len(pipe) == 2 and not pipe.full()
    assert pipe.pop() == [b"e"]
    run = pipe.pop()
    assert isinstance(run, _core.EncodedBatch) and run.messages(0) == [[b"b", b"c"]]
    assert pipe.push_encoded(batch, 0) == 3
    assert pipe.push([b"g"]) == 4
    assert pipe.clear() == 4 and len(pipe) == 0


def test_a_run_popped_in_a_batch_leaves_the_count() -> None:
    batch = _core.encode_batch([[b"a"], [b"b"]])
    assert batch is not None
    pipe = _core.Pipe(0)  # no high-water mark: every message fits
    pipe.try_push([b"before"])
    assert pipe.push_encoded(batch, 0) == 2
    assert len(pipe.pop_many(10)) == 2
    assert len(pipe) == 0


def test_a_conflating_pipe_keeps_the_last_message_of_a_run() -> None:
    batch = _core.encode_batch([[b"a"], [b"b"], [b"c", b"d"]])
    assert batch is not None
    pipe = _core.Pipe(1, conflate=True)
    pipe.try_push([b"old"])
    assert pipe.push_encoded(batch, 0) == 3
    assert len(pipe) == 1
    run = pipe.pop()
    assert isinstance(run, _core.EncodedBatch) and run.messages(0) == [[b"c", b"d"]]


def connected_pair() -> tuple[_core.Connection, _core.Connection]:
    """A PUSH and a PULL connection past their handshake (fed to each other)."""
    push = _core.Connection(int(zmtrio.PUSH))
    pull = _core.Connection(int(zmtrio.PULL))
    for _ in range(2):  # greetings, then READY both ways
        for sender, receiver in ((push, pull), (pull, push)):
            output = sender.take_output(None, 0)
            if output is not None:
                receiver.feed(output, _core.Pipe(0), [], 0.0)
    assert push.ready and pull.ready
    return push, pull


def test_take_output_writes_runs_as_the_frames_they_hold() -> None:
    """A run on the wire is its messages' frames; one alone is handed out as it is."""
    push, pull = connected_pair()
    messages = numbered(5)
    batch = _core.encode_batch(messages)
    assert batch is not None
    outbound = _core.Pipe(0)
    outbound.push_encoded(batch, 0)
    sole = push.take_output(outbound, 1 << 16)
    assert sole is not None and len(outbound) == 0
    outbound.push_encoded(batch, 3)
    outbound.try_push([b"after"])
    both = push.take_output(outbound, 1 << 16)
    assert both is not None and len(outbound) == 0
    inbound = _core.Pipe(0)
    pull.feed(sole + both, inbound, [], 0.0)
    assert inbound.pop_many(100) == [*messages, *messages[3:], [b"after"]]


def test_take_output_writes_every_byte_and_refuses_what_is_no_message() -> None:
    """The output buffer is written in full (it is not zeroed first): what the peer decodes
    is exactly what was queued; an item that is no message is refused by name."""
    push, pull = connected_pair()
    messages = [[bytes(range(i % 256)) * 3] for i in range(300)] + [[b"", b"\xff" * 70_000]]
    outbound = _core.Pipe(0)
    for message in messages:
        outbound.try_push(message)
    inbound = _core.Pipe(0)
    while (output := push.take_output(outbound, 1 << 16)) is not None:
        for piece in output if isinstance(output, list) else [output]:
            pull.feed(bytes(piece), inbound, [], 0.0)
    assert inbound.pop_many(1000) == messages
    outbound.try_push(("a", "tuple"))
    with pytest.raises(TypeError, match="a queued message is a list of bytes, not tuple"):
        push.take_output(outbound, 1 << 16)


# ---------------------------------------------------------------- end to end


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("zmtrio_binds", [True, False], ids=["push-binds", "push-connects"])
async def test_send_batch_to_pyzmq_in_runs_and_copies(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], transport: str, zmtrio_binds: bool, ipc_dir: str
) -> None:
    """Runs split by a small high-water mark, a batch with a frame too large for a run, and
    one with bytearray frames (converted), all in order."""
    push = ctx.socket(zmtrio.PUSH)
    push.sndhwm = 7
    pull = ZmqPeer(zctx, zmq.PULL)
    endpoint = endpoint_for(transport, ipc_dir)
    if zmtrio_binds:
        pull.connect(await push.bind(endpoint))
    else:
        await push.connect(pull.bind(endpoint))
    await wait_until(push._pattern.takes_encoded)  # handshake done: runs from now on
    small = numbered(100)
    small[10] = [b"\x00\x00\x00\x0a", b"", b"x" * RUN_MAX_FRAME]
    large = [[b"large", b"x" * (RUN_MAX_FRAME + 1)], [b"after large"]]
    converted: list[list[Any]] = [[bytearray(b"bytearray")], [memoryview(b"memoryview")]]
    await push.send_batch(small)
    await push.send_batch(large)
    await push.send_batch(converted)
    expected = [*small, *large, [b"bytearray"], [b"memoryview"]]
    for message in expected:
        assert await pull.recv_multipart() == message
    pull.close()


async def test_send_batch_refuses_a_bad_message_before_queuing_any(ctx: zmtrio.Context) -> None:
    push = ctx.socket(zmtrio.PUSH)
    pull = ctx.socket(zmtrio.PULL)
    await push.connect(await pull.bind("tcp://127.0.0.1:*"))
    await wait_until(push._pattern.takes_encoded)
    with pytest.raises(TypeError):
        await push.send_batch([[b"first"], ["text"]])
    with pytest.raises(ValueError):
        await push.send_batch([[b"first"], []])
    await push.send_batch([[b"only"]])
    assert await pull.recv_multipart() == [b"only"]


def stalled_pair(ctx: zmtrio.Context) -> tuple[zmtrio.Socket, zmtrio.Socket]:
    """A PUSH and a PULL with small queues and kernel buffers: a PULL that does not read
    soon makes the PUSH wait for room."""
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    push.sndhwm = pull.rcvhwm = 4
    push.sndbuf = pull.rcvbuf = 65536
    return push, pull


async def drain(pull: zmtrio.Socket) -> list[list[bytes]]:
    """Every message ``pull`` gets until none comes for a while."""
    received: list[list[bytes]] = []
    while True:
        with trio.move_on_after(0.5):
            received.extend(await pull.recv_batch(1000))
            continue
        return received


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_cancelled_send_batch_in_runs_queued_a_prefix(
    ctx: zmtrio.Context, transport: str, ipc_dir: str
) -> None:
    push, pull = stalled_pair(ctx)
    await push.connect(await pull.bind(endpoint_for(transport, ipc_dir)))
    await wait_until(push._pattern.takes_encoded)
    batch = numbered(400, size=RUN_MAX_FRAME - 4)
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(push.send_batch, batch)
            await trio.testing.wait_all_tasks_blocked(0.05)
            scope.cancel()
    received = await drain(pull)
    assert 0 < len(received) < len(batch)
    assert received == batch[: len(received)]


async def test_peers_that_change_while_a_batch_waits_take_the_rest(ctx: zmtrio.Context) -> None:
    """A batch queued in runs to one stalled peer goes on message by message, round robin,
    once a second peer comes: nothing lost or repeated, each peer's share in order."""
    push, first = stalled_pair(ctx)
    await push.connect(await first.bind("tcp://127.0.0.1:*"))
    await wait_until(push._pattern.takes_encoded)
    batch = numbered(400, size=RUN_MAX_FRAME - 4)
    second = ctx.socket(zmtrio.PULL)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(push.send_batch, batch)
        await trio.testing.wait_all_tasks_blocked(0.05)
        assert len(push._peers) == 1  # parked, with one peer
        await push.connect(await second.bind("tcp://127.0.0.1:*"))
        shares = await drain(second), await drain(first)
    assert shares[0], "the second peer took part of the batch"
    for share in shares:
        assert share == sorted(share)
    assert sorted(shares[0] + shares[1]) == batch
