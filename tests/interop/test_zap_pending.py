"""While one connection's ZAP request is pending: other connections go on (handshake and
traffic), and bytes the waiting peer sends fail its handshake exactly as libzmq's do (its
CURVE and PLAIN servers read on and refuse any frame with ZMTP_UNSPECIFIED)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio import EventType, _core

from tests.conftest import ZmqPeer, next_event
from tests.interop.test_security_pairs import curve_client_options

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: libzmq's ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED.
ZMTP_UNSPECIFIED = 0x1000_0000
#: A PING command and a one-frame message, as a peer might send them too early.
EARLY_INPUT = {
    "ping": b"\x04\x07\x04PING\x00\x00",
    "data": b"\x00\x02hi",
}


async def _stalling_zap_handler(
    ctx: zmtrio.Context,
    stall: bytes | None,
    asked: trio.Event,
    release: trio.Event,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Answer 200 at once to every request, except those whose first credential frame is
    ``stall`` (every request if None): those are held (``asked`` set) until ``release``."""
    async with ctx.socket(zmtrio.ROUTER) as handler, trio.open_nursery() as nursery:
        await handler.bind(ZAP_ENDPOINT)
        task_status.started()

        async def answer(request: list[bytes]) -> None:
            envelope, rest = request[:2], request[2:]  # routing id, empty delimiter
            if stall is None or rest[6:7] == [stall]:
                asked.set()
                await release.wait()
            await handler.send_multipart([*envelope, b"1.0", rest[1], b"200", b"OK", b"", b""])

        async for request in handler:
            nursery.start_soon(answer, request)


async def test_other_connections_progress_while_one_zap_request_stalls(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    public, secret = zmtrio.curve_keypair()
    slow = ZmqPeer(zctx, zmq.PUSH)
    slow_public = curve_client_options(slow.sock, public)
    asked, release = trio.Event(), trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            _stalling_zap_handler, ctx, zmtrio.z85_decode(slow_public), asked, release
        )
        server = ctx.socket(zmtrio.PULL)
        server.curve_secretkey = secret
        server.curve_server = True
        endpoint = await server.bind("tcp://127.0.0.1:*")
        slow.connect(endpoint)
        slow.sock.send(b"slow", zmq.NOBLOCK)  # queued by libzmq until its handshake ends
        with trio.fail_after(10):
            await asked.wait()

        fast = ZmqPeer(zctx, zmq.PUSH)
        curve_client_options(fast.sock, public)
        fast.connect(endpoint)
        for number in range(3):
            await fast.send_multipart([b"fast %d" % number])
        # The second connection's handshake and messages get through the stalled one.
        for number in range(3):
            with trio.fail_after(10):
                assert await server.recv() == b"fast %d" % number
        assert not release.is_set()
        release.set()
        with trio.fail_after(10):
            assert await server.recv() == b"slow"
        nursery.cancel_scope.cancel()


def _raw_client(mechanism: str, server_public: bytes) -> _core.Connection:
    """The client half of a handshake, driven by hand over a plain TCP stream."""
    if mechanism == "CURVE":
        _, secret = zmtrio.curve_keypair()
        return _core.Connection(
            zmtrio.PUSH,
            mechanism=2,
            secret_key=zmtrio.z85_decode(secret),
            server_key=zmtrio.z85_decode(server_public),
        )
    return _core.Connection(zmtrio.PUSH, mechanism=1, username=b"u", password=b"p")


async def _handshake_until_zap_asked(
    stream: trio.SocketStream, client: _core.Connection, asked: trio.Event
) -> None:
    """Run the client's handshake until the server's ZAP handler holds the request."""
    scratch = _core.Pipe(0)

    async def pump() -> None:
        while True:
            output = client.take_output(None, 0)
            if output is not None:
                await stream.send_all(output)
            data = await stream.receive_some(65536)
            if not data:
                return
            client.feed(data, scratch, [], 0.0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump)
        with trio.fail_after(10):
            await asked.wait()
        nursery.cancel_scope.cancel()


async def _closed_by_server(stream: trio.SocketStream) -> bool:
    """Whether the server ends the stream (EOF or reset) without sending anything."""
    with trio.fail_after(10):
        try:
            return await stream.receive_some(65536) == b""
        except trio.BrokenResourceError:
            return True


def _pyzmq_zap_thread(
    handler: zmq.Socket[Any], asked: trio.Event, release: threading.Event, token: Any
) -> None:
    """libzmq's side: a ZAP handler (bound before the server can ask it) that holds its
    one request."""
    try:
        request = handler.recv_multipart()
        trio.from_thread.run_sync(asked.set, trio_token=token)
        release.wait(timeout=10)
        handler.send_multipart([*request[:2], b"1.0", request[3], b"200", b"OK", b"", b""])
    finally:
        handler.close()


@pytest.mark.parametrize("early", sorted(EARLY_INPUT))
@pytest.mark.parametrize("mechanism", ["CURVE", "PLAIN"])
@pytest.mark.parametrize("server_side", ["pyzmq", "zmtrio"])
async def test_input_while_zap_is_pending_fails_the_handshake_as_libzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], server_side: str, mechanism: str, early: str
) -> None:
    """The peer sends a frame after its last handshake command, while the server waits for
    the ZAP handler: libzmq reads it, fails the handshake (HANDSHAKE_FAILED_PROTOCOL,
    ZMTP_UNSPECIFIED) and closes the connection; zmtrio does the same."""
    public, secret = zmtrio.curve_keypair()
    asked = trio.Event()
    release = threading.Event()
    async with trio.open_nursery() as nursery:
        if server_side == "pyzmq":
            token = trio.lowlevel.current_trio_token()
            handler = zctx.socket(zmq.ROUTER)
            handler.linger = 0
            handler.rcvtimeo = 10_000
            handler.bind(ZAP_ENDPOINT)
            nursery.start_soon(
                trio.to_thread.run_sync, _pyzmq_zap_thread, handler, asked, release, token
            )
            server = ZmqPeer(zctx, zmq.PULL)
            if mechanism == "CURVE":
                server.sock.curve_secretkey = secret
                server.sock.curve_server = True
            else:
                server.sock.plain_server = True
            monitor = server.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
            monitor.rcvtimeo = 10_000
            endpoint = server.bind("tcp://127.0.0.1:*")
        else:
            trio_release = trio.Event()
            await nursery.start(_stalling_zap_handler, ctx, None, asked, trio_release)
            zserver = ctx.socket(zmtrio.PULL)
            if mechanism == "CURVE":
                zserver.curve_secretkey = secret
                zserver.curve_server = True
            else:
                zserver.plain_server = True
            endpoint = await zserver.bind("tcp://127.0.0.1:*")
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        client = _raw_client(mechanism, public)

        if server_side == "pyzmq":
            await _handshake_until_zap_asked(stream, client, asked)
            await stream.send_all(EARLY_INPUT[early])
            frames = await trio.to_thread.run_sync(monitor.recv_multipart)
            value = int.from_bytes(frames[0][2:6], "little")
            closed = await _closed_by_server(stream)
            release.set()
            monitor.close()
        else:
            async with zserver.monitor() as events:
                await _handshake_until_zap_asked(stream, client, asked)
                await stream.send_all(EARLY_INPUT[early])
                event = await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL, timeout=10)
                value = event.value
                closed = await _closed_by_server(stream)
            # The pending request was abandoned with the connection.
            assert not trio_release.is_set()
        assert (value, closed) == (ZMTP_UNSPECIFIED, True)
        await stream.aclose()
        nursery.cancel_scope.cancel()
