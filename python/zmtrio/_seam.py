"""The seam between a socket and the connections that serve it, as ``typing.Protocol``\\s.

Engines (``_engine``) and transports (``_transport``) see their socket only as a
:class:`HostSocket`; a socket sees a connection whose reading it may borrow only as a
:class:`ReaderLease`. ``Socket`` implements the first, ``InPlaceReader``
(``_read_in_place``) the second. Nothing here imports a module above ``_peer``, so the
layers above may all import this one without forming an import cycle (see the layer
picture in the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ._constants import EventType, SocketType
from ._peer import Peer

__all__ = ["HostSocket", "ReaderLease"]


class ReaderLease(Protocol):
    """What a socket may ask of a connection its receiving task can read in place
    (request/reply sockets, whose receive waits on one connection at a time)."""

    async def read_for_receiver(self, busy_poll_us: int) -> bool:
        """Wait until bytes arrive (trying to read for ``busy_poll_us`` microseconds first)
        and decode them as the connection's reader would. True once something may have
        changed (look for a message again); False if the receiving task cannot read now
        and must park until woken."""
        ...

    def release_reader(self) -> None:
        """The receive that asked to read no longer needs the reader held off."""
        ...

    def interrupt_receiver(self) -> None:
        """Wake the task waiting in :meth:`read_for_receiver` (it then looks again)."""
        ...


class HostSocket(Protocol):
    """What an engine or a transport may ask of the socket it serves."""

    @property
    def type(self) -> SocketType:
        """The socket's type."""
        ...

    @property
    def closed(self) -> bool:
        """Whether the socket was closed."""
        ...

    @property
    def options(self) -> Mapping[int, Any]:
        """The socket's live option values, by libzmq option number."""
        ...

    @property
    def write_through(self) -> bool:
        """Whether a send may write to an idle connection from the sending task."""
        ...

    def accepts_peer_type(self, socket_type: int) -> bool:
        """Whether a peer of ``socket_type`` may talk to this socket."""
        ...

    def new_peer(self, endpoint: str) -> Peer:
        """A peer with fresh pipes, wired to this socket's wakeups (not yet routed)."""
        ...

    def adopt_peer(self, peer: Peer) -> None:
        """Wire an existing peer's pipes (the other half of an inproc link) to this
        socket's wakeups."""
        ...

    def connection_ready(self, peer: Peer, lease: ReaderLease | None) -> bool:
        """A handshake (or inproc join) finished: route through ``peer``, whose receiving
        side ``lease`` may lend. False if the connection must be dropped."""
        ...

    def connection_lost(self, peer: Peer) -> None:
        """``peer``'s connection ended."""
        ...

    def endpoint_ended(self, peer: Peer) -> None:
        """A connect endpoint gave up: drop its peer as ``disconnect`` would."""
        ...

    def subscription(self, peer: Peer, topic: bytes, subscribe: bool) -> None:
        """``peer`` sent a SUBSCRIBE (``subscribe``) or CANCEL command for ``topic``."""
        ...

    def emit(self, event: EventType, value: int, endpoint: str) -> None:
        """Post a monitor event."""
        ...

    async def ask_zap(self, request: list[bytes]) -> list[bytes] | None:
        """Send a ZAP request to the handler bound at ``inproc://zeromq.zap.01`` in this
        socket's context; its reply, delimiter frame first (None: no handler is bound)."""
        ...
