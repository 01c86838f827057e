"""The chat routes without the framework's per-request machinery.

A chat request is the proxy's hot path, and FastAPI's exception, routing and dependency layers
cost more CPU than the rest of the Python side of a request. This ASGI middleware answers the
chat routes directly, with the same handlers the router's routes use (so behaviour is
identical); everything else, and the OpenAPI description of these routes, stays with FastAPI.
It sits inside the CORS middleware, so CORS applies to it as to any route.
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


class ChatFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = CHAT_ROUTES.get(_route_path(scope)) if scope["type"] == "http" else None
        if api is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        response = await chat_response(api, Request(scope, receive))
        await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below ROOT_PATH, as the router matches it (a forwarded full path included)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
