"""The tests' ``redis-server`` fixtures (servers from ``zaiproxy.testing.redis_server``): the
session-scoped ``redis_url``, and ``own_redis``, a server of one test's own (to stop). Test
modules load them with ``pytest_plugins = ["redis_server"]``.

When ``redis-server`` is missing the fixtures fail, unless ``ZAIPROXY_ALLOW_SKIP=1`` lets them
skip (conftest.require_host).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from zaiproxy.testing.redis_server import REDIS_SERVER, RedisServer

from conftest import require_host

__all__ = ["RedisServer", "own_redis", "redis_url"]


def _require_redis_server() -> None:
    require_host(os.path.exists(REDIS_SERVER), f"{REDIS_SERVER} (apt-get install redis-server)")


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
