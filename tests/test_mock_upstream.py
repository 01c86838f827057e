"""The mock chat.z.ai upstream (zaiproxy.testing), driven by plain standard-library clients."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from zaiproxy.testing import MockUpstream, Reply, expected_signature
from zaiproxy.testing._events import utf16_len

from conftest import golden_bytes

SPEC_NOW = 1773300000.0
SPEC_JWT = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3Zm"
    "YwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU4ODc4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz"
)
SPEC_CHAT = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
KEY = "key-@@@@)))()((9))-xxxx&&&%%%%%"
TRIGGER = "<Function_Ab12_Start/>"


def spec_body() -> dict[str, Any]:
    """The §2.3 body."""
    hidden = [("mcp", "vibe-coding"), ("mcp", "ppt-maker"), ("mcp", "image-search")]
    hidden += [("mcp", "deep-research"), ("tool_selector", "tool_selector")]
    hidden += [("mcp", "advanced-search")]
    return {
        "stream": True,
        "model": "0727-360B-API",
        "messages": [{"role": "user", "content": "你好"}],
        "signature_prompt": "你好",
        "files": [],
        "params": {},
        "extra": {},
        "features": {
            "image_generation": False,
            "web_search": False,
            "auto_web_search": False,
            "preview_mode": True,
            "flags": [],
            "features": [{"type": t, "server": s, "status": "hidden"} for t, s in hidden],
            "enable_thinking": False,
        },
        "background_tasks": {"title_generation": False, "tags_generation": False},
        "mcp_servers": [],
        "variables": {
            "{{USER_NAME}}": "Guest",
            "{{USER_LOCATION}}": "Unknown",
            "{{CURRENT_DATETIME}}": "2026-03-12 15:20:00",
            "{{CURRENT_DATE}}": "2026-03-12",
            "{{CURRENT_TIME}}": "15:20:00",
            "{{CURRENT_WEEKDAY}}": "Thursday",
            "{{CURRENT_TIMEZONE}}": "Asia/Shanghai",
            "{{USER_LANGUAGE}}": "zh-CN",
        },
        "model_item": {"id": "0727-360B-API", "name": "GLM-4.5", "owned_by": "api-proxy-server"},
        "chat_id": SPEC_CHAT,
        "id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "session_id": "6e2f3a4b-5c6d-4e7f-8091-92a3b4c5d6e7",
        "current_user_message_id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        "current_user_message_parent_id": None,
        "tools": None,
    }


# ---------------------------------------------------------------------------- client helpers


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.cookies = response.headers.get_all("Set-Cookie") or []
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line[6:]) for line in sse_lines(self.body) if line != "data: [DONE]"]


def sse_lines(body: bytes) -> list[str]:
    return [line for line in body.decode().split("\n\n") if line]


def call(
    mock: MockUpstream,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        return Answer(connection.getresponse())
    finally:
        connection.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def completion(
    mock: MockUpstream,
    token: str,
    user_id: str,
    body: dict[str, Any] | None = None,
    *,
    fe_version: str = "prod-fe-1.1.98",
    sign: bool = True,
    signature: str | None = None,
    now_ms: int | None = None,
    path: str = "/api/v2/chat/completions",
) -> Answer:
    """A completion signed as §3.1 says (the spec's vectors check `expected_signature`)."""
    body = body if body is not None else {"stream": True, "model": "0727-360B-API"}
    body.setdefault("signature_prompt", "hi")
    ts = now_ms if now_ms is not None else int(mock.config.clock() * 1000)
    query = {
        "requestId": str(uuid.uuid4()),
        "timestamp": str(ts),
        "user_id": user_id,
        "version": "0.0.1",
        "platform": "web",
        "current_url": "https://chat.z.ai/c/x y",
        "signature_timestamp": str(ts),
    }
    headers = {**bearer(token), "X-FE-Version": fe_version, "Content-Type": "application/json"}
    if sign:
        headers["X-Signature"] = signature or expected_signature(
            query["requestId"], str(ts), user_id, ts, body["signature_prompt"], KEY
        )
    data = json.dumps(body, ensure_ascii=False).encode()
    return call(mock, "POST", f"{path}?{urlencode(query)}", data, headers)


def guest(mock: MockUpstream) -> tuple[str, str]:
    profile = call(mock, "GET", "/api/v1/auths/").json()
    return profile["token"], profile["id"]


def apply_edits(events: list[dict[str, Any]]) -> str:
    """The §4.3 document model: append deltas, truncate-and-append edits (UTF-16 offsets)."""
    doc = ""
    for event in events:
        data = event["data"]
        if "edit_content" in data:
            units = doc.encode("utf-16-le")[: 2 * data["edit_index"]]
            doc = units.decode("utf-16-le") + data["edit_content"]
        elif "delta_content" in data:
            doc += data["delta_content"]
    return doc


@pytest.fixture
def mock() -> Any:
    with MockUpstream(clock=lambda: SPEC_NOW) as server:
        yield server


# ---------------------------------------------------------------------------- signing, request


@pytest.mark.parametrize(
    ("request_id", "ts", "user_id", "prompt", "signature"),
    [
        (
            "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e",
            1773300000000,
            "316bcb48-ff2f-4a15-853d-f2a29b67ff0f",
            "你好",
            "4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694",
        ),
        (
            "00000000-0000-4000-8000-000000000000",
            1700000000000,
            "guest",
            "",
            "52e36b8ef84fd84105c6055a721fd4c427c2378b74153df18d4d692d41981805",
        ),
    ],
)
def test_signature_matches_the_spec_vectors(
    request_id: str, ts: int, user_id: str, prompt: str, signature: str
) -> None:
    assert expected_signature(request_id, str(ts), user_id, ts, prompt, KEY) == signature


def test_the_spec_request_byte_for_byte_is_accepted() -> None:
    with MockUpstream(clock=lambda: SPEC_NOW, min_fe_version="prod-fe-1.0.185") as mock:
        mock.add_token(SPEC_JWT)
        body = json.dumps(spec_body(), ensure_ascii=False, indent=2).encode()
        head = (
            "POST /api/v2/chat/completions?requestId=9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e"
            "&timestamp=1773300000000&user_id=316bcb48-ff2f-4a15-853d-f2a29b67ff0f"
            f"&token={SPEC_JWT}&version=0.0.1&platform=web"
            f"&current_url=https%3A%2F%2Fchat.z.ai%2Fc%2F{SPEC_CHAT}&pathname=%2Fc%2F{SPEC_CHAT}"
            "&signature_timestamp=1773300000000 HTTP/1.1\r\n"
            "Host: chat.z.ai\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
            f"Origin: https://chat.z.ai\r\nReferer: https://chat.z.ai/c/{SPEC_CHAT}\r\n"
            f"X-FE-Version: prod-fe-1.0.185\r\nAuthorization: Bearer {SPEC_JWT}\r\n"
            "X-Signature: 4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as sock:
            sock.sendall(head.encode() + body)
            raw = read_to_eof(sock)
        assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Transfer-Encoding: chunked" in raw
        assert raw.endswith(b"0\r\n\r\n")
        assert b'"delta_content":"echo:"' in raw
        assert '"delta_content":" 你好"'.encode() in raw
        (recorded,) = mock.completions
        assert recorded.query["current_url"] == f"https://chat.z.ai/c/{SPEC_CHAT}"
        assert recorded.identity is not None and recorded.identity.role == "guest"


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_signature_failures_answer_like_the_service(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    wrong = completion(mock, token, user_id, signature="0" * 64)
    assert wrong.status == 400
    assert wrong.body == '{"detail":"403: Signature validation failed: 签名验证失败"}'.encode()
    missing = completion(mock, token, user_id, sign=False)
    assert missing.status == 426
    assert missing.json() == {
        "error": {"detail": "Your client version check is failed", "code": 426}
    }
    skewed = completion(mock, token, user_id, now_ms=int(SPEC_NOW * 1000) - 301_000)
    assert skewed.status == 404
    assert completion(mock, token, user_id, now_ms=int(SPEC_NOW * 1000) - 299_000).status == 200


def test_a_stale_fe_version_gets_426_or_the_waf_page() -> None:
    for status in (426, 405):
        with MockUpstream(min_fe_version="prod-fe-1.0.185", stale_version_status=status) as mock:
            token, user_id = guest(mock)
            # 1.0.99 is lexically greater than 1.0.185 but numerically older.
            stale = completion(mock, token, user_id, fe_version="prod-fe-1.0.99")
            assert stale.status == status
            if status == 405:
                assert stale.body.startswith(b'<!doctypehtml><html lang="zh-cn">')
                assert b"<title>405</title>" in stale.body
                assert b"errors.aliyun.com" in stale.body
            assert completion(mock, token, user_id, fe_version="prod-fe-1.0.185").status == 200
            assert completion(mock, token, user_id, fe_version="1.0.185").status == status


def test_unknown_bearer_and_user_id_mismatch_are_refused(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    unknown = completion(mock, token + "x", user_id)
    assert unknown.status == 401
    assert unknown.json() == {"message": "expired"}
    assert completion(mock, token, str(uuid.uuid4())).status == 403
    mock.revoke(token)
    assert completion(mock, token, user_id).status == 401


def test_bad_bodies_are_refused(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    assert completion(mock, token, user_id, {"stream": False, "model": "glm-4.5v"}).status == 400
    assert completion(mock, token, user_id, {"stream": True, "model": "gpt-4"}).status == 400


def test_v1_endpoint_works_too(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    assert completion(mock, token, user_id, path="/api/chat/completions").status == 200


# ---------------------------------------------------------------------------- identities


def test_guest_minting_follows_the_cookie_jar(mock: MockUpstream) -> None:
    first = call(mock, "GET", "/api/v1/auths/")
    second = call(mock, "GET", "/api/v1/auths/")
    assert first.json()["id"] != second.json()["id"]
    profile = first.json()
    assert profile["role"] == "guest"
    assert re.fullmatch(r"Guest-\d+@guest\.com", profile["email"])
    assert profile["email"] == f"Guest-{int(SPEC_NOW * 1000)}@guest.com"
    header, payload, _ = profile["token"].split(".")
    decode = __import__("base64").urlsafe_b64decode
    assert json.loads(decode(header + "==")) == {"alg": "ES256", "typ": "JWT"}
    claims = json.loads(decode(payload + "=" * (-len(payload) % 4)))
    assert claims == {"id": profile["id"], "email": profile["email"]}
    assert "=" not in profile["token"]
    cookie = next(c for c in first.cookies if c.startswith("token="))
    again = call(mock, "GET", "/api/v1/auths/", headers={"Cookie": cookie.split(";")[0]})
    assert again.json()["id"] == profile["id"]


def test_user_role_by_bearer_and_the_revoked_bearer_quirk(mock: MockUpstream) -> None:
    user = mock.add_user(name="Alice")
    profile = call(mock, "GET", "/api/v1/auths/", headers=bearer(user.token)).json()
    assert (profile["id"], profile["role"], profile["name"]) == (user.id, "user", "Alice")
    mock.revoke(user.token)
    replaced = call(mock, "GET", "/api/v1/auths/", headers=bearer(user.token)).json()
    assert replaced["role"] == "guest" and replaced["id"] != user.id
    assert call(mock, "GET", "/api/v1/auths/", headers=bearer("junk")).json()["role"] == "guest"


def test_auths_can_be_blocked_by_the_waf() -> None:
    with MockUpstream(auth_blocked_by_waf=True) as mock:
        assert call(mock, "GET", "/api/v1/auths/").status == 405


def test_landing_page_lists_every_version_and_sets_a_waf_cookie() -> None:
    versions = ("prod-fe-1.0.99", "prod-fe-1.0.185")
    with MockUpstream(fe_versions=versions) as mock:
        page = call(mock, "GET", "/")
    assert page.status == 200
    assert re.findall(r"prod-fe-[\d.]+\d", page.body.decode()) == list(versions)
    assert any(c.startswith("acw_tc=") for c in page.cookies)


def test_models_need_a_bearer(mock: MockUpstream) -> None:
    assert call(mock, "GET", "/api/models").status == 401
    token, _ = guest(mock)
    models = call(mock, "GET", "/api/models", headers=bearer(token)).json()["data"]
    by_id = {m["id"]: m for m in models}
    assert {"glm-5", "glm-4.7", "glm-4.6v", "0727-360B-API"} <= set(by_id)
    capabilities = by_id["glm-4.6v"]["info"]["meta"]["capabilities"]
    assert capabilities["vision"] and capabilities["think"]
    assert by_id["glm-5"]["info"]["meta"]["capabilities"]["agent_mode"]
    assert all(m["info"]["is_active"] for m in models)


# ---------------------------------------------------------------------------- chats and files


def test_persisted_models_need_chats_new(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    chat = call(
        mock, "POST", "/api/v1/chats/new", b'{"chat":{"models":["glm-4.7"]}}', bearer(token)
    )
    chat_id = chat.json()["id"]
    body = {"stream": True, "model": "glm-4.7", "chat_id": chat_id, "signature_prompt": "hi"}
    events = completion(mock, token, user_id, body).events()
    assert events[-1]["data"] == {"phase": "done", "done": True}
    body["chat_id"] = str(uuid.uuid4())
    events = completion(mock, token, user_id, body).events()
    assert apply_edits(events) == "echo: hi"
    assert events[-1]["data"]["error"]["code"] == "INTERNAL_ERROR"
    assert events[-1]["data"]["done"] is True
    assert mock.identity(token).chats == {chat_id}  # type: ignore[union-attr]


def test_guests_are_refused_newer_models(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    refused = completion(mock, token, user_id, {"stream": True, "model": "glm-5"})
    assert refused.status == 200
    assert refused.body == golden_bytes("e2_error_403_model")
    user = mock.add_user()
    events = completion(mock, user.token, user.id, {"stream": True, "model": "glm-5"}).events()
    assert "error" not in events[-1]["data"]


def multipart(filename: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = "----mockboundary42"
    disposition = f'Content-Disposition: form-data; name="file"; filename="{filename}"'
    head = f"--{boundary}\r\n{disposition}\r\nContent-Type: image/png\r\n\r\n"
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_file_upload_for_users_only(mock: MockUpstream) -> None:
    user = mock.add_user()
    body, headers = multipart("cat.png", b"\x89PNG\r\n--not-a-boundary")
    record = call(mock, "POST", "/api/v1/files/", body, {**headers, **bearer(user.token)}).json()
    assert record["filename"] == "cat.png" and record["user_id"] == user.id
    assert record["meta"]["content_type"] == "image/png"
    assert record["meta"]["size"] == len(b"\x89PNG\r\n--not-a-boundary")
    assert record["meta"]["cdn_url"].startswith("https://")
    assert mock.files[0].data == b"\x89PNG\r\n--not-a-boundary"
    token, _ = guest(mock)
    refused = call(mock, "POST", "/api/v1/files/", body, {**headers, **bearer(token)})
    assert refused.status == 401 and "permission" in refused.json()["detail"]


def test_delete_chats_counts_per_user(mock: MockUpstream) -> None:
    token, _ = guest(mock)
    for _ in range(2):
        call(mock, "POST", "/api/v1/chats/new", b"{}", bearer(token))
    deleted = call(mock, "DELETE", "/api/v1/chats/", headers=bearer(token))
    assert (deleted.status, deleted.body) == (200, b"true")
    identity = mock.identity(token)
    assert identity is not None
    assert (identity.deleted_chats, identity.delete_all_calls, identity.chats) == (2, 1, set())


# ---------------------------------------------------------------------------- reply builders


def stream_of(mock: MockUpstream, reply: Reply, body: dict[str, Any] | None = None) -> Answer:
    mock.enqueue(reply)
    token, user_id = guest(mock)
    answer = completion(mock, token, user_id, body)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    return answer


def test_answer_reproduces_golden_a(mock: MockUpstream) -> None:
    reply = Reply.answer(["你好", "！有什么可以帮你的吗？"], usage=(9, 8, 17), done_marker=True)
    assert stream_of(mock, reply).body == golden_bytes("a_plain_answer")


def test_thinking_answer_reproduces_golden_b(mock: MockUpstream) -> None:
    reply = Reply.thinking_answer(
        ["\n\n", "用户在打招呼，", "我应该礼貌地回应。\n\n简短即可。"],
        ["你好", "！很高兴见到"],
        tail="你。",
        usage={"prompt_tokens": 12, "completion_tokens": 25, "total_tokens": 37,
               "prompt_tokens_details": {}},
    )  # fmt: skip
    assert stream_of(mock, reply).body == golden_bytes("b_thinking_answer")


def test_thinking_edit_index_counts_utf16_units(mock: MockUpstream) -> None:
    reply = Reply.thinking_answer(["emoji 😀\nline"], ["A"], tail="B")
    events = stream_of(mock, reply).events()
    doc = apply_edits(events)
    assert doc.endswith("\n</details>\nAB")
    tail = next(e["data"] for e in events if e["data"].get("edit_content") == "B")
    assert tail["edit_index"] == utf16_len(doc) - 1 == len(doc)  # the emoji counts twice


def test_glm_block_tool_reproduces_golden_c(mock: MockUpstream) -> None:
    reply = Reply.glm_block_tool(
        "browser_navigate",
        ['{"url":"https://www.bil', 'ibili.com"}'],
        text_before="我来打开这个网页。\n\n",
        call_id="call_5y5gir0mygx",
        usage=(310, 41, 351),
    )
    assert stream_of(mock, reply).body == golden_bytes("c_glm_block_tool")


@pytest.mark.parametrize("pieces", [['{"q": "x"}'], ['{"q"', ': "雪', '😀", "n": 1}']])
def test_glm_block_tool_leaves_a_well_formed_doc(mock: MockUpstream, pieces: list[str]) -> None:
    events = stream_of(mock, Reply.glm_block_tool("search", pieces, text_before="好😀")).events()
    doc = apply_edits(events)
    block = re.fullmatch(r'好😀<glm_block view="">(.*)</glm_block>', doc, re.S)
    assert block is not None
    metadata = json.loads(block.group(1))["data"]["metadata"]
    assert metadata["arguments"] == "".join(pieces) and metadata["result"] is None


def test_web_search_reproduces_golden_d(mock: MockUpstream) -> None:
    reply = Reply.web_search(
        ["Redis 8 new features"],
        [
            ("Redis 8 is now GA", "https://redis.io/blog/redis-8-ga/"),
            ("Docs - Redis 8.0", "https://redis.io/docs/latest/develop/whats-new/8-0/"),
        ],
        "Redis 8 已正式发布【turn0search0】，新增向量集合等功能【turn0search1】。",
        result_text="【turn0search0†Redis 8 is now GA†https://redis.io/blog/redis-8-ga/】\n"
        "These are some of the features...",
        call_id="call_xhbi7e39g3f",
        usage=(1200, 30, 1230),
    )
    assert stream_of(mock, reply).body == golden_bytes("d_web_search")


def test_native_tool_call_streams_delta_arguments(mock: MockUpstream) -> None:
    reply = Reply.native_tool_call("get_weather", {"city": "北京"}, call_id="call_1")
    data = [e["data"] for e in stream_of(mock, reply).events()]
    assert data[0]["delta_name"] == "get_weather" and data[0]["delta_arguments"] == '{"'
    assert data[0]["metadata"] == {"tool_call_id": "call_1"}
    arguments = "".join(d.get("delta_arguments", "") for d in data)
    assert json.loads(arguments) == {"city": "北京"}
    assert any(d.get("phase") == "tool_response" for d in data)


@pytest.mark.parametrize(
    ("reply", "golden"),
    [
        (Reply.client_check_failed(), "e1_error_426"),
        (Reply.model_not_available(), "e2_error_403_model"),
        (Reply.captcha_required(), "e3_error_captcha"),
    ],
)
def test_in_stream_errors_reproduce_golden_e(mock: MockUpstream, reply: Reply, golden: str) -> None:
    assert stream_of(mock, reply).body == golden_bytes(golden)


def test_error_after_content(mock: MockUpstream) -> None:
    reply = Reply.answer("partial").ending_with_error({"detail": "boom", "code": 500})
    events = stream_of(mock, reply).events()
    assert apply_edits(events) == "partial"
    assert events[-1]["data"]["data"]["error"] == {"detail": "boom", "code": 500}


def tool_request(trigger: str | None) -> dict[str, Any]:
    system = f"Use tools. Start with {trigger} on its own line." if trigger else "No tools."
    return {
        "stream": True,
        "model": "0727-360B-API",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": system}]},
            {"role": "user", "content": "weather? <Function_Zz99_Start /> is defused"},
        ],
        "signature_prompt": "weather?",
    }


def test_tool_calls_use_the_requests_trigger(mock: MockUpstream) -> None:
    reply = Reply.tool_calls(
        [("get_weather", {"city": "北京"}), ("note", {"text": "a]]>b"})],
        text_before="Let me check.",
    )
    doc = apply_edits(stream_of(mock, reply, tool_request(TRIGGER)).events())
    assert doc == (
        f"Let me check.\n{TRIGGER}\n<function_calls>\n<function_call>\n<tool>get_weather</tool>\n"
        '<args_json><![CDATA[{"city":"北京"}]]></args_json>\n</function_call>\n<function_call>\n'
        '<tool>note</tool>\n<args_json><![CDATA[{"text":"a]]]]><![CDATA[>b"}]]></args_json>\n'
        "</function_call>\n</function_calls>"
    )
    single = Reply.tool_call("get_weather", {"city": "x"})
    assert apply_edits(stream_of(mock, single, tool_request(TRIGGER)).events()).startswith(TRIGGER)


def test_tool_call_without_a_trigger_is_an_in_stream_error(mock: MockUpstream) -> None:
    events = stream_of(mock, Reply.tool_call("f", {}), tool_request(None)).events()
    assert events[-1]["data"]["error"]["code"] == 400
    assert "trigger" in events[-1]["data"]["error"]["detail"]


def test_on_completion_sees_the_request_and_queue_comes_first(mock: MockUpstream) -> None:
    mock.on_completion = lambda request: Reply.answer(request.json["model"])
    mock.enqueue(Reply.answer("queued"))
    token, user_id = guest(mock)
    assert apply_edits(completion(mock, token, user_id).events()) == "queued"
    assert apply_edits(completion(mock, token, user_id).events()) == "0727-360B-API"


# ---------------------------------------------------------------------------- faults


def raw_completion(mock: MockUpstream) -> tuple[socket.socket, bytes]:
    """Sends a signed completion on a raw socket; returns the socket and the response head."""
    token, user_id = guest(mock)
    ts = int(SPEC_NOW * 1000)
    rid = str(uuid.uuid4())
    query = urlencode(
        {"requestId": rid, "timestamp": ts, "user_id": user_id, "signature_timestamp": ts}
    )
    body = b'{"stream":true,"model":"0727-360B-API","signature_prompt":"hi"}'
    head = (
        f"POST /api/v2/chat/completions?{query} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nX-FE-Version: prod-fe-1.1.98\r\n"
        f"X-Signature: {expected_signature(rid, str(ts), user_id, ts, 'hi', KEY)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", mock.port), timeout=5)
    sock.sendall(head.encode() + body)
    return sock, head.encode()


def test_disconnect_mid_stream_leaves_the_chunked_body_incomplete(mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(["a", "b", "c"]).disconnect(after=2))
    sock, _ = raw_completion(mock)
    with sock:
        raw = read_to_eof(sock)
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b'"delta_content":"b"' in raw and b'"delta_content":"c"' not in raw
    assert not raw.endswith(b"0\r\n\r\n")
    token, user_id = guest(mock)
    mock.enqueue(Reply.answer("x").disconnect(after=2))
    with pytest.raises(http.client.IncompleteRead):
        completion(mock, token, user_id)
    assert mock.stats.wait_for(lambda s: s.streams_aborted == 2)


def test_stall_and_drip_delay_the_stream(mock: MockUpstream) -> None:
    token, user_id = guest(mock)
    for reply in (
        Reply.answer(["a", "b"]).stall(after=1, seconds=0.3),
        Reply.answer(["a"] * 6).drip(0.05),
    ):
        mock.enqueue(reply)
        started = time.monotonic()
        answer = completion(mock, token, user_id)
        assert time.monotonic() - started >= 0.25
        assert answer.body.endswith(b'"done":true}}\n\n')


def test_client_disconnect_during_a_stall_is_counted(mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(["a", "b"]).stall(after=1, seconds=30))
    sock, _ = raw_completion(mock)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert mock.stats.wait_for(lambda s: s.active_streams == 1)
    sock.close()
    assert mock.stats.wait_for(lambda s: s.streams_client_disconnected == 1, timeout=3)
    assert mock.stats.wait_for(lambda s: s.active_streams == 0 and s.open_connections == 0)


def test_huge_line_and_invalid_utf8(mock: MockUpstream) -> None:
    huge = stream_of(mock, Reply.huge_line(3_000_000)).body
    assert max(len(line) for line in huge.split(b"\n")) > 3_000_000
    bad = stream_of(mock, Reply.invalid_utf8()).body
    assert b"ok \xff\xfe end" in bad
    with pytest.raises(UnicodeDecodeError):
        bad.decode()


def test_nth_request_fails(mock: MockUpstream) -> None:
    mock.fail_request(2, status=429)
    mock.fail_request(1, reply=Reply.waf_blocked(), path="/api/models")
    token, user_id = guest(mock)
    assert completion(mock, token, user_id).status == 200
    limited = completion(mock, token, user_id)
    assert limited.status == 429 and limited.json()["code"] == 429
    assert completion(mock, token, user_id).status == 200
    assert call(mock, "GET", "/api/models", headers=bearer(token)).status == 405
    assert call(mock, "GET", "/api/models", headers=bearer(token)).status == 200


@pytest.mark.parametrize("status", [400, 401, 405, 426, 429, 500, 502, 503])
def test_http_errors_have_bodies(mock: MockUpstream, status: int) -> None:
    token, user_id = guest(mock)
    mock.enqueue(Reply.http_error(status))
    answer = completion(mock, token, user_id)
    assert answer.status == status and answer.body
    assert Reply.version_check_failed("2026").body.decode().find("您的客户端版本过旧") > 0


def test_keep_alive_bulk_streams_and_records(mock: MockUpstream) -> None:
    mock.default_reply = Reply.bulk(5000)
    token, user_id = guest(mock)
    connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)
    for _ in range(3):
        ts = int(SPEC_NOW * 1000)
        rid = str(uuid.uuid4())
        query = {"requestId": rid, "timestamp": ts, "user_id": user_id, "signature_timestamp": ts}
        connection.request(
            "POST",
            f"/api/chat/completions?{urlencode(query)}",
            body=b'{"stream":true,"model":"0727-360B-API"}',
            headers={
                **bearer(token),
                "X-FE-Version": "prod-fe-1.0.185",
                "X-Signature": expected_signature(rid, str(ts), user_id, ts, "", KEY),
            },
        )
        assert Answer(connection.getresponse()).body.count(b"data: ") == 5002
    connection.close()
    assert mock.stats.total_connections == 2  # one for the guest, one for the three streams
    (recorded, *_) = mock.completions
    assert recorded.headers["x-fe-version"] == "prod-fe-1.0.185"
    assert recorded.json["model"] == "0727-360B-API" and recorded.body.startswith(b"{")
    assert mock.stats.streams_completed == 3


def test_python_m_serves_the_landing_page() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "zaiproxy.testing", "--port", str(port), "--fe-version",
         "prod-fe-1.0.99", "--fe-version", "prod-fe-1.0.185"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"http://127.0.0.1:{port}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/")
        page = connection.getresponse().read().decode()
        assert "prod-fe-1.0.185" in page and "prod-fe-1.0.99" in page
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_python_m_serves_stalled_bulk_streams() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "zaiproxy.testing", "--port", "0", "--bulk-events", "3",
         "--bulk-text", "hi ", "--stall-seconds", "0.3"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/v1/auths/")
        profile = json.loads(connection.getresponse().read())
        ts, rid = int(time.time() * 1000), str(uuid.uuid4())
        user_id = profile["id"]
        query = {"requestId": rid, "timestamp": ts, "user_id": user_id, "signature_timestamp": ts}
        started = time.monotonic()
        connection.request(
            "POST",
            f"/api/v2/chat/completions?{urlencode(query)}",
            body=b'{"stream":true,"model":"0727-360B-API"}',
            headers={
                **bearer(profile["token"]),
                "X-FE-Version": "prod-fe-1.1.98",
                "X-Signature": expected_signature(rid, str(ts), user_id, ts, "", KEY),
            },
        )
        answer = Answer(connection.getresponse())
        assert time.monotonic() - started >= 0.25
        assert answer.status == 200
        assert answer.body.count(b'"delta_content":"hi "') == 3
        assert answer.body.endswith(b'"done":true}}\n\n')
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_the_pytest_fixture_is_a_running_mock(mock_upstream: MockUpstream) -> None:
    assert call(mock_upstream, "GET", "/").status == 200
    assert mock_upstream.requests[0].path == "/"
