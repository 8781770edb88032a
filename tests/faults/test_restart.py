"""A pyzmq peer process SIGKILLed mid-stream and restarted on the same endpoint: zmtrio's
connecting socket retries with RECONNECT_IVL doubling up to RECONNECT_IVL_MAX, reconnects,
resubscribes, and (PUSH, DEALER) loses nothing still queued on its side."""

from __future__ import annotations

import pytest
import trio
import zmtrio
from zmtrio import EventType

from tests.conftest import next_event
from tests.faults._process import free_endpoint, peer_process

#: Reconnect intervals used here (ms): small, so the backoff reaches its cap quickly.
IVL, IVL_MAX = 20, 160


def _connecting(ctx: zmtrio.Context, kind: zmtrio.SocketType) -> zmtrio.Socket:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.reconnect_ivl = IVL
    sock.reconnect_ivl_max = IVL_MAX
    return sock


async def _retries_while_down(events: trio.MemoryReceiveChannel[zmtrio.Event]) -> list[int]:
    """The CONNECT_RETRIED intervals until the backoff has reached its cap."""
    retries = [(await next_event(events, EventType.CONNECT_RETRIED)).value]
    while retries[-1] < IVL_MAX:
        retries.append((await next_event(events, EventType.CONNECT_RETRIED)).value)
    return retries


def _check_backoff(retries: list[int]) -> None:
    # libzmq with RECONNECT_IVL_MAX: start at RECONNECT_IVL, double, stop at the cap.
    assert retries == [IVL * 2**n for n in range(len(retries))], retries
    assert retries[-1] == IVL_MAX


@pytest.mark.parametrize(("kind", "role"), [(zmtrio.PUSH, "pull"), (zmtrio.DEALER, "router-echo")])
async def test_killed_mid_stream_then_restarted(
    ctx: zmtrio.Context, kind: zmtrio.SocketType, role: str
) -> None:
    """A sender streams; the peer is SIGKILLed while messages flow. What reached the first
    peer is a prefix; the restarted peer gets every later message the socket still held,
    in order, with no gap and no duplicate. What was in the dead peer's kernel buffers is
    all that may be lost, as with libzmq."""
    endpoint = free_endpoint()
    sock = _connecting(ctx, kind)
    total = 400
    sent = 0
    sent_at_disconnect = -1
    async with sock.monitor() as events:
        await sock.connect(endpoint)
        async with peer_process(role, endpoint) as first:
            await next_event(events, EventType.HANDSHAKE_SUCCEEDED)

            async def stream(until: int) -> None:
                nonlocal sent
                while sent < until:
                    await sock.send(str(sent).encode())
                    sent += 1
                    if sent % 10 == 0:
                        await trio.sleep(0.001)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(stream, total // 2)
                got_first = await first.lines(20)  # mid-stream: the stream is still going
                first.kill()
            await next_event(events, EventType.DISCONNECTED)
            sent_at_disconnect = sent
        # The peer is down: these wait on the zmtrio side.
        while sent < total:
            await sock.send(str(sent).encode())
            sent += 1
        _check_backoff(await _retries_while_down(events))
        async with peer_process(role, endpoint) as second:
            await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
            got_second = [int(line) for line in await second.lines(total - sent_at_disconnect)]
            start = got_second[0]
            # Everything still queued after the crash, and more, arrives once, in order.
            assert start <= sent_at_disconnect
            remaining = total - start - len(got_second)
            got_second += [int(line) for line in await second.lines(remaining)]
            assert got_second == list(range(start, total))
            assert [int(line) for line in got_first] == list(range(20))
            if kind == zmtrio.DEALER:
                # Echoes: a prefix of the first peer's, then exactly the second peer's.
                echoes = [int(await sock.recv())]
                while echoes[-1] != total - 1:
                    echoes.append(int(await sock.recv()))
                split = len(echoes) - len(got_second)
                assert echoes[split:] == got_second
                assert echoes[:split] == list(range(split))


async def test_req_relaxed_after_restarts(ctx: zmtrio.Context) -> None:
    """REQ (REQ_RELAXED, REQ_CORRELATE) against a REP that is SIGKILLed twice: a request
    queued while the REP is down is answered after the restart; a request the dead REP
    swallowed is replaced by a new one, whose reply is the one that arrives."""
    endpoint = free_endpoint()
    req = _connecting(ctx, zmtrio.REQ)
    req.req_relaxed = 1
    req.req_correlate = 1
    async with req.monitor() as events:
        await req.connect(endpoint)
        async with peer_process("rep-echo", endpoint) as rep:
            await req.send(b"0")
            assert await req.recv() == b"0"
            rep.kill()
        await next_event(events, EventType.DISCONNECTED)
        await req.send(b"1")  # queued while the REP is down
        _check_backoff(await _retries_while_down(events))
        async with peer_process("rep-echo", endpoint) as rep:
            assert await rep.line() == "1"
            assert await req.recv() == b"1"
            await req.send(b"2")
            assert await rep.line() == "2"
            rep.kill()  # the REP read the request; its reply may or may not have left
        await next_event(events, EventType.DISCONNECTED)
        async with peer_process("rep-echo", endpoint) as rep:
            await req.send(b"3")  # REQ_RELAXED: no reply to "2" needed first
            assert await rep.line() == "3"
            assert await req.recv() == b"3"


async def test_sub_resubscribes_after_restart(ctx: zmtrio.Context) -> None:
    """A SUB subscribed to ``A`` receives ``A`` from every incarnation of a PUB that is
    SIGKILLed and restarted, and never ``B``: libzmq filters on the PUB's side, so each
    message from a new PUB proves the subscription was sent again."""
    endpoint = free_endpoint()
    sub = _connecting(ctx, zmtrio.SUB)
    sub.subscribe(b"A")
    async with sub.monitor() as events:
        await sub.connect(endpoint)
        for incarnation in range(3):
            async with peer_process("pub", endpoint) as pub:
                await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
                with trio.fail_after(10):
                    for _ in range(5):
                        topic, _ = await sub.recv_multipart()
                        assert topic == b"A"
                pub.kill()
            await next_event(events, EventType.DISCONNECTED)
            # Drop what the dead PUB sent, so the next round hears only the new one.
            while True:
                try:
                    topic, _ = sub.recv_multipart_nowait()
                except zmtrio.Again:
                    break
                assert topic == b"A"
            if incarnation == 0:
                _check_backoff(await _retries_while_down(events))
