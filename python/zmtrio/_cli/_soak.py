"""``zmtrio bench --workload soak``: hours of churn with the books kept.

One zmtrio process binds a PULL, an echoing ROUTER, an echoing REP and a PUB, and connects
a DEALER and a SUB to pyzmq servers. pyzmq peers in their own processes
(:mod:`._soak_peers`) join those sockets, play for a few seconds, then leave gracefully or
are SIGKILLed (a crash); the two servers are killed and restarted under zmtrio's connecting
sockets, which must reconnect (and resubscribe). Once a minute, and at the end, a row gives:

- ``delivered``: messages zmtrio's sockets received, plus those SUB peers reported;
- ``lost``: messages a pattern promised and did not deliver. A PUSH peer that left
  gracefully (LINGER -1) sent N: zmtrio's PULL must have all N. A DEALER or REQ peer that
  left gracefully must have had every request answered. Crashed peers promise nothing;
- ``disorder``: a PUSH peer's sequence arriving out of order or twice (always a bug);
- ``joins``/``crashes``: peer processes started / SIGKILLed;
- ``reconnects``: CONNECTED events of zmtrio's DEALER and SUB after their first;
- ``RSS`` and open descriptors of the zmtrio process, which must stay flat.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import trio

import zmtrio

__all__ = ["SoakTally", "soak"]

#: Client peers kept alive per role.
PEERS_PER_ROLE = 2
#: How long a client peer plays before it leaves or is killed, in seconds.
PEER_LIFE = (2.0, 12.0)
#: How long a server lives between restarts, in seconds.
SERVER_LIFE = (5.0, 20.0)
#: The share of leaving peers and stopping servers that are SIGKILLed instead of stopped.
CRASH_SHARE = 1 / 3
#: The peers' script: run by path, it imports only pyzmq.
_PEERS = str(Path(__file__).with_name("_soak_peers.py"))
#: How long a peer may take to start, or to report once stopping, and its messages to
#: arrive: generous, as a loaded machine can take many seconds to start a Python process.
SETTLE = 60.0


@dataclass
class SoakTally:
    """The books of a soak run (see the module docs for each count)."""

    delivered: int = 0
    lost: int = 0
    disorder: int = 0
    joins: int = 0
    crashes: int = 0
    graceful: int = 0
    reconnects: int = 0
    server_restarts: int = 0
    #: Peer processes that never came up (a starved machine), killed and replaced.
    no_shows: int = 0
    #: pyzmq PUB incarnations zmtrio's SUB received from (it resubscribed to each).
    pub_incarnations_heard: set[bytes] = field(default_factory=set)
    pub_incarnations: int = 0
    #: What each disorder or loss was, for the final report.
    problems: list[str] = field(default_factory=list)

    def problem(self, what: str) -> None:
        """Books a problem, printed at the end."""
        self.problems.append(what)


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Lines:
    """Reads a peer's stdout line by line."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""

    async def line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = await self._stream.receive_some()
            if not chunk:
                raise EOFError("the peer exited without a report")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line


@dataclass
class _Books:
    """What the zmtrio side saw, per peer, for settling graceful leavers."""

    tally: SoakTally
    #: The next sequence number expected from each PUSH peer.
    push_next: dict[bytes, int] = field(default_factory=dict)
    arrived: trio.Event = field(default_factory=trio.Event)

    def on_push(self, name: bytes, seq: int) -> None:
        expected = self.push_next.get(name, 0)
        if seq != expected:
            self.tally.disorder += 1
            self.tally.problem(f"{name!r} sent {seq} where {expected} was due")
        self.push_next[name] = max(expected, seq + 1)
        self.tally.delivered += 1
        self.arrived.set()
        self.arrived = trio.Event()

    async def settle_push(self, name: bytes, sent: int) -> None:
        """Waits until all ``sent`` messages of a gracefully gone PUSH peer arrived (or
        ``SETTLE`` passed); books the rest as lost."""
        with trio.move_on_after(SETTLE):
            while self.push_next.get(name, 0) < sent:
                await self.arrived.wait()
        missing = sent - self.push_next.pop(name, 0)
        if missing > 0:
            self.tally.lost += missing
            self.tally.problem(f"{name!r}: {missing} of {sent} never arrived")


