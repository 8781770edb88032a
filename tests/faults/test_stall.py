"""A relay between zmtrio and a pyzmq peer that stops forwarding, as a stalled network
would, while both TCP connections stay open: only heartbeats can tell. zmtrio's PINGs go
unanswered, it drops the connection after HEARTBEAT_TIMEOUT and reconnects, and the new
connection (which the relay forwards) carries messages again."""

from __future__ import annotations

import trio
import zmtrio
from zmtrio import EventType

from tests.conftest import next_event
from tests.faults._process import free_endpoint, peer_process


class StallingRelay:
    """Forwards tcp connections to ``target``; ``stall()`` freezes every connection open
    now (bytes stop moving both ways, nothing is closed), later ones flow normally."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.accepted = 0
        self._stalled = trio.Event()
        self._frozen: list[trio.SocketStream] = []

    def stall(self) -> None:
        self._stalled.set()
        self._stalled = trio.Event()

    async def serve(self, listener: trio.SocketListener) -> None:
        async with trio.open_nursery() as nursery:
            while True:
                client = await listener.accept()
                self.accepted += 1
                nursery.start_soon(self._relay, client)

    async def _relay(self, client: trio.SocketStream) -> None:
        server = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        stalled = self._stalled
        async with client, server:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, client, server)
                nursery.start_soon(self._pump, server, client)
                await stalled.wait()
                nursery.cancel_scope.cancel()
            # Frozen: both connections stay open, nothing moves, until the test ends.
            await trio.sleep_forever()

    @staticmethod
    async def _pump(source: trio.SocketStream, sink: trio.SocketStream) -> None:
        while data := await source.receive_some():
            await sink.send_all(data)


async def test_heartbeats_replace_a_stalled_connection(ctx: zmtrio.Context) -> None:
    endpoint = free_endpoint()
    port = int(endpoint.rsplit(":", 1)[1])
    dealer = ctx.socket(zmtrio.DEALER)
    dealer.linger = 0
    dealer.heartbeat_ivl = 100
    dealer.heartbeat_timeout = 500
    dealer.reconnect_ivl = 20
    async with peer_process("router-echo", endpoint) as router, trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        relay = StallingRelay(port)
        nursery.start_soon(relay.serve, listeners[0])
        relay_port = listeners[0].socket.getsockname()[1]
        async with dealer.monitor() as events:
            await dealer.connect(f"tcp://127.0.0.1:{relay_port}")
            first = await next_event(events, EventType.CONNECTED)
            await dealer.send(b"before")
            assert await dealer.recv() == b"before"
            assert await router.line() == "before"
            relay.stall()
            # Nothing closed the connection: only missing PONGs can end it.
            gone = await next_event(events, EventType.DISCONNECTED, timeout=10)
            assert gone.value == first.value
            await next_event(events, EventType.HANDSHAKE_SUCCEEDED, timeout=10)
            assert relay.accepted == 2
            await dealer.send(b"after")
            with trio.fail_after(10):
                assert await dealer.recv() == b"after"
            assert await router.line() == "after"
        nursery.cancel_scope.cancel()
        await listeners[0].aclose()
