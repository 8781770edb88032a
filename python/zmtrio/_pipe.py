"""One direction of message flow: a bounded Rust queue plus whom to wake on its edges.

A pipe has one producer and one consumer. The producer calls ``on_readable`` when the queue
goes from empty to non-empty; a producer that found the queue full sets ``writer_blocked``,
and the consumer calls ``on_writable`` once it has drained the queue to the low-water mark
(libzmq's hysteresis, so a blocked producer is woken once per half queue, not per message).
Producer and consumer are a socket and an engine task, or two sockets (inproc).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

from . import _core

__all__ = ["Pipe", "low_water_mark"]


def _nothing() -> None:
    pass


def low_water_mark(hwm: int) -> int:
    """The queue length at which a blocked producer is woken (libzmq's ``compute_lwm``)."""
    return (hwm + 1) // 2


@final
class Pipe:
    """A ``_core.Pipe`` with the callbacks that connect its producer and consumer."""

    __slots__ = ("lwm", "on_readable", "on_writable", "queue", "writer_blocked")

    def __init__(self, hwm: int, conflate: bool = False) -> None:
        self.queue = _core.Pipe(hwm, conflate)
        self.lwm = low_water_mark(hwm)
        self.on_readable: Callable[[], None] = _nothing
        self.on_writable: Callable[[], None] = _nothing
        self.writer_blocked = False

    def set_hwm(self, hwm: int) -> None:
        """Change the high-water mark (inproc pipes learn the reader's half late)."""
        self.queue.hwm = hwm
        self.lwm = low_water_mark(hwm)

    def detach_consumer(self) -> None:
        """The consumer (an engine's writer) is gone: nobody to wake on new messages."""
        self.on_readable = _nothing

    def detach_producer(self) -> None:
        """The producer (an engine's reader) is gone: nobody to wake on room."""
        self.on_writable = _nothing
        self.writer_blocked = False

    def push(self, msg: list[bytes]) -> None:
        """Queue ``msg`` past the high-water mark (protocol messages: subscriptions, a
        welcome message), waking the consumer if the queue was empty."""
        if self.queue.push(msg) == 1:
            self.on_readable()

    def offer(self, msg: list[bytes]) -> int:
        """Queue ``msg`` unless full, waking the consumer if the queue was empty; return the
        new length, or -1 if full. (The per-message sends of load-balance, distribute and
        route-by-id inline this, to save a call on their hot path.)"""
        queued = self.queue.try_push(msg)
        if queued == 1:
            self.on_readable()
        return queued

    def push_run(self, msgs: list[list[bytes]] | list[bytes]) -> int:
        """Queue the prefix of ``msgs`` (messages, or their shared encodings from
        ``_core.encode_message``) that fits below the high-water mark in one Rust call,
        waking the consumer if the queue was empty and marking the producer blocked if not
        all fit; return how many were queued."""
        queue = self.queue
        was_empty = not len(queue)
        queued = queue.push_many(msgs, len(msgs))
        if queued < len(msgs):
            self.writer_blocked = True
        if queued and was_empty:
            self.on_readable()
        return queued

    def consumed(self) -> None:
        """Call after taking messages: wakes a blocked producer at the low-water mark."""
        if self.writer_blocked and len(self.queue) <= self.lwm:
            self.writer_blocked = False
            self.on_writable()
