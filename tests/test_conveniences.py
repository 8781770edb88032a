"""pyzmq's conveniences on zmtrio sockets: text, JSON, pickles, custom serialisation,
``bind_to_random_port``, ``copy=``/``track=``, version helpers; each checked against pyzmq
(libzmq) in both directions where bytes cross the wire."""

from __future__ import annotations

import json
import pickle
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer

PAYLOAD = {"price": 1.5, "symbol": "caf\u00e9", "levels": [1, 2, 3]}


async def _zmtrio_bound_pair(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], zmtrio_binds: bool
) -> tuple[zmtrio.Socket, ZmqPeer]:
    sock = ctx.socket(zmtrio.PAIR)
    peer = ZmqPeer(zctx, zmq.PAIR)
    if zmtrio_binds:
        peer.connect(await sock.bind("tcp://127.0.0.1:*"))
    else:
        await sock.connect(peer.bind("tcp://127.0.0.1:*"))
    return sock, peer


@pytest.mark.parametrize("zmtrio_binds", [True, False], ids=["zmtrio-binds", "pyzmq-binds"])
async def test_string_json_pyobj_interoperate_with_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], zmtrio_binds: bool
) -> None:
    sock, peer = await _zmtrio_bound_pair(ctx, zctx, zmtrio_binds)
    try:
        await sock.send_string("h\u00e9llo")
        await sock.send_json(PAYLOAD)
        await sock.send_pyobj(PAYLOAD)
        received = [await trio.to_thread.run_sync(peer.sock.recv) for _ in range(3)]
        assert received[0] == "h\u00e9llo".encode()
        assert json.loads(received[1]) == PAYLOAD
        assert pickle.loads(received[2]) == PAYLOAD

        def reply() -> None:
            peer.sock.send_string("w\u00f6rld")
            peer.sock.send_json(PAYLOAD)
            peer.sock.send_pyobj(PAYLOAD)
            peer.sock.send_string("latin", encoding="latin-1")

        await trio.to_thread.run_sync(reply)
        assert await sock.recv_string() == "w\u00f6rld"
        assert await sock.recv_json() == PAYLOAD
        assert await sock.recv_pyobj() == PAYLOAD
        assert await sock.recv_string(encoding="latin-1") == "latin"
    finally:
        peer.close()


async def test_send_string_refuses_bytes(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    with pytest.raises(TypeError):
        await sock.send_string(b"bytes")  # type: ignore[arg-type]


async def test_serialized(ctx: zmtrio.Context) -> None:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await a.bind("inproc://serialized")
    await b.connect("inproc://serialized")

    def serialize(pair: tuple[str, int]) -> list[bytes]:
        return [pair[0].encode(), str(pair[1]).encode()]

    def deserialize(frames: list[bytes]) -> tuple[str, int]:
        return frames[0].decode(), int(frames[1])

    await a.send_serialized(("answer", 42), serialize)
    assert await b.recv_serialized(deserialize) == ("answer", 42)


async def test_json_options_reach_json(ctx: zmtrio.Context) -> None:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await a.bind("inproc://json-options")
    await b.connect("inproc://json-options")
    await a.send_json({"b": 1, "a": 2}, sort_keys=True, separators=(",", ":"))
    assert await b.recv() == b'{"a":2,"b":1}'
    await a.send(b'{"x": 1.25}')
    assert await b.recv_json(parse_float=str) == {"x": "1.25"}


async def test_bind_to_random_port(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    pull = ctx.socket(zmtrio.PULL)
    port = await pull.bind_to_random_port("tcp://127.0.0.1")
    assert pull.last_endpoint == f"tcp://127.0.0.1:{port}"
    ranged = ctx.socket(zmtrio.PULL)
    chosen = await ranged.bind_to_random_port("tcp://127.0.0.1", 40000, 40100, max_tries=200)
    assert 40000 <= chosen < 40100
    push = zctx.socket(zmq.PUSH)
    try:
        push.linger = 0
        push.connect(f"tcp://127.0.0.1:{chosen}")
        push.send(b"found you")
        with trio.fail_after(5):
            assert await ranged.recv() == b"found you"
    finally:
        push.close()


async def test_bind_to_random_port_gives_up_with_eaddrinuse(ctx: zmtrio.Context) -> None:
    taken = ctx.socket(zmtrio.PULL)
    port = await taken.bind_to_random_port("tcp://127.0.0.1")
    other = ctx.socket(zmtrio.PULL)
    with pytest.raises(zmtrio.ZMQError) as info:
        await other.bind_to_random_port("tcp://127.0.0.1", port, port + 1, max_tries=3)
    assert info.value.errno == zmq.EADDRINUSE


async def test_copy_false_gives_views_and_track_is_accepted(ctx: zmtrio.Context) -> None:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await a.bind("inproc://copy")
    await b.connect("inproc://copy")
    await a.send(b"one", copy=False, track=True)
    await a.send_multipart([b"two", b"frames"], copy=False, track=True)
    view = await b.recv(copy=False)
    assert isinstance(view, memoryview) and view == b"one"
    views = await b.recv_multipart(copy=False)
    assert all(isinstance(frame, memoryview) for frame in views)
    assert [bytes(frame) for frame in views] == [b"two", b"frames"]
    await a.send_multipart([b"x", b"y"])
    assert await b.recv(0, False) == b"x"
    assert await b.recv_multipart(copy=True, track=True) == [b"y"]


async def test_versions() -> None:
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert zmtrio.__version__ == version("zmtrio") == pyproject["project"]["version"]
    # The libzmq zmtrio follows is the release the interop tests run against (pyzmq's).
    assert zmtrio.zmq_version_info()[:2] == zmq.zmq_version_info()[:2] == (4, 3)
    assert zmtrio.zmq_version() == ".".join(map(str, zmtrio.zmq_version_info()))
