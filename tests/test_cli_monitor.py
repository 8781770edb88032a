"""``zmtrio monitor``: a live socket's events, one line each, run as a user would."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import trio
import zmq
import zmtrio
from zmq.utils.monitor import recv_monitor_message
from zmtrio._cli._monitor import format_event


def _monitor(*args: str) -> list[str]:
    return [sys.executable, "-m", "zmtrio", "monitor", *args]


def _fields(line: str) -> tuple[str, str, str]:
    """(name, endpoint, value) of a line, after checking its time parses."""
    when, name, endpoint, value = line.split(" ")
    assert datetime.fromisoformat(when).tzinfo is not None
    int(value)
    return name, endpoint, value


async def test_format_event() -> None:
    event = zmtrio.Event(zmtrio.EventType.CONNECTED, 7, "tcp://127.0.0.1:5555")
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert format_event(event, when) == (
        "2026-01-02T03:04:05.000006+00:00 CONNECTED tcp://127.0.0.1:5555 7"
    )


async def test_connecting_socket_events(zctx: zmq.Context[Any]) -> None:
    router = zctx.socket(zmq.ROUTER)
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    result = await trio.run_process(
        _monitor(endpoint, "--type", "dealer", "-n", "2"), capture_stdout=True
    )
    lines = result.stdout.decode().splitlines()
    assert [_fields(line)[:2] for line in lines] == [
        ("CONNECTED", endpoint),
        ("HANDSHAKE_SUCCEEDED", endpoint),
    ]
    router.close()


async def test_bound_socket_events(zctx: zmq.Context[Any]) -> None:
    probe = trio.socket.socket()
    await probe.bind(("127.0.0.1", 0))
    endpoint = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    monitor = subprocess.Popen(
        _monitor(endpoint, "--type", "pull", "--bind", "-n", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # "bound ..." on stderr says the socket listens: now a peer may come and go.
        line = await trio.to_thread.run_sync(monitor.stderr.readline)  # type: ignore[union-attr]
        assert line.strip() == f"bound {endpoint}"
        push = zctx.socket(zmq.PUSH)
        events = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        events.rcvtimeo = 10_000
        push.connect(endpoint)
        # Leave only once the handshake is done at both ends (libzmq's side says so).
        await trio.to_thread.run_sync(recv_monitor_message, events)
        push.disable_monitor()
        events.close(linger=0)
        push.close(linger=0)
        out, _ = await trio.to_thread.run_sync(monitor.communicate, None, 20)
    finally:
        monitor.kill()
    names = [_fields(line)[0] for line in out.splitlines()]
    assert names == ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED"]
