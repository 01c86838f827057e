"""`zaiproxy serve` (Granian and uvicorn) at the HTTP level: client auth and its carriers, error
statuses and shapes (ours and the upstream's), client disconnects, CORS, and the status, docs and
model-list endpoints."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from zaiproxy.testing import MockUpstream, Reply

from server_process import (
    API_KEY,
    HTTP_TIMEOUT,
    LENIENT_MAX_BODY,
    LENIENT_TIMEOUT,
    MAX_RETRIES,
    MORE_KEYS,
    RawResponse,
    ServerProcess,
    bearer,
    chat_body,
    request,
)

pytest_plugins = ["server_fixtures"]

OPENAI_CHAT = "/v1/chat/completions"
ANTHROPIC_PATHS = ("/v1/messages", "/anthropic/v1/messages")
ANSWER = ["Hello", " there"]


def messages_body(text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "model": "GLM-4.5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def openai_error(response: RawResponse, status: int) -> dict[str, Any]:
    """The error object of an OpenAI-shaped error response with `status`."""
    assert response.status == status, response.body
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert {"message", "type", "param", "code"} <= set(error)
    return error  # type: ignore[no-any-return]


def anthropic_error(response: RawResponse, status: int) -> dict[str, Any]:
    """The error object of an Anthropic-shaped error response with `status`."""
    assert response.status == status, response.body
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["type"] == "error"
    error = document["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str)
    return error  # type: ignore[no-any-return]


# ── auth ──


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/models", {"Authorization": f"Bearer {API_KEY}"}),
        ("/v1/models", {"Authorization": API_KEY}),
        ("/v1/models", {"X-Auth-Token": API_KEY}),
        ("/v1/models", {"x-api-key": API_KEY}),
        (f"/v1/models?auth_token={API_KEY}", {}),
        (f"/v1/models?token={API_KEY}", {}),
    ],
    ids=["bearer", "raw-authorization", "x-auth-token", "x-api-key", "auth_token", "token"],
)
def test_every_key_carrier_is_accepted(
    server: ServerProcess, path: str, headers: dict[str, str]
) -> None:
    assert request(server, "GET", path, headers=headers).status == 200
    # The same carrier with a wrong key is refused: the carrier is really read.
    wrong_path = path.replace(API_KEY, "sk-wrong")
    wrong_headers = {name: value.replace(API_KEY, "sk-wrong") for name, value in headers.items()}
    assert request(server, "GET", wrong_path, headers=wrong_headers).status == 401


@pytest.mark.parametrize("key", MORE_KEYS)
def test_every_key_of_auth_tokens_is_accepted(
    server: ServerProcess, mock: MockUpstream, key: str
) -> None:
    assert request(server, "GET", "/v1/models", headers=bearer(key)).status == 200
    mock.enqueue(Reply.answer(ANSWER))
    response = request(server, "POST", OPENAI_CHAT, chat_body(), headers=bearer(key))
    assert response.json()["choices"][0]["message"]["content"] == "".join(ANSWER)


def test_the_anthropic_carrier_works_on_a_chat(server: ServerProcess, mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(ANSWER))
    response = request(
        server,
        "POST",
        "/v1/messages",
        messages_body(),
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status == 200
    assert response.json()["content"][0]["text"] == "".join(ANSWER)


@pytest.mark.parametrize("path", [OPENAI_CHAT, "/v1/models"])
@pytest.mark.parametrize("key", [None, "sk-wrong"], ids=["missing", "wrong"])
def test_openai_routes_refuse_in_openai_shape(
    server: ServerProcess, mock: MockUpstream, path: str, key: str | None
) -> None:
    before = len(mock.completions)
    method, body = ("GET", None) if path == "/v1/models" else ("POST", chat_body())
    headers = bearer(key) if key else {}
    error = openai_error(request(server, method, path, body, headers=headers), 401)
    assert error["type"] == "authentication_error"
    assert error["code"] == ("invalid_api_key" if key else "missing_api_key")
    assert len(mock.completions) == before  # refused before the upstream is asked


@pytest.mark.parametrize("path", [*ANTHROPIC_PATHS, "/v1/messages/count_tokens"])
@pytest.mark.parametrize("key", [None, "sk-wrong"], ids=["missing", "wrong"])
def test_anthropic_routes_refuse_in_anthropic_shape(
    server: ServerProcess, mock: MockUpstream, path: str, key: str | None
) -> None:
    before = len(mock.completions)
    headers = {"x-api-key": key} if key else {}
    error = anthropic_error(request(server, "POST", path, messages_body(), headers=headers), 401)
    assert error["type"] == "authentication_error"
    assert len(mock.completions) == before


def test_skip_auth_token_needs_no_key(lenient_server: ServerProcess, mock: MockUpstream) -> None:
    assert request(lenient_server, "GET", "/v1/models").status == 200
    mock.enqueue(Reply.answer(ANSWER))
    response = request(lenient_server, "POST", OPENAI_CHAT, chat_body(stream=False))
    assert response.status == 200
    assert response.json()["choices"][0]["message"]["content"] == "".join(ANSWER)
    mock.enqueue(Reply.answer(ANSWER))
    response = request(lenient_server, "POST", "/v1/messages", messages_body(stream=False))
    assert response.json()["content"][0]["text"] == "".join(ANSWER)


# ── bad requests ──


DEEP = 100_000  # nesting beyond any parser's recursion limit
NEAR_LIMIT = 950  # just under Python's default recursion limit


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "GLM-4.5", "messages": [',
        b"[]",
        b"",
        b"\xff\xfe",
        b'{"messages": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"messages": ' + b"[" * NEAR_LIMIT + b"]" * NEAR_LIMIT + b"}",
    ],
    ids=["truncated", "array", "empty", "not-utf8", "nested-too-deep", "nested-near-the-limit"],
)
def test_a_body_that_is_no_json_object_is_a_400_in_each_shape(
    server: ServerProcess, body: bytes
) -> None:
    error = openai_error(request(server, "POST", OPENAI_CHAT, body, headers=bearer()), 400)
    assert error["type"] == "invalid_request_error"
    for path in (*ANTHROPIC_PATHS, "/v1/messages/count_tokens"):
        error = anthropic_error(request(server, "POST", path, body, headers=bearer()), 400)
        assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b'{"messages": [{"role": "user", "content": "\\ud800"}]}', None),
        (
            b'{"messages": [{"role": "user", "content": "hi"}], "stream_options": []}',
            "stream_options",
        ),
    ],
    ids=["lone-surrogate", "stream-options-not-an-object"],
)
def test_a_request_json_accepts_but_the_api_refuses_is_a_400(
    server: ServerProcess, raw: bytes, param: str | None
) -> None:
    error = openai_error(request(server, "POST", OPENAI_CHAT, raw, headers=bearer()), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_a_413(
    lenient_server: ServerProcess, mock: MockUpstream, chunked: bool
) -> None:
    before = len(mock.completions)
    body = json.dumps(chat_body("x" * LENIENT_MAX_BODY)).encode()
    for path, shape in ((OPENAI_CHAT, openai_error), ("/v1/messages", anthropic_error)):
        if chunked:
            response = chunked_request(lenient_server, path, body)
        else:
            response = request(lenient_server, "POST", path, body)
        error = shape(response, 413)
        assert "ZAIPROXY_MAX_BODY_BYTES" in error["message"]
    # Just under the limit is fine.
    small = json.dumps(chat_body("x" * (LENIENT_MAX_BODY // 2), stream=False))
    mock.enqueue(Reply.answer(ANSWER))
    assert request(lenient_server, "POST", OPENAI_CHAT, small).status == 200
    assert len(mock.completions) == before + 1


def chunked_request(server: ServerProcess, path: str, body: bytes) -> RawResponse:
    """A POST with Transfer-Encoding: chunked (no Content-Length to refuse it by)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
        connection.request(
            "POST",
            path,
            body=pieces,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def test_an_unknown_model_is_a_404(server: ServerProcess, mock: MockUpstream) -> None:
    before = len(mock.completions)
    response = request(
        server, "POST", OPENAI_CHAT, {**chat_body(), "model": "gpt-9000"}, headers=bearer()
    )
    error = openai_error(response, 404)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "gpt-9000" in error["message"]
    response = request(
        server, "POST", "/v1/messages", messages_body(model="gpt-9000"), headers=bearer()
    )
    assert anthropic_error(response, 404)["type"] == "not_found_error"
    assert len(mock.completions) == before


def test_unknown_paths_and_methods_answer_in_the_paths_shape(server: ServerProcess) -> None:
    error = openai_error(request(server, "GET", "/v1/nothing-here", headers=bearer()), 404)
    assert "/v1/nothing-here" in error["message"]
    error = anthropic_error(request(server, "GET", "/anthropic/v1/nothing", headers=bearer()), 404)
    assert error["type"] == "not_found_error"
    error = openai_error(request(server, "GET", OPENAI_CHAT, headers=bearer()), 405)
    assert error["type"] == "invalid_request_error"  # a client error, not a server error
    anthropic_error(request(server, "GET", "/v1/messages", headers=bearer()), 405)


# ── upstream failures ──


def enqueue_for_every_attempt(mock: MockUpstream, reply: Reply) -> None:
    mock.enqueue(*[reply] * MAX_RETRIES)


def test_upstream_rate_limit_is_a_429_after_the_retries(
    server: ServerProcess, mock: MockUpstream
) -> None:
    enqueue_for_every_attempt(mock, Reply.http_error(429))
    before = len(mock.completions)
    error = openai_error(request(server, "POST", OPENAI_CHAT, chat_body(), headers=bearer()), 429)
    assert error["type"] == "rate_limit_error"
    assert len(mock.completions) == before + MAX_RETRIES  # MAX_RETRIES attempts in all
    enqueue_for_every_attempt(mock, Reply.http_error(429))
    response = request(server, "POST", "/v1/messages", messages_body(), headers=bearer())
    assert anthropic_error(response, 429)["type"] == "rate_limit_error"


def test_a_retried_rate_limit_that_clears_is_a_normal_answer(
    server: ServerProcess, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.http_error(429), Reply.answer(ANSWER))
    response = request(server, "POST", OPENAI_CHAT, chat_body(), headers=bearer())
    assert response.status == 200
    assert response.json()["choices"][0]["message"]["content"] == "".join(ANSWER)


@pytest.mark.parametrize(("upstream_status", "status"), [(500, 502), (502, 502), (503, 503)])
def test_upstream_server_errors(
    server: ServerProcess, mock: MockUpstream, upstream_status: int, status: int
) -> None:
    for stream in (False, True):
        enqueue_for_every_attempt(mock, Reply.http_error(upstream_status))
        body = chat_body(stream=stream)
        error = openai_error(request(server, "POST", OPENAI_CHAT, body, headers=bearer()), status)
        assert str(upstream_status) in error["message"]
    enqueue_for_every_attempt(mock, Reply.http_error(upstream_status))
    anthropic_error(
        request(server, "POST", "/v1/messages", messages_body(), headers=bearer()), status
    )


def test_a_signature_error_names_the_signing_key_setting(
    server: ServerProcess, mock: MockUpstream
) -> None:
    enqueue_for_every_attempt(mock, Reply.signature_failed())
    error = openai_error(request(server, "POST", OPENAI_CHAT, chat_body(), headers=bearer()), 502)
    assert "ZAIPROXY_SIGNING_KEY" in error["message"]
    enqueue_for_every_attempt(mock, Reply.signature_failed())
    response = request(server, "POST", "/v1/messages", messages_body(), headers=bearer())
    assert "ZAIPROXY_SIGNING_KEY" in anthropic_error(response, 502)["message"]


def test_an_upstream_stall_past_the_timeout_is_a_504(
    lenient_server: ServerProcess, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.answer(ANSWER).stall(after=0, seconds=LENIENT_TIMEOUT + 2))
    started = time.monotonic()
    response = request(lenient_server, "POST", OPENAI_CHAT, chat_body(stream=False))
    error = openai_error(response, 504)
    assert time.monotonic() - started < LENIENT_TIMEOUT + 1.5
    assert error["type"] == "upstream_error"


MID_STREAM_FAILURES = {
    "in-stream-error": Reply.answer(ANSWER).ending_with_error({"detail": "boom", "code": 500}),
    "connection-dropped": Reply.answer(ANSWER).disconnect(after=len(ANSWER)),
}


@pytest.mark.parametrize("reply", MID_STREAM_FAILURES.values(), ids=MID_STREAM_FAILURES.keys())
def test_a_mid_stream_failure_streamed_is_an_error_frame_then_done(
    server: ServerProcess, mock: MockUpstream, reply: Reply
) -> None:
    enqueue_for_every_attempt(mock, reply)
    response = request(server, "POST", OPENAI_CHAT, chat_body(stream=True), headers=bearer())
    assert response.status == 200  # the reply had started
    data = response.sse_data
    assert data[-1] == "[DONE]" and data.count("[DONE]") == 1
    error = json.loads(data[-2])["error"]
    assert error["message"]
    chunks = [json.loads(d) for d in data[:-2]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "".join(ANSWER)

    enqueue_for_every_attempt(mock, reply)
    response = request(server, "POST", "/v1/messages", messages_body(stream=True), headers=bearer())
    assert response.status == 200
    events = response.sse_events
    assert events[0] == "message_start" and events[-1] == "error"
    assert json.loads(response.sse_data[-1])["type"] == "error"


@pytest.mark.parametrize("reply", MID_STREAM_FAILURES.values(), ids=MID_STREAM_FAILURES.keys())
def test_a_mid_stream_failure_not_streamed_is_a_502(
    server: ServerProcess, mock: MockUpstream, reply: Reply
) -> None:
    enqueue_for_every_attempt(mock, reply)
    openai_error(request(server, "POST", OPENAI_CHAT, chat_body(), headers=bearer()), 502)
    enqueue_for_every_attempt(mock, reply)
    anthropic_error(request(server, "POST", "/v1/messages", messages_body(), headers=bearer()), 502)


IN_STREAM_ERRORS_BEFORE_CONTENT = {
    # (reply, status, words of the upstream's detail the client must see)
    "error-500": (Reply.stream_error("the model broke", 500), 502, "the model broke"),
    "model-not-available": (Reply.model_not_available(), 403, "Model not available"),
    "captcha": (Reply.captcha_required(), 502, "refresh the page"),
    "dropped-before-content": (Reply.answer(ANSWER).disconnect(after=0), 502, ""),
}


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    IN_STREAM_ERRORS_BEFORE_CONTENT.values(),
    ids=IN_STREAM_ERRORS_BEFORE_CONTENT.keys(),
)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_in_stream_error_before_content_is_a_real_http_error(
    server: ServerProcess, mock: MockUpstream, reply: Reply, status: int, words: str, stream: bool
) -> None:
    enqueue_for_every_attempt(mock, reply)
    response = request(server, "POST", OPENAI_CHAT, chat_body(stream=stream), headers=bearer())
    assert words in openai_error(response, status)["message"]
    enqueue_for_every_attempt(mock, reply)
    response = request(
        server, "POST", "/v1/messages", messages_body(stream=stream), headers=bearer()
    )
    assert words in anthropic_error(response, status)["message"]


# ── client disconnect ──


@contextlib.contextmanager
def open_chat_request(server: ServerProcess, *, stream: bool) -> Iterator[socket.socket]:
    """A chat request sent over a plain socket, which the test closes when it likes."""
    body = json.dumps(chat_body(stream=stream)).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + API_KEY.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        yield sock


def test_a_client_leaving_mid_stream_closes_the_upstream_stream(
    server: ServerProcess, mock: MockUpstream
) -> None:
    stats = mock.stats
    assert stats.wait_for(lambda s: s.active_streams == 0, 5), stats
    left_before = stats.streams_client_disconnected
    mock.enqueue(Reply.answer([f"word{i} " for i in range(100)]).drip(0.1))  # ~10 s in all
    with open_chat_request(server, stream=True) as sock:
        received = b""
        while received.count(b"data: ") < 3:  # the role chunk and two content chunks
            piece = sock.recv(65536)
            assert piece, received
            received += piece
        assert received.startswith(b"HTTP/1.1 200")
        assert stats.active_streams == 1
    left_at = time.monotonic()
    assert stats.wait_for(
        lambda s: s.streams_client_disconnected == left_before + 1 and s.active_streams == 0, 3
    ), stats
    assert time.monotonic() - left_at < 3


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "non-stream"])
def test_a_client_leaving_before_any_content_closes_the_upstream_stream(
    server: ServerProcess, mock: MockUpstream, stream: bool
) -> None:
    """Nothing was sent to the client yet (the upstream is silent, as while a model thinks):
    only the connection closing tells, and the upstream request must not wait for a timeout."""
    stats = mock.stats
    assert stats.wait_for(lambda s: s.active_streams == 0, 5), stats
    left_before = stats.streams_client_disconnected
    mock.enqueue(Reply.answer(ANSWER).stall(after=0, seconds=30))
    with open_chat_request(server, stream=stream):
        assert stats.wait_for(lambda s: s.active_streams == 1, 5), stats
    left_at = time.monotonic()
    assert stats.wait_for(
        lambda s: s.streams_client_disconnected == left_before + 1 and s.active_streams == 0, 3
    ), stats
    assert time.monotonic() - left_at < 3


