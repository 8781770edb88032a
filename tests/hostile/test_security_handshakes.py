"""Random bytes through every PLAIN and CURVE handshake stage, in both roles (hypothesis):
the engine answers with ``ProtocolError`` or waits for more, never anything else (a Rust
panic would surface as ``BaseException``), and never reports the handshake done."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zmtrio import PULL, PUSH, _core

Make = Callable[[], _core.Connection]

_SERVER_PUBLIC, _SERVER_SECRET = _core.curve_keypair()
_, _CLIENT_SECRET = _core.curve_keypair()

ROLES: dict[str, tuple[Make, Make]] = {
    # name: (the connection under test, the honest peer that drives it to a stage)
    "curve-server": (
        lambda: _core.Connection(PULL, mechanism=2, as_server=True, secret_key=_SERVER_SECRET),
        lambda: _core.Connection(
            PUSH, mechanism=2, secret_key=_CLIENT_SECRET, server_key=_SERVER_PUBLIC
        ),
    ),
    "curve-client": (
        lambda: _core.Connection(
            PUSH, mechanism=2, secret_key=_CLIENT_SECRET, server_key=_SERVER_PUBLIC
        ),
        lambda: _core.Connection(PULL, mechanism=2, as_server=True, secret_key=_SERVER_SECRET),
    ),
    "plain-server": (
        lambda: _core.Connection(PULL, mechanism=1, as_server=True),
        lambda: _core.Connection(PUSH, mechanism=1, username=b"u", password=b"p"),
    ),
    "plain-client": (
        lambda: _core.Connection(PUSH, mechanism=1, username=b"u", password=b"p"),
        lambda: _core.Connection(PULL, mechanism=1, as_server=True),
    ),
}


def _at_stage(role: str, steps: int) -> _core.Connection:
    """The connection under test after ``steps`` honest exchanges with its peer."""
    make_ours, make_peer = ROLES[role]
    ours, peer = make_ours(), make_peer()
    scratch = _core.Pipe(0)
    for _ in range(steps):
        for source, target in ((peer, ours), (ours, peer)):
            output = source.take_output(None, 0)
            if output is not None and not target.closed:
                events: list[tuple[object, ...]] = []
                target.feed(output, scratch, events, 0.0)
                for event in events:
                    if event[0] == _core.EV_ZAP_REQUEST:
                        target.zap_accepted(0.0)
    ours.take_output(None, 0)
    return ours


@pytest.mark.parametrize("role", sorted(ROLES))
@settings(max_examples=60, deadline=None)
@given(
    steps=st.integers(0, 2),
    frames=st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), min_size=1, max_size=4),
)
def test_random_frames_at_any_stage(
    role: str, steps: int, frames: list[tuple[bool, bytes]]
) -> None:
    conn = _at_stage(role, steps)
    was_ready = conn.ready
    stream = bytearray()
    for command, body in frames:
        flags = 0x04 if command else 0x00
        if len(body) > 255:
            stream += bytes([flags | 0x02]) + len(body).to_bytes(8, "big")
        else:
            stream += bytes([flags, len(body)])
        stream += body
    try:
        conn.feed(bytes(stream), _core.Pipe(0), [], 0.0)
    except _core.ProtocolError:
        assert conn.closed
        return
    # Random bytes cannot complete an authenticated handshake that was not done already.
    assert conn.ready == was_ready
    conn.take_output(None, 0)
