"""What the token-pool, admin and dashboard tests share: a `zaiproxy serve` environment with a
pool policy quick enough to watch (two failures, a three-second cooldown), the admin's
requests, and polling."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from zaiproxy.testing import MockUpstream

from server_process import RawResponse, ServerProcess, bearer, clean_env, request

API_KEY = "sk-pool-client"
ADMIN_PASSWORD = "pool-admin-password"
RECOVERY_SECONDS = 3.0
HASH_SECRET = "pool-test-hash-secret"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """The probe's first truthy value, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {timeout} s (last value {value!r})")
        time.sleep(0.1)


def pool_env(mock: MockUpstream, **extra: str) -> dict[str, str]:
    """The environment of a server in front of ``mock``; ``extra`` adds or overrides."""
    settings = {
        "ZAIPROXY_ORIGIN": mock.url,
        "AUTH_TOKEN": API_KEY,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MAX_RETRIES": "3",
        "RETRY_DELAY": "0.01",
        "GUEST_POOL_SIZE": "0",
        "TOKEN_FAILURE_THRESHOLD": "2",
        "TOKEN_RECOVERY_TIMEOUT": str(RECOVERY_SECONDS),
        "TOKEN_HEALTH_CHECK_INTERVAL": "0",
        "TOKEN_HASH_SECRET": HASH_SECRET,
        "LOG_LEVEL": "warning",
    }
    return clean_env(**{**settings, **extra})


def token_id(token: str, secret: str = HASH_SECRET) -> str:
    """Z.ai2api's token id: HMAC-SHA256 of the token under the hash secret, hex."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def admin(server: ServerProcess, method: str, path: str, body: Any = None) -> RawResponse:
    response = request(server, method, path, body, headers=bearer(ADMIN_PASSWORD))
    assert response.status < 300, (response.status, response.body)
    return response
