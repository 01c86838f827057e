"""zaiproxy.Client / AsyncClient against the mock chat.z.ai: real sockets, the real engine, the
API's own shapes back as dicts, streams that free their upstream request when left early, and the
blocking client inside a running event loop (what Jupyter does)."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import zaiproxy
from zaiproxy import AsyncClient, Client, core
from zaiproxy.testing import MockUpstream, Reply
from zaiproxy.upstream import UpstreamError
from zaiproxy.upstream.errors import UpstreamServerError

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
ANTHROPIC_TOOLS = [{"name": "get_weather", "input_schema": WEATHER}]


@pytest.fixture
def client(mock_upstream: MockUpstream) -> Iterator[Client]:
    # env={}: nothing from the machine's environment (proxies, profile overrides) gets in.
    with Client(origin=mock_upstream.url, env={}) as client:
        yield client


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def in_thread(work: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Runs `work` in a thread and fails (instead of hanging) if it deadlocks."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlocked"
    if errors:
        raise errors[0]
    return result[0]


def client_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "zaiproxy-client"]


# ── non-streaming ──


def test_an_openai_completion_comes_back_as_the_api_dict(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.answer(["Hi ", "there"]))
    response = client.chat("Hello", temperature=0.3, max_tokens=50)
    assert response["object"] == "chat.completion"
    assert response["model"] == "GLM-4.5"
    assert response["choices"][0]["message"] == {"role": "assistant", "content": "Hi there"}
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["usage"]["total_tokens"] == 15
    sent = mock_upstream.completions[0].json
    assert sent["messages"] == [{"role": "user", "content": "Hello"}]
    assert sent["params"] == {"temperature": 0.3, "max_tokens": 50}


def test_an_anthropic_message_comes_back_as_the_api_dict(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.answer("Bonjour"))
    messages = [{"role": "user", "content": "Hello"}]
    response = client.chat(messages, api="anthropic", system="Answer in French.")
    assert response["type"] == "message"
    assert response["content"] == [{"type": "text", "text": "Bonjour"}]
    assert response["stop_reason"] == "end_turn"
    sent = mock_upstream.completions[0].json
    assert sent["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert sent["params"]["max_tokens"] == 4096  # the Messages API needs one: the default


def test_the_client_defaults_apply_to_every_call(mock_upstream: MockUpstream) -> None:
    mock_upstream.enqueue(Reply.answer("ok"))
    with Client(origin=mock_upstream.url, env={}, api="anthropic", model="GLM-4.6") as client:
        assert client.chat("Hi")["model"] == "GLM-4.6"
    assert mock_upstream.completions[0].json["model"] == "GLM-4-6-API-V1"


# ── streaming ──


def test_an_openai_stream_yields_the_chunk_dicts(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.answer(["Hi ", "there"]))
    chunks = list(client.chat("Hello", stream=True, stream_options={"include_usage": True}))
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert content_of(chunks) == "Hi there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15


def test_an_anthropic_stream_yields_each_event_data(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.thinking_answer("Let me think.", ["Hi ", "there"]))
    events = list(client.chat("Hello", api="anthropic", stream=True))
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert "".join(d.get("thinking", "") for d in deltas) == "Let me think."
    assert "".join(d.get("text", "") for d in deltas) == "Hi there"


def test_the_async_client_streams_and_completes(mock_upstream: MockUpstream) -> None:
    mock_upstream.enqueue(Reply.answer(["a", "b"]), Reply.answer("whole"))

    async def main() -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
        async with AsyncClient(origin=mock_upstream.url, env={}) as client:
            chunks = [chunk async for chunk in await client.chat("Hi", stream=True)]
            response = await client.chat("Hi")
            return chunks, response, client.models()

    chunks, response, models = asyncio.run(main())
    assert content_of(chunks) == "ab"
    assert response["choices"][0]["message"]["content"] == "whole"
    assert models[0]["object"] == "model"


# ── thinking, tools ──


@pytest.mark.parametrize(
    ("think", "content", "reasoning"),
    [
        ("reasoning", "Hi there", "Think."),
        ("think", "<think>\nThink.\n</think>\n\nHi there", None),
        ("drop", "Hi there", None),
    ],
)
def test_thinking_modes(
    mock_upstream: MockUpstream,
    client: Client,
    think: str,
    content: str,
    reasoning: str | None,
) -> None:
    mock_upstream.enqueue(Reply.thinking_answer("Think.", ["Hi ", "there"]))
    message = client.chat("Hello", think=think)["choices"][0]["message"]
    assert message["content"] == content
    assert message.get("reasoning_content") == reasoning


def test_the_client_think_mode_is_the_default(mock_upstream: MockUpstream) -> None:
    mock_upstream.enqueue(Reply.thinking_answer("Hmm.", "Yes"))
    with Client(origin=mock_upstream.url, env={}, think="think") as client:
        assert client.text("Sure?") == "<think>\nHmm.\n</think>\n\nYes"


def test_openai_tool_calls(mock_upstream: MockUpstream, client: Client) -> None:
    mock_upstream.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}))
    choice = client.chat("Weather in Paris?", tools=OPENAI_TOOLS)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}


def test_anthropic_tool_use_streamed(mock_upstream: MockUpstream, client: Client) -> None:
    mock_upstream.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}, text_before="Let me."))
    events = list(client.chat("Weather?", api="anthropic", tools=ANTHROPIC_TOOLS, stream=True))
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert [b["type"] for b in starts] == ["text", "tool_use"]
    assert starts[1]["name"] == "get_weather"
    arguments = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(arguments) == {"city": "Paris"}
    stop = next(e for e in events if e["type"] == "message_delta")
    assert stop["delta"]["stop_reason"] == "tool_use"


# ── leaving streams early, closing ──


def test_breaking_out_of_a_stream_cancels_it(mock_upstream: MockUpstream, client: Client) -> None:
    mock_upstream.enqueue(Reply.answer(["a", "b", "c"]).stall(after=1, seconds=30))
    for _chunk in client.chat("Hi", stream=True):
        break  # the dropped iterator cancels the request
    gc.collect()
    assert mock_upstream.stats.wait_for(
        lambda s: s.streams_client_disconnected == 1 and s.active_streams == 0, 5
    )
    # Its identity was freed: the next request reuses the same guest session.
    client.text("again")
    first, second = mock_upstream.completions
    assert first.identity is not None and second.identity is not None
    assert first.identity.id == second.identity.id


def test_leaving_a_with_block_cancels_the_stream(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.answer(["a", "b", "c"]).stall(after=1, seconds=30))
    with client.chat("Hi", stream=True) as stream:
        first = next(stream)
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert mock_upstream.stats.wait_for(lambda s: s.streams_client_disconnected == 1, 5)
    assert list(stream) == []  # a closed stream is over


def test_async_early_exit_cancels_the_stream(mock_upstream: MockUpstream) -> None:
    mock_upstream.enqueue(Reply.answer(["a", "b", "c"]).stall(after=1, seconds=30))

    async def main() -> None:
        async with AsyncClient(origin=mock_upstream.url, env={}) as client:
            async with await client.chat("Hi", stream=True) as stream:
                async for _chunk in stream:
                    break
            sessions = client.upstream.identities.guest_sessions
            assert sessions and all(s.active_requests == 0 for s in sessions)

    asyncio.run(main())
    assert mock_upstream.stats.wait_for(
        lambda s: s.streams_client_disconnected == 1 and s.active_streams == 0, 5
    )


def test_closing_the_client_cancels_open_streams_and_stops_its_thread(
    mock_upstream: MockUpstream,
) -> None:
    mock_upstream.enqueue(Reply.answer(["a", "b"]).stall(after=1, seconds=30))
    client = Client(origin=mock_upstream.url, env={})
    assert client_threads() == []  # nothing starts at construction
    stream = client.chat("Hi", stream=True)
    next(stream)
    assert len(client_threads()) == 1
    client.close()
    assert client_threads() == []
    assert mock_upstream.stats.wait_for(lambda s: s.streams_client_disconnected == 1, 5)
    # A closed client starts afresh when used again.
    assert client.text("back") == "echo: back"
    client.close()


# ── errors ──


def test_an_upstream_error_keeps_its_status(mock_upstream: MockUpstream, client: Client) -> None:
    mock_upstream.fail_request(1, status=500)
    with pytest.raises(UpstreamServerError) as raised:
        client.chat("Hi")
    assert raised.value.status == 500
    assert len(mock_upstream.completions) == 1  # a 5xx is not retried


def test_a_stream_that_fails_before_output_raises_at_the_call(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.fail_request(1, status=500)
    with pytest.raises(UpstreamError):
        client.chat("Hi", stream=True)


def test_a_request_to_fix_raises_request_error(client: Client) -> None:
    with pytest.raises(core.RequestError) as raised:
        client.chat(
            "Hi", tools=OPENAI_TOOLS, tool_choice={"type": "function", "function": {"name": "nope"}}
        )
    assert isinstance(raised.value, ValueError)
    assert raised.value.status == 400


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_an_error_mid_stream_raises_after_the_chunks_before_it(
    mock_upstream: MockUpstream, client: Client, api: str
) -> None:
    failing = Reply.answer(["a", "b"]).ending_with_error({"detail": "boom", "code": 500})
    mock_upstream.enqueue(failing)
    received: list[dict[str, Any]] = []
    with pytest.raises(UpstreamError) as raised:
        for chunk in client.chat("Hi", api=api, stream=True):  # type: ignore[call-overload]
            received.append(chunk)
    assert raised.value.kind == "in_stream"
    assert "boom" in str(raised.value)
    if api == "openai":
        assert content_of(received) == "ab"
    else:
        texts = [e["delta"]["text"] for e in received if e["type"] == "content_block_delta"]
        assert texts == ["a", "b"]
    assert mock_upstream.stats.wait_for(lambda s: s.active_streams == 0, 5)


# ── a running event loop in the calling thread (Jupyter) ──


def test_the_blocking_client_works_inside_a_running_event_loop(
    mock_upstream: MockUpstream, client: Client
) -> None:
    mock_upstream.enqueue(Reply.answer(["x", "y"]))

    async def notebook_cell() -> tuple[str, str]:
        assert asyncio.get_running_loop().is_running()
        streamed = content_of(list(client.chat("one", stream=True)))
        return streamed, client.text("two")

    assert in_thread(lambda: asyncio.run(notebook_cell())) == ("xy", "echo: two")


# ── conveniences ──


def test_text_and_raw(mock_upstream: MockUpstream, client: Client) -> None:
    assert client.text("Hi") == "echo: Hi"
    assert client.text("Hi", api="anthropic") == "echo: Hi"
    raw_sse = client.raw("Hi", output="openai-sse")
    assert raw_sse.startswith(b"data: {") and raw_sse.endswith(b"data: [DONE]\n\n")
    assert client.raw("Hi", output="anthropic-sse").startswith(b"event: message_start\n")
    assert json.loads(client.raw("Hi"))["object"] == "chat.completion"
    assert json.loads(client.raw("Hi", output="anthropic-json"))["type"] == "message"
    # The request is written in the output's API unless `api` says otherwise.
    assert mock_upstream.completions[-1].json["params"]["max_tokens"] == 4096


def test_models_list_the_profile_as_v1_models(client: Client) -> None:
    models = client.models()
    ids = [m["id"] for m in models]
    assert "GLM-4.5" in ids and "GLM-4.5-Thinking" in ids
    assert set(models[0]) == {"id", "object", "created", "owned_by"}
    assert {(m["object"], m["owned_by"]) for m in models} == {("model", "z.ai")}


def test_user_tokens_are_used_first(mock_upstream: MockUpstream) -> None:
    user = mock_upstream.add_user("Ada")
    with Client(origin=mock_upstream.url, env={}, tokens=[user.token], guests=False) as client:
        assert client.text("Hi", model="GLM-5") == "echo: Hi"
    completion = mock_upstream.completions[0]
    assert completion.identity is not None and completion.identity.id == user.id


def test_origin_needs_a_profile_it_can_rewrite() -> None:
    with pytest.raises(ValueError):
        Client(profile=core.Profile(json.dumps(_packaged())), origin="http://127.0.0.1:1")


def test_importing_zaiproxy_does_not_load_the_client() -> None:
    code = (
        "import sys, zaiproxy; "
        "assert 'zaiproxy.client' not in sys.modules and 'zaiproxy.upstream' not in sys.modules; "
        "zaiproxy.Client; assert 'zaiproxy.client' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "Client" in dir(zaiproxy)


def _packaged() -> dict[str, Any]:
    from zaiproxy.profile import packaged_profile_text

    return json.loads(packaged_profile_text())  # type: ignore[no-any-return]
