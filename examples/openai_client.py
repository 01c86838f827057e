"""The official openai SDK against zaiproxy: the model list, a chat completion, a streamed one, and
the model's reasoning (``reasoning_content``) when it thinks.

Start the proxy in one terminal (``--mock-upstream`` answers offline with canned replies; leave it
out to talk to the GLM models of chat.z.ai):

    zaiproxy serve --mock-upstream

then run this script in another:

    python examples/openai_client.py

``ZAIPROXY_BASE_URL`` (default http://127.0.0.1:8080/v1), ``ZAIPROXY_API_KEY`` (default
sk-your-api-key; any key works when the proxy has none configured) and ``ZAIPROXY_MODEL``
(default GLM-4.5) say where the requests go.
"""

from __future__ import annotations

import os
from typing import Final

from openai import OpenAI

BASE_URL = os.environ.get("ZAIPROXY_BASE_URL", "http://127.0.0.1:8080/v1")
API_KEY = os.environ.get("ZAIPROXY_API_KEY", "sk-your-api-key")
MODEL = os.environ.get("ZAIPROXY_MODEL", "GLM-4.5")
# zaiproxy turns GLM's thinking on for any effort but "none".
EFFORT: Final = "low"


def main() -> None:
    client = OpenAI(base_url=BASE_URL, api_key=API_KEY)

    print("── models")
    print(" ".join(model.id for model in client.models.list()))

    print("── chat completion")
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "In one sentence: what does a proxy server do?"}],
        reasoning_effort=EFFORT,
    )
    message = completion.choices[0].message
    # reasoning_content is no field of the SDK's types: pydantic keeps it as an extra attribute.
    reasoning = getattr(message, "reasoning_content", None)
    if reasoning:
        print(f"[reasoning] {reasoning}")
    print(message.content)
    if completion.usage:
        print(f"[usage] {completion.usage.total_tokens} tokens")

    print("── streamed")
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Count from one to five in words."}],
        reasoning_effort=EFFORT,
        stream=True,
    )
    in_reasoning = False
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        reasoning = getattr(delta, "reasoning_content", None)
        if reasoning:
            if not in_reasoning:
                print("[reasoning] ", end="")
                in_reasoning = True
            print(reasoning, end="", flush=True)
        if delta.content:
            if in_reasoning:
                print()  # the answer starts on a line of its own
                in_reasoning = False
            print(delta.content, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
