"""Multicast between two hosts: two network namespaces joined by a veth pair, made by
``test_veth_multicast.py`` (addresses from the documentation ranges 192.0.2.0/24 and
2001:db8::/32, so nothing here can reach a real network). Each role runs in its own
namespace (``ip netns exec``) and prints one JSON line of what it saw.

- ``receive`` (host B): a zmtrio DISH on the IPv4 group, a libzmq DISH and a zmtrio DISH
  on IPv6 groups, and beside each a plain socket that reads each datagram's TTL or hop
  limit. Prints ``ready`` once all are joined, then its report once stdin closes (or once
  it has everything).
- ``send`` (host A): a zmtrio DISH on the IPv4 group (this host's own receiver), a zmtrio
  RADIO with ``MULTICAST_LOOP`` off and ``MULTICAST_HOPS`` 3, one with the defaults (loop
  on, hops 1), a zmtrio RADIO and a libzmq RADIO on the IPv6 groups (hops 4).
"""

from __future__ import annotations

import json
import socket as stdlib_socket
import struct
import sys
from typing import Any, Final

import trio
import zmtrio

from tests.drafts._libzmq import LibzmqContext, until_udp_bound

GROUP4: Final = "239.0.0.7"
GROUP6: Final = "ff12::7"
PORT4: Final = 5611
#: The IPv6 groups' ports: zmtrio sends to libzmq on the first, libzmq to zmtrio on the
#: second.
PORT6_TO_LIBZMQ: Final = 5612
PORT6_TO_ZMTRIO: Final = 5613
COUNT: Final = 5
#: Host A's and host B's veth ends.
IFACE_A: Final = "zmtrio-va"
IFACE_B: Final = "zmtrio-vb"
#: ``IP_RECVTTL`` and ``IP_TTL`` (Linux): the TTL of each datagram as ancillary data.
_IP_RECVTTL: Final = 12
_IP_TTL: Final = 2


def _hops_reader(family: int, group: str, port: int) -> stdlib_socket.socket:
    """A plain socket beside the DISHes on ``group:port``, joined on B's veth, that reads
    each datagram's TTL (IPv4) or hop limit (IPv6)."""
    sock = stdlib_socket.socket(family, stdlib_socket.SOCK_DGRAM)
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEPORT, 1)
    if family == stdlib_socket.AF_INET6:
        sock.bind(("::", port))
        index = struct.pack("@I", stdlib_socket.if_nametoindex(IFACE_B))
        membership = stdlib_socket.inet_pton(family, group) + index
        sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_JOIN_GROUP, membership)
        sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_RECVHOPLIMIT, 1)
    else:
        sock.bind(("0.0.0.0", port))
        membership = stdlib_socket.inet_aton(group) + stdlib_socket.inet_aton("192.0.2.2")
        sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_ADD_MEMBERSHIP, membership)
        sock.setsockopt(stdlib_socket.IPPROTO_IP, _IP_RECVTTL, 1)
    sock.setblocking(False)
    return sock


async def _collect_hops(sock: stdlib_socket.socket, hops: dict[str, int]) -> None:
    """Record each RADIO datagram's TTL or hop limit under its body."""
    wanted = {
        (stdlib_socket.IPPROTO_IP, _IP_TTL),
        (stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_HOPLIMIT),
    }
    while True:
        await trio.lowlevel.wait_readable(sock)
        data, ancillary, _, _ = sock.recvmsg(100, 64)
        for level, kind, value in ancillary:
            if (level, kind) in wanted:
                hops[data[1 + data[0] :].decode()] = struct.unpack("i", value)[0]


