"""Fixtures of the end-to-end server tests (tests/test_server_*.py load them with
``pytest_plugins = ["server_fixtures"]``, so that session-scoped servers are shared by every
module).

``server`` is one `zaiproxy serve` per ASGI server kind (Granian and uvicorn), started once for the
whole session; ``lenient_server`` is one more instance (Granian only) for the settings that change
the server's defaults. ``mock`` is the MockUpstream they all talk to, reset before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zaiproxy.testing import MockUpstream

from server_process import (
    API_KEY,
    CUSTOM_CLAUDE_NAME,
    CUSTOM_CLAUDE_TARGET,
    LENIENT_MAX_BODY,
    LENIENT_THINK_MODE,
    LENIENT_TIMEOUT,
    MORE_KEYS,
    SERVER_KINDS,
    ServerProcess,
    Upstream,
    base_env,
    clean_env,
    reset_mock,
    serving,
)


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    with MockUpstream() as mock:
        yield Upstream(mock, mock.add_user("E2E User").token)


@pytest.fixture
def mock(upstream: Upstream) -> Iterator[MockUpstream]:
    """The shared mock with no scripted reply left over from an earlier test."""
    reset_mock(upstream.mock)
    yield upstream.mock
    reset_mock(upstream.mock)


@pytest.fixture(scope="session", params=SERVER_KINDS)
def server(
    request: pytest.FixtureRequest, upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The main instance: keys required, a user token upstream, every other setting default."""
    env = {
        **base_env(upstream),
        "AUTH_TOKEN": API_KEY,
        "AUTH_TOKENS": ",".join(MORE_KEYS),
        "ZAI_TOKEN": upstream.user_token,
        "ZAIPROXY_CLAUDE_MODELS": f"{CUSTOM_CLAUDE_NAME}={CUSTOM_CLAUDE_TARGET}",
    }
    cwd = tmp_path_factory.mktemp(f"serve-{request.param}")
    with serving(cwd, "--server", request.param, env=clean_env(**env)) as server:
        yield server


@pytest.fixture(scope="session")
def lenient_server(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The other defaults: stream unless told not to, auth skipped although a key is set, a small
    body limit, `think` as the think mode, guests only (no user token)."""
    env = {
        **base_env(upstream),
        "AUTH_TOKEN": API_KEY,
        "SKIP_AUTH_TOKEN": "true",
        "DEFAULT_STREAM": "true",
        "ZAIPROXY_MAX_BODY_BYTES": str(LENIENT_MAX_BODY),
        "THINK_TAGS_MODE": LENIENT_THINK_MODE,
        "ZAIPROXY_FIRST_BYTE_TIMEOUT": str(LENIENT_TIMEOUT),
        "ZAIPROXY_IDLE_TIMEOUT": str(LENIENT_TIMEOUT),
    }
    cwd = tmp_path_factory.mktemp("serve-lenient")
    with serving(cwd, "--server", "granian", env=clean_env(**env)) as server:
        yield server
