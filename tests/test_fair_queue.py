"""``FairQueue`` (libzmq's ``fq_t``): with ``on_receiver_changed`` set (PULL), one attached
peer is served by a Rust ``Inlet`` while no other has messages waiting; the ring takes
over, in fair order and losing nothing, as soon as another peer has."""

from __future__ import annotations

from zmtrio._peer import Peer
from zmtrio._pipe import Pipe
from zmtrio._routing._fair_queue import FairQueue


def _peer(name: str, hwm: int = 0) -> Peer:
    return Peer(Pipe(0), Pipe(hwm), name)


def _queue_with_receiver() -> tuple[FairQueue, list[int]]:
    queue = FairQueue()
    changes: list[int] = []
    queue.on_receiver_changed = lambda: changes.append(1)
    return queue, changes


def _deliver(queue: FairQueue, peer: Peer, *messages: bytes) -> None:
    # As an engine does: push, and report the empty-to-non-empty edge.
    for message in messages:
        if peer.inp.queue.push([message]) == 1:
            queue.readable(peer)


def test_one_peer_is_served_by_an_inlet_that_wakes_its_blocked_reader() -> None:
    queue, changes = _queue_with_receiver()
    assert queue.receiver == queue.recv
    peer = _peer("a", hwm=4)
    woken: list[int] = []
    peer.inp.on_writable = lambda: woken.append(len(peer.inp.queue))
    queue.attach(peer)
    assert changes == [1] and queue.receiver != queue.recv
    assert queue.last_peer is peer
    _deliver(queue, peer, b"0", b"1", b"2", b"3")
    peer.inp.writer_blocked = True  # the reader found the pipe full
    taken = [queue.receiver() for _ in range(5)]
    assert taken == [[b"0"], [b"1"], [b"2"], [b"3"], None]
    assert woken == [2] and not peer.inp.writer_blocked  # once, at the low-water mark


def test_the_ring_takes_over_when_a_second_peer_has_messages_and_loses_none() -> None:
    queue, _ = _queue_with_receiver()
    a, b = _peer("a"), _peer("b")
    queue.attach(a)
    _deliver(queue, a, b"a0", b"a1")
    assert queue.receiver() == [b"a0"]
    queue.attach(b)  # two attached: the ring
    assert queue.receiver == queue.recv
    _deliver(queue, b, b"b0")
    taken = [queue.receiver() for _ in range(3)]
    assert taken == [[b"a1"], [b"b0"], None]
    queue.detach(b)  # drained, and gone: one peer again, served by its inlet
    assert queue.receiver != queue.recv
    _deliver(queue, a, b"a2")
    assert queue.receiver() == [b"a2"]


def test_a_detached_peer_with_messages_waiting_keeps_the_ring_until_drained() -> None:
    queue, _ = _queue_with_receiver()
    a, b = _peer("a"), _peer("b")
    queue.attach(a)
    queue.attach(b)
    _deliver(queue, b, b"b0")
    queue.detach(b)  # hung up after sending: its message is still delivered
    assert queue.receiver == queue.recv
    _deliver(queue, a, b"a0")
    assert sorted([queue.receiver(), queue.receiver()]) == [[b"a0"], [b"b0"]]
    assert queue.receiver() is None


def test_without_on_receiver_changed_the_queue_keeps_recv() -> None:
    queue = FairQueue()
    peer = _peer("a")
    queue.attach(peer)
    assert queue.receiver == queue.recv
    _deliver(queue, peer, b"x")
    assert queue.recv() == [b"x"]


def test_an_inlet_takes_the_new_pipe_when_told_it_was_replaced() -> None:
    # An inproc link to another loop gives an attached peer new pipes.
    queue, changes = _queue_with_receiver()
    peer = _peer("a")
    queue.attach(peer)
    _deliver(queue, peer, b"old")
    assert queue.receiver() == [b"old"]
    peer.inp = Pipe(0)
    queue.pipes_replaced(peer)
    assert changes == [1, 1]
    _deliver(queue, peer, b"new")
    assert queue.receiver() == [b"new"]
