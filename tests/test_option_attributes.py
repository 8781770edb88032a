"""Options as attributes, as pyzmq users write them: typos raise (at run time and under
``mypy --strict``), both cases and pyzmq's aliases work, the generated module is current."""

from __future__ import annotations

import ast
import errno
import runpy
from pathlib import Path
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio._option_attributes import OptionAttributes
from zmtrio._option_properties import OptionProperties
from zmtrio._options import OPTIONS

from tests.conftest import mypy_strict

ROOT = Path(__file__).resolve().parent.parent


async def test_generated_module_is_current() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "generate_option_properties.py"))
    current = (ROOT / "python" / "zmtrio" / "_option_properties.py").read_text()
    assert generator["render"]() == current, (
        "the option table changed: run .venv/bin/python scripts/generate_option_properties.py"
    )


async def test_every_option_is_a_property_in_both_cases() -> None:
    for spec in OPTIONS:
        name = spec.option.name
        assert isinstance(getattr(OptionAttributes, name), property), name
        if name not in ("SUBSCRIBE", "UNSUBSCRIBE"):  # lowercase: Socket's methods
            assert isinstance(vars(OptionProperties)[name.lower()], property), name
        assert getattr(OptionAttributes, name).fset is not None or not spec.writable, name


@pytest.mark.parametrize("name", ["sndhmw", "hwn", "no_such_option", "SNDHMW"])
async def test_unknown_option_names_raise_attribute_error_as_in_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], name: str
) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    reference = zctx.socket(zmq.PUSH)
    try:
        for target in (sock, reference):
            with pytest.raises(AttributeError):
                setattr(target, name, 10)
            with pytest.raises(AttributeError):
                getattr(target, name)
    finally:
        reference.close(linger=0)
    # Python's own error (Socket has no __getattr__: it would cost every attribute load).
    with pytest.raises(AttributeError, match=f"'Socket' object has no attribute '{name}'"):
        getattr(sock, name)
    assert sock.sndhwm == 1000  # nothing was set


async def test_lowercase_uppercase_and_pyzmq_aliases(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.ROUTER)
    sock.SNDHWM = 7
    assert sock.sndhwm == sock.SNDHWM == sock.getsockopt(zmtrio.SNDHWM) == 7
    sock.hwm = 5
    assert (sock.sndhwm, sock.rcvhwm, sock.hwm, sock.HWM) == (5, 5, 5, 5)
    sock.identity = b"me"
    assert sock.routing_id == sock.IDENTITY == sock.ROUTING_ID == b"me"
    sock.ROUTER_MANDATORY = 1
    sock.linger = 0
    assert sock.LINGER == 0
    assert sock.TYPE == sock.type == zmtrio.ROUTER


async def test_hwm_matches_pyzmq(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    sock = ctx.socket(zmtrio.DEALER)
    reference = zctx.socket(zmq.DEALER)
    try:
        for target in (sock, reference):
            target.hwm = 42
        assert (sock.sndhwm, sock.rcvhwm, sock.hwm) == (
            reference.sndhwm,
            reference.rcvhwm,
            reference.hwm,
        )
    finally:
        reference.close(linger=0)


async def test_subscribe_as_uppercase_attribute(ctx: zmtrio.Context) -> None:
    pub, sub = ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.SUB)
    endpoint = "inproc://subscribe-attribute"
    await pub.bind(endpoint)
    await sub.connect(endpoint)
    sub.SUBSCRIBE = b"a"
    with trio.fail_after(5):
        while True:  # the subscription travels to the publisher asynchronously
            await pub.send(b"b: not subscribed")
            await pub.send(b"a: subscribed")
            if await sub.poll(timeout=10):
                break
    assert await sub.recv() == b"a: subscribed"


