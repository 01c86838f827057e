"""Builds chat.z.ai response bodies (upstream-protocol.md §4) for tests, event by event."""

from __future__ import annotations

import json
from collections.abc import Iterable


def zai_event(data: dict) -> bytes:
    """One `data:` event as chat.z.ai sends it: compact JSON, UTF-8 unescaped, blank line."""
    envelope = {"type": "chat:completion", "data": data}
    return (
        b"data: "
        + json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        + b"\n\n"
    )


def zai_answer_stream(deltas: Iterable[str], usage: tuple[int, int, int] = (10, 5, 15)) -> bytes:
    """An answer-only response: one answer delta per item, then usage and done."""
    body = b"".join(zai_event({"delta_content": d, "phase": "answer"}) for d in deltas)
    prompt, completion, total = usage
    body += zai_event(
        {
            "phase": "other",
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": total,
            },
        }
    )
    return body + zai_event({"phase": "done", "done": True})


def function_calls_block(calls: Iterable[tuple[str, dict]]) -> str:
    """The block the tool prompt asks the model for (toolcall-and-think.md A1.4, BLK)."""
    inner = "\n".join(
        "<function_call>\n<tool>"
        + name
        + "</tool>\n<args_json><![CDATA["
        + json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        + "]]></args_json>\n</function_call>"
        for name, args in calls
    )
    return "<function_calls>\n" + inner + "\n</function_calls>"
