"""PLAIN on the Malamute broker (``mechanism = plain``, ``server/auth/plain``): a client
with the right password gets a session, a wrong one gets nothing and the broker keeps
serving; pyzmq (libzmq's PLAIN) logs in too; ``zmtrio malamute`` reads the password file."""

from __future__ import annotations

import os
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio._cli import _parser
from zmtrio._cli._malamute import run_malamute
from zmtrio.malamute import Broker, Client, MalamuteError
from zmtrio.malamute._codec import Command, Message, decode, encode
from zmtrio.malamute._config import ConfigError, load_config, load_passwords

from tests.conftest import ZmqPeer

PASSWORDS = {"writer": "secret", "reader": "secret"}

#: Seconds a refused client waits for a session before giving up (it never gets one).
REFUSED_MS = 1_000


async def test_right_password_works_end_to_end(ctx: zmtrio.Context) -> None:
    async with (
        Broker(ctx, "tcp://127.0.0.1:*", plain_passwords=PASSWORDS) as broker,
        Client(ctx) as writer,
        Client(ctx) as reader,
    ):
        endpoint = broker.endpoints[0]
        writer.set_plain_auth("writer", "secret")
        reader.set_plain_auth("reader", "secret")
        await writer.connect(endpoint, "writer")
        await reader.connect(endpoint, "reader")
        await writer.set_producer("weather")
        await reader.set_consumer("weather", "temp.*")
        await writer.send("temp.moscow", b"1")
        await writer.sendto("reader", "hello", b"mail")
        with trio.fail_after(10):
            stream = await reader.recv()
            mail = await reader.recv()
        assert (stream.command, stream.sender, stream.subject, stream.content) == (
            "STREAM DELIVER",
            "writer",
            "temp.moscow",
            [b"1"],
        )
        assert (mail.command, mail.sender, mail.subject, mail.content) == (
            "MAILBOX DELIVER",
            "writer",
            "hello",
            [b"mail"],
        )


@pytest.mark.parametrize("credentials", [("writer", "wrong"), ("nobody", "secret"), None], ids=str)
async def test_refused_client_gets_no_session_and_the_broker_carries_on(
    ctx: zmtrio.Context, credentials: tuple[str, str] | None
) -> None:
    async with (
        Broker(ctx, "tcp://127.0.0.1:*", plain_passwords=PASSWORDS) as broker,
        Client(ctx) as intruder,
        Client(ctx) as reader,
        Client(ctx) as writer,
    ):
        endpoint = broker.endpoints[0]
        reader.set_plain_auth("reader", "secret")
        await reader.connect(endpoint, "reader")
        await reader.set_consumer("weather", "")
        if credentials is not None:  # None: a NULL client to a PLAIN broker
            intruder.set_plain_auth(*credentials)
        with pytest.raises(MalamuteError) as refused:
            await intruder.connect(endpoint, "intruder", REFUSED_MS)
        assert refused.value.status == -1
        assert not intruder.connected
        assert broker.statistics().clients == 1
        # The broker still serves a good client, and nothing of the intruder's reached it.
        writer.set_plain_auth("writer", "secret")
        await writer.connect(endpoint, "writer")
        await writer.set_producer("weather")
        await writer.send("after", b"good")
        with trio.fail_after(10):
            delivery = await reader.recv()
        assert (delivery.sender, delivery.subject) == ("writer", "after")
        assert broker.statistics().clients == 2


async def test_pyzmq_plain_client_to_the_broker(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """libzmq's PLAIN client: refused with a wrong password, served with the right one."""
    async with Broker(ctx, "tcp://127.0.0.1:*", plain_passwords=PASSWORDS) as broker:
        endpoint = broker.endpoints[0]
        bad = ZmqPeer(zctx, zmq.DEALER, timeout_ms=REFUSED_MS)
        bad.sock.plain_username = b"writer"
        bad.sock.plain_password = b"wrong"
        bad.connect(endpoint)
        # libzmq ends the session (and its pipe) when the handshake is refused, so the refusal
        # shows as a send that finds no pipe when it comes first, else as a reply never sent.
        with pytest.raises(zmq.Again):
            await bad.send_multipart(encode(Message(Command.CONNECTION_OPEN, address="bad")))
            await bad.recv_multipart()
        bad.close()
        good = ZmqPeer(zctx, zmq.DEALER)
        good.sock.plain_username = b"reader"
        good.sock.plain_password = b"secret"
        good.connect(endpoint)
        await good.send_multipart(encode(Message(Command.CONNECTION_OPEN, address="reader")))
        assert decode(await good.recv_multipart()) == Message(Command.OK, status_code=200)
        assert broker.statistics().clients == 1
        good.close()


PLAIN_CFG = """\
server
    timeout = 10000
    auth
        plain = {passwords}
mlm_server
    security
        mechanism = plain
    bind
        endpoint = {endpoint}
"""

PASSWORDS_CFG = """\
#   username is mailbox address
reader=secret
writer = secret   # spaces around '=' as zconfig allows
"""


def test_the_password_file_is_read_as_zauth_reads_it(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "passwords.cfg")
    with open(path, "w") as file:
        file.write(PASSWORDS_CFG)
    assert load_passwords(path) == PASSWORDS


def test_plain_without_a_password_file_is_a_config_error(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "malamute.cfg")
    with open(path, "w") as file:
        file.write("mlm_server\n    security\n        mechanism = plain\n")
    with pytest.raises(ConfigError, match="server/auth/plain"):
        load_config(path)


async def test_cli_broker_with_mechanism_plain(
    tmp_path: os.PathLike[str], ipc_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    passwords = os.path.join(tmp_path, "passwords.cfg")
    with open(passwords, "w") as file:
        file.write(PASSWORDS_CFG)
    endpoint = f"ipc://{ipc_dir}/malamute"
    config = os.path.join(tmp_path, "malamute.cfg")
    with open(config, "w") as file:
        file.write(PLAIN_CFG.format(passwords=passwords, endpoint=endpoint))
    assert load_config(config).mechanism == "plain"
    arguments = _parser().parse_args(["malamute", config])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_malamute, arguments)
        async with zmtrio.Context() as ctx:
            async with Client(ctx) as client, Client(ctx) as refused:
                client.set_plain_auth("reader", "secret")
                with trio.fail_after(10):
                    # The broker binds as the nursery task starts: retry until it answers.
                    while True:
                        try:
                            await client.connect(endpoint, "reader", 500)
                            break
                        except MalamuteError:
                            pass
                # The broker answers now: a wrong password still gets no session.
                refused.set_plain_auth("reader", "wrong")
                with pytest.raises(MalamuteError):
                    await refused.connect(endpoint, "", REFUSED_MS)
                await client.sendto("reader", "note", b"to myself")
                with trio.fail_after(10):
                    delivery = await client.recv()
                assert (delivery.sender, delivery.subject) == ("reader", "note")
        nursery.cancel_scope.cancel()
    assert f"malamute: bound to {endpoint}" in capsys.readouterr().out
