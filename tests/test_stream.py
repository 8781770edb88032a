"""STREAM: raw tcp behind a ZeroMQ socket, against plain sockets and against pyzmq's
(libzmq's) STREAM in both bind/connect directions."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer


def host_port(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return host, int(port)


async def test_stream_serves_a_plain_http_client(ctx: zmtrio.Context) -> None:
    server = ctx.socket(zmtrio.STREAM)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    client = await trio.open_tcp_stream(*host_port(endpoint))
    routing_id, empty = await server.recv_multipart()  # the connect notification
    assert empty == b"" and len(routing_id) == 5 and routing_id[0] == 0
    await client.send_all(b"GET / HTTP/1.0\r\n\r\n")
    request = b""
    while not request.endswith(b"\r\n\r\n"):
        frame_id, chunk = await server.recv_multipart()
        assert frame_id == routing_id
        request += chunk
    assert request.startswith(b"GET / HTTP/1.0")
    await server.send_multipart([routing_id, b"HTTP/1.0 200 OK\r\n\r\nhello"])
    await server.send_multipart([routing_id, b""])  # close after the response
    response = b""
    while data := await client.receive_some(65536):
        response += data
    assert response == b"HTTP/1.0 200 OK\r\n\r\nhello"
    with pytest.raises(zmtrio.ZMQError) as info:
        await server.send_multipart([routing_id, b"gone"])
    assert info.value.errno == zmtrio.EHOSTUNREACH


async def test_stream_reports_a_client_hanging_up(ctx: zmtrio.Context) -> None:
    server = ctx.socket(zmtrio.STREAM)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    clients = [await trio.open_tcp_stream(*host_port(endpoint)) for _ in range(2)]
    ids = [(await server.recv_multipart())[0] for _ in clients]
    assert len(set(ids)) == 2
    await clients[0].send_all(b"bye")
    await clients[0].aclose()
    assert await server.recv_multipart() == [ids[0], b"bye"]
    assert await server.recv_multipart() == [ids[0], b""]
    await server.send_multipart([ids[1], b"still here"])
    assert await clients[1].receive_some(100) == b"still here"
    await clients[1].aclose()


async def test_stream_connects_to_a_plain_server_with_its_chosen_id(
    ctx: zmtrio.Context,
) -> None:
    got: list[bytes] = []

    async def echo(stream: trio.SocketStream) -> None:
        while data := await stream.receive_some(100):
            got.append(data)
            await stream.send_all(data.upper())

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        client = ctx.socket(zmtrio.STREAM)
        client.connect_routing_id = b"web"
        await client.connect(f"tcp://127.0.0.1:{port}")
        assert await client.recv_multipart() == [b"web", b""]
        await client.send_multipart([b"web", b"abc"])
        assert await client.recv_multipart() == [b"web", b"ABC"]
        client.stream_notify = 0
        await client.send_multipart([b"web", b""])
        nursery.cancel_scope.cancel()
    assert got == [b"abc"]


async def test_stream_notify_off(ctx: zmtrio.Context) -> None:
    server = ctx.socket(zmtrio.STREAM)
    server.stream_notify = 0
    endpoint = await server.bind("tcp://127.0.0.1:*")
    client = await trio.open_tcp_stream(*host_port(endpoint))
    await client.send_all(b"first")
    routing_id, data = await server.recv_multipart()
    assert data == b"first"
    await client.aclose()
    await server.send_multipart([routing_id, b"x"])  # may still be known: no error either way
    with pytest.raises(zmtrio.Again):
        await trio.sleep(0.1)
        server.recv_multipart_nowait()
    with pytest.raises(zmtrio.ZMQError) as info:
        server.stream_notify  # noqa: B018 (write-only in libzmq)
    assert info.value.errno == 22


@pytest.mark.parametrize("direction", ["zmtrio-binds", "zmtrio-connects"])
async def test_stream_against_libzmq_stream(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], direction: str
) -> None:
    ours = ctx.socket(zmtrio.STREAM)
    theirs = ZmqPeer(zctx, zmq.STREAM)
    if direction == "zmtrio-binds":
        theirs.sock.connect(await ours.bind("tcp://127.0.0.1:*"))
    else:
        await ours.connect(theirs.bind("tcp://127.0.0.1:*"))
    our_id, empty = await ours.recv_multipart()
    their_id, their_empty = await theirs.recv_multipart()
    assert empty == their_empty == b""
    await ours.send_multipart([our_id, b"from zmtrio"])
    assert await theirs.recv_multipart() == [their_id, b"from zmtrio"]
    await theirs.send_multipart([their_id, b"from libzmq"])
    assert await ours.recv_multipart() == [our_id, b"from libzmq"]
    await ours.send_multipart([our_id, b""])  # we close: libzmq is told
    assert await theirs.recv_multipart() == [their_id, b""]


async def test_stream_refuses_other_transports_and_single_frames_are_dropped(
    ctx: zmtrio.Context,
) -> None:
    server = ctx.socket(zmtrio.STREAM)
    with pytest.raises(zmtrio.ZMQError) as info:
        await server.bind("inproc://stream")
    assert info.value.errno == zmtrio.ENOCOMPATPROTO
    await server.send(b"lone frame")  # ignored, as libzmq does
    with pytest.raises(zmtrio.ZMQError) as info:
        await server.send_multipart([b"\x00nope", b"data"])
    assert info.value.errno == zmtrio.EHOSTUNREACH
