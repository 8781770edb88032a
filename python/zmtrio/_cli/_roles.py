"""``zmtrio push|pull|pub|sub|req|rep|dealer|router|pair|proxy``: sockets from a terminal,
and the newer types: ``stream``, ``client``, ``server``, ``radio``, ``dish``, ``scatter``,
``gather``, ``peer``, ``channel``, ``dgram``.

Senders read messages from the command line, ``--file`` or stdin (one message per line,
frames split on ``--delimiter``); receivers print each message on one line, frames joined
by `` | ``, as text when printable and as ``0x``-hex otherwise. A SERVER or PEER prints the
sender's routing id first and a DISH the group; a SERVER answers like ``rep``; a RADIO sends
to ``--group``; a PEER sends to every peer it connected to.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import AsyncIterator

import trio

import zmtrio

__all__ = ["ROLES", "add_role_commands", "format_frame", "run_proxy", "run_role"]

#: role -> (socket type, sends, receives)
ROLES: dict[str, tuple[zmtrio.SocketType, bool, bool]] = {
    "push": (zmtrio.PUSH, True, False),
    "pull": (zmtrio.PULL, False, True),
    "pub": (zmtrio.PUB, True, False),
    "sub": (zmtrio.SUB, False, True),
    "req": (zmtrio.REQ, True, True),
    "rep": (zmtrio.REP, False, True),
    "dealer": (zmtrio.DEALER, True, True),
    "router": (zmtrio.ROUTER, True, True),
    "pair": (zmtrio.PAIR, True, True),
    "stream": (zmtrio.STREAM, True, True),
    "client": (zmtrio.CLIENT, True, True),
    "server": (zmtrio.SERVER, False, True),
    "radio": (zmtrio.RADIO, True, False),
    "dish": (zmtrio.DISH, False, True),
    "scatter": (zmtrio.SCATTER, True, False),
    "gather": (zmtrio.GATHER, False, True),
    "peer": (zmtrio.PEER, True, True),
    "channel": (zmtrio.CHANNEL, True, True),
    "dgram": (zmtrio.DGRAM, True, True),
}

_PROXIES = {
    "xsub-xpub": (zmtrio.XSUB, zmtrio.XPUB),
    "router-dealer": (zmtrio.ROUTER, zmtrio.DEALER),
    "pull-push": (zmtrio.PULL, zmtrio.PUSH),
}


def format_frame(frame: bytes) -> str:
    """A frame as printable text, or ``0x`` followed by hex when it is not."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + frame.hex()
    if text.isprintable():
        return text
    return "0x" + frame.hex()


def _parse_frame(text: str) -> bytes:
    return bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()