# ── CORS ──


@pytest.mark.parametrize("path", [OPENAI_CHAT, "/v1/messages", "/v1/models"])
def test_cors_preflight_allows_the_auth_headers(server: ServerProcess, path: str) -> None:
    origin = "http://localhost:3000"
    asked = ["authorization", "x-auth-token", "x-api-key", "content-type"]
    response = request(
        server,
        "OPTIONS",
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ", ".join(asked),
        },
    )
    assert response.status == 200
    assert response.headers["access-control-allow-origin"] in ("*", origin)
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert "*" in allowed or set(asked) <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_headers_on_an_actual_request(server: ServerProcess) -> None:
    origin = "https://example.org"
    response = request(server, "GET", "/v1/models", headers={**bearer(), "Origin": origin})
    assert response.status == 200
    assert response.headers["access-control-allow-origin"] in ("*", origin)
    # An error response carries them too, or the browser hides it from the page.
    response = request(server, "GET", "/v1/models", headers={"Origin": origin})
    assert response.status == 401
    assert response.headers["access-control-allow-origin"] in ("*", origin)


# ── status, docs, models ──


def test_status_page_is_json_by_default_and_html_for_browsers(server: ServerProcess) -> None:
    response = request(server, "GET", "/")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    info = response.json()
    assert "/v1/chat/completions" in info["endpoints"] and "/v1/messages" in info["endpoints"]
    assert info["auth_required"] is True
    response = request(server, "GET", "/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.body.lstrip().lower().startswith(b"<!doctype html")


def test_health(server: ServerProcess) -> None:
    response = request(server, "GET", "/health")
    assert response.status == 200
    assert response.json()["status"] == "healthy"


def test_docs_and_openapi(server: ServerProcess) -> None:
    response = request(server, "GET", "/docs")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    response = request(server, "GET", "/openapi.json")
    assert response.status == 200
    paths = response.json()["paths"]
    for path in (OPENAI_CHAT, "/v1/models", *ANTHROPIC_PATHS, "/v1/messages/count_tokens"):
        assert path in paths
    assert "post" in paths[OPENAI_CHAT] and "post" in paths["/v1/messages"]


def test_models_list_the_catalogue_and_need_a_key(server: ServerProcess) -> None:
    response = request(server, "GET", "/v1/models", headers=bearer())
    assert response.status == 200
    listing = response.json()
    assert listing["object"] == "list"
    ids = [item["id"] for item in listing["data"]]
    assert {"GLM-4.5", "GLM-4.5-Air", "GLM-4.6", "GLM-4.6-Thinking", "GLM-4.5V"} <= set(ids)
    assert len(ids) == len(set(ids))
    assert all(item["object"] == "model" for item in listing["data"])
    openai_error(request(server, "GET", "/v1/models"), 401)
