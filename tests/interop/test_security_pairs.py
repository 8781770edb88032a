"""CURVE and PLAIN against pyzmq (libzmq): zmtrio as server and as client, binding and
connecting, over tcp and ipc; every pattern once under CURVE; ZAP's frames and verdicts."""

from __future__ import annotations

import errno
from typing import Any

import pytest
import trio
import zmq
import zmq.auth
import zmtrio
from zmq.auth.thread import ThreadAuthenticator
from zmtrio import EventType

from tests.conftest import ZmqPeer, link, next_event

TRANSPORTS = ["tcp", "ipc"]
DIRECTIONS = ["zmtrio-binds", "zmtrio-connects"]
ROLES = ["zmtrio-server", "zmtrio-client"]

MESSAGES = [[b"hello"], [b"a", b"", b"c"], [bytes(range(256)) * 12_000]]  # 3 MiB last


def curve_server_options(sock: Any, secret: bytes) -> None:
    sock.curve_secretkey = secret
    sock.curve_server = True


def curve_client_options(sock: Any, server_public: bytes) -> bytes:
    """Make ``sock`` a CURVE client of that server with a new key pair; return its public
    key (pyzmq cannot read it back)."""
    public, secret = zmq.curve_keypair()
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_serverkey = server_public
    return public


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("role", ROLES)
async def test_curve_push_pull_both_ways(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    ipc_dir: str,
    transport: str,
    direction: str,
    role: str,
) -> None:
    """zmtrio PAIR <-> pyzmq PAIR under CURVE, multipart and multi-MiB, both ways."""
    public, secret = zmtrio.curve_keypair()
    ours = ctx.socket(zmtrio.PAIR)
    theirs = ZmqPeer(zctx, zmq.PAIR)
    if role == "zmtrio-server":
        curve_server_options(ours, secret)
        curve_client_options(theirs.sock, public)
    else:
        curve_server_options(theirs.sock, secret)
        curve_client_options(ours, public)
    assert ours.mechanism == zmtrio.CURVE
    await link(ours, theirs, transport, direction, ipc_dir)
    for message in MESSAGES:
        await theirs.send_multipart(message)
        await ours.send_multipart(message)
    for message in MESSAGES:
        assert await ours.recv_multipart() == message
        assert await theirs.recv_multipart() == message


