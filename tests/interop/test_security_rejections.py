"""Peers that must not get in, or that break CURVE mid-stream: each is dropped, nothing it
sent is delivered, and the socket goes on serving a good peer (pyzmq as every peer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio import EventType

from tests.conftest import ZmqPeer, next_event


def curve_server(ctx: zmtrio.Context) -> tuple[zmtrio.Socket, bytes]:
    """A CURVE PULL server with a new key pair, and its public key."""
    public, secret = zmtrio.curve_keypair()
    server = ctx.socket(zmtrio.PULL)
    server.curve_secretkey = secret
    server.curve_server = True
    return server, public


def good_client(zctx: zmq.Context[Any], server_public: bytes, endpoint: str) -> ZmqPeer:
    client = ZmqPeer(zctx, zmq.PUSH)
    public, secret = zmq.curve_keypair()
    client.sock.curve_publickey = public
    client.sock.curve_secretkey = secret
    client.sock.curve_serverkey = server_public
    client.connect(endpoint)
    return client


async def _refused_then_good_peer_served(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    server: zmtrio.Socket,
    configure_bad: Callable[[zmq.Socket[Any]], None],
    configure_good: Callable[[zmq.Socket[Any]], None],
    failure: EventType,
) -> zmtrio.Event:
    endpoint = await server.bind("tcp://127.0.0.1:*")
    async with server.monitor() as events:
        bad = ZmqPeer(zctx, zmq.PUSH)
        configure_bad(bad.sock)
        bad.connect(endpoint)
        # Queued now, before this trio loop runs the server: sent from a thread, the refusal
        # could come first, and libzmq's PUSH, its pipe gone, blocks until SNDTIMEO (Again).
        bad.sock.send(b"must never arrive", zmq.NOBLOCK)
        event = await next_event(events, failure, timeout=15)
    good = ZmqPeer(zctx, zmq.PUSH)
    configure_good(good.sock)
    good.connect(endpoint)
    await good.send_multipart([b"welcome"])
    assert await server.recv() == b"welcome"
    with trio.move_on_after(0.2):
        await server.recv()
        raise AssertionError("the refused peer's message was delivered")
    return event


def curve_client_for(server_public: bytes) -> Callable[[zmq.Socket[Any]], None]:
    def configure(sock: zmq.Socket[Any]) -> None:
        public, secret = zmq.curve_keypair()
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.curve_serverkey = server_public

    return configure


async def test_wrong_server_key(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    server, public = curve_server(ctx)
    other_public, _ = zmtrio.curve_keypair()
    event = await _refused_then_good_peer_served(
        ctx,
        zctx,
        server,
        curve_client_for(other_public),
        curve_client_for(public),
        EventType.HANDSHAKE_FAILED_PROTOCOL,
    )
    assert event.value == 0x1100_0001  # ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC


async def test_unknown_client_key(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], tmp_path: Any
) -> None:
    public, secret = zmtrio.curve_keypair()
    known_public, known_secret = zmtrio.curve_keypair()
    (tmp_path / "known.key").write_text(f'curve\n    public-key = "{known_public.decode()}"\n')
    async with zmtrio.auth.Authenticator(ctx) as auth:
        auth.configure_curve(location=tmp_path)
        server = ctx.socket(zmtrio.PULL)
        server.curve_secretkey = secret
        server.curve_server = True

        def known(sock: zmq.Socket[Any]) -> None:
            sock.curve_publickey = known_public
            sock.curve_secretkey = known_secret
            sock.curve_serverkey = public

        event = await _refused_then_good_peer_served(
            ctx, zctx, server, curve_client_for(public), known, EventType.HANDSHAKE_FAILED_AUTH
        )
        assert event.value == 400


@pytest.mark.parametrize("case", ["wrong password", "denied address"])
async def test_plain_refusals(ctx: zmtrio.Context, zctx: zmq.Context[Any], case: str) -> None:
    async with zmtrio.auth.Authenticator(ctx) as auth:
        auth.configure_plain(passwords={"admin": "secret"})
        if case == "denied address":
            auth.deny("127.0.0.2")
        server = ctx.socket(zmtrio.PULL)
        server.plain_server = True

        def bad(sock: zmq.Socket[Any]) -> None:
            sock.plain_username = b"admin"
            sock.plain_password = b"guess"

        def good(sock: zmq.Socket[Any]) -> None:
            sock.plain_username = b"admin"
            sock.plain_password = b"secret"

        if case == "denied address":
            endpoint = await server.bind("tcp://127.0.0.1:*")
            async with server.monitor() as events:
                denied = ZmqPeer(zctx, zmq.PUSH)
                good(denied.sock)
                # libzmq's source-address form: connect from 127.0.0.2.
                denied.connect(endpoint.replace("tcp://", "tcp://127.0.0.2:0;"))
                denied.sock.send(b"must never arrive", zmq.NOBLOCK)  # queued before any refusal
                event = await next_event(events, EventType.HANDSHAKE_FAILED_AUTH, timeout=15)
            fine = ZmqPeer(zctx, zmq.PUSH)
            good(fine.sock)
            fine.connect(endpoint)
            await fine.send_multipart([b"welcome"])
            assert await server.recv() == b"welcome"
            with pytest.raises(zmtrio.Again):
                server.recv_nowait()
        else:
            event = await _refused_then_good_peer_served(
                ctx, zctx, server, bad, good, EventType.HANDSHAKE_FAILED_AUTH
            )
        assert event.value == 400


async def test_null_client_to_curve_server(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """Both ends see the mechanisms differ once greetings cross; libzmq hangs up at once,
    so the server sees either the mismatch or the reset first. Either way: dropped."""
    server, public = curve_server(ctx)
    event = await _refused_then_good_peer_served(
        ctx,
        zctx,
        server,
        lambda sock: None,
        curve_client_for(public),
        EventType.DISCONNECTED,
    )
    assert event.event == EventType.DISCONNECTED


class _FlipRelay:
    """A TCP relay that parses the client's ZMTP stream and flips one bit in the body of
    its ``target``-th MESSAGE command (counting from 1), once."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.messages = 0
        self.flipped = False

    async def client_to_server(self, source: trio.SocketStream, sink: trio.SocketStream) -> None:
        buffer = bytearray()
        greeting_left = 64
        while True:
            data = await source.receive_some(65536)
            if not data:
                await sink.send_eof()
                return
            buffer += data
            out = bytearray()
            if greeting_left:
                take = min(greeting_left, len(buffer))
                out += buffer[:take]
                del buffer[:take]
                greeting_left -= take
            while len(buffer) >= 2:
                header = 9 if buffer[0] & 0x02 else 2
                if len(buffer) < header:
                    break
                size = int.from_bytes(buffer[1:header], "big")
                if len(buffer) < header + size:
                    break
                frame = bytearray(buffer[: header + size])
                del buffer[: header + size]
                if frame[header : header + 8] == b"\x07MESSAGE":
                    self.messages += 1
                    if self.messages == self.target and not self.flipped:
                        frame[-1] ^= 0x04
                        self.flipped = True
                out += frame
            if out:
                await sink.send_all(bytes(out))

    async def server_to_client(self, source: trio.SocketStream, sink: trio.SocketStream) -> None:
        while data := await source.receive_some(65536):
            await sink.send_all(data)

    async def serve(self, upstream_port: int, task_status: trio.TaskStatus[int]) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(listeners[0].socket.getsockname()[1])

        async def handle(client: trio.SocketStream) -> None:
            server = await trio.open_tcp_stream("127.0.0.1", upstream_port)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self.client_to_server, client, server)
                    nursery.start_soon(self.server_to_client, server, client)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
            finally:
                await server.aclose()
                await client.aclose()

        await trio.serve_listeners(handle, listeners)


