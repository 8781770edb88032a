"""``Socket``: the public socket API over routing strategies, transports and engines.

Engines and transports see a socket only as a :class:`~._seam.HostSocket` (its methods
below without a leading underscore); a socket sees a connection it may read in place only
as a :class:`~._seam.ReaderLease`. The socket sees its context as a :class:`SocketOwner`.
"""

from __future__ import annotations

import errno
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Literal, Protocol, final, overload

import trio
from trio.lowlevel import cancel_shielded_checkpoint, checkpoint, checkpoint_if_cancelled

from ._cancellation import cancellation_check, run_context
from ._constants import (
    DONTWAIT,
    ENOTSUP,
    EVENT_ALL,
    POLLIN,
    POLLOUT,
    SNDMORE,
    EventType,
    SocketType,
)
from ._conveniences import SocketConveniences
from ._core import EncodedBatch, copy_messages, encode_batch
from ._errors import Again, ZMQError
from ._message import Message
from ._monitor import Event
from ._option_attributes import OptionAttributes
from ._options import OPTIONS, OPTIONS_BY_ID, SocketOption, validate
from ._peer import Peer
from ._pipe import Pipe
from ._routing import PATTERNS
from ._routing._peer_channel import PeerPattern
from ._routing._radio_dish import join_group
from ._seam import ReaderLease
from ._security import security_option_set
from ._threads import current_thread, wrong_thread
from ._transport import check_transport, split_endpoint
from ._transport._inproc import InprocRegistry
from ._transport._stream import Listener, accept_loop, connect_loop, listen, opener
from ._transport._udp import check_type as udp_check_type
from ._transport._udp import open_udp_socket, run_udp
from ._transport._udp import parse as udp_parse

__all__ = ["Socket", "SocketOwner", "SocketStatistics"]

#: Where a context's ZAP handler binds (RFC 27).
_ZAP_NAME: Final = "zeromq.zap.01"
#: A send or recv that completes at once yields to the scheduler every this many calls.
_FAIRNESS_BATCH: Final = 64
#: BUSY_POLL as a plain int key, read on every park of a REQ/REP (an ``IntEnum`` member costs
#: a class attribute look-up more).
_BUSY_POLL: Final = int(SocketOption.BUSY_POLL)

BytesLike = bytes | bytearray | memoryview

#: ``Socket._partly_read`` when no message is being read frame by frame (never mutated).
_NO_FRAMES: Final[list[bytes]] = []

_COMPATIBLE: Final[dict[SocketType, frozenset[SocketType]]] = {
    SocketType.PAIR: frozenset({SocketType.PAIR}),
    SocketType.PUB: frozenset({SocketType.SUB, SocketType.XSUB}),
    SocketType.SUB: frozenset({SocketType.PUB, SocketType.XPUB}),
    SocketType.REQ: frozenset({SocketType.REP, SocketType.ROUTER}),
    SocketType.REP: frozenset({SocketType.REQ, SocketType.DEALER}),
    SocketType.DEALER: frozenset({SocketType.REP, SocketType.DEALER, SocketType.ROUTER}),
    SocketType.ROUTER: frozenset({SocketType.REQ, SocketType.DEALER, SocketType.ROUTER}),
    SocketType.PULL: frozenset({SocketType.PUSH}),
    SocketType.PUSH: frozenset({SocketType.PULL}),
    SocketType.XPUB: frozenset({SocketType.SUB, SocketType.XSUB}),
    SocketType.XSUB: frozenset({SocketType.PUB, SocketType.XPUB}),
    SocketType.SERVER: frozenset({SocketType.CLIENT}),
    SocketType.CLIENT: frozenset({SocketType.SERVER}),
    SocketType.RADIO: frozenset({SocketType.DISH}),
    SocketType.DISH: frozenset({SocketType.RADIO}),
    SocketType.GATHER: frozenset({SocketType.SCATTER}),
    SocketType.SCATTER: frozenset({SocketType.GATHER}),
    SocketType.PEER: frozenset({SocketType.PEER}),
    SocketType.CHANNEL: frozenset({SocketType.CHANNEL}),
    SocketType.STREAM: frozenset(),
    SocketType.DGRAM: frozenset(),
}


#: The types CONFLATE applies to (libzmq ignores it on the others).
_CONFLATING: Final = frozenset(
    {SocketType.PULL, SocketType.PUSH, SocketType.SUB, SocketType.PUB, SocketType.DEALER}
)


def _as_frame(data: object) -> bytes:
    """A frame as immutable bytes: libzmq copies on send, so later edits can't leak."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("str frames are not allowed: encode them to bytes first")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"a frame must be bytes-like, not {type(data).__name__}")


def _as_message(frames: Iterable[object]) -> list[bytes]:
    # hot path (send_multipart; send_batch's slow path, once per message): a copy, so later
    # edits of the caller's list can't leak, and a plain loop, as CPython 3.11 makes a
    # function object for every comprehension it runs (callgrind, batched inproc
    # PUSH->PULL: 3,825 -> 2,384 instructions a message); frames that are not bytes yet
    # take the slow way.
    message: list[Any] = list(frames)
    if not message:
        raise ValueError("a message needs at least one frame")
    for frame in message:
        if type(frame) is not bytes:
            return [_as_frame(frame) for frame in message]
    return message


class SocketOwner(Protocol):
    """What a socket asks of the context that made it (``Context`` implements it)."""

    @property
    def closed(self) -> bool:
        """Whether the context was closed."""
        ...

    def socket(self, socket_type: int) -> Socket:
        """A new socket of the same context."""
        ...

    @property
    def _inproc(self) -> InprocRegistry: ...

    def _forget(self, sock: Socket) -> None: ...

    def _nursery_for(self, sock: Socket) -> trio.Nursery: ...


@dataclass(frozen=True, slots=True)
class SocketStatistics:
    """A snapshot of a socket's queues, as ``Socket.statistics()`` returns it."""

    peers: int
    """Attached peers (connect endpoints count while they wait to connect)."""
    queued_outbound: int
    """Messages waiting in pipes to peers."""
    queued_inbound: int
    """Messages received and not yet taken by ``recv``."""


