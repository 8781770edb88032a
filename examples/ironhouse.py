"""Ironhouse: a CURVE-secured REP server that lets in only the clients it has a certificate
for, and a REQ client with its own certificate.

The ZeroMQ guide's ironhouse (chapter 5 of "ZeroMQ security"), for trio. The example makes
its certificates in a temporary directory, so it needs nothing else::

    python examples/ironhouse.py

The server's Authenticator allows the public certificates in ``public_keys/``: the client's
is there, an intruder's (a key pair made the same way, never handed to the server) is not.
The client's request arrives with its public key as ``User-Id``; the intruder is refused
during the handshake, before it can send anything.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trio
import zmtrio
from zmtrio.auth import Authenticator, create_certificates, load_certificate


def make_certificates(base: Path) -> tuple[Path, Path]:
    """Write the server's, the client's and an intruder's certificates, as the guide's
    generate_certificates does: public ones to hand out, secret ones to keep."""
    public_dir, secret_dir = base / "public_keys", base / "private_keys"
    for directory in (public_dir, secret_dir):
        directory.mkdir()
    for name in ("server", "client"):
        public_file, secret_file = create_certificates(base, name)
        Path(public_file).rename(public_dir / Path(public_file).name)
        Path(secret_file).rename(secret_dir / Path(secret_file).name)
    # The intruder's certificates stay where they are made: the server never sees its key.
    create_certificates(base, "intruder")
    return public_dir, secret_dir


def curve_keys(secret_file: Path) -> tuple[bytes, bytes]:
    """The (public, secret) Z85 keys of a secret certificate file."""
    public, secret = load_certificate(secret_file)
    if secret is None:
        raise ValueError(f"{secret_file} holds no secret key")
    return public, secret


async def server(
    ctx: zmtrio.Context,
    secret_file: Path,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Answer every authenticated request with b"World", until cancelled."""
    async with ctx.socket(zmtrio.REP) as rep:
        rep.curve_publickey, rep.curve_secretkey = curve_keys(secret_file)
        rep.curve_server = True  # before bind: every connection accepted here is CURVE
        task_status.started(await rep.bind("tcp://127.0.0.1:*"))
        while True:
            request = await rep.recv_message()  # the frames plus the connection's metadata
            print(f"server: {request[0]!r} from {request.metadata['User-Id']}")
            await rep.send(b"World")


async def client(ctx: zmtrio.Context, endpoint: str, secret_file: Path, server_key: bytes) -> None:
    """Send one request with our own certificate and print the reply."""
    async with ctx.socket(zmtrio.REQ) as req:
        public, secret = curve_keys(secret_file)
        req.curve_publickey, req.curve_secretkey = public, secret
        req.curve_serverkey = server_key  # the server's public key, to know whom we talk to
        print(f"client: my public key is {public.decode()}")
        await req.connect(endpoint)
        await req.send(b"Hello")
        print(f"client: reply {await req.recv()!r}")


async def intruder(
    ctx: zmtrio.Context, endpoint: str, secret_file: Path, server_key: bytes
) -> None:
    """Try with a key the server does not know; report how the server answers."""
    async with ctx.socket(zmtrio.REQ) as req:
        req.curve_publickey, req.curve_secretkey = curve_keys(secret_file)
        req.curve_serverkey = server_key
        async with req.monitor(zmtrio.EventType.HANDSHAKE_FAILED_AUTH) as events:
            await req.connect(endpoint)
            await req.send(b"let me in")  # queued: it goes out only if the handshake passes
            async for event in events:
                print(f"intruder: refused by the server, ZAP status {event.value}")
                break


async def main() -> None:
    with tempfile.TemporaryDirectory() as base:
        public_dir, secret_dir = make_certificates(Path(base))
        server_key, _ = load_certificate(public_dir / "server.key")
        # linger=0: at exit, drop what could not be sent (the intruder's request) at once.
        async with zmtrio.Context(linger=0) as ctx, Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")  # only local addresses, then the CURVE check
            auth.configure_curve(domain="*", location=public_dir)
            async with trio.open_nursery() as nursery:
                endpoint = await nursery.start(server, ctx, secret_dir / "server.key_secret")
                await client(ctx, endpoint, secret_dir / "client.key_secret", server_key)
                await intruder(ctx, endpoint, Path(base) / "intruder.key_secret", server_key)
                nursery.cancel_scope.cancel()  # the server would run forever: stop it


if __name__ == "__main__":
    trio.run(main)
