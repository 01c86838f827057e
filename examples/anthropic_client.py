"""The official anthropic SDK against zaiproxy: a message with its thinking block, then a streamed
one printed as its thinking and text arrive.

Start the proxy in one terminal (``--mock-upstream`` answers offline with canned replies; leave it
out to talk to the GLM models of chat.z.ai):

    zaiproxy serve --mock-upstream

then run this script in another:

    python examples/anthropic_client.py

It reads the same settings as examples/openai_client.py: ``ZAIPROXY_BASE_URL`` (default
http://127.0.0.1:8080/v1), ``ZAIPROXY_API_KEY`` (default sk-your-api-key) and ``ZAIPROXY_MODEL``
(default GLM-4.5; Claude names such as claude-sonnet-4-5 work too, mapped to a GLM model).
"""

from __future__ import annotations

import os

from anthropic import Anthropic
from anthropic.types import ThinkingConfigEnabledParam

# The SDK appends /v1/messages itself, so it wants the proxy's origin, not the OpenAI base URL.
BASE_URL = os.environ.get("ZAIPROXY_BASE_URL", "http://127.0.0.1:8080/v1").removesuffix("/v1")
API_KEY = os.environ.get("ZAIPROXY_API_KEY", "sk-your-api-key")
MODEL = os.environ.get("ZAIPROXY_MODEL", "GLM-4.5")
MAX_TOKENS = 4096
# Any enabled thinking turns GLM's thinking on; the budget is the smallest the API accepts.
THINKING: ThinkingConfigEnabledParam = {"type": "enabled", "budget_tokens": 1024}


def main() -> None:
    client = Anthropic(base_url=BASE_URL, api_key=API_KEY)

    print("── message")
    message = client.messages.create(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        thinking=THINKING,
        messages=[{"role": "user", "content": "In one sentence: what does a proxy server do?"}],
    )
    for block in message.content:
        if block.type == "thinking":
            print(f"[thinking] {block.thinking}")
        elif block.type == "text":
            print(block.text)
    print(f"[stop] {message.stop_reason}, {message.usage.output_tokens} output tokens")

    print("── streamed")
    with client.messages.stream(
        model=MODEL,
        max_tokens=MAX_TOKENS,
        thinking=THINKING,
        messages=[{"role": "user", "content": "Count from one to five in words."}],
    ) as stream:
        in_thinking = False
        # "thinking" and "text" are the SDK's own events, one per delta of either kind.
        for event in stream:
            if event.type == "thinking":
                if not in_thinking:
                    print("[thinking] ", end="")
                    in_thinking = True
                print(event.thinking, end="", flush=True)
            elif event.type == "text":
                if in_thinking:
                    print()  # the answer starts on a line of its own
                    in_thinking = False
                print(event.text, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
