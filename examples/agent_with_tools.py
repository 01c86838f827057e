"""A tool-using agent on the openai SDK: the model asks for tools, this script runs them locally and
sends the results back, until the model answers in text.

chat.z.ai has no function calling of its own; zaiproxy emulates it (a tool prompt upstream, the
model's call block turned back into ``tool_calls``), so this is the plain OpenAI tool loop.

Start the proxy in one terminal, then run the agent, with a question of your own if you like:

    zaiproxy serve
    python examples/agent_with_tools.py "What is the weather in Paris, and what is 18 + 4?"

(``zaiproxy serve --mock-upstream`` works too, offline: its canned model calls the first tool
with made-up arguments, then answers.) ``ZAIPROXY_BASE_URL``, ``ZAIPROXY_API_KEY`` and
``ZAIPROXY_MODEL`` work as in examples/openai_client.py.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

from openai import OpenAI
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallParam,
    ChatCompletionToolParam,
)

BASE_URL = os.environ.get("ZAIPROXY_BASE_URL", "http://127.0.0.1:8080/v1")
API_KEY = os.environ.get("ZAIPROXY_API_KEY", "sk-your-api-key")
MODEL = os.environ.get("ZAIPROXY_MODEL", "GLM-4.5")
QUESTION = "What is the weather in Paris, and what is 18 + 4? Use the tools."
MAX_STEPS = 6  # model turns; a model that keeps calling tools must not loop forever


def get_weather(city: str) -> dict[str, Any]:
    """Canned weather: a real agent would ask a weather service here."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


def add(a: float, b: float) -> float:
    return a + b


TOOLS: dict[str, Callable[..., Any]] = {"get_weather": get_weather, "add": add}
TOOL_SCHEMAS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city's name"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "The sum of two numbers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    },
]


def run_tool(name: str, arguments: str) -> str:
    """The tool's result as the text the model reads; a failure is reported to the model (which
    can correct itself) rather than raised."""
    try:
        result = TOOLS[name](**json.loads(arguments))
    except Exception as error:  # any failure of the tool or of the model's arguments
        return json.dumps({"error": f"{type(error).__name__}: {error}"})
    return json.dumps(result)


def run_agent(client: OpenAI, question: str) -> str:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": question}]
    for step in range(1, MAX_STEPS + 1):
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOL_SCHEMAS)
        message = reply.choices[0].message
        calls = [call for call in message.tool_calls or [] if call.type == "function"]
        if not calls:
            return message.content or ""
        # The conversation must show the model its own calls before their results.
        tool_calls: list[ChatCompletionMessageToolCallParam] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in calls
        ]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": tool_calls})
        for call in calls:
            result = run_tool(call.function.name, call.function.arguments)
            print(f"step {step}: {call.function.name}({call.function.arguments}) -> {result}")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise SystemExit(f"no final answer after {MAX_STEPS} steps")


def main() -> None:
    client = OpenAI(base_url=BASE_URL, api_key=API_KEY)
    question = sys.argv[1] if len(sys.argv) > 1 else QUESTION
    print(f"question: {question}")
    print(f"answer: {run_agent(client, question)}")


if __name__ == "__main__":
    main()
