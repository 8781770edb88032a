"""The per-connection engine: a reader and a writer task driving one Rust ``Connection``.

Lifecycle of one tcp/ipc connection:

1. the transport opens or accepts a socket and hands it to :meth:`Engine.run`;
2. handshake: our greeting goes out at once, then bytes are fed until the peer is READY
   (bounded by ``HANDSHAKE_IVL``);
3. the peer's pipes are attached to the socket's routing (``Socket._connection_ready``);
4. the reader feeds every chunk to the Rust decoder, which queues whole messages on the
   inbound pipe; the writer drains the outbound pipe into one buffer per wake;
   request/reply sockets may borrow the reading (see "Reading in place" below);
5. on EOF, a network error or a protocol error both tasks stop and ``run`` reports whether
   the connection may be retried (libzmq retries disconnects, never protocol errors).

Reading in place (REQ and REP, whose receive waits on one connection at a time): handing
each message from the reader task to the task in ``recv`` costs a second trip through trio's
scheduler, which measured as most of a round trip's cost between two processes. So a task
in ``recv`` that waits for this connection only reads it itself (``read_for_receiver``)
whenever the reader task is not waiting on the socket: it waits for the socket to be
readable and decodes what arrives exactly as the reader would, then hands the connection
back. The reader stays off the socket while a receiving task reads, and after delivering a
message to a task that asked to read (``_lend_wanted``) it waits until that task's ``recv``
returns, so a receiver that calls ``recv`` again without yielding reads in place; at any
other time the reader reads, so commands (PING), disconnects and messages nobody waits for
are seen as they arrive. The receiving task waits on a duplicate of the socket's file
descriptor (made on first use), so it can be interrupted (another peer's message, the socket
closing) without touching the writer's waits on the original.
"""

from __future__ import annotations

import errno
import math
import socket as stdlib_socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, final

import trio

from . import _core
from ._constants import EventType
from ._limits import MEMORY_CEILING
from ._options import SocketOption
from ._peer import Peer, ignore_subscription
from ._transport._socket_io import SocketIO
from ._wakeup import Wakeup

if TYPE_CHECKING:
    from ._socket import Socket

__all__ = ["Engine"]

#: Bytes asked of the kernel per read, and the most a big frame may raise that to.
RECV_SIZE: Final = 65536
MAX_RECV_SIZE: Final = 4 * 1024 * 1024
#: Bytes of messages the writer encodes per wake (at least one whole message).
SEND_SIZE: Final = 256 * 1024

#: Calls that completed without waiting, in a row, after which a loop yields anyway: a
#: peer that floods us must not starve other tasks or delay cancellation.
MAX_UNYIELDED: Final = 16

#: Exceptions that mean "this connection is over", as opposed to bugs.
_CONNECTION_LOST = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def _read_size(conn: _core.Connection) -> int:
    """Bytes to ask of the kernel: RECV_SIZE, or more to finish a big frame at once."""
    wanted = conn.bytes_wanted()
    return RECV_SIZE if wanted <= RECV_SIZE else min(wanted, MAX_RECV_SIZE)


class _Disconnected(Exception):
    """The peer closed the stream or stopped answering heartbeats."""


class _PeerRefused(Exception):
    """The peer sent ERROR, or was refused by our routing (a second PAIR peer)."""


