"""The command line as a new user meets it: one-line errors with the right exit status,
help written for each command, --version, --file per line, printable output, rep's reply
modes, the note about a missing peer, and colour only on a terminal."""

from __future__ import annotations

import argparse
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import zmtrio
from zmtrio._cli import _parser
from zmtrio._cli._roles import DESCRIPTIONS, ROLES, format_frame

from tests.conftest import default_sigint

#: Generous for a loaded machine: each command starts a Python process.
TIMEOUT = 25


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zmtrio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
    )


def one_error_line(stderr: str) -> str:
    """The single line a failure prints; fails when there is more (a traceback)."""
    lines = [line for line in stderr.splitlines() if not line.startswith("zmtrio: note:")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("zmtrio: error: "), stderr
    return lines[0]


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"zmtrio {zmtrio.__version__} (ZMTP 3.1")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("push", "--bogus"), "unrecognized arguments: --bogus (see: zmtrio push --help)"),
        (("sub", "-n", "many"), "argument -n/--count: invalid int value: 'many'"),
        (("nosuchcommand",), "invalid choice: 'nosuchcommand'"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(args: tuple[str, ...], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert expected in one_error_line(result.stderr)
    assert "\x1b[" not in result.stderr  # not a terminal: no colour


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("pull", "--bind", "tcp://nohost:"), "cannot bind tcp://nohost:: invalid tcp port"),
        (("push", "--connect", "foo://x", "hi"), "cannot connect to foo://x: unsupported"),
        (("pull",), "give at least one --bind or --connect endpoint"),
        (("push", "--connect", "tcp://127.0.0.1:5", "--file", "/no/such/file"), "/no/such/file"),
        (
            ("push", "--connect", "tcp://127.0.0.1:5", "0xZZ"),
            "'0xZZ' starts with 0x but is not hex",
        ),
        (("proxy", "pull-push", "--frontend", "bind", "--backend", "x"), "expected bind:ENDPOINT"),
    ],
)
def test_runtime_errors_are_one_line_with_status_1(args: tuple[str, ...], expected: str) -> None:
    result = run_cli(*args, "--linger", "0") if args[0] != "proxy" else run_cli(*args)
    assert result.returncode == 1, result.stderr
    assert expected in one_error_line(result.stderr)


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "zmtrio", "pull", "--bind", "tcp://127.0.0.1:*"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("zmtrio: note: bound tcp://127.0.0.1:")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


#: A command that gets Ctrl-C, then runs synchronous code (say, an async generator's first
#: step, inside trio's hook for it) before its next checkpoint.
_CTRL_C_BETWEEN_CHECKPOINTS = """
import argparse, os, signal, sys
import trio
from zmtrio._cli._app import run_command

async def handler(args: argparse.Namespace) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    total = 0
    for number in range(100_000):  # each turn of the loop lets a signal handler run
        total += number
    print("ran to its checkpoint", total, flush=True)
    await trio.sleep_forever()

sys.exit(run_command(handler, argparse.Namespace()))
"""


