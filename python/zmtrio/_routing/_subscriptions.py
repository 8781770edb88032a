"""Subscription bookkeeping for pub-sub: which byte prefixes are subscribed, by whom.

Two structures, matching libzmq's two tries:

- :class:`SubscriptionIndex` (publisher side, libzmq ``mtrie_t``): topic -> set of peers.
  Per peer a topic is in or out, not counted (a peer subscribing ``b"A"`` twice is undone by
  one cancel); counting happens at the subscriber, which only sends the last cancel.
- :class:`TopicCounter` (subscriber side, libzmq ``trie_t``): topic -> reference count.

Both match a message by its first frame: a topic matches when it is a byte prefix of that
frame (the empty topic matches everything). Instead of walking a trie byte by byte, they keep
the distinct topic lengths in ascending order and look up ``frame[:n]`` for each length ``n``
in a dict, so a match costs one hash look-up per distinct length, however many topics there
are (5000 topics of one length: still one look-up).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator
from enum import IntEnum
from typing import Final, final

from .._peer import Peer

__all__ = ["Removed", "SubscriptionIndex", "TopicCounter"]


class Removed(IntEnum):
    """What removing one peer's subscription found (libzmq ``mtrie_t::rm_result``)."""

    NOT_FOUND = 0
    """The peer was not subscribed to that topic."""
    LAST_REMOVED = 1
    """It was, and was the last subscriber of the topic."""
    REMAINING = 2
    """It was; other peers still subscribe to the topic."""


_NOT_FOUND: Final = Removed.NOT_FOUND
_LAST_REMOVED: Final = Removed.LAST_REMOVED
_REMAINING: Final = Removed.REMAINING


class _Lengths:
    """The distinct lengths of a set of topics, ascending, with how many topics have each."""

    __slots__ = ("_uses", "ascending")

    def __init__(self) -> None:
        self._uses: dict[int, int] = {}
        #: Read on the hot path; rebuilt only when a length appears or disappears.
        self.ascending: list[int] = []

    def add(self, length: int) -> None:
        uses = self._uses.get(length, 0)
        self._uses[length] = uses + 1
        if not uses:
            insort(self.ascending, length)

    def remove(self, length: int) -> None:
        uses = self._uses[length] - 1
        if uses:
            self._uses[length] = uses
        else:
            del self._uses[length]
            self.ascending.remove(length)


@final
class SubscriptionIndex:
    """Publisher side: for each subscribed topic, the set of peers subscribed to it."""

    __slots__ = ("_lengths", "_peers", "_topics")

    def __init__(self) -> None:
        #: topic -> peers subscribed to it; a topic with no peer left is deleted.
        self._peers: dict[bytes, set[Peer]] = {}
        #: peer -> its topics, to drop them all when the peer goes.
        self._topics: dict[Peer, set[bytes]] = {}
        self._lengths = _Lengths()

    def __len__(self) -> int:
        """How many distinct topics have at least one subscriber."""
        return len(self._peers)

    def add(self, topic: bytes, peer: Peer) -> bool:
        """Subscribe ``peer`` to ``topic``; True if nobody subscribed to it before."""
        peers = self._peers.get(topic)
        first = peers is None
        if peers is None:
            peers = self._peers[topic] = set()
            self._lengths.add(len(topic))
        peers.add(peer)
        self._topics.setdefault(peer, set()).add(topic)
        return first

    def remove(self, topic: bytes, peer: Peer) -> Removed:
        """Cancel ``peer``'s subscription to ``topic``."""
        peers = self._peers.get(topic)
        if peers is None or peer not in peers:
            return _NOT_FOUND
        peers.remove(peer)
        topics = self._topics[peer]
        topics.remove(topic)
        if not topics:
            del self._topics[peer]
        if peers:
            return _REMAINING
        del self._peers[topic]
        self._lengths.remove(len(topic))
        return _LAST_REMOVED

    def remove_peer(self, peer: Peer, *, only_last: bool) -> list[bytes]:
        """Drop every subscription of ``peer``. Returns its topics in libzmq's trie order
        (byte-wise ascending): all of them, or with ``only_last`` those nobody else holds."""
        topics = self._topics.pop(peer, None)
        if not topics:
            return []
        reported: list[bytes] = []
        for topic in sorted(topics):
            peers = self._peers[topic]
            peers.remove(peer)
            if not peers:
                del self._peers[topic]
                self._lengths.remove(len(topic))
                reported.append(topic)
            elif not only_last:
                reported.append(topic)
        return reported

    def topics_of(self, peer: Peer) -> set[bytes]:
        """The topics ``peer`` subscribes to (a copy)."""
        return set(self._topics.get(peer, ()))

    def everyone(self) -> set[Peer] | None:
        """If the empty topic is the only one subscribed, the peers holding it: every
        message goes to exactly them (a batch needs no per-message match). Else None."""
        if len(self._peers) == 1:
            return self._peers.get(b"")
        return None

    def match(self, frame: bytes) -> set[Peer] | None:
        """The peers with a topic that is a prefix of ``frame`` (None if there is none).

        The set returned may be the index's own: read it, never change it.
        """
        # hot path: one dict look-up per distinct topic length.
        peers_by_topic = self._peers
        size = len(frame)
        found: set[Peer] | None = None
        for length in self._lengths.ascending:
            if length > size:
                break
            peers = peers_by_topic.get(frame[:length])
            if peers is not None:
                found = peers if found is None else found | peers
        return found


@final
class TopicCounter:
    """Subscriber side: each topic with how many times it was subscribed."""

    __slots__ = ("_counts", "_lengths")

    def __init__(self) -> None:
        self._counts: dict[bytes, int] = {}
        self._lengths = _Lengths()

    def __len__(self) -> int:
        """How many distinct topics are subscribed."""
        return len(self._counts)

    def __iter__(self) -> Iterator[bytes]:
        """The distinct topics in libzmq's trie order (byte-wise ascending), each once."""
        return iter(sorted(self._counts))

    def add(self, topic: bytes) -> bool:
        """Count one more subscription to ``topic``; True if it is new."""
        count = self._counts.get(topic, 0)
        self._counts[topic] = count + 1
        if not count:
            self._lengths.add(len(topic))
        return not count

    def remove(self, topic: bytes) -> bool:
        """Count one subscription to ``topic`` less; True if that was the last one (False
        also when it was not subscribed)."""
        count = self._counts.get(topic)
        if count is None:
            return False
        if count > 1:
            self._counts[topic] = count - 1
            return False
        del self._counts[topic]
        self._lengths.remove(len(topic))
        return True

    def matches_everything(self) -> bool:
        """Whether the empty topic is subscribed (every message matches)."""
        return b"" in self._counts

    def matches(self, frame: bytes) -> bool:
        """Whether some subscribed topic is a prefix of ``frame``."""
        # hot path (SUB receive): one dict look-up per distinct topic length.
        counts = self._counts
        size = len(frame)
        for length in self._lengths.ascending:
            if length > size:
                return False
            if frame[:length] in counts:
                return True
        return False
