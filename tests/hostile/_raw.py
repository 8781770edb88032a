"""Raw ZMTP 3.x building blocks for tests that speak to zmtrio byte by byte.

Everything here follows /work/shared/spec/ZMTP.md §1-3: a 64-byte greeting, frames of
``flags, size, body`` (short or long size form), commands as ``name_len name data`` bodies,
and READY metadata as ``name_len name value_len:u32be value`` properties.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager

import trio
import zmtrio

GREETING_LEN = 64

#: Frame flag bits (spec §2).
MORE = 0x01
LONG = 0x02
COMMAND = 0x04

#: libzmq's ZMQ_PROTOCOL_ERROR_* codes used by the tests (spec §10).
ZMTP_UNSPECIFIED = 0x10000000
UNEXPECTED_COMMAND = 0x10000001
INVALID_METADATA = 0x10000018
MECHANISM_MISMATCH = 0x11000002


# ---------------------------------------------------------------------------- encoding


def greeting(
    major: int = 3,
    minor: int = 1,
    mechanism: bytes = b"NULL",
    *,
    as_server: bool = False,
    padding: bytes = b"\x00" * 7 + b"\x01",
    signature_end: int = 0x7F,
) -> bytes:
    """A 64-byte ZMTP 3.x greeting (spec §1.1)."""
    assert len(padding) == 8 and len(mechanism) <= 20
    return (
        b"\xff"
        + padding
        + bytes([signature_end, major, minor])
        + mechanism.ljust(20, b"\x00")
        + bytes([int(as_server)])
        + b"\x00" * 31
    )


def frame(
    body: bytes, *, more: bool = False, command: bool = False, long: bool | None = None
) -> bytes:
    """One frame: the short size form for bodies up to 255 bytes unless ``long`` says
    otherwise (spec §2)."""
    flags = (MORE if more else 0) | (COMMAND if command else 0)
    if long is None:
        long = len(body) > 255
    if long:
        return bytes([flags | LONG]) + len(body).to_bytes(8, "big") + body
    assert len(body) <= 255, "a short frame holds at most 255 bytes"
    return bytes([flags, len(body)]) + body


def long_header(size: int, flags: int = 0) -> bytes:
    """Just the header of a long frame announcing ``size`` body bytes (for lying peers)."""
    return bytes([flags | LONG]) + size.to_bytes(8, "big")


def message(frames: Iterable[bytes]) -> bytes:
    """A whole message: every frame but the last carries MORE."""
    parts = list(frames)
    return b"".join(frame(part, more=i < len(parts) - 1) for i, part in enumerate(parts))


def command_body(name: bytes, data: bytes = b"") -> bytes:
    """A command body: ``name_len:u8 name data`` (spec §3.1)."""
    return bytes([len(name)]) + name + data


def command(name: bytes, data: bytes = b"") -> bytes:
    """A command frame."""
    return frame(command_body(name, data), command=True)


def properties(props: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """Metadata properties as READY carries them (spec §3.2)."""
    items = props.items() if isinstance(props, Mapping) else props
    out = b""
    for name, value in items:
        raw_name = name.encode("ascii")
        out += bytes([len(raw_name)]) + raw_name + len(value).to_bytes(4, "big") + value
    return out


def ready(socket_type: bytes | None = None, **extra: bytes) -> bytes:
    """A READY command frame with ``Socket-Type`` (when given) and any extra properties
    (keyword names use ``_`` for ``-``)."""
    props: list[tuple[str, bytes]] = []
    if socket_type is not None:
        props.append(("Socket-Type", socket_type))
    props.extend((name.replace("_", "-"), value) for name, value in extra.items())
    return command(b"READY", properties(props))


def ping(ttl: int = 0, context: bytes = b"") -> bytes:
    """A PING command frame (TTL in tenths of a second, spec §3.4)."""
    return command(b"PING", ttl.to_bytes(2, "big") + context)


def pong(context: bytes = b"") -> bytes:
    """A PONG command frame."""
    return command(b"PONG", context)


def error(reason: bytes) -> bytes:
    """An ERROR command frame (spec §3.3)."""
    return command(b"ERROR", bytes([len(reason)]) + reason)


# ---------------------------------------------------------------------------- decoding


async def read_exactly(stream: trio.abc.ReceiveStream, n: int) -> bytes:
    """Exactly ``n`` bytes from ``stream``; ``EOFError`` if it ends first."""
    chunks: list[bytes] = []
    missing = n
    while missing:
        data = await stream.receive_some(missing)
        if not data:
            got = b"".join(chunks)
            raise EOFError(f"stream ended after {len(got)} of {n} bytes: {got[:64].hex()}")
        chunks.append(data)
        missing -= len(data)
    return b"".join(chunks)


async def read_frame(stream: trio.abc.ReceiveStream) -> tuple[int, bytes]:
    """One frame: ``(flags, body)``."""
    flags = (await read_exactly(stream, 1))[0]
    size_len = 8 if flags & LONG else 1
    size = int.from_bytes(await read_exactly(stream, size_len), "big")
    return flags, await read_exactly(stream, size)


async def read_message(stream: trio.abc.ReceiveStream) -> list[bytes]:
    """One whole message, skipping any commands (PING, ...) in between."""
    parts: list[bytes] = []
    while True:
        flags, body = await read_frame(stream)
        if flags & COMMAND:
            continue
        parts.append(body)
        if not flags & MORE:
            return parts


def parse_command(body: bytes) -> tuple[bytes, bytes]:
    """``(name, data)`` of a command body."""
    return body[1 : 1 + body[0]], body[1 + body[0] :]


def parse_properties(data: bytes) -> dict[str, bytes]:
    """READY metadata back into a dict (names as sent)."""
    props: dict[str, bytes] = {}
    i = 0
    while i < len(data):
        name_len = data[i]
        name = data[i + 1 : i + 1 + name_len].decode("ascii")
        i += 1 + name_len
        value_len = int.from_bytes(data[i : i + 4], "big")
        props[name] = data[i + 4 : i + 4 + value_len]
        i += 4 + value_len
    return props


async def is_closed_by_peer(stream: trio.abc.ReceiveStream) -> bool:
    """Read and drop data until the peer closes; True once it did (EOF or reset).
    Callers bound this with a timeout."""
    while True:
        try:
            data = await stream.receive_some(65536)
        except trio.BrokenResourceError:
            return True  # a reset: the peer closed with our bytes unread
        if not data:
            return True


async def handshake(
    stream: trio.abc.Stream,
    socket_type: bytes,
    *,
    minor: int = 1,
    **extra: bytes,
) -> tuple[bytes, dict[str, bytes]]:
    """Play a well-behaved NULL peer: send our greeting and READY at once, read the other
    side's greeting and READY. Returns its greeting and READY properties."""
    await stream.send_all(greeting(minor=minor) + ready(socket_type, **extra))
    their_greeting = await read_exactly(stream, GREETING_LEN)
    flags, body = await read_frame(stream)
    assert flags & COMMAND, f"expected READY, got a data frame {body!r}"
    name, data = parse_command(body)
    assert name == b"READY", f"expected READY, got {name!r}"
    return their_greeting, parse_properties(data)


