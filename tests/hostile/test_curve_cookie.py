"""A CURVE client that stalls between WELCOME and INITIATE: the server's cookie key is
forgotten 60 s after its WELCOME (RFC 26), even with no handshake limit, so a later INITIATE
fails the handshake as an unopenable cookie would; one in time completes it.

The clock is trio's MockClock, jumped by hand, in a ``trio.run`` of the test's own (the
suite's 30 s bound would read the same clock); each phase has its own bound."""

from __future__ import annotations

import pytest
import trio
import trio.testing
import zmtrio
from zmtrio import EventType, _core

#: libzmq's ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC.
ZMTP_CRYPTOGRAPHIC = 0x1100_0001


async def _stall_before_initiate(clock: trio.testing.MockClock, stall: float) -> list[object]:
    """What the server's monitor and the client see when the client waits ``stall``
    seconds (mock time) before sending its INITIATE."""
    seen: list[object] = []
    async with zmtrio.Context() as ctx:
        public, secret = zmtrio.curve_keypair()
        server = ctx.socket(zmtrio.PULL)
        server.curve_secretkey = secret
        server.curve_server = True
        server.handshake_ivl = 0  # no handshake limit: only the cookie's own timer runs
        endpoint = await server.bind("tcp://127.0.0.1:*")
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        _, client_secret = zmtrio.curve_keypair()
        client = _core.Connection(
            zmtrio.PUSH,
            mechanism=2,
            secret_key=zmtrio.z85_decode(client_secret),
            server_key=zmtrio.z85_decode(public),
        )
        scratch = _core.Pipe(0)
        async with server.monitor() as events:
            with trio.fail_after(20):
                stream = await trio.open_tcp_stream(host, int(port))
                initiate = None
                while initiate is None:
                    output = client.take_output(None, 0)
                    if output is not None:
                        await stream.send_all(output)
                    client.feed(await stream.receive_some(65536), scratch, [], 0.0)
                    if b"\x08INITIATE" in (pending := client.take_output(None, 0) or b""):
                        initiate = pending
                    elif pending:
                        await stream.send_all(pending)
                await trio.testing.wait_all_tasks_blocked()
            clock.jump(stall)
            with trio.fail_after(20):
                await trio.testing.wait_all_tasks_blocked()
                await stream.send_all(initiate)
                async for event in events:
                    if event.event in (
                        EventType.HANDSHAKE_SUCCEEDED,
                        EventType.HANDSHAKE_FAILED_PROTOCOL,
                    ):
                        seen.append((event.event, event.value))
                        break
                reply = await stream.receive_some(65536)
                client.feed(reply, scratch, [], 0.0)
                seen.append(client.ready)
                await stream.aclose()
    return seen


@pytest.mark.parametrize(
    ("stall", "expected"),
    [
        (59.0, [(EventType.HANDSHAKE_SUCCEEDED, 0), True]),
        (61.0, [(EventType.HANDSHAKE_FAILED_PROTOCOL, ZMTP_CRYPTOGRAPHIC), False]),
    ],
)
def test_cookie_key_lives_sixty_seconds(stall: float, expected: list[object]) -> None:
    clock = trio.testing.MockClock(rate=1)
    assert trio.run(_stall_before_initiate, clock, stall, clock=clock) == expected
