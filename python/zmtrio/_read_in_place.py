"""Reading in place: a task in ``recv`` reads its one connection itself.

Request/reply sockets receive from one connection at a time. Handing each message from the
connection's reader task to the task in ``recv`` costs a second trip through trio's
scheduler, which measured as most of a round trip's cost between two processes. So a task in
``recv`` that waits for this connection only reads it itself (:meth:`InPlaceReader.
read_for_receiver`) whenever the reader task is not waiting on the socket: it waits for the
socket to be readable and decodes what arrives exactly as the reader would, then hands the
connection back. The receiving task waits on a duplicate of the socket's file descriptor
(made on first use), so it can be interrupted (another peer's message, the socket closing)
without touching the writer's waits on the original.

Two small state machines decide who may wait on the socket:

``Holder`` (who waits on the socket now):

=============  ================================  ==========
from           event                             to
=============  ================================  ==========
NOBODY         reader task goes to the socket    READER
READER         reader task got bytes             NOBODY
NOBODY         receiving task borrows it         RECEIVER
RECEIVER       receiving task got bytes or woke  NOBODY
=============  ================================  ==========

``Claim`` (what a receiving task asked of the reader task):

=======  ==================================================  =======
from     event                                               to
=======  ==================================================  =======
NONE     receiver found the reader on the socket, parked     WANTED
WANTED   reader delivered a message                          HELD
WANTED,  the receive returned, waits elsewhere, or cannot    NONE
HELD     read in place (``release_reader``)
any      connection over, or no descriptor to duplicate      OFF
=======  ==================================================  =======

The reader task stays off the socket while the holder is RECEIVER or the claim is HELD, so a
receiver that calls ``recv`` again without yielding reads in place; at any other time the
reader reads, so commands (PING), disconnects and messages nobody waits for are seen as they
arrive.

With ``BUSY_POLL`` (microseconds, opt-in) the receiving task first keeps trying to read for
that long before it parks, giving its core to any other runnable thread between attempts
(``sched_yield``): a reply that comes within the spin is taken without sleeping in
``epoll_wait`` and being woken, at the cost of a core kept busy while it spins. The spin does
not yield to the trio loop's other tasks; every ``SPINS_BETWEEN_YIELDS``-th receive taken by
a spin yields anyway, so they still run.
"""

from __future__ import annotations

import enum
import socket as stdlib_socket
from collections.abc import Callable
from os import sched_yield
from time import perf_counter_ns
from typing import Final, final

import trio

from ._wakeup import Wakeup

__all__ = ["SPINS_BETWEEN_YIELDS", "Claim", "Holder", "InPlaceReader"]


class Holder(enum.Enum):
    """Who waits on the connection's socket now."""

    NOBODY = enum.auto()
    READER = enum.auto()
    RECEIVER = enum.auto()


class Claim(enum.Enum):
    """What a receiving task asked of the connection's reader task."""

    NONE = enum.auto()
    WANTED = enum.auto()
    HELD = enum.auto()
    OFF = enum.auto()


#: Receives taken by a spin in a row (no yield to the trio loop) after which one yields
#: anyway, as the engine's loops do after ``MAX_UNYIELDED`` calls.
SPINS_BETWEEN_YIELDS: Final = 16

_NOBODY: Final = Holder.NOBODY
_READER: Final = Holder.READER
_RECEIVER: Final = Holder.RECEIVER
_WANTED: Final = Claim.WANTED
_HELD: Final = Claim.HELD
_OFF: Final = Claim.OFF


