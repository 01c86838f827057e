"""What the mock saw: every request, as tests inspect it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zaiproxy.testing._http import HttpRequest
from zaiproxy.testing._identity import Identity

COMPLETION_PATHS = frozenset({"/api/chat/completions", "/api/v2/chat/completions"})


@dataclass(frozen=True)
class RecordedRequest:
    number: int  # 1-based over all requests
    method: str
    path: str
    target: str  # the request target as sent, query string included
    query: dict[str, str]  # form-decoded
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON
    identity: Identity | None  # the guest or user the request acted as, if any

    @classmethod
    def of(cls, number: int, request: HttpRequest, identity: Identity | None) -> RecordedRequest:
        return cls(
            number,
            request.method,
            request.path,
            request.target,
            request.query,
            request.headers,
            request.body,
            _parse_json(request.body),
            identity,
        )

    @property
    def is_completion(self) -> bool:
        return self.method == "POST" and self.path in COMPLETION_PATHS

    @property
    def signature_prompt(self) -> str:
        value = self.json.get("signature_prompt") if isinstance(self.json, dict) else None
        return value if isinstance(value, str) else ""


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
