"""The ASGI response of a streamed completion: the engine's ready bytes, sent as they come.

Python never looks inside a chunk: each batch the engine delivers (one or many SSE events) is one
ASGI send. A client that goes away cancels the upstream transfer at once, even while the upstream
is silent (DisconnectWatch), so the identity and the engine's buffers are released.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from zaiproxy.server.disconnect import DisconnectWatch
from zaiproxy.server.request_trace import RequestTrace
from zaiproxy.upstream import ChatStream

log = logging.getLogger("zaiproxy.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # nginx buffers proxied responses unless told not to; SSE must flow chunk by chunk.
    (b"x-accel-buffering", b"no"),
]


class EngineStreamResponse(Response):
    """Streams one started completion to the client (a Starlette response, so a FastAPI route
    can return it)."""

    def __init__(self, stream: ChatStream, watch: DisconnectWatch, trace: RequestTrace) -> None:
        # Response.__init__ would render a body; this response has none of its own.
        self.status_code = 200
        self.background = None
        self.raw_headers = list(SSE_HEADERS)
        self._stream = stream
        self._watch = watch
        self._trace = trace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            # The stream opened once output was ready: its first batch goes out now, so the
            # time to first byte is taken here rather than tested for on every chunk.
            self._trace.first_byte()
            async for data in self._stream:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not self._watch.disconnected:
                raise
            self._gone("client disconnected mid-stream")
        except OSError as error:
            # The server reports a send to a closed connection this way (uvicorn, granian).
            self._gone(f"client connection lost mid-stream ({error})")
        finally:
            self._watch.stop()
            await self._stream.aclose()
            self._trace.finish(200, self._stream)

    def _gone(self, what: str) -> None:
        log.info("%s; upstream transfer cancelled", what)
        self._trace.failed(what)
