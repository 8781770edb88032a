"""``zmtrio push|pull|pub|sub|req|rep|dealer|router|pair|proxy``: sockets from a terminal,
and the newer types: ``stream``, ``client``, ``server``, ``radio``, ``dish``, ``scatter``,
``gather``, ``peer``, ``channel``, ``dgram``.

Senders read messages from the command line, ``--file`` or stdin (one message per line,
frames split on ``--delimiter``); receivers print each message on one line, frames joined
by `` | ``: text as text (tabs and line ends shown as ``\\t``, ``\\r``, ``\\n``), anything
else as ``0x``-hex. A SERVER or PEER prints the sender's routing id first and a DISH the
group; a SERVER answers like ``rep``; a RADIO sends to ``--group``; a PEER sends to every
peer it connected to.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import AsyncIterator

import trio

import zmtrio

from ._app import CommandError, paint, report

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

#: What each role does, for its ``--help`` (a role without an entry gets a generic text).
DESCRIPTIONS: dict[str, str] = {
    "push": "Send messages to PULL sockets, round-robin over the connected ones. Blocks "
    "while no peer can take a message.",
    "pull": "Print the messages PUSH sockets send, fair-queued from every connected one.",
    "pub": "Publish messages to every SUB socket whose subscription prefixes them; a "
    "message sent while nobody is subscribed is dropped, as ZeroMQ does.",
    "sub": "Print the messages of PUB sockets that start with a subscribed prefix "
    "(--subscribe; everything by default).",
    "req": "Send each message as a request and print the reply before sending the next.",
    "rep": "Print each request, then reply: with the next line typed on stdin (default), "
    "the request itself (--echo) or a fixed text (--reply).",
    "dealer": "Send messages round-robin to the connected peers and print every message "
    "that arrives (asynchronous request/reply).",
    "router": "Print every message prefixed by its sender's routing id (shown as the first "
    "frame); send messages whose first frame is the routing id of the peer to send to.",
    "pair": "Send messages to the one connected PAIR peer and print what it sends.",
    "stream": "Talk to plain TCP peers: each message is [routing id, data]; an empty data "
    "frame announces a connection or a disconnection.",
    "client": "Send single-frame messages round-robin to SERVER sockets and print their replies.",
    "server": "Print each single-frame message after its sender's routing id and answer it "
    "(the message itself, or --reply).",
    "radio": "Send each frame to the DISH sockets that joined --group.",
    "dish": "Print the messages of the groups joined with --join, after the group.",
    "scatter": "Send single-frame messages round-robin to GATHER sockets.",
    "gather": "Print the single-frame messages SCATTER sockets send.",
    "peer": "Send each frame to every PEER connected to with --connect, and print what "
    "arrives after its sender's routing id.",
    "channel": "Send single-frame messages to the one connected CHANNEL peer and print what "
    "it sends.",
    "dgram": "Send and print UDP datagrams: each message is [address, data].",
}

_INPUT_HELP = (
    "Messages come from the arguments, else from --file, else from stdin, one per line; "
    "--delimiter splits a message into frames, and a frame written 0x... is sent as the "
    "bytes of that hex."
)
_OUTPUT_HELP = (
    "Each message received is printed on one line, frames joined by ' | ': text as it is "
    "(tabs and line ends as \\t, \\r, \\n), anything else as 0x-hex."
)

_PROXIES = {
    "xsub-xpub": (zmtrio.XSUB, zmtrio.XPUB),
    "router-dealer": (zmtrio.ROUTER, zmtrio.DEALER),
    "pull-push": (zmtrio.PULL, zmtrio.PUSH),
}

#: Default LINGER of the command line's sockets (ms): at the end of the input, wait this
#: long for unsent messages instead of libzmq's forever.
DEFAULT_LINGER = 1000
#: How long a socket may go without a peer before the command says it is waiting (s).
WAITING_NOTICE_AFTER = 1.0
#: How often the end of the input checks whether the queued messages went out (s).
_DRAIN_CHECK = 0.01

_ESCAPES = str.maketrans({"\t": "\\t", "\r": "\\r", "\n": "\\n"})


def format_frame(frame: bytes) -> str:
    """A frame as printable text (tabs and line ends escaped), or ``0x`` and its hex."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + frame.hex()
    shown = text.translate(_ESCAPES)
    if shown.isprintable():
        return shown
    return "0x" + frame.hex()


def _parse_frame(text: str) -> bytes:
    if not text.startswith("0x"):
        return text.encode()
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise CommandError(f"{text!r} starts with 0x but is not hex") from None


