"""The public surface: every name API.md promises (for what exists today), libzmq's values
(checked against pyzmq), docstrings, the ``_core`` stub and Z85."""

from __future__ import annotations

import ast
import enum
import errno
import inspect
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
import zmq
import zmtrio
import zmtrio._core
from zmq.utils import z85 as pyzmq_z85

SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH"]
SOCKET_TYPES += ["XPUB", "XSUB", "STREAM", "SERVER", "CLIENT", "RADIO", "DISH", "GATHER"]
SOCKET_TYPES += ["SCATTER", "DGRAM", "PEER", "CHANNEL"]

EVENT_NAMES = [
    "CONNECTED",
    "CONNECT_DELAYED",
    "CONNECT_RETRIED",
    "LISTENING",
    "BIND_FAILED",
    "ACCEPTED",
    "ACCEPT_FAILED",
    "CLOSED",
    "CLOSE_FAILED",
    "DISCONNECTED",
    "MONITOR_STOPPED",
    "HANDSHAKE_FAILED_NO_DETAIL",
    "HANDSHAKE_SUCCEEDED",
    "HANDSHAKE_FAILED_PROTOCOL",
    "HANDSHAKE_FAILED_AUTH",
]

#: Every option constant API.md names ("At least: ...").
OPTION_NAMES = [
    "SNDHWM",
    "RCVHWM",
    "LINGER",
    "ROUTING_ID",
    "IDENTITY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "RECONNECT_IVL",
    "RECONNECT_IVL_MAX",
    "HANDSHAKE_IVL",
    "HEARTBEAT_IVL",
    "HEARTBEAT_TTL",
    "HEARTBEAT_TIMEOUT",
    "MAXMSGSIZE",
    "IMMEDIATE",
    "CONFLATE",
    "ROUTER_MANDATORY",
    "ROUTER_HANDOVER",
    "PROBE_ROUTER",
    "XPUB_VERBOSE",
    "XPUB_VERBOSER",
    "XPUB_MANUAL",
    "XPUB_WELCOME_MSG",
    "XSUB_VERBOSE_UNSUBSCRIBE",
    "REQ_RELAXED",
    "REQ_CORRELATE",
    "SNDTIMEO",
    "RCVTIMEO",
    "TCP_KEEPALIVE",
    "TCP_KEEPALIVE_IDLE",
    "TCP_KEEPALIVE_INTVL",
    "TCP_KEEPALIVE_CNT",
    "IPV6",
    "LAST_ENDPOINT",
    "TYPE",
    "RCVMORE",
    "EVENTS",
    "PLAIN_SERVER",
    "PLAIN_USERNAME",
    "PLAIN_PASSWORD",
    "CURVE_SERVER",
    "CURVE_PUBLICKEY",
    "CURVE_SECRETKEY",
    "CURVE_SERVERKEY",
    "ZAP_DOMAIN",
    "ZAP_ENFORCE_DOMAIN",
    "MECHANISM",
]

#: Flags and errno constants API.md names, all with libzmq's (pyzmq's) values.
FLAG_AND_ERRNO_NAMES = ["SNDMORE", "DONTWAIT", "POLLIN", "POLLOUT", "EFSM", "ETERM"]
FLAG_AND_ERRNO_NAMES += ["EHOSTUNREACH", "EVENT_ALL"]

#: Public classes API.md names.
CLASS_NAMES = ["Context", "Socket", "SocketType", "ZMQError", "Again", "EventType", "Event"]
CLASS_NAMES += ["Message"]


async def test_socket_types() -> None:
    assert issubclass(zmtrio.SocketType, enum.IntEnum)
    assert [member.name for member in zmtrio.SocketType] == SOCKET_TYPES
    for value, name in enumerate(SOCKET_TYPES):
        assert getattr(zmtrio, name) == zmtrio.SocketType[name] == value
        assert getattr(zmtrio, name) == getattr(zmq, name)


async def test_event_types() -> None:
    assert issubclass(zmtrio.EventType, enum.IntFlag)
    for name in EVENT_NAMES:
        assert getattr(zmtrio.EventType, name).value == getattr(zmq, f"EVENT_{name}"), name
    assert zmtrio.EVENT_ALL == 0xFFFF
    assert zmtrio.EventType.HANDSHAKE_SUCCEEDED.value == 0x1000  # spec/ZMTP.md §10


