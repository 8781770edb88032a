"""A raw Malamute peer for broker tests: a zmtrio DEALER speaking ``mlm_proto`` through the
codec, so each test sees exactly what the broker sends."""

from __future__ import annotations

import trio
import zmtrio
from zmtrio.malamute._codec import Command, Message, decode, encode

#: Seconds a test waits for one expected message.
WAIT = 5.0


class RawPeer:
    """One connection to a broker, with helpers for the Malamute commands."""

    def __init__(self, ctx: zmtrio.Context) -> None:
        self.sock = ctx.socket(zmtrio.DEALER)
        self.sock.linger = 0

    async def connect(self, endpoint: str) -> RawPeer:
        await self.sock.connect(endpoint)
        return self

    async def send(self, message: Message) -> None:
        await self.sock.send_multipart(encode(message))

    async def recv(self) -> Message:
        with trio.fail_after(WAIT):
            return decode(await self.sock.recv_multipart())

    async def ask(self, message: Message) -> Message:
        await self.send(message)
        return await self.recv()

    async def open(self, address: str) -> None:
        reply = await self.ask(Message(Command.CONNECTION_OPEN, address=address))
        assert reply == Message(Command.OK, status_code=200)

    async def ok(self, message: Message) -> None:
        assert await self.ask(message) == Message(Command.OK, status_code=200)

    async def ping(self) -> Message:
        """PING; the reply also proves every earlier message was handled (no reply
        overtakes another on one connection)."""
        return await self.ask(Message(Command.CONNECTION_PING))

    async def nothing_pending(self) -> None:
        assert await self.ping() == Message(Command.CONNECTION_PONG)


async def raw_peers(ctx: zmtrio.Context, endpoint: str, *addresses: str) -> list[RawPeer]:
    """Peers that have each opened a session with one of ``addresses``."""
    peers = []
    for address in addresses:
        peer = await RawPeer(ctx).connect(endpoint)
        await peer.open(address)
        peers.append(peer)
    return peers
