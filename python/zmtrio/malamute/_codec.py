"""The Malamute protocol codec (``mlm_proto``), driven by one table of its 18 messages.

One protocol message is one ZeroMQ message: a header frame, then, for the messages that
carry a body, zero or more content frames. The header frame is::

    AA A8            signature: 0xAAA0 | 8, big-endian
    <id>             one byte, 1..18
    <fields...>      in the order the table lists them

Field encodings (zproto's): ``number2``/``number4`` are big-endian unsigned integers;
``string`` is a one-byte length then that many bytes; ``msg`` is every frame after the
header (never inside it). Constant fields (CONNECTION OPEN's ``"MALAMUTE"`` and version 1)
are written as their value and rejected on input when they differ, as ``mlm_proto_recv``
does. Bytes left over after the last field are ignored, also as ``mlm_proto_recv`` does.

Strings are text to Python: decoded as UTF-8 with ``surrogateescape``, so any bytes a C peer
sent come back unchanged when the string is encoded again.
"""

from __future__ import annotations

import enum
import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, final

from .._errors import ZMQError

__all__ = [
    "SIGNATURE",
    "Command",
    "MalformedMessage",
    "Message",
    "Status",
    "decode",
    "encode",
]

#: The first two bytes of every header frame.
SIGNATURE: Final = b"\xaa\xa8"


class Command(enum.IntEnum):
    """The message ids of ``mlm_proto``."""

    CONNECTION_OPEN = 1
    CONNECTION_PING = 2
    CONNECTION_PONG = 3
    CONNECTION_CLOSE = 4
    STREAM_WRITE = 5
    STREAM_READ = 6
    STREAM_SEND = 7
    STREAM_DELIVER = 8
    MAILBOX_SEND = 9
    MAILBOX_DELIVER = 10
    SERVICE_SEND = 11
    SERVICE_OFFER = 12
    SERVICE_DELIVER = 13
    OK = 14
    ERROR = 15
    CREDIT = 16
    CONFIRM = 17
    STREAM_CANCEL = 18

    @property
    def label(self) -> str:
        """The name the protocol uses, e.g. ``"STREAM DELIVER"``."""
        return self.name.replace("_", " ")


class Status(enum.IntEnum):
    """Status codes carried by OK, ERROR and CONFIRM."""

    SUCCESS = 200
    FAILED = 300
    COMMAND_INVALID = 500
    NOT_IMPLEMENTED = 501
    INTERNAL_ERROR = 502


class MalformedMessage(Exception):
    """A message that is not ``mlm_proto``: the receiver drops it."""


@final
@dataclass(frozen=True, slots=True)
class Message:
    """One ``mlm_proto`` message; each command uses the fields the table gives it."""

    command: Command
    address: str = ""
    stream: str = ""
    pattern: str = ""
    subject: str = ""
    sender: str = ""
    tracker: str = ""
    timeout: int = 0
    status_code: int = 0
    status_reason: str = ""
    amount: int = 0
    content: Sequence[bytes] = field(default=())


Kind = Literal["string", "number2", "number4"]

#: Fields whose value is fixed by the protocol: written as given, checked on input.
_CONSTANTS: Final[dict[str, str | int]] = {"protocol": "MALAMUTE", "version": 1}

#: A field: its name (a ``Message`` attribute unless it is a constant) and its encoding.
_Field = tuple[str, Kind]

_STATUS: Final[tuple[_Field, ...]] = (
    ("status_code", "number2"),
    ("status_reason", "string"),
)

