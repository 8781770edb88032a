"""The Malamute client: one DEALER to a broker, commands answered by OK/ERROR, deliveries
in a queue, heartbeats, and re-OPEN plus replay after the broker restarts.

As ``mlm_client`` does: once connected, the client sends CONNECTION PING every second and
counts the broker gone after four seconds without hearing from it (commands then fail at
once). A broker that answers ERROR 500 no longer knows the client (it restarted, or expired
it): the client sends CONNECTION OPEN again with its address, then replays, in order, the
STREAM WRITE, STREAM READ, STREAM CANCEL and SERVICE OFFER commands that succeeded, so its
producer, consumer and worker roles carry over to the new broker.
"""

from __future__ import annotations

import errno
import math
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Final, final

import trio

from .._constants import DEALER
from .._context import Context
from .._errors import Again, ZMQError
from .._socket import Socket
from ._codec import Command, MalformedMessage, Message, Status, decode, encode
from ._lifecycle import StackManaged
from ._pattern import is_valid_pattern

__all__ = ["Client", "Delivery", "MalamuteError"]

#: Seconds between the client's CONNECTION PINGs.
HEARTBEAT: Final = 1.0
#: Seconds of silence after which the broker counts as gone.
EXPIRY: Final = 4.0

_DELIVERIES: Final = {Command.STREAM_DELIVER, Command.MAILBOX_DELIVER, Command.SERVICE_DELIVER}