@final
class InPlaceReader:
    """The reading-in-place side of one connection (a :class:`~._seam.ReaderLease`).

    ``receive()`` reads and decodes what arrived as the reader task would (ending the
    connection on a fault or end of stream); it returns False if nothing had arrived.
    """

    __slots__ = (
        "_receive",
        "_sock",
        "_spun",
        "claim",
        "direct_sock",
        "handed_back",
        "holder",
    )

    def __init__(self, sock: stdlib_socket.socket, receive: Callable[[], bool]) -> None:
        self._sock = sock
        self._receive = receive
        #: Receives taken by a spin since this reader last yielded to the trio loop.
        self._spun = 0
        self.holder = _NOBODY
        self.claim = Claim.NONE
        #: A duplicate of the socket for a receiving task to wait on (made on first use).
        self.direct_sock: stdlib_socket.socket | None = None
        #: Wakes the reader task once the socket is handed back (it then re-checks
        #: :meth:`reader_must_wait`).
        self.handed_back = Wakeup()

    # ------------------------------------------------------------ the reader task's side

    def reader_must_wait(self) -> bool:
        """Whether the reader task must stay off the socket now (the engine's read loop
        inlines this test)."""
        return self.holder is _RECEIVER or self.claim is _HELD

    def reader_delivered(self) -> None:
        """The reader task delivered messages: if a receiving task waits for them, stay
        off the socket until its ``recv`` returns, so its next ``recv`` reads in place."""
        if self.claim is _WANTED:
            self.claim = _HELD

    def close(self) -> None:
        """The connection is over: no receiving task may wait on it any more."""
        self._claim_off()
        direct_sock = self.direct_sock
        if direct_sock is not None:
            self.direct_sock = None
            trio.lowlevel.notify_closing(direct_sock)
            direct_sock.close()

    def _claim_off(self) -> None:
        held = self.claim is _HELD
        self.claim = _OFF
        if held:
            self.handed_back.wake()

    # ------------------------------------------------------------ the socket's side

    async def read_for_receiver(self, busy_poll_us: int) -> bool:
        """For a task in ``recv`` that waits for this connection only: wait until bytes
        arrive and decode them as the reader task would, trying to read for
        ``busy_poll_us`` microseconds before waiting (``BUSY_POLL``; 0: wait at once). True
        once something may have changed (the caller looks for a message again); False if it
        cannot read now (the reader task is on the socket, or reading in place is off): the
        caller parks, and if the reader was on the socket it stays off it after its next
        delivery, until the caller's ``recv`` returns (:meth:`release_reader`)."""
        if self.claim is _OFF:
            return False
        if self.holder is _READER:
            self.claim = _WANTED
            return False
        direct_sock = self.direct_sock
        if direct_sock is None:
            try:
                direct_sock = self.direct_sock = self._sock.dup()
            except OSError:  # out of file descriptors: receive through the reader only
                self._claim_off()  # it may hold off for this very recv
                return False
        self.holder = _RECEIVER
        try:
            if busy_poll_us and self._spin(busy_poll_us):
                self._spun += 1
                if self._spun >= SPINS_BETWEEN_YIELDS:
                    self._spun = 0
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return True
            self._spun = 0
            await trio.lowlevel.wait_readable(direct_sock)
        except trio.ClosedResourceError:
            return True  # interrupted: another peer's message, or the socket is closing
        finally:
            self.holder = _NOBODY
            self.handed_back.wake()
        # Nothing yields from here on: the reader cannot read in between.
        if self.direct_sock is None:
            return True  # the connection ended meanwhile (close)
        self._receive()
        return True

    def _spin(self, busy_poll_us: int) -> bool:
        """Try to read until something arrives or ``busy_poll_us`` microseconds have passed,
        without yielding to the trio loop (``BUSY_POLL``); True if something was read (or
        the connection ended)."""
        receive = self._receive
        deadline = perf_counter_ns() + busy_poll_us * 1000
        while not receive():
            if perf_counter_ns() >= deadline:
                return False
            sched_yield()
        return True

    def release_reader(self) -> None:
        """A ``recv`` no longer needs the reader held off the socket (it returned, waits
        for another connection now, or cannot read in place): the reader may read again."""
        claim = self.claim
        if claim is _OFF:
            return
        self.claim = Claim.NONE
        if claim is _HELD:
            self.handed_back.wake()

    def interrupt_receiver(self) -> None:
        """Wake a task waiting in :meth:`read_for_receiver` (it then looks again)."""
        if self.holder is _RECEIVER and self.direct_sock is not None:
            trio.lowlevel.notify_closing(self.direct_sock)