#: Every message: its header fields in wire order, and whether content frames follow.
MESSAGES: Final[dict[Command, tuple[tuple[_Field, ...], bool]]] = {
    Command.CONNECTION_OPEN: (
        (("protocol", "string"), ("version", "number2"), ("address", "string")),
        False,
    ),
    Command.CONNECTION_PING: ((), False),
    Command.CONNECTION_PONG: ((), False),
    Command.CONNECTION_CLOSE: ((), False),
    Command.STREAM_WRITE: ((("stream", "string"),), False),
    Command.STREAM_READ: ((("stream", "string"), ("pattern", "string")), False),
    Command.STREAM_SEND: ((("subject", "string"),), True),
    Command.STREAM_DELIVER: (
        (("address", "string"), ("sender", "string"), ("subject", "string")),
        True,
    ),
    Command.MAILBOX_SEND: (
        (
            ("address", "string"),
            ("subject", "string"),
            ("tracker", "string"),
            ("timeout", "number4"),
        ),
        True,
    ),
    Command.MAILBOX_DELIVER: (
        (
            ("sender", "string"),
            ("address", "string"),
            ("subject", "string"),
            ("tracker", "string"),
        ),
        True,
    ),
    Command.SERVICE_SEND: (
        (
            ("address", "string"),
            ("subject", "string"),
            ("tracker", "string"),
            ("timeout", "number4"),
        ),
        True,
    ),
    Command.SERVICE_OFFER: ((("address", "string"), ("pattern", "string")), False),
    Command.SERVICE_DELIVER: (
        (
            ("sender", "string"),
            ("address", "string"),
            ("subject", "string"),
            ("tracker", "string"),
        ),
        True,
    ),
    Command.OK: (_STATUS, False),
    Command.ERROR: (_STATUS, False),
    Command.CREDIT: ((("amount", "number2"),), False),
    Command.CONFIRM: ((("tracker", "string"), *_STATUS), False),
    Command.STREAM_CANCEL: ((("stream", "string"),), False),
}

_NUMBERS: Final = {"number2": struct.Struct(">H"), "number4": struct.Struct(">I")}


def _put(out: bytearray, kind: Kind, value: str | int) -> None:
    if kind == "string":
        if not isinstance(value, str):
            raise ZMQError(errno.EINVAL, f"expected a string, got {value!r}")
        data = value.encode("utf-8", "surrogateescape")
        if len(data) > 255:
            raise ZMQError(errno.EINVAL, f"string field longer than 255 bytes: {value[:40]!r}...")
        out.append(len(data))
        out += data
        return
    number = _NUMBERS[kind]
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * number.size):
        raise ZMQError(errno.EINVAL, f"{kind} field out of range: {value!r}")
    out += number.pack(value)


def encode(message: Message) -> list[bytes]:
    """The frames of ``message``: its header, then its content if the command has one.
    Raises ``ZMQError(EINVAL)`` for a string over 255 bytes or a number out of range."""
    fields, has_content = MESSAGES[message.command]
    header = bytearray(SIGNATURE)
    header.append(message.command)
    for name, kind in fields:
        _put(header, kind, _CONSTANTS[name] if name in _CONSTANTS else getattr(message, name))
    if has_content:
        return [bytes(header), *message.content]
    return [bytes(header)]


def decode(frames: Sequence[bytes]) -> Message:
    """The message in ``frames``; raises :class:`MalformedMessage` for a wrong signature,
    an unknown id, a truncated field or a wrong constant. Frames after the header of a
    command that has no content are ignored."""
    if not frames:
        raise MalformedMessage("no frames")
    header = frames[0]
    if len(header) < 3 or header[:2] != SIGNATURE:
        raise MalformedMessage("invalid signature")
    try:
        command = Command(header[2])
    except ValueError:
        raise MalformedMessage(f"unknown message id {header[2]}") from None
    fields, has_content = MESSAGES[command]
    values: dict[str, str | int] = {}
    offset = 3
    end = len(header)
    for name, kind in fields:
        value: str | int
        if kind == "string":
            if offset >= end:
                raise MalformedMessage(f"{command.label}: truncated string")
            size = header[offset]
            offset += 1
            if offset + size > end:
                raise MalformedMessage(f"{command.label}: truncated string")
            value = header[offset : offset + size].decode("utf-8", "surrogateescape")
            offset += size
        else:
            number = _NUMBERS[kind]
            if offset + number.size > end:
                raise MalformedMessage(f"{command.label}: truncated {kind}")
            (value,) = number.unpack_from(header, offset)
            offset += number.size
        constant = _CONSTANTS.get(name)
        if constant is not None:
            if value != constant:
                raise MalformedMessage(f"{command.label}: {value!r} instead of {constant!r}")
        else:
            values[name] = value
    content = tuple(frames[1:]) if has_content else ()
    return Message(command, content=content, **values)  # type: ignore[arg-type]
