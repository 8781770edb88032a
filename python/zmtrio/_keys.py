"""CURVE keys: generating pairs, deriving public keys, and the forms options take.

Keys travel as Z85 text (RFC 32), 40 characters for 32 bytes, as in libzmq and pyzmq.
Pairs come from libsodium inside the extension (the same random source and X25519 that
libzmq uses).
"""

from __future__ import annotations

import errno

from . import _core
from ._errors import ZMQError

__all__ = ["curve_key", "curve_keypair", "curve_public"]


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair as Z85 text: ``(public, secret)``, 40 bytes each."""
    public, secret = _core.curve_keypair()
    return _core.z85_encode(public), _core.z85_encode(secret)


def curve_public(secret: bytes | str) -> bytes:
    """The Z85 public key of a Z85 (or 32-byte raw) secret key."""
    raw = secret.encode("ascii") if isinstance(secret, str) else bytes(secret)
    if len(raw) != 32:
        raw = _core.z85_decode(raw)
        if len(raw) != 32:
            raise ValueError("a CURVE secret key is 40 Z85 characters (or 32 bytes)")
    return _core.z85_encode(_core.curve_public(raw))


def curve_key(value: bytes) -> bytes:
    """A CURVE key option's value (32 raw bytes, 40 Z85 characters, or 41 with a trailing
    NUL, as libzmq takes) as the 40 Z85 characters pyzmq reads back; ``EINVAL`` otherwise."""
    if len(value) == 41 and value.endswith(b"\0"):
        value = value[:40]
    try:
        if len(value) == 32:
            return _core.z85_encode(value)
        if len(value) == 40:
            _core.z85_decode(value)
            return value
    except ValueError:
        pass
    raise ZMQError(errno.EINVAL, "a CURVE key is 32 bytes or 40 Z85 characters")
