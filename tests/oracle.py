"""Reads the bytes the core writes back into plain values, independently of the C++ code.

Each parser also checks the structural rules of its format (one id, one role chunk, one [DONE]
last, balanced Anthropic blocks, one id per tool call) and raises AssertionError when one is
broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


@dataclass
class Result:
    """What a client ends up with, whatever the format."""

    content: str = ""
    reasoning: str = ""
    finish_reason: str | None = None  # OpenAI names
    usage: tuple[int, int, int] | None = None
    error: dict[str, Any] | None = None
    frames: list[Any] = field(default_factory=list)
    # (name, arguments) in call order; arguments as normalise_arguments() writes them, so every
    # format gives the same text for the same call.
    tool_calls: list[tuple[str, str]] = field(default_factory=list)


def normalise_arguments(arguments: str) -> str:
    """Compact JSON text with UTF-8 kept; the arguments must be a JSON object."""
    value = json.loads(arguments)
    assert isinstance(value, dict), f"tool call arguments are not an object: {arguments!r}"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class OpenAiToolCalls:
    """Accumulates `delta.tool_calls` by index, as the OpenAI SDKs do.

    The first entry of an index starts the call with its id and name; later entries of that
    index only add argument fragments (the SDKs would concatenate a repeated id).
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

    def add(self, entries: list[dict[str, Any]]) -> None:
        assert entries, "empty tool_calls delta"
        for entry in entries:
            index = entry["index"]
            function = entry.get("function", {})
            if index == len(self.calls):
                assert entry.get("id"), f"tool call {index} starts without an id"
                assert entry.get("type") == "function" and function.get("name")
                ids = [call["id"] for call in self.calls]
                assert entry["id"] not in ids, "two tool calls share an id"
                self.calls.append({"id": entry["id"], "name": function["name"], "arguments": ""})
            else:
                assert index < len(self.calls), f"tool call index {index} skips one"
                assert "id" not in entry, f"a second id for tool call {index}"
                assert "name" not in function, f"a second name for tool call {index}"
            self.calls[index]["arguments"] += function.get("arguments", "")

    def result(self) -> list[tuple[str, str]]:
        return [(call["name"], normalise_arguments(call["arguments"])) for call in self.calls]


def sse_frames(data: bytes) -> list[tuple[str, str]]:
    """(event, data) for every frame; the core always ends a frame with a blank line."""
    text = data.decode("utf-8")
    assert text == "" or text.endswith("\n\n"), f"output does not end with a blank line: {text!r}"
    frames = []
    for block in text.split("\n\n")[:-1]:
        event, payload = "", []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                payload.append(value)
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        frames.append((event, "\n".join(payload)))
    return frames


