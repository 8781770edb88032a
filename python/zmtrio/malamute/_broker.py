"""The Malamute broker: one ROUTER, Malamute's per-client state machine, streams, mailboxes
and services (``mlm_server`` behaviour, read from Malamute's source).

Per connection (a routing id), as ``mlm_server.xml`` defines it:

==================  =========================================================================
state               on a message
==================  =========================================================================
before OPEN         CONNECTION OPEN: take the address (expiring a client that held it),
                    OK 200, then hand over the mail waiting for that address.
                    CONNECTION CLOSE: OK, forget the connection. Anything else: ERROR 500.
after OPEN          STREAM WRITE / READ / CANCEL, SERVICE OFFER: OK 200 (an offer then takes
                    the queued requests it matches). STREAM SEND, MAILBOX SEND, SERVICE SEND,
                    CREDIT: no reply. CONNECTION PING: PONG. CONNECTION CLOSE: OK, forget the
                    client. STREAM SEND without STREAM WRITE and CONFIRM: ERROR 300, forget
                    the client. Anything else (a second OPEN, a server-only message):
                    ERROR 500, forget the client.
==================  =========================================================================

A message that is not ``mlm_proto`` is dropped and still counts as activity; a client silent
for ``timeout`` ms is forgotten (0: never). Forgetting a client drops its stream readers and
service offers; its mail keeps arriving in its mailbox.

Patterns (STREAM READ, SERVICE OFFER) follow CZMQ's ``zrex`` (see ``_pattern``). A stream message
goes once to each other client with a matching reader, in the order sent; a service request
goes to the first matching offer, which then moves to the back (round robin), or waits in the
service's queue until an offer matches. Mailbox and service queues may be bounded in bytes of
content (``size_limit``): a message that would exceed the bound is dropped with a warning, as
Malamute's ``mlm_msgq`` does.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, ClassVar, final

import trio

from .._constants import ROUTER
from .._context import Context
from .._socket import Socket
from ..auth import Authenticator
from ._codec import Command, MalformedMessage, Message, Status, decode, encode
from ._lifecycle import StackManaged
from ._pattern import compile_pattern
from ._store import Mail, MailboxStore, MemoryMailboxes, SqliteMailboxes

__all__ = ["Broker", "BrokerStatistics", "QueueLimits"]

_log = logging.getLogger("zmtrio.malamute")


@final
@dataclass(frozen=True, slots=True)
class QueueLimits:
    """Bounds on a mailbox or service queue, in bytes of content (``None``: no bound)."""

    size_limit: int | None = None
    size_warn: int | None = None


class _Bounded:
    """Applies :class:`QueueLimits` to named queues: admit or drop, warn once per crossing."""

    def __init__(self, kind: str, limits: QueueLimits) -> None:
        self._kind = kind
        self._limits = limits
        self._warned: set[str] = set()

    def admit(self, name: str, held: int, extra: int) -> bool:
        limit = self._limits.size_limit
        if limit is not None and held + extra > limit:
            _log.warning("%s %s: queue size limit exceeded; message dropped", self._kind, name)
            return False
        warn = self._limits.size_warn
        if warn is not None and held + extra > warn and name not in self._warned:
            _log.warning("%s %s: queue size soft limit reached", self._kind, name)
            self._warned.add(name)
        return True

    def drained(self, name: str, held: int) -> None:
        warn = self._limits.size_warn
        if warn is not None and held <= warn // 2:
            self._warned.discard(name)


@dataclass(eq=False, slots=True)
class _Connection:
    routing_id: bytes
    deadline: float
    #: ``None`` until CONNECTION OPEN; "" for an anonymous client.
    address: str | None = None
    writer: _Stream | None = None
    reading: set[str] = field(default_factory=set)


@dataclass(eq=False, slots=True)
class _Selector:
    pattern: str
    matches: Callable[[str], object]
    readers: list[_Connection]


@dataclass(eq=False, slots=True)
class _Stream:
    name: str
    selectors: list[_Selector] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class _Offer:
    matches: Callable[[str], object]
    worker: _Connection


@dataclass(eq=False, slots=True)
class _Service:
    name: str
    offers: list[_Offer] = field(default_factory=list)
    queue: deque[Message] = field(default_factory=deque)
    size: int = 0


def _mail_delivery(mail: Mail) -> Message:
    return Message(
        Command.MAILBOX_DELIVER,
        sender=mail.sender,
        address=mail.address,
        subject=mail.subject,
        tracker=mail.tracker,
        content=mail.content,
    )


def _content_size(message: Message) -> int:
    return sum(len(frame) for frame in message.content)


@final
@dataclass(frozen=True, slots=True)
class BrokerStatistics:
    """A snapshot of a broker (:meth:`Broker.statistics`)."""

    #: Connections that sent CONNECTION OPEN (named and anonymous).
    clients: int
    #: The addresses of connected named clients (Malamute's CLIENTLIST).
    addresses: tuple[str, ...]
    #: Stream names (Malamute's STREAMLIST).
    streams: tuple[str, ...]
    #: Mail waiting per absent address.
    mailboxes: dict[str, int]
    #: Requests queued per service (services with no queue too).
    services: dict[str, int]


@final
class Broker(StackManaged):
    """A Malamute broker on a ROUTER bound to each of ``endpoints``.

    ``timeout`` is the client expiry in milliseconds (0: never); ``store`` a SQLite path for
    durable mailboxes (``None``: in memory); ``mailbox_limits`` and ``service_limits`` bound
    each mailbox and service queue; ``plain_passwords`` (user name to password) makes the
    ROUTER a PLAIN server whose clients a :class:`zmtrio.auth.Authenticator` on ``ctx``
    checks, as ``malamute`` with ``mechanism = plain`` (the context must have no other
    Authenticator). Use it as an async context manager, or run
    :meth:`run` in a nursery (``await nursery.start(broker.run)``)::

        async with zmtrio.malamute.Broker(ctx, "tcp://127.0.0.1:*") as broker:
            print(broker.endpoints)
    """

    def __init__(
        self,
        ctx: Context,
        *endpoints: str,
        timeout: int = 60_000,
        store: str | None = None,
        mailbox_limits: QueueLimits = QueueLimits(),
        service_limits: QueueLimits = QueueLimits(),
        plain_passwords: Mapping[str, str] | None = None,
    ) -> None:
        self._ctx = ctx
        self._plain_passwords = plain_passwords
        self._requested = endpoints
        self._timeout = timeout / 1000 if timeout > 0 else math.inf
        self._store_path = store
        self._mailbox_limits = _Bounded("mailbox", mailbox_limits)
        self._service_limits = _Bounded("service", service_limits)
        self._router: Socket | None = None
        self._mailboxes: MailboxStore = MemoryMailboxes()
        self._endpoints: list[str] = []
        self._connections: dict[bytes, _Connection] = {}
        self._clients: dict[str, _Connection] = {}
        self._streams: dict[str, _Stream] = {}
        self._services: dict[str, _Service] = {}

    # ------------------------------------------------------------------ lifecycle

    async def _enter(self, stack: AsyncExitStack) -> None:
        nursery = await stack.enter_async_context(trio.open_nursery())
        stack.callback(nursery.cancel_scope.cancel)
        await nursery.start(self.run)

    async def run(
        self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, then serve until cancelled; ``nursery.start`` returns the endpoints."""
        self._mailboxes = (
            SqliteMailboxes(self._store_path) if self._store_path else MemoryMailboxes()
        )
        router = self._ctx.socket(ROUTER)
        try:
            async with AsyncExitStack() as stack:
                if self._plain_passwords is not None:
                    auth = await stack.enter_async_context(Authenticator(self._ctx))
                    auth.configure_plain("*", self._plain_passwords)
                    router.plain_server = True
                await self._serve(router, task_status)
        finally:
            self._router = None
            router.close(linger=0)
            self._mailboxes.close()

    async def _serve(self, router: Socket, task_status: trio.TaskStatus[list[str]]) -> None:
        router.sndhwm = 0  # as Malamute: an unbounded queue per client
        router.rcvhwm = 0
        self._router = router
        for endpoint in self._requested:
            await self.bind(endpoint)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._expire_clients)
            task_status.started(list(self._endpoints))
            async for frames in router:
                self._handle(frames)

    @property
    def endpoints(self) -> list[str]:
        """The resolved endpoints the broker is bound to."""
        return list(self._endpoints)

    async def bind(self, endpoint: str) -> str:
        """Bind one more endpoint; returns it resolved (``tcp://127.0.0.1:*`` -> a port)."""
        if self._router is None:
            raise RuntimeError("the broker is not running")
        resolved = await self._router.bind(endpoint)
        self._endpoints.append(resolved)
        return resolved

    def statistics(self) -> BrokerStatistics:
        """Clients, streams, mailboxes and service queue depths, now."""
        opened = [c for c in self._connections.values() if c.address is not None]
        return BrokerStatistics(
            clients=len(opened),
            addresses=tuple(self._clients),
            streams=tuple(self._streams),
            mailboxes=self._mailboxes.depths(),
            services={name: len(service.queue) for name, service in self._services.items()},
        )

    # ------------------------------------------------------------------ expiry

    async def _expire_clients(self) -> None:
        while True:
            now = trio.current_time()
            for connection in [c for c in self._connections.values() if c.deadline <= now]:
                _log.info("client %s - expired", connection.address)
                self._forget(connection)
            next_deadline = min(
                (c.deadline for c in self._connections.values()), default=now + self._timeout
            )
            await trio.sleep_until(next_deadline)

    # ------------------------------------------------------------------ messages

    def _send(self, connection: _Connection, message: Message) -> None:
        assert self._router is not None
        self._router.send_multipart_nowait([connection.routing_id, *encode(message)])

    def _status(self, connection: _Connection, command: Command, status: Status) -> None:
        self._send(connection, Message(command, status_code=status))

    def _handle(self, frames: list[bytes]) -> None:
        routing_id = frames[0]
        connection = self._connections.get(routing_id)
        if connection is None:
            connection = _Connection(routing_id, trio.current_time() + self._timeout)
            self._connections[routing_id] = connection
        else:
            connection.deadline = trio.current_time() + self._timeout
        try:
            message = decode(frames[1:])
        except MalformedMessage as error:
            _log.debug("dropped a malformed message: %s", error)
            return
        if connection.address is None:
            self._before_open(connection, message)
        else:
            self._after_open(connection, message)

    def _before_open(self, connection: _Connection, message: Message) -> None:
        command = message.command
        if command is Command.CONNECTION_OPEN:
            self._open(connection, message.address)
        elif command is Command.CONNECTION_CLOSE:
            self._status(connection, Command.OK, Status.SUCCESS)
            self._forget(connection)
        else:
            self._status(connection, Command.ERROR, Status.COMMAND_INVALID)

    def _after_open(self, connection: _Connection, message: Message) -> None:
        handler = self._HANDLERS.get(message.command)
        if handler is None:
            self._status(connection, Command.ERROR, Status.COMMAND_INVALID)
            self._forget(connection)
        else:
            handler(self, connection, message)

    def _open(self, connection: _Connection, address: str) -> None:
        connection.address = address
        if address:
            holder = self._clients.get(address)
            if holder is not None:
                _log.info("client %s - expired by a new connection with its address", address)
                self._forget(holder)
            self._clients[address] = connection
        self._status(connection, Command.OK, Status.SUCCESS)
        if address:
            self._hand_over_mail(connection, address)

    def _hand_over_mail(self, connection: _Connection, address: str) -> None:
        for key, mail in self._mailboxes.waiting(address):
            self._send(connection, _mail_delivery(mail))
            self._mailboxes.remove(address, key)
        self._mailbox_limits.drained(address, 0)

    def _forget(self, connection: _Connection) -> None:
        """Deregister a client: its readers, offers and address go; its mail stays."""
        self._connections.pop(connection.routing_id, None)
        for name in connection.reading:
            self._cancel_reader(self._streams[name], connection)
        for service in self._services.values():
            service.offers = [o for o in service.offers if o.worker is not connection]
        address = connection.address
        if address and self._clients.get(address) is connection:
            del self._clients[address]

    def _stream(self, name: str) -> _Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _Stream(name)
        return stream

    def _service(self, name: str) -> _Service:
        service = self._services.get(name)
        if service is None:
            service = self._services[name] = _Service(name)
        return service

    @staticmethod
    def _cancel_reader(stream: _Stream, connection: _Connection) -> None:
        for selector in stream.selectors:
            if connection in selector.readers:
                selector.readers.remove(connection)
        stream.selectors = [s for s in stream.selectors if s.readers]

    # Handlers after OPEN, one per command (anything else: ERROR 500 and forget).

    def _stream_write(self, connection: _Connection, message: Message) -> None:
        connection.writer = self._stream(message.stream)
        self._status(connection, Command.OK, Status.SUCCESS)

    def _stream_read(self, connection: _Connection, message: Message) -> None:
        stream = self._stream(message.stream)
        for selector in stream.selectors:
            if selector.pattern == message.pattern:
                if connection not in selector.readers:
                    selector.readers.append(connection)
                break
        else:
            stream.selectors.append(
                _Selector(message.pattern, compile_pattern(message.pattern), [connection])
            )
        connection.reading.add(stream.name)
        self._status(connection, Command.OK, Status.SUCCESS)

    def _stream_cancel(self, connection: _Connection, message: Message) -> None:
        stream = self._stream(message.stream)
        self._cancel_reader(stream, connection)
        connection.reading.discard(stream.name)
        self._status(connection, Command.OK, Status.SUCCESS)

    def _stream_send(self, connection: _Connection, message: Message) -> None:
        stream = connection.writer
        if stream is None:
            _log.warning("client %s sent to a stream without STREAM WRITE", connection.address)
            self._status(connection, Command.ERROR, Status.FAILED)
            self._forget(connection)
            return
        subject = message.subject
        readers: dict[_Connection, None] = {}
        for selector in stream.selectors:
            if selector.matches(subject):
                for reader in selector.readers:
                    if reader is not connection:
                        readers[reader] = None
        if readers:
            frames = encode(
                Message(
                    Command.STREAM_DELIVER,
                    address=stream.name,
                    sender=connection.address or "",
                    subject=subject,
                    content=message.content,
                )
            )
            assert self._router is not None
            for reader in readers:
                self._router.send_multipart_nowait([reader.routing_id, *frames])

    def _mailbox_send(self, connection: _Connection, message: Message) -> None:
        mail = Mail(
            sender=connection.address or "",
            address=message.address,
            subject=message.subject,
            tracker=message.tracker,
            timeout=message.timeout,
            content=tuple(message.content),
        )
        target = self._clients.get(mail.address)
        if target is not None:
            self._send(target, _mail_delivery(mail))
        elif self._mailbox_limits.admit(
            mail.address, self._mailboxes.size(mail.address), mail.size
        ):
            self._mailboxes.put(mail)

    def _service_send(self, connection: _Connection, message: Message) -> None:
        service = self._service(message.address)
        request = Message(
            Command.SERVICE_DELIVER,
            sender=connection.address or "",
            address=service.name,
            subject=message.subject,
            tracker=message.tracker,
            content=message.content,
        )
        if not self._dispatch(service, request):
            size = _content_size(request)
            if self._service_limits.admit(service.name, service.size, size):
                service.queue.append(request)
                service.size += size

    def _service_offer(self, connection: _Connection, message: Message) -> None:
        service = self._service(message.address)
        service.offers.append(_Offer(compile_pattern(message.pattern), connection))
        self._status(connection, Command.OK, Status.SUCCESS)
        waiting = list(service.queue)
        service.queue.clear()
        for request in waiting:
            if self._dispatch(service, request):
                service.size -= _content_size(request)
            else:
                service.queue.append(request)
        self._service_limits.drained(service.name, service.size)

    def _dispatch(self, service: _Service, request: Message) -> bool:
        for index, offer in enumerate(service.offers):
            if offer.matches(request.subject):
                self._send(offer.worker, request)
                service.offers.append(service.offers.pop(index))
                return True
        return False

    def _confirm(self, connection: _Connection, message: Message) -> None:
        _log.warning("client %s: message confirmations are not implemented", connection.address)
        self._status(connection, Command.ERROR, Status.FAILED)
        self._forget(connection)

    def _credit(self, connection: _Connection, message: Message) -> None:
        """Malamute accepts CREDIT and ignores it."""

    def _ping(self, connection: _Connection, message: Message) -> None:
        self._send(connection, Message(Command.CONNECTION_PONG))

    def _close(self, connection: _Connection, message: Message) -> None:
        self._status(connection, Command.OK, Status.SUCCESS)
        self._forget(connection)

    _HANDLERS: ClassVar[dict[Command, Callable[[Any, _Connection, Message], None]]] = {
        Command.STREAM_WRITE: _stream_write,
        Command.STREAM_READ: _stream_read,
        Command.STREAM_CANCEL: _stream_cancel,
        Command.STREAM_SEND: _stream_send,
        Command.MAILBOX_SEND: _mailbox_send,
        Command.SERVICE_SEND: _service_send,
        Command.SERVICE_OFFER: _service_offer,
        Command.CONFIRM: _confirm,
        Command.CREDIT: _credit,
        Command.CONNECTION_PING: _ping,
        Command.CONNECTION_CLOSE: _close,
    }
