"""``zmtrio monitor ENDPOINT --type TYPE``: a socket's monitor events, live.

Connects (or, with ``--bind``, binds) a socket of the given type and prints each of its
monitor events on one line: UTC time, event name, endpoint and libzmq's value for it (a
descriptor, an errno, a retry interval in ms or a protocol error code), until interrupted
or ``--count`` events were printed. A SUB subscribes to everything, so a PUB peer sends.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from typing import TextIO

import zmtrio

__all__ = ["add_monitor_command", "format_event", "run_monitor"]

#: The socket types ``--type`` accepts, by lower-case name.
_TYPES = {kind.name.lower(): kind for kind in zmtrio.SocketType if kind <= zmtrio.XSUB}


def add_monitor_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``monitor`` to the subcommands."""
    parser = commands.add_parser(
        "monitor", help="print a socket's monitor events live", description=__doc__
    )
    parser.add_argument("endpoint", help="endpoint to connect to (or bind, with --bind)")
    parser.add_argument("-t", "--type", required=True, choices=sorted(_TYPES), help="socket type")
    parser.add_argument("-b", "--bind", action="store_true", help="bind instead of connect")
    parser.add_argument("-n", "--count", type=int, help="stop after this many events")


def format_event(event: zmtrio.Event, when: datetime) -> str:
    """One event as a line: time, name, endpoint, value."""
    name = event.event.name or str(int(event.event))
    return f"{when.isoformat(timespec='microseconds')} {name} {event.endpoint} {event.value}"


async def run_monitor(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    """Watch one socket until interrupted or ``--count`` events were printed."""
    limit = args.count if args.count is not None else math.inf
    printed = 0
    async with zmtrio.Context() as ctx, ctx.socket(_TYPES[args.type]) as sock:
        if sock.type == zmtrio.SUB:
            sock.subscribe(b"")
        async with sock.monitor() as events:
            if args.bind:
                print(f"bound {await sock.bind(args.endpoint)}", file=sys.stderr)
            else:
                await sock.connect(args.endpoint)
            async for event in events:
                out.write(format_event(event, datetime.now(UTC)) + "\n")
                out.flush()
                printed += 1
                if printed >= limit:
                    break