async def test_event_fields() -> None:
    event = zmtrio.Event(zmtrio.EventType.LISTENING, 7, "tcp://127.0.0.1:1")
    assert (event.event, event.value, event.endpoint) == (
        zmtrio.EventType.LISTENING,
        7,
        "tcp://127.0.0.1:1",
    )


@pytest.mark.parametrize("name", OPTION_NAMES)
async def test_option_constants_have_libzmq_values(name: str) -> None:
    assert getattr(zmtrio, name) == getattr(zmq, name), name
    assert name in zmtrio.__all__


async def test_identity_is_routing_id() -> None:
    assert zmtrio.IDENTITY == zmtrio.ROUTING_ID == 5


@pytest.mark.parametrize("name", FLAG_AND_ERRNO_NAMES)
async def test_flags_and_errnos_have_libzmq_values(name: str) -> None:
    assert getattr(zmtrio, name) == getattr(zmq, name), name


async def test_errors() -> None:
    assert issubclass(zmtrio.ZMQError, Exception)
    assert issubclass(zmtrio.Again, zmtrio.ZMQError)
    assert issubclass(zmtrio.Again, trio.WouldBlock)
    again = zmtrio.Again()
    assert again.errno == errno.EAGAIN
    assert again.strerror
    error = zmtrio.ZMQError(zmtrio.EFSM)
    assert error.errno == zmtrio.EFSM
    assert error.strerror == zmq.ZMQError(zmq.EFSM).strerror
    assert str(zmtrio.ZMQError(errno.EINVAL)) == os.strerror(errno.EINVAL)
    assert zmtrio.ZMQError(errno.EINVAL, "custom").strerror == "custom"


@pytest.mark.parametrize("name", CLASS_NAMES)
async def test_public_classes_live_in_zmtrio(name: str) -> None:
    cls = getattr(zmtrio, name)
    assert isinstance(cls, type)
    assert cls.__module__ == "zmtrio"
    assert name in zmtrio.__all__


async def test_every_exported_class_lives_in_zmtrio() -> None:
    for name in zmtrio.__all__:
        obj = getattr(zmtrio, name)
        if isinstance(obj, type):
            assert obj.__module__ == "zmtrio", name


async def test_all_names_exist_once() -> None:
    assert len(zmtrio.__all__) == len(set(zmtrio.__all__))
    for name in zmtrio.__all__:
        assert hasattr(zmtrio, name), name
    namespace: dict[str, object] = {}
    exec("from zmtrio import *", namespace)
    assert set(zmtrio.__all__) <= set(namespace)


async def test_api_md_functions_exist() -> None:
    assert callable(zmtrio.z85_encode)
    assert callable(zmtrio.z85_decode)
    for name in ("z85_encode", "z85_decode"):
        assert name in zmtrio.__all__


def _undocumented(obj: object, qualname: str) -> list[str]:
    """Public callables and properties of ``obj`` (and ``obj``) without a docstring."""
    missing = [] if inspect.getdoc(obj) else [qualname]
    if isinstance(obj, type) and not issubclass(obj, enum.Enum):
        for attr, value in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                if not (value.__doc__ or "").strip():
                    missing.append(f"{qualname}.{attr}")
    return missing


async def test_every_public_name_has_a_docstring() -> None:
    assert zmtrio.__doc__
    missing: list[str] = []
    for name in zmtrio.__all__:
        obj = getattr(zmtrio, name)
        if isinstance(obj, type) or inspect.isroutine(obj):
            missing += _undocumented(obj, name)
    assert missing == []


def _run_mypy(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a mypy tool in a subprocess with a bound of its own: a cold mypy run takes tens of
    seconds on a loaded 2-core machine, more than the per-test trio deadline allows."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        check=False,
        timeout=100,
        cwd=cwd,
        env={**os.environ, "MYPY_CACHE_DIR": os.devnull},
    )


