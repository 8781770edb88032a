"""A wakeup for one parked task, cheaper than a ``trio.Event`` per wait."""

from __future__ import annotations

from typing import final

import trio

__all__ = ["Wakeup"]


@final
class Wakeup:
    """One task waits; any code wakes it. A wake while nobody waits is remembered once.

    Used by engine tasks (writer waits for messages, reader waits for room), which re-check
    their queue after every wait, so a remembered wake never loses work.
    """

    __slots__ = ("_pending", "_task")

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None
        self._pending = False

    def wake(self) -> None:
        """Wake the waiting task, or make its next ``wait`` return at once."""
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)
        else:
            self._pending = True

    async def wait(self) -> None:
        """Wait for ``wake``; returns without yielding if a wake is already pending."""
        if self._pending:
            self._pending = False
            return
        self._task = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)
