"""Who may use the dashboard and the pool / statistics endpoints.

An admin proves it with a secret: ``ADMIN_PASSWORD`` or one of the API keys (``AUTH_TOKEN``…),
presented by any of the API's carriers (``Authorization: Bearer``, ``x-api-key``, ``?token=`` …)
or once at the login form, which answers with a signed session cookie. With neither secret
configured the admin routes stay closed: the older proxies' open admin routes leaked tokens.
Unlike the API's own check, ``SKIP_AUTH_TOKEN`` does not open them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

from starlette.requests import Request

from zaiproxy.server.auth import presented_keys

SESSION_COOKIE = "zaiproxy_session"
SESSION_LIFETIME = 24 * 3600.0


class AdminDenied(Exception):
    """The request has no admin rights; ``reason`` says what to do about it."""

    def __init__(self, reason: str, *, configured: bool) -> None:
        super().__init__(reason)
        self.configured = configured


class AdminAuth:
    def __init__(
        self,
        secrets: Sequence[str],
        signing_key: bytes,
        *,
        lifetime: float = SESSION_LIFETIME,
    ) -> None:
        self._secrets = [s.encode() for s in dict.fromkeys(secrets) if s]
        self._signing_key = signing_key
        self.lifetime = lifetime

    @property
    def configured(self) -> bool:
        return bool(self._secrets)

    def accepts(self, secret: str) -> bool:
        """Constant time over every configured secret, whichever matches."""
        matched = False
        for known in self._secrets:
            matched |= hmac.compare_digest(secret.encode(), known)
        return matched

    def check(self, request: Request) -> None:
        """Raises AdminDenied unless the request has a valid session cookie or carries an
        admin secret."""
        if not self.configured:
            raise AdminDenied(
                "the admin routes are closed: set ADMIN_PASSWORD or AUTH_TOKEN to open them",
                configured=False,
            )
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and self.session_valid(cookie):
            return
        if any(self.accepts(key) for key in presented_keys(request)):
            return
        raise AdminDenied("unauthorized: log in or send the admin password", configured=True)

    # ── sessions: "<expiry>.<signature>", HMAC-SHA256 over the expiry with the signing key ──

    def new_session(self, now: float | None = None) -> str:
        expiry = str(int((time.time() if now is None else now) + self.lifetime))
        return f"{expiry}.{self._sign(expiry)}"

    def session_valid(self, value: str, now: float | None = None) -> bool:
        expiry, _, signature = value.partition(".")
        if not expiry.isdigit() or not hmac.compare_digest(signature, self._sign(expiry)):
            return False
        return int(expiry) > (time.time() if now is None else now)

    def _sign(self, payload: str) -> str:
        # The key material includes the secrets: changing the password ends every session.
        key = self._signing_key + b"\0" + b"\0".join(self._secrets)
        digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
