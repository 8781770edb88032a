"""The client against zmtrio's broker: the API, its errors, heartbeats, and re-OPEN plus
replay when the broker restarts."""

from __future__ import annotations

import errno
import os

import pytest
import trio
import zmtrio
from zmtrio.malamute import Broker, Client, Delivery, MalamuteError
from zmtrio.malamute import _client as malamute_client

from tests.conftest import wait_until

TCP = "tcp://127.0.0.1:*"


async def test_producer_and_consumer(ctx: zmtrio.Context) -> None:
    async with (
        Broker(ctx, TCP) as broker,
        Client(ctx) as producer,
        Client(ctx) as consumer,
    ):
        endpoint = broker.endpoints[0]
        await producer.connect(endpoint, "producer")
        await consumer.connect(endpoint, "consumer")
        await producer.set_producer("weather")
        await consumer.set_consumer("weather", "^temp\\.")
        await producer.send("rain.paris", b"3mm")
        await producer.send("temp.paris", b"21", b"C")
        assert await consumer.recv() == Delivery(
            "STREAM DELIVER", "producer", "weather", "temp.paris", "", [b"21", b"C"]
        )
        await consumer.remove_consumer("weather")
        await producer.send("temp.rome", b"25")
        await consumer.set_consumer("weather", "rome")
        await producer.send("temp.rome", b"26")
        assert (await consumer.recv()).content == [b"26"]


async def test_mail_and_async_iteration(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker, Client(ctx) as alice:
        await alice.connect(broker.endpoints[0], "alice")
        await alice.sendto("bob", "greeting", b"hi bob", tracker="t1", timeout=1000)
        await alice.sendto("bob", "again", b"?")
        async with Client(ctx) as bob:
            await bob.connect(broker.endpoints[0], "bob")
            received = []
            async for delivery in bob:
                received.append(delivery)
                if len(received) == 2:
                    break
        assert received == [
            Delivery("MAILBOX DELIVER", "alice", "bob", "greeting", "t1", [b"hi bob"]),
            Delivery("MAILBOX DELIVER", "alice", "bob", "again", "", [b"?"]),
        ]


async def test_a_service_with_two_workers(ctx: zmtrio.Context) -> None:
    async with (
        Broker(ctx, TCP) as broker,
        Client(ctx) as requester,
        Client(ctx) as w1,
        Client(ctx) as w2,
    ):
        endpoint = broker.endpoints[0]
        await requester.connect(endpoint, "requester")
        for name, worker in [("w1", w1), ("w2", w2)]:
            await worker.connect(endpoint, name)
            await worker.set_worker("upper", ".*")
        for word in ["a", "b", "c", "d"]:
            await requester.sendfor("upper", "convert", word.encode())

        async def serve(worker: Client, count: int) -> None:
            for _ in range(count):
                request = await worker.recv()
                assert (request.command, request.address) == ("SERVICE DELIVER", "upper")
                await worker.sendto(request.sender, worker.address, request.content[0].upper())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve, w1, 2)
            nursery.start_soon(serve, w2, 2)
            replies = [await requester.recv() for _ in range(4)]
        assert sorted((r.subject, r.content[0]) for r in replies) == [
            ("w1", b"A"),
            ("w1", b"C"),
            ("w2", b"B"),
            ("w2", b"D"),
        ]


async def test_errors(ctx: zmtrio.Context) -> None:
    async with Client(ctx) as client:
        with pytest.raises(MalamuteError) as not_connected:
            await client.set_producer("s")
        assert not_connected.value.status == -1
        with pytest.raises(MalamuteError) as unreachable:
            await client.connect("tcp://127.0.0.1:1", "x", timeout=100)
        assert unreachable.value.status == -1
        async with Broker(ctx, TCP) as broker:  # the same client, after a failed connect
            await client.connect(broker.endpoints[0], "x")
            await client.set_producer("s")
            assert broker.statistics().addresses == ("x",)
    async with Broker(ctx, TCP) as broker, Client(ctx) as client:
        await client.connect(broker.endpoints[0])
        with pytest.raises(zmtrio.ZMQError) as bad_pattern:
            await client.set_consumer("s", "[")
        assert bad_pattern.value.errno == errno.EINVAL
        with pytest.raises(zmtrio.ZMQError) as again:
            await client.connect(broker.endpoints[0])
        assert again.value.errno == errno.EISCONN
        with pytest.raises(zmtrio.ZMQError) as too_long:
            await client.sendto("x" * 256, "s")
        assert too_long.value.errno == errno.EINVAL


async def test_heartbeats_keep_a_client_alive_and_detect_a_silent_broker(
    ctx: zmtrio.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten times faster than mlm_client's 1 s / 4 s, against a broker that expires after 3 s.
    monkeypatch.setattr(malamute_client, "HEARTBEAT", 0.1)
    monkeypatch.setattr(malamute_client, "EXPIRY", 0.4)
    async with Client(ctx) as client:
        async with Broker(ctx, TCP, timeout=3_000) as broker:
            await client.connect(broker.endpoints[0], "alive")
            await trio.sleep(4)  # only the PINGs keep the session that long
            assert broker.statistics().addresses == ("alive",)
            assert client.connected
        await wait_until(lambda: not client.connected)
        with pytest.raises(MalamuteError) as gone:
            await client.set_producer("s")
        assert gone.value.status == -1


async def test_reopen_and_replay_after_a_broker_restart(ctx: zmtrio.Context, ipc_dir: str) -> None:
    endpoint = "ipc://" + os.path.join(ipc_dir, "broker")
    async with Client(ctx) as consumer, Client(ctx) as worker, Client(ctx) as producer:
        async with Broker(ctx, endpoint):
            await consumer.connect(endpoint, "consumer")
            await consumer.set_consumer("news", "")
            await worker.connect(endpoint, "worker")
            await worker.set_worker("svc", "")
            await producer.connect(endpoint, "producer")
            await producer.set_producer("news")
        async with Broker(ctx, endpoint) as broker:
            # Each client's next PING meets ERROR 500: it re-opens and replays its roles.
            await wait_until(
                lambda: (
                    broker.statistics().addresses
                    and set(broker.statistics().addresses) == {"consumer", "worker", "producer"}
                    and all(c.connected for c in (consumer, worker, producer))
                ),
                timeout=15,
            )
            await producer.send("headline", b"restarted")
            assert (await consumer.recv()).content == [b"restarted"]
            await producer.sendfor("svc", "job")
            assert (await worker.recv()).subject == "job"
