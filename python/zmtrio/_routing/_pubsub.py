"""PUB, SUB, XPUB and XSUB (RFC 29): publishers filter and fan out, subscribers subscribe.

Behaviour follows libzmq (``xpub.cpp``/``pub.cpp``, ``xsub.cpp``/``sub.cpp``):

- **Publishers** (PUB, XPUB) keep their peers and what each subscribed to (a set per peer,
  not counted) in a ``_core.FanOut``, which sends each message, in one call, to the peers
  with a topic that is a prefix of its first frame, framing it once for all the connections
  that write frames in clear, and dropping it for a peer whose pipe is full (or, with
  XPUB_NODROP, refusing it for all while one is full). Subscriptions arrive
  as SUBSCRIBE/CANCEL commands (ZMTP 3.1, via :meth:`Publisher.subscription`) or as messages
  whose first byte is 1/0 (ZMTP 3.0 peers, inproc, an XSUB application's raw messages); both
  are read the same way. XPUB also hands them to the application (``0x01``/``0x00`` + topic),
  with libzmq's collapsing, XPUB_VERBOSE(R), XPUB_MANUAL and XPUB_WELCOME_MSG.
- **Subscribers** (SUB, XSUB) count their subscriptions in a :class:`TopicCounter`, send
  every subscribe and the last cancel of a topic to all publishers, and send them all again
  on each (re)connect. They fair-queue what arrives; SUB re-checks its filter on receive
  (libzmq ``xsub_t::xrecv``), except while it takes everything: then its receive methods
  are the fair-queue's own.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import Any, final

from .. import _core
from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer, ignore_subscription
from ._distribute import Distribute, push_one
from ._fair_queue import FairQueue
from ._fair_queued import FairQueued
from ._pattern import Message, Pattern
from ._subscriptions import Removed, TopicCounter

__all__ = ["Pub", "Sub", "XPub", "XSub"]

_SUBSCRIBE = SocketOption.SUBSCRIBE
_UNSUBSCRIBE = SocketOption.UNSUBSCRIBE
#: How many inbound messages a publisher takes from a pipe per Rust call.
_DRAIN_BATCH = 256


def _always() -> bool:
    return True


def _is_subscription(frame: bytes) -> bool:
    """Whether a message frame is a ZMTP 3.0 style (un)subscription: first byte 1 or 0."""
    return bool(frame) and frame[0] <= 1


def _is_connected(peer: Peer) -> bool:
    """Whether ``peer``'s connection is up (a peer carries subscriptions only then)."""
    return peer.send_subscription is not ignore_subscription


# ---------------------------------------------------------------------------- publishers


