"""chat.z.ai SSE events (§4), rendered the way the service writes them.

Each event is `data: ` + compact JSON (UTF-8, not ASCII-escaped) + a blank line. Offsets
(`edit_index`) count JS UTF-16 code units, because the browser applies edits to a JS string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Union

UsageLike = Union[tuple[int, int, int], Mapping[str, Any], None]

DONE_MARKER = b"data: [DONE]\n\n"
REASONING_OPEN = '<details type="reasoning" done="false">'
# The first answer edit rewinds to here to flip done="false" into done="true".
REASONING_FLIP_INDEX = len('<details type="reasoning" done="')
REASONING_CLOSE = "\n</details>\n"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event(data: Mapping[str, Any]) -> bytes:
    text = compact_json({"type": "chat:completion", "data": data})
    return b"data: " + text.encode() + b"\n\n"


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value


def is_done_event(raw: bytes) -> bool:
    return raw == DONE_MARKER or raw.startswith(
        b'data: {"type":"chat:completion","data":{"phase":"done"'
    )


def delta(text: str, phase: str) -> bytes:
    return event({"delta_content": text, "phase": phase})


def edit(index: int, text: str, phase: str) -> bytes:
    return event({"edit_index": index, "edit_content": text, "phase": phase})


def usage_event(usage: UsageLike) -> list[bytes]:
    if usage is None:
        return []
    if isinstance(usage, tuple):
        prompt, completion, total = usage
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    return [event({"phase": "other", "usage": dict(usage)})]


def ending(usage: UsageLike, done_marker: bool) -> list[bytes]:
    """Usage (if any), the done event and, optionally, the `data: [DONE]` line."""
    done = [event({"phase": "done", "done": True})]
    return usage_event(usage) + done + ([DONE_MARKER] if done_marker else [])


def error_event(error: Mapping[str, Any], *, sort_keys: bool = False) -> bytes:
    """The nested duplicate shape of in-stream errors (§4.8): data.error and data.data.error.
    `sort_keys` sorts `data` at every level, as the captcha errors come."""
    data = {"data": {"error": error, "done": True}, "error": error, "done": True}
    return event(_sorted(data) if sort_keys else data)


def as_chunks(text: str | Sequence[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def split_every(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def quote_reasoning(chunks: Sequence[str]) -> list[str]:
    """Thinking deltas as the service streams them: the opening tag, then every line quoted.

    A line's quote mark travels with the newline before it and its space with the text after it
    (`…\\n>` then ` text`), which is how the live 2026 trace splits them.
    """
    out: list[str] = []
    at_line_start = True
    for number, text in enumerate(chunks):
        piece = REASONING_OPEN + "\n>" if number == 0 else ""
        for char in text:
            if at_line_start:
                piece += " "
            piece += "\n>" if char == "\n" else char
            at_line_start = char == "\n"
        out.append(piece)
    return out


def thinking_answer(
    reasoning: Sequence[str], answer: Sequence[str], tail: str | None
) -> tuple[list[bytes], list[bytes]]:
    """(events before usage, events after usage) of the 2026 thinking shape (§4.9 B)."""
    thinking = quote_reasoning(reasoning)
    events = [delta(text, "thinking") for text in thinking]
    quoted = "".join(thinking)[len(REASONING_OPEN) :]
    first, *rest = answer or [""]
    head = 'true">' + quoted + REASONING_CLOSE + first
    events.append(edit(REASONING_FLIP_INDEX, head, "answer"))
    events.extend(delta(text, "answer") for text in rest)
    if tail is None:
        return events, []
    doc = REASONING_OPEN[:REASONING_FLIP_INDEX] + head + "".join(rest)
    return events, [edit(utf16_len(doc), tail, "other")]


def _js(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _escaped(value: str) -> str:
    """The text of a JSON string literal without its quotes (escaping is per character, so the
    pieces of a split string escape to the pieces of the whole)."""
    return _js(value)[1:-1]


_BLOCK_AFTER_ARGUMENTS = '", "result": '
_BLOCK_AFTER_RESULT = (
    ', "display_result": "", "duration": "...", "status": "completed", "is_error": false,'
    ' "mcp_server": {"name": "mcp-server"}}, "thought": null, "ppt": null, "browser": null}}'
    "</glm_block>"
)


def glm_block_tool(prefix: str, call_id: str, name: str, arguments: Sequence[str]) -> list[bytes]:
    """An internal tool call as `glm_block` edits (§4.6 #1, §4.9 C).

    The first edit writes the whole block with the first piece of the arguments and `"result": ""`;
    each later piece rewinds to the end of the arguments so far (truncate and append, §4.3); the
    last one ends with `"result": ` and a `phase:"other"` edit writes `null` and the rest.
    """
    head = (
        f'<glm_block view="">{{"type": "mcp", "data": {{"metadata": {{"id": {_js(call_id)}, '
        f'"name": {_js(name)}, "arguments": "'
    )
    open_block = _BLOCK_AFTER_ARGUMENTS + '""' + _BLOCK_AFTER_RESULT
    pieces = list(arguments) or [""]
    arguments_end = utf16_len(prefix) + utf16_len(head)
    events: list[bytes] = []
    for number, piece in enumerate(pieces):
        text = _escaped(piece)
        last = number == len(pieces) - 1 and number > 0
        if number == 0:
            events.append(edit(utf16_len(prefix), head + text + open_block, "tool_call"))
        else:
            closing = _BLOCK_AFTER_ARGUMENTS if last else open_block
            events.append(edit(arguments_end, text + closing, "tool_call"))
        arguments_end += utf16_len(text)
    result_start = arguments_end + utf16_len(_BLOCK_AFTER_ARGUMENTS)
    events.append(edit(result_start, "null" + _BLOCK_AFTER_RESULT, "other"))
    return events


def search_block(
    call_id: str,
    queries: Sequence[str],
    results: Sequence[tuple[str, str]],
    result_text: str | None,
    duration: str,
) -> str:
    """The `glm_block` of a web search with its results (§4.5, §4.9 D)."""
    refs = [f"turn0search{i}" for i in range(len(results))]
    if result_text is None:
        result_text = "\n\n".join(
            f"【{ref}†{title}†{url}】" for ref, (title, url) in zip(refs, results)
        )
    block = {
        "type": "mcp",
        "data": {
            "metadata": {
                "id": call_id,
                "name": "search",
                "arguments": json.dumps({"queries": list(queries)}, ensure_ascii=False),
                "result": result_text,
                "display_result": "",
                "duration": duration,
                "status": "completed",
                "is_error": False,
                "mcp_server": {"name": "mcp-server"},
            },
            "thought": None,
            "ppt": None,
            "browser": {
                "search_result": [
                    {"title": title, "url": url, "index": i + 1, "ref_id": ref}
                    for i, (ref, (title, url)) in enumerate(zip(refs, results))
                ]
            },
        },
    }
    body = json.dumps(block, ensure_ascii=False)
    return f'<glm_block view="" tool_call_name="search">{body}</glm_block>'


def native_tool_call(call_id: str, name: str, arguments: str, piece_chars: int) -> list[bytes]:
    """A 2026 native tool call (§4.6 #2): `delta_name`, then the arguments in pieces, then the
    `tool_response` phase."""
    first, rest = arguments[:2], arguments[2:]
    events = [
        event(
            {
                "delta_name": name,
                "delta_arguments": first,
                "metadata": {"tool_call_id": call_id},
                "phase": "tool_call",
            }
        )
    ]
    events.extend(
        event({"delta_arguments": piece, "phase": "tool_call"})
        for piece in split_every(rest, piece_chars)
        if piece
    )
    events.append(event({"phase": "tool_response", "tool_name": name, "status": "completed"}))
    return events


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def function_calls_text(
    text_before: str, trigger: str, calls: Sequence[tuple[str, Mapping[str, Any]]]
) -> str:
    """An answer in the injected tool-prompt grammar (toolcall-and-think.md A1.1/A2.1)."""
    blocks = [
        f"<function_call>\n<tool>{name}</tool>\n<args_json>"
        + _cdata(compact_json(arguments))
        + "</args_json>\n</function_call>"
        for name, arguments in calls
    ]
    body = "\n".join([trigger, "<function_calls>", *blocks, "</function_calls>"])
    return (text_before + "\n" + body).strip()
