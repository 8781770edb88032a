"""udp:// with IPv6 (the ``IPV6`` option) and datagram sizes, against libzmq-with-drafts:
a dual-stack DISH and DGRAM taking IPv4 peers, DGRAM with a plain IPv6 socket, the
endpoint errors libzmq gives, and libzmq's 8192-byte datagram limit. (RADIO/DISH over
``[::1]`` both ways: ``test_radio_dish.py``; IPv6 multicast: ``test_veth_multicast.py``.)"""

from __future__ import annotations

import errno
import socket as stdlib_socket

import pytest
import trio
import zmtrio
from zmtrio._transport import _udp as udp

from tests.drafts._libzmq import LibzmqContext, LibzmqError, until_udp_bound
from tests.drafts.test_radio_dish import free_udp_port, libzmq_radio_until_joined

IPV6 = int(zmtrio.IPV6)


async def test_an_ipv6_dish_on_any_address_takes_ipv4_radios(
    ctx: zmtrio.Context, lctx: LibzmqContext
) -> None:
    # IPV6 makes the socket dual-stack, as libzmq's: "*" is "::", IPv4 arrives mapped.
    port = free_udp_port()
    dish = ctx.socket(zmtrio.DISH)
    dish.ipv6 = 1
    assert await dish.bind(f"udp://*:{port}") == f"udp://*:{port}"
    dish.join(b"sync")
    dish.join(b"tv")
    radio = lctx.socket(zmtrio.RADIO)  # plain IPv4
    radio.connect(f"udp://127.0.0.1:{port}")
    await libzmq_radio_until_joined(radio, dish)
    await radio.send(b"over ipv4", group=b"tv")
    assert (await dish.recv_message()).group == b"tv"


