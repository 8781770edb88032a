"""``zmtrio.Message`` and ``recv_message``: frames plus the metadata libzmq's ``zmq_msg_gets``
gives, checked against what pyzmq reports for the same connection."""

from __future__ import annotations

import os
from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer, endpoint_for


def test_message_is_a_read_only_sequence_of_frames() -> None:
    msg = zmtrio.Message([b"a", b"bc"], {"Socket-Type": "PUSH"})
    assert list(msg) == [b"a", b"bc"]
    assert (msg[0], msg[-1], msg[:1], len(msg)) == (b"a", b"bc", [b"a"], 2)
    assert msg == [b"a", b"bc"]
    assert msg != [b"a"]
    assert msg.metadata["Socket-Type"] == "PUSH"
    assert (msg.routing_id, msg.group) == (None, None)
    with pytest.raises(TypeError):
        msg.metadata["Socket-Type"] = "PULL"  # type: ignore[index]
    with pytest.raises(AttributeError):
        msg.metadata = {}  # type: ignore[misc]
    assert "PUSH" in repr(msg)
    with pytest.raises(TypeError):
        hash(msg)


def test_message_copies_what_it_is_given() -> None:
    frames = [b"x"]
    metadata = {"X-A": "1"}
    msg = zmtrio.Message(frames, metadata, routing_id=7, group=b"g")
    frames.append(b"y")
    metadata["X-A"] = "2"
    assert list(msg) == [b"x"]
    assert msg.metadata == {"X-A": "1"}
    assert (msg.routing_id, msg.group) == (7, b"g")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_metadata_matches_what_libzmq_reports(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    """zmtrio ROUTER <- pyzmq DEALER and pyzmq ROUTER <- zmtrio DEALER: both ends see the
    same property names and values for their peer."""
    router = ctx.socket(zmtrio.ROUTER)
    endpoint = await router.bind(endpoint_for(transport, ipc_dir))
    dealer = ZmqPeer(zctx, zmq.DEALER)
    dealer.sock.routing_id = b"libzmq-dealer"
    dealer.connect(endpoint)
    await dealer.send_multipart([b"hello", b"world"])
    msg = await router.recv_message()
    assert list(msg) == [b"libzmq-dealer", b"hello", b"world"]
    metadata = msg.metadata
    assert metadata["Socket-Type"] == "DEALER"
    assert metadata["Identity"] == metadata["Routing-Id"] == "libzmq-dealer"
    if transport == "tcp":
        assert metadata["Peer-Address"] == "127.0.0.1"
    else:
        assert metadata["Peer-Address"] == f"localhost:{os.getuid()}:{os.getgid()}:{os.getpid()}"
    assert "User-Id" not in metadata  # no ZAP handler was asked

    # What libzmq reports on its side of the same kind of connection.
    zrouter = ZmqPeer(zctx, zmq.ROUTER)
    zendpoint = zrouter.bind(endpoint_for(transport, ipc_dir, "z"))
    ours = ctx.socket(zmtrio.DEALER)
    ours.routing_id = b"zmtrio-dealer"
    await ours.connect(zendpoint)
    await ours.send(b"hi")

    def recv_frames() -> list[zmq.Frame]:
        return zrouter.sock.recv_multipart(copy=False)

    frames = await trio.to_thread.run_sync(recv_frames)
    theirs = {name: frames[-1].get(name) for name in ("Socket-Type", "Identity", "Peer-Address")}
    assert theirs["Socket-Type"] == "DEALER"
    assert theirs["Identity"] == "zmtrio-dealer"
    assert set(theirs) <= set(metadata)
    assert theirs["Peer-Address"] == metadata["Peer-Address"]


async def test_metadata_of_each_peer_follows_its_messages(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    pushes = [ZmqPeer(zctx, zmq.PUSH) for _ in range(2)]
    for push in pushes:
        push.connect(endpoint)
    await pushes[0].send_multipart([b"one"])
    first = await pull.recv_message()
    await pushes[1].send_multipart([b"two"])
    second = await pull.recv_message()
    assert (list(first), list(second)) == ([b"one"], [b"two"])
    assert first.metadata["Socket-Type"] == second.metadata["Socket-Type"] == "PUSH"
    assert "Identity" not in first.metadata  # PUSH sends no Identity, as libzmq


async def test_recv_message_nowait_and_the_rest_of_a_message(ctx: zmtrio.Context) -> None:
    """inproc peers carry no metadata (libzmq's zmq_msg_gets finds none either); a message
    partly read with recv hands over its remaining frames."""
    pull = ctx.socket(zmtrio.PULL)
    push = ctx.socket(zmtrio.PUSH)
    await pull.bind("inproc://meta")
    await push.connect("inproc://meta")
    with pytest.raises(zmtrio.Again):
        pull.recv_message_nowait()
    await push.send_multipart([b"a", b"b", b"c"])
    await push.send(b"d")
    assert await pull.recv() == b"a"
    rest = await pull.recv_message()
    assert list(rest) == [b"b", b"c"]
    with trio.fail_after(5):
        while True:
            try:
                last = pull.recv_message_nowait()
                break
            except zmtrio.Again:
                await trio.sleep(0.001)
    assert list(last) == [b"d"]
    assert dict(last.metadata) == {}


async def test_recv_message_on_a_closed_socket(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.close()
    with pytest.raises(trio.ClosedResourceError):
        await pull.recv_message()
    with pytest.raises(trio.ClosedResourceError):
        pull.recv_message_nowait()
