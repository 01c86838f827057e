"""The real openai and anthropic SDKs read what the core writes, over a loopback socket.

The replay server runs a golden upstream stream, named by the user message, through core.Pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from conftest import golden_bytes
from replay_server import replay_server


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with replay_server(lambda request, *_: golden_bytes(request["messages"][-1]["content"])) as url:
        yield url


@pytest.fixture
def openai_client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)


@pytest.fixture
def anthropic_client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)


REASONING = "用户在打招呼，我应该礼貌地回应。\n\n简短即可。"
ANSWER = "你好！很高兴见到你。"


def test_openai_stream(openai_client: openai.OpenAI) -> None:
    chunks = list(
        openai_client.chat.completions.create(
            model="GLM-4.5",
            messages=[{"role": "user", "content": "b_thinking_answer"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert "".join(getattr(d, "reasoning_content", None) or "" for d in deltas) == REASONING
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 37


def test_openai_non_stream(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": "b_thinking_answer"}]
    )
    message = completion.choices[0].message
    assert message.content == ANSWER
    assert getattr(message, "reasoning_content", None) == REASONING
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    assert completion.model == "GLM-4.5"


def test_openai_stream_with_an_upstream_error(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError, match="您的客户端校验失败"):
        list(
            openai_client.chat.completions.create(
                model="GLM-4.5", messages=[{"role": "user", "content": "e1_error_426"}], stream=True
            )
        )


def test_openai_non_stream_upstream_error_has_a_status(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client.chat.completions.create(
            model="GLM-4.5", messages=[{"role": "user", "content": "e2_error_403_model"}]
        )
    assert caught.value.status_code == 403
    assert "Model not available" in str(caught.value)


def test_anthropic_stream(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model="GLM-4.5",
        max_tokens=1024,
        messages=[{"role": "user", "content": "b_thinking_answer"}],
    ) as stream:
        text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert text == ANSWER
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == REASONING
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 25


def test_anthropic_non_stream(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model="GLM-4.5", max_tokens=1024, messages=[{"role": "user", "content": "a_plain_answer"}]
    )
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "你好！有什么可以帮你的吗？"
    assert message.id.startswith("msg_") and message.model == "GLM-4.5"


def test_anthropic_stream_with_an_upstream_error(anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIError, match="Please refresh the page"):  # noqa: SIM117
        with anthropic_client.messages.stream(
            model="GLM-4.5",
            max_tokens=1024,
            messages=[{"role": "user", "content": "e3_error_captcha"}],
        ) as stream:
            stream.get_final_message()