async def test_unknown_option_number_is_einval_unknown(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    reference = zctx.socket(zmq.PUSH)
    try:
        with pytest.raises(zmq.ZMQError) as libzmq_error:
            reference.getsockopt(9999)
    finally:
        reference.close(linger=0)
    for call in (lambda: sock.getsockopt(9999), lambda: sock.setsockopt(9999, 1)):
        with pytest.raises(zmtrio.ZMQError, match="unknown socket option 9999") as info:
            call()
        assert info.value.errno == libzmq_error.value.errno == errno.EINVAL


async def test_write_only_option_says_so(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.SUB)
    with pytest.raises(zmtrio.ZMQError, match="SUBSCRIBE is write-only") as info:
        sock.getsockopt(zmtrio.SUBSCRIBE)
    assert info.value.errno == errno.EINVAL


async def test_string_options(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.DEALER)
    sock.setsockopt_string(zmtrio.ROUTING_ID, "caf\u00e9")
    assert sock.getsockopt(zmtrio.ROUTING_ID) == "caf\u00e9".encode()
    assert sock.getsockopt_string(zmtrio.ROUTING_ID) == "caf\u00e9"
    endpoint = await sock.bind("tcp://127.0.0.1:*")
    assert sock.get_string(zmtrio.LAST_ENDPOINT) == endpoint
    with pytest.raises(TypeError):
        sock.getsockopt_string(zmtrio.SNDHWM)


async def test_option_constants_are_final_for_typed_getsockopt() -> None:
    """``getsockopt(zmtrio.SNDHWM)`` is typed ``int`` only if the constant keeps its
    literal type, which a module-level constant does when it is ``Final``."""
    tree = ast.parse(Path(zmtrio.__file__).read_text())
    constants: dict[str, bool] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            constants[node.target.id] = ast.unparse(node.annotation) == "Final"
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = False
    for option in zmtrio.SocketOption:
        assert constants.get(option.name), f"write `{option.name}: Final = SocketOption...`"


#: Lines of a checked program; those ending in ``# error`` must be the lines mypy rejects.
MYPY_PROBE = """\
import trio
import zmtrio


async def main(sock: zmtrio.Socket, ctx: zmtrio.Context) -> None:
    sock.sndhwm = 10
    sock.SNDHWM = 10
    sock.hwm = 10
    sock.routing_id = b"id"
    sock.identity = b"id"
    sock.linger = 0
    ctx.linger = 0
    hwm: int = sock.sndhwm
    last: str = sock.last_endpoint
    identity: bytes = sock.routing_id
    got_int: int = sock.getsockopt(zmtrio.SNDHWM)
    got_bytes: bytes = sock.getsockopt(zmtrio.ROUTING_ID)
    got_str: str = sock.getsockopt(zmtrio.LAST_ENDPOINT)
    sock.setsockopt(zmtrio.SNDHWM, 5)
    frame: bytes = await sock.recv()
    view: memoryview = await sock.recv(copy=False)
    frames: list[bytes] = await sock.recv_multipart()
    text: str = await sock.recv_string()
    port: int = await sock.bind_to_random_port("tcp://127.0.0.1")
    sock.sndhmw = 1  # error
    typo = sock.sndhmw  # error
    wrong: str = sock.sndhwm  # error
    sock.sndhwm = "10"  # error
    sock.routing_id = "text"  # error
    sock.rcvmore = True  # error
    ctx.lingr = 0  # error
    wrong_kind: bytes = sock.getsockopt(zmtrio.SNDHWM)  # error
"""


def test_mypy_strict_rejects_option_typos_and_wrong_types(tmp_path: Path, mypy_cache: Path) -> None:
    output = mypy_strict(MYPY_PROBE, tmp_path, mypy_cache).stdout
    rejected = {int(line.split(":")[1]) for line in output.splitlines() if ": error:" in line}
    expected = {
        number
        for number, line in enumerate(MYPY_PROBE.splitlines(), start=1)
        if line.endswith("# error")
    }
    assert rejected == expected, output


async def test_socket_attribute_lookups_stay_specializable(ctx: zmtrio.Context) -> None:
    # CPython specializes attribute lookups (self._pattern, sock.send, ...) only on types
    # with the generic lookup: a __getattr__ or __getattribute__ anywhere in Socket's MRO
    # makes every one of them slow (measured: a quarter of a 64 B send or recv).
    sock = ctx.socket(zmtrio.PUSH)
    for klass in type(sock).__mro__:
        assert "__getattr__" not in vars(klass), klass
        assert "__getattribute__" not in vars(klass) or klass is object, klass
    assert not hasattr(sock, "__dict__")  # unknown names cannot be set either
