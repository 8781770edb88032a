"""The broker against raw ``mlm_proto`` peers: every state of ``mlm_server.xml`` and the
scenarios of Malamute's own selftests."""

from __future__ import annotations

import trio
import zmtrio
from zmtrio.malamute import Broker, QueueLimits
from zmtrio.malamute._codec import Command, Message

from tests.malamute._peers import RawPeer, raw_peers

M = Command
OK = Message(M.OK, status_code=200)
PONG = Message(M.CONNECTION_PONG)
INVALID = Message(M.ERROR, status_code=500)
FAILED = Message(M.ERROR, status_code=300)
TCP = "tcp://127.0.0.1:*"


async def test_every_command_before_open_gets_error_500_and_the_connection_stays(
    ctx: zmtrio.Context,
) -> None:
    async with Broker(ctx, TCP) as broker:
        peer = await RawPeer(ctx).connect(broker.endpoints[0])
        for command in [
            Message(M.STREAM_WRITE, stream="weather"),
            Message(M.CONNECTION_PING),
            Message(M.MAILBOX_SEND, address="x"),
            Message(M.OK, status_code=200),
        ]:
            assert await peer.ask(command) == INVALID
        await peer.open("late")
        await peer.nothing_pending()


async def test_close_before_open_is_ok(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        peer = await RawPeer(ctx).connect(broker.endpoints[0])
        assert await peer.ask(Message(M.CONNECTION_CLOSE)) == OK


async def test_weather_stream_delivers_the_three_matching_subjects_in_order(
    ctx: zmtrio.Context,
) -> None:
    """Malamute's mlm_server selftest: six subjects, a reader on ``temp.*``."""
    async with Broker(ctx, TCP) as broker:
        writer, reader = await raw_peers(ctx, broker.endpoints[0], "writer", "reader")
        await writer.ok(Message(M.STREAM_WRITE, stream="weather"))
        await reader.ok(Message(M.STREAM_READ, stream="weather", pattern="temp.*"))
        for subject in ["temp.moscow", "rain.moscow", "temp.chicago", "rain.chicago"]:
            await writer.send(Message(M.STREAM_SEND, subject=subject, content=(b"x",)))
        for subject in ["temp.london", "rain.london"]:
            await writer.send(Message(M.STREAM_SEND, subject=subject))
        for subject, content in [
            ("temp.moscow", (b"x",)),
            ("temp.chicago", (b"x",)),
            ("temp.london", ()),
        ]:
            delivery = await reader.recv()
            assert delivery == Message(
                M.STREAM_DELIVER,
                address="weather",
                sender="writer",
                subject=subject,
                content=content,
            )
        await reader.nothing_pending()
        await writer.nothing_pending()  # STREAM SEND gets no reply


async def test_a_reader_gets_a_message_once_and_never_its_own(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        a, b = await raw_peers(ctx, broker.endpoints[0], "a", "b")
        for peer in (a, b):
            await peer.ok(Message(M.STREAM_WRITE, stream="s"))
            await peer.ok(Message(M.STREAM_READ, stream="s", pattern="^x"))
            await peer.ok(Message(M.STREAM_READ, stream="s", pattern=""))
        await a.send(Message(M.STREAM_SEND, subject="xy"))
        assert (await b.recv()).subject == "xy"
        await b.nothing_pending()
        await a.nothing_pending()


async def test_patterns_search_the_subject_as_zrex_does(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        writer, reader = await raw_peers(ctx, broker.endpoints[0], "w", "r")
        await writer.ok(Message(M.STREAM_WRITE, stream="s"))
        await reader.ok(Message(M.STREAM_READ, stream="s", pattern=r"\a\d$"))
        for subject in ["1a", "xa1", "a12", "b2"]:
            await writer.send(Message(M.STREAM_SEND, subject=subject))
        assert (await reader.recv()).subject == "xa1"
        assert (await reader.recv()).subject == "b2"
        await reader.nothing_pending()


async def test_stream_cancel_stops_deliveries(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        writer, reader = await raw_peers(ctx, broker.endpoints[0], "w", "r")
        await writer.ok(Message(M.STREAM_WRITE, stream="s"))
        await reader.ok(Message(M.STREAM_READ, stream="s", pattern="a"))
        await reader.ok(Message(M.STREAM_READ, stream="s", pattern="b"))
        await reader.ok(Message(M.STREAM_CANCEL, stream="s"))
        await writer.send(Message(M.STREAM_SEND, subject="ab"))
        await writer.nothing_pending()
        await reader.nothing_pending()


async def test_mail_waits_for_an_offline_client(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        (alice,) = await raw_peers(ctx, broker.endpoints[0], "alice")
        for n in range(3):
            await alice.send(
                Message(
                    M.MAILBOX_SEND,
                    address="bob",
                    subject=f"s{n}",
                    tracker="t",
                    timeout=0,
                    content=(b"hi", str(n).encode()),
                )
            )
        await alice.nothing_pending()  # MAILBOX SEND gets no reply
        assert broker.statistics().mailboxes == {"bob": 3}
        bob = await RawPeer(ctx).connect(broker.endpoints[0])
        await bob.open("bob")
        for n in range(3):
            assert await bob.recv() == Message(
                M.MAILBOX_DELIVER,
                sender="alice",
                address="bob",
                subject=f"s{n}",
                tracker="t",
                content=(b"hi", str(n).encode()),
            )
        assert broker.statistics().mailboxes == {}
        # Connected now: mail goes straight through.
        await alice.send(Message(M.MAILBOX_SEND, address="bob", subject="now"))
        assert (await bob.recv()).subject == "now"
        await bob.nothing_pending()


async def test_mailbox_size_limit_drops_what_does_not_fit(ctx: zmtrio.Context) -> None:
    limits = QueueLimits(size_limit=10, size_warn=4)
    async with Broker(ctx, TCP, mailbox_limits=limits) as broker:
        (alice,) = await raw_peers(ctx, broker.endpoints[0], "alice")
        for content in [b"12345", b"123456", b"12345"]:
            await alice.send(Message(M.MAILBOX_SEND, address="bob", content=(content,)))
        await alice.nothing_pending()
        (bob,) = await raw_peers(ctx, broker.endpoints[0], "bob")
        assert (await bob.recv()).content == (b"12345",)
        assert (await bob.recv()).content == (b"12345",)
        await bob.nothing_pending()


async def test_services_round_robin_over_matching_workers_and_queue_the_rest(
    ctx: zmtrio.Context,
) -> None:
    async with Broker(ctx, TCP) as broker:
        client, w1, w2, w3 = await raw_peers(ctx, broker.endpoints[0], "c", "w1", "w2", "w3")
        # Requests before any offer wait in the queue.
        for n in range(2):
            await client.send(
                Message(M.SERVICE_SEND, address="echo", subject=f"early{n}", content=(b"r",))
            )
        await client.nothing_pending()
        assert broker.statistics().services == {"echo": 2}
        await w1.ok(Message(M.SERVICE_OFFER, address="echo", pattern=""))
        for n in range(2):
            assert await w1.recv() == Message(
                M.SERVICE_DELIVER, sender="c", address="echo", subject=f"early{n}", content=(b"r",)
            )
        await w2.ok(Message(M.SERVICE_OFFER, address="echo", pattern=""))
        await w3.ok(Message(M.SERVICE_OFFER, address="echo", pattern="^special$"))
        for n in range(4):
            await client.send(Message(M.SERVICE_SEND, address="echo", subject=f"job{n}"))
        assert [(await w1.recv()).subject, (await w1.recv()).subject] == ["job0", "job2"]
        assert [(await w2.recv()).subject, (await w2.recv()).subject] == ["job1", "job3"]
        await client.send(Message(M.SERVICE_SEND, address="echo", subject="special"))
        await client.send(Message(M.SERVICE_SEND, address="other", subject="nobody"))
        assert (await w3.recv()).subject == "special"
        for worker in (w1, w2, w3):
            await worker.nothing_pending()
        assert broker.statistics().services == {"echo": 0, "other": 1}


async def test_a_silent_client_expires(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP, timeout=1_000) as broker:
        quiet, chatty = await raw_peers(ctx, broker.endpoints[0], "quiet", "chatty")
        await chatty.ok(Message(M.STREAM_READ, stream="s", pattern=""))
        with trio.fail_after(5):
            while "quiet" in broker.statistics().addresses:
                await chatty.nothing_pending()
                await trio.sleep(0.05)
        assert broker.statistics().addresses == ("chatty",)
        assert await quiet.ping() == INVALID


async def test_an_open_with_an_address_in_use_expires_the_older_client(
    ctx: zmtrio.Context,
) -> None:
    async with Broker(ctx, TCP) as broker:
        old, sender = await raw_peers(ctx, broker.endpoints[0], "x", "sender")
        await old.ok(Message(M.SERVICE_OFFER, address="svc", pattern=""))
        (new,) = await raw_peers(ctx, broker.endpoints[0], "x")
        assert await old.ping() == INVALID
        await sender.send(Message(M.MAILBOX_SEND, address="x", subject="for the new one"))
        await sender.send(Message(M.SERVICE_SEND, address="svc", subject="queued"))
        assert (await new.recv()).subject == "for the new one"
        await sender.nothing_pending()
        assert broker.statistics().services == {"svc": 1}  # the old offer went with it


async def test_ping_credit_confirm_close_and_protocol_violations(ctx: zmtrio.Context) -> None:
    async with Broker(ctx, TCP) as broker:
        endpoint = broker.endpoints[0]
        (peer,) = await raw_peers(ctx, endpoint, "p")
        assert await peer.ping() == PONG
        await peer.send(Message(M.CREDIT, amount=10))
        await peer.nothing_pending()  # CREDIT gets no reply
        # CONFIRM: ERROR 300, then the client is forgotten.
        assert await peer.ask(Message(M.CONFIRM, tracker="t", status_code=200)) == FAILED
        assert await peer.ping() == INVALID
        # STREAM SEND without STREAM WRITE: ERROR 300, forgotten.
        await peer.open("p")
        assert await peer.ask(Message(M.STREAM_SEND, subject="x")) == FAILED
        assert await peer.ping() == INVALID
        # A second OPEN, or a message only a server sends: ERROR 500, forgotten.
        for violation in [
            Message(M.CONNECTION_OPEN, address="p"),
            Message(M.STREAM_DELIVER),
            Message(M.CONNECTION_PONG),
        ]:
            await peer.open("p")
            assert await peer.ask(violation) == INVALID
            assert await peer.ping() == INVALID
        # CLOSE: OK, forgotten.
        await peer.open("p")
        assert await peer.ask(Message(M.CONNECTION_CLOSE)) == OK
        assert await peer.ping() == INVALID
        assert broker.statistics().clients == 0


async def test_malformed_messages_are_dropped_and_everyone_carries_on(
    ctx: zmtrio.Context,
) -> None:
    async with Broker(ctx, TCP) as broker:
        writer, reader = await raw_peers(ctx, broker.endpoints[0], "w", "r")
        await writer.ok(Message(M.STREAM_WRITE, stream="s"))
        await reader.ok(Message(M.STREAM_READ, stream="s", pattern=""))
        for garbage in [
            [b""],
            [b"\xaa\xa9\x02"],
            [b"\xaa\xa8\x13"],
            [b"\xaa\xa8\x07\x09short"],
            [b"\xaa\xa8\x01\x08MALAMUTE\x00\x02\x00"],
        ]:
            await writer.sock.send_multipart(garbage)
        await writer.nothing_pending()
        await writer.send(Message(M.STREAM_SEND, subject="still here"))
        assert (await reader.recv()).subject == "still here"


async def test_the_broker_as_a_nursery_task(ctx: zmtrio.Context) -> None:
    broker = Broker(ctx, TCP)
    async with trio.open_nursery() as nursery:
        endpoints = await nursery.start(broker.run)
        assert endpoints == broker.endpoints
        (peer,) = await raw_peers(ctx, endpoints[0], "p")
        await peer.nothing_pending()
        nursery.cancel_scope.cancel()
    assert broker.endpoints == endpoints


async def test_statistics_and_more_endpoints(ctx: zmtrio.Context, ipc_dir: str) -> None:
    async with Broker(ctx, TCP) as broker:
        ipc = await broker.bind(f"ipc://{ipc_dir}/broker")
        assert broker.endpoints[1] == ipc
        writer, _anonymous = await raw_peers(ctx, ipc, "w", "")
        await writer.ok(Message(M.STREAM_WRITE, stream="news"))
        await writer.send(Message(M.MAILBOX_SEND, address="away", content=(b"x",)))
        await writer.nothing_pending()
        stats = broker.statistics()
        assert (stats.clients, stats.addresses, stats.streams) == (2, ("w",), ("news",))
        assert stats.mailboxes == {"away": 1}