def test_ctrl_c_cancels_at_a_checkpoint_not_inside_synchronous_code() -> None:
    # A KeyboardInterrupt raised mid-code can leave an async generator half started; its
    # finalizer then fails after the run (RunFinishedError). Ctrl-C must cancel instead.
    result = subprocess.run(
        [sys.executable, "-c", _CTRL_C_BETWEEN_CHECKPOINTS],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        preexec_fn=default_sigint,
    )
    assert result.returncode == 130, result.stderr
    assert result.stdout == f"ran to its checkpoint {sum(range(100_000))}\n"
    assert result.stderr == "\n", result.stderr


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_flag_of_every_command_has_help() -> None:
    for name, parser in {"zmtrio": _parser(), **_subcommands()}.items():
        for action in parser._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)
        assert parser.description, name
        assert "``" not in parser.format_help(), name


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_has_its_own_help(role: str) -> None:
    result = run_cli(role, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert " ".join(DESCRIPTIONS[role].split()) in text
    assert "``" not in text
    _, sends, receives = ROLES[role]
    assert ("--file" in text) == sends
    assert ("--count" in text) == receives


def test_format_frame_shows_text_with_line_ends_and_tabs() -> None:
    assert format_frame(b"hello\n") == "hello\\n"
    assert format_frame(b"k\tv\r\n") == "k\\tv\\r\\n"
    assert format_frame(b"bell\x07") == "0x" + b"bell\x07".hex()
    assert format_frame("caf\u00e9".encode()) == "caf\u00e9"
    assert format_frame(b"\xff\x00") == "0xff00"


async def _serve_pull(endpoint_ready: trio.MemorySendChannel[str], count: int) -> list[list[bytes]]:
    async with zmtrio.Context(linger=0) as ctx, ctx.socket(zmtrio.PULL) as pull:
        await endpoint_ready.send(await pull.bind("tcp://127.0.0.1:*"))
        return [await pull.recv_multipart() for _ in range(count)]


@pytest.mark.parametrize("whole", [False, True], ids=["per-line", "whole-file"])
async def test_file_is_sent_per_line_or_whole(tmp_path: Path, whole: bool) -> None:
    path = tmp_path / "messages.txt"
    path.write_bytes(b"one\ntwo,2\r\n")
    async with zmtrio.Context(linger=0) as ctx, ctx.socket(zmtrio.PULL) as pull:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        flags = ["--whole-file"] if whole else []
        push = await trio.run_process(
            [
                sys.executable,
                "-m",
                "zmtrio",
                "push",
                "-c",
                endpoint,
                "-d",
                ",",
                "--file",
                str(path),
                *flags,
            ],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        assert push.returncode == 0, push.stderr.decode()
        if whole:
            assert await pull.recv_multipart() == [b"one\ntwo,2\r\n"]
        else:
            assert await pull.recv_multipart() == [b"one"]
            assert await pull.recv_multipart() == [b"two", b"2"]
        assert await pull.poll(timeout=100) == 0  # nothing more


async def _rep_session(flags: list[str], stdin: bytes) -> tuple[list[list[bytes]], str]:
    """Start ``zmtrio rep`` with ``flags``, send it two requests, return the replies and what
    it printed."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "zmtrio", "rep", "--bind", "tcp://127.0.0.1:*", "-n", "2", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdin is not None and process.stderr is not None
        await process.stdin.send_all(stdin)
        await process.stdin.aclose()
        first_line = b""
        while not first_line.endswith(b"\n"):
            first_line += await process.stderr.receive_some(1)
        match = re.search(r"bound (tcp://\S+)", first_line.decode())
        assert match, first_line
        replies = []
        async with zmtrio.Context(linger=0) as ctx, ctx.socket(zmtrio.REQ) as req:
            await req.connect(match.group(1))
            for request in (b"ping", b"pong\n"):
                await req.send(request)
                replies.append(await req.recv_multipart())
        assert process.stdout is not None
        printed = b""
        while chunk := await process.stdout.receive_some():
            printed += chunk
        assert await process.wait() == 0
    finally:
        process.kill()
    return replies, printed.decode()


async def test_rep_replies_with_what_is_typed_by_default() -> None:
    replies, printed = await _rep_session([], b"first reply\nsecond\n")
    assert replies == [[b"first reply"], [b"second"]]
    assert printed.splitlines() == ["ping", "pong\\n"]


async def test_rep_echo_and_fixed_reply() -> None:
    replies, _ = await _rep_session(["--echo"], b"")
    assert replies == [[b"ping"], [b"pong\n"]]
    replies, _ = await _rep_session(["--reply", "ok"], b"")
    assert replies == [[b"ok"], [b"ok"]]


def test_push_without_a_peer_says_so_and_fails(dead_endpoint: str) -> None:
    result = run_cli("push", "--connect", dead_endpoint, "--linger", "1500", "hello")
    assert result.returncode == 1
    assert f"zmtrio: note: waiting for a peer on {dead_endpoint}" in result.stderr
    assert "1 message not delivered: no peer took it from" in one_error_line(result.stderr)


def test_colour_only_on_a_terminal() -> None:
    controller, terminal = pty.openpty()
    try:
        for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
            result = subprocess.run(
                [sys.executable, "-m", "zmtrio", "pull"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=terminal,
                timeout=TIMEOUT,
                check=False,
                env={**os.environ, **env},
            )
            assert result.returncode == 1
            written = os.read(controller, 4096).decode()
            assert written.startswith("zmtrio: "), written
            assert ("\x1b[1;31merror:\x1b[0m" in written) == coloured, written
    finally:
        os.close(controller)
        os.close(terminal)