def test_option_constants_are_visible_to_type_checkers(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is in the dev extra, which CI installs")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import zmtrio\n\n" + "".join(f"_{name}: int = zmtrio.{name}\n" for name in OPTION_NAMES)
    )
    result = _run_mypy("mypy", "--strict", str(probe), cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode()


# ---------------------------------------------------------------- the _core stub

STUB = Path(zmtrio.__file__).with_name("_core.pyi")


def _stub_names() -> dict[str, set[str]]:
    """Top-level names of the stub, and the members of each of its classes."""
    tree = ast.parse(STUB.read_text())
    names: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[""].add(node.name)
            members = names.setdefault(node.name, set())
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
        elif isinstance(node, ast.FunctionDef):
            names[""].add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[""].add(node.target.id)
    return names


async def test_core_stub_names_match_the_extension() -> None:
    core = zmtrio._core
    stub = _stub_names()
    runtime = {name for name in dir(core) if not name.startswith("_")}
    assert stub[""] == runtime
    assert set(core.__all__) == runtime
    for cls_name, members in stub.items():
        if not cls_name or cls_name == "ProtocolError":
            continue
        cls = getattr(core, cls_name)
        public = {name for name in dir(cls) if not name.startswith("_")}
        assert {name for name in members if not name.startswith("_")} == public, cls_name
        for dunder in (name for name in members if name.startswith("__")):
            assert hasattr(cls, dunder), f"{cls_name}.{dunder}"


def test_core_stub_passes_stubtest() -> None:
    """mypy's stubtest, allowing only the known difference: pyo3 classes take their
    arguments in ``__new__`` while the stub documents ``__init__``."""
    pytest.importorskip("mypy.stubtest", reason="mypy is in the dev extra, which CI installs")
    result = _run_mypy("mypy.stubtest", "zmtrio._core")
    output = result.stdout.decode() + result.stderr.decode()
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    allowed = (
        "error: zmtrio._core.Connection.__init__ is inconsistent",
        "error: zmtrio._core.Connection.__new__ is inconsistent",
        "error: zmtrio._core.Pipe.__init__ is inconsistent",
        "error: zmtrio._core.Pipe.__new__ is inconsistent",
    )
    unexpected = [line for line in errors if not line.startswith(allowed)]
    assert unexpected == [], output
    assert result.returncode == (1 if errors else 0), output


# ---------------------------------------------------------------- Z85

HELLO = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])


async def test_z85_reference_vector() -> None:
    assert zmtrio.z85_encode(HELLO) == b"HelloWorld"
    assert zmtrio.z85_decode(b"HelloWorld") == HELLO
    assert zmtrio.z85_decode("HelloWorld") == HELLO
    # Any bytes-like object is taken at run time (the annotations say bytes).
    encode: Any = zmtrio.z85_encode
    decode: Any = zmtrio.z85_decode
    assert encode(bytearray(HELLO)) == b"HelloWorld"
    assert encode(memoryview(HELLO)) == b"HelloWorld"
    assert decode(bytearray(b"HelloWorld")) == HELLO


@pytest.mark.parametrize("length", [1, 2, 3, 5, 7, 33])
async def test_z85_encode_needs_a_multiple_of_four(length: int) -> None:
    with pytest.raises(ValueError):
        zmtrio.z85_encode(b"\x00" * length)


@pytest.mark.parametrize("text", ["Hell", "HelloWorl", "HelloWorld1", "a" * 41])
async def test_z85_decode_needs_a_multiple_of_five(text: str) -> None:
    with pytest.raises(ValueError):
        zmtrio.z85_decode(text)
    with pytest.raises(ValueError):
        zmtrio.z85_decode(text.encode())


@pytest.mark.parametrize("text", ["Hello Worl", "Hello\x00orld", "HelloWorl~", "HelloWorl\u00e9"])
async def test_z85_decode_rejects_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(ValueError):
        zmtrio.z85_decode(text)


async def test_z85_decode_rejects_groups_above_32_bits() -> None:
    # "%nSc0" is 0xFFFFFFFF, the largest group; "%nSc1" is one more (libzmq rejects it).
    assert zmtrio.z85_decode("%nSc0") == b"\xff\xff\xff\xff"
    assert zmtrio.z85_encode(b"\xff\xff\xff\xff") == b"%nSc0"
    for text in ("%nSc1", "#####", "%%%%%", "HelloWorld#####"):
        with pytest.raises(ValueError):
            zmtrio.z85_decode(text)


async def test_z85_agrees_with_pyzmq() -> None:
    generator = random.Random(85)
    for length in [32] * 200 + [4, 8, 12, 64, 1024]:
        data = generator.randbytes(length)
        encoded = zmtrio.z85_encode(data)
        assert encoded == pyzmq_z85.encode(data)
        assert zmtrio.z85_decode(encoded) == data
        assert zmtrio.z85_decode(encoded.decode()) == pyzmq_z85.decode(encoded) == data
        if length == 32:
            assert len(encoded) == 40  # a CURVE key in Z85


async def test_every_socket_option_is_a_module_constant() -> None:
    # The constants are written out in __init__.py for type checkers; none may be missing.
    for option in zmtrio.SocketOption:
        assert getattr(zmtrio, option.name) is option
        assert option.name in zmtrio.__all__
