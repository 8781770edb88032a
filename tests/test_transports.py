"""zmtrio to zmtrio over tcp, ipc and inproc, both bind/connect directions, and the
endpoint forms each transport accepts."""

from __future__ import annotations

import errno
import os
import socket

import pytest
import trio
import zmtrio

from tests.conftest import endpoint_for

TRANSPORTS = ["tcp", "ipc", "inproc"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pull_binds", [True, False])
async def test_push_pull(
    ctx: zmtrio.Context, ipc_dir: str, transport: str, pull_binds: bool
) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    binder, connector = (pull, push) if pull_binds else (push, pull)
    await connector.connect(await binder.bind(endpoint_for(transport, ipc_dir)))
    messages = [[b"one"], [b"", b"two", b""], [b"z" * 70_000]]
    for message in messages:
        await push.send_multipart(message)
    for message in messages:
        assert await pull.recv_multipart() == message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pair_both_ways(ctx: zmtrio.Context, ipc_dir: str, transport: str) -> None:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await b.connect(await a.bind(endpoint_for(transport, ipc_dir)))
    await a.send(b"ping")
    assert await b.recv() == b"ping"
    await b.send(b"pong", zmtrio.SNDMORE)
    await b.send(b"!")
    assert await a.recv() == b"pong"
    assert a.rcvmore
    assert await a.recv() == b"!"
    assert not a.rcvmore


async def test_inproc_connect_before_bind(ctx: zmtrio.Context) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    await push.connect("inproc://later")
    await push.send(b"queued before the bind")
    await pull.bind("inproc://later")
    assert await pull.recv() == b"queued before the bind"


async def test_inproc_is_per_context(ctx: zmtrio.Context) -> None:
    await ctx.socket(zmtrio.PULL).bind("inproc://shared-name")
    async with zmtrio.Context() as other:
        # The same name is free in another context.
        await other.socket(zmtrio.PULL).bind("inproc://shared-name")
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.PULL).bind("inproc://shared-name")
    assert info.value.errno == errno.EADDRINUSE


async def test_tcp_wildcards_resolve(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PULL)
    endpoint = await sock.bind("tcp://*:*")
    assert endpoint.startswith("tcp://0.0.0.0:")
    assert sock.last_endpoint == endpoint
    port = int(endpoint.rsplit(":", 1)[1])
    assert port > 0
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(f"tcp://localhost:{port}")  # hostnames resolve
    await push.send(b"via hostname")
    assert await sock.recv() == b"via hostname"


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
async def test_tcp_ipv6_in_brackets(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.ipv6 = 1
    try:
        endpoint = await pull.bind("tcp://[::1]:*")
    except zmtrio.ZMQError as exc:
        pytest.skip(f"loopback IPv6 unavailable: {exc}")
    assert endpoint.startswith("tcp://[::1]:")
    push = ctx.socket(zmtrio.PUSH)
    push.ipv6 = 1
    await push.connect(endpoint)
    await push.send(b"v6")
    assert await pull.recv() == b"v6"


async def test_ipc_abstract_namespace(ctx: zmtrio.Context) -> None:
    name = f"ipc://@zmtrio-test-{os.getpid()}"
    pull = ctx.socket(zmtrio.PULL)
    assert await pull.bind(name) == name
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(name)
    await push.send(b"abstract")
    assert await pull.recv() == b"abstract"


async def test_ipc_wildcard_and_file_removed_on_close(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("ipc://*")
    path = endpoint[len("ipc://") :]
    assert os.path.exists(path)
    pull.close()
    assert not os.path.exists(path)


async def test_unbind_stops_accepting(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    await pull.unbind(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", port)


async def test_disconnect_then_reconnect_elsewhere(ctx: zmtrio.Context) -> None:
    first, second = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PULL)
    first_endpoint = await first.bind("tcp://127.0.0.1:*")
    second_endpoint = await second.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(first_endpoint)
    await push.send(b"to first")
    assert await first.recv() == b"to first"
    await push.disconnect(first_endpoint)
    await push.connect(second_endpoint)
    await push.send(b"to second")
    assert await second.recv() == b"to second"
    assert first.statistics().queued_inbound == 0


async def test_inproc_messages_survive_the_sender_closing(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(await pull.bind("inproc://sender-closes"))
    count = 1500  # more than the receiver takes before the sender is done
    async with push:
        for i in range(count):
            await push.send(i.to_bytes(2, "big"))
    assert [int.from_bytes(await pull.recv(), "big") for _ in range(count)] == list(range(count))
