"""CLIENT/SERVER (RFC 41) against libzmq-with-drafts in both bind/connect directions, and
zmtrio to zmtrio over inproc: routing-id round trips, single frames, ordering."""

from __future__ import annotations

import errno

import pytest
import trio
import zmtrio

from tests.drafts._libzmq import DIRECTIONS, LibzmqContext, LibzmqError, link
from tests.hostile import _raw as raw

TRANSPORTS = ["tcp", "ipc"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_server_replies_to_libzmq_clients_by_routing_id(
    ctx: zmtrio.Context, lctx: LibzmqContext, ipc_dir: str, direction: str, transport: str
) -> None:
    server = ctx.socket(zmtrio.SERVER)
    clients = [lctx.socket(zmtrio.CLIENT), lctx.socket(zmtrio.CLIENT)]
    if direction == "zmtrio-binds":
        endpoint = await server.bind(
            "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{ipc_dir}/server"
        )
        for client in clients:
            client.connect(endpoint)
    else:
        for index, client in enumerate(clients):
            await server.connect(
                client.bind(
                    "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{ipc_dir}/c{index}"
                )
            )
    ids: dict[bytes, int] = {}
    for index, client in enumerate(clients):
        for n in range(3):
            await client.send(b"c%d-%d" % (index, n))
    for _ in range(6):
        msg = await server.recv_message()
        assert len(msg) == 1 and msg.routing_id is not None and msg.group is None
        name = msg[0][:2]
        assert ids.setdefault(name, msg.routing_id) == msg.routing_id
        await server.send(b"re:" + msg[0], routing_id=msg.routing_id)
    assert len(set(ids.values())) == 2
    for index, client in enumerate(clients):
        for n in range(3):
            data, _, _ = await client.recv()
            assert data == b"re:c%d-%d" % (index, n)  # in order, to the right client


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_client_to_libzmq_server(
    ctx: zmtrio.Context, lctx: LibzmqContext, ipc_dir: str, direction: str
) -> None:
    client = ctx.socket(zmtrio.CLIENT)
    server = lctx.socket(zmtrio.SERVER)
    await link(client, server, direction)
    for n in range(5):
        await client.send(b"req%d" % n)
    for n in range(5):
        data, routing_id, _ = await server.recv()
        assert data == b"req%d" % n and routing_id != 0
        await server.send(b"rep%d" % n, routing_id=routing_id)
    for n in range(5):
        assert await client.recv() == b"rep%d" % n
    with pytest.raises(zmtrio.ZMQError) as info:
        await client.send_multipart([b"a", b"b"])
    assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError) as info:
        await client.send(b"a", zmtrio.SNDMORE)
    assert info.value.errno == errno.EINVAL
    await client.send(b"still works")
    assert (await server.recv())[0] == b"still works"


async def test_server_send_to_unknown_routing_id_is_ehostunreach(ctx: zmtrio.Context) -> None:
    server = ctx.socket(zmtrio.SERVER)
    await server.bind("inproc://server")
    for attempt in (server.send(b"x", routing_id=12345), server.send(b"x")):
        with pytest.raises(zmtrio.ZMQError) as info:
            await attempt
        assert info.value.errno == zmtrio.EHOSTUNREACH
    with pytest.raises(zmtrio.ZMQError) as info:
        await server.send(b"x", routing_id=1, group=b"g")
    assert info.value.errno == errno.EINVAL


async def test_inproc_round_trips_and_multipart_from_a_peer_is_dropped(
    ctx: zmtrio.Context,
) -> None:
    server = ctx.socket(zmtrio.SERVER)
    clients = [ctx.socket(zmtrio.CLIENT) for _ in range(3)]
    await server.bind("inproc://rr")
    for client in clients:
        await client.connect("inproc://rr")
    for index, client in enumerate(clients):
        await client.send(str(index).encode())
    seen = set()
    for _ in clients:
        msg = await server.recv_message()
        assert msg.routing_id not in seen
        seen.add(msg.routing_id)
        await server.send(msg[0] * 2, routing_id=msg.routing_id)
    for index, client in enumerate(clients):
        assert await client.recv() == str(index).encode() * 2
    assert 0 not in seen


async def test_multipart_from_a_raw_client_is_dropped(ctx: zmtrio.Context) -> None:
    # libzmq's CLIENT cannot send multipart; a raw peer calling itself CLIENT can, and
    # libzmq's SERVER drops such messages whole (server_t::xrecv): so does zmtrio's.
    server = ctx.socket(zmtrio.SERVER)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await raw.handshake(stream, b"CLIENT")
    await stream.send_all(
        raw.message([b"first"]) + raw.message([b"two", b"frames"]) + raw.message([b"last"])
    )
    assert await server.recv() == b"first"
    assert await server.recv() == b"last"
    await stream.aclose()


async def test_wrong_peer_type_is_refused_at_handshake(
    ctx: zmtrio.Context, lctx: LibzmqContext
) -> None:
    server = ctx.socket(zmtrio.SERVER)
    endpoint = await server.bind("tcp://127.0.0.1:*")
    dealer = lctx.socket(5)  # ZMQ_DEALER
    dealer.connect(endpoint)
    client = lctx.socket(zmtrio.CLIENT)
    client.connect(endpoint)
    await dealer.send(b"never")
    await client.send(b"ok")
    assert await server.recv() == b"ok"
    with trio.move_on_after(0.3):
        await server.recv()
        pytest.fail("a DEALER's message reached a SERVER")
    with pytest.raises(LibzmqError):
        await lctx.socket(zmtrio.SERVER, timeout_ms=100).send(b"x", routing_id=1)
