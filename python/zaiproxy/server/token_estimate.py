"""Input-token estimates for Anthropic's ``message_start`` and ``count_tokens``.

The upstream reports real usage only at the end of a reply and has no counting endpoint, and GLM's
tokenizer is not public; so the count is an estimate: a CJK character is about one token, other
text about four characters a token. Clients use it for context budgeting, where a stable, slightly
generous figure is what matters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

# Per message: role and framing tokens the chat template adds around the content.
_MESSAGE_OVERHEAD = 4


def estimate_text_tokens(text: str) -> int:
    wide = sum(1 for char in text if ord(char) >= 0x2E80)
    return wide + math.ceil((len(text) - wide) / 4)


def _texts(content: Any) -> Iterable[str]:
    """Every piece of text a message's content holds, whatever its shape."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            yield from _texts(block)
    elif isinstance(content, dict):
        kind = content.get("type")
        if kind in ("image", "image_url"):
            return
        for key in ("text", "thinking", "content", "name"):
            if key in content:
                yield from _texts(content[key])
        for key in ("input", "arguments", "function", "tool_calls"):
            if key in content:
                value = content[key]
                yield value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def estimate_request_tokens(request: dict[str, Any]) -> int:
    """The input tokens of an OpenAI or Anthropic request: system, messages and tools."""
    total = sum(estimate_text_tokens(text) for text in _texts(request.get("system")))
    messages = request.get("messages")
    for message in messages if isinstance(messages, list) else ():
        total += _MESSAGE_OVERHEAD + sum(estimate_text_tokens(text) for text in _texts(message))
    tools = request.get("tools")
    if tools:
        total += estimate_text_tokens(json.dumps(tools, ensure_ascii=False))
    return total
