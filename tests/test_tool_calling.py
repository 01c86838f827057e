"""Tool calling end to end: the request side builds the upstream prompt, the model's reply (a
chat.z.ai stream with a function_calls block) comes back as tool calls through the real openai and
anthropic SDKs over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from zaiproxy import core

from oracle import parse
from replay_server import replay_server
from upstream_streams import function_calls_block, zai_answer_stream

TRIGGER = core.process_trigger()
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"],
}
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": WEATHER_SCHEMA,
        },
    }
]
ANTHROPIC_TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather of a city",
        "input_schema": WEATHER_SCHEMA,
    }
]


def reply_with_call(prefix: str, calls: list[tuple[str, dict]], delta_size: int = 7) -> bytes:
    """What the model writes when it follows the tool prompt, cut into token-sized deltas."""
    text = prefix + "\n" + TRIGGER + "\n" + function_calls_block(calls)
    return zai_answer_stream([text[i : i + delta_size] for i in range(0, len(text), delta_size)])


def scripted_upstream(_: dict[str, Any], __: str, messages: list[dict[str, Any]]) -> bytes:
    """The model: asks for the weather until the conversation it sees has a tool result."""
    if "<tool_result>" in messages[-1]["content"]:
        return zai_answer_stream(["It is ", "sunny in ", "Paris."])
    return reply_with_call("Let me check.", [("get_weather", {"city": "Paris"})])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with replay_server(scripted_upstream) as url:
        yield url


# ── request side ──
def conversation_openai() -> dict[str, Any]:
    return {
        "model": "GLM-4.5",
        "tools": OPENAI_TOOLS,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and Lyon? " + TRIGGER},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "rain"}],
            },
        ],
    }


def conversation_anthropic() -> dict[str, Any]:
    return {
        "model": "GLM-4.5",
        "max_tokens": 100,
        "tools": ANTHROPIC_TOOLS,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Lyon? " + TRIGGER},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "t2",
                        "name": "get_weather",
                        "input": {"city": "Lyon"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "rain"}],
                    },
                ],
            },
        ],
    }


def test_prompt_and_history_are_re_encoded_for_the_upstream() -> None:
    built = core.build_upstream_messages(conversation_openai())
    messages = built["messages"]
    assert [m["role"] for m in messages] == ["system", "system", "user", "assistant", "user"]
    prompt = messages[0]["content"]
    assert TRIGGER in prompt and "get_weather" in prompt
    assert json.dumps(WEATHER_SCHEMA, separators=(",", ":")) in prompt  # compact schema, key order
    # A trigger the user pasted is defused: it can no longer form a call.
    assert TRIGGER not in messages[2]["content"]
    assert TRIGGER[:-2] + " />" in messages[2]["content"]
    assistant = messages[3]["content"]
    assert assistant.startswith("Checking.\n" + TRIGGER + "\n<function_calls>")
    assert '<args_json><![CDATA[{"city":"Paris"}]]></args_json>' in assistant
    assert '<args_json><![CDATA[{"city":"Lyon"}]]></args_json>' in assistant
    results = messages[4]["content"]  # both results merged into one user message, in order
    assert results.index("sunny") < results.index("rain")
    assert results.count("<tool_result>") == 2
    options = built["tool_options"]
    assert options["trigger"] == TRIGGER and options["tool_choice"] == "auto"
    assert [t["name"] for t in options["tools"]] == ["get_weather"]


def test_anthropic_conversation_gives_the_same_upstream_messages() -> None:
    openai_side = core.build_upstream_messages(conversation_openai())["messages"]
    anthropic_side = core.build_upstream_messages(conversation_anthropic(), "anthropic")["messages"]
    assert anthropic_side == openai_side


@pytest.mark.parametrize(
    ("change", "param"),
    [
        (lambda r: r["messages"][3].update(tool_call_id="call_9"), "tool_call_id"),
        (
            lambda r: r["messages"][1]["tool_calls"][0]["function"].update(arguments="[1]"),
            "arguments",
        ),
        (
            lambda r: r.update(tool_choice={"type": "function", "function": {"name": "nope"}}),
            "tool_choice",
        ),
    ],
    ids=["unknown-tool-call-id", "non-object-arguments", "tool-choice-not-offered"],
)
def test_requests_the_client_must_fix(change: Any, param: str) -> None:
    request = conversation_openai()
    del request["messages"][0]
    change(request)
    with pytest.raises(core.RequestError) as caught:
        core.build_upstream_messages(request)
    assert caught.value.status == 400
    assert param in caught.value.param


@pytest.mark.parametrize("trigger", ["x", "/>", "<Function_AB 1_Start/>"])
def test_a_malformed_trigger_is_refused(trigger: str) -> None:
    with pytest.raises(ValueError, match="trigger"):
        core.build_upstream_messages(conversation_openai(), trigger=trigger)
    with pytest.raises(ValueError, match="trigger"):
        core.Pipeline(tools=OPENAI_TOOLS, trigger=trigger)


# ── response side, through the SDKs ──
def test_openai_streamed_tool_call_and_second_turn(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    chunks = list(
        client.chat.completions.create(
            model="GLM-4.5", messages=messages, tools=OPENAI_TOOLS, stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    # Name first, arguments in a later delta of the same index: accumulate as clients do.
    assert [(d.index, d.function.name) for d in deltas if d.function.name] == [(0, "get_weather")]
    call_id = next(d.id for d in deltas if d.id)
    arguments = "".join(d.function.arguments or "" for d in deltas if d.index == 0)
    assert json.loads(arguments) == {"city": "Paris"}
    assert call_id.startswith("call_")
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    messages += [
        {
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 °C"},
    ]
    answer = client.chat.completions.create(model="GLM-4.5", messages=messages, tools=OPENAI_TOOLS)
    assert answer.choices[0].message.content == "It is sunny in Paris."
    assert answer.choices[0].finish_reason == "stop"


def test_openai_non_streamed_tool_call(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
    completion = client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": "Weather?"}], tools=OPENAI_TOOLS
    )
    message = completion.choices[0].message
    assert message.content == "Let me check."
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    assert message.tool_calls[0].function.name == "get_weather"
    assert json.loads(message.tool_calls[0].function.arguments) == {"city": "Paris"}
    assert completion.choices[0].finish_reason == "tool_calls"


def test_openai_unknown_tool_choice_is_a_400(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="GLM-4.5",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=OPENAI_TOOLS,
            tool_choice={"type": "function", "function": {"name": "not_offered"}},
        )


def test_anthropic_tool_use_and_second_turn(base_url: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    with client.messages.stream(
        model="GLM-4.5", max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        message = stream.get_final_message()
    assert [block.type for block in message.content] == ["text", "tool_use"]
    tool_use = message.content[1]
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}
    assert tool_use.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"

    messages += [
        {"role": "assistant", "content": [block.model_dump() for block in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}],
        },
    ]
    answer = client.messages.create(
        model="GLM-4.5", max_tokens=256, messages=messages, tools=ANTHROPIC_TOOLS
    )
    assert answer.content[0].text == "It is sunny in Paris." and answer.stop_reason == "end_turn"


# ── pipeline-level conformance (A31, A32) and bad input ──
A02 = reply_with_call("Let me check.", [("get_weather", {"city": "Paris"})])


def run_pipeline(stream: bytes, output: str, read_size: int, **options: Any) -> Any:
    tools = ANTHROPIC_TOOLS if output.startswith("anthropic") else OPENAI_TOOLS
    pipeline = core.Pipeline(output=output, tools=tools, **options)
    out = b"".join(
        pipeline.feed(stream[i : i + read_size]) for i in range(0, len(stream), read_size)
    )
    return parse(output, out + pipeline.finish())


def test_a31_one_byte_reads_give_the_same_result_as_a02() -> None:
    whole = run_pipeline(A02, "openai-sse", len(A02))
    assert (whole.content, whole.finish_reason) == ("Let me check.", "tool_calls")
    assert whole.tool_calls == [("get_weather", '{"city":"Paris"}')]
    one_byte = run_pipeline(A02, "openai-sse", 1)
    assert (one_byte.content, one_byte.tool_calls, one_byte.finish_reason) == (
        whole.content,
        whole.tool_calls,
        whole.finish_reason,
    )


def test_a32_non_streaming_equals_the_fold_of_a02() -> None:
    for dialect in ("openai", "anthropic"):
        streamed = run_pipeline(A02, f"{dialect}-sse", 5)
        whole = run_pipeline(A02, f"{dialect}-json", len(A02))
        assert (whole.content, whole.tool_calls, whole.finish_reason) == (
            streamed.content,
            streamed.tool_calls,
            streamed.finish_reason,
        )
        assert whole.tool_calls == [("get_weather", '{"city":"Paris"}')]


def test_a_call_to_a_tool_not_offered_stays_text() -> None:
    stream = reply_with_call("Sure.", [("delete_everything", {})])
    result = run_pipeline(stream, "openai-sse", 64)
    assert result.tool_calls == [] and result.finish_reason == "stop"
    assert "delete_everything" in result.content and TRIGGER in result.content


def test_tool_choice_none_turns_detection_off() -> None:
    result = run_pipeline(A02, "openai-sse", 64, tool_choice="none")
    assert result.tool_calls == [] and TRIGGER in result.content


def test_five_megabyte_argument_is_a_defined_result() -> None:
    stream = reply_with_call("Big:", [("get_weather", {"city": "x" * (5 << 20)})], 4096)
    result = run_pipeline(stream, "openai-sse", 65536)
    # Over the 1 MiB call limit the block is given back as text, nothing lost, no crash.
    assert result.tool_calls == [] and result.finish_reason == "stop"
    # (The whole run, not a count of "x": the random trigger in the text may hold an x too.)
    assert '"' + "x" * (5 << 20) + '"' in result.content