async def _peer_life(
    role: str, endpoint: str, name: str, books: _Books, stopping: trio.Event, rng: random.Random
) -> None:
    """One peer process: start, play, then leave gracefully (settling its books) or crash."""
    tally = books.tally
    process = await trio.lowlevel.open_process(
        [sys.executable, _PEERS, role, endpoint, name],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    lines = _Lines(process.stdout)
    tally.joins += 1
    try:
        try:
            with trio.fail_after(SETTLE):
                await lines.line()  # "up"
        except (EOFError, trio.TooSlowError):
            tally.no_shows += 1  # the process never came up: not a zmtrio matter
            return
        with trio.move_on_after(rng.uniform(*PEER_LIFE)):
            await stopping.wait()
        if rng.random() < CRASH_SHARE and not stopping.is_set():
            process.kill()
            # Its books stay open: what it sent before dying may still be arriving.
            tally.crashes += 1
            return
        process.send_signal(signal.SIGTERM)
        try:
            with trio.fail_after(SETTLE):
                report = (await lines.line()).split()
        except (EOFError, trio.TooSlowError) as exc:
            # The peer died on a failed check (a wrong or repeated answer) or hung.
            tally.disorder += 1
            tally.problem(f"{name}: {exc!r}")
            return
        sent, answered, received = int(report[1]), int(report[3]), int(report[5])
        tally.graceful += 1
        if role == "push":
            await books.settle_push(name.encode(), sent)
        elif role in ("dealer", "req") and sent > answered:
            tally.lost += sent - answered
            tally.problem(f"{name}: {sent - answered} of {sent} requests unanswered")
        else:
            tally.delivered += received
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
        await process.stdout.aclose()


async def _keep_peers(
    role: str, endpoint: str, books: _Books, stopping: trio.Event, seed: int
) -> None:
    rng = random.Random(seed)
    generation = 0
    while not stopping.is_set():
        generation += 1
        await _peer_life(role, endpoint, f"{role}-{seed}-{generation}", books, stopping, rng)


async def _keep_server(
    role: str, endpoint: str, tally: SoakTally, stopping: trio.Event, rng: random.Random
) -> None:
    """A pyzmq server that is killed or stopped and restarted on the same endpoint."""
    generation = 0
    while not stopping.is_set():
        generation += 1
        name = f"{role}-{generation}"
        process = await trio.lowlevel.open_process(
            [sys.executable, _PEERS, role, endpoint, name],
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            # Its life starts once it has bound: a starved machine may take seconds to
            # start a process, and a server that never bound cannot be heard.
            with trio.move_on_after(SETTLE):
                try:
                    await _Lines(process.stdout).line()  # "up"
                except EOFError:
                    pass  # it died before binding: restarted below like any other
                else:
                    if role == "pub-server":
                        tally.pub_incarnations += 1
            with trio.move_on_after(rng.uniform(*SERVER_LIFE)):
                await stopping.wait()
            if rng.random() < CRASH_SHARE:
                process.kill()
            else:
                process.send_signal(signal.SIGTERM)
        finally:
            with trio.CancelScope(shield=True):
                with trio.move_on_after(SETTLE):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await process.stdout.aclose()
        tally.server_restarts += 1


async def _count_reconnects(sock: zmtrio.Socket, tally: SoakTally) -> None:
    first = True
    async with sock.monitor(zmtrio.EventType.CONNECTED) as events:
        async for _ in events:
            if not first:
                tally.reconnects += 1
            first = False


async def _echo(sock: zmtrio.Socket, tally: SoakTally) -> None:
    async for message in sock:
        tally.delivered += 1
        await sock.send_multipart(message)


async def _pull(sock: zmtrio.Socket, books: _Books) -> None:
    async for name, seq in sock:
        books.on_push(name, int(seq))


async def _publish(sock: zmtrio.Socket) -> None:
    seq = 0
    while True:
        for _ in range(20):
            await sock.send_multipart([b"soak", str(seq).encode()])
            seq += 1
        await trio.sleep(0.01)


async def _dealer_client(sock: zmtrio.Socket, tally: SoakTally) -> None:
    """Requests to the restarting ROUTER server at a steady pace; queued while it is down."""

    async def receive() -> None:
        async for _ in sock:
            tally.delivered += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive)
        seq = 0
        while True:
            try:
                sock.send_multipart_nowait([str(seq).encode()])
            except zmtrio.Again:
                pass  # at HWM while the server is down: DEALER blocks, we skip
            seq += 1
            await trio.sleep(0.005)


async def _sub_client(sock: zmtrio.Socket, tally: SoakTally) -> None:
    async for name, _ in sock:
        tally.delivered += 1
        tally.pub_incarnations_heard.add(name)


def _row(label: str, tally: SoakTally, out: TextIO) -> None:
    out.write(
        f"{label:>7} {tally.delivered:>11,} {tally.lost:>5} {tally.disorder:>8} "
        f"{tally.joins:>6} {tally.crashes:>7} {tally.reconnects:>10} "
        f"{_rss_mib():>8.1f} {_open_fds():>4}\n"
    )
    out.flush()


async def soak(duration: float, out: TextIO, interval: float = 60.0, seed: int = 1) -> SoakTally:
    """Run the soak for ``duration`` seconds, printing a row every ``interval`` seconds and
    at the end; returns the books."""
    tally = SoakTally()
    rng = random.Random(seed)
    stopping = trio.Event()
    roles = ["push", "dealer", "req", "sub"]
    out.write(
        f"zmtrio bench: soak, {duration:.0f} s, tcp, {PEERS_PER_ROLE} pyzmq peers per role "
        f"({', '.join(roles)}) living {PEER_LIFE[0]:.0f}-{PEER_LIFE[1]:.0f} s, "
        f"{CRASH_SHARE:.0%} SIGKILLed; pyzmq ROUTER and PUB servers restarted every "
        f"{SERVER_LIFE[0]:.0f}-{SERVER_LIFE[1]:.0f} s under zmtrio's DEALER and SUB\n"
        f"{'minute':>7} {'delivered':>11} {'lost':>5} {'disorder':>8} {'joins':>6} "
        f"{'crashes':>7} {'reconnects':>10} {'RSS MiB':>8} {'fds':>4}\n"
    )
    router_server = f"tcp://127.0.0.1:{_free_port()}"
    pub_server = f"tcp://127.0.0.1:{_free_port()}"
    async with zmtrio.Context() as ctx, trio.open_nursery() as nursery:
        books = _Books(tally)
        pull, router, rep, pub = (
            ctx.socket(kind) for kind in (zmtrio.PULL, zmtrio.ROUTER, zmtrio.REP, zmtrio.PUB)
        )
        dealer, sub = ctx.socket(zmtrio.DEALER), ctx.socket(zmtrio.SUB)
        for sock in (pull, router, rep, pub, dealer, sub):
            sock.linger = 0
        dealer.reconnect_ivl_max = 1000
        sub.reconnect_ivl_max = 1000
        sub.subscribe(b"")
        endpoints = {
            "push": await pull.bind("tcp://127.0.0.1:*"),
            "dealer": await router.bind("tcp://127.0.0.1:*"),
            "req": await rep.bind("tcp://127.0.0.1:*"),
            "sub": await pub.bind("tcp://127.0.0.1:*"),
        }
        await dealer.connect(router_server)
        await sub.connect(pub_server)
        background = trio.CancelScope()

        async def run_background() -> None:
            with background:
                async with trio.open_nursery() as inner:
                    inner.start_soon(_pull, pull, books)
                    inner.start_soon(_echo, router, tally)
                    inner.start_soon(_echo, rep, tally)
                    inner.start_soon(_publish, pub)
                    inner.start_soon(_dealer_client, dealer, tally)
                    inner.start_soon(_sub_client, sub, tally)
                    inner.start_soon(_count_reconnects, dealer, tally)
                    inner.start_soon(_count_reconnects, sub, tally)

        nursery.start_soon(run_background)
        async with trio.open_nursery() as churn:
            for role in roles:
                for index in range(PEERS_PER_ROLE):
                    churn.start_soon(
                        _keep_peers, role, endpoints[role], books, stopping, seed * 100 + index
                    )
            churn.start_soon(_keep_server, "router-server", router_server, tally, stopping, rng)
            churn.start_soon(_keep_server, "pub-server", pub_server, tally, stopping, rng)
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < duration:
                await trio.sleep(min(interval, duration - elapsed))
                if (elapsed := time.monotonic() - start) < duration:
                    _row(f"{elapsed / 60:.1f}", tally, out)
            stopping.set()
        background.cancel()
        for sock in (pull, router, rep, pub, dealer, sub):
            sock.close()
    _row("end", tally, out)
    heard = len(tally.pub_incarnations_heard)
    out.write(
        f"graceful leaves {tally.graceful}, server restarts {tally.server_restarts}, "
        f"peers that never came up {tally.no_shows}, "
        f"SUB heard {heard} of {tally.pub_incarnations} PUB incarnations; "
        + ("lost 0, disorder 0\n" if tally.lost == tally.disorder == 0 else "FAILED:\n")
    )
    for problem in tally.problems:
        out.write(f"  {problem}\n")
    return tally
