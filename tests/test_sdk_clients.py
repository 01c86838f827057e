"""The real openai and anthropic SDKs read what the core writes, over a loopback socket.

A minimal HTTP server replays a golden upstream stream (named by the user message) through
core.Pipeline, writing each piece of output as soon as the pipeline returns it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
import openai
import pytest

from zaiproxy import core

from conftest import golden_bytes

READ_SIZE = 37  # small, odd-sized upstream reads so events straddle them


class ReplayHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        dialect = "anthropic" if self.path == "/v1/messages" else "openai"
        streaming = bool(body.get("stream"))
        pipeline = core.Pipeline(
            output=f"{dialect}-{'sse' if streaming else 'json'}",
            model=body["model"],
            include_usage=bool(body.get("stream_options", {}).get("include_usage")),
        )
        stream = golden_bytes(body["messages"][-1]["content"])
        if streaming:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for start in range(0, len(stream), READ_SIZE):
                self.wfile.write(pipeline.feed(stream[start : start + READ_SIZE]))
                self.wfile.flush()
            self.wfile.write(pipeline.finish())
            return
        out = pipeline.feed(stream) + pipeline.finish()
        error = pipeline.error
        self.send_response(error["http_status"] if error else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ReplayHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


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
