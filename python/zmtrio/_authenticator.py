"""``Authenticator``: a ZAP handler (RFC 27) serving a context's handshakes, as pyzmq's.

It binds a REP socket at ``inproc://zeromq.zap.01`` and answers every request while its
``async with`` block runs. Policies follow pyzmq's ``zmq.auth.Authenticator``: an address
allow or deny list first, then per mechanism: NULL passes, PLAIN checks user name and
password per domain, CURVE checks the client key against a certificate directory, a
callback, or lets any key in. Each decision is logged on the ``zmq.auth`` logger with
pyzmq's wording, so existing log filters keep working.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, final

import trio

from . import _core
from ._certs import load_certificates
from ._constants import SocketType
from ._zap import ZAP_ENDPOINT

if TYPE_CHECKING:
    from ._context import Context
    from ._socket import Socket

__all__ = ["CURVE_ALLOW_ANY", "Authenticator", "CredentialsProvider"]

#: ``configure_curve(location=CURVE_ALLOW_ANY)`` lets every client key in (pyzmq's value).
CURVE_ALLOW_ANY: Final = "*"
_VERSION: Final = b"1.0"


class CredentialsProvider(Protocol):
    """What ``configure_curve_callback`` takes: ``callback(domain, client_key)`` with the
    key as Z85 bytes returns whether to let the client in (or an awaitable of that)."""

    def callback(self, domain: str, key: bytes) -> bool | Awaitable[bool]: ...


@final
class Authenticator:
    """Serves ZAP for every socket of ``ctx`` while the ``async with`` block runs::

        async with zmtrio.auth.Authenticator(ctx) as auth:
            auth.allow("127.0.0.1")
            auth.configure_curve(domain="*", location="public_keys/")
            server = ctx.socket(zmtrio.REP)
            server.curve_secretkey = secret
            server.curve_server = True
            ...

    Until a policy is configured, NULL clients pass and PLAIN and CURVE clients are
    refused (as in pyzmq). Configuration calls take effect for the next handshake.
    """

    def __init__(self, context: Context, encoding: str = "utf-8", log: Any = None) -> None:
        self.context = context
        self.encoding = encoding
        self.log: logging.Logger = log or logging.getLogger("zmq.auth")
        self.allow_any = False
        self.allowed: set[str] = set()
        self.denied: set[str] = set()
        #: PLAIN user names and passwords by domain.
        self.passwords: dict[str, Mapping[str, str]] = {}
        #: Allowed CURVE keys (Z85) by domain.
        self.certs: dict[str, dict[bytes, bool]] = {}
        self.credentials_providers: dict[str, CredentialsProvider] = {}
        self._socket: Socket | None = None
        self._stack: AsyncExitStack | None = None

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Authenticator:
        if self._stack is not None:
            raise RuntimeError("an Authenticator runs once at a time")
        stack = AsyncExitStack()
        socket = self.context.socket(SocketType.REP)
        stack.push_async_callback(socket.aclose)
        socket.linger = 0
        await socket.bind(ZAP_ENDPOINT)
        nursery = await stack.enter_async_context(trio.open_nursery())
        nursery.start_soon(self._serve, socket)
        stack.callback(nursery.cancel_scope.cancel)
        self._socket = socket
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        stack, self._stack, self._socket = self._stack, None, None
        assert stack is not None, "Authenticator.__aexit__ without __aenter__"
        return await stack.__aexit__(exc_type, exc, traceback)

    async def _serve(self, socket: Socket) -> None:
        try:
            async for request in socket:
                reply = await self.handle_zap_message(request)
                await socket.send_multipart(reply)
        except trio.ClosedResourceError:
            pass  # the block ended

    # ---------------------------------------------------------------- policies

    def allow(self, *addresses: str) -> None:
        """Let in only these addresses (NULL: at once; PLAIN and CURVE still authenticate).
        Cannot be combined with ``deny``."""
        if self.denied:
            raise ValueError("Only use allow or deny, not both")
        self.allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse these addresses; others go on to authenticate. Cannot be combined with
        ``allow``."""
        if self.allowed:
            raise ValueError("Only use allow or deny, not both")
        self.denied.update(addresses)

    def configure_plain(
        self, domain: str = "*", passwords: Mapping[str, str] | None = None
    ) -> None:
        """PLAIN: accept these user names and passwords in ``domain`` (``"*"``: any)."""
        if passwords:
            self.passwords[domain] = passwords

    def configure_curve(self, domain: str = "*", location: str | Path = CURVE_ALLOW_ANY) -> None:
        """CURVE: accept the client keys of the public certificates in the directory
        ``location``, or any key with ``CURVE_ALLOW_ANY``."""
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        try:
            self.certs[domain] = load_certificates(location)
        except Exception as exc:  # as pyzmq: a bad directory is logged, not raised
            self.log.error("Failed to load CURVE certs from %s: %s", location, exc)

    def configure_curve_callback(
        self, domain: str = "*", credentials_provider: CredentialsProvider | None = None
    ) -> None:
        """CURVE: ask ``credentials_provider.callback(domain, key)`` about each client key."""
        self.allow_any = False
        if credentials_provider is not None:
            self.credentials_providers[domain] = credentials_provider
        else:
            self.log.error("None credentials_provider provided for domain:%s", domain)

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The user id a CURVE client gets (``User-Id`` metadata): its key in Z85."""
        return _core.z85_encode(client_public_key).decode("ascii")

    # ---------------------------------------------------------------- requests

    async def handle_zap_message(self, msg: list[bytes]) -> list[bytes]:
        """The reply to one ZAP request (the frames a REP handler sees)."""
        if len(msg) < 6:
            self.log.error("Invalid ZAP message, not enough frames: %r", msg)
            request_id = msg[1] if len(msg) > 1 else b""
            return self._reply(request_id, b"400", b"Not enough frames")
        version, request_id, raw_domain, raw_address, identity, mechanism = msg[:6]
        credentials = msg[6:]
        domain = raw_domain.decode(self.encoding, "replace")
        address = raw_address.decode(self.encoding, "replace")
        if version != _VERSION:
            self.log.error("Invalid ZAP version: %r", msg)
            return self._reply(request_id, b"400", b"Invalid version")
        self.log.debug(
            "version: %r, request_id: %r, domain: %r, address: %r, identity: %r, mechanism: %r",
            version,
            request_id,
            domain,
            address,
            identity,
            mechanism,
        )
        allowed = denied = False
        reason = b"NO ACCESS"
        if self.allowed:
            if address in self.allowed:
                allowed = True
                self.log.debug("PASSED (allowed) address=%s", address)
            else:
                denied = True
                reason = b"Address not allowed"
                self.log.debug("DENIED (not allowed) address=%s", address)
        elif self.denied:
            if address in self.denied:
                denied = True
                reason = b"Address denied"
                self.log.debug("DENIED (denied) address=%s", address)
            else:
                allowed = True
                self.log.debug("PASSED (not denied) address=%s", address)

        username = "anonymous"
        if not denied:
            if mechanism == b"NULL" and not allowed:
                self.log.debug("ALLOWED (NULL)")
                allowed = True
            elif mechanism == b"PLAIN":
                if len(credentials) != 2:
                    self.log.error("Invalid PLAIN credentials: %r", credentials)
                    return self._reply(request_id, b"400", b"Invalid credentials")
                username, password = (c.decode(self.encoding, "replace") for c in credentials)
                allowed, reason = self._authenticate_plain(domain, username, password)
            elif mechanism == b"CURVE":
                if len(credentials) != 1:
                    self.log.error("Invalid CURVE credentials: %r", credentials)
                    return self._reply(request_id, b"400", b"Invalid credentials")
                key = credentials[0]
                allowed, reason = await self._authenticate_curve(domain, key)
                if allowed:
                    username = self.curve_user_id(key)
        if allowed:
            return self._reply(request_id, b"200", b"OK", username)
        return self._reply(request_id, b"400", reason)

    def _authenticate_plain(self, domain: str, username: str, password: str) -> tuple[bool, bytes]:
        if not self.passwords:
            reason = b"No passwords defined"
            self.log.debug("DENIED (PLAIN) %s", reason)
            return False, reason
        domain = domain or "*"
        allowed = False
        if domain not in self.passwords:
            reason = b"Invalid domain"
        elif username not in self.passwords[domain]:
            reason = b"Invalid username"
        elif password != self.passwords[domain][username]:
            reason = b"Invalid password"
        else:
            allowed, reason = True, b"OK"
        if allowed:
            self.log.debug(
                "ALLOWED (PLAIN) domain=%s username=%s password=%s", domain, username, password
            )
        else:
            self.log.debug("DENIED %s", reason)
        return allowed, reason

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        domain = domain or "*"
        z85_key = _core.z85_encode(client_key)
        provider = self.credentials_providers.get(domain)
        if provider is not None:
            verdict = provider.callback(domain, z85_key)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            allowed = bool(verdict)
            status = "ALLOWED" if allowed else "DENIED"
            self.log.debug(
                "%s (CURVE auth_callback) domain=%s client_key=%s", status, domain, z85_key
            )
            return allowed, b"OK" if allowed else b"Unknown key"
        if domain not in self.certs:
            self.log.debug("DENIED (CURVE) Unknown domain=%s", domain)
            return False, b"Unknown domain"
        allowed = z85_key in self.certs[domain]
        status = "ALLOWED" if allowed else "DENIED"
        self.log.debug("%s (CURVE) domain=%s client_key=%s", status, domain, z85_key)
        return allowed, b"OK" if allowed else b"Unknown key"

    def _reply(
        self, request_id: bytes, status: bytes, text: bytes, user_id: str = ""
    ) -> list[bytes]:
        user = user_id.encode(self.encoding, "replace") if status == b"200" else b""
        self.log.debug("ZAP reply code=%s text=%s", status, text)
        return [_VERSION, request_id, status, text, user, b""]
