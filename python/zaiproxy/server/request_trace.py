"""What one chat request did, gathered while it runs and written to the request log at its end
(for a stream: when the last byte went out or the client left)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from zaiproxy.tokens.stats import RequestRecord
from zaiproxy.upstream import ChatStream


class RequestTrace:
    def __init__(self, api: str, request: Request) -> None:
        self._started_at = time.time()
        self._clock_start = time.monotonic()
        self._first_byte: float | None = None
        self._api = api
        # From the scope: building request.url would cost more than the rest of the trace.
        scope = request.scope
        self._method = scope["method"]
        self._path = scope["path"]
        client = scope.get("client")
        self._client_ip = client[0] if client else ""
        self._user_agent = request.headers.get("user-agent", "")
        self._finished = False
        self.sink: Callable[[RequestRecord], None] | None = None
        self.model = ""
        self.stream = False
        self._token_id: str | None = None
        self._token_source = "none"
        self._usage: Any = None
        self._error = ""
        self._upstream_status = 0

    def opened(self, stream: ChatStream) -> None:
        """The upstream answered: remember who served it."""
        # The server's user tokens all come from the pool: without a pool id it is a guest.
        self._token_id = stream.token_id
        self._token_source = "pool" if self._token_id is not None else "anonymous"

    def first_byte(self) -> None:
        self._first_byte = time.monotonic()

    def failed(self, message: str, upstream_status: int = 0) -> None:
        self._error = message
        self._upstream_status = upstream_status

    def finish(self, status: int, stream: ChatStream | None = None) -> None:
        """Writes the record (once); ``stream`` gives the usage and any error frame."""
        if self._finished:
            return
        self._finished = True
        now = time.monotonic()
        if stream is not None:
            self._usage = stream.usage
            if stream.error is not None and not self._error:
                self.failed(str(stream.error.get("message") or "upstream error mid-reply"))
        if self.sink is None:
            return
        usage = self._usage or {}
        self.sink(
            RequestRecord(
                timestamp=self._started_at,
                method=self._method,
                path=self._path,
                api=self._api,
                model=self.model,
                stream=self.stream,
                status=status,
                duration=now - self._clock_start,
                ttfb=None if self._first_byte is None else self._first_byte - self._clock_start,
                client_ip=self._client_ip,
                user_agent=self._user_agent,
                token_id=self._token_id,
                token_source=self._token_source,
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                upstream_status=self._upstream_status,
                error=self._error,
            )
        )
