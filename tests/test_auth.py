"""Keys, certificates and the Authenticator: Z85 vectors (RFC 32), key pairs checked with
pynacl (libsodium), certificate files exchanged with pyzmq in both directions and used in
real CURVE connections, and the Authenticator's logged decisions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
import zmq
import zmq.auth
import zmtrio
from zmtrio.auth import Authenticator

from tests.conftest import ZmqPeer

#: spec §5.8 / libzmq's zmq_curve documentation: Z85 <-> raw.
KEYS = [
    (
        b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        "BB88471D65E2659B30C55A5321CEBB5AAB2B70A398645C26DCA2B2FCB43FC518",
    ),
    (
        b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
        "7BB864B489AFA3671FBE69101F94B38972F24816DFB01B51656B3FEC8DFD0888",
    ),
]


def test_z85_vectors() -> None:
    assert zmtrio.z85_encode(bytes.fromhex("864FD26FB559F75B")) == b"HelloWorld"
    for text, raw in KEYS:
        assert zmtrio.z85_decode(text) == bytes.fromhex(raw)
        assert zmtrio.z85_encode(bytes.fromhex(raw)) == text


def test_curve_keypair_agrees_with_libsodium_and_pyzmq() -> None:
    public, secret = zmtrio.curve_keypair()
    assert len(public) == len(secret) == 40
    raw_public = nacl.bindings.crypto_scalarmult_base(zmtrio.z85_decode(secret))
    assert zmtrio.z85_decode(public) == raw_public
    assert zmtrio.curve_public(secret) == public == zmq.curve_public(secret)
    assert zmtrio.curve_public(secret.decode()) == public
    assert zmtrio.curve_public(KEYS[1][0]) == KEYS[0][0]
    assert zmtrio.curve_keypair() != (public, secret)
    with pytest.raises(ValueError):
        zmtrio.curve_public(b"too short")


async def _curve_round_trip(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    server_secret_file: str,
    client_secret_file: str,
    public_dir: Path,
    zmtrio_serves: bool,
) -> None:
    """A CURVE connection whose keys all come from certificate files."""
    server_public, server_secret = (
        zmtrio.auth.load_certificate(server_secret_file)
        if zmtrio_serves
        else zmq.auth.load_certificate(server_secret_file)
    )
    client_public, client_secret = (
        zmq.auth.load_certificate(client_secret_file)
        if zmtrio_serves
        else zmtrio.auth.load_certificate(client_secret_file)
    )
    assert server_secret is not None and client_secret is not None
    if zmtrio_serves:
        async with Authenticator(ctx) as auth:
            auth.configure_curve(location=public_dir)
            server = ctx.socket(zmtrio.PULL)
            server.curve_publickey = server_public
            server.curve_secretkey = server_secret
            server.curve_server = True
            endpoint = await server.bind("tcp://127.0.0.1:*")
            client = ZmqPeer(zctx, zmq.PUSH)
            client.sock.curve_publickey = client_public
            client.sock.curve_secretkey = client_secret
            client.sock.curve_serverkey = server_public
            client.connect(endpoint)
            await client.send_multipart([b"certified"])
            msg = await server.recv_message()
            assert list(msg) == [b"certified"]
            assert msg.metadata["User-Id"] == client_public.decode()
    else:
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(zctx)
        auth.start()
        try:
            auth.configure_curve(domain="*", location=str(public_dir))
            zserver = ZmqPeer(zctx, zmq.PULL)
            zserver.sock.curve_publickey = server_public
            zserver.sock.curve_secretkey = server_secret
            zserver.sock.curve_server = True
            endpoint = zserver.bind("tcp://127.0.0.1:*")
            ours = ctx.socket(zmtrio.PUSH)
            ours.curve_publickey = client_public
            ours.curve_secretkey = client_secret
            ours.curve_serverkey = server_public
            await ours.connect(endpoint)
            await ours.send(b"certified")
            assert await zserver.recv_multipart() == [b"certified"]
        finally:
            auth.stop()


@pytest.mark.parametrize("writer", ["pyzmq", "zmtrio"])
async def test_certificates_interchange_with_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], tmp_path: Path, writer: str
) -> None:
    """Files written by one library are read by the other and used for real: the reader's
    side runs the server with an authenticator over the writer's public certificates."""
    public_dir = tmp_path / "public"
    secret_dir = tmp_path / "secret"
    public_dir.mkdir()
    secret_dir.mkdir()
    create = zmq.auth.create_certificates if writer == "pyzmq" else zmtrio.auth.create_certificates
    files = {}
    for name in ("server", "client"):
        public_file, secret_file = create(str(secret_dir), name, metadata={"who": name})
        Path(public_file).rename(public_dir / f"{name}.key")
        files[name] = secret_file
    # Both readers agree on every file, whoever wrote it.
    for path in [*public_dir.glob("*.key"), *secret_dir.glob("*")]:
        assert zmtrio.auth.load_certificate(path) == zmq.auth.load_certificate(str(path))
    assert zmtrio.auth.load_certificates(public_dir) == zmq.auth.load_certificates(str(public_dir))
    await _curve_round_trip(
        ctx,
        zctx,
        files["server"],
        files["client"],
        public_dir,
        zmtrio_serves=writer == "pyzmq",
    )