@pytest.mark.parametrize(
    ("server_type", "client_type"),
    [
        (zmtrio.PULL, zmtrio.PUSH),
        (zmtrio.PUSH, zmtrio.PULL),
        (zmtrio.REP, zmtrio.REQ),
        (zmtrio.REQ, zmtrio.REP),
        (zmtrio.ROUTER, zmtrio.DEALER),
        (zmtrio.DEALER, zmtrio.ROUTER),
        (zmtrio.PUB, zmtrio.SUB),
        (zmtrio.XSUB, zmtrio.XPUB),
    ],
)
async def test_curve_every_pattern_with_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], server_type: int, client_type: int
) -> None:
    """A zmtrio CURVE server of each type against a pyzmq CURVE client of the peer type
    (subscriptions and heartbeats included: they travel boxed)."""
    public, secret = zmtrio.curve_keypair()
    server = ctx.socket(server_type)
    curve_server_options(server, secret)
    server.heartbeat_ivl = 50
    endpoint = await server.bind("tcp://127.0.0.1:*")
    client = ZmqPeer(zctx, client_type)
    curve_client_options(client.sock, public)
    if client_type == zmq.SUB:
        client.sock.subscribe(b"")
    client.connect(endpoint)
    if server_type in (zmtrio.PULL, zmtrio.REP, zmtrio.ROUTER):
        await client.send_multipart([b"ping"])
        got = await server.recv_multipart()
        assert got[-1] == b"ping"
        if server_type != zmtrio.PULL:
            await server.send_multipart([*got[:-1], b"pong"])
            assert await client.recv_multipart() == [b"pong"]
    elif server_type == zmtrio.XSUB:
        await server.send(b"\x01")  # subscribe to everything, upstream
        assert await client.recv_multipart() == [b"\x01"]
        await client.send_multipart([b"news"])
        assert await server.recv_multipart() == [b"news"]
    else:
        # PUSH, REQ, DEALER and PUB servers send first (PUB: until the subscription is in).
        if server_type == zmtrio.REQ:
            await server.send(b"ping")
            assert await client.recv_multipart() == [b"ping"]
            await client.send_multipart([b"pong"])
            assert await server.recv() == b"pong"
            return
        if server_type == zmtrio.DEALER:
            await server.send_multipart([b"", b"ping"])
            got = await client.recv_multipart()
            assert got[1:] == [b"", b"ping"]
            return
        with trio.fail_after(10):
            while True:
                await server.send(b"news")
                with trio.move_on_after(0.05):
                    if await trio.to_thread.run_sync(client.sock.poll, 50):
                        break
        assert await client.recv_multipart() == [b"news"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_plain_zmtrio_server_with_authenticator(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    async with zmtrio.auth.Authenticator(ctx) as auth:
        auth.configure_plain(passwords={"admin": "secret"})
        server = ctx.socket(zmtrio.PULL)
        server.plain_server = True
        assert (server.mechanism, server.plain_server) == (zmtrio.PLAIN, 1)
        client = ZmqPeer(zctx, zmq.PUSH)
        client.sock.plain_username = b"admin"
        client.sock.plain_password = b"secret"
        await link(server, client, transport, direction, ipc_dir)
        await client.send_multipart([b"over", b"plain"])
        msg = await server.recv_message()
        assert list(msg) == [b"over", b"plain"]
        assert msg.metadata["User-Id"] == "admin"
        assert msg.metadata["Socket-Type"] == "PUSH"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_plain_zmtrio_client_to_pyzmq_server(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    auth = ThreadAuthenticator(zctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        server = ZmqPeer(zctx, zmq.REP)
        server.sock.plain_server = True
        client = ctx.socket(zmtrio.REQ)
        client.plain_username = b"admin"
        client.plain_password = b"secret"
        await link(client, server, transport, direction, ipc_dir)
        await client.send(b"hi")

        def serve() -> list[zmq.Frame]:
            frames = server.sock.recv_multipart(copy=False)
            server.sock.send(b"ho")
            return frames

        frames = await trio.to_thread.run_sync(serve)
        assert frames[0].bytes == b"hi"
        assert frames[0].get("User-Id") == "admin"
        assert await client.recv() == b"ho"
    finally:
        auth.stop()


async def _zap_handler(
    ctx: zmtrio.Context,
    reply: list[bytes],
    *,
    task_status: trio.TaskStatus[list[list[bytes]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A bare REP handler answering every request with ``reply`` (request id echoed)."""
    requests: list[list[bytes]] = []
    async with ctx.socket(zmtrio.REP) as handler:
        await handler.bind("inproc://zeromq.zap.01")
        task_status.started(requests)
        async for request in handler:
            requests.append(request)
            await handler.send_multipart([reply[0], request[1], *reply[2:]])


async def test_zap_request_frames_and_metadata_match_libzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    metadata = b"\x05X-Abc\x00\x00\x00\x02hi"
    async with trio.open_nursery() as nursery:
        requests = await nursery.start(
            _zap_handler, ctx, [b"1.0", b"", b"200", b"OK", b"user-CURVE", metadata]
        )
        public, secret = zmtrio.curve_keypair()
        server = ctx.socket(zmtrio.ROUTER)
        server.routing_id = b"SRVID"
        server.zap_domain = b"global"
        curve_server_options(server, secret)
        endpoint = await server.bind("tcp://127.0.0.1:*")
        client = ZmqPeer(zctx, zmq.DEALER)
        client_public = zmtrio.z85_decode(curve_client_options(client.sock, public))
        client.connect(endpoint)
        await client.send_multipart([b"x"])
        msg = await server.recv_message()
        assert msg[-1] == b"x"
        assert msg.metadata["User-Id"] == "user-CURVE"
        assert msg.metadata["X-Abc"] == "hi"
        assert requests == [
            [b"1.0", b"1", b"global", b"127.0.0.1", b"SRVID", b"CURVE", client_public]
        ]
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("status", [b"300", b"400", b"500"])
async def test_zap_refusal_reaches_libzmq_as_libzmq_does(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], status: bytes
) -> None:
    """400/500: ERROR with the code, the pyzmq client posts HANDSHAKE_FAILED_AUTH; 300:
    silent close. The zmtrio server posts HANDSHAKE_FAILED_AUTH with the code each time."""
    async with trio.open_nursery() as nursery:
        await nursery.start(_zap_handler, ctx, [b"1.0", b"", status, b"no", b"", b""])
        public, secret = zmtrio.curve_keypair()
        server = ctx.socket(zmtrio.PULL)
        curve_server_options(server, secret)
        endpoint = await server.bind("tcp://127.0.0.1:*")
        async with server.monitor() as events:
            client = ZmqPeer(zctx, zmq.PUSH)
            curve_client_options(client.sock, public)
            monitor = client.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
            monitor.rcvtimeo = 5000
            client.connect(endpoint)
            event = await next_event(events, EventType.HANDSHAKE_FAILED_AUTH, timeout=15)
            assert event.value == int(status)
            if status != b"300":
                frames = await trio.to_thread.run_sync(monitor.recv_multipart)
                assert int.from_bytes(frames[0][2:6], "little") == int(status)
            monitor.close()
        nursery.cancel_scope.cancel()


async def test_malformed_zap_reply_fails_the_handshake(ctx: zmtrio.Context) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(_zap_handler, ctx, [b"2.0", b"", b"200", b"OK", b"", b""])
        server = ctx.socket(zmtrio.PULL)
        server.zap_domain = b"d"
        endpoint = await server.bind("tcp://127.0.0.1:*")
        async with server.monitor() as events:
            push = ctx.socket(zmtrio.PUSH)
            await push.connect(endpoint)
            event = await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL, timeout=15)
            assert event.value == 0x2000_0003  # ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION
        nursery.cancel_scope.cancel()


async def test_without_handler_curve_accepts_plain_refuses(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    public, secret = zmtrio.curve_keypair()
    curve = ctx.socket(zmtrio.PULL)
    curve_server_options(curve, secret)
    client = ZmqPeer(zctx, zmq.PUSH)
    curve_client_options(client.sock, public)
    client.connect(await curve.bind("tcp://127.0.0.1:*"))
    await client.send_multipart([b"any key gets in"])
    msg = await curve.recv_message()
    assert "User-Id" not in msg.metadata  # no handler was asked

    plain = ctx.socket(zmtrio.PULL)
    plain.plain_server = True
    async with plain.monitor() as events:
        pclient = ZmqPeer(zctx, zmq.PUSH)
        pclient.sock.plain_username = b"u"
        pclient.sock.plain_password = b"p"
        pclient.connect(await plain.bind("tcp://127.0.0.1:*"))
        event = await next_event(events, EventType.HANDSHAKE_FAILED_NO_DETAIL, timeout=15)
        assert event.value == errno.EFAULT
    with pytest.raises(zmtrio.Again):
        plain.recv_nowait()


async def test_null_with_zap_domain(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """No handler: accepted unless ZAP_ENFORCE_DOMAIN; with a handler: asked, NULL frames."""
    pull = ctx.socket(zmtrio.PULL)
    pull.zap_domain = b"dom"
    push = ZmqPeer(zctx, zmq.PUSH)
    push.connect(await pull.bind("tcp://127.0.0.1:*"))
    await push.send_multipart([b"open"])
    assert await pull.recv() == b"open"

    strict = ctx.socket(zmtrio.PULL)
    strict.zap_domain = b"dom"
    strict.zap_enforce_domain = 1
    async with strict.monitor() as events:
        push2 = ZmqPeer(zctx, zmq.PUSH)
        push2.connect(await strict.bind("tcp://127.0.0.1:*"))
        await next_event(events, EventType.HANDSHAKE_FAILED_NO_DETAIL, timeout=15)
    strict.close()  # its refused peer would retry, and ask the handler below

    async with trio.open_nursery() as nursery:
        requests = await nursery.start(
            _zap_handler, ctx, [b"1.0", b"", b"200", b"OK", b"anon", b""]
        )
        asked = ctx.socket(zmtrio.PULL)
        asked.zap_domain = b"dom"
        push3 = ZmqPeer(zctx, zmq.PUSH)
        push3.connect(await asked.bind("tcp://127.0.0.1:*"))
        await push3.send_multipart([b"asked"])
        msg = await asked.recv_message()
        assert (list(msg), msg.metadata["User-Id"]) == ([b"asked"], "anon")
        assert requests == [[b"1.0", b"1", b"dom", b"127.0.0.1", b"", b"NULL"]]
        nursery.cancel_scope.cancel()


async def test_mechanism_option_follows_libzmq(zctx: zmq.Context[Any], ctx: zmtrio.Context) -> None:
    ours = ctx.socket(zmtrio.DEALER)
    theirs = zctx.socket(zmq.DEALER)
    public, secret = zmtrio.curve_keypair()
    steps: list[tuple[str, object]] = [
        ("plain_server", 1),
        ("plain_username", b"u"),
        ("plain_server", 0),
        ("curve_server", 1),
        ("curve_secretkey", secret),
        ("curve_serverkey", public),
        ("curve_server", 0),
        ("curve_publickey", public),
    ]
    try:
        for name, value in steps:
            setattr(ours, name, value)
            setattr(theirs, name, value)
            assert ours.mechanism == theirs.mechanism, name
        ours.curve_serverkey = zmtrio.z85_decode(public)  # 32 raw bytes work too
        ours.curve_serverkey = public + b"\0"  # and 40 Z85 characters with a NUL
        for bad in (b"short", b"#" * 40, public + b"x"):  # "#" * 5 overflows 32 bits
            with pytest.raises(zmtrio.ZMQError) as info:
                ours.curve_serverkey = bad
            assert info.value.errno == errno.EINVAL
    finally:
        theirs.close(linger=0)
