"""pyzmq (libzmq) peers for ``zmtrio bench --workload soak``, one per process.

Run as ``python _soak_peers.py ROLE ENDPOINT NAME`` (by path: it imports only pyzmq). A
peer plays its role until SIGTERM, then ends gracefully and prints one line, ``sent N
answered M received K``, for the soak to check its books; SIGKILL ends it with no report (a
crash); it also stops if the soak that started it dies. Roles:

- ``push``: PUSH connecting to zmtrio's PULL, messages ``[NAME, seq]``; at SIGTERM it
  closes with LINGER -1, so everything it counted as sent reaches zmtrio;
- ``dealer``: DEALER connecting to zmtrio's echoing ROUTER, up to 10 requests in flight; at
  SIGTERM it waits (up to 10 s) for the answers still due;
- ``req``: REQ connecting to zmtrio's REP, one request at a time, answered before the next;
- ``sub``: SUB connecting to zmtrio's PUB, counting what arrives (PUB/SUB promises nothing);
- ``router-server``: ROUTER binding ENDPOINT and echoing, for zmtrio's DEALER to reconnect to;
- ``pub-server``: PUB binding ENDPOINT, for zmtrio's SUB to reconnect and resubscribe to.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from types import FrameType

import zmq

#: How many requests a DEALER peer keeps in flight.
WINDOW = 10
#: Pause between a PUSH or PUB peer's bursts, so a soak does not hog a shared machine.
PAUSE = 0.01
#: Messages per burst.
BURST = 20

_stopping = False
#: The soak that started this peer: if it dies, the peer stops too (no orphans).
_PARENT = os.getppid()


def _stop(signum: int, frame: FrameType | None) -> None:
    global _stopping
    _stopping = True


def _orphaned() -> bool:
    return os.getppid() != _PARENT


def _stream(sock: zmq.Socket[bytes], name: bytes) -> tuple[int, int, int]:
    sent = 0
    while not _stopping and not _orphaned():
        for _ in range(BURST):
            sock.send_multipart([name, str(sent).encode()])
            sent += 1
        time.sleep(PAUSE)
    return sent, 0, 0


def _dealer(sock: zmq.Socket[bytes], name: bytes) -> tuple[int, int, int]:
    sent = answered = 0
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        if _orphaned():
            break
        if _stopping and deadline is None:
            deadline = time.monotonic() + 10
        if not _stopping and sent - answered < WINDOW:
            sock.send_multipart([name, str(sent).encode()])
            sent += 1
            continue
        if answered == sent and _stopping:
            break
        if sock.poll(100):
            reply = sock.recv_multipart()
            assert reply == [name, str(answered).encode()], reply
            answered += 1
    return sent, answered, 0


def _req(sock: zmq.Socket[bytes], name: bytes) -> tuple[int, int, int]:
    sent = answered = 0
    while not _stopping and not _orphaned():
        sock.send_multipart([name, str(sent).encode()])
        sent += 1
        deadline = time.monotonic() + 10
        while not sock.poll(100):
            if time.monotonic() > deadline:
                return sent, answered, 0
        assert sock.recv_multipart() == [name, str(answered).encode()]
        answered += 1
    return sent, answered, 0


def _sub(sock: zmq.Socket[bytes], name: bytes) -> tuple[int, int, int]:
    received = 0
    while not _stopping and not _orphaned():
        if sock.poll(100):
            sock.recv_multipart()
            received += 1
    return 0, 0, received


def _router_server(sock: zmq.Socket[bytes], name: bytes) -> tuple[int, int, int]:
    answered = 0
    while not _stopping and not _orphaned():
        if sock.poll(100):
            sock.send_multipart(sock.recv_multipart())
            answered += 1
    return 0, answered, 0


_ROLES = {
    "push": (zmq.PUSH, False, _stream),
    "dealer": (zmq.DEALER, False, _dealer),
    "req": (zmq.REQ, False, _req),
    "sub": (zmq.SUB, False, _sub),
    "router-server": (zmq.ROUTER, True, _router_server),
    "pub-server": (zmq.PUB, True, _stream),
}


def main(argv: list[str]) -> None:
    """Play ``ROLE`` against ``ENDPOINT`` as ``NAME`` until SIGTERM; print the tallies."""
    role, endpoint, name = argv
    signal.signal(signal.SIGTERM, _stop)
    socket_type, binds, play = _ROLES[role]
    ctx = zmq.Context()
    sock = ctx.socket(socket_type)
    sock.linger = -1 if role == "push" else 0
    if socket_type == zmq.SUB:
        sock.subscribe(b"")
    if binds:
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    print("up", flush=True)
    sent, answered, received = play(sock, name.encode())
    sock.close()
    ctx.term()
    print(f"sent {sent} answered {answered} received {received}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