def test_certificate_files_layout(tmp_path: Path) -> None:
    public_file, secret_file = zmtrio.auth.create_certificates(
        tmp_path, "node", metadata={"name": "value"}
    )
    assert (public_file, secret_file) == (
        str(tmp_path / "node.key"),
        str(tmp_path / "node.key_secret"),
    )
    secret_text = Path(secret_file).read_text()
    assert "#   ZeroMQ CURVE **Secret** Certificate" in secret_text
    assert '\nmetadata\n    name = "value"\ncurve\n    public-key = "' in secret_text
    assert Path(secret_file).stat().st_mode & 0o077 == 0
    public, secret = zmtrio.auth.load_certificate(secret_file)
    assert secret is not None and zmtrio.curve_public(secret) == public
    assert zmtrio.auth.load_certificate(public_file) == (public, None)
    assert "secret-key" not in Path(public_file).read_text()
    # czmq's files name keys without quotes: accepted too.
    bare = tmp_path / "czmq"
    bare.write_text(f"curve\n    public-key = {public.decode()}\n")
    assert zmtrio.auth.load_certificate(bare) == (public, None)
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\n")
    with pytest.raises(ValueError):
        zmtrio.auth.load_certificate(empty)
    with pytest.raises(OSError):
        zmtrio.auth.load_certificates(tmp_path / "missing")


async def test_authenticator_logs_decisions_as_pyzmq(
    ctx: zmtrio.Context, caplog: pytest.LogCaptureFixture
) -> None:
    auth = Authenticator(ctx)
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    caplog.set_level(logging.DEBUG, logger="zmq.auth")
    request = [b"1.0", b"7", b"", b"10.0.0.1", b"", b"PLAIN", b"admin", b"secret"]
    assert await auth.handle_zap_message(request) == [b"1.0", b"7", b"200", b"OK", b"admin", b""]
    assert "ALLOWED (PLAIN) domain=* username=admin password=secret" in caplog.text
    request[-1] = b"guess"
    reply = await auth.handle_zap_message(request)
    assert reply[2:5] == [b"400", b"Invalid password", b""]
    assert "DENIED b'Invalid password'" in caplog.text
    auth.deny("10.0.0.1")
    reply = await auth.handle_zap_message(request)
    assert reply[2] == b"400"
    assert "DENIED (denied) address=10.0.0.1" in caplog.text
    with pytest.raises(ValueError):
        auth.allow("10.0.0.2")
    # NULL passes when no list denies it; CURVE with no policy is refused.
    fresh = Authenticator(ctx)
    null = await fresh.handle_zap_message([b"1.0", b"1", b"", b"1.2.3.4", b"", b"NULL"])
    assert null[2:5] == [b"200", b"OK", b"anonymous"]
    key = zmtrio.z85_decode(zmtrio.curve_keypair()[0])
    curve = await fresh.handle_zap_message([b"1.0", b"1", b"", b"1.2.3.4", b"", b"CURVE", key])
    assert curve[2] == b"400"
    assert (await fresh.handle_zap_message([b"2.0", b"1", b"", b"", b"", b"NULL"]))[2] == b"400"


async def test_curve_callback_may_be_async(ctx: zmtrio.Context) -> None:
    seen: list[tuple[str, bytes]] = []
    public, _ = zmtrio.curve_keypair()

    class Provider:
        async def callback(self, domain: str, key: bytes) -> bool:
            seen.append((domain, key))
            return key == public

    auth = Authenticator(ctx)
    auth.configure_curve_callback("*", Provider())
    request = [b"1.0", b"1", b"", b"1.2.3.4", b"", b"CURVE", zmtrio.z85_decode(public)]
    reply = await auth.handle_zap_message(request)
    assert reply[2:5] == [b"200", b"OK", public]
    other = zmtrio.z85_decode(zmtrio.curve_keypair()[0])
    assert (await auth.handle_zap_message([*request[:6], other]))[2] == b"400"
    assert seen[0] == ("*", public)
