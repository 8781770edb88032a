"""``cancellation_check()``: trio's ``checkpoint_if_cancelled`` question as a plain call;
``run_context()``: what it reads, for the per-message paths that ask it inline.

Awaiting ``trio.lowlevel.checkpoint_if_cancelled()`` costs about 2,600 CPU instructions when
it does nothing (a coroutine is built, run and freed; callgrind, CPython 3.11): a quarter
of a 64 B ``send`` or ``recv``. The per-message paths instead write
``if maybe_cancelled(): await checkpoint_if_cancelled()``, which asks the same question for
a small part of that and leaves the answer to trio whenever it might be yes.

The question reads what trio's own function reads (the task's cancel status; a Ctrl-C
pending for the main task). The current task is found in the calling thread's own
dictionary of trio's thread-local run context, taken once: reading the thread-local itself
costs about 500 instructions per call. A socket keeps the check of the thread that made it
(it is only used there). If this trio lacks those names, the check always answers True and
trio's function decides on every call, as before.

The per-message paths of ``Socket`` ask the question inline, without even a call (about 60
ns of a 64 B send): they keep ``run_context()`` and read ``context["task"]`` with its
``_cancel_status.effectively_cancelled`` and ``_runner.ki_pending`` themselves, taking the
slow path (which asks trio) whenever either is true. On a trio without those names,
``run_context()`` holds a stand-in task that always reads as cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

__all__ = ["cancellation_check", "run_context"]


def _always() -> bool:
    return True


def _fast_check_factory() -> Callable[[], Callable[[], bool]] | None:
    """What makes the cheap question for the calling thread, if this trio has the
    internals it reads."""
    try:
        from trio._core._run import GLOBAL_RUN_CONTEXT, CancelStatus, Runner, Task
    except ImportError:
        return None
    if not all(
        hasattr(klass, name)
        for klass, name in (
            (Task, "_cancel_status"),
            (Task, "_runner"),
            (CancelStatus, "effectively_cancelled"),
            (Runner, "main_task"),
            (Runner, "ki_pending"),
        )
    ):
        return None

    def check_for_this_thread() -> Callable[[], bool]:
        context = GLOBAL_RUN_CONTEXT.__dict__  # this thread's: the local's own dictionary

        def maybe_cancelled() -> bool:
            """Whether the calling task must pass a checkpoint: it is cancelled, or it is
            the main task and a Ctrl-C waits to be delivered."""
            task = context["task"]
            if task._cancel_status.effectively_cancelled:
                return True
            runner = task._runner
            return runner.ki_pending and task is runner.main_task

        return maybe_cancelled

    return check_for_this_thread


_factory = _fast_check_factory()

#: What ``run_context()`` holds when this trio lacks the internals: a task whose check
#: always says "maybe cancelled", so every call asks trio.
_ASK_TRIO: Mapping[str, Any] = {
    "task": SimpleNamespace(
        _cancel_status=SimpleNamespace(effectively_cancelled=True),
        _runner=SimpleNamespace(ki_pending=True),
    )
}


def run_context() -> Mapping[str, Any]:
    """The calling thread's trio run context as a dictionary (``["task"]``: the running
    task), for an inline ``maybe_cancelled``: ``task._cancel_status.effectively_cancelled
    or task._runner.ki_pending`` is true whenever ``checkpoint_if_cancelled`` would
    checkpoint (it may also be true when it would not: a Ctrl-C waiting for the main task,
    asked from another task)."""
    if _factory is None:
        return _ASK_TRIO
    from trio._core._run import GLOBAL_RUN_CONTEXT

    context: Mapping[str, Any] = GLOBAL_RUN_CONTEXT.__dict__
    return context


def cancellation_check() -> Callable[[], bool]:
    """``maybe_cancelled()`` for tasks of the calling thread: True whenever
    ``checkpoint_if_cancelled`` would checkpoint (and always, on a trio it cannot read)."""
    return _always if _factory is None else _factory()
