"""``zmtrio malamute`` (its ZPL configuration) and ``zmtrio malamute-client`` end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import trio
import zmtrio
from zmtrio._cli import _parser
from zmtrio._cli._malamute import run_malamute_client
from zmtrio.malamute import Broker, Client, QueueLimits
from zmtrio.malamute._config import BrokerConfig, ConfigError, load_config, parse_zpl

from tests.conftest import wait_until

#: Seconds a command-line client may take.
RUN_TIMEOUT = 30

MALAMUTE_CFG = """\
#   A broker configuration in malamute's own layout
server
    timeout = 10000     #   Client connection timeout, msec
    background = 0
    auth
        plain = passwords.cfg
mlm_server
    security
        mechanism = "null"
    echo = binding Malamute service to 'tcp://*:9999'   # an unquoted value with spaces
    bind
        endpoint = tcp://127.0.0.1:9999
    bind
        endpoint = 'ipc://@/malamute'
    service
        queue
            size-limit = 1000
            size-warn = max
    mailbox
        size-limit = max
        size-warn = 500
        store = mail.sqlite3
"""


def test_a_malamute_configuration_file(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "malamute.cfg")
    with open(path, "w") as file:
        file.write(MALAMUTE_CFG)
    assert load_config(path) == BrokerConfig(
        endpoints=("tcp://127.0.0.1:9999", "ipc://@/malamute"),
        timeout=10_000,
        mechanism="null",
        passwords="passwords.cfg",
        mailbox_limits=QueueLimits(size_limit=None, size_warn=500),
        service_limits=QueueLimits(size_limit=1000, size_warn=None),
        store="mail.sqlite3",
    )


def test_values_read_as_czmq_zconfig_reads_them() -> None:
    root = parse_zpl(MALAMUTE_CFG)
    assert root.get("mlm_server/echo", "") == "binding Malamute service to 'tcp://*:9999'"
    assert root.get("server/timeout", "") == "10000"
    assert root.get("mlm_server/security/mechanism", "") == "null"


def test_defaults_as_malamute() -> None:
    assert load_config("/nonexistent/malamute.cfg") == BrokerConfig(
        endpoints=("ipc://@/malamute",), timeout=5_000, mechanism="null"
    )
    # A file without server/timeout: the server engine's 60 s.
    assert parse_zpl("server\n").get("server/timeout", "60000") == "60000"


@pytest.mark.parametrize(
    "text",
    [
        "server\n   timeout = 1\n",  # three spaces
        "server\n        timeout = 1\n",  # two levels at once
        "server\n\ttimeout = 1\n",
        "bad name! = 1\n",
        'name = "unterminated\n',
    ],
)
def test_malformed_zpl(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_zpl(text)


@pytest.mark.parametrize(
    "text",
    [
        "server\n    timeout = soon\n",
        "mlm_server\n    mailbox\n        size-limit = lots\n",
        "mlm_server\n    security\n        mechanism = curve\n",
    ],
)
def test_bad_values(tmp_path: os.PathLike[str], text: str) -> None:
    path = os.path.join(tmp_path, "bad.cfg")
    with open(path, "w") as file:
        file.write(text)
    with pytest.raises(ConfigError):
        load_config(path)


def _zmtrio(*args: str) -> list[str]:
    return [sys.executable, "-m", "zmtrio", *args]


def test_help() -> None:
    for command in ["malamute", "malamute-client"]:
        result = subprocess.run(
            _zmtrio(command, "--help"), capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        assert result.returncode == 0
        assert "usage: zmtrio " + command in result.stdout


async def _client(capsys: pytest.CaptureFixture[str], endpoint: str, *args: str) -> str:
    """Run ``zmtrio malamute-client`` in this process (a subprocess per call is slow on a
    loaded machine; ``test_help`` and the durable-mailbox test run real processes)."""
    arguments = _parser().parse_args(["malamute-client", "--endpoint", endpoint, *args])
    await run_malamute_client(arguments)
    return capsys.readouterr().out


async def test_client_commands_against_a_broker(
    ctx: zmtrio.Context, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Broker(ctx, "tcp://127.0.0.1:*") as broker, Client(ctx) as probe:
        endpoint = broker.endpoints[0]

        async def cli(*args: str) -> str:
            return await _client(capsys, endpoint, *args)

        await probe.connect(endpoint, "probe")
        await probe.set_consumer("weather", "")
        # produce: frames from the command line
        await _client(
            capsys, endpoint, "--address", "cli", "produce", "weather", "temp.oslo", "-3", "C"
        )
        delivery = await probe.recv()
        assert (delivery.sender, delivery.subject, delivery.content) == (
            "cli",
            "temp.oslo",
            [b"-3", b"C"],
        )
        # sendto, then recv from the mailbox it filled
        await _client(
            capsys, endpoint, "--address", "cli", "sendto", "box", "note", "hello", "0x00ff"
        )
        printed = await cli("--address", "box", "--count", "1", "recv")
        assert printed == "MAILBOX DELIVER cli box note: hello | 0x00ff\n"
        # consume while the probe produces
        async with trio.open_nursery() as nursery:
            consumed: list[str] = []

            async def consume() -> None:
                consumed.append(await cli("--count", "1", "consume", "weather"))

            nursery.start_soon(consume)
            await probe.set_producer("weather")
            while not consumed:
                await probe.send("temp.bergen", b"4")
                await trio.sleep(0.05)
        assert consumed[0].startswith("STREAM DELIVER probe weather temp.bergen: 4\n")
        # worker and request: the worker echoes each request to its sender
        async with trio.open_nursery() as nursery:
            worker = ("--address", "w", "--count", "1", "worker", "echo")
            nursery.start_soon(
                run_malamute_client,
                _parser().parse_args(["malamute-client", "--endpoint", endpoint, *worker]),
            )
            await wait_until(lambda: broker.statistics().clients == 2)
            await probe.sendfor("echo", "ping", b"data")
            reply = await probe.recv()
        assert (reply.command, reply.sender, reply.subject, reply.content) == (
            "MAILBOX DELIVER",
            "w",
            "ping",
            [b"data"],
        )
        assert capsys.readouterr().out == "SERVICE DELIVER probe echo ping: data\n"
        # request: a service call that prints the reply
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_echo_worker, ctx, endpoint)
            reply_text = await _client(
                capsys, endpoint, "--count", "1", "request", "upper", "q", "x"
            )
        assert reply_text.startswith("MAILBOX DELIVER echoer ") and reply_text.endswith(" q: X\n")


async def _echo_worker(ctx: zmtrio.Context, endpoint: str) -> None:
    async with Client(ctx) as worker:
        await worker.connect(endpoint, "echoer")
        await worker.set_worker("upper", "")
        request = await worker.recv()
        await worker.sendto(request.sender, request.subject, request.content[0].upper())
