"""The Anthropic Messages API of `zaiproxy serve` (Granian and uvicorn) through the real
`anthropic` SDK, on /v1/messages and /anthropic/v1/messages, against the mock chat.z.ai."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest

from zaiproxy.profile import load_profile
from zaiproxy.testing import MockUpstream, Reply

from server_process import (
    API_KEY,
    CUSTOM_CLAUDE_NAME,
    CUSTOM_CLAUDE_TARGET,
    HTTP_TIMEOUT,
    ServerProcess,
    bearer,
    last_completion,
    request,
)

pytest_plugins = ["server_fixtures"]

REASONING = ["The user greets.", "\nI greet back."]
ANSWER = ["Hello", " from", " GLM"]
R = "".join(REASONING)
A = "".join(ANSWER)
USAGE = (17, 6, 23)
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "Current weather of a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
PREFIXES = ["", "/anthropic"]


@pytest.fixture(params=PREFIXES, ids=["v1", "anthropic-prefix"])
def client(request: pytest.FixtureRequest, server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.url + request.param, api_key=API_KEY, max_retries=0, timeout=HTTP_TIMEOUT
    )


def user(text: str = "Hello") -> list[Any]:
    return [{"role": "user", "content": text}]


def upstream_model(alias: str) -> str:
    return str(load_profile().resolve_model(alias)["upstream_id"])


def test_non_streamed_message(client: anthropic.Anthropic, mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(ANSWER, usage=USAGE))
    message = client.messages.create(model="GLM-4.5", max_tokens=256, messages=user("Hi"))
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == A  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.model == "GLM-4.5"
    assert message.usage.output_tokens == USAGE[1]
    sent = last_completion(mock).json
    assert sent["signature_prompt"] == "Hi"
    assert sent["model"] == upstream_model("GLM-4.5")


def test_streamed_message_events_in_order(client: anthropic.Anthropic, mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(ANSWER, usage=USAGE))
    events = list(
        client.messages.create(model="GLM-4.5", max_tokens=256, messages=user(), stream=True)
    )
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    middle = kinds[1:-2]
    assert middle[0] == "content_block_start" and middle[-1] == "content_block_stop"
    assert set(middle[1:-1]) == {"content_block_delta"}
    text = "".join(
        e.delta.text  # type: ignore[union-attr]
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == A
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert delta.usage.output_tokens == USAGE[1]  # type: ignore[union-attr]


def test_stream_helper_gives_the_final_message(
    client: anthropic.Anthropic, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.answer(ANSWER))
    with client.messages.stream(model="GLM-4.5", max_tokens=256, messages=user()) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert text == A
    assert message.content[0].text == A  # type: ignore[union-attr]


def test_system_and_sampling_reach_the_upstream(
    client: anthropic.Anthropic, mock: MockUpstream
) -> None:
    client.messages.create(
        model="GLM-4.5",
        max_tokens=99,
        system="Answer in French.",
        stop_sequences=["STOP"],
        messages=user("Hi"),
        extra_body={"temperature": 0.2},  # this SDK version has no temperature argument
    )
    sent = last_completion(mock).json
    assert sent["params"]["temperature"] == 0.2
    assert sent["params"]["max_tokens"] == 99
    assert sent["params"]["stop"] == ["STOP"]
    assert any("Answer in French." in json.dumps(m, ensure_ascii=False) for m in sent["messages"])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_thinking_blocks_with_thinking_enabled(
    client: anthropic.Anthropic, mock: MockUpstream, stream: bool
) -> None:
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    if stream:
        with client.messages.stream(
            model="GLM-4.5",
            max_tokens=2048,
            thinking=thinking,  # type: ignore[arg-type]
            messages=user(),
        ) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(
            model="GLM-4.5",
            max_tokens=2048,
            thinking=thinking,  # type: ignore[arg-type]
            messages=user(),
        )
    assert last_completion(mock).json["features"]["enable_thinking"] is True
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == R  # type: ignore[union-attr]
    assert message.content[1].text == A  # type: ignore[union-attr]


def test_thinking_disabled_reaches_the_upstream(
    client: anthropic.Anthropic, mock: MockUpstream
) -> None:
    client.messages.create(
        model="GLM-4.5", max_tokens=64, thinking={"type": "disabled"}, messages=user()
    )
    assert last_completion(mock).json["features"]["enable_thinking"] is False


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_use(client: anthropic.Anthropic, mock: MockUpstream, stream: bool) -> None:
    mock.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}, text_before="Let me check."))
    arguments: dict[str, Any] = {
        "model": "GLM-4.5",
        "max_tokens": 512,
        "tools": TOOLS,
        "messages": user("Weather in Paris?"),
    }
    if stream:
        with client.messages.stream(**arguments) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**arguments)
    assert message.stop_reason == "tool_use"
    uses = [block for block in message.content if block.type == "tool_use"]
    assert [(use.name, use.input) for use in uses] == [("get_weather", {"city": "Paris"})]
    assert uses[0].id
    texts = [block.text for block in message.content if block.type == "text"]
    assert "".join(texts).strip() == "Let me check."


def test_count_tokens_grows_with_the_input(client: anthropic.Anthropic, mock: MockUpstream) -> None:
    before = len(mock.completions)
    short = client.messages.count_tokens(model="GLM-4.5", messages=user("Hi"))
    longer = client.messages.count_tokens(
        model="GLM-4.5", messages=user("Hi, tell me about the weather in Paris " * 20)
    )
    with_system = client.messages.count_tokens(
        model="GLM-4.5",
        system="You are a meteorologist. " * 20,
        messages=user("Hi, tell me about the weather in Paris " * 20),
    )
    with_tools = client.messages.count_tokens(
        model="GLM-4.5",
        tools=TOOLS,
        messages=user("Hi"),
    )
    assert isinstance(short.input_tokens, int) and short.input_tokens > 0
    assert longer.input_tokens > short.input_tokens
    assert with_system.input_tokens > longer.input_tokens
    assert with_tools.input_tokens > short.input_tokens
    assert len(mock.completions) == before  # counting asks nothing of the upstream


@pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    "name",
    ["claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest", "haiku", "sonnet", "opus"],
)
def test_claude_model_names_are_accepted(
    client: anthropic.Anthropic, mock: MockUpstream, name: str
) -> None:
    mock.enqueue(Reply.answer(ANSWER))
    message = client.messages.create(model=name, max_tokens=64, messages=user())
    assert message.content[0].text == A  # type: ignore[union-attr]
    catalogue = {model["upstream_id"] for model in load_profile().models()}
    sent = last_completion(mock).json["model"]
    assert sent in catalogue
    if "haiku" in name:
        # compatibility.md §9: haiku names go to GLM-4.5-Air.
        assert sent == upstream_model("GLM-4.5-Air")


def test_claude_models_setting_adds_a_name(client: anthropic.Anthropic, mock: MockUpstream) -> None:
    mock.enqueue(Reply.answer(ANSWER))
    client.messages.create(model=CUSTOM_CLAUDE_NAME, max_tokens=64, messages=user())
    assert last_completion(mock).json["model"] == upstream_model(CUSTOM_CLAUDE_TARGET)


def test_an_unknown_model_is_a_not_found_error(
    client: anthropic.Anthropic, mock: MockUpstream
) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.messages.create(model="gpt-9000", max_tokens=64, messages=user())
    assert raised.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_an_upstream_error_mid_stream_reaches_the_sdk(
    client: anthropic.Anthropic, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.answer(ANSWER).ending_with_error({"detail": "boom mid-way", "code": 500}))
    with pytest.raises(anthropic.APIError, match="boom mid-way"):  # noqa: SIM117
        with client.messages.stream(model="GLM-4.5", max_tokens=64, messages=user()) as stream:
            stream.get_final_message()


def test_raw_messages_stream_is_server_sent_events(
    server: ServerProcess, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.answer(ANSWER))
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": user(), "stream": True}
    response = request(server, "POST", "/anthropic/v1/messages", body, headers=bearer())
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.sse_events
    payloads = [json.loads(d) for d in response.sse_data]
    assert [p["type"] for p in payloads] == events  # each event: names its own data
    assert events[0] == "message_start" and events[-1] == "message_stop"
    start = payloads[0]["message"]
    assert start["id"].startswith("msg_") and start["usage"]["input_tokens"] > 0
