"""A pyzmq (libzmq) peer in its own process, so a test can SIGKILL it for real.

Run by path: ``python _peer_main.py ROLE ENDPOINT [COUNT]`` (imports only pyzmq). It prints
``ready`` once bound or connected, then one line per message it receives (frames joined by
``|``), flushed at once, so the test reads exactly what this peer got. Roles:

- ``pull``: bind a PULL and print what arrives;
- ``router-echo`` / ``rep-echo``: bind and send every message back (printing it);
- ``pub``: bind a PUB and publish ``[b"A", seq]`` and ``[b"B", seq]`` every 5 ms;
- ``push``: wait for a line on stdin, then connect a PUSH, send COUNT messages ``[seq]``,
  close with LINGER -1 and exit (the test opens no descriptor to say go).
"""

from __future__ import annotations

import sys
import time

import zmq


def _print(frames: list[bytes]) -> None:
    sys.stdout.write("|".join(frame.decode() for frame in frames) + "\n")
    sys.stdout.flush()


def main(role: str, endpoint: str, count: int = 0) -> None:
    ctx = zmq.Context()
    kind = {
        "pull": zmq.PULL,
        "router-echo": zmq.ROUTER,
        "rep-echo": zmq.REP,
        "pub": zmq.PUB,
        "push": zmq.PUSH,
    }[role]
    sock = ctx.socket(kind)
    if role == "push":
        sock.linger = -1
        print("ready", flush=True)
        sys.stdin.readline()
        sock.connect(endpoint)
        for seq in range(count):
            sock.send(str(seq).encode())
        sock.close()
        ctx.term()
        return
    sock.linger = 0
    sock.bind(endpoint)
    print("ready", flush=True)
    seq = 0
    while True:
        if role == "pub":
            sock.send_multipart([b"A", str(seq).encode()])
            sock.send_multipart([b"B", str(seq).encode()])
            seq += 1
            time.sleep(0.005)
            continue
        frames = sock.recv_multipart()
        _print(frames[1:] if role == "router-echo" else frames)
        if role != "pull":
            sock.send_multipart(frames)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(arg) for arg in sys.argv[3:]))
