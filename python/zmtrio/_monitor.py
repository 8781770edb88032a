"""Monitor events, as ``Socket.monitor()`` yields them."""

from __future__ import annotations

from dataclasses import dataclass

from ._constants import EventType

__all__ = ["Event"]


@dataclass(frozen=True, slots=True)
class Event:
    """One socket event: what happened, libzmq's value for it, and the endpoint.

    ``value`` is what libzmq reports: a file descriptor (CONNECTED, ACCEPTED, LISTENING,
    DISCONNECTED), an errno (``*_FAILED``, CONNECT_DELAYED), the next retry in ms
    (CONNECT_RETRIED), a ZMTP protocol error code (HANDSHAKE_FAILED_PROTOCOL) or a ZAP
    status (HANDSHAKE_FAILED_AUTH).
    """

    event: EventType
    value: int
    endpoint: str
