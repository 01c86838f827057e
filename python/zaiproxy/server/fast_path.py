"""The chat routes ahead of the framework's per-request machinery.

A chat request is the proxy's hot path, and FastAPI's middleware, exception, routing and
dependency layers cost more CPU than the rest of the Python side of a request. ``ChatFastPath``
sits in front of the app's middleware stack and answers the chat routes directly, with the same
handler the router's routes use (so behaviour is identical) under the same CORS policy; every
other request, and the OpenAPI description of these routes, stays with FastAPI.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from zaiproxy.server.completions import ANTHROPIC, OPENAI, Api, chat_response

CHAT_ROUTES: dict[str, Api] = {
    "/v1/chat/completions": OPENAI,
    "/v1/messages": ANTHROPIC,
    "/anthropic/v1/messages": ANTHROPIC,
}


def route_path(scope: Scope) -> str:
    """The path below ROOT_PATH, as the router matches it (a forwarded full path included)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def chat_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """A chat route as a bare ASGI app (ChatFastPath only sends it chat routes)."""
    response = await chat_response(CHAT_ROUTES[route_path(scope)], Request(scope, receive))
    await response(scope, receive, send)


class ChatFastPath:
    """Sends POSTs to the chat routes to ``chat`` (``cors_chat`` for a browser's request, which
    carries an Origin), everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, chat: ASGIApp, cors_chat: ASGIApp) -> None:
        self.app = app
        self.chat = chat
        self.cors_chat = cors_chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or route_path(scope) not in CHAT_ROUTES
        ):
            await self.app(scope, receive, send)
        elif any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors_chat(scope, receive, send)
        else:
            # No Origin, no CORS headers to add: the CORS layer would only wrap every send.
            await self.chat(scope, receive, send)