async def receive(ctx: zmtrio.Context, lctx: LibzmqContext) -> dict[str, Any]:
    report: dict[str, Any] = {"dish4": [], "hops": {}, "libzmq_dish6": [], "zmtrio_dish6": []}
    theirs6 = lctx.socket(zmtrio.DISH, timeout_ms=200)
    theirs6.set_int(zmtrio.IPV6, 1)
    theirs6.bind(f"udp://{IFACE_B};[{GROUP6}]:{PORT6_TO_LIBZMQ}")
    theirs6.join(b"six")
    await until_udp_bound(PORT6_TO_LIBZMQ)  # before the hops reader takes the port too
    dish4 = ctx.socket(zmtrio.DISH)
    dish4.join("tv")
    await dish4.bind(f"udp://{IFACE_B};{GROUP4}:{PORT4}")
    ours6 = ctx.socket(zmtrio.DISH)
    ours6.ipv6 = 1
    ours6.join("six")
    await ours6.bind(f"udp://{IFACE_B};[{GROUP6}]:{PORT6_TO_ZMTRIO}")
    readers = [
        _hops_reader(stdlib_socket.AF_INET, GROUP4, PORT4),
        _hops_reader(stdlib_socket.AF_INET6, GROUP6, PORT6_TO_LIBZMQ),
        _hops_reader(stdlib_socket.AF_INET6, GROUP6, PORT6_TO_ZMTRIO),
    ]
    print("ready", flush=True)

    async def collect_dish4() -> None:
        while True:
            report["dish4"].append((await dish4.recv()).decode())

    async def collect_ours6() -> None:
        while True:
            msg = await ours6.recv_message()
            report["zmtrio_dish6"].append([msg[0].decode(), msg.group.decode()])

    async def collect_theirs6() -> None:
        while True:
            try:
                data, _, group = await theirs6.recv()
            except OSError:
                continue  # its receive timeout: look again
            report["libzmq_dish6"].append([data.decode(), group.decode()])

    async def until_stdin_closes() -> None:
        await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)

    async with trio.open_nursery() as nursery:
        for collector in (collect_dish4, collect_ours6, collect_theirs6):
            nursery.start_soon(collector)
        for reader in readers:
            nursery.start_soon(_collect_hops, reader, report["hops"])
        await until_stdin_closes()
        # Whatever crossed the veth is in by now; give stragglers a moment.
        await trio.sleep(0.3)
        nursery.cancel_scope.cancel()
    for reader in readers:
        reader.close()
    return report


async def _radio(
    ctx: zmtrio.Context, endpoint: str, *, loop: int = 1, hops: int = 1, ipv6: int = 0
) -> zmtrio.Socket:
    radio = ctx.socket(zmtrio.RADIO)
    radio.multicast_loop = loop
    radio.multicast_hops = hops
    radio.ipv6 = ipv6
    await radio.connect(endpoint)
    return radio


async def send(ctx: zmtrio.Context, lctx: LibzmqContext) -> dict[str, Any]:
    report: dict[str, Any] = {"local_dish4": []}
    local = ctx.socket(zmtrio.DISH)
    local.join("tv")
    await local.bind(f"udp://{IFACE_A};{GROUP4}:{PORT4}")
    quiet = await _radio(ctx, f"udp://{IFACE_A};{GROUP4}:{PORT4}", loop=0, hops=3)
    looped = await _radio(ctx, f"udp://{IFACE_A};{GROUP4}:{PORT4}")
    ours6 = await _radio(ctx, f"udp://{IFACE_A};[{GROUP6}]:{PORT6_TO_LIBZMQ}", hops=4, ipv6=1)
    theirs6 = lctx.socket(zmtrio.RADIO)
    theirs6.set_int(zmtrio.IPV6, 1)
    theirs6.set_int(zmtrio.MULTICAST_HOPS, 4)
    theirs6.connect(f"udp://{IFACE_A};[{GROUP6}]:{PORT6_TO_ZMTRIO}")
    await trio.sleep(0.2)  # libzmq connects in its I/O thread
    for n in range(COUNT):
        await quiet.send(b"noloop-%d" % n, group="tv")
        await looped.send(b"loop-%d" % n, group="tv")
        await ours6.send(b"zmtrio-%d" % n, group="six")
        await theirs6.send(b"libzmq-%d" % n, group=b"six")
        await trio.sleep(0.02)
    # The looped copies of "loop-*" went through the same queue as any copy of
    # "noloop-*" would have: once the last is in, the rest would be too.
    while not report["local_dish4"] or report["local_dish4"][-1] != f"loop-{COUNT - 1}":
        report["local_dish4"].append((await local.recv()).decode())
    with trio.move_on_after(0.3):
        while True:
            report["local_dish4"].append((await local.recv()).decode())
    return report


async def run(role: str) -> dict[str, Any]:
    lctx = LibzmqContext()
    try:
        with trio.fail_after(30):
            async with zmtrio.Context() as ctx:
                return await (receive if role == "receive" else send)(ctx, lctx)
    finally:
        lctx.close()


def main() -> None:
    print(json.dumps(trio.run(run, sys.argv[1])), flush=True)


if __name__ == "__main__":
    main()
