"""The bundled ASGI app: the router, CORS, error shapes for every path, and the lifespan that
warms the guest pool and stops the engine thread."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from zaiproxy import core
from zaiproxy.config import ENV_FILE_VARIABLE, Settings
from zaiproxy.server import admin_routes
from zaiproxy.server.dashboard import dashboard_router
from zaiproxy.server.errors import ApiError
from zaiproxy.server.fast_path import ChatFastPath, chat_endpoint
from zaiproxy.server.routes import router
from zaiproxy.server.service import ProxyService

log = logging.getLogger("zaiproxy.server")


def _dialect_of(path: str) -> str:
    return "anthropic" if path.startswith(("/anthropic/", "/v1/messages")) else "openai"


async def _http_error(request: Request, error: Exception) -> Response:
    """Unknown paths (404), wrong methods (405) and the like, in the path's API shape."""
    assert isinstance(error, HTTPException)
    message = str(error.detail)
    if error.status_code == 404:
        message = f"no route {request.method} {request.url.path} (see /docs)"
    return ApiError(error.status_code, message, headers=dict(error.headers or {})).response(
        _dialect_of(request.url.path)
    )


async def _internal_error(request: Request, error: Exception) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=error)
    return ApiError(500, "internal error in zaiproxy; see the server log").response(
        _dialect_of(request.url.path)
    )


class _RootPath:
    """Serves the app under ROOT_PATH behind a reverse proxy. The path prefix is set here rather
    than by the ASGI server (whose own option would prefix it a second time when the proxy
    forwards the full path), so both the forwarded and the stripped paths route."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["root_path"] = self.root_path
        await self.app(scope, receive, send)


class ProxyApp(FastAPI):
    """FastAPI with the chat routes answered ahead of its middleware stack (see fast_path)."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(**options)
        self._root_path = settings.root_path
        self._cors = {
            "allow_origins": list(settings.cors_origins),
            "allow_credentials": True,
            "allow_methods": ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            # Any header: the auth carriers (Authorization, X-Auth-Token, x-api-key) and the
            # SDKs' own (anthropic-version, x-stainless-*) alike.
            "allow_headers": ["*"],
        }
        self.add_middleware(CORSMiddleware, **self._cors)

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = ChatFastPath(
            super().build_middleware_stack(),
            chat=chat_endpoint,
            cors_chat=CORSMiddleware(chat_endpoint, **self._cors),
        )
        return _RootPath(app, self._root_path) if self._root_path else app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The proxy as an ASGI app; ``settings`` default to the environment (and ``.env``)."""
    if settings is None:
        settings = Settings.from_env(env_file=os.environ.get(ENV_FILE_VARIABLE) or None)
    service = ProxyService(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for warning in settings.warnings():
            log.warning("%s", warning)
        service.start()
        try:
            yield
        finally:
            await service.close()

    app = ProxyApp(
        settings,
        title="zaiproxy",
        version=core.__version__,
        summary="Unofficial OpenAI- and Anthropic-compatible API for the Z.ai GLM models",
        lifespan=lifespan,
    )
    app.state.zaiproxy = service
    app.include_router(router)
    app.include_router(admin_routes.router)
    if settings.dashboard_enabled:
        app.include_router(admin_routes.dashboard_api)
        app.include_router(dashboard_router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    return app
