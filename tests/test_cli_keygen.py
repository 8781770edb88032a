"""``zmtrio keygen`` and ``--curve`` on the role commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trio
import zmq.auth
import zmtrio
from zmtrio._cli import main


def test_keygen_prints_a_z85_pair(capsys: pytest.CaptureFixture[str]) -> None:
    main(["keygen"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["public", "secret"]
    public, secret = (line.split(": ")[1].encode() for line in lines)
    assert zmtrio.curve_public(secret) == public


def test_keygen_writes_certificates_pyzmq_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["keygen", "--cert", str(tmp_path), "node", "--meta", "role=server"])
    public_file, secret_file = capsys.readouterr().out.splitlines()
    public, secret = zmq.auth.load_certificate(secret_file)
    assert zmq.auth.load_certificate(public_file) == (public, None)
    assert secret is not None and zmtrio.curve_public(secret) == public
    assert 'role = "server"' in Path(secret_file).read_text()
    with pytest.raises(SystemExit):
        main(["keygen", "--meta", "a=b"])


async def test_curve_roles_from_the_command_line(tmp_path: Path) -> None:
    """A CURVE PULL server and PUSH client, each a process, keys from certificate files."""
    main(["keygen", "--cert", str(tmp_path), "server"])
    main(["keygen", "--cert", str(tmp_path), "client"])
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    endpoint = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    zmtrio_cli = [sys.executable, "-m", "zmtrio"]
    server_cert = str(tmp_path / "server.key_secret")
    pull = subprocess.Popen(
        [*zmtrio_cli, "pull", "--bind", endpoint, "-n", "1", "--curve", server_cert],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        push = await trio.run_process(
            [
                *zmtrio_cli,
                "push",
                "--connect",
                endpoint,
                "--curve",
                str(tmp_path / "client.key_secret"),
                "--curve-server-key",
                str(tmp_path / "server.key"),
                "secret message",
            ],
            capture_stdout=True,
        )
        assert push.returncode == 0
        out, err = await trio.to_thread.run_sync(pull.communicate, None, 20)
    finally:
        pull.kill()
    assert out.splitlines() == ["secret message"]
    assert "CURVE server, public key" in err