class MalamuteError(Exception):
    """A command the broker refused (``status`` is its code: 300, 500, ...) or that got no
    answer in time (``status`` -1, as ``mlm_client`` reports it)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}" if reason else str(status))
        self.status = status
        self.reason = reason


@final
@dataclass(frozen=True, slots=True)
class Delivery:
    """A message the broker delivered: ``command`` is ``"STREAM DELIVER"``, ``"MAILBOX
    DELIVER"`` or ``"SERVICE DELIVER"``; ``address`` is the stream, the mailbox or the
    service; ``tracker`` is empty for stream messages."""

    command: str
    sender: str
    address: str
    subject: str
    tracker: str
    content: list[bytes]


class _Waiter:
    """The reply slot of the one command in flight."""

    __slots__ = ("done", "reply", "skip_errors")

    def __init__(self, skip_errors: bool) -> None:
        self.skip_errors = skip_errors
        self.reply: Message | None = None
        self.done = trio.Event()


@final
class Client(StackManaged):
    """A Malamute client; use it as an async context manager::

    async with zmtrio.malamute.Client(ctx) as client:
        await client.connect("tcp://127.0.0.1:9999", "reader")
        await client.set_consumer("weather", "temp.*")
        async for delivery in client:
            print(delivery.subject, delivery.content)
    """

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._dealer: Socket | None = None
        self._nursery: trio.Nursery | None = None
        self._address = ""
        self._connect_timeout = math.inf
        self._connected = False
        self._opened = False
        self._reopening = False
        self._last_heard = 0.0
        self._lock = trio.Lock()
        self._waiter: _Waiter | None = None
        self._replays: list[Message] = []
        self._deliver, self._deliveries = trio.open_memory_channel[Delivery](math.inf)

    # ------------------------------------------------------------------ lifecycle

    async def _enter(self, stack: AsyncExitStack) -> None:
        self._nursery = await stack.enter_async_context(trio.open_nursery())
        self._dealer = self._ctx.socket(DEALER)
        stack.callback(self._dealer.close, 0)
        stack.callback(self._nursery.cancel_scope.cancel)
        stack.push_async_callback(self._say_goodbye)
        self._nursery.start_soon(self._read)

    async def _say_goodbye(self) -> None:
        # CONNECTION CLOSE, briefly awaited: its OK also means everything sent before it
        # reached the broker, so closing without linger loses nothing.
        if self._connected:
            with trio.move_on_after(1):
                try:
                    await self._request(Message(Command.CONNECTION_CLOSE), 1)
                except MalamuteError:
                    pass
        self._connected = False

    @property
    def connected(self) -> bool:
        """Whether the broker answered within the last four seconds."""
        return self._connected

    @property
    def address(self) -> str:
        """The address given to :meth:`connect` ("" for an anonymous client)."""
        return self._address

    def _socket(self) -> Socket:
        if self._dealer is None:
            raise RuntimeError("use the Client as an async context manager")
        return self._dealer

    # ------------------------------------------------------------------ commands

    def set_plain_auth(self, username: str, password: str) -> None:
        """Log in with PLAIN as ``username`` and ``password`` at the next :meth:`connect`
        (``mlm_client_set_plain_auth``). A broker that refuses them sends nothing back, so
        that connect raises :class:`MalamuteError` with status -1 when its timeout ends."""
        if self._opened:
            raise ZMQError(errno.EISCONN, "the client is already connected")
        dealer = self._socket()
        dealer.plain_username = username.encode()
        dealer.plain_password = password.encode()

    async def connect(self, endpoint: str, address: str = "", timeout: int = 5_000) -> None:
        """Connect to the broker at ``endpoint`` and open a session as ``address`` (its
        mailbox; "" for none). Waits ``timeout`` ms for the broker's OK (0: forever), then
        raises :class:`MalamuteError` with status -1."""
        dealer = self._socket()
        if self._opened:
            raise ZMQError(errno.EISCONN, "the client is already connected")
        self._address = address
        self._connect_timeout = timeout / 1000 if timeout > 0 else math.inf
        assert self._nursery is not None
        await dealer.connect(endpoint)
        try:
            reply = await self._request(
                Message(Command.CONNECTION_OPEN, address=address), self._connect_timeout
            )
            if reply.command is Command.ERROR:
                raise MalamuteError(reply.status_code, reply.status_reason)
        except BaseException:
            # Drop the endpoint and the OPEN still queued for it: a later connect starts clean.
            with trio.CancelScope(shield=True):
                await dealer.disconnect(endpoint)
            raise
        self._opened = self._connected = True
        self._nursery.start_soon(self._heartbeat)

    async def set_producer(self, stream: str) -> None:
        """Publish to ``stream`` from now on (:meth:`send`)."""
        await self._configure(Message(Command.STREAM_WRITE, stream=stream))

    async def set_consumer(self, stream: str, pattern: str) -> None:
        """Receive the messages of ``stream`` whose subject matches ``pattern`` (a regular
        expression searched for in the subject; "" matches all). Raises ``ZMQError(EINVAL)``
        for a pattern that does not compile, as ``mlm_client`` refuses it."""
        if not is_valid_pattern(pattern):
            raise ZMQError(errno.EINVAL, f"invalid pattern {pattern!r}")
        await self._configure(Message(Command.STREAM_READ, stream=stream, pattern=pattern))

    async def remove_consumer(self, stream: str) -> None:
        """Stop receiving from ``stream``."""
        await self._configure(Message(Command.STREAM_CANCEL, stream=stream))

    async def set_worker(self, service: str, pattern: str) -> None:
        """Offer ``service`` for requests whose subject matches ``pattern``."""
        await self._configure(Message(Command.SERVICE_OFFER, address=service, pattern=pattern))

    async def _configure(self, message: Message) -> None:
        if not self._connected:
            raise MalamuteError(-1, "not connected to a broker")
        reply = await self._request(message, EXPIRY)
        if reply.command is Command.ERROR:
            raise MalamuteError(reply.status_code, reply.status_reason)
        self._replays.append(message)

    async def _request(
        self, message: Message, timeout: float, skip_errors: bool = False
    ) -> Message:
        """Send a command and wait for its OK or ERROR, one command at a time."""
        dealer = self._socket()
        async with self._lock:
            waiter = self._waiter = _Waiter(skip_errors)
            try:
                await dealer.send_multipart(encode(message))
                with trio.move_on_after(timeout):
                    await waiter.done.wait()
            finally:
                self._waiter = None
        if waiter.reply is None:
            raise MalamuteError(-1, "server is not reachable")
        return waiter.reply

    # ------------------------------------------------------------------ traffic

    async def send(self, subject: str, *frames: bytes) -> None:
        """Publish a message with ``subject`` to the stream of :meth:`set_producer`."""
        message = Message(Command.STREAM_SEND, subject=subject, content=frames)
        await self._socket().send_multipart(encode(message))

    async def sendto(
        self, address: str, subject: str, *frames: bytes, tracker: str = "", timeout: int = 0
    ) -> None:
        """Send mail to the client at ``address``; the broker keeps it while that client is
        away."""
        message = Message(
            Command.MAILBOX_SEND,
            address=address,
            subject=subject,
            tracker=tracker,
            timeout=timeout,
            content=frames,
        )
        await self._socket().send_multipart(encode(message))

    async def sendfor(
        self, service: str, subject: str, *frames: bytes, tracker: str = "", timeout: int = 0
    ) -> None:
        """Send a request to ``service``; the broker queues it until a worker offers a
        pattern its subject matches."""
        message = Message(
            Command.SERVICE_SEND,
            address=service,
            subject=subject,
            tracker=tracker,
            timeout=timeout,
            content=frames,
        )
        await self._socket().send_multipart(encode(message))

    async def recv(self) -> Delivery:
        """The next message the broker delivered."""
        return await self._deliveries.receive()

    def __aiter__(self) -> Client:
        return self

    async def __anext__(self) -> Delivery:
        return await self._deliveries.receive()

    # ------------------------------------------------------------------ background

    async def _read(self) -> None:
        async for frames in self._socket():
            self._last_heard = trio.current_time()
            try:
                message = decode(frames)
            except MalformedMessage:
                continue
            command = message.command
            if command in _DELIVERIES:
                self._deliver.send_nowait(
                    Delivery(
                        command.label,
                        message.sender,
                        message.address,
                        message.subject,
                        message.tracker,
                        list(message.content),
                    )
                )
            elif command is Command.CONNECTION_PONG:
                if self._opened and not self._reopening:
                    self._connected = True
            elif command is Command.OK or command is Command.ERROR:
                waiter = self._waiter
                if (
                    waiter is not None
                    and waiter.reply is None
                    and not (waiter.skip_errors and command is Command.ERROR)
                ):
                    waiter.reply = message
                    waiter.done.set()
                if (
                    command is Command.ERROR
                    and message.status_code == Status.COMMAND_INVALID
                    and self._opened
                    and not self._reopening
                ):
                    self._reopening = True
                    self._connected = False
                    assert self._nursery is not None
                    self._nursery.start_soon(self._reopen)

    async def _reopen(self) -> None:
        try:
            await self._request(
                Message(Command.CONNECTION_OPEN, address=self._address),
                self._connect_timeout,
                skip_errors=True,
            )
            for message in self._replays:
                await self._request(message, EXPIRY)
            self._connected = True
        except MalamuteError:
            pass  # still away: the next PING's ERROR 500 or silence decides again
        finally:
            self._reopening = False

    async def _heartbeat(self) -> None:
        ping = encode(Message(Command.CONNECTION_PING))
        dealer = self._socket()
        while True:
            await trio.sleep(HEARTBEAT)
            try:
                dealer.send_multipart_nowait(ping)
            except Again:
                pass  # the queue to an absent broker is full; a PING later will do
            if trio.current_time() - self._last_heard > EXPIRY:
                self._connected = False
