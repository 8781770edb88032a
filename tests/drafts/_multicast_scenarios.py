"""RADIO/DISH over udp multicast, run by ``test_multicast.py`` inside a network namespace
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


async def loop_off_keeps_a_radio_from_its_own_host() -> None:
    endpoint = f"udp://{GROUP}:5603"
    async with zmtrio.Context() as ctx:
        dish = ctx.socket(zmtrio.DISH)
        dish.join(b"g")
        await dish.bind(endpoint)
        quiet = ctx.socket(zmtrio.RADIO)
        quiet.multicast_loop = 0
        await quiet.connect(endpoint)
        loud = ctx.socket(zmtrio.RADIO)
        await loud.connect(endpoint)
        await trio.sleep(0.2)
        await quiet.send(b"never", group="g")
        await loud.send(b"heard", group="g")
        assert await dish.recv() == b"heard"
        with trio.move_on_after(0.3):
            got = await dish.recv()
            raise AssertionError(f"MULTICAST_LOOP=0 still looped {got!r}")


async def main() -> None:
    set_up_loopback()
    lctx = LibzmqContext()
    try:
        with trio.fail_after(30):
            await zmtrio_radio_to_libzmq_and_zmtrio_dishes(lctx)
            await libzmq_radio_to_zmtrio_dish_on_an_interface(lctx)
            await loop_off_keeps_a_radio_from_its_own_host()
    finally:
        lctx.close()
    print("multicast scenarios passed")


if __name__ == "__main__":
    trio.run(main)
    sys.exit(0)
