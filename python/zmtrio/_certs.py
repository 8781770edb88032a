"""CURVE certificate files in czmq's zcert format (ZPL, spec §9), as pyzmq writes them.

``create_certificates(dir, name)`` writes ``name.key`` (public) and ``name.key_secret``
(public and secret, plus metadata); readers take any zcert file, czmq's included: they
skip comments, find the ``public-key`` / ``secret-key`` lines and strip spaces and quotes.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from pathlib import Path

from ._keys import curve_keypair

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_PUBLIC_BANNER = """\
#   ****  Generated on {now} by zmtrio  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""
_SECRET_BANNER = """\
#   ****  Generated on {now} by zmtrio  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""

StrPath = str | os.PathLike[str]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _write(
    path: Path,
    banner: str,
    public: bytes,
    secret: bytes | None = None,
    metadata: Mapping[str | bytes, str | bytes] | None = None,
) -> None:
    lines = [banner, "metadata\n"]
    for name, value in (metadata or {}).items():
        lines.append(f'    {_text(name)} = "{_text(value)}"\n')
    lines += ["curve\n", f'    public-key = "{public.decode()}"\n']
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode()}"\n')
    # The secret file is readable by its owner only, from the moment it exists.
    mode = 0o600 if secret is not None else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "w", encoding="utf-8") as file:
        file.write("".join(lines))


def create_certificates(
    key_dir: StrPath, name: str, metadata: Mapping[str | bytes, str | bytes] | None = None
) -> tuple[str, str]:
    """Make a new key pair and write it as ``name.key`` (the public certificate, to hand
    out) and ``name.key_secret`` (both keys and ``metadata``, to keep) in ``key_dir``;
    return the two paths ``(public_file, secret_file)``."""
    public, secret = curve_keypair()
    base = Path(key_dir) / name
    public_file = base.with_name(base.name + ".key")
    secret_file = base.with_name(base.name + ".key_secret")
    now = datetime.datetime.now()
    _write(public_file, _PUBLIC_BANNER.format(now=now), public)
    _write(secret_file, _SECRET_BANNER.format(now=now), public, secret, metadata)
    return str(public_file), str(secret_file)


def load_certificate(path: StrPath) -> tuple[bytes, bytes | None]:
    """The keys of a certificate file as Z85 bytes: ``(public, secret)``, ``secret`` being
    None for a public certificate. ``OSError`` if the file is missing, ``ValueError`` if it
    holds no public key."""
    public: bytes | None = None
    secret: bytes | None = None
    with open(path, "rb") as file:
        for raw in file:
            line = raw.strip()
            if line.startswith(b"#") or b"=" not in line:
                continue
            name, value = (part.strip() for part in line.split(b"=", 1))
            value = value.strip(b" \t'\"")
            if name == b"public-key":
                public = value
            elif name == b"secret-key":
                secret = value
    if public is None:
        raise ValueError(f"no public key in {os.fspath(path)}")
    return public, secret


def load_certificates(directory: StrPath = ".") -> dict[bytes, bool]:
    """The public keys of every ``*.key`` certificate in ``directory`` (czmq's and pyzmq's
    convention), as a dict of Z85 keys to True. ``OSError`` if it is not a directory."""
    folder = Path(directory)
    if not folder.is_dir():
        raise OSError(f"not a certificate directory: {os.fspath(directory)}")
    return {load_certificate(path)[0]: True for path in sorted(folder.glob("*.key"))}