@final
class Socket(SocketConveniences, OptionAttributes):
    """A ZeroMQ socket, made by :meth:`Context.socket`.

    Example::

        async with ctx.socket(zmtrio.PULL) as pull:
            endpoint = await pull.bind("tcp://127.0.0.1:*")
            async for frames in pull:
                ...

    Options are attributes (``sock.sndhwm = 10``, ``sock.SNDHWM``, pyzmq's ``sock.hwm``) or
    ``setsockopt``/``getsockopt`` calls with libzmq's names, units and defaults; a name that
    is no option raises ``AttributeError``. Every call on a closed socket, and every call
    blocked in it when it closes, raises ``trio.ClosedResourceError``.
    """

    # Slots: assigning a misspelt option (``sock.sndhmw = 1``) raises AttributeError, as in
    # pyzmq, at no cost to the attribute writes of the hot path. A new attribute of Socket
    # must be listed here.
    __slots__ = (
        "__weakref__",
        "_attached",
        "_calls",
        "_change_lot",
        "_closed",
        "_connections",
        "_context",
        "_drained_lot",
        "_inproc_bound",
        "_last_endpoint",
        "_leases",
        "_listeners",
        "_maybe_cancelled",
        "_monitors",
        "_next_frame",
        "_open_in",
        "_options",
        "_partly_read",
        "_pattern",
        "_peers",
        "_pending_frames",
        "_reading",
        "_reading_peer",
        "_recv_lot",
        "_run_context",
        "_scopes",
        "_send_lot",
        "_thread",
        "_torn_down",
        "_type",
    )

    def __init__(self, context: SocketOwner, socket_type: int) -> None:
        try:
            self._type = SocketType(socket_type)
        except ValueError:
            raise ZMQError(errno.EINVAL, f"unknown socket type {socket_type!r}") from None
        pattern = PATTERNS.get(self._type)
        if pattern is None:
            raise ZMQError(ENOTSUP, f"{self._type.name} sockets are not implemented yet")
        self._context = context
        #: The thread whose trio loop owns the socket: the only one that may use it.
        self._thread = current_thread()
        #: That thread while the socket is open, None once closed: the per-message paths
        #: ask both questions with one identity test.
        self._open_in: object = self._thread
        #: trio's checkpoint_if_cancelled question, cheaply, for tasks of that thread.
        self._maybe_cancelled = cancellation_check()
        #: What that question reads, for the per-message paths that ask it inline.
        self._run_context = run_context()
        self._options: dict[int, Any] = {spec.option: spec.default for spec in OPTIONS}
        self._options[SocketOption.TYPE] = int(self._type)
        if self._type in (SocketType.SUB, SocketType.XSUB, SocketType.DISH):
            # libzmq's subscribers do not linger: unsent subscriptions are not worth a wait.
            self._options[SocketOption.LINGER] = 0
        self._pattern = pattern(self._options)
        self._attached: set[Peer] = set()
        self._peers: set[Peer] = set()
        self._send_lot = trio.lowlevel.ParkingLot()
        self._recv_lot = trio.lowlevel.ParkingLot()
        #: The connections a receiving task may read in place, by peer.
        self._leases: dict[Peer, ReaderLease] = {}
        #: The connection a receiving task is reading in place (and its peer), to interrupt
        #: when a message comes from elsewhere or the socket closes.
        self._reading: ReaderLease | None = None
        self._reading_peer: Peer | None = None
        self._change_lot = trio.lowlevel.ParkingLot()
        #: A lingering close waits here; woken when a peer's queue drained or a peer went.
        self._drained_lot = trio.lowlevel.ParkingLot()
        self._pending_frames: list[bytes] = []
        #: The message ``recv`` is reading frame by frame (empty when none is), and the
        #: index of its next frame: no list is sliced or shifted per frame.
        self._partly_read: list[bytes] = _NO_FRAMES
        self._next_frame = 0
        #: Sends and receives that may still complete without yielding to the scheduler
        #: (counted down: one test per message, not a comparison).
        self._calls = _FAIRNESS_BATCH
        self._closed = False
        self._torn_down = False
        self._scopes: set[trio.CancelScope] = set()
        self._listeners: dict[str, Listener] = {}
        self._inproc_bound: list[str] = []
        self._connections: dict[str, list[tuple[trio.CancelScope, Peer]]] = {}
        self._monitors: list[tuple[int, trio.MemorySendChannel[Event]]] = []
        self._last_endpoint = ""

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<zmtrio.Socket {self.type.name} {state} at {id(self):#x}>"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Socket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def type(self) -> SocketType:
        """The socket type (``zmtrio.PUSH``, ...)."""
        return self._type

    @property
    def closed(self) -> bool:
        """Whether the socket was closed."""
        return self._closed

    @property
    def context(self) -> SocketOwner:
        """The context that made this socket."""
        return self._context

    def close(self, linger: int | None = None) -> None:
        """Close at once, dropping unsent messages (``linger`` is accepted for pyzmq
        compatibility; only 0 is possible without awaiting, use :meth:`aclose` to linger)."""
        if current_thread() is not self._thread:
            raise wrong_thread()
        if self._torn_down:
            return
        self._mark_closed()
        self._tear_down()

    async def aclose(self) -> None:
        """Close, first waiting up to ``LINGER`` ms (-1: forever) for queued messages to be
        written to connected peers. Calls blocked in the socket raise at once."""
        if current_thread() is not self._thread:
            raise wrong_thread()
        if self._closed:
            await checkpoint()
            return
        self._mark_closed()
        linger = self._options[SocketOption.LINGER]
        try:
            if linger != 0:
                with trio.move_on_after(linger / 1000 if linger > 0 else math.inf):
                    while self._has_unsent():
                        await self._drained_lot.park()
        finally:
            self._tear_down()
        await checkpoint()

    def _mark_closed(self) -> None:
        self._closed = True
        self._open_in = None
        for lot in (self._send_lot, self._recv_lot, self._change_lot):
            lot.unpark_all()
        if self._reading is not None:
            self._reading.interrupt_receiver()

    def _has_unsent(self) -> bool:
        return any(
            (len(peer.out.queue) or peer.flushing) and not peer.endpoint.startswith("inproc://")
            for peer in self._peers
        )

    def _tear_down(self) -> None:
        self._torn_down = True
        self._context._forget(self)
        for scope in self._scopes:
            scope.cancel()
        for listener in set(self._listeners.values()):
            listener.close()
        self._listeners.clear()
        self._context._inproc.forget(self)
        for peer in list(self._peers):
            if peer.unlink is not None:
                peer.unlink()
            self.connection_lost(peer)
        self.emit(EventType.MONITOR_STOPPED, 0, "")
        for _, channel in self._monitors:
            channel.close()
        self._monitors.clear()

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> trio.CancelScope:
        """Run ``fn(*args)`` in the context's nursery, cancelled when the socket closes."""
        scope = trio.CancelScope()
        self._scopes.add(scope)

        async def guarded() -> None:
            try:
                with scope:
                    if not self._torn_down:
                        await fn(*args)
            finally:
                self._scopes.discard(scope)

        self._context._nursery_for(self).start_soon(guarded)
        return scope

    def _check_open(self) -> None:
        if current_thread() is not self._thread:
            raise wrong_thread()
        if self._closed:
            raise trio.ClosedResourceError("the socket is closed")

    # ------------------------------------------------------------------ peers
    # (the HostSocket side of the seam: called by engines and transports)

    @property
    def options(self) -> Mapping[int, Any]:
        """The live option values by libzmq option number (for engines and transports)."""
        return self._options

    @property
    def write_through(self) -> bool:
        """Whether a send may write to an idle connection from the sending task."""
        return self._pattern.write_through

    def accepts_peer_type(self, socket_type: int) -> bool:
        """Whether a peer of ``socket_type`` may talk to this socket."""
        return socket_type in _COMPATIBLE[self.type]

    def adopt_peer(self, peer: Peer) -> None:
        """Wire the socket's ends of ``peer``'s pipes to this socket's wakeups."""
        peer.out.on_writable = self._writable
        peer.on_drained = self._peer_drained
        peer.inp.on_readable = partial(self._readable, peer)  # no Python frame of its own
        if peer.attached:  # new pipes for an attached peer: an inproc link to another loop
            self._pattern.pipes_replaced(peer)
        self._peers.add(peer)

    def new_peer(self, endpoint: str) -> Peer:
        """A peer with fresh pipes, wired to this socket's wakeups (not yet routed)."""
        options = self._options
        conflate = bool(options[SocketOption.CONFLATE]) and self._type in _CONFLATING
        peer = Peer(
            Pipe(options[SocketOption.SNDHWM], conflate),
            Pipe(options[SocketOption.RCVHWM], conflate),
            endpoint,
        )
        self.adopt_peer(peer)
        return peer

    def _attach(self, peer: Peer) -> bool:
        """Route through ``peer``. False if the socket refuses it (a second PAIR peer)."""
        if peer.attached:
            return True
        pattern = self._pattern
        if self._torn_down or (
            pattern.max_peers is not None and len(self._attached) >= pattern.max_peers
        ):
            return False
        if not pattern.attach(peer):
            return False
        peer.attached = True
        self._attached.add(peer)
        self._writable()
        return True

    def connection_ready(self, peer: Peer, lease: ReaderLease | None) -> bool:
        """A handshake (or inproc join) finished: route through ``peer``; a receiving task
        may read in place through ``lease``. False if the connection must be dropped."""
        if not self._attach(peer):
            return False
        if lease is not None:
            self._leases[peer] = lease
        self._pattern.connected(peer)
        if len(peer.inp.queue):
            # Messages that came in with the handshake: a connect endpoint's peer was
            # attached before it, and a ROUTER only reads a peer once it is identified.
            self._readable(peer)
        return True

    def connection_lost(self, peer: Peer) -> None:
        """``peer``'s connection ended. A connect endpoint's peer stays attached (messages
        queue for the reconnect) unless IMMEDIATE is set or the socket is closing."""
        self._leases.pop(peer, None)
        if peer.keep_attached and not self._torn_down:
            return
        if peer.attached:
            peer.attached = False
            self._attached.discard(peer)
            self._pattern.detach(peer)
        else:
            # Never routed (refused, or the handshake failed): nobody will read these.
            peer.inp.queue.clear()
        if peer.unlink is None:
            # Unsent messages die with the connection; an inproc pipe is already the
            # other socket's inbound queue, so what is in it stays there to be received.
            peer.out.queue.clear()
        # Messages that already arrived stay with the receiving strategy until taken.
        self._peers.discard(peer)
        self._peer_drained()

    def endpoint_ended(self, peer: Peer) -> None:
        """A connect endpoint gave up (reconnecting disabled, or the peer broke the
        protocol): drop its peer as ``disconnect`` would, so sends no longer queue for it."""
        if not peer.keep_attached:
            return
        peer.keep_attached = False
        self.connection_lost(peer)

    def subscription(self, peer: Peer, topic: bytes, subscribe: bool) -> None:
        """``peer`` sent a SUBSCRIBE (``subscribe``) or CANCEL command for ``topic``."""
        self._pattern.subscription(peer, topic, subscribe)

    def _readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty."""
        self._pattern.readable(peer)
        if self._recv_lot:
            self._recv_lot.unpark_all()
        reading = self._reading
        if reading is not None and self._reading_peer is not peer:
            reading.interrupt_receiver()
        if self._change_lot:
            self._change_lot.unpark_all()

    def _peer_drained(self) -> None:
        """A peer's engine wrote all it had, or a peer went: a lingering close looks again."""
        if self._drained_lot:
            self._drained_lot.unpark_all()

    def _writable(self) -> None:
        """A pipe to a peer has room again, or a peer was attached."""
        if self._send_lot:
            self._send_lot.unpark_all()
        if self._change_lot:
            self._change_lot.unpark_all()

    # ------------------------------------------------------------------ endpoints

    async def bind(self, endpoint: str) -> str:
        """Accept connections at ``endpoint``; return it resolved (``*`` filled in).

        Raises ``ZMQError``: ``EINVAL`` (malformed), ``EPROTONOSUPPORT`` (unknown transport),
        ``EADDRINUSE``, ``ENODEV`` (unknown interface), ... as libzmq does.
        """
        self._check_open()
        transport, address = split_endpoint(endpoint)
        check_transport(self.type, transport)
        if transport == "udp":
            resolved = await self._open_udp(address, bind=True)
        elif transport == "inproc":
            await checkpoint()
            resolved = self._context._inproc.bind(self, address)
            self._inproc_bound.append(address)
        else:
            try:
                listener = await listen(transport, address, self._options)
            except ZMQError as exc:
                self.emit(EventType.BIND_FAILED, exc.errno, endpoint)
                raise
            if self._closed:
                listener.close()
                raise trio.ClosedResourceError("the socket was closed during bind")
            resolved = listener.endpoint
            self._listeners[resolved] = listener
            self._listeners.setdefault(endpoint, listener)
            self._spawn(accept_loop, self, listener)
            self.emit(EventType.LISTENING, listener.sock.fileno(), resolved)
        self._last_endpoint = resolved
        return resolved

    async def unbind(self, endpoint: str) -> None:
        """Stop accepting at ``endpoint`` (as bound or as returned by ``bind``) and drop the
        connections it accepted. ``ENOENT`` if it is not bound."""
        self._check_open()
        transport, address = split_endpoint(endpoint)
        if transport == "udp":
            await self.disconnect(endpoint)  # a udp bind is a connect, as in libzmq
            return
        await checkpoint()
        if transport == "inproc":
            if address not in self._inproc_bound:
                raise ZMQError(errno.ENOENT, f"{endpoint} is not bound")
            self._context._inproc.unbind(self, address)
            self._inproc_bound.remove(address)
            return
        listener = self._listeners.get(endpoint)
        if listener is None:
            raise ZMQError(errno.ENOENT, f"{endpoint} is not bound")
        for key in [key for key, value in self._listeners.items() if value is listener]:
            del self._listeners[key]
        listener.close()

    async def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint``. Returns once the connect is registered: the connection
        is made, and remade after failures (``RECONNECT_IVL``/``_MAX``), in the background.
        With ``IMMEDIATE`` off (default) messages queue for it before it is up, as libzmq."""
        self._check_open()
        transport, address = split_endpoint(endpoint)
        check_transport(self.type, transport)
        if transport == "udp":
            self._last_endpoint = await self._open_udp(address, bind=False)
            return
        await checkpoint()
        immediate = self._options[SocketOption.IMMEDIATE]
        if transport == "inproc":
            peer = self._context._inproc.connect(self, address)
            scope = trio.CancelScope()
        else:
            open_stream = opener(transport, address)
            peer = self.new_peer(endpoint)
            self._pattern.connecting(peer)
            scope = self._spawn(connect_loop, self, endpoint, address, open_stream, peer)
        if not immediate and not self._pattern.raw:
            peer.keep_attached = True
            self._attach(peer)
        self._connections.setdefault(endpoint, []).append((scope, peer))
        self._last_endpoint = endpoint

    async def _open_udp(self, address: str, *, bind: bool) -> str:
        """Bind (DISH, DGRAM) or connect (RADIO) ``udp://address``: one peer whose pipes a
        datagram task carries; return the resolved endpoint."""
        udp_check_type(self.type, bind=bind)
        send_only = self.type == SocketType.RADIO
        parsed = udp_parse(address, bind=bind, ipv6=bool(self._options[SocketOption.IPV6]))
        await checkpoint()
        self._check_open()
        sock, resolved = open_udp_socket(parsed, self._options, send_only=send_only)
        peer = self.new_peer(resolved)
        scope = self._spawn(run_udp, self.type, sock, parsed, peer)
        if not self.connection_ready(peer, None):
            scope.cancel()
            raise ZMQError(errno.EINVAL, f"a {self.type.name} socket takes one udp endpoint")
        self._connections.setdefault(resolved, []).append((scope, peer))
        return resolved

    async def disconnect(self, endpoint: str) -> None:
        """Drop the connection(s) made by ``connect(endpoint)`` and their queued messages.
        ``ENOENT`` if there is none."""
        self._check_open()
        await checkpoint()
        links = self._connections.pop(endpoint, None)
        if not links:
            raise ZMQError(errno.ENOENT, f"{endpoint} is not connected")
        for scope, peer in links:
            scope.cancel()
            if peer.unlink is not None:
                peer.unlink()
            peer.keep_attached = False
            self.connection_lost(peer)

    # ------------------------------------------------------------------ sending

    async def send(
        self,
        data: BytesLike,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: bytes | str | None = None,
    ) -> None:
        """Send one frame; with ``SNDMORE`` more frames of the same message follow.

        Blocks while no peer can take the message (``DONTWAIT``: raise ``Again``).
        ``routing_id`` picks a SERVER's or PEER's peer (``EHOSTUNREACH`` if unknown);
        ``group`` a RADIO's group (at most 255 bytes), both in pyzmq's places. (Not
        keyword-only: CPython fills keyword-only defaults per call, which measured as 3% of a
        send.) ``copy`` and ``track`` are accepted for pyzmq's sake and change nothing: the
        frame is taken as immutable ``bytes`` at once, so there is no send to track.
        """
        if flags or routing_id is not None or group is not None or self._pending_frames:
            await self._send_frame(data, flags, routing_id, group)
            return
        # hot path, inlined (each call saved is a Python frame): the message is queued
        # with nothing to await when the socket is open in this thread, no yield is due,
        # the task is not (maybe) cancelled (trio's question asked inline, see
        # _cancellation.run_context) and a peer has room; else _send_message decides.
        frame = data if type(data) is bytes else _as_frame(data)
        if current_thread() is not self._open_in:
            self._check_open()
        task = self._run_context["task"]
        if (
            self._calls
            and not task._cancel_status.effectively_cancelled
            and not task._runner.ki_pending
        ):
            # Read as attributes, then called: ``self._pattern.send(message)`` would be a
            # LOAD_METHOD, which CPython 3.11 cannot specialize for an instance attribute
            # (callgrind: about 150 instructions a message more). A pattern that takes the
            # frame alone needs no list made for it (PUSH to one peer: its Outlet).
            pattern = self._pattern
            send_frame = pattern.send_frame
            if send_frame is not None:
                if send_frame(frame):
                    self._calls -= 1
                    return
            else:
                send = pattern.send
                if send([frame]):
                    self._calls -= 1
                    return
        await self._send_message([frame], flags)

    async def _send_frame(
        self, data: BytesLike, flags: int, routing_id: int | None, group: bytes | str | None
    ) -> None:
        """``send`` with flags, an address or frames sent before: the ways that are not the
        hot path."""
        frame = data if type(data) is bytes else _as_frame(data)
        if routing_id is not None or group is not None:
            await self._send_addressed(frame, flags, routing_id, group)
            return
        if flags & SNDMORE:
            self._check_open()
            if self._pattern.single_frame:
                raise ZMQError(errno.EINVAL, f"{self.type.name} sockets send single frames only")
            if self._maybe_cancelled():
                await checkpoint_if_cancelled()
            self._pending_frames.append(frame)
            return
        message = [*self._pending_frames, frame]
        if not self._send_now(message):
            await self._send_message(message, flags)
        # Cleared only once queued: a cancelled send leaves the partial message as it was.
        self._pending_frames = []

    async def send_multipart(
        self, frames: Iterable[BytesLike], flags: int = 0, copy: bool = True, track: bool = False
    ) -> None:
        """Send the frames as one message, atomically (``copy``, ``track``: as ``send``)."""
        message = _as_message(frames)
        if not self._send_now(message):
            await self._send_message(message, flags)

    def send_nowait(self, data: BytesLike) -> None:
        """Send one single-frame message now or raise ``Again``."""
        self._send_nowait([_as_frame(data)])

    def send_multipart_nowait(self, frames: Iterable[BytesLike]) -> None:
        """Send one message now or raise ``Again``."""
        self._send_nowait(_as_message(frames))

    def _send_nowait(self, message: list[bytes]) -> None:
        if current_thread() is not self._open_in:
            self._check_open()
        if not self._pattern.send(message):
            raise Again()

    def _send_now(self, message: list[bytes]) -> bool:
        # A send that can complete checks for cancellation and returns, yielding to the
        # scheduler only every _FAIRNESS_BATCH calls (see DESIGN.md, speed rules). A plain
        # call: True if ``message`` was queued with nothing to await; else the caller
        # awaits _send_message (cancelled, a yield due, no room). ``send`` inlines it; here
        # too trio's question is read inline (a call fewer for send_multipart).
        if current_thread() is not self._open_in:
            self._check_open()
        task = self._run_context["task"]
        send = self._pattern.send  # an attribute read, then a call (see ``send``)
        if (
            self._calls
            and not task._cancel_status.effectively_cancelled
            and not task._runner.ki_pending
            and send(message)
        ):
            self._calls -= 1
            return True
        return False

    async def _send_message(self, message: list[bytes], flags: int) -> None:
        """Queue ``message`` after the fast attempt failed (a yield due, the task maybe
        cancelled, or no room): raise if cancelled (nothing queued), then queue it and
        yield, or wait for room without yielding first (``DONTWAIT``: raise ``Again``)."""
        if self._maybe_cancelled():
            await checkpoint_if_cancelled()
        if self._pattern.send(message):
            self._calls = _FAIRNESS_BATCH
            await cancel_shielded_checkpoint()
            return
        if flags & DONTWAIT:
            raise Again()
        self._calls = _FAIRNESS_BATCH
        await self._wait_to_send(message)

    async def _send_addressed(
        self, frame: bytes, flags: int, routing_id: int | None, group: bytes | str | None
    ) -> None:
        """``send`` with a routing id or a group: the pattern routes by it."""
        self._check_open()
        if flags & SNDMORE or self._pending_frames:
            raise ZMQError(errno.EINVAL, f"{self.type.name} sockets send single frames only")
        if isinstance(group, str):
            group = group.encode()
        elif group is not None and not isinstance(group, bytes):
            raise TypeError(f"a group is bytes or str, not {type(group).__name__}")
        if routing_id is not None and not isinstance(routing_id, int):
            raise TypeError(f"a routing id is an int, not {type(routing_id).__name__}")
        send = partial(self._pattern.send_addressed, routing_id=routing_id, group=group)
        if self._maybe_cancelled():
            await checkpoint_if_cancelled()
        message = [frame]
        if send(message):
            self._calls -= 1
            if not self._calls:
                self._calls = _FAIRNESS_BATCH
                await cancel_shielded_checkpoint()
            return
        if flags & DONTWAIT:
            raise Again()
        await self._wait_to_send(message, send)

    async def _wait_to_send(
        self, message: list[bytes], send: Callable[[list[bytes]], object] | None = None
    ) -> None:
        timeout_ms = self._options[SocketOption.SNDTIMEO]
        if timeout_ms < 0:  # no cancel scope unless asked: it costs on every wait
            await self._park_until_sent(message, send)
            return
        with trio.move_on_after(timeout_ms / 1000):
            await self._park_until_sent(message, send)
            return
        raise Again(msg="SNDTIMEO expired before the message could be queued")

    async def _park_until_sent(
        self, message: list[bytes], send: Callable[[list[bytes]], object] | None
    ) -> None:
        if send is None:
            send = self._pattern.send
        while True:
            await self._send_lot.park()
            self._check_open()
            if send(message):
                return

    async def send_batch(self, messages: Iterable[Iterable[BytesLike]]) -> None:
        """Queue many messages (each a list of frames) in one call, in order; returns when
        all are queued. If cancelled, a prefix of whole messages was queued."""
        given = messages if type(messages) is list else list(messages)
        self._check_open()
        if self._maybe_cancelled():
            await checkpoint_if_cancelled()
        # One Rust call for the whole batch, no Python work per message: framed once as a
        # run when one connection writing frames in clear takes it all, else copied.
        if self._pattern.takes_encoded():
            encoded = encode_batch(given)
            if encoded is not None:
                await self._send_encoded(encoded)
                return
        batch = copy_messages(given)
        if batch is None:  # frames to convert (or to refuse), message by message
            batch = [_as_message(frames) for frames in given]
        await self._send_many(batch)

    async def _send_encoded(self, batch: EncodedBatch) -> None:
        """``send_batch`` of an encoded batch: runs while the pattern takes them, and the
        rest message by message if it stops taking them while this waits for room."""
        pattern = self._pattern
        sent = pattern.send_encoded(batch, 0)
        while sent < len(batch):
            await self._send_lot.park()
            self._check_open()
            if not pattern.takes_encoded():  # the peers changed meanwhile
                await self._send_many(batch.messages(sent))
                return
            sent += pattern.send_encoded(batch, sent)
        await cancel_shielded_checkpoint()

    async def _send_many(self, batch: list[list[bytes]]) -> None:
        """``send_batch`` of copied messages: queued as the pattern's ``send_many`` takes
        them, waiting for room as needed."""
        send_many = self._pattern.send_many
        sent = send_many(batch)
        while sent < len(batch):
            await self._send_lot.park()
            self._check_open()
            sent += send_many(batch[sent:])
        await cancel_shielded_checkpoint()

    # ------------------------------------------------------------------ receiving

    @property
    def rcvmore(self) -> bool:
        """Whether more frames of the message being read by ``recv`` follow."""
        return bool(self._partly_read)

    def _take_frame(self) -> bytes:
        """The next frame of the message being read frame by frame."""
        frames = self._partly_read
        index = self._next_frame
        if index + 1 < len(frames):
            self._next_frame = index + 1
        else:
            self._partly_read = _NO_FRAMES
        return frames[index]

    def _take_rest(self) -> list[bytes]:
        """The frames of the message being read that ``recv`` has not returned yet."""
        frames = self._partly_read
        self._partly_read = _NO_FRAMES
        return frames[self._next_frame :]

    def _start_reading(self, message: list[bytes]) -> None:
        """``recv`` returned the first frame of ``message``: the others follow."""
        self._partly_read = message
        self._next_frame = 1

    @overload
    async def recv(
        self, flags: int = 0, copy: Literal[True] = True, track: bool = False
    ) -> bytes: ...
    @overload
    async def recv(self, flags: int, copy: Literal[False], track: bool = False) -> memoryview: ...
    @overload
    async def recv(
        self, flags: int = 0, *, copy: Literal[False], track: bool = False
    ) -> memoryview: ...
    async def recv(
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> bytes | memoryview:
        """Receive one frame; ``rcvmore`` tells whether more of its message follow.

        ``copy=False`` gives a ``memoryview`` of the received bytes (no copy; zmtrio has
        no ``Frame`` objects), ``track`` is ignored, as pyzmq ignores it on receive.
        """
        if self._partly_read:
            self._check_open()
            if self._maybe_cancelled():
                await checkpoint_if_cancelled()
            frame = self._take_frame()
            return frame if copy else memoryview(frame)
        # hot path, inlined as in ``send``: a message taken with nothing to await when the
        # socket is open in this thread, no yield is due and the task is not (maybe)
        # cancelled; else _recv_message decides.
        if current_thread() is not self._open_in:
            self._check_open()
        task = self._run_context["task"]
        if (
            self._calls
            and not task._cancel_status.effectively_cancelled
            and not task._runner.ki_pending
        ):
            recv = self._pattern.recv  # an attribute read, then a call (see ``send``)
            message = recv()
            if message is None:
                message = await self._recv_message(flags)
            else:
                self._calls -= 1
        else:
            message = await self._recv_message(flags)
        if len(message) > 1:  # no call for one-frame messages
            self._start_reading(message)
        return message[0] if copy else memoryview(message[0])

    @overload
    async def recv_multipart(
        self, flags: int = 0, copy: Literal[True] = True, track: bool = False
    ) -> list[bytes]: ...
    @overload
    async def recv_multipart(
        self, flags: int, copy: Literal[False], track: bool = False
    ) -> list[memoryview]: ...
    @overload
    async def recv_multipart(
        self, flags: int = 0, *, copy: Literal[False], track: bool = False
    ) -> list[memoryview]: ...
    async def recv_multipart(
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> list[bytes] | list[memoryview]:
        """Receive one whole message (the rest of it, if ``recv`` already took frames).

        ``copy=False`` gives ``memoryview``s of the frames, as ``recv``."""
        message: list[bytes] | None
        if self._partly_read:
            self._check_open()
            if self._maybe_cancelled():
                await checkpoint_if_cancelled()
            message = self._take_rest()
        else:
            # hot path, inlined as in ``recv`` (each call saved is a Python frame).
            if current_thread() is not self._open_in:
                self._check_open()
            task = self._run_context["task"]
            if (
                self._calls
                and not task._cancel_status.effectively_cancelled
                and not task._runner.ki_pending
            ):
                recv = self._pattern.recv  # an attribute read, then a call (see ``send``)
                message = recv()
                if message is None:
                    message = await self._recv_message(flags)
                else:
                    self._calls -= 1
            else:
                message = await self._recv_message(flags)
        return message if copy else [memoryview(frame) for frame in message]

    def recv_nowait(self) -> bytes:
        """Receive one frame now or raise ``Again``."""
        if self._partly_read:
            self._check_open()
            return self._take_frame()
        message = self._recv_nowait()
        if len(message) > 1:
            self._start_reading(message)
        return message[0]

    def recv_multipart_nowait(self) -> list[bytes]:
        """Receive one whole message now or raise ``Again``."""
        if self._partly_read:
            self._check_open()
            return self._take_rest()
        return self._recv_nowait()

    async def recv_message(self, flags: int = 0) -> Message:
        """Receive one whole message with the metadata of the connection it came on
        (``msg.metadata["Peer-Address"]``, ``"User-Id"``, ...): see :class:`zmtrio.Message`."""
        frames = await self.recv_multipart(flags)
        return self._pattern.with_metadata(frames)

    def recv_message_nowait(self) -> Message:
        """Receive one whole message with its metadata now, or raise ``Again``."""
        return self._pattern.with_metadata(self.recv_multipart_nowait())

    def _recv_nowait(self) -> list[bytes]:
        if current_thread() is not self._open_in:
            self._check_open()
        message = self._pattern.recv()
        if message is None:
            raise Again()
        return message

    async def _recv_message(self, flags: int) -> list[bytes]:
        """Take a message after the fast attempt found none, or made none (a yield due,
        the task maybe cancelled): raise if cancelled (nothing taken), then take one and
        yield, or wait for one without yielding first (a request/reply loop reads its
        connection in place only if it does not yield; ``DONTWAIT``: raise ``Again``)."""
        if self._maybe_cancelled():
            await checkpoint_if_cancelled()
        message = self._pattern.recv()
        if message is not None:
            self._calls = _FAIRNESS_BATCH
            await cancel_shielded_checkpoint()
            return message
        if flags & DONTWAIT:
            raise Again()
        self._calls = _FAIRNESS_BATCH
        return await self._wait_to_recv()

    async def _wait_to_recv(self) -> list[bytes]:
        timeout_ms = self._options[SocketOption.RCVTIMEO]
        if timeout_ms < 0:  # no cancel scope unless asked: it costs on every wait
            return await self._park_until_received()
        with trio.move_on_after(timeout_ms / 1000):
            return await self._park_until_received()
        raise Again(msg="RCVTIMEO expired before a message arrived")

    async def _park_until_received(self) -> list[bytes]:
        pattern = self._pattern
        direct_peer = pattern.direct_peer
        leases = self._leases
        # The connection asked to let this call read in place (it holds off until we return).
        asked: ReaderLease | None = None
        try:
            while True:
                # A request/reply socket waiting on one connection reads it in place,
                # saving the hand-over from the connection's reader task (_read_in_place).
                peer = direct_peer()
                lease = None if peer is None else leases.get(peer)
                if asked is not None and asked is not lease:
                    # Waiting for another connection now (a REP gained a client, a
                    # relaxed REQ sent elsewhere): the one asked before may read again.
                    asked.release_reader()
                    asked = None
                read = False
                if lease is not None:
                    if self._reading is not None:
                        # Another task of this socket reads in place (a relaxed REQ with
                        # several receiving tasks): this one is served by the reader task.
                        lease.release_reader()
                    else:
                        self._reading = lease
                        self._reading_peer = peer
                        try:
                            read = await lease.read_for_receiver(self._options[_BUSY_POLL])
                        finally:
                            if self._reading is lease:
                                self._reading = None
                                self._reading_peer = None
                if not read:
                    asked = lease
                    await self._recv_lot.park()
                self._check_open()
                # Looked up after each wait: a SUB rebinds it when its subscriptions change,
                # a PULL as peers come and go.
                message = pattern.recv()
                if message is not None:
                    return message
        finally:
            if asked is not None:
                asked.release_reader()

    async def recv_batch(self, max_messages: int) -> list[list[bytes]]:
        """Wait for at least one message, then return every queued one up to
        ``max_messages``. Cancelled while waiting, it consumed nothing."""
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self._check_open()
        # The schedule point comes before anything is taken: cancelled there, nothing was;
        # and the reader tasks run (decoding more) while no batch is held, as a garbage
        # collection their new messages start would walk every message of it.
        await checkpoint()
        self._check_open()
        recv_many = self._pattern.recv_many
        if self._partly_read:
            batch = [self._take_rest()]
            batch.extend(recv_many(max_messages - 1))
        else:
            batch = recv_many(max_messages)  # a new list: the patterns' answer is ours
        if batch:
            return batch
        # Through the single-message path, so a pattern that may not receive now (REQ/REP
        # out of turn) raises instead of waiting.
        batch.append(await self._recv_message(0))
        batch.extend(self._pattern.recv_many(max_messages - 1))  # may be rebound meanwhile
        return batch

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        return self

    async def __anext__(self) -> list[bytes]:
        try:
            return await self.recv_multipart()
        except trio.ClosedResourceError:
            raise StopAsyncIteration from None

    # ------------------------------------------------------------------ polling

    def _events(self) -> int:
        events = 0
        if self._partly_read or self._pattern.has_message():
            events |= POLLIN
        if self._pattern.writable():
            events |= POLLOUT
        return events

    async def poll(self, flags: int = POLLIN, timeout: float | None = None) -> int:
        """Wait until the socket is readable (``POLLIN``) or writable (``POLLOUT``), as
        asked in ``flags``; return the events that are ready (0 on timeout). ``timeout`` is
        in milliseconds, ``None`` or negative waits forever (as pyzmq)."""
        self._check_open()
        ready = self._events() & flags
        if ready or timeout == 0:
            await checkpoint()
            return ready
        seconds = math.inf if timeout is None or timeout < 0 else timeout / 1000
        with trio.move_on_after(seconds):
            while not ready:
                await self._change_lot.park()
                self._check_open()
                ready = self._events() & flags
        return ready

    # ------------------------------------------------------------------ options

    def _set_option(self, option: int, value: int | bytes) -> None:
        self._check_open()
        spec = OPTIONS_BY_ID.get(option)
        if spec is None:
            raise ZMQError(errno.EINVAL, f"unknown socket option {option!r}")
        value = validate(spec, self.type, value)
        # The pattern acts on options that do something now (SUBSCRIBE) and may refuse one
        # that depends on its state (SUBSCRIBE on an XPUB without XPUB_MANUAL): before storing.
        self._pattern.option_changed(spec.option, value)
        self._options[spec.option] = value
        security_option_set(self._options, spec.option, value)

    def _get_option(self, option: int) -> int | bytes | str:
        self._check_open()
        spec = OPTIONS_BY_ID.get(option)
        if spec is None:
            raise ZMQError(errno.EINVAL, f"unknown socket option {option!r}")
        if not spec.readable:
            raise ZMQError(errno.EINVAL, f"option {spec.option.name} is write-only")
        if option == SocketOption.RCVMORE:
            return int(self.rcvmore)
        if option == SocketOption.EVENTS:
            return self._events()
        if option == SocketOption.LAST_ENDPOINT:
            return self._last_endpoint
        return self._options[spec.option]  # type: ignore[no-any-return]

    @property
    def last_endpoint(self) -> str:
        """The endpoint of the last ``bind`` (resolved) or ``connect``."""
        return self._last_endpoint

    def subscribe(self, topic: bytes | str) -> None:
        """Subscribe to messages starting with ``topic`` (SUB sockets)."""
        self.setsockopt(SocketOption.SUBSCRIBE, topic.encode() if isinstance(topic, str) else topic)

    def unsubscribe(self, topic: bytes | str) -> None:
        """Cancel one subscription to ``topic`` (SUB sockets)."""
        self.setsockopt(
            SocketOption.UNSUBSCRIBE, topic.encode() if isinstance(topic, str) else topic
        )

    def join(self, group: bytes | str) -> None:
        """Join a RADIO group (DISH sockets): at most 255 bytes; ``EINVAL`` if joined
        already, ``ENOTSUP`` on other types."""
        self._check_open()
        join_group(self._pattern, group, join=True)

    def leave(self, group: bytes | str) -> None:
        """Leave a group joined before (DISH sockets); ``EINVAL`` if it was not joined."""
        self._check_open()
        join_group(self._pattern, group, join=False)

    async def connect_peer(self, endpoint: str) -> int:
        """Connect a PEER socket to ``endpoint`` and return the routing id its peer has
        from now on (``send(data, routing_id=...)``), as libzmq's ``zmq_connect_peer``."""
        self._check_open()
        if not isinstance(self._pattern, PeerPattern):
            raise ZMQError(ENOTSUP, "connect_peer is for PEER sockets")
        if self._options[SocketOption.IMMEDIATE]:
            raise ZMQError(errno.EFAULT, "connect_peer does not work with IMMEDIATE")
        await self.connect(endpoint)
        return self._pattern.last_attached_id()

    # ------------------------------------------------------------------ observing

    def statistics(self) -> SocketStatistics:
        """Peers and queue lengths right now (queues of live connections)."""
        return SocketStatistics(
            peers=len(self._attached),
            queued_outbound=sum(len(peer.out.queue) for peer in self._peers),
            queued_inbound=sum(len(peer.inp.queue) for peer in self._peers)
            + bool(self._partly_read),
        )

    async def ask_zap(self, request: list[bytes]) -> list[bytes] | None:
        """Carry a ZAP request of one of this socket's handshakes to the handler bound in
        the context, as libzmq's session does (``HostSocket``); None if none is bound."""
        context = self._context
        if not context._inproc.is_bound(_ZAP_NAME):
            return None
        client = context.socket(SocketType.DEALER)
        try:
            client.linger = 0
            await client.connect("inproc://" + _ZAP_NAME)
            await client.send_multipart([b"", *request])
            return await client.recv_multipart()
        finally:
            client.close()

    def monitor(self, events: int = EVENT_ALL) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Watch this socket's connection events (``zmtrio.Event``) while the block runs::

            async with sock.monitor() as events:
                async for event in events:
                    print(event.event, event.value, event.endpoint)

        ``events`` is a mask of ``zmtrio.EventType`` flags. The iteration ends after
        ``MONITOR_STOPPED`` when the socket closes.
        """
        self._check_open()
        return self._monitor(events)

    @asynccontextmanager
    async def _monitor(self, events: int) -> AsyncIterator[AsyncIterator[Event]]:
        send_channel, receive_channel = trio.open_memory_channel[Event](math.inf)
        entry = (int(events), send_channel)
        self._monitors.append(entry)
        try:
            async with receive_channel:
                yield receive_channel
        finally:
            if entry in self._monitors:
                self._monitors.remove(entry)
            send_channel.close()

    def emit(self, event: EventType, value: int, endpoint: str) -> None:
        """Post a monitor event to every monitor that asked for its kind."""
        for mask, channel in self._monitors:
            if mask & event:
                try:
                    channel.send_nowait(Event(event, value, endpoint))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
