"""The tests' ``redis-server`` fixtures (servers from ``zaiproxy.testing.redis_server``): the
session-scoped ``redis_url``, and ``own_redis``, a server of one test's own (to stop). Test
modules load them with ``pytest_plugins = ["redis_server"]``.

When ``redis-server`` is missing the fixtures fail (CI installs it: a skipped test would hide a
broken CI), unless ``ZAIPROXY_ALLOW_SKIP=1`` lets them skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from zaiproxy.testing.redis_server import REDIS_SERVER, RedisServer

__all__ = ["RedisServer", "own_redis", "redis_url"]


def _require_redis_server() -> None:
    if not os.path.exists(REDIS_SERVER):
        message = f"{REDIS_SERVER} is missing (Debian/Ubuntu: apt-get install redis-server)"
        if os.environ.get("ZAIPROXY_ALLOW_SKIP") == "1":
            pytest.skip(message)
        pytest.fail(f"{message}; set ZAIPROXY_ALLOW_SKIP=1 to skip the Redis tests instead")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a redis-server shared by the whole session (tests use their own key prefix or
    flush the database)."""
    _require_redis_server()
    with RedisServer() as server:
        yield server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which the test may stop."""
    _require_redis_server()
    with RedisServer() as server:
        yield server
