"""The OpenAI API of `zaiproxy serve` (Granian and uvicorn) through the real `openai` SDK, raw
HTTP and curl, against the mock chat.z.ai: what the client sees matches what the mock answered,
and what the client asked for reaches the upstream."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from typing import Any

import openai
import pytest

from zaiproxy.profile import load_profile
from zaiproxy.testing import MockUpstream, Reply

from server_process import (
    API_KEY,
    HTTP_TIMEOUT,
    LENIENT_THINK_MODE,
    ServerProcess,
    bearer,
    chat_body,
    last_completion,
    request,
)

pytest_plugins = ["server_fixtures"]

REASONING = ["First thought.", "\nSecond thought."]
ANSWER = ["Hello", " there", "!"]
R = "".join(REASONING)
A = "".join(ANSWER)
# Every think mode of toolcall-and-think.md B2.2, with hmjz100's name `strip` for `quote`.
THINK_MODES = ("reasoning", "think", "quote", "strip", "details", "drop", "raw")
USAGE = (21, 8, 29)  # prompt, completion, total: the mock reports these
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nnot really a picture").decode()
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def client(server: ServerProcess, api_key: str = API_KEY) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=api_key, max_retries=0, timeout=HTTP_TIMEOUT
    )


def messages(text: str = "Hello") -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def upstream_model(alias: str) -> str:
    """The upstream id the packaged profile gives a catalogue model."""
    return str(load_profile().resolve_model(alias)["upstream_id"])


# ── plain completions ──


def test_non_streamed_completion_is_the_mocks_answer(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(ANSWER, usage=USAGE))
    completion = client(server).chat.completions.create(model="GLM-4.5", messages=messages("Hi"))
    assert completion.choices[0].message.content == A
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "GLM-4.5"
    assert completion.usage is not None
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == USAGE
    sent = last_completion(mock).json
    assert sent["model"] == upstream_model("GLM-4.5")
    assert sent["signature_prompt"] == "Hi"


def test_streamed_completion_is_the_mocks_answer(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(ANSWER, usage=USAGE))
    chunks = list(
        client(server).chat.completions.create(model="GLM-4.5", messages=messages(), stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == A
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert all(c.usage is None for c in chunks)  # no include_usage, no usage chunk


def test_include_usage_adds_a_final_usage_chunk(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(ANSWER, usage=USAGE))
    chunks = list(
        client(server).chat.completions.create(
            model="GLM-4.5",
            messages=messages(),
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        USAGE
    )
    assert all(c.usage is None for c in chunks[:-1])


def test_raw_stream_has_one_id_and_exactly_one_done(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(ANSWER))
    response = request(
        server, "POST", "/v1/chat/completions", chat_body(stream=True), headers=bearer()
    )
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = response.sse_data
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1
    chunks = [json.loads(d) for d in data[:-1]]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == A


def test_default_stream_true_streams_a_request_without_stream(
    lenient_server: ServerProcess, mock: MockUpstream
):
    mock.enqueue(Reply.answer(ANSWER))
    response = request(lenient_server, "POST", "/v1/chat/completions", chat_body())
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.sse_data[-1] == "[DONE]"
    # An explicit "stream": false still wins over DEFAULT_STREAM.
    mock.enqueue(Reply.answer(ANSWER))
    response = request(lenient_server, "POST", "/v1/chat/completions", chat_body(stream=False))
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["choices"][0]["message"]["content"] == A


def test_without_default_stream_a_request_without_stream_gets_json(
    server: ServerProcess, mock: MockUpstream
):
    mock.enqueue(Reply.answer(ANSWER))
    response = request(server, "POST", "/v1/chat/completions", chat_body(), headers=bearer())
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["object"] == "chat.completion"


# ── request parameters reach the upstream ──


def test_sampling_parameters_reach_the_upstream(server: ServerProcess, mock: MockUpstream):
    client(server).chat.completions.create(
        model="GLM-4.5",
        messages=messages(),
        temperature=0.3,
        top_p=0.7,
        max_tokens=123,
        stop="END",
    )
    params = last_completion(mock).json["params"]
    assert params["temperature"] == 0.3
    assert params["top_p"] == 0.7
    assert params["max_tokens"] == 123
    assert params["stop"] == ["END"]  # a single stop string goes upstream as a list

    client(server).chat.completions.create(
        model="GLM-4.5", messages=messages(), stop=["a", "b"], max_completion_tokens=7
    )
    params = last_completion(mock).json["params"]
    assert params["stop"] == ["a", "b"]
    assert params["max_tokens"] == 7


@pytest.mark.parametrize(
    ("extra", "enabled"),
    [
        ({"enable_thinking": True}, True),
        ({"enable_thinking": False}, False),
        ({"reasoning": True}, True),
        ({"reasoning_effort": "high"}, True),
        ({"reasoning_effort": "none"}, False),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else str(value),
)
def test_thinking_switches_reach_the_upstream(
    server: ServerProcess, mock: MockUpstream, extra: dict[str, Any], enabled: bool
):
    response = request(server, "POST", "/v1/chat/completions", chat_body(**extra), headers=bearer())
    assert response.status == 200, response.body
    assert last_completion(mock).json["features"]["enable_thinking"] is enabled


# ── think modes ──


def rendered(mode: str, content: str, reasoning: str) -> None:
    """Checks (content, reasoning_content) against toolcall-and-think.md B2.2 for R and A."""
    if mode == "reasoning":
        assert (content, reasoning) == (A, R)
        return
    assert reasoning == ""
    if mode == "think":
        assert content == "<think>\n" + R + "\n</think>\n\n" + A
    elif mode in ("quote", "strip"):
        assert content == "> " + R.replace("\n", "\n> ") + "\n\n" + A
    elif mode == "details":
        pattern = (
            re.escape('<details type="reasoning" open><div>\n\n' + R + "\n\n</div>")
            + r"(<summary>Thought for \d+ seconds</summary>)?"
            + re.escape("</details>\n\n" + A)
        )
        assert re.fullmatch(pattern, content), content
    elif mode == "drop":
        assert content == A
    elif mode == "raw":
        # The upstream's own <details> block (quoted reasoning), closed, then the answer.
        assert content.startswith("<details") and content.endswith("</details>\n" + A)
        body = content[: -len("</details>\n" + A)]
        for line in R.split("\n"):
            assert f"> {line}" in body
    else:
        raise AssertionError(f"no expectation for think mode {mode}")


def collect(chunks: Any) -> tuple[str, str]:
    content = reasoning = ""
    for chunk in chunks:
        if chunk.choices:
            delta = chunk.choices[0].delta
            content += delta.content or ""
            reasoning += getattr(delta, "reasoning_content", None) or ""
    return content, reasoning


def test_default_think_mode_gives_reasoning_content(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    message = (
        client(server)
        .chat.completions.create(
            model="GLM-4.5", messages=messages(), extra_body={"enable_thinking": True}
        )
        .choices[0]
        .message
    )
    rendered("reasoning", message.content or "", getattr(message, "reasoning_content", ""))


def test_think_tags_mode_setting_is_the_default(lenient_server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    response = request(lenient_server, "POST", "/v1/chat/completions", chat_body(stream=False))
    message = response.json()["choices"][0]["message"]
    rendered(LENIENT_THINK_MODE, message["content"], message.get("reasoning_content") or "")
    # A per-request override still wins over THINK_TAGS_MODE.
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    response = request(
        lenient_server,
        "POST",
        "/v1/chat/completions",
        chat_body(stream=False),
        headers={"X-Think-Mode": "reasoning"},
    )
    message = response.json()["choices"][0]["message"]
    rendered("reasoning", message["content"], message.get("reasoning_content") or "")


@pytest.mark.parametrize("mode", THINK_MODES)
def test_think_mode_header_streamed(server: ServerProcess, mock: MockUpstream, mode: str):
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    chunks = client(server).chat.completions.create(
        model="GLM-4.5",
        messages=messages(),
        stream=True,
        extra_headers={"X-Think-Mode": mode},
    )
    rendered(mode, *collect(chunks))


@pytest.mark.parametrize("mode", THINK_MODES)
def test_think_mode_body_field_not_streamed(server: ServerProcess, mock: MockUpstream, mode: str):
    mock.enqueue(Reply.thinking_answer(REASONING, ANSWER))
    completion = client(server).chat.completions.create(
        model="GLM-4.5", messages=messages(), extra_body={"think_mode": mode}
    )
    message = completion.choices[0].message
    rendered(mode, message.content or "", getattr(message, "reasoning_content", None) or "")
    assert "think_mode" not in last_completion(mock).json  # the switch is ours, not upstream's


def test_an_unknown_think_mode_is_a_400(server: ServerProcess, mock: MockUpstream):
    before = len(mock.completions)
    with pytest.raises(openai.BadRequestError) as raised:
        client(server).chat.completions.create(
            model="GLM-4.5", messages=messages(), extra_headers={"X-Think-Mode": "loud"}
        )
    assert "loud" in str(raised.value)
    assert len(mock.completions) == before


# ── tools ──


def test_tool_call_not_streamed(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}))
    completion = client(server).chat.completions.create(
        model="GLM-4.5", messages=messages("Weather in Paris?"), tools=WEATHER_TOOLS
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert calls[0].type == "function" and calls[0].id


def test_tool_calls_streamed(server: ServerProcess, mock: MockUpstream):
    wanted = [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Lyon"})]
    mock.enqueue(Reply.tool_calls(wanted))
    chunks = list(
        client(server).chat.completions.create(
            model="GLM-4.5",
            messages=messages("Weather in Paris and Lyon?"),
            tools=WEATHER_TOOLS,
            stream=True,
        )
    )
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            assert call.index is not None
            entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
            if call.function and call.function.name:
                entry["name"] += call.function.name
            if call.function and call.function.arguments:
                entry["arguments"] += call.function.arguments
    assert sorted(calls) == [0, 1]
    assert [(calls[i]["name"], json.loads(calls[i]["arguments"])) for i in (0, 1)] == wanted
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


# ── images ──


IMAGE_MESSAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    }
]


def test_an_image_is_uploaded_with_a_user_token(server: ServerProcess, mock: MockUpstream):
    files_before = len(mock.files)
    mock.enqueue(Reply.answer(ANSWER))
    completion = client(server).chat.completions.create(
        model="GLM-4.5V",
        messages=IMAGE_MESSAGE,  # type: ignore[arg-type]
    )
    assert completion.choices[0].message.content == A
    assert len(mock.files) == files_before + 1
    uploaded = mock.files[-1]
    assert uploaded.data == base64.b64decode(PNG)
    assert last_completion(mock).json["files"][0]["id"] == uploaded.id


def test_an_image_as_guest_is_a_clear_400(lenient_server: ServerProcess, mock: MockUpstream):
    files_before = len(mock.files)
    response = request(
        lenient_server,
        "POST",
        "/v1/chat/completions",
        {"model": "GLM-4.5V", "messages": IMAGE_MESSAGE, "stream": False},
    )
    assert response.status == 400
    message = response.json()["error"]["message"]
    assert "user token" in message and "guest" in message
    assert len(mock.files) == files_before


# ── models ──


def test_claude_names_are_not_openai_model_names(server: ServerProcess, mock: MockUpstream):
    """Claude names map on the Anthropic routes (see test_server_anthropic); on the OpenAI route
    an unknown name is the documented 404 (ZAIPROXY_UNKNOWN_MODEL=reject)."""
    with pytest.raises(openai.NotFoundError) as raised:
        client(server).chat.completions.create(model="claude-sonnet-4-5", messages=messages())
    assert raised.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_listed_models_are_accepted(server: ServerProcess, mock: MockUpstream):
    listed = [m.id for m in client(server).models.list()]
    assert {"GLM-4.5", "GLM-4.6"} <= set(listed)
    mock.enqueue(Reply.answer(ANSWER))
    completion = client(server).chat.completions.create(model="GLM-4.6", messages=messages())
    assert completion.model == "GLM-4.6"
    assert last_completion(mock).json["model"] == upstream_model("GLM-4.6")


# ── the older proxies' README examples, verbatim ──


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_example(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(["你好", "！"]))
    result = subprocess.run(
        [
            "curl",
            "-X",
            "POST",
            f"http://127.0.0.1:{server.port}/v1/chat/completions",
            "-H",
            "Content-Type: application/json",
            "-H",
            "Authorization: Bearer sk-your-api-key",
            "-d",
            '{"model":"GLM-4.5","messages":[{"role":"user","content":"你好"}],"stream":true}',
        ],
        capture_output=True,
        timeout=HTTP_TIMEOUT,
        check=True,
    )
    data = [
        line[len("data:") :].strip()
        for line in result.stdout.decode().splitlines()
        if line.startswith("data:")
    ]
    assert data[-1] == "[DONE]"
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content") or "" for d in data[:-1])
    assert text == "你好！"
    assert last_completion(mock).json["signature_prompt"] == "你好"


def test_readme_python_sdk_example(server: ServerProcess, mock: MockUpstream):
    mock.enqueue(Reply.answer(["Hi", "!"]))
    mock.enqueue(Reply.answer(["Hi", " again"]))
    # As the older READMEs show it, on this test's port.
    client = openai.OpenAI(
        base_url=f"http://localhost:{server.port}/v1",
        api_key="sk-your-api-key",
    )
    response = client.chat.completions.create(
        model="GLM-4.5",
        messages=[{"role": "user", "content": "你好"}],
    )
    assert response.choices[0].message.content == "Hi!"
    stream = client.chat.completions.create(
        model="GLM-4.5",
        messages=[{"role": "user", "content": "你好"}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hi again"
