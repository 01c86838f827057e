"""The whole upstream client against the mock chat.z.ai: profile, request builder, engine,
front-end version discovery, guest sessions, user tokens, chat creation, uploads and retries."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zaiproxy.profile
from zaiproxy import core
from zaiproxy.profile import load_profile
from zaiproxy.testing import DEFAULT_MODELS, MockUpstream, Model, Reply
from zaiproxy.upstream import errors as upstream_errors
from zaiproxy.upstream.client import RetryPolicy, UpstreamClient
from zaiproxy.upstream.engine import UpstreamEngine
from zaiproxy.upstream.identities import GuestPoolSettings, IdentityProvider

from oracle import parse_openai_json, parse_openai_sse

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nnot really a picture").decode()


@pytest.fixture
def mock() -> Iterator[MockUpstream]:
    with MockUpstream(fe_versions=("prod-fe-1.0.99", "prod-fe-1.0.185")) as mock:
        yield mock


def make_client(mock: MockUpstream, **options: Any) -> UpstreamClient:
    profile = load_profile(env={"ZAIPROXY_ORIGIN": mock.url})
    options.setdefault("retry", RetryPolicy(attempts=3, backoff=0.01))
    return UpstreamClient(profile, engine=UpstreamEngine(), **options)


def chat(text: str = "Hello", model: str = "GLM-4.5", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


async def run(client: UpstreamClient, request: dict[str, Any], **options: Any) -> bytes:
    try:
        async with await client.open(client.plan(request), **options) as stream:
            return b"".join([chunk async for chunk in stream])
    finally:
        await client.close()


def test_a_completion_end_to_end(mock: MockUpstream) -> None:
    mock.enqueue(Reply.thinking_answer("Think.", ["Hi ", "there"]))
    output = asyncio.run(run(make_client(mock), chat("Hello")))
    result = parse_openai_sse(output)
    assert (result.content, result.reasoning) == ("Hi there", "Think.")
    sent = mock.completions[0]
    assert sent.path == "/api/v2/chat/completions"
    assert sent.json["signature_prompt"] == "Hello"
    assert sent.json["model"] == "0727-360B-API"
    # Discovery picks the numerically greatest version on the landing page.
    assert sent.headers["x-fe-version"] == "prod-fe-1.0.185"


def test_the_front_end_version_is_discovered_once_and_cached(mock: MockUpstream) -> None:
    client = make_client(mock)

    async def main() -> None:
        for _ in range(3):
            await client.complete(client.plan(chat()))
        await client.close()

    asyncio.run(main())
    assert [r.path for r in mock.requests].count("/") == 1


def test_parallel_requests_each_get_a_guest_of_their_own(mock: MockUpstream) -> None:
    mock.default_reply = Reply.answer("ok").stall(after=0, seconds=0.2)
    client = make_client(mock, guest_settings=GuestPoolSettings(size=3, max_size=8))

    async def main() -> None:
        await client.identities.warm()
        assert len(client.identities.guest_sessions) == 3
        await asyncio.gather(*(client.complete(client.plan(chat())) for _ in range(6)))
        # After the burst the pool shrinks back to its warm size.
        sessions = client.identities.guest_sessions
        assert len(sessions) == 3
        assert all(s.active_requests == 0 for s in sessions)
        await client.close()

    asyncio.run(main())
    users = [r.identity.id for r in mock.completions]
    assert len(set(users)) == 6


def test_beyond_the_maximum_the_least_busy_guest_is_shared(mock: MockUpstream) -> None:
    mock.default_reply = Reply.answer("ok").stall(after=0, seconds=0.2)
    client = make_client(mock, guest_settings=GuestPoolSettings(size=1, max_size=2))

    async def main() -> None:
        await asyncio.gather(*(client.complete(client.plan(chat())) for _ in range(4)))
        await client.close()

    asyncio.run(main())
    users = [r.identity.id for r in mock.completions]
    assert sorted(users.count(u) for u in set(users)) == [2, 2]


def test_a_rate_limited_guest_is_replaced_and_the_request_retried(mock: MockUpstream) -> None:
    mock.fail_request(1, status=429)
    output = asyncio.run(run(make_client(mock), chat("retry me"), output="openai-json"))
    assert parse_openai_json(output).content.endswith("retry me")
    first, second = mock.completions
    assert first.identity.id != second.identity.id
    assert first.identity.delete_all_calls == 1  # the dropped guest's chats are deleted


def test_retries_stop_after_the_policy_attempts(mock: MockUpstream) -> None:
    for n in (1, 2, 3):
        mock.fail_request(n, status=429)
    with pytest.raises(upstream_errors.RateLimited):
        asyncio.run(run(make_client(mock), chat()))
    assert len(mock.completions) == 3


def test_a_signature_error_is_not_retried_and_names_the_setting(mock: MockUpstream) -> None:
    mock.fail_request(1, reply=Reply.signature_failed())
    with pytest.raises(upstream_errors.SignatureRejected) as raised:
        asyncio.run(run(make_client(mock), chat()))
    assert "signing key" in str(raised.value)
    assert len(mock.completions) == 1


def test_persisted_models_create_the_chat_first(mock: MockUpstream) -> None:
    output = asyncio.run(run(make_client(mock), chat("persist", model="GLM-4.7")))
    # The mock ends a persisted model's stream with INTERNAL_ERROR when its chat was not created.
    assert parse_openai_sse(output).error is None
    created = [r for r in mock.requests if r.path == "/api/v1/chats/new"]
    assert len(created) == 1
    completion = mock.completions[0]
    assert completion.json["current_user_message_id"] in json.dumps(created[0].json)
    # Closing the client retires its guests and deletes their chats.
    assert completion.identity.deleted_chats == 1


def test_guests_are_not_offered_models_reserved_for_users(mock: MockUpstream) -> None:
    with pytest.raises(upstream_errors.UpstreamError) as raised:
        asyncio.run(run(make_client(mock), chat(model="GLM-5")))
    assert raised.value.status == 403
    assert mock.completions == []


def test_user_tokens_come_first_and_their_role_is_detected(mock: MockUpstream) -> None:
    user = mock.add_user("Ada")
    client = make_client(mock, user_tokens=[user.token])

    async def main() -> None:
        await client.identities.verify_user_tokens()
        assert [s.identity.guest for s in client.identities.users.sessions] == [False]
        identity = await client.identities.detect_role(user.token)
        assert not identity.guest
        output = await client.complete(client.plan(chat(model="GLM-5")))
        assert parse_openai_json(output).content
        mock.revoke(user.token)
        with pytest.raises(upstream_errors.TokenRejected):
            await client.identities.detect_role(user.token)
        await client.close()

    asyncio.run(main())
    assert mock.completions[0].identity.id == user.id


def test_images_are_uploaded_for_users_and_refused_for_guests(mock: MockUpstream) -> None:
    image_request = {
        "model": "GLM-4.5V",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                ],
            }
        ],
    }
    with pytest.raises(core.RequestError) as refused:
        asyncio.run(run(make_client(mock), image_request))
    assert refused.value.status == 400

    user = mock.add_user("Grace")
    asyncio.run(run(make_client(mock, user_tokens=[user.token], guests=False), image_request))
    assert len(mock.files) == 1
    sent = mock.completions[0].json
    assert sent["files"][0]["id"] == mock.files[0].id


def test_leaving_a_stream_releases_its_identity(mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(["a", "b"]).stall(after=1, seconds=30))
    client = make_client(mock)

    async def main() -> None:
        async with await client.open(client.plan(chat())) as stream:
            await stream.__anext__()
        assert all(s.active_requests == 0 for s in client.identities.guest_sessions)
        await client.close()

    asyncio.run(main())
    assert mock.stats.wait_for(lambda s: s.streams_client_disconnected == 1, 5)


def test_tool_calls_come_back_in_the_openai_shape(mock: MockUpstream) -> None:
    mock.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    output = asyncio.run(run(make_client(mock), chat("Weather?", tools=tools)))
    result = parse_openai_sse(output)
    assert [(name, json.loads(arguments)) for name, arguments in result.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_a_refused_token_is_dropped_and_another_identity_used(mock: MockUpstream) -> None:
    mock.fail_request(1, status=401)
    output = asyncio.run(run(make_client(mock), chat("again"), output="openai-json"))
    assert parse_openai_json(output).content.endswith("again")
    first, second = mock.completions
    assert first.identity.id != second.identity.id


def test_the_configured_version_is_used_when_discovery_fails(mock: MockUpstream) -> None:
    mock.fail_request(1, status=500, path="/")
    client = make_client(mock)
    asyncio.run(run(client, chat()))
    assert mock.completions[0].headers["x-fe-version"] == client.profile.fe_version_fallback


def test_guest_sessions_retire_after_their_lifetime(mock: MockUpstream) -> None:
    now = [1000.0]
    profile = load_profile(env={"ZAIPROXY_ORIGIN": mock.url})
    engine = UpstreamEngine()
    settings = GuestPoolSettings(size=1, lifetime=300, jitter=0, min_lifetime=60)
    identities = IdentityProvider(engine, profile, guest_settings=settings, clock=lambda: now[0])

    async def main() -> tuple[str, str]:
        first = await identities.acquire()
        identities.release(first)
        now[0] += 301
        await identities.warm()  # the periodic maintenance: retire, then top up
        (second,) = identities.guest_sessions
        await identities.close()
        return first.identity.user_id, second.identity.user_id

    try:
        first, second = asyncio.run(main())
    finally:
        engine.close()
    assert first != second
    retired = next(i for i in mock.guests if i.id == first)
    assert retired.delete_all_calls == 1


def test_following_an_upstream_change_is_a_data_edit(tmp_path: Path) -> None:
    """A new model and the older completions endpoint, from an edited profile, no rebuild."""
    document = json.loads(
        (Path(zaiproxy.profile.__file__).parent / "data" / "profile.json").read_text("utf-8")
    )
    document["completion_endpoint"] = "completions_v1"
    document["models"].append({"alias": "GLM-Next", "upstream": "glm-next-preview"})
    edited = tmp_path / "profile.json"
    edited.write_text(json.dumps(document), "utf-8")
    models = (*DEFAULT_MODELS, Model("glm-next-preview", "GLM-Next"))
    with MockUpstream(models=models) as mock:
        env = {"ZAIPROXY_PROFILE": str(edited), "ZAIPROXY_ORIGIN": mock.url}
        client = UpstreamClient(load_profile(env=env), engine=UpstreamEngine())
        mock.on_completion = lambda request: Reply.answer(request.json["model"])
        output = asyncio.run(run(client, chat(model="GLM-Next"), output="openai-json"))
        assert parse_openai_json(output).content == "glm-next-preview"
        assert mock.completions[0].path == "/api/chat/completions"
