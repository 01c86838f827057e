"""Every example stream of upstream-protocol.md §4.9 through the whole Pipeline, in every output
format and think mode, fed whole and split at every byte."""

from __future__ import annotations

import random
from typing import Any

import pytest

from zaiproxy import core

from conftest import EXPECTED, golden_bytes, stepping_clock
from oracle import Result, parse

OUTPUTS = ["openai-sse", "openai-json", "anthropic-sse", "anthropic-json"]
MODES = ["reasoning", "think", "quote", "details", "drop", "raw"]
CLOCK_SECONDS = 2  # the stepping clock below advances two seconds during reasoning


def rendered(mode: str, reasoning: str, answer: str, raw_thinking: str) -> tuple[str, str]:
    """(content, reasoning_content) per the renderer table of toolcall-and-think.md B2.2."""
    if not reasoning:
        return answer, ""
    n = CLOCK_SECONDS
    if mode == "reasoning":
        return answer, reasoning
    if mode == "think":
        return f"<think>\n{reasoning}\n</think>\n\n{answer}", ""
    if mode == "quote":
        return "> " + reasoning.replace("\n", "\n> ") + "\n\n" + answer, ""
    if mode == "details":
        return (
            '<details type="reasoning" open><div>\n\n'
            + reasoning
            + f"\n\n</div><summary>Thought for {n} seconds</summary></details>\n\n"
            + answer
        ), ""
    if mode == "drop":
        return answer, ""
    assert mode == "raw"
    closing = "" if raw_thinking.endswith("\n") else "\n"
    return raw_thinking + closing + "</details>\n" + answer, ""


def run(stream: bytes, output: str, mode: str, splits: list[int] | None = None) -> Any:
    pipeline = core.Pipeline(
        output=output,
        think=mode,
        model="GLM-4.5",
        include_usage=True,
        id="chatcmpl-golden" if output.startswith("openai") else "msg_golden",
        created=1_773_300_000,
        clock=stepping_clock(100.0, 100.0 + CLOCK_SECONDS),
    )
    out = bytearray()
    start = 0
    for cut in [*(splits or []), len(stream)]:
        out += pipeline.feed(stream[start:cut])
        start = cut
    out += pipeline.finish()
    return pipeline, bytes(out)


def check(name: str, output: str, mode: str, result: Result, pipeline: Any) -> None:
    expected = EXPECTED[name]
    if expected["error"] is not None:
        assert result.error is not None, "the upstream error must reach the client"
        assert expected["error"]["message"] in result.error["message"]
        assert pipeline.error["code"] == expected["error"]["code"]
        assert pipeline.error["message"] == expected["error"]["message"]
        assert pipeline.finish_reason is None
        if output.startswith("openai"):
            assert result.error["code"] == expected["error"]["code"]
        return
    content, reasoning = rendered(
        mode, expected["reasoning"], expected["content"], expected.get("raw_thinking", "")
    )
    assert result.error is None
    assert result.content == content
    assert result.reasoning == reasoning
    assert result.finish_reason == "stop"
    assert pipeline.finish_reason == "stop"
    prompt, completion, total = expected["usage"]
    assert pipeline.usage == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
    }
    if output.startswith("openai"):
        assert result.usage == (prompt, completion, total)
    else:
        assert result.usage == (prompt, completion, None)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_stream_whole(name: str, output: str, mode: str) -> None:
    pipeline, out = run(golden_bytes(name), output, mode)
    check(name, output, mode, parse(output, out), pipeline)


@pytest.mark.parametrize("mode", ["reasoning", "think", "raw"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_stream_split_at_every_byte(name: str, output: str, mode: str) -> None:
    stream = golden_bytes(name)
    whole = parse(output, run(stream, output, mode)[1])
    for cut in range(1, len(stream)):
        pipeline, out = run(stream, output, mode, [cut])
        result = parse(output, out)
        assert (result.content, result.reasoning, result.usage, result.error) == (
            whole.content,
            whole.reasoning,
            whole.usage,
            whole.error,
        ), f"split at byte {cut}"
        check(name, output, mode, result, pipeline)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_stream_random_splits(name: str, seed: int) -> None:
    stream = golden_bytes(name)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(stream)), k=min(len(stream) - 1, rng.randint(1, 60))))
    for output in OUTPUTS:
        for mode in MODES:
            pipeline, out = run(stream, output, mode, cuts)
            check(name, output, mode, parse(output, out), pipeline)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_byte_at_a_time(name: str) -> None:
    stream = golden_bytes(name)
    for output in OUTPUTS:
        pipeline, out = run(stream, output, "reasoning", list(range(1, len(stream))))
        check(name, output, "reasoning", parse(output, out), pipeline)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_non_streaming_equals_fold_of_stream(name: str, dialect: str) -> None:
    for mode in MODES:
        streamed = parse(f"{dialect}-sse", run(golden_bytes(name), f"{dialect}-sse", mode)[1])
        whole = parse(f"{dialect}-json", run(golden_bytes(name), f"{dialect}-json", mode)[1])
        assert (streamed.content, streamed.reasoning, streamed.finish_reason) == (
            whole.content,
            whole.reasoning,
            whole.finish_reason,
        )
        assert (streamed.error is None) == (whole.error is None)