def add_role_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add one subcommand per socket role, and ``proxy``."""
    for role, (socket_type, sends, receives) in ROLES.items():
        what = " and ".join(
            part
            for part, present in (("send messages", sends), ("print what arrives", receives))
            if present
        )
        if role == "rep":
            what = "print each request and reply to it"
        description = DESCRIPTIONS.get(role, f"A {socket_type.name} socket: {what}.")
        parser = commands.add_parser(
            role,
            help=f"a {socket_type.name} socket: {what}",
            description=description,
            epilog=" ".join(
                text
                for text, present in ((_INPUT_HELP, sends), (_OUTPUT_HELP, receives))
                if present
            ),
        )
        _add_endpoints(parser)
        if sends:
            parser.add_argument("messages", nargs="*", help="messages to send (default: stdin)")
            parser.add_argument(
                "--file",
                action="append",
                default=[],
                metavar="PATH",
                help="send each line of this file as a message (repeatable)",
            )
            parser.add_argument(
                "--whole-file",
                action="store_true",
                help="send each --file as one message instead of one per line",
            )
            parser.add_argument(
                "-d", "--delimiter", metavar="TEXT", help="split each message into frames on TEXT"
            )
        if role == "sub":
            parser.add_argument(
                "-s",
                "--subscribe",
                action="append",
                default=[],
                metavar="PREFIX",
                help="receive messages starting with PREFIX (repeatable; default: all)",
            )
        if role == "rep":
            replies = parser.add_mutually_exclusive_group()
            replies.add_argument(
                "--echo", action="store_true", help="reply with the request itself"
            )
            replies.add_argument("--reply", metavar="TEXT", help="reply with TEXT every time")
        if role == "server":
            parser.add_argument("--reply", metavar="TEXT", help="reply with TEXT (default: echo)")
        if role == "radio":
            parser.add_argument("-g", "--group", default="", help="group to send to")
        if role == "dish":
            parser.add_argument(
                "-j", "--join", action="append", default=[], help="group to join (repeatable)"
            )
        if receives:
            parser.add_argument(
                "-n",
                "--count",
                type=int,
                metavar="N",
                help="exit after receiving N messages (default: run until Ctrl-C"
                + (" or the end of the input)" if sends else ")"),
            )
        parser.add_argument(
            "--linger",
            type=int,
            default=DEFAULT_LINGER,
            metavar="MS",
            help=f"at exit, wait up to MS ms for unsent messages (default {DEFAULT_LINGER}; "
            "-1: forever)",
        )
        parser.set_defaults(role=role, run=run_role)
    proxy = commands.add_parser(
        "proxy",
        help="forward messages between a frontend and a backend socket",
        description="Run zmtrio.proxy between two sockets until Ctrl-C: XSUB-XPUB forwards "
        "publications (and subscriptions back), ROUTER-DEALER shares requests among "
        "workers, PULL-PUSH relays a pipeline.",
    )
    proxy.add_argument("kind", choices=sorted(_PROXIES), help="frontend-backend socket types")
    proxy.add_argument(
        "--frontend",
        action="append",
        required=True,
        metavar="bind:EP|connect:EP",
        help="where the frontend binds or connects (repeatable)",
    )
    proxy.add_argument(
        "--backend",
        action="append",
        required=True,
        metavar="bind:EP|connect:EP",
        help="where the backend binds or connects (repeatable)",
    )
    proxy.set_defaults(run=run_proxy)


def _add_endpoints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-b", "--bind", action="append", default=[], metavar="EP", help="bind to endpoint EP"
    )
    parser.add_argument(
        "-c", "--connect", action="append", default=[], metavar="EP", help="connect to EP"
    )
    parser.add_argument(
        "--curve",
        metavar="CERT",
        help="CURVE with this secret certificate (zmtrio keygen --cert); a server unless "
        "--curve-server-key is given",
    )
    parser.add_argument(
        "--curve-server-key",
        metavar="KEY",
        help="be a CURVE client of the server with this public key (Z85, or a certificate)",
    )


def _secure(sock: zmtrio.Socket, args: argparse.Namespace) -> None:
    """Apply --curve / --curve-server-key."""
    if args.curve is None:
        if args.curve_server_key is not None:
            raise CommandError("--curve-server-key needs --curve CERT")
        return
    public, secret = zmtrio.auth.load_certificate(args.curve)
    if secret is None:
        raise CommandError(f"{args.curve} holds no secret key: give a *.key_secret file")
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    server_key = args.curve_server_key
    if server_key is None:
        sock.curve_server = True
        print(f"CURVE server, public key {public.decode()}", file=sys.stderr)
        return
    if len(server_key) != 40:
        server_key = zmtrio.auth.load_certificate(server_key)[0].decode()
    sock.curve_serverkey = server_key.encode()


async def _outgoing(args: argparse.Namespace) -> AsyncIterator[list[bytes]]:
    def split(text: str) -> list[bytes]:
        parts = text.split(args.delimiter) if args.delimiter else [text]
        return [_parse_frame(part) for part in parts]

    for text in args.messages:
        yield split(text)
    if args.messages:
        return
    for path in args.file:
        if args.whole_file:
            yield [await trio.Path(path).read_bytes()]
            continue
        async with await trio.open_file(path) as lines:
            async for line in lines:
                yield split(line.rstrip("\r\n"))
    if args.file:
        return
    async for line in trio.wrap_file(sys.stdin):
        yield split(line.rstrip("\r\n"))


def _print(message: list[bytes]) -> None:
    separator = paint(" | ", "dim", sys.stdout)
    print(separator.join(format_frame(frame) for frame in message), flush=True)


async def _attach(sock: zmtrio.Socket, binds: list[str], connects: list[str]) -> None:
    for endpoint in binds:
        try:
            resolved = await sock.bind(endpoint)
        except zmtrio.ZMQError as exc:
            raise CommandError(f"cannot bind {endpoint}: {exc}") from None
        report(f"bound {resolved}", "note")
    for endpoint in connects:
        try:
            await sock.connect(endpoint)
        except zmtrio.ZMQError as exc:
            raise CommandError(f"cannot connect to {endpoint}: {exc}") from None


async def _say_when_waiting(sock: zmtrio.Socket, endpoints: str) -> None:
    """Tell the user, once, when no peer has connected after a moment."""
    async with sock.monitor(zmtrio.EventType.HANDSHAKE_SUCCEEDED) as events:
        with trio.move_on_after(WAITING_NOTICE_AFTER):
            async for _ in events:
                return
    report(f"waiting for a peer on {endpoints}", "note")


async def run_role(args: argparse.Namespace) -> None:
    """Run one socket role until its input is done or ``--count`` messages arrived."""
    socket_type, sends, receives = ROLES[args.role]
    if not args.bind and not args.connect:
        raise CommandError(f"give at least one --bind or --connect endpoint to {args.role}")
    limit = getattr(args, "count", None) or math.inf
    async with zmtrio.Context(linger=args.linger) as ctx, ctx.socket(socket_type) as sock:
        _secure(sock, args)
        if args.role == "sub":
            for topic in args.subscribe or [""]:
                sock.subscribe(topic)
        for group in getattr(args, "join", []):
            sock.join(group)
        peer_ids: list[int] = []
        if args.role == "peer":
            # Messages go to every peer connected to (connect_peer gives their ids).
            await _attach(sock, args.bind, [])
            peer_ids = [await sock.connect_peer(endpoint) for endpoint in args.connect]
        else:
            await _attach(sock, args.bind, args.connect)
        endpoints = ", ".join(args.bind + args.connect)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_say_when_waiting, sock, endpoints)
            await _converse(sock, args, sends, receives, limit, peer_ids)
            # The input is done: wait (up to --linger) for what is still queued.
            with trio.move_on_after(math.inf if args.linger < 0 else args.linger / 1000):
                while sock.statistics().queued_outbound:
                    await trio.sleep(_DRAIN_CHECK)
            nursery.cancel_scope.cancel()
        unsent = sock.statistics().queued_outbound
        if unsent:
            raise CommandError(
                f"{unsent} message{'s' if unsent > 1 else ''} not delivered: no peer took "
                f"{'them' if unsent > 1 else 'it'} from {endpoints} within --linger "
                f"{args.linger} ms"
            )


async def _converse(
    sock: zmtrio.Socket,
    args: argparse.Namespace,
    sends: bool,
    receives: bool,
    limit: float,
    peer_ids: list[int],
) -> None:
    if args.role in ("server", "peer", "dish"):
        await _run_addressed(sock, args, limit, peer_ids)
    elif args.role == "radio":
        async for message in _outgoing(args):
            for frame in message:
                await sock.send(frame, group=args.group)
    elif args.role == "req":
        async for message in _outgoing(args):
            await sock.send_multipart(message)
            _print(await sock.recv_multipart())
    elif args.role == "rep":
        await _serve_replies(sock, args, limit)
    else:
        async with trio.open_nursery() as nursery:
            if receives:
                nursery.start_soon(_print_incoming, sock, limit, nursery.cancel_scope)
            if sends:
                async for message in _outgoing(args):
                    await sock.send_multipart(message)
                if not receives:
                    nursery.cancel_scope.cancel()


async def _serve_replies(sock: zmtrio.Socket, args: argparse.Namespace, limit: float) -> None:
    typed = None if args.echo or args.reply is not None else trio.wrap_file(sys.stdin)
    received = 0
    async for request in sock:
        _print(request)
        if args.echo:
            reply = request
        elif args.reply is not None:
            reply = [_parse_frame(args.reply)]
        else:
            assert typed is not None
            line = await typed.readline()
            if not line:
                return  # end of the replies typed: stop
            reply = [_parse_frame(line.rstrip("\r\n"))]
        await sock.send_multipart(reply)
        received += 1
        if received >= limit:
            return


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
    async with zmtrio.Context(linger=DEFAULT_LINGER) as ctx:
        frontend, backend = ctx.socket(frontend_type), ctx.socket(backend_type)
        for sock, specs in ((frontend, args.frontend), (backend, args.backend)):
            for spec in specs:
                how, _, endpoint = spec.partition(":")
                if how not in ("bind", "connect") or not endpoint:
                    raise CommandError(f"expected bind:ENDPOINT or connect:ENDPOINT, not {spec!r}")
                await _attach(
                    sock,
                    [endpoint] if how == "bind" else [],
                    [endpoint] if how == "connect" else [],
                )
        await zmtrio.proxy(frontend, backend)