async def test_dgram_with_ipv6_and_ipv4_peers(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    ours = ctx.socket(zmtrio.DGRAM)
    ours.ipv6 = 1
    endpoint = await ours.bind("udp://*:*")
    our_port = int(endpoint.rsplit(":", 1)[1])
    # An IPv6 peer: its address comes bracketed, and a reply to it (or to a bracketed
    # address written by hand) gets there.
    with trio.socket.socket(stdlib_socket.AF_INET6, stdlib_socket.SOCK_DGRAM) as plain:
        await plain.bind(("::1", 0))
        plain_port = plain.getsockname()[1]
        await plain.sendto(b"from ipv6", ("::1", our_port))
        assert await ours.recv_multipart() == [b"[::1]:%d\x00" % plain_port, b"from ipv6"]
        await ours.send_multipart([b"[::1]:%d\x00" % plain_port, b"reply"])
        await ours.send_multipart([b"not an address", b"dropped"])
        await ours.send_multipart([b"[::1]:%d" % plain_port, b"second"])
        assert (await plain.recvfrom(100))[0] == b"reply"
        assert (await plain.recvfrom(100))[0] == b"second"
    # libzmq's DGRAM (IPv4; libzmq 4.3's DGRAM cannot do IPv6): its address comes as
    # libzmq writes IPv4 ones, and the reply to it gets there.
    theirs = lctx.socket(zmtrio.DGRAM)
    their_port = free_udp_port()
    theirs.bind(f"udp://127.0.0.1:{their_port}")
    await theirs.send_multipart([b"127.0.0.1:%d" % our_port, b"from libzmq"])
    address, body = await ours.recv_multipart()
    assert (address, body) == (b"127.0.0.1:%d\x00" % their_port, b"from libzmq")
    await ours.send_multipart([address, b"reply"])
    assert await theirs.recv_multipart() == [b"127.0.0.1:%d\x00" % our_port, b"reply"]


async def test_ipv6_endpoints_fail_as_in_libzmq(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    """Each endpoint gives zmtrio the errno it gives libzmq (both asked here)."""
    cases = [
        # (socket type, IPV6, bind?, endpoint, errno)
        (zmtrio.DISH, 0, True, "udp://[::1]:*", errno.ENODEV),
        (zmtrio.RADIO, 0, False, "udp://[::1]:5599", errno.EINVAL),
        (zmtrio.DISH, 1, True, "udp://[::1];[ff12::1]:5599", errno.ENODEV),
        (zmtrio.DISH, 1, True, "udp://lo;239.0.0.1:5599", errno.EINVAL),
        (zmtrio.DISH, 1, True, "udp://[fe80::1%no-such-nic]:5599", errno.EINVAL),
        (zmtrio.DISH, 0, False, "udp://127.0.0.1:5599", zmtrio.ENOCOMPATPROTO),
        (zmtrio.DGRAM, 0, False, "udp://127.0.0.1:5599", zmtrio.ENOCOMPATPROTO),
        (zmtrio.RADIO, 0, True, "udp://127.0.0.1:5599", zmtrio.ENOCOMPATPROTO),
    ]
    for socket_type, ipv6, bind, endpoint, expected in cases:
        theirs = lctx.socket(socket_type)
        theirs.set_int(IPV6, ipv6)
        with pytest.raises(LibzmqError) as libzmq_info:
            (theirs.bind if bind else theirs.connect)(endpoint)
        assert libzmq_info.value.errno == expected, endpoint
        ours = ctx.socket(socket_type)
        ours.ipv6 = ipv6
        with pytest.raises(zmtrio.ZMQError) as info:
            await (ours.bind if bind else ours.connect)(endpoint)
        assert info.value.errno == expected, endpoint


async def test_endpoints_libzmq_takes_with_ipv6(ctx: zmtrio.Context) -> None:
    assert udp.parse("lo;[ff12::1]:5599", bind=True, ipv6=True) == udp.UdpAddress(
        stdlib_socket.AF_INET6, "ff12::1", 5599, True, "lo", stdlib_socket.if_nametoindex("lo")
    )
    star = udp.parse("*;[ff12::1]:5599", bind=False, ipv6=True)
    assert (star.multicast, star.interface, star.interface_index) == (True, "*", 0)
    mapped = udp.parse("127.0.0.1:5599", bind=False, ipv6=True)
    assert (mapped.family, mapped.host, mapped.multicast) == (
        stdlib_socket.AF_INET6,
        "::ffff:127.0.0.1",
        False,
    )
    assert udp.parse("[::1]:5599", bind=False, ipv6=True).sockaddr == ("::1", 5599, 0, 0)
    radio = ctx.socket(zmtrio.RADIO)
    radio.ipv6 = 1
    radio.multicast_loop = 0
    radio.multicast_hops = 4
    address = udp.parse("lo;[ff12::1]:5599", bind=False, ipv6=True)
    sock, endpoint = udp.open_udp_socket(address, radio._options, send_only=True)
    with sock:
        assert endpoint == "udp://[ff12::1]:5599"
        ip6 = stdlib_socket.IPPROTO_IPV6
        assert sock.getsockopt(ip6, stdlib_socket.IPV6_MULTICAST_LOOP) == 0
        assert sock.getsockopt(ip6, stdlib_socket.IPV6_MULTICAST_HOPS) == 4
        index = stdlib_socket.if_nametoindex("lo")
        assert sock.getsockopt(ip6, stdlib_socket.IPV6_MULTICAST_IF) == index


async def test_datagrams_past_8192_bytes(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    """libzmq reads at most 8192 bytes of a datagram: a zmtrio RADIO drops a longer
    message at once, and a longer datagram from elsewhere reaches a zmtrio DISH cut at 8192
    bytes, exactly as it reaches libzmq's."""
    with trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as plain:
        await plain.bind(("127.0.0.1", 0))
        radio = ctx.socket(zmtrio.RADIO)
        await radio.connect(f"udp://127.0.0.1:{plain.getsockname()[1]}")
        group = b"g"
        fits = b"f" * (udp.MAX_DATAGRAM - 1 - len(group))
        await radio.send(fits + b"!", group=group)  # one byte too many: dropped
        await radio.send(fits, group=group)
        assert (await plain.recvfrom(65536))[0] == b"\x01g" + fits
    ours = ctx.socket(zmtrio.DISH)
    ours.join(b"g")
    our_endpoint = await ours.bind("udp://127.0.0.1:*")
    theirs = lctx.socket(zmtrio.DISH)
    their_port = free_udp_port()
    theirs.bind(f"udp://127.0.0.1:{their_port}")
    theirs.join(b"g")
    await until_udp_bound(their_port)
    datagram = b"\x01g" + bytes(range(256)) * 40  # 10242 bytes
    with stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as sender:
        sender.sendto(datagram, ("127.0.0.1", int(our_endpoint.rsplit(":", 1)[1])))
        sender.sendto(datagram, ("127.0.0.1", their_port))
    cut = datagram[2 : udp.MAX_DATAGRAM]
    assert await theirs.recv() == (cut, 0, b"g")
    assert await ours.recv() == cut


async def test_dgram_datagrams_past_8192_bytes(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    """DGRAM as RADIO/DISH: a body over 8192 bytes is dropped at the sender, and a longer
    datagram arrives cut at 8192 bytes, as at libzmq's DGRAM."""
    ours = ctx.socket(zmtrio.DGRAM)
    our_port = int((await ours.bind("udp://127.0.0.1:*")).rsplit(":", 1)[1])
    theirs = lctx.socket(zmtrio.DGRAM)
    their_port = free_udp_port()
    theirs.bind(f"udp://127.0.0.1:{their_port}")
    await until_udp_bound(their_port)
    with trio.socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as plain:
        await plain.bind(("127.0.0.1", 0))
        plain_address = b"127.0.0.1:%d" % plain.getsockname()[1]
        fits = b"f" * udp.MAX_DATAGRAM
        await ours.send_multipart([plain_address, fits + b"!"])  # one byte too many
        await ours.send_multipart([plain_address, fits])
        assert (await plain.recvfrom(65536))[0] == fits
        datagram = bytes(range(256)) * 40  # 10240 bytes
        await plain.sendto(datagram, ("127.0.0.1", our_port))
        await plain.sendto(datagram, ("127.0.0.1", their_port))
    assert (await ours.recv_multipart())[1] == datagram[: udp.MAX_DATAGRAM]
    assert (await theirs.recv_multipart())[1] == datagram[: udp.MAX_DATAGRAM]
