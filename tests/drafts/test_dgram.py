"""DGRAM over udp against libzmq-with-drafts and plain udp sockets: address frames, and
messages that are not ``[address, body]`` refused."""

from __future__ import annotations

import errno
import socket as stdlib_socket

import pytest
import trio
import zmtrio

from tests.drafts._libzmq import LibzmqContext


async def test_dgram_talks_to_libzmq_dgram(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    ours = ctx.socket(zmtrio.DGRAM)
    endpoint = await ours.bind("udp://127.0.0.1:*")
    our_port = int(endpoint.rsplit(":", 1)[1])
    theirs = lctx.socket(zmtrio.DGRAM)
    with stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        their_port = probe.getsockname()[1]
    theirs.bind(f"udp://127.0.0.1:{their_port}")
    await theirs.send_multipart([b"127.0.0.1:%d" % our_port, b"from libzmq"])
    address, body = await ours.recv_multipart()
    assert (address, body) == (b"127.0.0.1:%d\x00" % their_port, b"from libzmq")
    await ours.send_multipart([address, b"reply"])  # libzmq's own form, NUL and all
    await ours.send_multipart([b"127.0.0.1:%d" % their_port, b"second"])
    assert await theirs.recv_multipart() == [b"127.0.0.1:%d\x00" % our_port, b"reply"]
    assert await theirs.recv_multipart() == [b"127.0.0.1:%d\x00" % our_port, b"second"]


async def test_dgram_with_a_plain_udp_socket_and_bad_messages(ctx: zmtrio.Context) -> None:
    dgram = ctx.socket(zmtrio.DGRAM)
    endpoint = await dgram.bind("udp://127.0.0.1:*")
    port = int(endpoint.rsplit(":", 1)[1])
    with trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as plain:
        await plain.bind(("127.0.0.1", 0))
        await plain.sendto(b"hi", ("127.0.0.1", port))
        address, body = await dgram.recv_multipart()
        assert body == b"hi"
        for bad in ([b"only one frame"], [b"a", b"b", b"c"]):
            with pytest.raises(zmtrio.ZMQError) as info:
                await dgram.send_multipart(bad)
            assert info.value.errno == errno.EINVAL
        await dgram.send_multipart([b"not an address", b"dropped"])
        await dgram.send_multipart([address, b"answer"])
        assert (await plain.recvfrom(100))[0] == b"answer"
    for endpoint in ("tcp://127.0.0.1:*", "inproc://dgram"):
        with pytest.raises(zmtrio.ZMQError) as info:
            await dgram.bind(endpoint)
        assert info.value.errno == zmtrio.ENOCOMPATPROTO
