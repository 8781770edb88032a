"""``LoadBalance`` (libzmq's ``lb_t``): one peer takes the short path, several are served
in turn, a full peer is skipped and marked blocked, and the cursor survives peers coming
and going as libzmq's does."""

from __future__ import annotations

from zmtrio._peer import Peer
from zmtrio._pipe import Pipe
from zmtrio._routing._load_balance import LoadBalance


def _peer(name: str, hwm: int = 0) -> Peer:
    return Peer(Pipe(hwm), Pipe(0), name)


def _sent_to(balance: LoadBalance, count: int) -> list[str]:
    names = []
    for n in range(count):
        peer = balance.send([b"%d" % n])
        names.append("-" if peer is None else peer.endpoint)
    return names


def test_one_peer_takes_every_message_until_full_then_is_marked_blocked() -> None:
    balance = LoadBalance()
    assert balance.send([b"nobody"]) is None
    peer = _peer("a", hwm=3)
    woken: list[int] = []
    peer.out.on_readable = lambda: woken.append(len(peer.out.queue))
    balance.attach(peer)
    assert _sent_to(balance, 4) == ["a", "a", "a", "-"]
    assert peer.out.writer_blocked
    assert woken == [1]  # the consumer is woken on the empty-to-non-empty edge only
    assert [peer.out.queue.pop() for _ in range(3)] == [[b"0"], [b"1"], [b"2"]]


def test_several_peers_in_turn_skipping_a_full_one() -> None:
    balance = LoadBalance()
    a, b, c = _peer("a"), _peer("b", hwm=1), _peer("c")
    for peer in (a, b, c):
        balance.attach(peer)
    assert _sent_to(balance, 5) == ["a", "b", "c", "a", "c"]
    assert b.out.writer_blocked and not a.out.writer_blocked


def test_a_peer_attached_to_a_single_one_comes_after_it() -> None:
    # libzmq's cursor is 0 while one pipe is active: the newcomer is served second.
    balance = LoadBalance()
    a, b = _peer("a"), _peer("b")
    balance.attach(a)
    assert _sent_to(balance, 2) == ["a", "a"]
    balance.attach(b)
    assert _sent_to(balance, 3) == ["a", "b", "a"]
    balance.detach(a)
    assert _sent_to(balance, 2) == ["b", "b"]
    balance.attach(a)
    assert _sent_to(balance, 2) == ["b", "a"]
    balance.detach(a)
    balance.detach(b)
    assert _sent_to(balance, 1) == ["-"]


def test_send_many_to_one_peer_queues_the_prefix_that_fits() -> None:
    balance = LoadBalance()
    peer = _peer("a", hwm=2)
    balance.attach(peer)
    assert balance.send_many([[b"0"], [b"1"], [b"2"]]) == 2
    assert peer.out.writer_blocked
    b = _peer("b")
    balance.attach(b)
    assert balance.send_many([[b"3"], [b"4"]]) == 2  # a is full: b takes both
    assert len(b.out.queue) == 2 and len(peer.out.queue) == 2


def test_the_sender_of_one_peer_queues_wakes_and_blocks_as_send_does() -> None:
    # With one peer ``sender`` is a Rust ``Outlet``: the same edges as ``send``, and the
    # peer's new pipe once told it was replaced (an inproc link to another loop).
    balance = LoadBalance()
    assert balance.sender == balance.send
    peer = _peer("a", hwm=2)
    woken: list[int] = []
    peer.out.on_readable = lambda: woken.append(len(peer.out.queue))
    balance.attach(peer)
    sender = balance.sender
    assert sender != balance.send
    assert [sender([b"%d" % n]) for n in range(3)] == [True, True, False]
    assert peer.out.writer_blocked
    assert woken == [1]
    replaced = peer.out
    peer.out = Pipe(1)
    peer.out.on_readable = lambda: woken.append(-len(peer.out.queue))
    balance.pipes_replaced(peer)
    sender = balance.sender
    assert sender([b"new"]) is True
    assert woken == [1, -1]
    assert peer.out.queue.pop() == [b"new"]
    assert [replaced.queue.pop() for _ in range(3)] == [[b"0"], [b"1"], None]
    balance.detach(peer)
    assert balance.sender == balance.send
