"""RADIO/DISH (RFC 48) against libzmq-with-drafts: over tcp in both bind/connect
directions, over udp unicast with zmtrio at either end, zmtrio to zmtrio over inproc;
group filtering and lengths, ordering, HWM drop, malformed datagrams."""

from __future__ import annotations

import errno
import socket as stdlib_socket

import pytest
import trio
import zmtrio
from zmtrio._transport import _udp as udp

from tests.drafts._libzmq import DIRECTIONS, LibzmqContext, LibzmqSocket, link


async def zmtrio_radio_until_joined(radio: zmtrio.Socket, dish: LibzmqSocket) -> None:
    """Send probes to group ``sync`` until the DISH (joined to it) gets one: its JOIN
    has reached the RADIO (or udp is up). Then drain the probes."""
    while True:
        await radio.send(b"probe", group=b"sync")
        await trio.sleep(0.01)
        if dish.recv_nowait() is not None:
            break
    await trio.sleep(0.05)
    while dish.recv_nowait() is not None:
        pass


async def libzmq_radio_until_joined(radio: LibzmqSocket, dish: zmtrio.Socket) -> None:
    """As above with the ends swapped."""
    while True:
        await radio.send(b"probe", group=b"sync")
        with trio.move_on_after(0.01):
            await dish.recv()
            break
    await trio.sleep(0.05)
    while True:
        try:
            dish.recv_nowait()
        except zmtrio.Again:
            break


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_radio_to_libzmq_dish_over_tcp(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    radio = ctx.socket(zmtrio.RADIO)
    dish = lctx.socket(zmtrio.DISH)
    long_group = b"g" * zmtrio.GROUP_MAX_LENGTH
    dish.join(long_group)
    dish.join(b"tv")
    dish.join(b"sync")  # joined last: once it works, the others do
    await link(radio, dish, direction)
    await zmtrio_radio_until_joined(radio, dish)
    for n in range(20):
        await radio.send(b"radio-%d" % n, group="radio")  # not joined: never delivered
        await radio.send(b"tv-%d" % n, group=b"tv")
    await radio.send(b"long", group=long_group)
    for n in range(20):
        assert await dish.recv() == (b"tv-%d" % n, 0, b"tv")
    assert await dish.recv() == (b"long", 0, long_group)
    dish.leave(b"tv")
    await trio.sleep(0.2)  # the LEAVE travels; nothing to wait on but time
    await radio.send(b"after leave", group=b"tv")
    await radio.send(b"still joined", group=b"sync")
    assert (await dish.recv())[0] == b"still joined"


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_libzmq_radio_to_zmtrio_dish_over_tcp(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    dish = ctx.socket(zmtrio.DISH)
    radio = lctx.socket(zmtrio.RADIO)
    dish.join("sync")
    dish.join(b"tv")
    await link(dish, radio, direction)
    await libzmq_radio_until_joined(radio, dish)
    for n in range(20):
        await radio.send(b"radio-%d" % n, group=b"radio")
        await radio.send(b"tv-%d" % n, group=b"tv")
    for n in range(20):
        msg = await dish.recv_message()
        assert list(msg) == [b"tv-%d" % n] and msg.group == b"tv"
        assert msg.routing_id is None
    dish.leave("tv")
    with trio.move_on_after(0.3):
        while True:  # the LEAVE reaches libzmq's RADIO: its tv messages stop
            await radio.send(b"tv", group=b"tv")
            await radio.send(b"sync", group=b"sync")
            assert await dish.recv() in (b"tv", b"sync")
    await radio.send(b"after", group=b"tv")
    await radio.send(b"last", group=b"sync")
    assert (await dish.recv_message()).group == b"sync"


#: udp over IPv4, and over IPv6 with the IPV6 option: (host, IPV6).
FAMILIES = [("127.0.0.1", 0), ("[::1]", 1)]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A udp port nobody on ``host`` (``[::1]``: IPv6) uses right now."""
    family = stdlib_socket.AF_INET6 if host.startswith("[") else stdlib_socket.AF_INET
    with stdlib_socket.socket(family, stdlib_socket.SOCK_DGRAM) as probe:
        probe.bind((host.strip("[]"), 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("host", "ipv6"), FAMILIES)
async def test_zmtrio_radio_to_libzmq_dish_over_udp(
    ctx: zmtrio.Context, lctx: LibzmqContext, host: str, ipv6: int
) -> None:
    port = free_udp_port(host)
    dish = lctx.socket(zmtrio.DISH)
    dish.set_int(zmtrio.IPV6, ipv6)
    dish.bind(f"udp://{host}:{port}")
    dish.join(b"sync")
    dish.join(b"tv")
    radio = ctx.socket(zmtrio.RADIO)
    radio.ipv6 = ipv6
    await radio.connect(f"udp://{host}:{port}")
    assert radio.last_endpoint == f"udp://{host}:{port}"
    await zmtrio_radio_until_joined(radio, dish)
    for n in range(20):
        await radio.send(b"radio-%d" % n, group=b"radio")  # sent, filtered by the DISH
        await radio.send(b"tv-%d" % n, group=b"tv")
    for n in range(20):
        assert await dish.recv() == (b"tv-%d" % n, 0, b"tv")


@pytest.mark.parametrize(("host", "ipv6"), FAMILIES)
async def test_libzmq_radio_to_zmtrio_dish_over_udp(
    ctx: zmtrio.Context, lctx: LibzmqContext, host: str, ipv6: int
) -> None:
    dish = ctx.socket(zmtrio.DISH)
    dish.ipv6 = ipv6
    endpoint = await dish.bind(f"udp://{host}:*")
    assert endpoint.startswith(f"udp://{host}:") and not endpoint.endswith(":0")
    dish.join(b"sync")
    dish.join(b"tv")
    long_group = b"L" * 255
    dish.join(long_group)
    radio = lctx.socket(zmtrio.RADIO)
    radio.set_int(zmtrio.IPV6, ipv6)
    radio.connect(endpoint)
    await libzmq_radio_until_joined(radio, dish)
    for n in range(20):
        await radio.send(b"radio-%d" % n, group=b"radio")
        await radio.send(b"tv-%d" % n, group=b"tv")
    await radio.send(b"long", group=long_group)
    for n in range(20):
        msg = await dish.recv_message()
        assert list(msg) == [b"tv-%d" % n] and msg.group == b"tv"
    assert (await dish.recv_message()).group == long_group


async def test_malformed_datagrams_are_dropped(ctx: zmtrio.Context) -> None:
    dish = ctx.socket(zmtrio.DISH)
    dish.join(b"ok")
    dish.join(b"")
    endpoint = await dish.bind("udp://127.0.0.1:*")
    port = int(endpoint.rsplit(":", 1)[1])
    with stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM) as sender:
        for datagram in [b"", b"\x05ok", b"\xff" + b"x" * 10, b"\x02ok", b"\x00", b"\x02ok!"]:
            sender.sendto(datagram, ("127.0.0.1", port))
    # Dropped: empty, group length past the end (twice); b"\x00" is an empty message in
    # the empty group, which is joined.
    got = await dish.recv_message()
    assert (list(got), got.group) == ([b""], b"ok")
    got = await dish.recv_message()
    assert (list(got), got.group) == ([b""], b"")
    got = await dish.recv_message()
    assert (list(got), got.group) == ([b"!"], b"ok")
    with pytest.raises(zmtrio.Again):
        dish.recv_nowait()


async def test_groups_are_limited_to_255_bytes(ctx: zmtrio.Context) -> None:
    dish = ctx.socket(zmtrio.DISH)
    radio = ctx.socket(zmtrio.RADIO)
    dish.join(b"x" * 255)
    for call in (
        lambda: dish.join(b"x" * 256),
        lambda: dish.join(b"x" * 255),  # joined already
        lambda: dish.leave(b"never joined"),
    ):
        with pytest.raises(zmtrio.ZMQError) as info:
            call()
        assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError) as info:
        await radio.send(b"x", group=b"y" * 256)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError) as info:
        await radio.send_multipart([b"a", b"b"])
    assert info.value.errno == errno.EINVAL
    pub = ctx.socket(zmtrio.PUB)
    with pytest.raises(zmtrio.ZMQError) as info:
        pub.join(b"g")
    assert info.value.errno == zmtrio.ENOTSUP
    for sock, endpoint in ((radio, "udp://*:5555"), (pub, "udp://127.0.0.1:5555")):
        with pytest.raises(zmtrio.ZMQError) as info:
            await sock.bind(endpoint)
        assert info.value.errno == zmtrio.ENOCOMPATPROTO


async def test_inproc_filtering_order_and_hwm_drop(ctx: zmtrio.Context) -> None:
    radio = ctx.socket(zmtrio.RADIO)
    radio.sndhwm = 10
    await radio.bind("inproc://radio")
    fast, slow = ctx.socket(zmtrio.DISH), ctx.socket(zmtrio.DISH)
    slow.rcvhwm = 10
    for dish in (fast, slow):
        dish.join(b"news")
        await dish.connect("inproc://radio")
    fast.join(b"sport")
    await trio.sleep(0)
    # The slow DISH never reads while 100 messages go out: a RADIO drops for it at its
    # high-water mark and never blocks.
    with trio.fail_after(5):
        for n in range(100):
            await radio.send(b"%d" % n, group=b"news")
            await radio.send(b"s%d" % n, group=b"sport")
            got = await fast.recv_message()
            assert (list(got), got.group) == ([b"%d" % n], b"news")
            got = await fast.recv_message()
            assert (list(got), got.group) == ([b"s%d" % n], b"sport")
    received = []
    while True:
        try:
            received.append(slow.recv_nowait())
        except zmtrio.Again:
            break
    assert received == [b"%d" % n for n in range(len(received))]  # a prefix, in order
    assert 10 <= len(received) < 100


async def test_dish_refuses_a_wrong_peer_type_at_handshake(
    ctx: zmtrio.Context, lctx: LibzmqContext
) -> None:
    dish = ctx.socket(zmtrio.DISH)
    dish.join(b"sync")
    endpoint = await dish.bind("tcp://127.0.0.1:*")
    pub = lctx.socket(1)  # ZMQ_PUB: not a RADIO
    pub.connect(endpoint)
    radio = lctx.socket(zmtrio.RADIO)
    radio.connect(endpoint)
    await libzmq_radio_until_joined(radio, dish)
    for _ in range(10):
        await pub.send(b"from pub")
    await radio.send(b"from radio", group=b"sync")
    assert await dish.recv() == b"from radio"
    with trio.move_on_after(0.2):
        await dish.recv()
        pytest.fail("a PUB's message reached a DISH")


async def test_multicast_options_reach_the_radios_udp_socket() -> None:
    # On loopback every datagram comes back whatever IP_MULTICAST_LOOP says, so the
    # options are checked where libzmq puts them: on the sending socket.
    address = udp.parse("127.0.0.1;239.0.0.1:5600", bind=False)
    assert (address.host, address.port, address.multicast, address.interface) == (
        "239.0.0.1",
        5600,
        True,
        "127.0.0.1",
    )
    options = {zmtrio.MULTICAST_LOOP: 0, zmtrio.MULTICAST_HOPS: 7}
    sock, endpoint = udp.open_udp_socket(address, options, send_only=True)
    with sock:
        assert endpoint == "udp://239.0.0.1:5600"
        ip = stdlib_socket.IPPROTO_IP
        assert sock.getsockopt(ip, stdlib_socket.IP_MULTICAST_LOOP) == 0
        assert sock.getsockopt(ip, stdlib_socket.IP_MULTICAST_TTL) == 7
        interface = sock.getsockopt(ip, stdlib_socket.IP_MULTICAST_IF, 4)
        assert stdlib_socket.inet_ntoa(interface) == "127.0.0.1"
    for bad in ("127.0.0.1;127.0.0.2:5600", "239.0.0.1;239.0.0.2:5600", "no-port"):
        with pytest.raises(zmtrio.ZMQError) as info:
            udp.parse(bad, bind=False)
        assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError) as info:
        udp.parse("no-such-nic;239.0.0.1:5600", bind=True)
    assert info.value.errno == errno.ENODEV


async def test_radio_with_nodrop_waits_instead_of_dropping(ctx: zmtrio.Context) -> None:
    radio = ctx.socket(zmtrio.RADIO)
    radio.sndhwm = 5
    radio.xpub_nodrop = 1
    await radio.bind("inproc://nodrop")
    dish = ctx.socket(zmtrio.DISH)
    dish.rcvhwm = 5
    dish.join(b"g")
    await dish.connect("inproc://nodrop")
    await trio.sleep(0)
    sent = 0
    with trio.move_on_after(0.2) as scope:
        while True:
            await radio.send(b"%d" % sent, group=b"g")
            sent += 1
    assert scope.cancelled_caught and sent == 10  # the inproc pipe: SNDHWM + RCVHWM
    with pytest.raises(zmtrio.Again):
        await radio.send(b"x", zmtrio.DONTWAIT, group=b"g")
    assert [dish.recv_nowait() for _ in range(sent)] == [b"%d" % n for n in range(sent)]
    await radio.send(b"room again", group=b"g")
    assert await dish.recv() == b"room again"
