"""Out of descriptors: the accept loop of a bound socket backs off while ``accept`` fails
with EMFILE (reporting ACCEPT_FAILED, as libzmq does) and serves the waiting peer as soon
as descriptors come back. The ``ctx`` fixture then checks none leaked."""

from __future__ import annotations

import errno
import os
import resource

import zmtrio
from zmtrio import EventType

from tests.conftest import next_event
from tests.faults._process import open_fds, peer_process


async def test_accept_loop_survives_emfile(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.linger = 0
    async with pull.monitor() as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        async with peer_process("push", endpoint, "3") as push:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            fillers: list[int] = []
            try:
                # Use up every descriptor this process may open (a low limit keeps it quick).
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_fds() + 16, hard))
                while True:
                    try:
                        fillers.append(os.open(os.devnull, os.O_RDONLY))
                    except OSError as exc:
                        assert exc.errno == errno.EMFILE
                        break
                await push.go()  # the peer connects: accept() has no descriptor to give
                failed = await next_event(events, EventType.ACCEPT_FAILED)
                assert failed.value == errno.EMFILE
                assert failed.endpoint == endpoint
            finally:
                for fd in fillers:
                    os.close(fd)
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            # Descriptors are back: the same waiting connection is accepted and served.
            await next_event(events, EventType.ACCEPTED)
            assert [await pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]
