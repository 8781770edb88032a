"""The per-message methods, ``try_push`` and ``pop`` of ``_core.Pipe`` and of the ring ends
(``RingProducer.try_push``, ``RingConsumer.pop``), are raw C methods (no PyO3 wrapper):
they must keep the contract of the stub, check their arguments, hold each message's
reference exactly as long as the queue holds the message (a refused or replaced message
released at once, not later) and, for the rings, call the wakes on their edges."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest
from zmtrio import _core


class _Message(list[bytes]):
    """A message a weak reference can watch."""


def test_try_push_and_pop_keep_order_and_report_lengths() -> None:
    pipe = _core.Pipe(2)
    assert pipe.pop() is None
    assert pipe.try_push([b"a"]) == 1  # 1: the pipe was empty
    assert pipe.try_push([b"b"]) == 2
    assert pipe.try_push([b"c"]) == -1
    assert len(pipe) == 2
    assert pipe.pop() == [b"a"]
    assert pipe.pop() == [b"b"]
    assert pipe.pop() is None
    unbounded = _core.Pipe(0)
    assert [unbounded.try_push([b"%d" % n]) for n in range(300)] == list(range(1, 301))


def test_arguments_are_checked() -> None:
    pipe = _core.Pipe(1)
    with pytest.raises(TypeError):
        pipe.try_push()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        pipe.try_push([b"a"], [b"b"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        pipe.pop(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _core.Pipe.pop(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _core.Pipe.try_push(_core.Pipe, [b"a"])  # type: ignore[arg-type]
    assert len(pipe) == 0


def test_a_message_is_held_exactly_while_queued() -> None:
    pipe = _core.Pipe(1)
    message = _Message([b"x"])
    held = sys.getrefcount(message)
    assert pipe.try_push(message) == 1
    assert sys.getrefcount(message) == held + 1
    refused = _Message([b"y"])
    watch_refused = weakref.ref(refused)
    assert pipe.try_push(refused) == -1
    del refused
    assert watch_refused() is None  # released at once, not deferred
    popped = pipe.pop()
    assert popped is message
    del popped
    assert sys.getrefcount(message) == held


def test_a_conflating_pipe_releases_the_message_it_replaces_at_once() -> None:
    pipe = _core.Pipe(5, True)
    first = _Message([b"old"])
    watch_first = weakref.ref(first)
    assert pipe.try_push(first) == 1
    del first
    gc.collect()
    assert watch_first() is not None  # the pipe holds it
    assert pipe.try_push(_Message([b"new"])) == 1
    assert watch_first() is None
    assert pipe.pop() == [b"new"]
    assert pipe.pop() is None


def test_a_finalizer_run_by_a_release_may_use_the_pipe() -> None:
    # The refused message is released after the pipe's borrow ends: its finalizer may
    # push to the same pipe (it would fail with "already borrowed" otherwise).
    pipe = _core.Pipe(1)
    seen: list[int] = []

    class Refused(list[bytes]):
        def __del__(self) -> None:
            seen.append(len(pipe))
            seen.append(pipe.try_push([b"from the finalizer"]))

    assert pipe.try_push([b"fills it"]) == 1
    assert pipe.try_push(Refused([b"refused"])) == -1
    assert seen == [1, -1]
    assert pipe.pop() == [b"fills it"]


def _ring(
    limit: int, conflate: bool = False
) -> tuple[_core.RingProducer, _core.RingConsumer, list[str]]:
    wakes: list[str] = []
    producer, consumer = _core.ring(
        limit or 8,
        limit,
        lambda: wakes.append("consumer"),
        lambda: wakes.append("producer"),
        conflate,
    )
    return producer, consumer, wakes


def test_ring_ends_push_and_pop_in_order_waking_on_the_edges() -> None:
    producer, consumer, wakes = _ring(4)
    assert consumer.pop() is None  # the consumer now waits: the next push wakes it
    assert producer.try_push([b"a"]) == 1
    assert wakes == ["consumer"]
    assert [producer.try_push([b"%d" % n]) for n in range(4)] == [2, 3, 4, -1]
    assert wakes == ["consumer"]  # one wake for the burst
    assert consumer.pop() == [b"a"]
    assert wakes == ["consumer"]
    assert consumer.pop() == [b"0"]  # down to the low-water mark (2), the producer refused
    assert wakes == ["consumer", "producer"]
    assert consumer.pop() == [b"1"]
    assert consumer.pop() == [b"2"]
    assert wakes == ["consumer", "producer"]
    assert consumer.pop() is None
    assert producer.wakes == 1 and consumer.wakes == 1


def test_ring_ends_check_arguments_and_hold_messages_exactly_while_queued() -> None:
    producer, consumer, _ = _ring(1)
    with pytest.raises(TypeError):
        producer.try_push()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        consumer.pop(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _core.RingConsumer.pop(producer)  # type: ignore[arg-type]
    assert not hasattr(consumer, "try_push") and not hasattr(producer, "pop")
    message = _Message([b"x"])
    held = sys.getrefcount(message)
    assert producer.try_push(message) == 1
    refused = _Message([b"y"])
    watch_refused = weakref.ref(refused)
    assert producer.try_push(refused) == -1
    del refused
    assert watch_refused() is None
    assert sys.getrefcount(message) == held + 1
    popped = consumer.pop()
    assert popped is message
    del popped
    assert sys.getrefcount(message) == held


def test_a_conflating_ring_pop_returns_the_newest_and_releases_the_rest_at_once() -> None:
    producer, consumer, _ = _ring(0, conflate=True)
    older = _Message([b"old"])
    watch_older = weakref.ref(older)
    producer.try_push(older)
    del older
    producer.try_push(_Message([b"new"]))
    assert consumer.pop() == [b"new"]
    assert watch_older() is None
    assert consumer.pop() is None


def test_an_error_in_a_wake_reaches_the_caller_with_the_message_queued() -> None:
    def failing_wake() -> None:
        raise RuntimeError("wake failed")

    producer, consumer = _core.ring(4, 4, failing_wake, failing_wake)
    assert consumer.pop() is None
    with pytest.raises(RuntimeError, match="wake failed"):
        producer.try_push([b"queued"])
    assert consumer.pop() == [b"queued"]