class Publisher(Pattern):
    """PUB and XPUB: what libzmq's ``xpub_t`` does, with XPUB's extras switched on by
    :attr:`delivers` (PUB is an XPUB that never hands anything to the application)."""

    #: Whether the application receives notifications and upstream messages (XPUB).
    delivers = False

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._fanout = _core.FanOut()
        # hot path (PUB/XPUB send): one Rust call per message (per batch) for all peers.
        self.send = self._fanout.send
        self.send_many = self._fanout.send_many
        # libzmq's dist_t always reports room: a publisher never blocks (except NODROP).
        self.writable = _always
        self._verbose_subs = False
        self._verbose_unsubs = False
        self._manual = False
        #: XPUB_MANUAL: what each peer asked for (the fan-out holds what the app applied).
        self._manual_topics: dict[Peer, set[bytes]] = {}
        #: XPUB_MANUAL: for each notification queued, the peer it came from (None: a cancel
        #: made up because a peer left); ``recv`` moves them to ``_last_peer``.
        self._pending_peers: deque[Peer | None] = deque()
        #: XPUB_MANUAL: the peer SUBSCRIBE/UNSUBSCRIBE on this socket apply to.
        self._last_peer: Peer | None = None
        #: Messages for the application (XPUB), and frames of one still being assembled.
        self._pending: deque[Message] = deque()
        self._partial: Message = []
        #: Subscription commands from peers not attached yet: they can come in with the
        #: handshake, before the socket takes the peer (applied by ``attach``).
        self._early: dict[Peer, list[tuple[bytes, bool]]] = {}

    # ------------------------------------------------------------ peers

    def attach(self, peer: Peer) -> bool:
        # A peer whose link is not up yet may still get another pipe (an inproc connect
        # joined to a socket in another loop): the fan-out looks its pipe up until then.
        self._fanout.add_peer(peer, _is_connected(peer))
        welcome = self.options[SocketOption.XPUB_WELCOME_MSG]
        if welcome:
            # libzmq writes it past the high-water mark: every new subscriber gets it.
            peer.out.push([welcome])
        early = self._early.pop(peer, None)
        if early is not None:
            notified = False
            for topic, subscribe in early:
                notified |= self._subscribed(peer, topic, subscribe)
            if notified:
                peer.inp.on_readable()  # wakes the socket's receivers
        return True

    def detach(self, peer: Peer) -> None:
        # Subscriptions that arrived before the peer left still count (libzmq reads the
        # pipe up to its end before terminating it); then all of the peer's are cancelled.
        self._drain(peer)
        self._early.pop(peer, None)
        queued = len(self._pending)
        if self._manual:
            for topic in sorted(self._manual_topics.pop(peer, ())):
                self._cancelled_by_departure(topic)
            self._fanout.remove_peer(peer, True)
            if self._last_peer is peer:
                self._last_peer = None
        else:
            for topic in self._fanout.remove_peer(peer, not self._verbose_unsubs):
                self._cancelled_by_departure(topic)
        if len(self._pending) != queued:
            peer.inp.on_readable()  # wakes the socket's receivers (the peer is detached)

    def connected(self, peer: Peer) -> None:
        # Each handshake settles the pipe for good and whether it shares encodings.
        self._fanout.add_peer(peer, True)

    def readable(self, peer: Peer) -> None:
        if peer.attached:
            self._drain(peer)

    def subscription(self, peer: Peer, topic: bytes, subscribe: bool) -> None:
        if not peer.attached:
            # It came in with the handshake: applied once the socket attaches the peer. (A
            # connection being torn down may also get here; its entry is then never used.)
            self._early.setdefault(peer, []).append((topic, subscribe))
            return
        if self._subscribed(peer, topic, subscribe):
            # Came from an engine, not through the pipe: tell the socket there is a message.
            peer.inp.on_readable()

    # ------------------------------------------------------------ options

    def option_changed(self, option: int, value: int | bytes) -> None:
        # XPUB_VERBOSE sets verbose subscribes and clears verbose cancels; XPUB_VERBOSER
        # sets both (libzmq ``xpub_t::xsetsockopt``).
        if option == SocketOption.XPUB_VERBOSE:
            self._verbose_subs = bool(value)
            self._verbose_unsubs = False
        elif option == SocketOption.XPUB_VERBOSER:
            self._verbose_subs = self._verbose_unsubs = bool(value)
        elif option == SocketOption.XPUB_MANUAL:
            self._manual = bool(value)
        elif option == SocketOption.XPUB_NODROP:
            self._fanout.lossy = not value
        elif option in (_SUBSCRIBE, _UNSUBSCRIBE):
            if not self._manual:
                raise ZMQError(
                    errno.EINVAL, "SUBSCRIBE/UNSUBSCRIBE on a publisher needs XPUB_MANUAL"
                )
            assert isinstance(value, bytes)
            peer = self._last_peer
            if peer is not None:
                if option == _SUBSCRIBE:
                    self._fanout.subscribe(peer, value)
                else:
                    self._fanout.unsubscribe(peer, value)

    # ------------------------------------------------------------ inbound

    def _drain(self, peer: Peer) -> None:
        """Take everything ``peer`` sent: subscriptions are applied, other frames go to the
        application (XPUB) or are discarded (PUB)."""
        inp = peer.inp
        queue = inp.queue
        while True:
            batch = queue.pop_many(_DRAIN_BATCH)
            if not batch:
                break
            for msg in batch:
                if len(msg) == 1:
                    frame = msg[0]
                    if frame and frame[0] <= 1:
                        self._subscribed(peer, frame[1:], frame[0] == 1)
                    elif self.delivers:
                        self._deliver(frame, more=False)
                else:
                    self._multipart(peer, msg)
        if inp.writer_blocked:
            inp.consumed()

    def _multipart(self, peer: Peer, msg: Message) -> None:
        """libzmq reads a message frame by frame: any frame starting with 1/0 is a
        (un)subscription, and the others reach the application with their MORE flags, so a
        notification can end a message early. Kept frame-exact for compatibility."""
        last = len(msg) - 1
        for position, frame in enumerate(msg):
            if _is_subscription(frame):
                self._subscribed(peer, frame[1:], frame[0] == 1)
            elif self.delivers:
                self._deliver(frame, more=position < last)

    def _subscribed(self, peer: Peer, topic: bytes, subscribe: bool) -> bool:
        """Apply (or, XPUB_MANUAL, record) one (un)subscription from ``peer``; True if a
        notification was queued for the application."""
        if self._manual:
            topics = self._manual_topics.setdefault(peer, set())
            if subscribe:
                topics.add(topic)
            else:
                topics.discard(topic)
            if not self.delivers:
                return False
            self._pending_peers.append(peer)
        elif subscribe:
            first = self._fanout.subscribe(peer, topic)
            if not (first or self._verbose_subs) or not self.delivers:
                return False
        else:
            # A cancel is reported unless others still hold the topic: even one for a topic
            # the peer never subscribed to (libzmq: rm_result != values_remain).
            removed = self._fanout.unsubscribe(peer, topic)
            if (removed == Removed.REMAINING and not self._verbose_unsubs) or not self.delivers:
                return False
        self._deliver((b"\x01" if subscribe else b"\x00") + topic, more=False)
        return True

    def _cancelled_by_departure(self, topic: bytes) -> None:
        """A peer left while subscribed to ``topic``: XPUB reports the cancel."""
        if not self.delivers:
            return
        self._deliver(b"\x00" + topic, more=False)
        if self._manual:
            self._last_peer = None
            self._pending_peers.append(None)

    def _deliver(self, frame: bytes, *, more: bool) -> None:
        """Queue a frame for the application; a frame without MORE completes a message."""
        if more:
            self._partial.append(frame)
        elif self._partial:
            self._partial.append(frame)
            self._pending.append(self._partial)
            self._partial = []
        else:
            self._pending.append([frame])


