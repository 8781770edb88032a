"""Mailboxes: mail held for addresses whose client is away, in memory or in SQLite.

The broker asks a store to ``put`` mail for an absent address, and when that address opens a
connection it reads the mail ``waiting`` for it, hands each one to the connection, and only
then ``remove``\\ s it. With :class:`SqliteMailboxes` each ``put`` is committed (WAL journal,
``synchronous=FULL``) before the broker reads its next message, so mail the broker took
survives a crash or a kill of the broker process; a kill between handing mail over and
removing it delivers that mail again after the restart, never loses it.
"""

from __future__ import annotations

import sqlite3
import struct
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Final, Protocol, final

__all__ = ["Mail", "MailboxStore", "MemoryMailboxes", "SqliteMailboxes"]


@final
@dataclass(frozen=True, slots=True)
class Mail:
    """One message for a mailbox, as MAILBOX SEND carried it."""

    sender: str
    address: str
    subject: str
    tracker: str
    timeout: int
    content: tuple[bytes, ...]

    @property
    def size(self) -> int:
        """Bytes of content: what Malamute's mailbox size limits count."""
        return sum(len(frame) for frame in self.content)


class MailboxStore(Protocol):
    """Where the broker keeps mail for absent addresses."""

    def put(self, mail: Mail) -> None:
        """Keep ``mail`` until its address connects (durably, for a durable store)."""

    def waiting(self, address: str) -> list[tuple[int, Mail]]:
        """The mail for ``address``, oldest first, each with the key ``remove`` takes."""

    def remove(self, address: str, key: int) -> None:
        """Forget one delivered mail."""

    def size(self, address: str) -> int:
        """Bytes of content waiting for ``address``."""

    def depths(self) -> dict[str, int]:
        """Mail waiting per address (addresses with none left out)."""

    def close(self) -> None:
        """Release what the store holds open."""


@final
class MemoryMailboxes:
    """Mailboxes in memory, lost when the broker stops (Malamute's behaviour)."""

    def __init__(self) -> None:
        self._boxes: defaultdict[str, deque[tuple[int, Mail]]] = defaultdict(deque)
        self._sizes: defaultdict[str, int] = defaultdict(int)
        self._next_key = 0

    def put(self, mail: Mail) -> None:
        """Keep ``mail`` until its address connects."""
        self._next_key += 1
        self._boxes[mail.address].append((self._next_key, mail))
        self._sizes[mail.address] += mail.size

    def waiting(self, address: str) -> list[tuple[int, Mail]]:
        """The mail for ``address``, oldest first."""
        box = self._boxes.get(address)
        return list(box) if box else []

    def remove(self, address: str, key: int) -> None:
        """Forget one delivered mail."""
        box = self._boxes[address]
        for index, (held, mail) in enumerate(box):
            if held == key:
                del box[index]
                self._sizes[address] -= mail.size
                break
        if not box:
            del self._boxes[address]
            del self._sizes[address]

    def size(self, address: str) -> int:
        """Bytes of content waiting for ``address``."""
        return self._sizes.get(address, 0)

    def depths(self) -> dict[str, int]:
        """Mail waiting per address."""
        return {address: len(box) for address, box in self._boxes.items()}

    def close(self) -> None:
        """Nothing to release."""


_LENGTH: Final = struct.Struct(">I")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address BLOB NOT NULL,
    sender BLOB NOT NULL,
    subject BLOB NOT NULL,
    tracker BLOB NOT NULL,
    timeout INTEGER NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_by_address ON mail (address, id);
"""


def _text(value: str) -> bytes:
    # Protocol strings may hold any bytes (surrogate-escaped): store the bytes themselves.
    return value.encode("utf-8", "surrogateescape")


def _untext(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _pack(frames: tuple[bytes, ...]) -> bytes:
    return b"".join(_LENGTH.pack(len(frame)) + frame for frame in frames)


def _unpack(blob: bytes) -> tuple[bytes, ...]:
    frames = []
    offset = 0
    while offset < len(blob):
        (length,) = _LENGTH.unpack_from(blob, offset)
        offset += _LENGTH.size
        frames.append(blob[offset : offset + length])
        offset += length
    return tuple(frames)


@final
class SqliteMailboxes:
    """Mailboxes in a SQLite file that outlive the broker process."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._sizes: dict[str, int] = {
            _untext(address): total
            for address, total in self._db.execute(
                "SELECT address, SUM(size) FROM mail GROUP BY address"
            )
        }

    def put(self, mail: Mail) -> None:
        """Write ``mail`` and commit it before returning."""
        self._db.execute(
            "INSERT INTO mail (address, sender, subject, tracker, timeout, size, content)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                _text(mail.address),
                _text(mail.sender),
                _text(mail.subject),
                _text(mail.tracker),
                mail.timeout,
                mail.size,
                _pack(mail.content),
            ),
        )
        self._sizes[mail.address] = self._sizes.get(mail.address, 0) + mail.size

    def waiting(self, address: str) -> list[tuple[int, Mail]]:
        """The mail for ``address``, oldest first."""
        rows = self._db.execute(
            "SELECT id, sender, subject, tracker, timeout, content FROM mail"
            " WHERE address = ? ORDER BY id",
            (_text(address),),
        )
        return [
            (
                key,
                Mail(
                    _untext(sender),
                    address,
                    _untext(subject),
                    _untext(tracker),
                    timeout,
                    _unpack(content),
                ),
            )
            for key, sender, subject, tracker, timeout, content in rows
        ]

    def remove(self, address: str, key: int) -> None:
        """Delete one delivered mail."""
        (size,) = self._db.execute("SELECT size FROM mail WHERE id = ?", (key,)).fetchone()
        self._db.execute("DELETE FROM mail WHERE id = ?", (key,))
        left = self._sizes.get(address, 0) - size
        if left > 0:
            self._sizes[address] = left
        else:
            self._sizes.pop(address, None)

    def size(self, address: str) -> int:
        """Bytes of content waiting for ``address``."""
        return self._sizes.get(address, 0)

    def depths(self) -> dict[str, int]:
        """Mail waiting per address."""
        return {
            _untext(address): count
            for address, count in self._db.execute(
                "SELECT address, COUNT(*) FROM mail GROUP BY address"
            )
        }

    def close(self) -> None:
        """Close the database."""
        self._db.close()
