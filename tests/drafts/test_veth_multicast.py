"""Multicast on the wire between two hosts: two network namespaces joined by a veth pair
(``_veth_scenarios`` runs a role in each). Proves ``MULTICAST_LOOP`` off keeps a RADIO's
datagrams from its own host's DISH while the other host gets them, ``MULTICAST_HOPS`` as
the TTL the other host reads, and IPv6 multicast RADIO/DISH against libzmq both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drafts._libzmq import libzmq_drafts
from tests.drafts._veth_scenarios import COUNT, IFACE_A, IFACE_B

REPO = Path(__file__).resolve().parents[2]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def hosts() -> Iterator[tuple[str, str]]:
    """Namespaces A and B, joined by a veth pair with IPv4 and IPv6 addresses and the
    multicast ranges routed through it; removed afterwards (their veth goes with them)."""
    names = (f"zmtrio-a-{os.getpid()}", f"zmtrio-b-{os.getpid()}")
    for name in names:
        _ip("netns", "add", name)
    try:
        a, b = names
        _ip("link", "add", IFACE_A, "netns", a, "type", "veth", "peer", "name", IFACE_B,
            "netns", b)  # fmt: skip
        for name, iface, v4, v6 in ((a, IFACE_A, "192.0.2.1/24", "2001:db8::1/64"),
                                    (b, IFACE_B, "192.0.2.2/24", "2001:db8::2/64")):  # fmt: skip
            _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", name, "addr", "add", v4, "dev", iface)
            _ip("-n", name, "-6", "addr", "add", v6, "dev", iface, "nodad")
            _ip("-n", name, "link", "set", iface, "up")
            _ip("-n", name, "route", "add", "224.0.0.0/4", "dev", iface)
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="network namespaces need root and ip (CI has both)",
)
def test_multicast_loop_hops_and_ipv6_across_a_veth(hosts: tuple[str, str]) -> None:
    libzmq_drafts()  # built (or found) out here, where the build may use the network
    a, b = hosts
    role = [sys.executable, "-m", "tests.drafts._veth_scenarios"]
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", b, *role, "receive"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None and receiver.stdin is not None
        assert receiver.stdout.readline().strip() == "ready"
        sender = subprocess.run(
            ["ip", "netns", "exec", a, *role, "send"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sender.returncode == 0, sender.stderr
        out, err = receiver.communicate("", timeout=60)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert receiver.returncode == 0, err
    sent = json.loads(sender.stdout.strip().splitlines()[-1])
    received = json.loads(out.strip().splitlines()[-1])
    looped = [f"loop-{n}" for n in range(COUNT)]
    quiet = [f"noloop-{n}" for n in range(COUNT)]
    # Host A's own DISH: the looping RADIO's datagrams, none of the quiet one's.
    assert sent["local_dish4"] == looped
    # Host B: both RADIOs' datagrams, in order, each with its RADIO's hops as TTL.
    assert [m for m in received["dish4"] if m.startswith("noloop")] == quiet
    assert [m for m in received["dish4"] if m.startswith("loop")] == looped
    # IPv6 hop limits: zmtrio's RADIO sets MULTICAST_HOPS; libzmq 4.3's sets option 33 at
    # the IPv6 level (IP_MULTICAST_TTL's number, IPV6_FLOWINFO_SEND there), so its
    # datagrams keep the default hop limit of 1.
    zmtrio6 = [f"zmtrio-{n}" for n in range(COUNT)]
    libzmq6 = [f"libzmq-{n}" for n in range(COUNT)]
    assert received["hops"] == {
        **{m: 3 for m in quiet},
        **{m: 1 for m in looped},
        **{m: 4 for m in zmtrio6},
        **{m: 1 for m in libzmq6},
    }
    # IPv6 multicast both ways with libzmq.
    assert received["libzmq_dish6"] == [[f"zmtrio-{n}", "six"] for n in range(COUNT)]
    assert received["zmtrio_dish6"] == [[f"libzmq-{n}", "six"] for n in range(COUNT)]
