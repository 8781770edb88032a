"""``inproc://`` between trio loops in different threads: one lock-free Rust ring each way.

Within one loop an inproc link is a crossed pair of plain pipes (``_inproc``). Across
loops each direction is a ``_core.ring``: the producing socket's peer holds a ``Pipe``
whose queue is the ring's pushing end, the consuming socket's peer one whose queue is its
popping end, so the routing strategies drive it exactly as a plain pipe. What differs is
waking: the ring reports the edges another thread waits on (a consumer that found it empty,
a producer waiting for room at the low-water mark), and each such wake is one
``run_sync_soon`` on the other loop's token; a burst of messages costs one wake.

A link is made in three steps, each in the loop that owns what it touches:

1. the connector's loop builds both rings, moves what its socket queued before the bind
   into the ring toward the binder, and hands the binder's side over;
2. the binder's loop adopts that side and routes through it (or refuses it: a PAIR that
   already has its peer);
3. the connector's loop routes through its side, or drops it if refused.

Closing either socket closes its ends of both rings (what it sent stays readable by the
other side) and tells the other loop, whose socket then loses the peer as in one loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final, cast

from .. import _core
from .._options import SocketOption
from .._peer import Peer
from .._pipe import Pipe, low_water_mark
from .._seam import HostSocket
from .._threads import Loop

__all__ = ["cross_thread_wakes", "link_across_loops"]

#: Slots of a ring without a high-water mark; past them messages wait in the producer's
#: spill (its own queue, no lock) until the consumer drains the ring.
_UNBOUNDED_RING_SLOTS: Final = 1024


def _fire_readable(pipe: Pipe) -> None:
    """In the consumer's loop: the ring went from empty to non-empty."""
    pipe.on_readable()


def _fire_writable(pipe: Pipe) -> None:
    """In the producer's loop: the ring drained to its low-water mark; move spilled
    messages in and wake blocked senders."""
    cast(_core.RingProducer, pipe.queue).flush()
    pipe.writer_blocked = False
    pipe.on_writable()


def _ring_pipes(
    hwm: int, producer_loop: Loop, consumer_loop: Loop, conflate: bool
) -> tuple[Pipe, Pipe]:
    """One direction: the producer's ``Pipe`` and the consumer's, sharing one ring. A
    conflating ring (``CONFLATE``) is never full and delivers only the newest message."""
    out = Pipe(0)
    inp = Pipe(0)
    hwm = 0 if conflate else hwm
    producer, consumer = _core.ring(
        hwm or _UNBOUNDED_RING_SLOTS,
        hwm,
        partial(consumer_loop.call_soon, _fire_readable, inp),
        partial(producer_loop.call_soon, _fire_writable, out),
        conflate,
    )
    # Each end offers the methods its side of a pipe calls (push side, pop side).
    out.queue = cast(_core.Pipe, producer)
    inp.queue = cast(_core.Pipe, consumer)
    out.lwm = inp.lwm = low_water_mark(hwm)
    return out, inp


def _pipe_hwm(sender: HostSocket, receiver: HostSocket) -> int:
    """libzmq sizes an inproc pipe as the sender's SNDHWM plus the receiver's RCVHWM."""
    send_hwm = sender.options[SocketOption.SNDHWM]
    receive_hwm = receiver.options[SocketOption.RCVHWM]
    return 0 if not send_hwm or not receive_hwm else send_hwm + receive_hwm


def _subscription_sender(pipe: Pipe) -> Callable[[bytes, bool], None]:
    """Subscriptions travel as ``0x01``/``0x00``-prefixed messages, as in one loop."""

    def send_subscription(topic: bytes, subscribe: bool) -> None:
        pipe.push([(b"\x01" if subscribe else b"\x00") + topic])

    return send_subscription


def _close_ends(out: Pipe, inp: Pipe) -> None:
    """Close one socket's ends: what it pushed stays readable, what it did not read is
    dropped, and neither ring wakes this loop again."""
    cast(_core.RingProducer, out.queue).close()
    cast(_core.RingConsumer, inp.queue).close()


