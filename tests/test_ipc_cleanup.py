"""Closing an ipc endpoint removes its socket file, and a directory only when a wildcard bind
(``ipc://*``) made it: a user's directory stays even when it is left empty."""

from __future__ import annotations

import os

import zmtrio


async def test_closing_keeps_the_users_directory(ctx: zmtrio.Context, ipc_dir: str) -> None:
    directory = os.path.join(ipc_dir, "zmtrio-named-like-a-wildcard-directory")
    os.mkdir(directory)
    for name in [ipc_dir, directory]:
        path = os.path.join(name, "socket")
        sock = ctx.socket(zmtrio.PULL)
        await sock.bind("ipc://" + path)
        assert os.path.exists(path)
        await sock.aclose()
        assert not os.path.exists(path)
        assert os.path.isdir(name)


async def test_closing_removes_the_wildcard_directory(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PULL)
    endpoint = await sock.bind("ipc://*")
    directory = os.path.dirname(endpoint.removeprefix("ipc://"))
    assert os.path.isdir(directory)
    await sock.aclose()
    assert not os.path.exists(directory)
