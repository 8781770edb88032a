"""``Message``: one received message's frames plus what libzmq's ``zmq_msg_gets`` tells.

A connection's metadata is built once, when its handshake finishes
(:func:`connection_metadata`), and shared by every message that connection delivers:
``Socket.recv_message`` wraps the frames with the metadata of the peer they came from.
"""

from __future__ import annotations

import socket as stdlib_socket
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Final, final, overload

__all__ = ["NO_METADATA", "Message", "connection_metadata", "peer_address"]

#: The metadata of a message nothing is known about (inproc peers, as in libzmq).
NO_METADATA: Final[Mapping[str, str]] = MappingProxyType({})

#: libzmq's message property names (``ZMQ_MSG_PROPERTY_*``).
SOCKET_TYPE: Final = "Socket-Type"
ROUTING_ID: Final = "Routing-Id"
PEER_ADDRESS: Final = "Peer-Address"
USER_ID: Final = "User-Id"
#: The READY property that carries the peer's routing id on the wire.
IDENTITY: Final = "Identity"


@final
class Message(Sequence[bytes]):
    """One whole received message: a sequence of its frames as ``bytes``, with the
    metadata of the connection it arrived on.

    Example::

        msg = await sock.recv_message()
        frames = list(msg)                       # or msg[0], len(msg)
        print(msg.metadata["Socket-Type"], msg.metadata.get("User-Id"))

    ``metadata`` maps libzmq's property names to text: ``Socket-Type``, ``Identity`` and
    ``Routing-Id`` (when the peer sent one), ``Peer-Address`` (the peer's IP for tcp,
    ``"localhost:uid:gid:pid"`` for ipc), ``User-Id`` and any properties from the ZAP handler's
    reply, plus the peer's own ``X-`` properties. It is empty for inproc peers, as in libzmq.
    """

    __slots__ = ("_frames", "_group", "_metadata", "_routing_id")

    def __init__(
        self,
        frames: Iterable[bytes],
        metadata: Mapping[str, str] = NO_METADATA,
        *,
        routing_id: int | None = None,
        group: bytes | None = None,
    ) -> None:
        self._frames = list(frames)
        self._metadata = (
            metadata if isinstance(metadata, MappingProxyType) else MappingProxyType(dict(metadata))
        )
        self._routing_id = routing_id
        self._group = group

    @property
    def metadata(self) -> Mapping[str, str]:
        """The connection's properties (read-only), as libzmq's ``zmq_msg_gets`` gives them."""
        return self._metadata

    @property
    def routing_id(self) -> int | None:
        """The sending peer's routing id on CLIENT/SERVER and PEER sockets, else None."""
        return self._routing_id

    @property
    def group(self) -> bytes | None:
        """The group a RADIO sent this to (DISH sockets), else None."""
        return self._group

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        return self._frames[index]

    def __len__(self) -> int:
        return len(self._frames)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._frames)

    def __eq__(self, other: object) -> bool:
        """Equal to another ``Message`` with the same frames and attributes, or to a list of
        the same frames (so ``msg == [b"a", b"b"]`` reads naturally)."""
        if isinstance(other, Message):
            return (
                self._frames == other._frames
                and self._metadata == other._metadata
                and self._routing_id == other._routing_id
                and self._group == other._group
            )
        if isinstance(other, list):
            return self._frames == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence: unhashable

    def __repr__(self) -> str:
        extra = ""
        if self._routing_id is not None:
            extra += f", routing_id={self._routing_id}"
        if self._group is not None:
            extra += f", group={self._group!r}"
        return f"Message({self._frames!r}, metadata={dict(self._metadata)!r}{extra})"


def _text(value: bytes) -> str:
    """A property value as text (libzmq hands out the raw bytes as a C string)."""
    return value.decode("utf-8", "backslashreplace")


def connection_metadata(
    properties: Mapping[str, bytes],
    address: str,
    user_id: bytes | None = None,
    zap_properties: Mapping[str, bytes] | None = None,
) -> Mapping[str, str]:
    """The metadata of every message a connection delivers: the peer's handshake
    properties, then what the ZAP handler said (``user_id`` is None when no handler was
    asked), then the peer's address; as in libzmq each later source wins over the earlier
    ones for a name both have."""
    metadata = {name: _text(value) for name, value in properties.items()}
    identity = metadata.get(IDENTITY)
    if identity:
        metadata[ROUTING_ID] = identity
    if zap_properties:
        metadata.update((name, _text(value)) for name, value in zap_properties.items())
    if user_id is not None:
        metadata[USER_ID] = _text(user_id)
    metadata[PEER_ADDRESS] = address
    return MappingProxyType(metadata)


def peer_address(sock: stdlib_socket.socket) -> str:
    """The peer's address as libzmq reports it in ``Peer-Address`` and ZAP requests: the
    IP as text over tcp, ``"localhost:uid:gid:pid"`` over ipc (libzmq's name lookup of a
    unix socket address gives ``localhost``; the rest comes from ``SO_PEERCRED``)."""
    try:
        if sock.family in (stdlib_socket.AF_INET, stdlib_socket.AF_INET6):
            return str(sock.getpeername()[0])
        if sock.family == stdlib_socket.AF_UNIX and hasattr(stdlib_socket, "SO_PEERCRED"):
            cred = sock.getsockopt(
                stdlib_socket.SOL_SOCKET, stdlib_socket.SO_PEERCRED, struct.calcsize("3i")
            )
            pid, uid, gid = struct.unpack("3i", cred)
            return f"localhost:{uid}:{gid}:{pid}"
    except OSError:
        pass  # the peer is already gone: nothing to report
    return ""
