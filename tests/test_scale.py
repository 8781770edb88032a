"""Scale: one zmtrio ROUTER holding 1,000 tcp connections from pyzmq peers in another
process (the 10,000-connection figure is a benchmark: ``zmtrio bench --workload
connections --count 10000``)."""

from __future__ import annotations

import io

from zmtrio._cli._connections import connections


async def test_a_thousand_tcp_peers_on_one_router() -> None:
    out = io.StringIO()
    result = await connections(1000, 2, out)
    # Every hello and every echo arrived in order, and closing released every descriptor.
    assert result.complete, out.getvalue()
    # One descriptor per connection, nothing more (no duplicate held per peer).
    assert result.fds_per_connection <= 1.01, out.getvalue()
