"""Durable mailboxes: mail for an absent client survives the broker, in process and across a
SIGKILL of a ``zmtrio malamute`` broker process, and arrives exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import trio
import zmtrio
from zmtrio.malamute import Broker, Client, Delivery
from zmtrio.malamute._store import Mail, SqliteMailboxes

from tests.conftest import wait_until


def test_sqlite_mailboxes_outlive_their_connection(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "mail.sqlite3")
    store = SqliteMailboxes(path)
    odd = "\udcff-bytes"
    store.put(Mail("a", "bob", "one", "t", 5, (b"x", b"", b"yz")))
    store.put(Mail(odd, "bob", "two", "", 0, ()))
    store.put(Mail("a", "carol", "three", "", 0, (b"c",)))
    store.close()
    store = SqliteMailboxes(path)
    assert store.depths() == {"bob": 2, "carol": 1}
    assert store.size("bob") == 3
    (first_key, first), (_, second) = store.waiting("bob")
    assert first == Mail("a", "bob", "one", "t", 5, (b"x", b"", b"yz"))
    assert second == Mail(odd, "bob", "two", "", 0, ())
    store.remove("bob", first_key)
    store.close()
    store = SqliteMailboxes(path)
    assert [mail for _, mail in store.waiting("bob")] == [second]
    assert store.size("bob") == 0
    store.close()


async def test_mail_survives_a_broker_restart_in_process(
    ctx: zmtrio.Context, tmp_path: os.PathLike[str]
) -> None:
    store = os.path.join(tmp_path, "mail.sqlite3")
    async with Broker(ctx, "tcp://127.0.0.1:*", store=store) as broker:
        async with Client(ctx) as alice:
            await alice.connect(broker.endpoints[0], "alice")
            await alice.sendto("bob", "kept", b"across", b"restarts")
        await wait_until(lambda: broker.statistics().mailboxes == {"bob": 1})
    async with Broker(ctx, "tcp://127.0.0.1:*", store=store) as broker:
        assert broker.statistics().mailboxes == {"bob": 1}
        async with Client(ctx) as bob:
            await bob.connect(broker.endpoints[0], "bob")
            assert await bob.recv() == Delivery(
                "MAILBOX DELIVER", "alice", "bob", "kept", "", [b"across", b"restarts"]
            )
        assert broker.statistics().mailboxes == {}


def _rows(store: str) -> int:
    if not os.path.exists(store):
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM mail").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the broker has not made the table yet
    finally:
        db.close()


@contextmanager
def _broker_process(config: str, store: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "zmtrio", "malamute", config, "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def _killed(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    await trio.to_thread.run_sync(lambda: process.wait(timeout=10))
    assert process.returncode == -signal.SIGKILL


def test_mail_arrives_once_after_the_broker_process_is_killed(
    tmp_path: os.PathLike[str], ipc_dir: str
) -> None:
    """Three broker processes in a row, each a Python start-up that takes seconds on a loaded
    machine: bounded by its own deadline rather than the default 30 s."""

    async def scenario() -> None:
        with trio.fail_after(KILL_SCENARIO_TIMEOUT):
            async with zmtrio.Context() as ctx:
                await _kill_scenario(ctx, str(tmp_path), ipc_dir)

    trio.run(scenario)


#: Seconds the kill scenario may take (pytest-timeout's 120 s stays the hard stop).
KILL_SCENARIO_TIMEOUT = 90


async def _kill_scenario(ctx: zmtrio.Context, tmp_path: str, ipc_dir: str) -> None:
    socket_path = os.path.join(ipc_dir, "broker")
    endpoint = "ipc://" + socket_path
    config = os.path.join(tmp_path, "malamute.cfg")
    with open(config, "w") as file:
        file.write(
            f"server\n    timeout = 10000\nmlm_server\n    bind\n        endpoint = {endpoint}\n"
        )
    store = os.path.join(tmp_path, "mail.sqlite3")

    with _broker_process(config, store) as first:
        await wait_until(lambda: os.path.exists(socket_path), timeout=20)
        async with Client(ctx) as alice:
            await alice.connect(endpoint, "alice", timeout=10_000)
            await alice.sendto("bob", "important", b"once")
            # The broker committed it: now kill it before bob ever connects.
            await wait_until(lambda: _rows(store) == 1, timeout=10)
            await _killed(first)

    with _broker_process(config, store) as second:
        await wait_until(lambda: os.path.exists(socket_path), timeout=20)
        async with Client(ctx) as bob, Client(ctx) as alice:
            await bob.connect(endpoint, "bob", timeout=10_000)
            assert await bob.recv() == Delivery(
                "MAILBOX DELIVER", "alice", "bob", "important", "", [b"once"]
            )
            await wait_until(lambda: _rows(store) == 0, timeout=10)
        await _killed(second)

    with _broker_process(config, store):
        await wait_until(lambda: os.path.exists(socket_path), timeout=20)
        async with Client(ctx) as bob, Client(ctx) as alice:
            await bob.connect(endpoint, "bob", timeout=10_000)
            await alice.connect(endpoint, "alice", timeout=10_000)
            # Anything still stored would reach bob right after his OPEN, before this.
            await alice.sendto("bob", "marker")
            assert (await bob.recv()).subject == "marker"
