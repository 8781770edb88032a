"""The ``mlm_proto`` codec: golden bytes for all 18 messages in both directions, and the
rejection of what is not ``mlm_proto``.

The header bytes below are written out by hand from ``mlm_proto.xml`` and ``mlm_proto.c``
(signature ``AA A8``, the id, then each field); they were also checked against the C codec's
``mlm_proto_send`` output (see the Malamute section of the README)."""

from __future__ import annotations

import errno

import pytest
from zmtrio import ZMQError
from zmtrio.malamute._codec import Command, MalformedMessage, Message, decode, encode

M = Command

#: (message, frames): every command once, fields in wire order.
GOLDEN: list[tuple[Message, list[bytes]]] = [
    (
        Message(M.CONNECTION_OPEN, address="w1"),
        [b"\xaa\xa8\x01\x08MALAMUTE\x00\x01\x02w1"],
    ),
    (Message(M.CONNECTION_PING), [b"\xaa\xa8\x02"]),
    (Message(M.CONNECTION_PONG), [b"\xaa\xa8\x03"]),
    (Message(M.CONNECTION_CLOSE), [b"\xaa\xa8\x04"]),
    (Message(M.STREAM_WRITE, stream="weather"), [b"\xaa\xa8\x05\x07weather"]),
    (
        Message(M.STREAM_READ, stream="weather", pattern="temp.*"),
        [b"\xaa\xa8\x06\x07weather\x06temp.*"],
    ),
    (
        Message(M.STREAM_SEND, subject="temp.moscow", content=(b"-5",)),
        [b"\xaa\xa8\x07\x0btemp.moscow", b"-5"],
    ),
    (
        Message(
            M.STREAM_DELIVER,
            address="weather",
            sender="w1",
            subject="temp.moscow",
            content=(b"-5", b"C"),
        ),
        [b"\xaa\xa8\x08\x07weather\x02w1\x0btemp.moscow", b"-5", b"C"],
    ),
    (
        Message(
            M.MAILBOX_SEND,
            address="bob",
            subject="hi",
            tracker="t1",
            timeout=1000,
            content=(b"hello",),
        ),
        [b"\xaa\xa8\x09\x03bob\x02hi\x02t1\x00\x00\x03\xe8", b"hello"],
    ),
    (
        Message(
            M.MAILBOX_DELIVER,
            sender="alice",
            address="bob",
            subject="hi",
            tracker="t1",
            content=(b"hello",),
        ),
        [b"\xaa\xa8\x0a\x05alice\x03bob\x02hi\x02t1", b"hello"],
    ),
    (
        Message(M.SERVICE_SEND, address="echo", subject="x", timeout=0x01020304),
        [b"\xaa\xa8\x0b\x04echo\x01x\x00\x01\x02\x03\x04"],
    ),
    (
        Message(M.SERVICE_OFFER, address="echo", pattern=".*"),
        [b"\xaa\xa8\x0c\x04echo\x02.*"],
    ),
    (
        Message(M.SERVICE_DELIVER, sender="alice", address="echo", subject="x", content=(b"",)),
        [b"\xaa\xa8\x0d\x05alice\x04echo\x01x\x00", b""],
    ),
    (Message(M.OK, status_code=200), [b"\xaa\xa8\x0e\x00\xc8\x00"]),
    (
        Message(M.ERROR, status_code=500, status_reason="invalid"),
        [b"\xaa\xa8\x0f\x01\xf4\x07invalid"],
    ),
    (Message(M.CREDIT, amount=0x1234), [b"\xaa\xa8\x10\x12\x34"]),
    (
        Message(M.CONFIRM, tracker="t1", status_code=300, status_reason="failed"),
        [b"\xaa\xa8\x11\x02t1\x01\x2c\x06failed"],
    ),
    (Message(M.STREAM_CANCEL, stream="weather"), [b"\xaa\xa8\x12\x07weather"]),
]


def test_golden_covers_every_message() -> None:
    assert sorted(message.command for message, _ in GOLDEN) == list(Command)


@pytest.mark.parametrize(("message", "frames"), GOLDEN, ids=lambda v: getattr(v, "name", ""))
def test_encode_golden(message: Message, frames: list[bytes]) -> None:
    assert encode(message) == frames


@pytest.mark.parametrize(("message", "frames"), GOLDEN, ids=lambda v: getattr(v, "name", ""))
def test_decode_golden(message: Message, frames: list[bytes]) -> None:
    assert decode(frames) == message


def test_issue_example_open_is_17_bytes() -> None:
    (header,) = encode(Message(M.CONNECTION_OPEN, address="w1"))
    assert len(header) == 17
    assert header.hex(" ") == "aa a8 01 08 4d 41 4c 41 4d 55 54 45 00 01 02 77 31"


def test_content_may_be_empty_or_many_frames() -> None:
    for content in [(), (b"",), (b"a", b"", b"c" * 70_000)]:
        message = Message(M.STREAM_SEND, subject="s", content=content)
        frames = encode(message)
        assert frames[1:] == list(content)
        assert decode(frames) == message


def test_frames_after_a_header_without_content_are_ignored() -> None:
    assert decode([b"\xaa\xa8\x02", b"extra"]) == Message(M.CONNECTION_PING)


def test_bytes_after_the_last_field_are_ignored_as_mlm_proto_recv_does() -> None:
    assert decode([b"\xaa\xa8\x05\x01wXYZ"]) == Message(M.STREAM_WRITE, stream="w")


def test_strings_round_trip_any_bytes() -> None:
    header = b"\xaa\xa8\x05\x04\xffa\xc3\xa9"
    message = decode([header])
    assert message.stream == "\udcffaé"
    assert encode(message) == [header]


@pytest.mark.parametrize(
    "frames",
    [
        [],
        [b""],
        [b"\xaa"],
        [b"\xaa\xa8"],
        [b"\xaa\xa9\x02"],
        [b"\xab\xa8\x02"],
        [b"\xaa\xa8\x00"],
        [b"\xaa\xa8\x13"],
        [b"\xaa\xa8\xff"],
        [b"\xaa\xa8\x01\x08MALAMUTX\x00\x01\x00"],
        [b"\xaa\xa8\x01\x08MALAMUTE\x00\x02\x00"],
    ],
)
def test_rejects_signature_ids_and_constants(frames: list[bytes]) -> None:
    with pytest.raises(MalformedMessage):
        decode(frames)


@pytest.mark.parametrize(("message", "frames"), GOLDEN, ids=lambda v: getattr(v, "name", ""))
def test_rejects_every_truncation(message: Message, frames: list[bytes]) -> None:
    header = frames[0]
    for cut in range(3, len(header)):
        with pytest.raises(MalformedMessage):
            decode([header[:cut], *frames[1:]])


def test_encode_refuses_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ZMQError) as long_string:
        encode(Message(M.STREAM_WRITE, stream="x" * 256))
    assert long_string.value.errno == errno.EINVAL
    encode(Message(M.STREAM_WRITE, stream="x" * 255))
    with pytest.raises(ZMQError) as too_big:
        encode(Message(M.CREDIT, amount=65536))
    assert too_big.value.errno == errno.EINVAL
    with pytest.raises(ZMQError):
        encode(Message(M.MAILBOX_SEND, timeout=-1))
