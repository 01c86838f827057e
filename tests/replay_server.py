"""A loopback HTTP server that answers OpenAI and Anthropic requests by running an upstream
response body through core.Pipeline, writing each piece of output as soon as it is ready.

`upstream(request, dialect, messages)` returns the chat.z.ai bytes to replay for a request;
`messages` is the conversation the upstream would receive (core.build_upstream_messages). The
request's tools, tool_choice and parallel_tool_calls configure the pipeline as the server does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from zaiproxy import core

Upstream = Callable[[dict[str, Any], str, list[dict[str, Any]]], bytes]
READ_SIZE = 37  # small, odd-sized upstream reads so events straddle them


def _error_body(dialect: str, message: str) -> bytes:
    if dialect == "anthropic":
        error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    else:
        error = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return json.dumps(error).encode()


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class ReplayHandler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, content_type: str, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if content_type == "application/json":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            dialect = "anthropic" if self.path == "/v1/messages" else "openai"
            streaming = bool(request.get("stream"))
            try:
                messages = core.build_upstream_messages(request, dialect)["messages"]
                pipeline = core.Pipeline(
                    output=f"{dialect}-{'sse' if streaming else 'json'}",
                    model=request["model"],
                    include_usage=bool(request.get("stream_options", {}).get("include_usage")),
                    tools=request.get("tools"),
                    tool_choice=request.get("tool_choice"),
                    parallel_tool_calls=request.get("parallel_tool_calls", True),
                )
            except core.RequestError as e:
                self._send(400, "application/json", _error_body(dialect, str(e)))
                return
            stream = upstream(request, dialect, messages)
            if streaming:
                self._send(200, "text/event-stream")
                for start in range(0, len(stream), READ_SIZE):
                    self.wfile.write(pipeline.feed(stream[start : start + READ_SIZE]))
                    self.wfile.flush()
                self.wfile.write(pipeline.finish())
                return
            out = pipeline.feed(stream) + pipeline.finish()
            error = pipeline.error
            self._send(error["http_status"] if error else 200, "application/json", out)

    return ReplayHandler


@contextmanager
def replay_server(upstream: Upstream) -> Iterator[str]:
    """Serves on 127.0.0.1 and yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