def add_role_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add one subcommand per socket role, and ``proxy``."""
    for role, (socket_type, sends, receives) in ROLES.items():
        what = " and ".join(
            part
            for part, present in (("send messages", sends), ("print what arrives", receives))
            if present
        )
        parser = commands.add_parser(
            role, help=f"a {socket_type.name} socket: {what}", description=__doc__
        )
        _add_endpoints(parser)
        if sends:
            parser.add_argument("messages", nargs="*", help="messages to send (default: stdin)")
            parser.add_argument("--file", action="append", default=[], help="send a file")
            parser.add_argument("-d", "--delimiter", help="split each message into frames")
        if role == "sub":
            parser.add_argument(
                "-s", "--subscribe", action="append", default=[], help="topic prefix (all)"
            )
        if role in ("rep", "server"):
            parser.add_argument("--reply", help="reply with this text (default: echo)")
        if role == "radio":
            parser.add_argument("-g", "--group", default="", help="group to send to")
        if role == "dish":
            parser.add_argument(
                "-j", "--join", action="append", default=[], help="group to join (repeatable)"
            )
        parser.add_argument("-n", "--count", type=int, help="stop after receiving this many")
        parser.set_defaults(role=role)
    proxy = commands.add_parser(
        "proxy",
        help="forward between a frontend and a backend",
        description="Run zmtrio.proxy between two bound or connected sockets.",
    )
    proxy.add_argument("kind", choices=sorted(_PROXIES), help="frontend-backend socket types")
    proxy.add_argument("--frontend", action="append", required=True, help="bind:EP or connect:EP")
    proxy.add_argument("--backend", action="append", required=True, help="bind:EP or connect:EP")


def _add_endpoints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-b", "--bind", action="append", default=[], help="bind to endpoint")
    parser.add_argument("-c", "--connect", action="append", default=[], help="connect to it")


async def _outgoing(args: argparse.Namespace) -> AsyncIterator[list[bytes]]:
    def split(text: str) -> list[bytes]:
        parts = text.split(args.delimiter) if args.delimiter else [text]
        return [_parse_frame(part) for part in parts]

    for path in args.file:
        yield [await trio.Path(path).read_bytes()]
    for text in args.messages:
        yield split(text)
    if args.messages or args.file:
        return
    async for line in trio.wrap_file(sys.stdin):
        yield split(line.rstrip("\n"))


def _print(message: list[bytes]) -> None:
    print(" | ".join(format_frame(frame) for frame in message), flush=True)


async def _attach(sock: zmtrio.Socket, binds: list[str], connects: list[str]) -> None:
    for endpoint in binds:
        print(f"bound {await sock.bind(endpoint)}", file=sys.stderr)
    for endpoint in connects:
        await sock.connect(endpoint)


async def run_role(args: argparse.Namespace) -> None:
    """Run one socket role until its input is done or ``--count`` messages arrived."""
    socket_type, sends, receives = ROLES[args.role]
    if not args.bind and not args.connect:
        raise SystemExit("give at least one --bind or --connect endpoint")
    limit = args.count if args.count is not None else math.inf
    async with zmtrio.Context() as ctx, ctx.socket(socket_type) as sock:
        if args.role == "sub":
            for topic in args.subscribe or [""]:
                sock.subscribe(topic)
        for group in getattr(args, "join", []):
            sock.join(group)
        if args.role == "peer":
            # Messages go to every peer connected to (connect_peer gives their ids).
            await _attach(sock, args.bind, [])
            peer_ids = [await sock.connect_peer(endpoint) for endpoint in args.connect]
        else:
            await _attach(sock, args.bind, args.connect)
        if args.role in ("server", "peer", "dish"):
            await _run_addressed(sock, args, limit, peer_ids if args.role == "peer" else [])
        elif args.role == "radio":
            async for message in _outgoing(args):
                for frame in message:
                    await sock.send(frame, group=args.group)
        elif args.role == "req":
            async for message in _outgoing(args):
                await sock.send_multipart(message)
                _print(await sock.recv_multipart())
        elif args.role == "rep":
            received = 0
            async for message in sock:
                _print(message)
                await sock.send_multipart([args.reply.encode()] if args.reply else message)
                received += 1
                if received >= limit:
                    break
        else:
            async with trio.open_nursery() as nursery:
                if receives:
                    nursery.start_soon(_print_incoming, sock, limit, nursery.cancel_scope)
                if sends:
                    async for message in _outgoing(args):
                        await sock.send_multipart(message)
                    if not receives:
                        nursery.cancel_scope.cancel()


async def _run_addressed(
    sock: zmtrio.Socket, args: argparse.Namespace, limit: float, peer_ids: list[int]
) -> None:
    """SERVER (answers each message), PEER (sends to ``peer_ids``) and DISH: print each
    message after its routing id or group."""
    received = 0
    async with trio.open_nursery() as nursery:
        if peer_ids:

            async def send_to_peers() -> None:
                async for message in _outgoing(args):
                    for frame in message:
                        for peer_id in peer_ids:
                            await sock.send(frame, routing_id=peer_id)

            nursery.start_soon(send_to_peers)
        while received < limit:
            msg = await sock.recv_message()
            tag = msg.group if msg.group is not None else str(msg.routing_id).encode()
            _print([tag, *msg])
            if args.role == "server":
                reply = args.reply.encode() if args.reply else msg[0]
                await sock.send(reply, routing_id=msg.routing_id)
            received += 1
        nursery.cancel_scope.cancel()


async def _print_incoming(sock: zmtrio.Socket, limit: float, scope: trio.CancelScope) -> None:
    received = 0
    async for message in sock:
        _print(message)
        received += 1
        if received >= limit:
            scope.cancel()


async def run_proxy(args: argparse.Namespace) -> None:
    """Run ``zmtrio.proxy`` between the given frontend and backend endpoints."""
    frontend_type, backend_type = _PROXIES[args.kind]
    async with zmtrio.Context() as ctx:
        frontend, backend = ctx.socket(frontend_type), ctx.socket(backend_type)
        for sock, specs in ((frontend, args.frontend), (backend, args.backend)):
            for spec in specs:
                how, _, endpoint = spec.partition(":")
                if how not in ("bind", "connect") or not endpoint:
                    raise SystemExit(f"expected bind:ENDPOINT or connect:ENDPOINT, not {spec!r}")
                await _attach(
                    sock,
                    [endpoint] if how == "bind" else [],
                    [endpoint] if how == "connect" else [],
                )
        await zmtrio.proxy(frontend, backend)