@final
class Engine:
    """Runs one connection for ``socket``, carrying messages through ``peer``'s pipes."""

    __slots__ = (
        "_conn",
        "_direct_sock",
        "_endpoint",
        "_failure",
        "_fd",
        "_heartbeat_running",
        "_io",
        "_last_rx",
        "_lend_back",
        "_lend_held",
        "_lend_wanted",
        "_lending_closed",
        "_lent",
        "_nursery",
        "_peer_ttl",
        "_reader_on_socket",
        "_reader_wake",
        "_socket",
        "_unsent",
        "_writer_wake",
        "peer",
    )

    def __init__(self, socket: Socket, io: SocketIO, endpoint: str, peer: Peer) -> None:
        self._socket = socket
        self._io = io
        self._fd = io.fd
        self._endpoint = endpoint
        #: The peer whose messages this engine carries.
        self.peer = peer
        options = socket._options
        self._conn = _core.Connection(
            int(socket.type),
            options[SocketOption.ROUTING_ID],
            options[SocketOption.MAXMSGSIZE],
            MEMORY_CEILING,
        )
        self._writer_wake = Wakeup()
        self._reader_wake = Wakeup()
        self._failure: BaseException | None = None
        self._nursery: trio.Nursery | None = None
        self._last_rx = trio.current_time()
        self._peer_ttl = math.inf
        self._heartbeat_running = False
        #: Bytes a write-through send could not hand to the kernel; the writer sends them.
        self._unsent: memoryview | None = None
        # Reading in place (see the module docs).
        #: A duplicate of the socket for a receiving task to wait on (made on first use).
        self._direct_sock: stdlib_socket.socket | None = None
        #: Whether a receiving task is reading the connection now.
        self._lent = False
        #: Whether the reader task is waiting on the socket now (nobody else may read).
        self._reader_on_socket = False
        #: A receiving task found the reader on the socket and parked: it wants to read
        #: in place next time.
        self._lend_wanted = False
        #: The reader delivered to such a task and stays off the socket until its
        #: ``recv`` returns (``release_reader``).
        self._lend_held = False
        #: Wakes the reader once the connection is handed back.
        self._lend_back = Wakeup()
        #: No more reading in place: the connection ended, or no descriptor was left to
        #: duplicate.
        self._lending_closed = False

    async def run(self) -> bool:
        """Drive the connection until it ends; True if it may be retried."""
        socket = self._socket
        peer = self.peer
        if socket._pattern.write_through:
            peer.out.on_readable = self._write_through
        else:
            peer.out.on_readable = self._writer_wake.wake
        peer.inp.on_writable = self._reader_wake.wake
        attached = False
        try:
            await self._handshake()
            peer.routing_id = self._conn.peer_routing_id
            peer.send_subscription = self._send_subscription
            if not socket._connection_ready(peer):
                raise _PeerRefused("the socket takes no more peers")
            attached = True
            socket._emit(EventType.HANDSHAKE_SUCCEEDED, 0, self._endpoint)
            await self._serve()
            retry = True
        except _core.ProtocolError as exc:
            if not attached:
                code = exc.args[1] if len(exc.args) > 1 else 0
                socket._emit(EventType.HANDSHAKE_FAILED_PROTOCOL, code, self._endpoint)
            retry = False  # libzmq never retries a peer that broke the protocol
        except _PeerRefused:
            retry = False
        except (_Disconnected, *_CONNECTION_LOST):
            retry = True
        finally:
            self._end_lending()
            peer.out.detach_consumer()
            peer.inp.detach_producer()
            peer.send_subscription = ignore_subscription
            socket._connection_lost(peer)
            self._io.close()
        socket._emit(EventType.DISCONNECTED, self._fd, self._endpoint)
        return retry

    async def _handshake(self) -> None:
        """Exchange greetings and READY; messages that follow READY are already queued."""
        timeout_ms = self._socket._options[SocketOption.HANDSHAKE_IVL]
        with trio.move_on_after(timeout_ms / 1000 if timeout_ms > 0 else math.inf) as scope:
            conn = self._conn
            queue = self.peer.inp.queue
            try:
                await self._flush()
                while not conn.ready:
                    data, _ = await self._io.receive_some(RECV_SIZE)
                    if not data:
                        raise ConnectionResetError(errno.ECONNRESET, "closed in the handshake")
                    events = conn.feed(data, queue)
                    await self._flush()
                    if events is not None:
                        self._handle_events(events)
            except OSError as exc:
                # libzmq reports a handshake cut short before the disconnect itself.
                self._socket._emit(
                    EventType.HANDSHAKE_FAILED_NO_DETAIL, exc.errno or 0, self._endpoint
                )
                raise
        if scope.cancelled_caught:
            self._socket._emit(
                EventType.HANDSHAKE_FAILED_NO_DETAIL, errno.ETIMEDOUT, self._endpoint
            )
            raise _Disconnected("handshake timed out")

    async def _flush(self) -> None:
        """Write pending protocol output (greeting, handshake commands)."""
        output = self._conn.take_output(None, 0)
        if output is not None:
            await self._io.send_all(output)

    def _handle_events(self, events: list[tuple[Any, ...]]) -> None:
        for event in events:
            kind = event[0]
            if kind == _core.EV_PING:
                value = event[1]
                assert isinstance(value, int)
                if value > 0:
                    self._peer_ttl = value / 10
                    self._start_heartbeat()
                self._writer_wake.wake()
            elif kind == _core.EV_ERROR:
                value = event[1]
                assert isinstance(value, bytes)
                if value in (b"300", b"400", b"500"):
                    self._socket._emit(EventType.HANDSHAKE_FAILED_AUTH, int(value), self._endpoint)
                raise _PeerRefused(value.decode("ascii", "replace"))
            elif kind in (_core.EV_SUBSCRIBE, _core.EV_CANCEL):
                # Only publishing patterns act on them (libzmq ignores them elsewhere).
                self._socket._pattern.subscription(self.peer, event[1], kind == _core.EV_SUBSCRIBE)

    async def _serve(self) -> None:
        """Run reader, writer (and heartbeats) until one of them ends the connection."""
        options = self._socket._options
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self._socket._pattern.write_through:
                self.peer.engine = self
            nursery.start_soon(self._guard, self._write_loop)
            if options[SocketOption.HEARTBEAT_IVL] > 0 or self._peer_ttl < math.inf:
                self._start_heartbeat()
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

    def _start_heartbeat(self) -> None:
        """Start the heartbeat task once the connection is served (idempotent)."""
        if self._nursery is not None and not self._heartbeat_running:
            self._heartbeat_running = True
            # Reads stamp _last_rx only while heartbeats run: start the clock now.
            self._last_rx = trio.current_time()
            self._nursery.start_soon(self._guard, self._heartbeat_loop)

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

    async def read_for_receiver(self) -> bool:
        """For a task in ``recv`` that waits for this connection only: wait until bytes
        arrive and decode them as the reader task would. True once something may have
        changed (the caller looks for a message again); False if it cannot read now (the
        reader task is on the socket, or another task reads): the caller parks, and if
        the reader was on the socket it stays off it after its next delivery, until the
        caller's ``recv`` returns (``release_reader``)."""
        socket = self._socket
        if socket._direct_reader is not None:
            # Another task of this socket reads in place (a relaxed REQ with several
            # receiving tasks): this one is served by the reader task.
            self.release_reader()
            return False
        if self._lending_closed:
            # Nobody reads in place: the reader must not hold off for this recv either.
            self.release_reader()
            return False
        if self._reader_on_socket:
            self._lend_wanted = True
            return False
        direct_sock = self._direct_sock
        if direct_sock is None:
            try:
                direct_sock = self._direct_sock = self._io.sock.dup()
            except OSError:  # out of file descriptors: receive through the reader only
                self._lending_closed = True
                self.release_reader()  # it may hold off for this very recv
                return False
        self._lent = True
        socket._direct_reader = self
        try:
            await trio.lowlevel.wait_readable(direct_sock)
        except trio.ClosedResourceError:
            return True  # interrupted: another peer's message, or the socket is closing
        finally:
            if socket._direct_reader is self:
                socket._direct_reader = None
            self._lent = False
            self._lend_back.wake()
        # Nothing yields from here on: the reader cannot read in between.
        if self._lending_closed:
            return True
        try:
            data = self._io.sock.recv(_read_size(self._conn))
        except BlockingIOError:
            return True
        except OSError as exc:
            self._stop(exc)
            return True
        if not data:
            self._stop(_Disconnected("the peer closed the connection"))
            return True
        try:
            self._absorb(data)
        except (_core.ProtocolError, _PeerRefused) as exc:
            self._stop(exc)
        return True

    def release_reader(self) -> None:
        """A ``recv`` no longer needs the reader held off the socket (it returned, waits
        for another connection now, or cannot read in place): the reader may read again."""
        self._lend_wanted = False
        if self._lend_held:
            self._lend_held = False
            self._lend_back.wake()

    def interrupt_receiver(self) -> None:
        """Wake a task waiting in ``read_for_receiver`` (it then looks again)."""
        if self._lent and self._direct_sock is not None:
            trio.lowlevel.notify_closing(self._direct_sock)

    def _end_lending(self) -> None:
        """The connection is over: no receiving task may wait on it any more."""
        self._lending_closed = True
        if self.peer.engine is self:
            self.peer.engine = None
        direct_sock = self._direct_sock
        if direct_sock is not None:
            self._direct_sock = None
            trio.lowlevel.notify_closing(direct_sock)
            direct_sock.close()

    def _absorb(self, data: bytes) -> bool:
        """Decode received bytes: whole messages onto the inbound pipe (waking its
        consumer), commands acted on; True if messages were delivered. Messages decoded
        before a fault in the same bytes are delivered too."""
        if self._heartbeat_running:
            self._last_rx = trio.current_time()
        inp = self.peer.inp
        queue = inp.queue
        had = len(queue)
        try:
            events = self._conn.feed(data, queue)
            if events is not None:
                self._handle_events(events)
        finally:
            if not had and len(queue):
                inp.on_readable()
        return len(queue) > had

    async def _read_loop(self) -> None:
        # hot path
        conn = self._conn
        inp = self.peer.inp
        queue = inp.queue
        receive_some = self._io.receive_some
        wait_for_room = self._reader_wake.wait
        absorb = self._absorb
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
                elif self._lent or self._lend_held:
                    # Off the socket while a receiving task reads it.
                    await self._lend_back.wait()
                else:
                    break
            # No yield from the checks above to the read: reader and receiving task never
            # wait on the socket together.
            self._reader_on_socket = True
            try:
                data, waited = await receive_some(_read_size(conn))
            finally:
                self._reader_on_socket = False
            unyielded = 0 if waited else unyielded + 1
            if not data:
                raise _Disconnected("the peer closed the connection")
            if absorb(data) and self._lend_wanted:
                # A receiving task waits for this delivery: stay off the socket until its
                # recv returns, so that its next recv reads in place.
                self._lend_wanted = False
                self._lend_held = True

    async def _write_loop(self) -> None:
        # hot path
        conn = self._conn
        out = self.peer.out
        queue = out.queue
        send_all = self._io.send_all
        wait_for_messages = self._writer_wake.wait
        peer = self.peer
        unyielded = 0
        while True:
            if unyielded >= MAX_UNYIELDED:
                unyielded = 0
                await trio.lowlevel.checkpoint()
            output: bytes | memoryview | None = self._unsent
            if output is not None:
                self._unsent = None
            else:
                output = conn.take_output(queue, SEND_SIZE)
            if output is None:
                if conn.closed:
                    raise _PeerRefused("connection closed by protocol")
                unyielded = 0
                await wait_for_messages()
                continue
            if out.writer_blocked:
                out.consumed()
            peer.flushing = True
            try:
                unyielded = unyielded + 1 if await send_all(output) else 0
            finally:
                peer.flushing = False

    async def _heartbeat_loop(self) -> None:
        """libzmq heartbeats: PING every HEARTBEAT_IVL; drop the peer if nothing arrives
        within HEARTBEAT_TIMEOUT of a PING, or within the TTL the peer's PINGs announce."""
        options = self._socket._options
        interval_ms = options[SocketOption.HEARTBEAT_IVL]
        interval = interval_ms / 1000 if interval_ms > 0 else math.inf
        timeout_ms = options[SocketOption.HEARTBEAT_TIMEOUT]
        timeout = timeout_ms / 1000 if timeout_ms >= 0 else interval
        ttl_deciseconds = options[SocketOption.HEARTBEAT_TTL] // 100
        next_ping = trio.current_time() + interval
        ping_sent_at = -math.inf
        while True:
            awaiting_pong = self._last_rx < ping_sent_at
            deadline = min(
                next_ping,
                ping_sent_at + timeout if awaiting_pong else math.inf,
                self._last_rx + self._peer_ttl,
            )
            await trio.sleep_until(deadline)
            now = trio.current_time()
            if self._last_rx < ping_sent_at and now >= ping_sent_at + timeout:
                raise _Disconnected("no traffic within HEARTBEAT_TIMEOUT of a PING")
            if now >= self._last_rx + self._peer_ttl:
                raise _Disconnected("no traffic within the peer's heartbeat TTL")
            if now >= next_ping:
                self._conn.send_ping(ttl_deciseconds)
                self._writer_wake.wake()
                if self._last_rx >= ping_sent_at:
                    ping_sent_at = now
                next_ping = now + interval
