"""AdminAuth on its own: who is an admin (session cookie, secret by any carrier), signed sessions
(expiry, tampering, a changed password), the closed state without a secret, and the throttle
on wrong passwords."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from zaiproxy.server.admin_auth import SESSION_COOKIE, AdminAuth, AdminDenied, FailedAttempts

SIGNING_KEY = b"signing key of the test"


def make_request(
    headers: dict[str, str] | None = None, query: str = "", client: str = "10.0.0.1"
) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/dashboard/api/state",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": (client, 40000),
    }
    return Request(scope)


def denial(auth: AdminAuth, request: Request) -> AdminDenied:
    with pytest.raises(AdminDenied) as caught:
        auth.check(request)
    return caught.value


def test_secrets_by_every_carrier() -> None:
    auth = AdminAuth(["admin-password", "sk-api-key"], SIGNING_KEY)
    for request in (
        make_request({"Authorization": "Bearer admin-password"}),
        make_request({"Authorization": "sk-api-key"}),
        make_request({"x-api-key": "admin-password"}),
        make_request({"X-Auth-Token": "sk-api-key"}),
        make_request(query="token=admin-password"),
        make_request(query="auth_token=sk-api-key"),
    ):
        auth.check(request)
    assert denial(auth, make_request()).status == 401
    assert denial(auth, make_request({"Authorization": "Bearer nope"})).status == 401


def test_closed_without_any_secret() -> None:
    auth = AdminAuth(["", ""], SIGNING_KEY)
    denied = denial(auth, make_request({"Authorization": "Bearer "}))
    assert denied.status == 403 and not denied.configured
    assert "ADMIN_PASSWORD" in str(denied)


def test_sessions_are_signed_and_expire() -> None:
    auth = AdminAuth(["admin-password"], SIGNING_KEY, lifetime=60)
    session = auth.new_session(now=1000.0)
    assert auth.session_valid(session, now=1059.0)
    assert not auth.session_valid(session, now=1061.0)
    expiry, _, signature = session.partition(".")
    assert not auth.session_valid(f"{int(expiry) + 3600}.{signature}", now=1000.0)
    assert not auth.session_valid("garbage", now=1000.0)
    # Another signing key or another password: the session is worth nothing.
    assert not AdminAuth(["admin-password"], b"other key").session_valid(session, now=1000.0)
    assert not AdminAuth(["new password"], SIGNING_KEY).session_valid(session, now=1000.0)

    fresh = auth.new_session()
    auth.check(make_request({"Cookie": f"{SESSION_COOKIE}={fresh}"}))
    assert denial(auth, make_request({"Cookie": f"{SESSION_COOKIE}=1.forged"})).status == 401


def test_wrong_passwords_are_throttled_per_client() -> None:
    now = [0.0]
    attempts = FailedAttempts(limit=3, window=60.0, clock=lambda: now[0])
    auth = AdminAuth(["admin-password"], SIGNING_KEY, failed_attempts=attempts)
    for _ in range(3):
        assert not auth.verify("10.0.0.1", "guess")
    # Refused even with the right password, until the window has passed.
    with pytest.raises(AdminDenied) as caught:
        auth.verify("10.0.0.1", "admin-password")
    assert caught.value.status == 429
    assert denial(auth, make_request({"Authorization": "Bearer admin-password"})).status == 429
    # Another client is not affected.
    assert auth.verify("10.0.0.2", "admin-password")
    now[0] = 60.5
    assert auth.verify("10.0.0.1", "admin-password")


def test_throttle_memory_is_bounded() -> None:
    attempts = FailedAttempts(limit=1, window=60.0, clock=lambda: 0.0, max_clients=100)
    for number in range(1000):
        attempts.record(f"10.0.{number // 256}.{number % 256}")
    assert attempts.retry_after("10.0.3.231") > 0  # the newest are remembered
    assert attempts.retry_after("10.0.0.0") == 0  # the oldest were forgotten
