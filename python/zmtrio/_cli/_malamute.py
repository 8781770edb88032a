"""``zmtrio malamute [CONFIG]`` (the broker, from Malamute's configuration file) and
``zmtrio malamute-client`` (produce, consume, send and receive mail, offer or call a
service from a terminal).

Deliveries print one per line: ``COMMAND sender address subject: frames``, frames joined by
`` | `` as ``zmtrio``'s socket roles print them.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys

import trio

import zmtrio
from zmtrio.malamute import Broker, Client, Delivery, MalamuteError
from zmtrio.malamute._config import BrokerConfig, ConfigError, load_config, load_passwords

from ._roles import format_frame

__all__ = ["add_malamute_commands", "run_malamute_command"]

_DEFAULT_ENDPOINT = "ipc://@/malamute"


def add_malamute_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``malamute`` and ``malamute-client``."""
    broker = commands.add_parser(
        "malamute",
        help="run a Malamute broker from a malamute configuration file",
        description=(
            "Run a Malamute broker, configured as the C malamute command is (ZPL: "
            "server/timeout, mlm_server/bind/endpoint, mlm_server/security/mechanism, "
            "mlm_server/mailbox/size-limit, mlm_server/service/queue/size-limit, ...). "
            "Without the file, malamute's defaults: ipc://@/malamute, timeout 5000 ms."
        ),
    )
    broker.add_argument("config", nargs="?", default="malamute.cfg", help="(malamute.cfg)")
    broker.add_argument(
        "--store",
        metavar="PATH",
        help="keep mailboxes in this SQLite file across restarts (mlm_server/mailbox/store)",
    )
    broker.add_argument("-v", "--verbose", action="store_true", help="log every client event")

    client = commands.add_parser(
        "malamute-client",
        help="talk to a Malamute broker",
        description="Produce to or consume from a stream, send or receive mail, offer or "
        "call a service.",
    )
    client.add_argument("--endpoint", default=_DEFAULT_ENDPOINT, help=f"({_DEFAULT_ENDPOINT})")
    client.add_argument("--address", default="", help="this client's mailbox address")
    client.add_argument(
        "--plain", metavar="USER:PASSWORD", help="log in with PLAIN (a broker with mechanism=plain)"
    )
    client.add_argument("--timeout", type=int, default=5_000, help="connect timeout, ms (5000)")
    client.add_argument(
        "--count", type=int, default=None, help="stop after this many deliveries (no limit)"
    )
    actions = client.add_subparsers(dest="action", required=True, help="what to do:")
    produce = actions.add_parser("produce", help="publish to STREAM (frames, else stdin lines)")
    produce.add_argument("stream")
    produce.add_argument("subject")
    produce.add_argument("frames", nargs="*")
    consume = actions.add_parser("consume", help="print STREAM messages matching PATTERN")
    consume.add_argument("stream")
    consume.add_argument("pattern", nargs="?", default="")
    sendto = actions.add_parser("sendto", help="send mail to ADDRESS")
    sendto.add_argument("to")
    sendto.add_argument("subject")
    sendto.add_argument("frames", nargs="*")
    actions.add_parser("recv", help="print the mail for --address")
    worker = actions.add_parser(
        "worker", help="offer SERVICE: print each request, send it back to its sender"
    )
    worker.add_argument("service")
    worker.add_argument("pattern", nargs="?", default="")
    request = actions.add_parser("request", help="call SERVICE and print the replies")
    request.add_argument("service")
    request.add_argument("subject")
    request.add_argument("frames", nargs="*")


def _frames(texts: list[str]) -> list[bytes]:
    return [bytes.fromhex(t[2:]) if t.startswith("0x") else t.encode() for t in texts]


def _format(delivery: Delivery) -> str:
    frames = " | ".join(format_frame(frame) for frame in delivery.content)
    return f"{delivery.command} {delivery.sender} {delivery.address} {delivery.subject}: {frames}"


async def run_malamute(args: argparse.Namespace) -> None:
    """Run the broker until interrupted."""
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    try:
        config = load_config(args.config)
    except (OSError, ConfigError) as error:
        sys.exit(f"zmtrio malamute: {args.config}: {error}")
    if not os.path.exists(args.config):
        print(f"'{args.config}' is missing, using malamute's defaults", flush=True)
    passwords = None
    if config.mechanism == "plain":
        assert config.passwords is not None  # load_config insists on the file
        try:
            passwords = load_passwords(config.passwords)
        except (OSError, ConfigError) as error:
            sys.exit(f"zmtrio malamute: {config.passwords}: {error}")
    store = args.store or config.store
    await _serve(config, store, passwords)


async def _serve(config: BrokerConfig, store: str | None, passwords: dict[str, str] | None) -> None:
    async with zmtrio.Context() as ctx:
        broker = Broker(
            ctx,
            *config.endpoints,
            timeout=config.timeout,
            store=store,
            mailbox_limits=config.mailbox_limits,
            service_limits=config.service_limits,
            plain_passwords=passwords,
        )
        async with broker:
            for endpoint in broker.endpoints:
                print(f"malamute: bound to {endpoint}", flush=True)
            if store:
                print(f"malamute: mailboxes kept in {store}", flush=True)
            await trio.sleep_forever()


async def run_malamute_client(args: argparse.Namespace) -> None:
    """Run one ``malamute-client`` action."""
    limit = math.inf if args.count is None else args.count
    async with zmtrio.Context() as ctx, Client(ctx) as client:
        address = args.address
        if args.action == "request" and not address:
            address = f"zmtrio-request-{os.getpid()}"
        if args.plain is not None:
            username, _, password = args.plain.partition(":")
            client.set_plain_auth(username, password)
        await client.connect(args.endpoint, address, args.timeout)
        action = args.action
        if action == "produce":
            await client.set_producer(args.stream)
            if args.frames:
                await client.send(args.subject, *_frames(args.frames))
            else:
                for line in sys.stdin:
                    await client.send(args.subject, line.rstrip("\n").encode())
            return
        if action == "sendto":
            await client.sendto(args.to, args.subject, *_frames(args.frames))
            return
        if action == "consume":
            await client.set_consumer(args.stream, args.pattern)
        elif action == "worker":
            await client.set_worker(args.service, args.pattern)
        elif action == "request":
            await client.sendfor(args.service, args.subject, *_frames(args.frames))
        received = 0
        async for delivery in client:
            print(_format(delivery), flush=True)
            if action == "worker":
                await client.sendto(delivery.sender, delivery.subject, *delivery.content)
            received += 1
            if received >= limit:
                return


def run_malamute_command(args: argparse.Namespace) -> None:
    """Run ``malamute`` or ``malamute-client`` until done or interrupted."""
    try:
        trio.run(run_malamute if args.command == "malamute" else run_malamute_client, args)
    except KeyboardInterrupt:
        pass
    except MalamuteError as error:
        sys.exit(f"zmtrio {args.command}: {error}")
