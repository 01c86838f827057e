"""What the mock answers to one completion: a `Reply` and the builders for every known shape."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from zaiproxy.testing import _events
from zaiproxy.testing._events import UsageLike, compact_json
from zaiproxy.testing._http import LAST_CHUNK, chunk

if TYPE_CHECKING:
    from zaiproxy.testing.records import RecordedRequest

SSE = "text/event-stream; charset=utf-8"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
DEFAULT_USAGE = (10, 5, 15)
BULK_WRITE_BYTES = 256 * 1024  # one transport write per this many bytes of a pre-rendered stream
TRIGGER = re.compile(r"<Function_[A-Za-z0-9]+_Start/>")
# How the default tool prompt lists an offered tool: "N. NAME", then its description, its
# parameters' JSON schema and its required arguments, each on an indented line.
OFFERED_TOOL = re.compile(
    r"^\d+\. (\S+)\n   description: .*?\n   parameters: (\{.*?\})\n   required: ", re.M | re.S
)

SIGNATURE_FAILED = {"detail": "403: Signature validation failed: 签名验证失败"}
VERSION_CHECK_FAILED = {"error": {"detail": "Your client version check is failed", "code": 426}}
# The 2026 wording (OmniRoute#10708); its exact JSON shape was never captured.
VERSION_TOO_OLD_2026 = {"error": {"detail": "您的客户端版本过旧", "code": 426}}
WAF_405_HTML = (
    '<!doctypehtml><html lang="zh-cn"><meta charset="utf-8"><meta name="viewport" '
    'content="width=device-width,initial-scale=1"><title>405</title><style>body{margin:0}'
    "</style><body><div id=block>"
    "<p>很抱歉，由于您访问的URL有可能对网站造成安全威胁，您的访问被阻断。"
    "</p><p>Sorry, your request has been blocked as it may cause potential threats to the server."
    '</p><a href="https://errors.aliyun.com/waf/405">errors.aliyun.com</a></div></body></html>'
)
HTTP_ERROR_BODIES: dict[int, tuple[str, str]] = {
    400: (JSON, compact_json(SIGNATURE_FAILED)),
    401: (JSON, '{"message":"expired"}'),
    403: (JSON, '{"detail":"You do not have permission to access this resource."}'),
    404: (JSON, '{"detail":"Not Found"}'),
    405: (HTML, WAF_405_HTML),
    426: (JSON, compact_json(VERSION_CHECK_FAILED)),
    429: (JSON, '{"detail":"Too many requests: concurrency limit exceeded","code":429}'),
    500: (JSON, compact_json({"detail": "内部服务器错误"})),
    502: (HTML, "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body>"),
    503: (HTML, "<html><head><title>503 Service Unavailable</title></head><body></body></html>"),
}


@dataclass(frozen=True)
class Pacing:
    """How a stream is written; the default writes it all at once (the bulk path)."""

    delay: float = 0.0  # seconds between events (slow drip)
    stall_after: int | None = None  # events written before the stall
    stall_seconds: float = 0.0
    disconnect_after: int | None = None  # events written before the socket is dropped

    @property
    def is_bulk(self) -> bool:
        return self == ALL_AT_ONCE


ALL_AT_ONCE = Pacing()


Resolver = Callable[["RecordedRequest"], "Reply"]


def _random_call_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "call_" + "".join(secrets.choice(alphabet) for _ in range(11))


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: a plain body, or (status 200, event-stream) a list of SSE events.

    `resolve`, when set, builds the actual reply from the request it answers (used by replies
    that depend on the request, like tool calls in the request's trigger format).
    """

    status: int = 200
    content_type: str = SSE
    body: bytes = b""
    events: tuple[bytes, ...] = ()
    pacing: Pacing = ALL_AT_ONCE
    headers: tuple[tuple[str, str], ...] = ()
    resolve: Resolver | None = None

    @property
    def is_stream(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    def for_request(self, request: RecordedRequest) -> Reply:
        """The reply to send; a resolved reply keeps the pacing set on its resolver. A resolver
        may answer with a reply that resolves in turn (a tool call, say)."""
        if self.resolve is None:
            return self
        resolved = self.resolve(request).for_request(request)
        return (
            resolved if self.pacing.is_bulk else dataclasses.replace(resolved, pacing=self.pacing)
        )

    @cached_property
    def chunked_writes(self) -> tuple[memoryview, ...]:
        """The whole chunked body, rendered once and cut into large writes (the bulk path)."""
        body = memoryview(b"".join(chunk(e) for e in self.events) + LAST_CHUNK)
        return tuple(body[i : i + BULK_WRITE_BYTES] for i in range(0, len(body), BULK_WRITE_BYTES))

    # faults on the way a stream is written

    def drip(self, delay: float) -> Reply:
        """Waits `delay` seconds before each event."""
        return dataclasses.replace(self, pacing=dataclasses.replace(self.pacing, delay=delay))

    def stall(self, after: int, seconds: float) -> Reply:
        """Writes `after` events, then nothing for `seconds`, then the rest."""
        pacing = dataclasses.replace(self.pacing, stall_after=after, stall_seconds=seconds)
        return dataclasses.replace(self, pacing=pacing)

    def disconnect(self, after: int) -> Reply:
        """Writes `after` events, then drops the socket without the terminating chunk."""
        pacing = dataclasses.replace(self.pacing, disconnect_after=after)
        return dataclasses.replace(self, pacing=pacing)

    def ending_with_error(self, error: Mapping[str, Any]) -> Reply:
        """The same content with the done events replaced by an in-stream error (done:true)."""
        if self.resolve is not None:
            resolve = self.resolve
            return dataclasses.replace(
                self, resolve=lambda request: resolve(request).ending_with_error(error)
            )
        if not self.is_stream or self.status != 200:
            return self
        kept = tuple(e for e in self.events if not _events.is_done_event(e))
        return dataclasses.replace(self, events=(*kept, _events.error_event(error)))

    # non-stream answers

    @classmethod
    def http_error(
        cls, status: int, body: str | bytes | None = None, content_type: str | None = None
    ) -> Reply:
        """An HTTP error; without `body`, the one chat.z.ai (or its WAF) sends for that status."""
        default_type, default_body = HTTP_ERROR_BODIES.get(status, (JSON, '{"detail":"error"}'))
        raw = default_body if body is None else body
        data = raw.encode() if isinstance(raw, str) else raw
        if content_type is None:
            looks_like_json = data.lstrip().startswith((b"{", b"["))
            content_type = default_type if body is None else (JSON if looks_like_json else HTML)
        return cls(status=status, content_type=content_type, body=data)

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status=status, content_type=JSON, body=compact_json(value).encode())

    @classmethod
    def signature_failed(cls) -> Reply:
        return cls.http_error(400)

    @classmethod
    def version_check_failed(cls, wording: str = "2025") -> Reply:
        """426 for a stale X-FE-Version or a missing signature (`wording` "2025" or "2026")."""
        body = VERSION_CHECK_FAILED if wording == "2025" else VERSION_TOO_OLD_2026
        return cls.http_error(426, compact_json(body))

    @classmethod
    def waf_blocked(cls) -> Reply:
        return cls.http_error(405)

    # streams

    @classmethod
    def events_of(cls, events: Sequence[bytes]) -> Reply:
        """Any events as given: each item is written as is (`data: …\\n\\n` framing included)."""
        return cls(events=tuple(events))

    @classmethod
    def raw(cls, data: bytes) -> Reply:
        """Arbitrary bytes as the whole stream body."""
        return cls(events=(data,))

    @classmethod
    def answer(
        cls,
        text: str | Sequence[str],
        *,
        usage: UsageLike = DEFAULT_USAGE,
        done_marker: bool = False,
    ) -> Reply:
        """Shape A: answer deltas, usage, `phase:"done"` and optionally `data: [DONE]`."""
        deltas = [_events.delta(t, "answer") for t in _events.as_chunks(text)]
        return cls(events=(*deltas, *_events.ending(usage, done_marker)))

    @classmethod
    def thinking_answer(
        cls,
        reasoning: str | Sequence[str],
        answer: str | Sequence[str],
        *,
        tail: str | None = None,
        usage: UsageLike = DEFAULT_USAGE,
        done_marker: bool = False,
    ) -> Reply:
        """Shape B: quoted reasoning deltas, the `edit_index` 32 edit that closes `<details>` and
        carries the first answer piece, more answer deltas, usage, then `tail` as an appending
        edit (what the 2026 trace does with the last words)."""
        before, after = _events.thinking_answer(
            _events.as_chunks(reasoning), _events.as_chunks(answer), tail
        )
        done = _events.ending(None, done_marker)
        return cls(events=(*before, *_events.usage_event(usage), *after, *done))

    @classmethod
    def glm_block_tool(
        cls,
        name: str,
        arguments: str | Sequence[str],
        *,
        text_before: str = "",
        call_id: str | None = None,
        usage: UsageLike = DEFAULT_USAGE,
        done_marker: bool = False,
    ) -> Reply:
        """Shape C: an internal tool call written as `glm_block` edits; `arguments` is the JSON
        text of the arguments, optionally in pieces as the model streams it."""
        head = [_events.delta(text_before, "answer")] if text_before else []
        block = _events.glm_block_tool(
            text_before, call_id or _random_call_id(), name, _events.as_chunks(arguments)
        )
        return cls(events=(*head, *block, *_events.ending(usage, done_marker)))

    @classmethod
    def native_tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any],
        *,
        call_id: str | None = None,
        piece_chars: int = 8,
        usage: UsageLike = DEFAULT_USAGE,
    ) -> Reply:
        """A 2026 `delta_name` / `delta_arguments` tool call (§4.6 #2)."""
        text = compact_json(arguments)
        calls = _events.native_tool_call(call_id or _random_call_id(), name, text, piece_chars)
        return cls(events=(*calls, *_events.ending(usage, False)))

    @classmethod
    def web_search(
        cls,
        queries: Sequence[str],
        results: Sequence[tuple[str, str]],
        answer: str | Sequence[str],
        *,
        result_text: str | None = None,
        duration: str = "2.1s",
        call_id: str | None = None,
        usage: UsageLike = DEFAULT_USAGE,
    ) -> Reply:
        """Shape D: a search `glm_block` (results as (title, url)), a blank-line edit, then the
        answer citing `【turn0searchN】`."""
        block = _events.search_block(
            call_id or _random_call_id(), queries, results, result_text, duration
        )
        events = [
            _events.edit(0, block, "tool_call"),
            _events.edit(_events.utf16_len(block), "\n\n", "other"),
            *(_events.delta(t, "answer") for t in _events.as_chunks(answer)),
        ]
        return cls(events=(*events, *_events.ending(usage, False)))

    @classmethod
    def tool_calls(
        cls,
        calls: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        text_before: str = "",
        piece_chars: int = 24,
        usage: UsageLike = DEFAULT_USAGE,
    ) -> Reply:
        """Tool calls in the grammar of our injected tool prompt, using the trigger found in the
        request's system messages. Without a trigger the answer is an in-stream error (code 400)
        saying so, so that a test with a broken prompt fails loudly."""

        def render(request: RecordedRequest) -> Reply:
            trigger = find_trigger(request.json)
            if trigger is None:
                detail = "mock upstream: no <Function_…_Start/> trigger in the system messages"
                return cls.stream_error(detail, 400)
            text = _events.function_calls_text(text_before, trigger, calls)
            return cls.answer(_events.split_every(text, piece_chars), usage=usage)

        return cls(resolve=render)

    @classmethod
    def tool_call(cls, name: str, arguments: Mapping[str, Any], *, text_before: str = "") -> Reply:
        return cls.tool_calls([(name, arguments)], text_before=text_before)

    @classmethod
    def stream_error(cls, detail: str, code: int | str, **extra: Any) -> Reply:
        """An HTTP-200 stream that is only an in-stream error (shapes E1, E2)."""
        return cls(events=(_events.error_event({"detail": detail, "code": code, **extra}),))

    @classmethod
    def client_check_failed(cls) -> Reply:
        return cls.stream_error("您的客户端校验失败", 426)

    @classmethod
    def model_not_available(cls) -> Reply:
        return cls.stream_error("Model not available for current user level", 403)

    @classmethod
    def captcha_required(cls, kind: str = "missing_param") -> Reply:
        """Shape E3; this error comes with its keys sorted, unlike the others."""
        error = {
            "captcha_error_type": kind,
            "code": "FRONTEND_CAPTCHA_REQUIRED",
            "detail": "Please refresh the page to update the app, then try again.",
            "error_code": "FRONTEND_CAPTCHA_REQUIRED",
        }
        return cls(events=(_events.error_event(error, sort_keys=True),))

    @classmethod
    def huge_line(cls, size: int) -> Reply:
        """One answer delta of `size` characters (a single SSE line longer than any buffer)."""
        return cls.answer("x" * size)

    @classmethod
    def invalid_utf8(cls, before: str = "ok ", after: str = " end") -> Reply:
        """An answer delta with bytes that are not UTF-8 (0xFF 0xFE) inside its JSON string."""
        bad = _events.delta(before + "\x00" + after, "answer").replace(b"\\u0000", b"\xff\xfe")
        return cls(events=(bad, *_events.ending(DEFAULT_USAGE, False)))

    @classmethod
    def bulk(cls, events: int, text: str = "token ") -> Reply:
        """A pre-rendered answer of `events` deltas (then usage and done), for benchmarks."""
        deltas = (_events.delta(text, "answer"),) * events
        return cls(events=(*deltas, *_events.ending(DEFAULT_USAGE, False)))


def find_trigger(body: Any) -> str | None:
    """The tool trigger of the first system message that holds one."""
    for text in _system_texts(body):
        found = TRIGGER.search(text)
        if found:
            return found.group(0)
    return None


def offered_tools(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """The tools the default tool prompt offers: each one's name and parameters' JSON schema."""
    tools = []
    for text in _system_texts(body):
        for name, parameters in OFFERED_TOOL.findall(text):
            try:
                schema = json.loads(parameters)
            except ValueError:
                continue
            tools.append((name, schema if isinstance(schema, dict) else {}))
    return tools


def answers_tool_results(body: Any) -> bool:
    """Whether the conversation ends with tool results (the tool prompt's <tool_result>)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    return any("<tool_result>" in text for text in _message_texts(messages[-1]))


def _system_texts(body: Any) -> list[str]:
    messages = body.get("messages") if isinstance(body, dict) else None
    texts = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") == "system":
            texts += _message_texts(message)
    return texts


def _message_texts(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    return [content] if isinstance(content, str) else _text_parts(content)


def _text_parts(content: Any) -> list[str]:
    parts = content if isinstance(content, list) else []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
