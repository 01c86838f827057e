"""The token pool end to end: `zaiproxy serve` in front of the mock upstream, with user tokens
from the environment, the tokens file and the admin API, against an upstream that refuses,
rate-limits and revokes them (compatibility.md §1.4)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from zaiproxy.testing import MockUpstream, Reply
from zaiproxy.testing.records import RecordedRequest

from pool_server import (
    API_KEY,
    RECOVERY_SECONDS,
    admin,
    eventually,
    pool_env,
    token_id,
)
from server_process import ServerProcess, bearer, chat_body, request, serving


def tokens_by_display(server: ServerProcess) -> dict[str, dict[str, Any]]:
    state = admin(server, "GET", "/dashboard/api/state").json()
    return {token["display"]: token for token in state["tokens"]}


def display(token_id: str) -> str:
    return "token:" + token_id[:8]


def ask(server: ServerProcess) -> str:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content or ""


def bearer_of(request: RecordedRequest) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")


def bearers(completions: list[RecordedRequest]) -> list[str]:
    return [bearer_of(c) for c in completions]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    with MockUpstream() as upstream:
        yield upstream


@pytest.fixture(autouse=True)
def fresh_mock(mock: MockUpstream) -> Iterator[None]:
    mock.on_completion = None
    yield
    mock.on_completion = None


def test_round_robin_cooldown_probe_and_recovery(mock: MockUpstream, tmp_path: Path) -> None:
    a, b, c = (mock.add_user(name).token for name in ("A", "B", "C"))
    (tmp_path / "tokens.txt").write_text(f"# the file's token\n{c}  # a comment\n")
    env = pool_env(mock, ZAI_TOKEN=f"{a},{b}", ANONYMOUS_MODE="false")
    with serving(tmp_path, env=env) as server:
        # Round robin over the three, in the order they were added (environment, then file).
        start = len(mock.completions)
        for _ in range(6):
            ask(server)
        used = bearers(mock.completions[start:])
        assert sorted(used[:3]) == sorted([a, b, c]) and used[3:] == used[:3]

        # B is rate-limited: its requests are retried on the others, and after two failures it
        # cools down and gets no more requests.
        mock.on_completion = lambda r: (
            Reply.http_error(429) if bearer_of(r) == b else Reply.answer(["ok"])
        )
        start = len(mock.completions)
        for _ in range(6):
            assert ask(server) == "ok"
        used = bearers(mock.completions[start:])
        assert used.count(b) == 2, used
        b_id = token_id(b)
        token = eventually(lambda: _cooling(tokens_by_display(server)[display(b_id)]))
        assert token["failures"] == 2 and token["last_status"] == 429
        assert 0 < token["cooldown_seconds"] <= RECOVERY_SECONDS

        # After the cooldown B serves one probe request; it succeeds, and B is back.
        mock.on_completion = None
        time.sleep(RECOVERY_SECONDS + 0.2)
        start = len(mock.completions)
        for _ in range(6):
            ask(server)
        assert b in bearers(mock.completions[start:])
        token = eventually(
            lambda: (t := tokens_by_display(server)[display(b_id)])["state"] == "serving" and t
        )
        assert token["failures"] == 0 and token["cooldown_seconds"] == 0


def test_revoked_token_found_invalid_and_guest_token_set_aside(
    mock: MockUpstream, tmp_path: Path
) -> None:
    user = mock.add_user("Still valid").token
    revoked = mock.add_user("Soon revoked").token
    guest = mock.add_user("A guest", role="guest").token
    env = pool_env(mock, ZAI_TOKEN=f"{user},{revoked}", ANONYMOUS_MODE="false")
    with serving(tmp_path, env=env) as server:
        mock.revoke(revoked)
        for _ in range(4):
            ask(server)  # the 401 of the revoked token is retried on the valid one
        revoked_id = token_id(revoked)
        token = eventually(
            lambda: (t := tokens_by_display(server)[display(revoked_id)])["role"] == "invalid" and t
        )
        assert token["state"] == "invalid"

        # A guest's token pasted in is checked at once and never serves.
        admin(server, "POST", "/dashboard/api/tokens", {"tokens": guest})
        guest_id = token_id(guest)
        eventually(lambda: tokens_by_display(server)[display(guest_id)]["role"] == "guest")
        start = len(mock.completions)
        for _ in range(4):
            ask(server)
        assert set(bearers(mock.completions[start:])) == {user}

        # With no user token able to serve and guests not allowed: a clear 503.
        admin(server, "POST", f"/dashboard/api/tokens/{token_id(user)}/disable")
        response = request(server, "POST", "/v1/chat/completions", chat_body(), bearer(API_KEY))
        assert response.status == 503, response.body
        assert "identity" in response.json()["error"]["message"]


def test_guest_fallback_when_the_pool_cannot_serve(mock: MockUpstream, tmp_path: Path) -> None:
    only = mock.add_user("Only").token
    env = pool_env(mock, ZAI_TOKEN=only, ANONYMOUS_MODE="true")
    with serving(tmp_path, env=env) as server:
        admin(server, "POST", f"/dashboard/api/tokens/{token_id(only)}/disable")
        start = len(mock.completions)
        ask(server)
        (used,) = bearers(mock.completions[start:])
        assert used != only and mock.identity(used).role == "guest"  # type: ignore[arg-type, union-attr]
        recent = eventually(
            lambda: admin(server, "GET", "/dashboard/api/state").json()["recent_requests"]
        )
        assert recent[0]["token_source"] == "anonymous" and recent[0]["token_display"] == "guest"


def test_tokens_file_is_reloaded_when_it_changes(mock: MockUpstream, tmp_path: Path) -> None:
    first, second = (mock.add_user(name).token for name in ("First", "Second"))
    tokens_file = tmp_path / "pool.txt"
    tokens_file.write_text(first + "\n")
    env = pool_env(mock, AUTH_TOKENS_FILE=str(tokens_file))
    with serving(tmp_path, env=env) as server:
        first_id, second_id = token_id(first), token_id(second)
        assert set(tokens_by_display(server)) == {display(first_id)}
        tokens_file.write_text(f"{first}, {second}\n# more later\n")
        eventually(
            lambda: set(tokens_by_display(server)) == {display(first_id), display(second_id)}
        )
        tokens_file.write_text(f"{second}\n")
        eventually(lambda: set(tokens_by_display(server)) == {display(second_id)})
        assert tokens_by_display(server)[display(second_id)]["source"] == "file"


def test_older_proxies_state_imported_once(mock: MockUpstream, tmp_path: Path) -> None:
    kept, disabled, from_json = (mock.add_user(n).token for n in ("Kept", "Off", "Json"))
    legacy = sqlite3.connect(tmp_path / "tokens.db")
    legacy.execute(
        "CREATE TABLE tokens (id INTEGER PRIMARY KEY, provider TEXT, token TEXT, "
        "token_type TEXT, is_enabled BOOLEAN)"
    )
    legacy.executemany(
        "INSERT INTO tokens (provider, token, token_type, is_enabled) VALUES (?, ?, 'user', ?)",
        [("zai", kept, 1), ("zai", disabled, 0), ("longcat", "not-a-zai-token", 1)],
    )
    legacy.commit()
    legacy.close()
    (tmp_path / "data").mkdir()
    salt = "salt-of-the-older-proxy"
    (tmp_path / "data" / "token_pool.json").write_text(
        json.dumps({"tokens": [from_json], "salt": salt})
    )
    env = pool_env(mock, TOKEN_HASH_SECRET="")
    with serving(tmp_path, env=env) as server:
        tokens = tokens_by_display(server)
        # Z.ai2api's ids stay what they were: HMAC-SHA256 under its salt.
        assert set(tokens) == {display(token_id(t, salt)) for t in (kept, disabled, from_json)}
        json_id = token_id(from_json, salt)
        assert tokens[display(json_id)]["token_id"] == json_id
        assert tokens[display(token_id(disabled, salt))]["state"] == "disabled"
        assert {t["source"] for t in tokens.values()} == {"import"}
        admin(server, "DELETE", "/dashboard/api/tokens", {"token_ids": [json_id]})
    # The older proxy's own table is untouched, and a restart imports nothing again.
    with sqlite3.connect(tmp_path / "tokens.db") as check:
        assert check.execute("SELECT count(*) FROM tokens").fetchone() == (3,)
    with serving(tmp_path, env=env) as server:
        assert len(tokens_by_display(server)) == 2


def _cooling(token: dict[str, Any]) -> dict[str, Any] | None:
    return token if token["state"] == "cooling" else None


def test_periodic_health_check_without_traffic(mock: MockUpstream, tmp_path: Path) -> None:
    """TOKEN_HEALTH_CHECK_INTERVAL: the auths endpoint is asked about every token on its own,
    so a revoked token is found out before a client request hits it."""
    healthy, revoked = (mock.add_user(name).token for name in ("Healthy", "Revoked later"))
    env = pool_env(mock, ZAI_TOKEN=f"{healthy},{revoked}", TOKEN_HEALTH_CHECK_INTERVAL="1")
    with serving(tmp_path, env=env) as server:
        eventually(lambda: all(t["role"] == "user" for t in tokens_by_display(server).values()))
        completions = len(mock.completions)
        mock.revoke(revoked)
        token = eventually(
            lambda: (t := tokens_by_display(server)[display(token_id(revoked))])["role"]
            == "invalid"
            and t
        )
        assert token["checked_at"] is not None and token["last_error"]
        assert tokens_by_display(server)[display(token_id(healthy))]["state"] == "serving"
        assert len(mock.completions) == completions  # found out without any request
