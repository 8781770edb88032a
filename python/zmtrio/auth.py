"""Authentication for PLAIN and CURVE, as pyzmq's ``zmq.auth``: a ZAP handler and CURVE
certificate files.

Example, a CURVE server that lets in the clients whose public certificates are in
``public_keys/``::

    async with zmtrio.auth.Authenticator(ctx) as auth:
        auth.configure_curve(domain="*", location="public_keys")
        public, secret = zmtrio.auth.load_certificate("server.key_secret")
        server = ctx.socket(zmtrio.REP)
        server.curve_secretkey = secret
        server.curve_publickey = public
        server.curve_server = True
        await server.bind("tcp://*:5555")
"""

from __future__ import annotations

from ._authenticator import CURVE_ALLOW_ANY as CURVE_ALLOW_ANY
from ._authenticator import Authenticator as Authenticator
from ._authenticator import CredentialsProvider as CredentialsProvider
from ._certs import create_certificates as create_certificates
from ._certs import load_certificate as load_certificate
from ._certs import load_certificates as load_certificates

__all__ = [
    "CURVE_ALLOW_ANY",
    "Authenticator",
    "CredentialsProvider",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]

for _name in ("Authenticator", "CredentialsProvider"):
    globals()[_name].__module__ = __name__
del _name