@final
class Pub(Publisher):
    """Send-only; filters at the publisher, drops per subscriber at the high-water mark;
    whatever subscribers send other than subscriptions is discarded."""


@final
class XPub(Publisher):
    """A PUB whose application also receives subscriptions (``0x01``/``0x00`` + topic) and
    whatever XSUB peers send upstream."""

    delivers = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self.recv = self._recv
        self.has_message = self._has_message

    def _recv(self) -> Message | None:
        pending = self._pending
        if not pending:
            return None
        msg = pending.popleft()
        if self._manual:
            # libzmq: each frame read makes the peer of the next queued notification the
            # one SUBSCRIBE/UNSUBSCRIBE apply to, unless it has gone since.
            pending_peers = self._pending_peers
            for _ in msg:
                if not pending_peers:
                    break
                peer = pending_peers.popleft()
                self._last_peer = peer if peer is not None and peer.attached else None
        return msg

    def _has_message(self) -> bool:
        return bool(self._pending)


# ---------------------------------------------------------------------------- subscribers


class Subscriber(FairQueued[FairQueue]):
    """SUB and XSUB: what libzmq's ``xsub_t`` does; SUB adds the receive filter and takes
    subscriptions as options instead of messages."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, FairQueue())
        self._topics = TopicCounter()
        #: Upstream: XSUB messages to all publishers (nothing is filtered).
        self._dist = Distribute()

    def attach(self, peer: Peer) -> bool:
        super().attach(peer)
        self._dist.attach(peer)
        return True

    def detach(self, peer: Peer) -> None:
        self._dist.detach(peer)

    def connected(self, peer: Peer) -> None:
        # A new connection (or a reconnect: the publisher may have restarted) learns every
        # current topic once, in libzmq's trie order.
        send_subscription = peer.send_subscription
        for topic in self._topics:
            send_subscription(topic, True)


@final
class Sub(Subscriber):
    """Receive-only; subscriptions are the SUBSCRIBE/UNSUBSCRIBE options, and what arrives
    is checked against them again (it may predate an unsubscribe)."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        #: A matching message taken to answer ``has_message`` (libzmq's ``_message``).
        self._prefetched: Message | None = None
        # One publisher: the fair-queue's receiver is its Inlet (see FairQueue), as PULL's.
        self._queue.on_receiver_changed = self._bind_receive
        self._bind_receive()

    def _bind_receive(self) -> None:
        """Bind ``recv``, ``recv_many`` and ``has_message``: the fair-queue's own while every
        message matches (the empty topic is subscribed, the usual case) and none is
        prefetched, so receiving costs no call of this class; else the filtering ones.
        Called whenever either or the fair-queue's receiver changes (the socket reads them
        again after each wait)."""
        if self._prefetched is None and self._topics.matches_everything():
            queue = self._queue
            self.recv = queue.receiver
            self.recv_many = queue.recv_many
            self.has_message = queue.has_message
        else:
            self.recv = self._recv
            self.recv_many = self._recv_many
            self.has_message = self._has_message

    def detach(self, peer: Peer) -> None:
        super().detach(peer)
        self._queue.detach(peer)

    def pipes_replaced(self, peer: Peer) -> None:
        self._queue.pipes_replaced(peer)

    def option_changed(self, option: int, value: int | bytes) -> None:
        # libzmq makes a subscribe/cancel message and passes it to XSUB's send, which sends
        # it as a SUBSCRIBE/CANCEL command (a 0x01/0x00 message to ZMTP 3.0 peers).
        if option == _SUBSCRIBE:
            assert isinstance(value, bytes)
            # Every subscribe goes out, counted or not: an XPUB upstream may be verbose.
            self._topics.add(value)
            self._bind_receive()
            for peer in self._dist.peers:
                peer.send_subscription(value, True)
        elif option == _UNSUBSCRIBE:
            assert isinstance(value, bytes)
            # Only the last cancel of a topic goes out.
            if self._topics.remove(value):
                self._bind_receive()
                for peer in self._dist.peers:
                    peer.send_subscription(value, False)

    def _recv(self) -> Message | None:
        # SUB receive with a filter (or a prefetched message): see _bind_receive.
        msg = self._prefetched
        if msg is not None:
            self._prefetched = None
            self._bind_receive()
            return msg
        recv = self._queue.recv
        topics = self._topics
        if topics.matches_everything():
            return recv()
        matches = topics.matches
        while True:
            msg = recv()
            if msg is None or matches(msg[0]):
                return msg

    def _recv_many(self, max_messages: int) -> list[Message]:
        taken: list[Message] = []
        if self._prefetched is not None:
            taken.append(self._prefetched)
            self._prefetched = None
            self._bind_receive()
        recv_many = self._queue.recv_many
        if self._topics.matches_everything():
            # Nothing to filter: the run the queue hands out is the answer.
            if not taken:
                return recv_many(max_messages)
            taken.extend(recv_many(max_messages - 1))
            return taken
        matches = self._topics.matches
        while len(taken) < max_messages:
            batch = recv_many(max_messages - len(taken))
            if not batch:
                break
            taken.extend(msg for msg in batch if matches(msg[0]))
        return taken

    def _has_message(self) -> bool:
        if self._prefetched is None:
            self._prefetched = self._recv()
        return self._prefetched is not None


