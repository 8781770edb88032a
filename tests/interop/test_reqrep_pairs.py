"""Every valid REQ/REP/DEALER/ROUTER pair, zmtrio in either role against pyzmq (libzmq), both
bind/connect directions, over tcp and ipc; and zmtrio against itself over tcp, ipc and inproc.

Each test runs one conversation: the first socket of the pair ("client") sends several
multi-frame messages, the second ("server") checks each one exactly as libzmq delivers it
(envelopes, routing ids) and answers, and the client checks the answer.
"""

from __future__ import annotations

import errno
from typing import Any, Protocol

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer, endpoint_for

REQ, REP, DEALER, ROUTER = "REQ", "REP", "DEALER", "ROUTER"

#: (client, server, client's ROUTING_ID): the identity only matters to a ROUTER server.
PAIRS = [
    (REQ, REP, b""),
    (REQ, ROUTER, b""),
    (REQ, ROUTER, b"cli"),
    (DEALER, REP, b""),
    (DEALER, ROUTER, b""),
    (DEALER, ROUTER, b"cli"),
    (DEALER, DEALER, b""),
    (ROUTER, ROUTER, b""),
    (ROUTER, ROUTER, b"cli"),
]
PAIR_IDS = [f"{c}-{s}" + ("-id" if ident else "") for c, s, ident in PAIRS]

#: A ROUTER client needs to name the server: a ROUTER server always gets this identity.
SERVER_ID = b"srv"

BODIES = [
    [b"hello"],
    [b"a", b"", b"c"],
    [b""],
    [b"x" * 300, b"y" * 70_000],
    [bytes(range(256)), b"", b"", b"end"],
]


class Side(Protocol):
    """What a conversation needs of a socket, zmtrio or pyzmq."""

    async def send_multipart(self, frames: list[bytes]) -> None: ...
    async def recv_multipart(self) -> list[bytes]: ...


class PyzmqSide:
    """A pyzmq socket for the conversation (blocking calls in worker threads)."""

    def __init__(self, peer: ZmqPeer) -> None:
        self.peer = peer

    async def send_multipart(self, frames: list[bytes]) -> None:
        await self.peer.send_multipart(frames)

    async def recv_multipart(self) -> list[bytes]:
        return await self.peer.recv_multipart()


def _generated(routing_id: bytes) -> bool:
    return len(routing_id) == 5 and routing_id[0] == 0


async def _router_send_when_routable(
    sock: zmtrio.Socket | zmq.Socket[Any], frames: list[bytes]
) -> None:
    """A ROUTER client can only address the server once the handshake told it the server's
    id: with ROUTER_MANDATORY, retry until the send is no longer EHOSTUNREACH."""
    while True:
        try:
            if isinstance(sock, zmtrio.Socket):
                sock.send_multipart_nowait(frames)
            else:
                sock.send_multipart(frames, flags=zmq.NOBLOCK)
            return
        except (zmtrio.ZMQError, zmq.ZMQError) as exc:
            if exc.errno not in (errno.EHOSTUNREACH, errno.EAGAIN):
                raise
        await trio.sleep(0.005)


async def _converse(
    client_type: str,
    server_type: str,
    client_id: bytes,
    client: Side,
    server: Side,
    client_raw: zmtrio.Socket | zmq.Socket[Any],
) -> None:
    # What each side adds in front of a body, and finds in front of it on receipt.
    client_prefix = {REQ: [], DEALER: [b""] if server_type == REP else [], ROUTER: [SERVER_ID]}
    seen_id = b""
    for round_number, body in enumerate(BODIES):
        request = [*client_prefix[client_type], *body]
        if client_type == ROUTER and round_number == 0:
            await _router_send_when_routable(client_raw, request)
        else:
            await client.send_multipart(request)
        received = await server.recv_multipart()
        if server_type == ROUTER:
            routing_id = received[0]
            if client_id:
                assert routing_id == client_id
            else:
                assert _generated(routing_id)
            if round_number:
                assert routing_id == seen_id  # one peer keeps one id
            seen_id = routing_id
            server_prefix = [routing_id, b""] if client_type == REQ else [routing_id]
        else:
            server_prefix = []
        assert received == [*server_prefix, *body]
        reply = [b"re", str(round_number).encode(), *body]
        await server.send_multipart([*server_prefix, *reply])
        assert await client.recv_multipart() == [*client_prefix[client_type], *reply]


def _zmq_type(name: str) -> int:
    return int(getattr(zmq, name))


def _zmtrio_type(name: str) -> zmtrio.SocketType:
    return zmtrio.SocketType[name]


def _identity(role_type: str, role: str, client_id: bytes, server_type: str) -> bytes:
    if role == "client":
        return client_id
    return SERVER_ID if role_type == ROUTER and server_type == ROUTER else b""


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("direction", ["zmtrio-binds", "zmtrio-connects"])
@pytest.mark.parametrize("ours", ["client", "server"])
@pytest.mark.parametrize(("client_type", "server_type", "client_id"), PAIRS, ids=PAIR_IDS)
async def test_pair_with_pyzmq(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    ipc_dir: str,
    client_type: str,
    server_type: str,
    client_id: bytes,
    ours: str,
    direction: str,
    transport: str,
) -> None:
    our_type = client_type if ours == "client" else server_type
    their_role = "server" if ours == "client" else "client"
    their_type = server_type if ours == "client" else client_type

    zsock = ctx.socket(_zmtrio_type(our_type))
    zsock.routing_id = _identity(our_type, ours, client_id, server_type)
    theirs = ZmqPeer(zctx, _zmq_type(their_type))
    their_id = _identity(their_type, their_role, client_id, server_type)
    if their_id:
        theirs.sock.routing_id = their_id
    if our_type == ROUTER and ours == "client":
        zsock.router_mandatory = 1
    if their_type == ROUTER and their_role == "client":
        theirs.sock.router_mandatory = 1

    endpoint = endpoint_for(transport, ipc_dir)
    if direction == "zmtrio-binds":
        theirs.connect(await zsock.bind(endpoint))
    else:
        await zsock.connect(theirs.bind(endpoint))

    pyzmq_side = PyzmqSide(theirs)
    if ours == "client":
        await _converse(client_type, server_type, client_id, zsock, pyzmq_side, zsock)
    else:
        await _converse(client_type, server_type, client_id, pyzmq_side, zsock, theirs.sock)


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
@pytest.mark.parametrize("binder", ["client", "server"])
@pytest.mark.parametrize(("client_type", "server_type", "client_id"), PAIRS, ids=PAIR_IDS)
async def test_pair_zmtrio_to_zmtrio(
    ctx: zmtrio.Context,
    ipc_dir: str,
    client_type: str,
    server_type: str,
    client_id: bytes,
    binder: str,
    transport: str,
) -> None:
    client = ctx.socket(_zmtrio_type(client_type))
    server = ctx.socket(_zmtrio_type(server_type))
    client.routing_id = client_id
    server.routing_id = _identity(server_type, "server", client_id, server_type)
    if client_type == ROUTER:
        client.router_mandatory = 1
    endpoint = endpoint_for(transport, ipc_dir, name=f"pair-{binder}")
    if binder == "client":
        await server.connect(await client.bind(endpoint))
    else:
        await client.connect(await server.bind(endpoint))
    await _converse(client_type, server_type, client_id, client, server, client)
