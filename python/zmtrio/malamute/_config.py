"""Malamute's configuration file: ZPL (ZeroMQ Property Language, rfc.zeromq.org/spec/4), read
as the ``malamute`` command does.

ZPL is a tree of ``name = value`` lines and sections, nested by four spaces of indentation;
``#`` starts a comment; a value is quoted with ``"`` or ``'``, or runs to the comment or the
end of the line (spaces included), as CZMQ's ``zconfig`` reads it. The keys the broker reads,
with ``malamute``'s defaults when the file does not exist:

- ``server/timeout``: client expiry in ms (5000 when the file is missing; 60000 when the key
  is);
- ``mlm_server/bind/endpoint``, once per ``bind`` section (``ipc://@/malamute``);
- ``mlm_server/security/mechanism``: ``null`` or ``plain`` (``null``), with
  ``server/auth/plain`` naming the password file for PLAIN (``name=password`` lines, read
  as CZMQ's ``zauth`` reads it; a relative path from the working directory);
- ``mlm_server/mailbox/size-limit``, ``size-warn`` and
  ``mlm_server/service/queue/size-limit``, ``size-warn``: bytes of content or ``max``;
- ``mlm_server/mailbox/store``: a SQLite path for durable mailboxes (zmtrio's addition).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Final, final

from ._broker import QueueLimits

__all__ = ["BrokerConfig", "ConfigError", "ZplNode", "load_config", "load_passwords", "parse_zpl"]

_LINE: Final = re.compile(
    r"""(?P<name>[A-Za-z0-9$\-_@.&+/]+)\s*
        (?:=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s#"'][^#]*?)))?
        \s*(?:\#.*)?$""",
    re.VERBOSE,
)


class ConfigError(ValueError):
    """A configuration file that is not valid ZPL or holds a bad value."""


@final
@dataclass(slots=True)
class ZplNode:
    """One ZPL name, its value ("" for a bare section) and its children."""

    name: str
    value: str = ""
    children: list[ZplNode] = field(default_factory=list)

    def locate(self, path: str) -> ZplNode | None:
        """The first node at ``path`` ("a/b/c") below this one."""
        node: ZplNode | None = self
        for part in path.split("/"):
            assert node is not None
            node = next((child for child in node.children if child.name == part), None)
            if node is None:
                return None
        return node

    def get(self, path: str, default: str) -> str:
        """The value at ``path``, or ``default`` when there is none."""
        node = self.locate(path)
        return default if node is None else node.value


def parse_zpl(text: str) -> ZplNode:
    """The tree of a ZPL document; raises :class:`ConfigError` on a malformed line."""
    root = ZplNode("root")
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if indent % 4 or raw[indent] == "\t":
            raise ConfigError(f"line {number}: indent by multiples of four spaces")
        depth = indent // 4 + 1
        if depth > len(stack):
            raise ConfigError(f"line {number}: indented too far")
        match = _LINE.match(stripped)
        if match is None:
            raise ConfigError(f"line {number}: not a ZPL line: {stripped!r}")
        value = next((v for v in match.group("dq", "sq", "bare") if v is not None), "")
        node = ZplNode(match.group("name"), value)
        del stack[depth:]
        stack[-1].children.append(node)
        stack.append(node)
    return root


@final
@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """What a ``malamute`` configuration file tells the broker."""

    endpoints: tuple[str, ...] = ("ipc://@/malamute",)
    timeout: int = 5_000
    mechanism: str = "null"
    passwords: str | None = None
    mailbox_limits: QueueLimits = field(default_factory=QueueLimits)
    service_limits: QueueLimits = field(default_factory=QueueLimits)
    store: str | None = None


def _limit(root: ZplNode, path: str) -> int | None:
    value = root.get(path, "max")
    if value == "max":
        return None
    if not value.isdigit():
        raise ConfigError(f"{path}: {value!r} is neither a number of bytes nor 'max'")
    return int(value)


def _limits(root: ZplNode, prefix: str) -> QueueLimits:
    return QueueLimits(_limit(root, prefix + "/size-limit"), _limit(root, prefix + "/size-warn"))


def load_passwords(path: str) -> dict[str, str]:
    """The user names and passwords in a PLAIN password file: one ``name=password`` per
    line, ``#`` comments (CZMQ loads it as top-level ZPL entries)."""
    with open(path, encoding="utf-8") as file:
        root = parse_zpl(file.read())
    return {entry.name: entry.value for entry in root.children}


def load_config(path: str) -> BrokerConfig:
    """The configuration in ``path``; ``malamute``'s defaults if the file does not exist."""
    if not os.path.exists(path):
        return BrokerConfig()
    with open(path, encoding="utf-8") as file:
        root = parse_zpl(file.read())
    timeout = root.get("server/timeout", "60000")
    if not timeout.isdigit():
        raise ConfigError(f"server/timeout: {timeout!r} is not a number of milliseconds")
    server = root.locate("mlm_server")
    endpoints = tuple(
        bind.get("endpoint", "")
        for bind in (server.children if server else [])
        if bind.name == "bind"
    )
    mechanism = root.get("mlm_server/security/mechanism", "null")
    if mechanism not in ("null", "plain"):
        raise ConfigError(f"mlm_server/security/mechanism: {mechanism!r} is not supported")
    passwords = root.get("server/auth/plain", "") or None
    if mechanism == "plain" and passwords is None:
        # malamute would start and refuse every client; say why instead.
        raise ConfigError("mechanism = plain needs server/auth/plain, the password file")
    return BrokerConfig(
        endpoints=endpoints,
        timeout=int(timeout),
        mechanism=mechanism,
        passwords=passwords,
        mailbox_limits=_limits(root, "mlm_server/mailbox"),
        service_limits=_limits(root, "mlm_server/service/queue"),
        store=root.get("mlm_server/mailbox/store", "") or None,
    )