@final
class XSub(Subscriber):
    """Subscribes by sending ``0x01``/``0x00`` + topic messages; other messages go to every
    publisher; receives everything publishers send (no filter)."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self.send = self._send
        # libzmq: an XSUB can always send (subscriptions and upstream messages never wait).
        self.writable = _always
        self._verbose_unsubs = False
        #: Peers attached and not connected since: their first connection sends what
        #: ``attach`` and ``send`` queued in their pipe, not the topics again.
        self._fresh: set[Peer] = set()

    def attach(self, peer: Peer) -> bool:
        super().attach(peer)
        # libzmq's xattach_pipe: the current topics go first. A connect endpoint's peer is
        # attached before its connection is up: they wait in its pipe with what follows.
        self._fresh.add(peer)
        if _is_connected(peer):
            for topic in self._topics:
                peer.send_subscription(topic, True)
        else:
            for topic in self._topics:
                push_one((peer,), [b"\x01" + topic])
        return True

    def detach(self, peer: Peer) -> None:
        super().detach(peer)
        self._fresh.discard(peer)

    def connected(self, peer: Peer) -> None:
        # A reconnect (libzmq's hiccup): the publisher may have restarted, so it learns
        # every topic again, once each, in trie order.
        if peer in self._fresh:
            self._fresh.discard(peer)
        else:
            super().connected(peer)

    def option_changed(self, option: int, value: int | bytes) -> None:
        if option == SocketOption.XSUB_VERBOSE_UNSUBSCRIBE:
            self._verbose_unsubs = bool(value)

    def _send(self, msg: Message) -> bool:
        # hot path (XSUB send): a data message goes straight to every publisher.
        if not _is_subscription(msg[0]) and (
            len(msg) == 1 or not any(_is_subscription(frame) for frame in msg)
        ):
            self._dist.send_to_all(msg)
            return True
        msg = self._track(msg)
        if msg:
            # As libzmq: forwarded as it is (a message, to a ZMTP 3.1 peer too), in order
            # with the data, queued for publishers not connected yet.
            self._dist.send_to_all(msg)
        return True

    def _track(self, msg: Message) -> Message:
        """libzmq's XSUB checks every frame of a message for (un)subscriptions: it counts
        them, and drops a cancel that is not the last for its topic (unless
        XSUB_VERBOSE_UNSUBSCRIBE). Returns what is left to forward."""
        kept: Message = []
        for frame in msg:
            if _is_subscription(frame):
                topic = frame[1:]
                if frame[0] == 1:
                    self._topics.add(topic)
                elif not (self._topics.remove(topic) or self._verbose_unsubs):
                    continue
            kept.append(frame)
        return kept
