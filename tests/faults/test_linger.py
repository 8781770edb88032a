"""LINGER for real, judged by what a pyzmq PULL in another process received.

Messages queued on a PUSH whose peer is not there yet: LINGER 0 drops them at close;
LINGER N delivers what it can within N ms (all of it, to a peer that is up) and drops the
rest; LINGER -1 waits, however long, until the peer comes and takes them all."""

from __future__ import annotations

import trio
import zmtrio

from tests.faults._process import PeerProcess, free_endpoint, peer_process

QUEUED = [str(n).encode() for n in range(50)]


async def _queue_for_absent_peer(ctx: zmtrio.Context, endpoint: str, linger: int) -> zmtrio.Socket:
    push = ctx.socket(zmtrio.PUSH)
    push.linger = linger
    await push.connect(endpoint)
    for data in QUEUED:
        push.send_nowait(data)
    return push


async def _only_marker_arrives(ctx: zmtrio.Context, endpoint: str, pull: PeerProcess) -> None:
    """A fresh PUSH sends a marker: the PULL's first line is the marker, so nothing of the
    closed socket reached it (a closed socket cannot send later)."""
    async with ctx.socket(zmtrio.PUSH) as marker:
        await marker.connect(endpoint)
        await marker.send(b"marker")
        assert await pull.line() == "marker"


async def test_linger_0_drops_what_is_queued(ctx: zmtrio.Context) -> None:
    endpoint = free_endpoint()
    push = await _queue_for_absent_peer(ctx, endpoint, 0)
    await push.aclose()
    async with peer_process("pull", endpoint) as pull:
        await _only_marker_arrives(ctx, endpoint, pull)


async def test_linger_n_drops_what_it_could_not_deliver(ctx: zmtrio.Context) -> None:
    endpoint = free_endpoint()
    push = await _queue_for_absent_peer(ctx, endpoint, 200)
    with trio.fail_after(10):
        await push.aclose()  # returns once the 200 ms are up, the peer still absent
    async with peer_process("pull", endpoint) as pull:
        await _only_marker_arrives(ctx, endpoint, pull)


async def test_linger_n_delivers_what_it_can(ctx: zmtrio.Context) -> None:
    endpoint = free_endpoint()
    async with peer_process("pull", endpoint) as pull:
        push = ctx.socket(zmtrio.PUSH)
        push.linger = 5000
        await push.connect(endpoint)
        for data in QUEUED * 40:  # 2,000 messages, most still queued at close
            await push.send(data)
        await push.aclose()
        assert await pull.lines(len(QUEUED) * 40) == [d.decode() for d in QUEUED * 40]


async def test_linger_minus_1_waits_for_the_peer(ctx: zmtrio.Context) -> None:
    endpoint = free_endpoint()
    push = await _queue_for_absent_peer(ctx, endpoint, -1)
    closed = trio.Event()
    peer_started = False

    async def close() -> None:
        await push.aclose()
        # Closing cannot have finished before the peer existed to take the messages.
        assert peer_started
        closed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close)
        await trio.sleep(0.3)  # the close is waiting now, with nobody to deliver to
        assert not closed.is_set()
        peer_started = True
        async with peer_process("pull", endpoint) as pull:
            assert await pull.lines(len(QUEUED)) == [d.decode() for d in QUEUED]
            with trio.fail_after(10):
                await closed.wait()