def _unlink(out: Pipe, inp: Pipe, other_loop: Loop, other: HostSocket, other_peer: Peer) -> None:
    """One side closes (or disconnects): close its ends; the other loop loses the peer."""
    _close_ends(out, inp)
    other_loop.call_soon(other.connection_lost, other_peer)


def link_across_loops(
    connector: HostSocket,
    connector_loop: Loop,
    connector_peer: Peer,
    binder: HostSocket,
    binder_loop: Loop,
) -> None:
    """Step 1, in the connector's loop: join ``connector_peer`` to ``binder``."""
    if connector.closed or not binder.accepts_peer_type(connector.type):
        return  # as a ZMTP handshake would fail: the sockets never talk
    # Within one loop the binder uses the connector's pipes, so the connector's CONFLATE
    # decides for both directions: the same here.
    conflate = connector_peer.out.queue.conflate
    to_binder, binder_in = _ring_pipes(
        _pipe_hwm(connector, binder), connector_loop, binder_loop, conflate
    )
    binder_out, to_connector = _ring_pipes(
        _pipe_hwm(binder, connector), binder_loop, connector_loop, conflate
    )
    # What the connector queued before the bind goes first, in order.
    queued = connector_peer.out.queue
    for msg in queued.pop_many(len(queued)):
        to_binder.queue.push(msg)
    connector_peer.out = to_binder
    connector_peer.inp = to_connector
    connector.adopt_peer(connector_peer)
    binder_peer = Peer(binder_out, binder_in, connector_peer.endpoint)
    binder_peer.routing_id = connector.options[SocketOption.ROUTING_ID]
    connector_peer.routing_id = binder.options[SocketOption.ROUTING_ID]
    connector_peer.send_subscription = _subscription_sender(to_binder)
    binder_peer.send_subscription = _subscription_sender(binder_out)
    connector_peer.unlink = partial(
        _unlink, to_binder, to_connector, binder_loop, binder, binder_peer
    )
    binder_peer.unlink = partial(
        _unlink, binder_out, binder_in, connector_loop, connector, connector_peer
    )
    # Senders blocked on the pipe the link replaced may go on.
    to_binder.on_writable()
    if not binder_loop.call_soon(
        _adopt_in_binder, binder, binder_peer, connector_loop, connector, connector_peer
    ):
        _refused(connector, connector_peer)


def _adopt_in_binder(
    binder: HostSocket,
    binder_peer: Peer,
    connector_loop: Loop,
    connector: HostSocket,
    connector_peer: Peer,
) -> None:
    """Step 2, in the binder's loop."""
    binder.adopt_peer(binder_peer)
    if binder.closed or not binder.connection_ready(binder_peer, None):
        _close_ends(binder_peer.out, binder_peer.inp)
        binder.connection_lost(binder_peer)
        connector_loop.call_soon(_refused, connector, connector_peer)
        return
    connector_loop.call_soon(_routed_by_binder, connector, connector_peer)


def _routed_by_binder(connector: HostSocket, connector_peer: Peer) -> None:
    """Step 3, in the connector's loop: the binder took the link."""
    if not connector.closed:
        connector.connection_ready(connector_peer, None)


def _refused(connector: HostSocket, connector_peer: Peer) -> None:
    """Step 3 when the binder refused the link (or its loop had ended)."""
    _close_ends(connector_peer.out, connector_peer.inp)
    connector.connection_lost(connector_peer)


def cross_thread_wakes(peers: list[Peer]) -> int:
    """How many times the rings of ``peers`` (their ends in this loop) woke the other
    loop: the benchmark reports it per message."""
    wakes = 0
    for peer in peers:
        out, inp = peer.out.queue, peer.inp.queue
        if isinstance(out, _core.RingProducer) and isinstance(inp, _core.RingConsumer):
            wakes += out.wakes + inp.wakes
    return wakes
