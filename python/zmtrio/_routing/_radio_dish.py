"""RADIO and DISH (RFC 48), as libzmq's ``radio.cpp`` and ``dish.cpp`` behave.

- RADIO: every message goes to a group (``send(data, group=...)``; no group is the empty
  one). A copy goes to each peer that joined that exact group and to every udp peer (udp
  has no JOIN, so a udp DISH filters for itself), dropped for a peer at its high-water mark
  (with ``XPUB_NODROP`` the send waits until every such peer has room, as libzmq).
  Joins arrive as JOIN/LEAVE commands (tcp, ipc) or as ``0x01``/``0x00``-prefixed
  messages (inproc); a peer may join a group more than once and leaves one join at a time.
- DISH: ``join(group)``/``leave(group)`` (EINVAL for a group joined twice, left without
  being joined, or longer than 255 bytes) are sent to every peer, and again to each new
  connection. What arrives is ``[group, body]``; the DISH delivers the body, tagged with
  its group (``recv_message().group``), only for groups it joined; malformed messages are
  dropped.

Within the socket's pipes a RADIO message is the two frames ``[group, body]``: the form it
takes on a ZMTP connection (group frame flagged MORE) and the parts of a udp datagram.
"""

from __future__ import annotations

import errno
from typing import Any, Final, final

from .._constants import ENOTSUP, GROUP_MAX_LENGTH
from .._errors import ZMQError
from .._message import Message as MessageWithMetadata
from .._options import SocketOption
from .._peer import Peer
from ._fair_queued import FairQueued
from ._pattern import Message, Pattern
from ._single_frame import FilteredQueue, check_single_frame

__all__ = ["Dish", "Radio", "check_group", "join_group"]

_NODROP: Final = int(SocketOption.XPUB_NODROP)
#: The first byte of an inproc (un)subscription message.
_JOIN: Final = 1
_LEAVE: Final = 0


def check_group(group: bytes) -> bytes:
    """``group`` if libzmq would take it; ``ZMQError(EINVAL)`` if it is too long."""
    if len(group) > GROUP_MAX_LENGTH:
        raise ZMQError(errno.EINVAL, f"a group is at most {GROUP_MAX_LENGTH} bytes")
    return group


def join_group(pattern: Pattern, group: bytes | str, *, join: bool) -> None:
    """``Socket.join``/``leave``: DISH sockets only (``ENOTSUP`` elsewhere, as libzmq)."""
    if not isinstance(pattern, Dish):
        raise ZMQError(ENOTSUP, "only DISH sockets join groups")
    if isinstance(group, str):
        group = group.encode()
    if not isinstance(group, bytes | bytearray | memoryview):
        raise TypeError(f"a group is bytes or str, not {type(group).__name__}")
    if join:
        pattern.join(bytes(group))
    else:
        pattern.leave(bytes(group))


def _always() -> bool:
    return True


@final
class Radio(Pattern):
    """Distributes each message to the peers that joined its group, and to udp peers."""

    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        #: Group -> peers that joined it -> how many times.
        self._members: dict[bytes, dict[Peer, int]] = {}
        #: udp peers take every message.
        self._everything: list[Peer] = []
        #: False with XPUB_NODROP: wait for room instead of dropping.
        self._lossy = True
        self.send = self._send
        self.writable = _always

    def _send(self, msg: Message) -> bool:
        check_single_frame(msg)
        return self._distribute([b"", msg[0]])

    def send_addressed(self, msg: Message, routing_id: int | None, group: bytes | None) -> bool:
        if routing_id is not None:
            raise ZMQError(errno.EINVAL, "RADIO sockets route by group, not routing id")
        check_single_frame(msg)
        return self._distribute([b"" if group is None else check_group(group), msg[0]])

    def option_changed(self, option: int, value: int | bytes) -> None:
        if option == _NODROP:
            self._lossy = not value

    def _distribute(self, msg: Message) -> bool:
        """Queue ``msg`` for its group's members and the udp peers; False (wait) if one
        is full and XPUB_NODROP is set, else a full one loses it."""
        members = self._members.get(msg[0])
        peers = [*members, *self._everything] if members else self._everything
        if not self._lossy:
            full = [peer for peer in peers if peer.out.queue.full()]
            if full:
                for peer in full:
                    peer.out.writer_blocked = True
                return False
        for peer in peers:
            out = peer.out
            if out.queue.try_push(msg) == 1:
                out.on_readable()
        return True

    def attach(self, peer: Peer) -> bool:
        if peer.endpoint.startswith("udp://"):
            self._everything.append(peer)
        return True

    def detach(self, peer: Peer) -> None:
        if peer in self._everything:
            self._everything.remove(peer)
        for group in [group for group, peers in self._members.items() if peer in peers]:
            self._leave(peer, group, everything=True)

    def readable(self, peer: Peer) -> None:
        # Only joins and leaves come this way (inproc DISHes); anything else is dropped.
        inp = peer.inp
        queue = inp.queue
        while (msg := queue.pop()) is not None:
            if len(msg) == 1 and msg[0][:1] in (b"\x00", b"\x01"):
                self.subscription(peer, msg[0][1:], msg[0][0] == _JOIN)
        if inp.writer_blocked:
            inp.consumed()

    def subscription(self, peer: Peer, topic: bytes, subscribe: bool) -> None:
        if len(topic) > GROUP_MAX_LENGTH:
            return
        if subscribe:
            peers = self._members.setdefault(topic, {})
            peers[peer] = peers.get(peer, 0) + 1
        else:
            self._leave(peer, topic, everything=False)

    def _leave(self, peer: Peer, group: bytes, *, everything: bool) -> None:
        peers = self._members.get(group)
        if peers is None or peer not in peers:
            return
        if everything or peers[peer] == 1:
            del peers[peer]
            if not peers:
                del self._members[group]
        else:
            peers[peer] -= 1


@final
class Dish(FairQueued[FilteredQueue]):
    """Receives the groups it joined, from every peer, fair-queued."""

    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, FilteredQueue(self._accept))
        self._groups: set[bytes] = set()
        self._peers: list[Peer] = []
        # libzmq's DISH reports POLLOUT ("subscriptions can be changed any time") though
        # its send is ENOTSUP.
        self.writable = _always

    def _accept(self, msg: Message, peer: Peer) -> tuple[Message, object] | None:
        if len(msg) != 2:
            return None
        group = msg[0]
        if group not in self._groups:
            return None
        return [msg[1]], group

    def join(self, group: bytes) -> None:
        """Join ``group``: tell every peer (EINVAL if already joined or too long)."""
        check_group(group)
        if group in self._groups:
            raise ZMQError(errno.EINVAL, f"group {group!r} is already joined")
        self._groups.add(group)
        for peer in self._peers:
            peer.send_subscription(group, True)

    def leave(self, group: bytes) -> None:
        """Leave ``group``: tell every peer (EINVAL if it was not joined)."""
        check_group(group)
        if group not in self._groups:
            raise ZMQError(errno.EINVAL, f"group {group!r} is not joined")
        self._groups.discard(group)
        for peer in self._peers:
            peer.send_subscription(group, False)

    def with_metadata(self, msg: Message) -> MessageWithMetadata:
        return self._queue.with_metadata(msg)

    def attach(self, peer: Peer) -> bool:
        self._peers.append(peer)
        return super().attach(peer)

    def detach(self, peer: Peer) -> None:
        self._peers.remove(peer)

    def connected(self, peer: Peer) -> None:
        send_subscription = peer.send_subscription
        for group in self._groups:
            send_subscription(group, True)
