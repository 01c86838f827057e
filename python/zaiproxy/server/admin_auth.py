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
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

from starlette.requests import Request

from zaiproxy.server.auth import matches_any, presented_keys

SESSION_COOKIE = "zaiproxy_session"
SESSION_LIFETIME = 24 * 3600.0


class AdminDenied(Exception):
    """The request has no admin rights; ``reason`` says what to do about it, ``status`` is
    401 (no or wrong secret), 403 (no admin secret configured) or 429 (too many wrong ones)."""

    def __init__(self, reason: str, *, status: int) -> None:
        super().__init__(reason)
        self.status = status

    @property
    def configured(self) -> bool:
        return self.status != 403


class FailedAttempts:
    """Slows password guessing down: after ``limit`` wrong secrets from one client address
    within ``window`` seconds, that address is refused until its oldest failure is older than
    the window."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - self._clock()

    def record(self, client: str) -> None:
        failures = self._recent(client)
        failures.append(self._clock())
        self._failures[client] = failures
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:  # bounded, whoever knocks
            self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


class AdminAuth:
    def __init__(
        self,
        secrets: Sequence[str],
        signing_key: bytes,
        *,
        lifetime: float = SESSION_LIFETIME,
        failed_attempts: FailedAttempts | None = None,
    ) -> None:
        self._secrets = [s.encode() for s in dict.fromkeys(secrets) if s]
        self._signing_key = signing_key
        self.lifetime = lifetime
        self.failed_attempts = failed_attempts or FailedAttempts()

    @property
    def configured(self) -> bool:
        return bool(self._secrets)

    def accepts(self, secret: str) -> bool:
        """Constant time over every configured secret, whichever matches."""
        return matches_any(secret, self._secrets)

    def verify(self, client: str, secret: str) -> bool:
        """Whether ``secret`` is an admin secret; a wrong one counts against ``client``, which
        is refused (AdminDenied, 429) once it has too many."""
        wait = self.failed_attempts.retry_after(client)
        if wait > 0:
            raise AdminDenied(f"too many wrong passwords: try again in {wait:.0f} s", status=429)
        if self.accepts(secret):
            return True
        self.failed_attempts.record(client)
        return False

    def check(self, request: Request) -> None:
        """Raises AdminDenied unless the request has a valid session cookie or carries an
        admin secret."""
        if not self.configured:
            raise AdminDenied(
                "the admin routes are closed: set ADMIN_PASSWORD or AUTH_TOKEN to open them",
                status=403,
            )
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and self.session_valid(cookie):
            return
        client = client_address(request)
        if any(self.verify(client, key) for key in presented_keys(request)):
            return
        raise AdminDenied("unauthorized: log in or send the admin password", status=401)

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
