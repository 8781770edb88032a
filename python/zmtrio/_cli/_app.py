"""What every ``zmtrio`` subcommand gets for free: one-line errors, exit codes, colour only
on a terminal.

A subcommand registers a handler with ``parser.set_defaults(run=handler)``: a plain or an
``async`` function of the parsed arguments. :func:`run_command` runs it and turns what it
raises into one line on stderr and an exit code: 2 for a usage error, 1 for a failure
(:class:`CommandError`, ``zmtrio.ZMQError``, ``OSError``, ``ValueError`` from a bad
value), 130 for Ctrl-C. Anything else is a bug in zmtrio and keeps its traceback.

Ctrl-C cancels an ``async`` handler (it unwinds at its next checkpoint) instead of letting trio
raise ``KeyboardInterrupt`` wherever the main thread happens to be: landing inside trio's
hook for an async generator's first step, that leaves the generator unclosed, and its
finalizer fails with ``RunFinishedError`` once the run is over.
"""

from __future__ import annotations

import argparse
import inspect
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TextIO

import trio

from .._errors import ZMQError

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_USAGE", "CommandError", "Parser"]
__all__ += ["paint", "report", "run_command"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
#: 128 + SIGINT, what shells report for a command ended by Ctrl-C.
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure to report in one line (``zmtrio: error: <message>``), exit status 1."""


#: Exceptions that are the user's situation (a bad endpoint, a port in use, a missing file),
#: not a bug: reported in one line.
_EXPECTED: tuple[type[Exception], ...] = (CommandError, ZMQError, OSError, ValueError)

_STYLES = {"error": "1;31", "note": "33", "dim": "2"}


class Parser(argparse.ArgumentParser):
    """``argparse`` with zmtrio's usage errors (one line naming the command and where its
    help is, exit status 2) and help texts free of reST markup."""

    def format_help(self) -> str:
        """The help text, with the reST literal quotes of docstrings (````x````) dropped, so a
        command may take its module's docstring as its description."""
        return super().format_help().replace("``", "")

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line and exit with status 2."""
        report(f"{message} (see: {self.prog} --help)")
        sys.exit(EXIT_USAGE)


def paint(text: str, style: str, stream: TextIO) -> str:
    """``text`` in ``style`` ("error", "note", "dim") when ``stream`` is a terminal and
    ``NO_COLOR`` is not set (https://no-color.org); plain text otherwise."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def report(message: str, kind: str = "error") -> None:
    """Print ``zmtrio: <kind>: <message>`` on stderr (the kind in colour on a terminal)."""
    label = paint(f"{kind}:", "error" if kind == "error" else "note", sys.stderr)
    print(f"zmtrio: {label} {message}", file=sys.stderr, flush=True)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror and not isinstance(error, ZMQError):
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error) or type(error).__name__


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


async def _until_ctrl_c(
    handler: Callable[[argparse.Namespace], Awaitable[object]], args: argparse.Namespace
) -> bool:
    """Run ``handler``, cancelled by the first Ctrl-C; return whether Ctrl-C ended it. A second
    Ctrl-C (say, while it closes) is trio's ``KeyboardInterrupt`` again."""
    interrupted = False

    async def cancel_on_ctrl_c(task_status: trio.TaskStatus[None]) -> None:
        nonlocal interrupted
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for _ in signals:
                break
        interrupted = True
        nursery.cancel_scope.cancel()

    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(cancel_on_ctrl_c)
            await handler(args)
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if len(group.exceptions) > 1:
            raise
        raise group.exceptions[0] from None  # the handler's own, as trio.run(handler) gives it
    return interrupted


def run_command(handler: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> int:
    """Run a subcommand's handler (``async`` ones under ``trio.run``); return the exit status
    after reporting any failure in one line."""
    try:
        if inspect.iscoroutinefunction(handler):
            if trio.run(_until_ctrl_c, handler, args):
                print(file=sys.stderr)  # end the line the terminal's ^C started
                return EXIT_INTERRUPTED
        else:
            handler(args)
    except BaseException as error:  # sorted below: what is not ours to report re-raises
        leaves = _leaves(error)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            print(file=sys.stderr)  # end the line the terminal's ^C started
            return EXIT_INTERRUPTED
        if any(isinstance(leaf, BrokenPipeError) for leaf in leaves):
            # The reader went away (`zmtrio sub ... | head`): stop quietly, as Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILURE
        if isinstance(error, SystemExit):
            raise
        if all(isinstance(leaf, _EXPECTED) for leaf in leaves):
            for leaf in leaves:
                report(_describe(leaf))
            return EXIT_FAILURE
        raise
    return 0
