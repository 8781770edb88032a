"""``zmtrio keygen``: a CURVE key pair on stdout, or certificate files (czmq's zcert
format, as pyzmq's ``create_certificates`` writes them)."""

from __future__ import annotations

import argparse

from .. import auth
from .._keys import curve_keypair
from ._app import CommandError

__all__ = ["add_keygen_command", "run_keygen"]


def add_keygen_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keygen``."""
    parser = commands.add_parser(
        "keygen",
        help="make a CURVE key pair (Z85) or certificate files",
        description=(
            "Print a new CURVE key pair as two Z85 lines (public, then secret), or with "
            "--cert DIR NAME write DIR/NAME.key (public certificate) and "
            "DIR/NAME.key_secret (both keys, readable by you only)."
        ),
    )
    parser.add_argument(
        "--cert", nargs=2, metavar=("DIR", "NAME"), help="write certificate files instead"
    )
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="metadata for the secret certificate (repeatable)",
    )
    parser.set_defaults(run=run_keygen)


def run_keygen(args: argparse.Namespace) -> None:
    """Print a key pair, or write certificate files and print their paths."""
    if args.cert is None:
        if args.meta:
            raise CommandError("--meta needs --cert DIR NAME")
        public, secret = curve_keypair()
        print(f"public: {public.decode()}")
        print(f"secret: {secret.decode()}")
        return
    metadata = {}
    for item in args.meta:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CommandError(f"--meta takes NAME=VALUE, not {item!r}")
        metadata[name] = value
    directory, name = args.cert
    public_file, secret_file = auth.create_certificates(directory, name, metadata)
    print(public_file)
    print(secret_file)
