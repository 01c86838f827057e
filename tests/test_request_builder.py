"""The protocol profile and the request builder from Python: loading and overrides
(zaiproxy.profile), and the upstream requests a plan writes (upstream-protocol.md §2)."""

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest

from zaiproxy import core
from zaiproxy.profile import load_profile, load_profile_document

GUEST_JWT = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU4OD"
    "c4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz"
)
GUEST_ID = "316bcb48-ff2f-4a15-853d-f2a29b67ff0f"
HELLO = {"model": "GLM-4.5", "messages": [{"role": "user", "content": "你好"}]}


@pytest.fixture(scope="module")
def profile():
    return load_profile(env={})


def v8_context(profile):
    return core.RequestContext(
        profile,
        fe_version="prod-fe-1.0.185",
        request_id="9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e",
        chat_id="c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
        user_message_id="5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
        session_id="6e2f3a4b-5c6d-4e7f-8091-92a3b4c5d6e7",
        timestamp_ms=1773300000000,
    )


# ── loading ──


def test_packaged_profile_loads(profile):
    assert profile.origin == "https://chat.z.ai"
    assert profile.endpoints["completions"] == "/api/v2/chat/completions"
    assert profile.fe_version_fallback == "prod-fe-1.1.98"
    assert profile.signing_key == core.DEFAULT_SIGNING_KEY
    assert profile.resolve_model("GLM-4.7-Thinking")["upstream_id"] == "glm-4.7"
    names = [model["alias"] for model in profile.models()]
    assert names[:3] == ["GLM-4.5", "GLM-4.5-Thinking", "GLM-4.5-Search"]


def test_profile_file_from_argument_and_env(tmp_path):
    document = load_profile_document(env={})
    document["origin"] = "http://127.0.0.1:9999"
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert load_profile(path, env={}).origin == "http://127.0.0.1:9999"
    assert load_profile(env={"ZAIPROXY_PROFILE": str(path)}).origin == "http://127.0.0.1:9999"


def test_invalid_profile_names_the_path(tmp_path):
    document = load_profile_document(env={})
    del document["models"][0]["upstream"]
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match=r"models\[0\]\.upstream"):
        load_profile(path, env={})


def test_env_overrides_drifting_values():
    profile = load_profile(
        env={
            "ZAI_FE_VERSION": "prod-fe-1.2.0",
            "BASE": "http://mock:8080",
            "ZAI_SIGNING_SECRET": "new-key",
            "ZAIPROXY_USER_AGENT": "UA/1",
        }
    )
    assert profile.fe_version_fallback == "prod-fe-1.2.0"
    assert profile.origin == "http://mock:8080"
    assert profile.signing_key == "new-key"
    assert profile.user_agent == "UA/1"


def test_our_env_names_win_over_the_older_ones():
    env = {"ZAIPROXY_ORIGIN": "http://ours", "BASE": "http://theirs"}
    assert load_profile(env=env).origin == "http://ours"


def test_obsolete_signing_secret_is_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="zaiproxy"):
        profile = load_profile(env={"ZAI_SIGNING_SECRET": "junjie"})
    assert profile.signing_key == core.DEFAULT_SIGNING_KEY
    assert any("obsolete" in record.getMessage() for record in caplog.records)


def test_model_name_variables_rename_models():
    profile = load_profile(env={"THINKING_MODEL": "glm-think", "GLM47_MODEL": "GLM-4.7"})
    model = profile.resolve_model("glm-think")
    assert (model["upstream_id"], model["enable_thinking"]) == ("0727-360B-API", True)
    assert "glm-think" in [m["alias"] for m in profile.models()]


def test_discover_fe_version():
    html = b'<script src="/prod-fe-1.0.99/a.js"></script><script src="/prod-fe-1.0.185/b.js">'
    assert core.discover_fe_version(html) == "prod-fe-1.0.185"
    assert core.discover_fe_version("<html></html>") is None
    assert core.jwt_user_id(GUEST_JWT) == GUEST_ID


# ── the completion request ──


def test_completion_request_of_the_spec_example(profile):
    plan = core.plan_chat(profile, HELLO)
    request = plan.completion_request(core.Identity(token=GUEST_JWT), v8_context(profile))
    url = urlsplit(request.url)
    assert url.path == "/api/v2/chat/completions"
    query = parse_qsl(url.query)
    assert [name for name, _ in query] == [
        "requestId",
        "timestamp",
        "user_id",
        "token",
        "version",
        "platform",
        "current_url",
        "pathname",
        "signature_timestamp",
    ]
    assert dict(query)["user_id"] == GUEST_ID
    assert dict(query)["current_url"] == "https://chat.z.ai/c/c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"
    assert request.header("X-Signature") == (
        "4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694"
    )
    assert request.header("X-FE-Version") == "prod-fe-1.0.185"
    assert request.header("Authorization") == "Bearer " + GUEST_JWT
    body = json.loads(request.body)
    assert body["model"] == "0727-360B-API"
    assert body["signature_prompt"] == "你好"
    assert body["variables"]["{{CURRENT_DATETIME}}"] == "2026-03-12 15:20:00"
    assert body["model_item"] == {
        "id": "0727-360B-API",
        "name": "GLM-4.5",
        "owned_by": "api-proxy-server",
    }


