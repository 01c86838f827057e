"""Bad upstream input gives a defined error or a defined result, in the client's error shape."""

from __future__ import annotations

import json

import pytest

from zaiproxy import core

from oracle import parse

OUTPUTS = ["openai-sse", "openai-json", "anthropic-sse", "anthropic-json"]


def event(data: dict) -> bytes:
    # UTF-8 without ASCII escaping, as upstream sends it (upstream-protocol.md §4.9).
    envelope = {"type": "chat:completion", "data": data}
    return b"data: " + json.dumps(envelope, ensure_ascii=False).encode() + b"\n\n"


def raw_answer(json_string_body: bytes) -> bytes:
    """An answer event whose delta_content is given as raw bytes inside the JSON quotes."""
    return (
        b'data: {"type":"chat:completion","data":{"phase":"answer","delta_content":"'
        + json_string_body
        + b'"}}\n\n'
    )


def answer(text: str) -> bytes:
    return event({"phase": "answer", "delta_content": text})


DONE = event({"phase": "done", "done": True})


def run(stream: bytes, output: str = "openai-sse", **options) -> tuple[core.Pipeline, bytes]:
    pipeline = core.Pipeline(output=output, **options)
    return pipeline, pipeline.feed(stream) + pipeline.finish()


@pytest.mark.parametrize("output", OUTPUTS)
def test_empty_stream_is_an_empty_answer(output: str) -> None:
    pipeline, out = run(b"", output)
    result = parse(output, out)
    assert (result.content, result.reasoning, result.error) == ("", "", None)
    assert result.finish_reason == "stop" and pipeline.finish_reason == "stop"


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(
    "bad",
    [
        b'data: {"type":"chat:completion","data":{"delta_content":"trunc\n\n',
        b"data: this is not json\n\n",
        b"data: {]\n\n",
    ],
    ids=["truncated-json", "not-json", "syntax-error"],
)
def test_undecodable_event_fails_the_response(output: str, bad: bytes) -> None:
    pipeline, out = run(answer("before ") + bad + answer("after") + DONE, output)
    result = parse(output, out)
    assert result.error is not None
    assert pipeline.error["origin"] == "protocol"
    assert "after" not in result.content


def test_truncated_stream_without_done_ends_normally() -> None:
    # An EOF is one of the upstream's three end signals (§4.1).
    pipeline, out = run(answer("partial"))
    result = parse("openai-sse", out)
    assert result.content == "partial" and result.finish_reason == "stop"


def test_unterminated_last_line_is_not_half_read() -> None:
    pipeline, out = run(answer("kept") + b'data: {"type":"chat:completion","data":{"delta_con')
    assert parse("openai-sse", out).content == "kept"
    assert pipeline.error is None


def test_invalid_utf8_becomes_replacement_characters() -> None:
    pipeline, out = run(raw_answer(b"a\xff\xc3b") + DONE)
    result = parse("openai-sse", out)  # the oracle decodes the whole output as strict UTF-8
    assert result.content == "a\ufffd\ufffdb"


def test_lone_surrogate_escapes_become_replacement_characters() -> None:
    pipeline, out = run(answer("x") + raw_answer(b"\\udc00y"))
    assert parse("openai-sse", out).content == "x\ufffdy"


def test_surrogate_pair_split_between_events_is_joined() -> None:
    first = raw_answer(b"smile \\ud83d")
    second = raw_answer(b"\\ude00!")
    pipeline, out = run(first + second + DONE)
    assert parse("openai-sse", out).content == "smile 😀!"


def test_edit_index_beyond_the_document_appends() -> None:
    stream = answer("abc") + event({"phase": "other", "edit_index": 999, "edit_content": "def"})
    pipeline, out = run(stream + DONE)
    assert parse("openai-sse", out).content == "abcdef"


def test_edit_inside_a_surrogate_pair_never_splits_it() -> None:
    # "😀" is two UTF-16 units; index 1 points between them and must not cut the character.
    stream = answer("😀") + event({"phase": "other", "edit_index": 1, "edit_content": "x"})
    pipeline, out = run(stream + DONE)
    result = parse("openai-sse", out)
    assert "\ufffd" not in result.content
    assert result.content.startswith("😀")


@pytest.mark.parametrize("output", ["openai-sse", "anthropic-sse"])
def test_ten_megabyte_line_within_the_cap(output: str) -> None:
    big = "字" * (10 * 1024 * 1024 // 3)
    pipeline, out = run(answer(big) + DONE, output, max_line_bytes=16 << 20)
    assert parse(output, out).content == big


@pytest.mark.parametrize("output", OUTPUTS)
def test_line_over_the_cap_fails_cleanly(output: str) -> None:
    pipeline = core.Pipeline(output=output, max_line_bytes=1 << 20)
    out = pipeline.feed(answer("ok "))
    line = b"data: " + b"x" * (10 * 1024 * 1024)
    for start in range(0, len(line), 65536):  # the way a socket would deliver it
        out += pipeline.feed(line[start : start + 65536])
    out += pipeline.feed(b"\n\n" + answer("ignored") + DONE) + pipeline.finish()
    result = parse(output, out)
    assert result.error is not None and pipeline.error["origin"] == "protocol"
    assert "ignored" not in result.content


def test_feed_after_finish_is_ignored_and_finish_is_idempotent() -> None:
    pipeline = core.Pipeline()
    out = pipeline.feed(answer("a") + DONE) + pipeline.finish()
    assert pipeline.finish() == b""
    assert pipeline.feed(answer("late")) == b""
    assert parse("openai-sse", out).content == "a"


def test_str_is_refused() -> None:
    with pytest.raises(TypeError):
        core.Pipeline().feed("data: text")  # type: ignore[arg-type]


def test_unknown_options_are_refused() -> None:
    with pytest.raises(ValueError, match="think mode"):
        core.Pipeline(think="loud")
    with pytest.raises(ValueError, match="output"):
        core.Pipeline(output="xml")
