"""RADIO/DISH and DGRAM over udp multicast, run by ``test_multicast.py`` inside a network namespace
of its own (``unshare -n``) whose loopback it brings up with multicast on: nothing here
touches the machine's own interfaces. Exits 0 when every scenario passed."""

from __future__ import annotations

import subprocess
import sys

import trio
import zmtrio

from tests.drafts._libzmq import LibzmqContext

GROUP = "239.0.0.1"


def set_up_loopback() -> None:
    """Loopback up, multicast on, and the multicast range routed through it."""
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "set", "lo", "multicast", "on"],
        ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"],
    ):
        subprocess.run(command, check=True)


async def zmtrio_radio_to_libzmq_and_zmtrio_dishes(lctx: LibzmqContext) -> None:
    endpoint = f"udp://{GROUP}:5601"
    async with zmtrio.Context() as ctx:
        radio = ctx.socket(zmtrio.RADIO)
        assert radio.multicast_loop == 1 and radio.multicast_hops == 1
        radio.multicast_hops = 2
        ours = ctx.socket(zmtrio.DISH)
        ours.join("tv")
        await ours.bind(endpoint)  # a multicast DISH binds the port on any address
        theirs = lctx.socket(zmtrio.DISH)
        theirs.bind(endpoint)
        theirs.join(b"tv")
        await radio.connect(endpoint)
        await trio.sleep(0.2)  # memberships in place; udp has no handshake to wait on
        for n in range(10):
            await radio.send(b"other", group="other")
            await radio.send(b"tv-%d" % n, group="tv")
        for n in range(10):
            msg = await ours.recv_message()
            assert (list(msg), msg.group) == ([b"tv-%d" % n], b"tv"), msg
            assert await theirs.recv() == (b"tv-%d" % n, 0, b"tv")


async def libzmq_radio_to_zmtrio_dish_on_an_interface(lctx: LibzmqContext) -> None:
    endpoint = f"udp://lo;{GROUP}:5602"
    async with zmtrio.Context() as ctx:
        dish = ctx.socket(zmtrio.DISH)
        dish.join(b"tv")
        resolved = await dish.bind(endpoint)
        assert resolved == f"udp://127.0.0.1;{GROUP}:5602", resolved
        radio = lctx.socket(zmtrio.RADIO)
        radio.connect(f"udp://127.0.0.1;{GROUP}:5602")
        await trio.sleep(0.2)
        for n in range(10):
            await radio.send(b"tv-%d" % n, group=b"tv")
        for n in range(10):
            msg = await dish.recv_message()
            assert (list(msg), msg.group) == ([b"tv-%d" % n], b"tv"), msg


async def dgrams_to_a_group(lctx: LibzmqContext) -> None:
    async with zmtrio.Context() as ctx:
        ours = ctx.socket(zmtrio.DGRAM)
        await ours.bind(f"udp://{GROUP}:5604")
        theirs = lctx.socket(zmtrio.DGRAM)
        theirs.bind(f"udp://{GROUP}:5605")
        await trio.sleep(0.2)
        await theirs.send_multipart([f"{GROUP}:5604".encode(), b"from libzmq"])
        address, body = await ours.recv_multipart()
        assert body == b"from libzmq" and address.endswith(b":5605\x00"), address
        await ours.send_multipart([f"{GROUP}:5605".encode(), b"from zmtrio"])
        address, body = await theirs.recv_multipart()
        assert body == b"from zmtrio" and address.endswith(b":5604\x00"), address


async def main() -> None:
    set_up_loopback()
    lctx = LibzmqContext()
    try:
        with trio.fail_after(30):
            await zmtrio_radio_to_libzmq_and_zmtrio_dishes(lctx)
            await libzmq_radio_to_zmtrio_dish_on_an_interface(lctx)
            await dgrams_to_a_group(lctx)
    finally:
        lctx.close()
    print("multicast scenarios passed")


if __name__ == "__main__":
    trio.run(main)
    sys.exit(0)
