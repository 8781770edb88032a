"""``LoadBalance`` (libzmq's ``lb_t``): one peer takes the short path, several are served
in turn, a full peer is skipped and marked blocked, and the cursor survives peers coming
and going as libzmq's does. With one peer whose connection writes frames in clear, small
messages are framed onto runs (``_core.Outlet``)."""

from __future__ import annotations

from zmtrio import _core
from zmtrio._peer import Peer
from zmtrio._pipe import Pipe
from zmtrio._routing._load_balance import LoadBalance

from tests.test_batch_encoding import RUN_MAX_FRAME, connected_pair


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


def _written(push: _core.Connection, pull: _core.Connection, out: Pipe) -> list[list[bytes]]:
    """What the peer decodes of everything the writer takes from ``out``."""
    inbound = _core.Pipe(0)
    while (output := push.take_output(out.queue, 1 << 16)) is not None:
        for piece in output if isinstance(output, list) else [output]:
            pull.feed(bytes(piece), inbound, [], 0.0)
    return inbound.pop_many(10_000)


def test_a_sender_to_a_connection_in_clear_frames_small_messages_onto_one_run() -> None:
    """To a peer whose connection writes frames in clear, the Outlet frames small messages
    onto a run at the back of the pipe (one item, every message counted against the
    high-water mark); anything else queued closes the run, and order holds throughout."""
    push, pull = connected_pair()
    balance = LoadBalance()
    peer = _peer("a", hwm=6)
    peer.shares_encoding = True
    woken: list[int] = []
    peer.out.on_readable = lambda: woken.append(len(peer.out.queue))
    balance.attach(peer)
    sender = balance.sender
    large = [b"head", b"L" * (RUN_MAX_FRAME + 1)]
    messages = [[b"a"], [b"b", b"c"], large, [b""], [b"d" * RUN_MAX_FRAME]]
    assert all(sender(message) for message in messages)
    peer.out.push([b"pushed"])  # as a welcome message is queued: behind the run
    assert sender([b"last"]) is False  # six messages queued: full
    assert peer.out.writer_blocked
    assert len(peer.out.queue) == 6 and woken == [1]
    # a run, the large message, a run of two, the pushed one
    assert _written(push, pull, peer.out) == [*messages, [b"pushed"]]
    assert len(peer.out.queue) == 0
    assert sender([b"after"]) and sender([b"more"])
    assert woken == [1, 1]
    assert _written(push, pull, peer.out) == [[b"after"], [b"more"]]


def test_a_sender_frames_onto_runs_only_once_the_connection_is_known_to_take_them() -> None:
    """A connect endpoint's peer is attached before its handshake: its Outlet queues lists
    (the pipe may go to another socket, inproc) until ``connected`` says the connection
    writes frames in clear; a conflating pipe keeps only the newest message either way."""
    balance = LoadBalance()
    peer = _peer("a")
    balance.attach(peer)
    assert balance.sender([b"early"])
    peer.shares_encoding = True
    balance.connected(peer)
    assert balance.sender([b"run"]) and balance.sender([b"run2"])
    assert len(peer.out.queue) == 3
    assert peer.out.queue.pop() == [b"early"]
    run = peer.out.queue.pop()
    assert run is not None and not isinstance(run, list)
    assert len(peer.out.queue) == 0 and peer.out.queue.pop() is None
    conflating = Peer(Pipe(1, conflate=True), Pipe(0), "c")
    conflating.shares_encoding = True
    only = LoadBalance()
    only.attach(conflating)
    assert only.sender([b"1"]) and only.sender([b"2"])
    assert len(conflating.out.queue) == 1 and conflating.out.queue.pop() == [b"2"]


def test_a_frame_sender_queues_a_frame_alone_as_its_one_frame_message() -> None:
    """``frame_sender`` (an Outlet's ``send_frame``, with one peer only) queues ``[frame]``:
    onto a run to a connection in clear (no list made), else as that list; a frame too
    large for a run goes as a list between runs; a full pipe refuses it as ``send`` does."""
    push, pull = connected_pair()
    balance = LoadBalance()
    assert balance.frame_sender is None
    peer = _peer("a", hwm=4)
    balance.attach(peer)
    frame_sender = balance.frame_sender
    assert frame_sender is not None
    assert frame_sender(b"list") and isinstance(peer.out.queue.pop(), list)  # not connected
    peer.shares_encoding = True
    balance.connected(peer)
    frame_sender = balance.frame_sender
    assert frame_sender is not None
    large = b"L" * (RUN_MAX_FRAME + 1)
    assert [frame_sender(frame) for frame in (b"a", b"", large, b"b", b"full")] == [
        True,
        True,
        True,
        True,
        False,
    ]
    assert peer.out.writer_blocked and len(peer.out.queue) == 4
    assert _written(push, pull, peer.out) == [[b"a"], [b""], [large], [b"b"]]
    other = _peer("b")
    balance.attach(other)
    assert balance.frame_sender is None  # two peers: round-robin, message by message