def parse_openai_sse(data: bytes) -> Result:
    result = Result()
    frames = sse_frames(data)
    assert frames and frames[-1] == ("", "[DONE]"), "the stream must end with one [DONE]"
    assert [f for f in frames if f[1] == "[DONE]"] == [("", "[DONE]")], "more than one [DONE]"
    ids, role_chunks, finish_chunks = set(), 0, 0
    tool_calls = OpenAiToolCalls()
    content: list[str] = []  # joined at the end: += on an attribute is quadratic in CPython
    reasoning: list[str] = []
    for _, payload in frames[:-1]:
        chunk = json.loads(payload)
        result.frames.append(chunk)
        if "error" in chunk:
            result.error = chunk["error"]
            continue
        assert chunk["object"] == "chat.completion.chunk"
        ids.add(chunk["id"])
        if not chunk["choices"]:
            u = chunk["usage"]
            result.usage = (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"])
            continue
        choice = chunk["choices"][0]
        delta = choice["delta"]
        if "role" in delta:
            role_chunks += 1
            assert delta == {"role": "assistant", "content": ""}
            assert role_chunks == 1 and len(result.frames) == 1, "role chunk must come first, once"
        else:
            for key in ("content", "reasoning_content"):
                if key in delta:
                    assert delta[key], "empty text chunk"
            content.append(delta.get("content", ""))
            reasoning.append(delta.get("reasoning_content", ""))
            if "tool_calls" in delta:
                tool_calls.add(delta["tool_calls"])
        if choice["finish_reason"] is not None:
            finish_chunks += 1
            result.finish_reason = choice["finish_reason"]
    assert len(ids) <= 1, f"chunk ids differ: {ids}"
    result.content, result.reasoning = "".join(content), "".join(reasoning)
    assert finish_chunks == (0 if result.error else 1)
    result.tool_calls = tool_calls.result()
    return result


def parse_openai_json(data: bytes) -> Result:
    body = json.loads(data)
    result = Result(frames=[body])
    if "error" in body:
        result.error = body["error"]
        return result
    assert body["object"] == "chat.completion"
    message = body["choices"][0]["message"]
    calls = message.get("tool_calls", [])
    assert message["content"] is not None or calls, "content is null without tool calls"
    assert len({call["id"] for call in calls}) == len(calls), "two tool calls share an id"
    result.tool_calls = [
        (call["function"]["name"], normalise_arguments(call["function"]["arguments"]))
        for call in calls
    ]
    result.content = message["content"] or ""
    result.reasoning = message.get("reasoning_content", "")
    result.finish_reason = body["choices"][0]["finish_reason"]
    u = body["usage"]
    result.usage = (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"])
    return result


def parse_anthropic_sse(data: bytes) -> Result:
    result = Result()
    frames = sse_frames(data)
    open_block: tuple[int, str] | None = None
    next_index = 0
    tool_name, partial_json = "", ""  # of the open tool_use block
    content: list[str] = []  # joined at the end: += on an attribute is quadratic in CPython
    reasoning: list[str] = []
    for event, payload in frames:
        body = json.loads(payload)
        assert body["type"] == event, f"event {event} carries type {body['type']}"
        result.frames.append(body)
        if event == "error":
            result.error = body["error"]
            assert body is result.frames[-1]
        elif event == "content_block_start":
            assert open_block is None and body["index"] == next_index
            block = body["content_block"]
            open_block = (body["index"], block["type"])
            next_index += 1
            if block["type"] == "tool_use":
                assert block["id"] and block["name"] and block["input"] == {}
                tool_name, partial_json = block["name"], ""
        elif event == "content_block_delta":
            assert open_block is not None and body["index"] == open_block[0]
            delta = body["delta"]
            if delta["type"] == "thinking_delta":
                assert open_block[1] == "thinking"
                reasoning.append(delta["thinking"])
            elif delta["type"] == "input_json_delta":
                assert open_block[1] == "tool_use"
                partial_json += delta["partial_json"]
            else:
                assert delta["type"] == "text_delta" and open_block[1] == "text"
                content.append(delta["text"])
        elif event == "content_block_stop":
            assert open_block is not None and body["index"] == open_block[0]
            if open_block[1] == "tool_use":  # the SDKs keep input {} when no delta came
                result.tool_calls.append((tool_name, normalise_arguments(partial_json or "{}")))
            open_block = None
        elif event == "message_delta":
            assert open_block is None
            stop = body["delta"]["stop_reason"]
            result.finish_reason = {v: k for k, v in FINISH_TO_STOP.items()}[stop]
            u = body["usage"]
            result.usage = (u.get("input_tokens", 0), u["output_tokens"], None)
    result.content, result.reasoning = "".join(content), "".join(reasoning)
    names = [e for e, _ in frames]
    if result.error is None:
        assert names[:2] == ["message_start", "ping"] and names[-1] == "message_stop"
    else:
        assert names[-1] == "error", "nothing may follow an error"
    return result


def parse_anthropic_json(data: bytes) -> Result:
    body = json.loads(data)
    result = Result(frames=[body])
    if body["type"] == "error":
        result.error = body["error"]
        return result
    assert body["type"] == "message" and body["role"] == "assistant"
    for block in body["content"]:
        if block["type"] == "thinking":
            result.reasoning += block["thinking"]
        elif block["type"] == "text":
            result.content += block["text"]
        elif block["type"] == "tool_use":
            assert block["id"] and block["name"] and isinstance(block["input"], dict)
            result.tool_calls.append(
                (block["name"], normalise_arguments(json.dumps(block["input"])))
            )
    result.finish_reason = {v: k for k, v in FINISH_TO_STOP.items()}[body["stop_reason"]]
    u = body["usage"]
    result.usage = (u["input_tokens"], u["output_tokens"], None)
    return result


PARSERS = {
    "openai-sse": parse_openai_sse,
    "openai-json": parse_openai_json,
    "anthropic-sse": parse_anthropic_sse,
    "anthropic-json": parse_anthropic_json,
}


def parse(output: str, data: bytes) -> Result:
    return PARSERS[output](data)
