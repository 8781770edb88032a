"""Subscription bookkeeping for pub-sub at the subscriber, and what a cancel found.

- :class:`TopicCounter` (subscriber side, libzmq ``trie_t``): topic -> reference count.
- :class:`Removed`: the publisher side's answer to a cancel (libzmq ``mtrie_t::rm_result``);
  the publisher's index itself (libzmq ``mtrie_t``: topic -> set of peers, not counted) is
  in Rust, with the fan-out (``_core.FanOut``, ``rust/src/subscriptions.rs``).

A topic matches a message when it is a byte prefix of its first frame (the empty topic
matches everything). Instead of walking a trie byte by byte, :class:`TopicCounter` keeps the
distinct topic lengths in ascending order and looks up ``frame[:n]`` for each length ``n``
in a dict, so a match costs one hash look-up per distinct length, however many topics there
are (5000 topics of one length: still one look-up).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator
from enum import IntEnum
from typing import final

__all__ = ["Removed", "TopicCounter"]


class Removed(IntEnum):
    """What removing one peer's subscription found (libzmq ``mtrie_t::rm_result``)."""

    NOT_FOUND = 0
    """The peer was not subscribed to that topic."""
    LAST_REMOVED = 1
    """It was, and was the last subscriber of the topic."""
    REMAINING = 2
    """It was; other peers still subscribe to the topic."""


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
