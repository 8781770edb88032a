"""The per-connection engine: a reader and a writer task driving one Rust ``Connection``.

Lifecycle of one tcp/ipc connection:

1. the transport opens or accepts a socket and hands it to :meth:`Engine.run`;
2. handshake: our greeting goes out at once, then bytes are fed until the peer is READY
   (bounded by ``HANDSHAKE_IVL``);
3. the Rust connection decides every timer (handshake deadline, heartbeat PINGs, heartbeat
   timeout, the peer's TTL) from the time it is given: the engine only sleeps until
   ``next_deadline()`` and calls ``on_timeout(now)`` (the timer task, while a timer runs);
4. the peer's pipes are attached to the socket's routing (``HostSocket.connection_ready``);
5. the reader feeds every chunk to the Rust decoder, which queues whole messages on the
   inbound pipe; once the decoder has read the header of a large frame whose body is still
   to come, the reader receives the rest of that body straight into the frame's final
   ``bytes`` (``recv_into`` the decoder's ``body_view``), no copy after the kernel's, and
   below 128 KiB what follows it in the same read (into the decoder's ``spill``); the
   writer drains the outbound pipe into one buffer per wake, except that large bodies go
   out from the messages' own ``bytes`` beside it (one ``sendmsg``); request/reply sockets
   may borrow the reading (``_read_in_place``);
6. on EOF, a network error or a protocol error both tasks stop and ``run`` reports whether
   the connection may be retried (libzmq retries disconnects, never protocol errors).

The engine sees its socket only through :class:`~._seam.HostSocket`.
"""

from __future__ import annotations

import errno
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar, final

import trio

from . import _core
from ._constants import EventType
from ._limits import MEMORY_CEILING
from ._message import connection_metadata, peer_address
from ._options import SocketOption
from ._peer import Peer, ignore_subscription
from ._read_in_place import Claim, Holder, InPlaceReader
from ._seam import HostSocket
from ._security import connection_security
from ._transport._socket_io import Buffers, SocketIO
from ._wakeup import Wakeup
from ._zap import AuthenticationFailed, Verdict, authenticate

__all__ = ["Engine"]

#: Bytes of messages the writer encodes per wake (at least one whole message).
SEND_SIZE: Final = 256 * 1024

#: Calls that completed without waiting, in a row, after which a loop yields anyway: a
#: peer that floods us must not starve other tasks or delay cancellation.
MAX_UNYIELDED: Final = 16

#: Reading-in-place states the read loop tests (module constants: no class lookups).
_NOBODY: Final = Holder.NOBODY
_READER: Final = Holder.READER
_RECEIVER: Final = Holder.RECEIVER
_HELD: Final = Claim.HELD
_SUBSCRIPTION_EVENTS: Final = (_core.EV_SUBSCRIBE, _core.EV_CANCEL, _core.EV_JOIN, _core.EV_LEAVE)

#: What a decoding step of the connection takes: received bytes, or a count of bytes
#: received into its open body.
_Received = TypeVar("_Received", bytes, int)

#: Exceptions that mean "this connection is over", as opposed to bugs.
_CONNECTION_LOST = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class _Disconnected(Exception):
    """The peer closed the stream or stopped answering heartbeats."""


class _PeerRefused(Exception):
    """The peer sent ERROR, or was refused by our routing (a second PAIR peer)."""


