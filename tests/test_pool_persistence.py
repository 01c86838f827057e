"""The pool's state outlives the process and is shared between processes: a server killed with
SIGKILL while tokens are being added loses none it acknowledged, and two servers on one real
redis-server see one pool, one round robin, one cooldown and one set of statistics."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import openai
import pytest

from zaiproxy.testing import MockUpstream, Reply

from pool_server import ADMIN_PASSWORD, API_KEY, admin, eventually, pool_env, token_id
from server_process import ServerProcess, bearer, request, serving

if TYPE_CHECKING:
    from redis_server import RedisServer

pytest_plugins = ["redis_server"]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    with MockUpstream() as upstream:
        yield upstream


def ask(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
    client.chat.completions.create(model="GLM-4.5", messages=[{"role": "user", "content": "hi"}])


def pool_ids(server: ServerProcess) -> set[str]:
    state = admin(server, "GET", "/dashboard/api/state").json()
    return {token["token_id"] for token in state["tokens"]}


def test_no_acknowledged_token_lost_when_killed_mid_write(
    mock: MockUpstream, tmp_path: Path
) -> None:
    acknowledged: list[str] = []
    stop = threading.Event()

    def add_tokens(server: ServerProcess) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            token = f"crash-test-token-{number:05d}-" + "x" * 40
            try:
                response = request(
                    server,
                    "POST",
                    "/dashboard/api/tokens",
                    {"tokens": token},
                    headers=bearer(ADMIN_PASSWORD),
                )
            except OSError:
                return  # the server is gone
            if response.status == 200:
                acknowledged.append(token)

    env = pool_env(mock)
    with serving(tmp_path, env=env) as server:
        writer = threading.Thread(target=add_tokens, args=(server,))
        writer.start()
        eventually(lambda: len(acknowledged) >= 30, timeout=60)
        # SIGKILL to the whole process group: the worker dies mid-write, nothing is flushed.
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
        stop.set()
        writer.join()

    with sqlite3.connect(tmp_path / "tokens.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with serving(tmp_path, env=env) as server:
        stored = pool_ids(server)
        assert {token_id(t) for t in acknowledged} <= stored
        # The restarted server still takes writes.
        admin(server, "POST", "/dashboard/api/tokens", {"tokens": "after-restart-" + "y" * 40})
        assert len(pool_ids(server)) == len(stored) + 1


def test_two_servers_share_one_pool_through_redis(
    mock: MockUpstream, tmp_path: Path, redis_url: str
) -> None:
    first_token, second_token = (mock.add_user(n).token for n in ("Shared 1", "Shared 2"))
    env = pool_env(mock, REDIS_URL=redis_url, ZAI_TOKEN=first_token, ANONYMOUS_MODE="false")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with serving(tmp_path / "one", env=env) as one, serving(tmp_path / "two", env=env) as two:
        # A token added through one server serves requests through the other.
        admin(one, "POST", "/dashboard/api/tokens", {"tokens": second_token})
        assert pool_ids(two) == {token_id(first_token), token_id(second_token)}
        assert admin(two, "GET", "/dashboard/api/state").json()["store"] == "redis"

        # One round robin: alternating servers still alternate tokens.
        start = len(mock.completions)
        for server in (one, two, one, two):
            ask(server)
        used = [c.headers["authorization"] for c in mock.completions[start:]]
        assert used[0] != used[1] and used[:2] == used[2:]

        # A cooldown earned through one server holds on the other.
        second = token_id(second_token)
        mock.on_completion = lambda r: (
            Reply.http_error(429)
            if r.headers.get("authorization") == f"Bearer {second_token}"
            else Reply.answer(["ok"])
        )
        try:
            for _ in range(4):
                ask(one)
            eventually(lambda: _state_of(two, second) == "cooling")
            start = len(mock.completions)
            for _ in range(4):
                ask(two)
            assert all(
                c.headers["authorization"] == f"Bearer {first_token}"
                for c in mock.completions[start:]
            )
        finally:
            mock.on_completion = None

        # One set of statistics: each server's answer counts every request.
        def total(server: ServerProcess) -> int:
            stats = admin(server, "GET", "/dashboard/api/state").json()["stats"]
            return int(stats["total_requests"])

        eventually(lambda: total(one) == total(two) == 12)


def _state_of(server: ServerProcess, wanted: str) -> str:
    tokens = admin(server, "GET", "/dashboard/api/state").json()["tokens"]
    return next(t["state"] for t in tokens if t["token_id"] == wanted)


def test_a_store_outage_leaves_the_guests_serving(
    mock: MockUpstream, tmp_path: Path, own_redis: RedisServer
) -> None:
    user = mock.add_user("Pooled").token
    env = pool_env(mock, REDIS_URL=own_redis.url, ZAI_TOKEN=user, ANONYMOUS_MODE="true")
    with serving(tmp_path, env=env) as server:
        start = len(mock.completions)
        ask(server)
        own_redis.stop()
        ask(server)  # the pool cannot pick: a guest serves instead of an error
        first, second = (c.headers["authorization"] for c in mock.completions[start:])
        assert first == f"Bearer {user}" and second != first
        state = request(server, "GET", "/dashboard/api/state", headers=bearer(ADMIN_PASSWORD))
        assert state.status == 503
        assert state.json()["error"].startswith("the token store failed")


def test_workers_of_one_server_share_the_sqlite_pool(mock: MockUpstream, tmp_path: Path) -> None:
    """`serve --workers 2` on the default store: a token added through whichever worker
    answers serves through both, in one round robin (the cursor lives in the file)."""
    first, second = (mock.add_user(n).token for n in ("Worker 1", "Worker 2"))
    env = pool_env(mock, ZAI_TOKEN=first, ANONYMOUS_MODE="false")
    with serving(tmp_path, "--workers", "2", env=env) as server:
        admin(server, "POST", "/dashboard/api/tokens", {"tokens": second})
        start = len(mock.completions)
        for _ in range(12):
            ask(server)  # answered by either worker; none may fail for want of a token
        used = [c.headers["authorization"] for c in mock.completions[start:]]
        assert used.count(f"Bearer {first}") == used.count(f"Bearer {second}") == 6
        assert all(used[i] != used[i + 1] for i in range(len(used) - 1))
