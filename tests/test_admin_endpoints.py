"""The admin JSON endpoints in the older proxies' exact shapes (compatibility.md §3), the
dashboard's state, and Prometheus /metrics, on one server that has served a few requests; and
no answer of any of them ever holds a whole token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from zaiproxy.testing import MockUpstream, Reply

from pool_server import ADMIN_PASSWORD, API_KEY, eventually, pool_env, token_id
from server_process import RawResponse, ServerProcess, bearer, request, serving

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


class Served:
    def __init__(self, server: ServerProcess, mock: MockUpstream, tokens: list[str]) -> None:
        self.server = server
        self.mock = mock
        self.tokens = tokens
        self.answers: list[RawResponse] = []

    def admin(self, method: str, path: str, body: Any = None) -> RawResponse:
        response = request(self.server, method, path, body, headers=bearer(ADMIN_PASSWORD))
        self.answers.append(response)
        return response


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cwd: Path = tmp_path_factory.mktemp("admin")
    with MockUpstream() as mock:
        tokens = [mock.add_user(name).token for name in ("One", "Two")]
        env = pool_env(mock, ZAI_TOKEN=",".join(tokens))
        with serving(cwd, env=env) as server:
            client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=API_KEY, max_retries=0)
            for _ in range(3):
                client.chat.completions.create(
                    model="GLM-4.5", messages=[{"role": "user", "content": "hi"}]
                )
            mock.enqueue(Reply.http_error(500))
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(
                    model="GLM-4.5", messages=[{"role": "user", "content": "fails"}]
                )
            # A request without a key is refused and not logged: it is not the proxy's.
            assert request(server, "POST", "/v1/chat/completions", {"model": "x"}).status == 401
            served = Served(server, mock, tokens)
            eventually(
                lambda: served.admin("GET", "/dashboard/api/state").json()["stats"][
                    "total_requests"
                ]
                == 4
            )
            yield served
    # Whatever the endpoints answered, no token went out whole.
    for answer in served.answers:
        for token in tokens:
            assert token.encode() not in answer.body


def test_zai2api_python_pool_status(served: Served) -> None:
    body = served.admin("GET", "/v1/token-pool/status").json()
    assert set(body) == {"status", "pool_info", "config"} and body["status"] == "active"
    info = body["pool_info"]
    assert set(info) == {
        "total_tokens",
        "available_tokens",
        "unavailable_tokens",
        "healthy_tokens",
        "unhealthy_tokens",
        "current_index",
        "tokens",
    }
    assert info["total_tokens"] == 2 and info["available_tokens"] == 2
    entry = info["tokens"][0]
    assert set(entry) == {
        "token",
        "token_type",
        "is_available",
        "failure_count",
        "success_count",
        "success_rate",
        "total_requests",
        "is_healthy",
        "last_failure_time",
        "last_success_time",
    }
    assert re.fullmatch(r"token:[0-9a-f]{8}", entry["token"])
    assert re.fullmatch(r"\d+\.\d\d%", entry["success_rate"])
    assert sum(t["success_count"] for t in info["tokens"]) == 3
    assert body["config"] == {
        "anonymous_mode": True,
        "failure_threshold": 2,
        "recovery_timeout": 3.0,
        "health_check_interval": 0.0,
    }


def test_zai2api_python_health_check_and_update(served: Served) -> None:
    body = served.admin("POST", "/v1/token-pool/health-check").json()
    assert set(body) == {"status", "message", "summary", "pool_info"}
    assert body["summary"]["total_tokens"] == 2 and body["summary"]["healthy_tokens"] == 2
    assert body["summary"]["health_rate"] == "100.0%"
    assert all(t["token_type"] == "user" and t["is_healthy"] for t in body["pool_info"]["tokens"])

    empty = served.admin("POST", "/v1/token-pool/update", [])
    assert empty.status == 400 and "detail" in empty.json()
    third = served.mock.add_user("Three").token
    served.tokens.append(third)
    body = served.admin("POST", "/v1/token-pool/update", [served.tokens[0], third]).json()
    assert body["status"] == "updated" and body["pool_info"]["total_tokens"] == 2
    listed = served.admin("GET", "/dashboard/api/tokens").json()["token_pool"]["tokens"]
    assert {t["token_id"] for t in listed} == {token_id(served.tokens[0]), token_id(third)}
    # The first two again, for the other tests.
    served.admin("POST", "/v1/token-pool/update", served.tokens[:2])


def test_zai2api_token_pool_and_overview(served: Served) -> None:
    pool = served.admin("GET", "/token-pool/status").json()
    assert set(pool) == {"token_pool", "token_stats"}
    assert set(pool["token_pool"]) == {"size", "next_index", "tokens"}
    entry = pool["token_pool"]["tokens"][0]
    assert set(entry) == {
        "token_id",
        "display",
        "index",
        "failures",
        "successes",
        "disabled",
        "cooldown_seconds",
        "last_disabled_at",
    }
    assert re.fullmatch(r"[0-9a-f]{64}", entry["token_id"])
    assert entry["display"] == "token:" + entry["token_id"][:8]
    for stat in pool["token_stats"]:
        assert set(stat) == {"token_id", "display", "source", "success", "failure"}

    overview = served.admin("GET", "/dashboard/api/overview").json()
    assert set(overview) == {
        "anonymous_mode",
        "stats",
        "recent_requests",
        "token_stats",
        "token_pool",
    }
    assert overview["stats"]["total_requests"] >= 4
    assert overview["stats"]["failure_requests"] >= 1
    newest = overview["recent_requests"][0]
    assert {"timestamp", "method", "path", "status", "duration_ms", "client_ip"} <= set(newest)
    assert ISO_WITH_OFFSET.match(newest["timestamp"])
    failed = [r for r in overview["recent_requests"] if r["status"] >= 400]
    assert failed and "error" in failed[0]
    assert all("error" not in r for r in overview["recent_requests"] if r["status"] == 200)


def test_zai2api_token_routes(served: Served) -> None:
    missing = served.admin("POST", "/dashboard/api/tokens", {"tokens": " \n , "})
    assert missing.status == 400 and missing.json() == {"error": "token required"}
    extra = served.mock.add_user("Extra").token
    served.tokens.append(extra)
    added = served.admin("POST", "/dashboard/api/tokens", {"tokens": f"{extra}\n{extra}"}).json()
    assert added["ok"] is True and added["token_pool"]["size"] == 3
    removed = served.admin("DELETE", "/dashboard/api/tokens", {"tokens": [extra]}).json()
    assert removed["ok"] is True and removed["token_pool"]["size"] == 2
    assert served.admin("POST", f"/dashboard/api/tokens/{'0' * 64}/reset").status == 404


def test_ztoapi_stats_and_requests(served: Served) -> None:
    stats = served.admin("GET", "/dashboard/stats").json()
    assert set(stats) == {
        "TotalRequests",
        "SuccessfulRequests",
        "FailedRequests",
        "LastRequestTime",
        "AverageResponseTime",
    }
    assert stats["TotalRequests"] == stats["SuccessfulRequests"] + stats["FailedRequests"]
    assert ISO_WITH_OFFSET.match(stats["LastRequestTime"])
    # Nanoseconds: a request through two processes and a socket takes over a microsecond.
    assert isinstance(stats["AverageResponseTime"], int) and stats["AverageResponseTime"] > 1000
    requests = served.admin("GET", "/dashboard/requests").json()
    assert [set(r) for r in requests[:1]] == [
        {"id", "timestamp", "method", "path", "status", "duration", "user_agent"}
    ]
    ids = [int(r["id"]) for r in requests]
    assert ids == sorted(ids)  # oldest first
    assert requests[0]["path"] == "/v1/chat/completions"
    assert requests[0]["user_agent"].startswith("OpenAI/Python")


def test_dashboard_state(served: Served) -> None:
    state = served.admin("GET", "/dashboard/api/state?minutes=5").json()
    assert state["store"] == "sqlite"
    assert len(state["series"]) == 5
    assert sum(p["requests"] for p in state["series"]) >= 4
    assert state["models"][0]["model"] == "GLM-4.5"
    assert state["pool"]["total"] == 2 and state["pool"]["serving"] == 2
    failed, answered = state["recent_requests"][0], state["recent_requests"][1]
    assert failed["status"] == 502 and failed["ttfb_ms"] is None and failed["error"]
    assert answered["model"] == "GLM-4.5" and answered["ttfb_ms"] > 0
    assert answered["token_display"].startswith("token:") and answered["token_source"] == "pool"
    assert state["stats"]["input_tokens"] > 0 and state["stats"]["output_tokens"] > 0
    bad = served.admin("GET", "/dashboard/api/state?minutes=lots")
    assert bad.status == 400


def test_prometheus_metrics(served: Served) -> None:
    response = served.admin("GET", "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.body.decode())}
    requests = families["zaiproxy_requests"]
    assert requests.type == "counter"
    by_status: dict[str, float] = {}
    for sample in requests.samples:
        by_status[sample.labels["status"]] = (
            by_status.get(sample.labels["status"], 0) + sample.value
        )
    assert by_status["200"] >= 3 and by_status["502"] >= 1
    duration = families["zaiproxy_request_duration_seconds"]
    assert duration.type == "histogram"
    counts = [s.value for s in duration.samples if s.name.endswith("_count")]
    assert sum(counts) >= 4
    errors = families["zaiproxy_upstream_errors"]
    assert any(s.labels["status"] == "500" for s in errors.samples)
    pool = {s.labels["state"]: s.value for s in families["zaiproxy_pool_tokens"].samples}
    assert pool["serving"] == 2