async def test_flipped_bit_in_one_message_ends_the_connection(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """pyzmq CURVE client -> relay flipping a bit of MESSAGE #3 -> zmtrio server: the first
    two arrive, the third never does, the connection is dropped with CRYPTOGRAPHIC."""
    server, public = curve_server(ctx)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    port = int(endpoint.rsplit(":", 1)[1])
    relay = _FlipRelay(target=3)
    async with trio.open_nursery() as nursery, server.monitor() as events:
        relay_port = await nursery.start(relay.serve, port)
        client = good_client(zctx, public, f"tcp://127.0.0.1:{relay_port}")
        client.sock.reconnect_ivl = -1  # the dropped connection stays dropped
        for i in range(5):
            await client.send_multipart([b"m%d" % i])
        event = await next_event(events, EventType.DISCONNECTED, timeout=15)
        assert relay.flipped
        received = []
        while True:
            try:
                received.append(server.recv_nowait())
            except zmtrio.Again:
                break
        assert received == [b"m0", b"m1"]
        assert event.endpoint
        nursery.cancel_scope.cancel()


async def test_hostile_bytes_after_curve_greeting(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """Garbage where HELLO belongs: dropped with a protocol error, the server still serves."""
    server, public = curve_server(ctx)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    port = int(endpoint.rsplit(":", 1)[1])
    greeting = bytearray(64)
    greeting[0], greeting[9], greeting[10], greeting[11] = 0xFF, 0x7F, 3, 1
    greeting[12:17] = b"CURVE"
    async with server.monitor() as events:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(bytes(greeting) + b"\x04\xc8\x05HELLO" + os.urandom(194))
        event = await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL, timeout=15)
        assert event.value in (0x1000_0013, 0x1100_0001)
        await stream.aclose()
    good = good_client(zctx, public, endpoint)
    await good.send_multipart([b"still serving"])
    assert await server.recv() == b"still serving"