def test_request_as_bytes_or_text(profile):
    text = json.dumps(HELLO)
    assert core.plan_chat(profile, text).signature_prompt == "你好"
    assert core.plan_chat(profile, text.encode()).upstream_model == "0727-360B-API"


def test_fresh_context_by_default(profile):
    plan = core.plan_chat(profile, HELLO)
    request = plan.completion_request(core.Identity(token=GUEST_JWT))
    assert request.header("X-FE-Version") == "prod-fe-1.1.98"
    assert len(dict(parse_qsl(urlsplit(request.url).query))["requestId"]) == 36


def test_persisted_flow(profile):
    plan = core.plan_chat(profile, {"model": "GLM-4.7", "messages": HELLO["messages"]})
    assert plan.needs_chat_creation
    identity = core.Identity(token=GUEST_JWT)
    context = v8_context(profile)
    creation = plan.chat_creation_request(identity, context)
    assert creation.url == "https://chat.z.ai/api/v1/chats/new"
    chat_id = core.parse_chat_creation_response(b'{"id":"chat-123"}')
    body = json.loads(plan.completion_request(identity, context, chat_id=chat_id).body)
    assert body["chat_id"] == "chat-123"
    assert body["current_user_message_id"] == context.user_message_id
    assert body["background_tasks"] == {"title_generation": True, "tags_generation": True}


def test_pipeline_options_echo_the_model(profile):
    plan = core.plan_chat(profile, {"model": "glm-4.5-thinking", "messages": []})
    options = plan.pipeline_options(output="openai-json")
    assert options.model == "glm-4.5-thinking"
    assert plan.enable_thinking


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ({"model": 4, "messages": []}, "model"),
        ({"temperature": "hot", "messages": []}, "temperature"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ],
)
def test_bad_requests_raise_request_error(profile, request_body, param):
    with pytest.raises(core.RequestError) as raised:
        core.plan_chat(profile, request_body)
    assert raised.value.param == param
    assert raised.value.status == 400


def test_invalid_json_text_is_a_value_error(profile):
    with pytest.raises(ValueError, match="not valid JSON"):
        core.plan_chat(profile, b"{")


DATA_IMAGE = {
    "model": "GLM-4.6V",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,UE5H"}},
            ],
        }
    ],
}


def test_guest_image_upload_is_refused(profile):
    plan = core.plan_chat(profile, DATA_IMAGE)
    assert plan.uploads[0]["data"] == b"PNG"
    guest = core.Identity(token=GUEST_JWT, guest=True)
    with pytest.raises(core.RequestError, match="logged-in user token"):
        plan.chat_creation_request(guest)
    with pytest.raises(core.RequestError):
        plan.upload_request(guest, 0)


def test_user_image_upload_flow(profile):
    plan = core.plan_chat(profile, DATA_IMAGE)
    user = core.Identity(token=GUEST_JWT, guest=False, name="Alice")
    context = v8_context(profile)
    upload = plan.upload_request(user, 0, context, boundary="B", filename="f1")
    assert upload.header("Content-Type") == "multipart/form-data; boundary=B"
    assert b'filename="f1"' in upload.body
    uploaded = core.parse_upload_response(
        b'{"id":"file-1","filename":"f1","user_id":"u1","meta":{"content_type":"image/png","size":3}}'
    )
    body = json.loads(
        plan.completion_request(user, context, chat_id="chat-1", files=[uploaded]).body
    )
    assert body["messages"][0]["content"][1]["image_url"]["url"] == "file-1"
    assert body["files"][0]["ref_user_msg_id"] == context.user_message_id
    assert body["variables"]["{{USER_NAME}}"] == "Alice"


def test_simple_requests(profile):
    assert core.auth_request(profile).header("Authorization") is None
    assert core.auth_request(profile, "tok").header("Authorization") == "Bearer tok"
    assert core.models_request(profile, "tok").url == "https://chat.z.ai/api/models"
    assert core.delete_chats_request(profile, "tok").method == "DELETE"
    assert core.landing_page_request(profile).url == "https://chat.z.ai/"
    identity = core.parse_auth_response(
        json.dumps({"id": GUEST_ID, "role": "guest", "token": GUEST_JWT}).encode()
    )
    assert (identity.user_id, identity.guest) == (GUEST_ID, True)