@final
class Engine:
    """Runs one connection for ``socket``, carrying messages through ``peer``'s pipes."""

    __slots__ = (
        "_address",
        "_conn",
        "_endpoint",
        "_events",
        "_failure",
        "_fd",
        "_io",
        "_next_read",
        "_now",
        "_nursery",
        "_reader_wake",
        "_reading",
        "_socket",
        "_timers_running",
        "_unsent",
        "_verdict",
        "_writer_wake",
        "_zap_request",
        "peer",
    )

    def __init__(self, socket: HostSocket, io: SocketIO, endpoint: str, peer: Peer) -> None:
        self._socket = socket
        self._io = io
        self._fd = io.fd
        self._endpoint = endpoint
        #: The peer whose messages this engine carries.
        self.peer = peer
        options = socket.options
        #: The trio clock, read for every chunk received (the heartbeat clock needs it).
        self._now = trio.lowlevel.current_clock().current_time
        self._conn = _core.Connection(
            int(socket.type),
            options[SocketOption.ROUTING_ID],
            options[SocketOption.MAXMSGSIZE],
            MEMORY_CEILING,
            handshake_ivl=options[SocketOption.HANDSHAKE_IVL],
            heartbeat_ivl=options[SocketOption.HEARTBEAT_IVL],
            heartbeat_timeout=options[SocketOption.HEARTBEAT_TIMEOUT],
            heartbeat_ttl=options[SocketOption.HEARTBEAT_TTL],
            now=self._now(),
            **connection_security(options),
        )
        #: The peer's address, as ZAP requests and message metadata give it.
        self._address = peer_address(io.sock)
        #: A ZAP request the handshake raised, waiting to be asked; the handler's verdict.
        self._zap_request: tuple[str, list[bytes]] | None = None
        self._verdict = Verdict()
        self._writer_wake = Wakeup()
        self._reader_wake = Wakeup()
        self._failure: BaseException | None = None
        self._nursery: trio.Nursery | None = None
        self._timers_running = False
        #: What ``feed`` reports besides messages (reused: usually nothing).
        self._events: list[tuple[Any, ...]] = []
        #: Bytes to ask of the kernel next, as the last ``feed`` said (0: receive into the
        #: open body, ``body_view``).
        self._next_read = _core.READ_SIZE
        #: Bytes a write-through send could not hand to the kernel; the writer sends them.
        self._unsent: memoryview | Buffers | None = None
        #: The reading-in-place side of this connection, lent to request/reply sockets.
        self._reading = InPlaceReader(io.sock, self._receive_lent)

    async def run(self) -> bool:
        """Drive the connection until it ends; True if it may be retried."""
        socket = self._socket
        peer = self.peer
        if socket.write_through:
            peer.out.on_readable = self._write_through
        else:
            peer.out.on_readable = self._writer_wake.wake
        peer.inp.on_writable = self._reader_wake.wake
        attached = False
        try:
            await self._handshake()
            peer.routing_id = self._conn.peer_routing_id
            # Fan-out may queue one shared encoding for this peer instead of its frames
            # (known once the handshake has settled the mechanism).
            peer.shares_encoding = self._conn.frames_in_clear
            verdict = self._verdict
            peer.metadata = connection_metadata(
                self._conn.peer_properties, self._address, verdict.user_id, verdict.properties
            )
            peer.send_subscription = self._send_subscription
            lease = self._reading if socket.write_through else None
            if not socket.connection_ready(peer, lease):
                raise _PeerRefused("the socket takes no more peers")
            attached = True
            socket.emit(EventType.HANDSHAKE_SUCCEEDED, 0, self._endpoint)
            await self._serve()
            retry = True
        except _core.ProtocolError as exc:
            if not attached:
                code = exc.args[1] if len(exc.args) > 1 else 0
                socket.emit(EventType.HANDSHAKE_FAILED_PROTOCOL, code, self._endpoint)
            retry = False  # libzmq never retries a peer that broke the protocol
        except (_PeerRefused, AuthenticationFailed):
            retry = False
        except (_Disconnected, *_CONNECTION_LOST):
            retry = True
        finally:
            self._reading.close()
            # A large body half received may be big: free it now, not at the next collection.
            self._conn.discard_unfinished()
            peer.out.detach_consumer()
            peer.inp.detach_producer()
            peer.send_subscription = ignore_subscription
            socket.connection_lost(peer)
            self._io.close()
        socket.emit(EventType.DISCONNECTED, self._fd, self._endpoint)
        return retry

    async def _handshake(self) -> None:
        """Exchange greetings and READY, until the connection's handshake deadline;
        messages that follow READY are already queued. A timer that does not end the
        handshake (a CURVE server's cookie key expiring) lets it go on."""
        conn = self._conn
        while not conn.ready:
            with trio.CancelScope() as scope:
                await self._exchange_handshake(scope)
            if not conn.ready and conn.on_timeout(self._now()) is not None:
                self._socket.emit(
                    EventType.HANDSHAKE_FAILED_NO_DETAIL, errno.ETIMEDOUT, self._endpoint
                )
                raise _Disconnected("handshake timed out")

    async def _exchange_handshake(self, scope: trio.CancelScope) -> None:
        """Run the handshake until the connection's next deadline, which ``scope`` follows
        as each step may move it (a CURVE server's WELCOME starts its cookie key's timer)."""
        conn = self._conn
        queue = self.peer.inp.queue
        events = self._events
        try:
            self._follow_deadline(scope)
            await self._flush()
            while not conn.ready:
                data, _ = await self._io.receive_some(self._next_read)
                if not data:
                    raise ConnectionResetError(errno.ECONNRESET, "closed in the handshake")
                self._next_read = conn.feed(data, queue, events, self._now())
                self._follow_deadline(scope)
                await self._flush()
                if events:
                    self._handle_events(events)
                request = self._zap_request
                if request is not None:
                    self._zap_request = None
                    await self._authenticate(*request)
        except OSError as exc:
            # libzmq reports a handshake cut short before the disconnect itself.
            self._socket.emit(EventType.HANDSHAKE_FAILED_NO_DETAIL, exc.errno or 0, self._endpoint)
            raise

    def _follow_deadline(self, scope: trio.CancelScope) -> None:
        """Let ``scope`` end at the connection's next deadline, as it now stands."""
        deadline = self._conn.next_deadline()
        scope.deadline = math.inf if deadline is None else deadline

    async def _authenticate(self, mechanism: str, credentials: list[bytes]) -> None:
        """Ask ZAP about the peer (``_zap``) and go on with the handshake or refuse it.

        The peer's input is read meanwhile, as libzmq's engine reads on: what arrives before
        the verdict reaches the waiting handshake, which fails on it as libzmq's does (a
        NULL server takes the peer's READY), and a peer that hangs up is seen at once."""
        conn = self._conn
        failures: list[BaseException] = []
        outcome: Verdict | AuthenticationFailed | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_awaiting_zap, failures, nursery.cancel_scope)
            try:
                outcome = await authenticate(
                    self._socket, mechanism, credentials, self._address, self._endpoint
                )
            except AuthenticationFailed as exc:
                outcome = exc
            nursery.cancel_scope.cancel()
        if failures:
            raise failures[0]
        if isinstance(outcome, AuthenticationFailed):
            if outcome.error is not None:
                conn.send_error(outcome.error)
                await self._flush()
            raise outcome
        assert outcome is not None
        self._verdict = outcome
        conn.zap_accepted(self._now())
        await self._flush()

    async def _read_awaiting_zap(
        self, failures: list[BaseException], scope: trio.CancelScope
    ) -> None:
        """Feed the peer's bytes while its ZAP request is pending; the first failure is
        recorded and ends the wait."""
        conn = self._conn
        events = self._events
        try:
            while True:
                data, _ = await self._io.receive_some(self._next_read)
                if not data:
                    raise ConnectionResetError(errno.ECONNRESET, "closed in the handshake")
                self._next_read = conn.feed(data, self.peer.inp.queue, events, self._now())
                if events:
                    self._handle_events(events)
        except (_core.ProtocolError, _PeerRefused, *_CONNECTION_LOST) as exc:
            failures.append(exc)
            scope.cancel()

    async def _flush(self) -> None:
        """Write pending protocol output (greeting, handshake commands)."""
        output = self._conn.take_output(None, 0)
        if output is not None:
            assert isinstance(output, bytes), "protocol output comes in one buffer"
            await self._io.send_all(output)

    def _handle_events(self, events: list[tuple[Any, ...]]) -> None:
        """Act on what ``feed`` reported (and empty the list)."""
        reported = events.copy()
        events.clear()
        for event in reported:
            kind = event[0]
            if kind == _core.EV_PING:
                value = event[1]
                assert isinstance(value, int)
                if value > 0:
                    self._start_timers()  # the connection now runs the peer's TTL
                self._writer_wake.wake()
            elif kind == _core.EV_ERROR:
                value = event[1]
                assert isinstance(value, bytes)
                if value in (b"300", b"400", b"500"):
                    self._socket.emit(EventType.HANDSHAKE_FAILED_AUTH, int(value), self._endpoint)
                raise _PeerRefused(value.decode("ascii", "replace"))
            elif kind == _core.EV_ZAP_REQUEST:
                self._zap_request = (event[1], event[2])
            elif kind in _SUBSCRIPTION_EVENTS:
                # Only publishing patterns act on them (libzmq ignores them elsewhere); a
                # RADIO's are JOIN and LEAVE.
                subscribe = kind in (_core.EV_SUBSCRIBE, _core.EV_JOIN)
                self._socket.subscription(self.peer, event[1], subscribe)

    async def _serve(self) -> None:
        """Run reader, writer (and timers) until one of them ends the connection."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._guard, self._write_loop)
            self._start_timers()
            await self._guard(self._read_loop)
        if self._failure is not None:
            raise self._failure

    def _write_through(self) -> None:
        """A message was queued for an idle connection: write it now, from the sending
        task, saving the trip through the writer task (request/reply patterns only).
        While the handshake runs or the writer is busy, leave it to the writer."""
        if not self._conn.ready or self.peer.flushing or self._unsent is not None:
            self._writer_wake.wake()
            return
        out = self.peer.out
        output = self._conn.take_output(out.queue, SEND_SIZE)
        if output is None:
            return
        if out.writer_blocked:
            out.consumed()
        if isinstance(output, list):  # large bodies apart from the rest: a gathered write
            rest = self._io.send_gathered_now(output)
            if rest:
                self._unsent = rest
                self._writer_wake.wake()
            return
        try:
            sent = self._io.sock.send(output)
        except OSError:  # would block, or the connection broke: the writer finds out
            sent = 0
        if sent < len(output):
            self._unsent = memoryview(output)[sent:]
            self._writer_wake.wake()

    def _send_subscription(self, topic: bytes, subscribe: bool) -> None:
        """Queue a (un)subscription in the form the peer's ZMTP version wants."""
        self._conn.send_subscription(topic, subscribe)
        self._writer_wake.wake()

    def _start_timers(self) -> None:
        """Start the timer task once the connection is served and a timer runs (a
        heartbeat of our own, or the peer's TTL); idempotent."""
        if (
            self._nursery is not None
            and not self._timers_running
            and self._conn.next_deadline() is not None
        ):
            self._timers_running = True
            self._nursery.start_soon(self._guard, self._timer_loop)

    async def _guard(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run one of the loops; the first to fail records why and stops the others."""
        try:
            await loop()
        except (_core.ProtocolError, _Disconnected, _PeerRefused, *_CONNECTION_LOST) as exc:
            self._stop(exc)
            return
        self._stop(None)

    def _stop(self, failure: BaseException | None) -> None:
        """End the connection: record the first failure and stop every loop."""
        if self._failure is None:
            self._failure = failure
        assert self._nursery is not None
        self._nursery.cancel_scope.cancel()

    # ------------------------------------------------------------ reading in place

    def _receive_lent(self) -> bool:
        """For a receiving task reading in place: read and decode as the reader task would;
        a fault or end of stream ends the connection. False if nothing had arrived."""
        conn = self._conn
        sock = self._io.sock
        next_read = self._next_read
        try:
            if next_read:
                data = sock.recv(next_read)
                received = len(data)
            else:  # as the reader task: the rest of the body and the spill in one read
                received = sock.recvmsg_into((conn.body_view(), conn.spill))[0]
        except BlockingIOError:
            return False
        except OSError as exc:
            self._stop(exc)
            return True
        if not received:
            self._stop(_Disconnected("the peer closed the connection"))
            return True
        try:
            if next_read:
                self._absorb(conn.feed, data)
            else:
                self._absorb(conn.body_written, received)
        except (_core.ProtocolError, _PeerRefused) as exc:
            self._stop(exc)
        return True

    def _absorb(
        self,
        decode: Callable[[_Received, _core.Pipe, list[tuple[Any, ...]], float], int],
        received: _Received,
    ) -> bool:
        """Decode what was received (``feed`` with the bytes, or ``body_written`` with the
        count received into the open body): whole messages onto the inbound pipe (waking
        its consumer), commands acted on; True if messages were delivered. Messages
        decoded before a fault in the same bytes are delivered too."""
        inp = self.peer.inp
        queue = inp.queue
        had = len(queue)
        try:
            events = self._events
            self._next_read = decode(received, queue, events, self._now())
            if events:
                self._handle_events(events)
        finally:
            if not had and len(queue):
                inp.on_readable()
        return len(queue) > had

    async def _read_loop(self) -> None:
        # hot path
        inp = self.peer.inp
        queue = inp.queue
        receive_some = self._io.receive_some
        receive_into = self._io.receive_into
        feed = self._conn.feed
        body_view = self._conn.body_view
        body_written = self._conn.body_written
        conn = self._conn
        wait_for_room = self._reader_wake.wait
        absorb = self._absorb
        reading = self._reading
        wait_for_turn = reading.handed_back.wait
        unyielded = 0
        while True:
            if unyielded >= MAX_UNYIELDED:
                unyielded = 0
                await trio.lowlevel.checkpoint()
            while True:
                hwm = queue.hwm
                if hwm and len(queue) >= hwm:
                    inp.writer_blocked = True
                    while inp.writer_blocked:
                        await wait_for_room()
                elif reading.holder is _RECEIVER or reading.claim is _HELD:
                    # Off the socket while a receiving task reads it, or holds it
                    # (reading.reader_must_wait(), inlined).
                    await wait_for_turn()
                else:
                    break
            # No yield from the checks above to the read: reader and receiving task never
            # wait on the socket together.
            next_read = self._next_read
            reading.holder = _READER
            try:
                if next_read:
                    data, waited = await receive_some(next_read)
                else:
                    # The rest of a large body, straight into its frame's bytes, and
                    # what follows it (the next header) into the spill, in one read; the
                    # spill is empty for a body read alone.
                    spill = conn.spill
                    received, waited = await receive_into(body_view, spill)
            finally:
                reading.holder = _NOBODY
            unyielded = 0 if waited else unyielded + 1
            if next_read:
                if not data:
                    raise _Disconnected("the peer closed the connection")
                delivered = absorb(feed, data)
            elif received:
                delivered = absorb(body_written, received)
            else:
                raise _Disconnected("the peer closed the connection")
            if delivered:
                reading.reader_delivered()
                if not (next_read or spill):  # a body received in place, alone
                    await self._let_receiver_take(queue)
                    unyielded = 0

    @staticmethod
    async def _let_receiver_take(queue: _core.Pipe) -> None:
        """After a body received in place, alone (from 128 KiB), was delivered: yield
        until a receiving task that waits has taken it, and so dropped it, before the next
        body is made.

        glibc hands the top of its heap back to the kernel once more than about two bodies
        are free there, and every body made after that faults in fresh pages (measured at
        1 MiB: 157 page faults and ~350 us of system time per message, half the time of a
        message). With one body alive at a time its memory is reused instead. trio runs the
        reader and the task it woke in either order, so one yield is not enough; a second
        one, only while the body is still queued, is (the woken task has run by then). A
        receiver that is not waiting costs these two yields, no more: the reader never
        waits for the application, so RCVHWM alone still bounds what is read ahead."""
        await trio.lowlevel.checkpoint()
        if len(queue):
            await trio.lowlevel.checkpoint()

    async def _write_loop(self) -> None:
        # hot path
        conn = self._conn
        out = self.peer.out
        queue = out.queue
        send_all = self._io.send_all
        send_gathered = self._io.send_gathered
        wait_for_messages = self._writer_wake.wait
        peer = self.peer
        unyielded = 0
        while True:
            if unyielded >= MAX_UNYIELDED:
                unyielded = 0
                await trio.lowlevel.checkpoint()
            output: bytes | memoryview | Buffers | None = self._unsent
            if output is not None:
                self._unsent = None
            else:
                output = conn.take_output(queue, SEND_SIZE)
            if output is None:
                if conn.closed:
                    raise _PeerRefused("connection closed by protocol")
                unyielded = 0
                peer.on_drained()
                await wait_for_messages()
                continue
            if out.writer_blocked:
                out.consumed()
            peer.flushing = True
            try:
                if isinstance(output, list):  # large bodies apart from the rest
                    at_once = await send_gathered(output)
                else:
                    at_once = await send_all(output)
                unyielded = unyielded + 1 if at_once else 0
            finally:
                peer.flushing = False

    async def _timer_loop(self) -> None:
        """Sleep until the connection's next deadline and tell it the time: it queues the
        PINGs that are due and says when the peer is gone (heartbeat timeout, TTL)."""
        conn = self._conn
        while True:
            deadline = conn.next_deadline()
            await trio.sleep_until(math.inf if deadline is None else deadline)
            expired = conn.on_timeout(self._now())
            if expired is not None:
                raise _Disconnected(
                    "no traffic within the peer's heartbeat TTL"
                    if expired == _core.EXPIRED_PEER_TTL
                    else "no traffic within HEARTBEAT_TIMEOUT of a PING"
                )
            self._writer_wake.wake()  # a PING may be queued
