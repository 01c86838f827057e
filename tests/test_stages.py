"""Each stage of the core on its own, as a notebook user drives it."""

from __future__ import annotations

import json

import pytest

from zaiproxy import core

from conftest import golden_bytes, stepping_clock
from oracle import parse_anthropic_json, parse_openai_json, parse_openai_sse


def test_framer_splits_events_and_keeps_data_bytes() -> None:
    framer = core.SseFramer()
    events = framer.feed(b"\xef\xbb\xbf: comment\r\nevent: x\r\nid: 7\r\ndata: a\r\ndata:b\r\n\r")
    events += framer.feed(b"\ndata: [DONE]\n") + framer.finish()
    assert [(e.event, e.data, e.id) for e in events] == [("x", b"a\nb", "7"), ("", b"[DONE]", "7")]


def test_framer_reports_an_oversized_line() -> None:
    framer = core.SseFramer(max_line_bytes=16)
    with pytest.raises(ValueError, match="16"):
        framer.feed(b"data: " + b"x" * 64)


def test_decoder_keeps_the_browser_document() -> None:
    decoder = core.ZaiDecoder()
    kinds = []
    for sse in core.SseFramer().feed(golden_bytes("b_thinking_answer")):
        kinds += [(e.kind, e.phase) for e in decoder.feed(sse.data)]
    assert decoder.ended
    assert decoder.document == (
        '<details type="reasoning" done="true">\n> \n> \n> 用户在打招呼，我应该礼貌地回应。\n> \n> '
        "简短即可。\n</details>\n你好！很高兴见到你。"
    )
    assert kinds[0] == ("thinking", "thinking")
    assert ("snapshot", "answer") in kinds
    assert kinds[-1] == ("end", "done")


def test_decoder_accepts_text_payloads_and_reports_tool_blocks() -> None:
    decoder = core.ZaiDecoder()
    events = []
    for line in golden_bytes("c_glm_block_tool").decode().split("\n\n"):
        if line:
            events += decoder.feed(line.removeprefix("data: "))
    block = next(e for e in events if e.kind == "tool_block")
    payload = json.loads(block.text[block.text.index(">") + 1 : block.text.rindex("</glm_block>")])
    assert payload["data"]["metadata"]["arguments"] == '{"url":"https://www.bilibili.com"}'
    usage = next(e for e in events if e.kind == "usage").usage
    assert usage == {"prompt_tokens": 310, "completion_tokens": 41, "total_tokens": 351}


def test_openai_chunk_decoder() -> None:
    decoder = core.OpenAiChunkDecoder()
    events = decoder.feed(b'{"choices":[{"delta":{"reasoning_content":"hm"}}]}')
    events += decoder.feed(b'{"choices":[{"delta":{"content":"ok"},"finish_reason":"length"}]}')
    events += decoder.feed(b"[DONE]")
    assert [(e.kind, e.text) for e in events] == [
        ("reasoning", "hm"),
        ("answer", "ok"),
        ("end", ""),
    ]
    assert events[-1].finish_reason == "length"


def test_think_layer_b01_in_think_mode() -> None:
    # toolcall-and-think.md B01, rendered in mode `think` (B2.3 table).
    layer = core.ThinkLayer(mode="think", clock=stepping_clock(0.0, 3.0))
    opener = '<details type="reasoning" done="false" view="" last_tool_call_name="">\n'
    events = [
        core.SourceEvent("thinking", opener + "<summary>Thinking…</summary>\n> ", "thinking"),
        core.SourceEvent("thinking", "The user says hi.", "thinking"),
        core.SourceEvent("thinking", "\n> \n> I should greet", "thinking"),
        core.SourceEvent("thinking", " back.", "thinking"),
        core.SourceEvent(
            "snapshot",
            'true" duration="3" view="" last_tool_call_name="">\n<summary>Thought for 3 seconds'
            "</summary>\n> The user says hi.\n> \n> I should greet back.\n</details>\nHello",
            "answer",
        ),
        core.SourceEvent("answer", "! How can", "answer"),
        core.SourceEvent("answer", " I help?", "answer"),
        core.SourceEvent("end"),
    ]
    out = [r for e in events for r in layer.feed(e)]
    text = "".join(r.text for r in out if r.kind == "text")
    assert text == (
        "<think>\nThe user says hi.\n\nI should greet back.\n</think>\n\nHello! How can I help?"
    )
    assert all(r.rendered_reasoning for r in out if r.kind == "text" and "think>" in r.text)
    assert out[-1].kind == "finish" and out[-1].finish_reason == "stop"
    assert layer.finish() == []


def test_think_layer_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="think mode"):
        core.ThinkLayer(mode="whisper")
    assert core.ThinkLayer(mode="strip") is not None  # the hmjz100 name of `quote`


def test_encoders_and_aggregator() -> None:
    events = [
        core.ResponseEvent("reasoning", "why"),
        core.ResponseEvent("text", "Hi"),
        core.ResponseEvent(
            "usage", usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        ),
        core.ResponseEvent("finish", finish_reason="length"),
    ]
    encoder = core.OpenAiEncoder("GLM-4.5", id="chatcmpl-x", created=1, include_usage=True)
    streamed = parse_openai_sse(b"".join(encoder.feed(e) for e in events) + encoder.finish())
    assert (streamed.reasoning, streamed.content, streamed.finish_reason) == ("why", "Hi", "length")
    assert streamed.usage == (3, 2, 5)
    assert encoder.id == "chatcmpl-x"

    openai = core.Aggregator("openai", "GLM-4.5")
    for e in events:
        assert openai.feed(e) == b""
    whole = parse_openai_json(openai.finish())
    assert (whole.reasoning, whole.content, whole.finish_reason) == ("why", "Hi", "length")
    assert openai.id.startswith("chatcmpl-")

    anthropic = core.Aggregator("anthropic", "GLM-4.5")
    for e in events:
        anthropic.feed(e)
    message = parse_anthropic_json(anthropic.finish())
    assert (message.reasoning, message.content, message.finish_reason) == ("why", "Hi", "length")
    assert core.AnthropicEncoder("GLM-4.5").id.startswith("msg_")


def test_pipeline_accepts_any_bytes_like() -> None:
    stream = golden_bytes("a_plain_answer")
    pipeline = core.Pipeline(output="openai-json")
    out = pipeline.feed(bytearray(stream[:10])) + pipeline.feed(memoryview(stream)[10:])
    assert parse_openai_json(out + pipeline.finish()).content == "你好！有什么可以帮你的吗？"


def test_tool_detector_alone() -> None:
    trigger = "<Function_AB1c_Start/>"
    tools = [{"name": "w", "input_schema": {"type": "object"}}]  # Anthropic shape
    detector = core.ToolDetector(tools, trigger=trigger)
    block = (
        "<function_calls>\n<function_call>\n<tool>w</tool>\n"
        '<args_json><![CDATA[{"html":"1"}]]></args_json>\n</function_call>\n</function_calls>'
    )
    out = detector.feed(core.ResponseEvent("text", "Hi.\n" + trigger[:9]))
    out += detector.feed(core.ResponseEvent("text", trigger[9:] + "\n" + block))
    out += detector.feed(core.ResponseEvent("finish"))
    assert [(e.kind, e.text) for e in out if e.kind == "text"] == [("text", "Hi.")]
    calls = [(e.tool_name, e.tool_arguments) for e in out if e.kind == "tool_call"]
    assert calls == [("w", '{"html":"1"}')]
    assert out[-1].kind == "finish" and out[-1].finish_reason == "tool_calls"