# ---------------------------------------------------------------------------- monitor


class EventLog:
    """A socket's monitor events, read lazily, with a way to wait for the one a test
    expects. (No background task: failures surface without exception groups.)"""

    def __init__(self, channel: trio.MemoryReceiveChannel[zmtrio.Event]) -> None:
        self._channel = channel
        self.events: list[zmtrio.Event] = []

    def _drain(self) -> None:
        while True:
            try:
                self.events.append(self._channel.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                return

    def mark(self) -> int:
        """A position: ``wait_for(..., since=mark)`` ignores events logged before it."""
        self._drain()
        return len(self.events)

    async def wait_for(
        self,
        predicate: Callable[[zmtrio.Event], bool],
        *,
        since: int = 0,
        timeout: float = 5,
    ) -> zmtrio.Event:
        """The first event from position ``since`` on that matches ``predicate``."""
        self._drain()
        with trio.fail_after(timeout):
            checked = since
            while True:
                for event in self.events[checked:]:
                    if predicate(event):
                        return event
                checked = len(self.events)
                try:
                    self.events.append(await self._channel.receive())
                except trio.EndOfChannel:
                    raise AssertionError(f"monitor ended; saw {self.kinds(since)}") from None

    async def wait_kind(
        self, kind: zmtrio.EventType, *, since: int = 0, timeout: float = 5
    ) -> zmtrio.Event:
        return await self.wait_for(lambda ev: ev.event == kind, since=since, timeout=timeout)

    def kinds(self, since: int = 0) -> list[zmtrio.EventType]:
        self._drain()
        return [event.event for event in self.events[since:]]


@asynccontextmanager
async def event_log(sock: zmtrio.Socket) -> AsyncIterator[EventLog]:
    """Monitor ``sock`` for the duration of the block."""
    async with sock.monitor() as events:
        assert isinstance(events, trio.MemoryReceiveChannel)
        yield EventLog(events)
