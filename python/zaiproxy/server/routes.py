"""The API routes, as one FastAPI router: ``create_app`` includes it, and an existing FastAPI app
can mount it (``app.include_router(zaiproxy.server.router)``), using the process's settings.

Handlers take the raw request: the core reads the JSON body itself, so there is no pydantic model
in the way (and a bad body is a 400 in the API's own shape, not FastAPI's 422).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from zaiproxy.server import status_page
from zaiproxy.server.body import read_json_object
from zaiproxy.server.completions import (
    ANTHROPIC,
    OPENAI,
    answer_errors,
    chat_response,
    service_of,
)
from zaiproxy.server.errors import ApiError
from zaiproxy.server.service import ProxyService, close_default_service
from zaiproxy.server.token_estimate import estimate_request_tokens


@asynccontextmanager
async def _close_default_service(_: FastAPI) -> AsyncIterator[None]:
    yield
    await close_default_service()


router = APIRouter(lifespan=_close_default_service)


def _json_body(description: str) -> dict[str, Any]:
    """The OpenAPI description of a JSON body the handler reads itself (for /docs)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


@router.post(
    "/v1/chat/completions",
    tags=["OpenAI"],
    openapi_extra=_json_body("An OpenAI chat completions request."),
)
async def chat_completions(request: Request) -> Response:
    """OpenAI chat completions: streaming (SSE) or not, tools, images, thinking."""
    return await chat_response(OPENAI, request)


@router.get("/v1/models", tags=["OpenAI"])
async def list_models(request: Request) -> Response:
    """The model names this proxy accepts: the catalogue's aliases and their variants."""

    async def handle(service: ProxyService, request: Request) -> Response:
        service.auth.check(request)
        listing = service.models.listing(await service.upstream_model_ids())
        return JSONResponse(listing)

    return await answer_errors(OPENAI, request, handle)


async def _messages(request: Request) -> Response:
    return await chat_response(ANTHROPIC, request)


async def _count_tokens(request: Request) -> Response:
    async def handle(service: ProxyService, request: Request) -> Response:
        service.auth.check(request)
        body = await read_json_object(request, service.settings.max_body_bytes)
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(
            isinstance(message, dict) and isinstance(message.get("role"), str)
            for message in messages
        ):
            raise ApiError(400, "messages must be a list of objects with a role", param="messages")
        return JSONResponse({"input_tokens": estimate_request_tokens(body)})

    return await answer_errors(ANTHROPIC, request, handle)


for prefix in ("", "/anthropic"):
    router.add_api_route(
        f"{prefix}/v1/messages",
        _messages,
        methods=["POST"],
        tags=["Anthropic"],
        summary="Anthropic Messages: streaming or not, tools, thinking",
        openapi_extra=_json_body("An Anthropic Messages request."),
        name=f"messages{prefix.replace('/', '_')}",
    )
    router.add_api_route(
        f"{prefix}/v1/messages/count_tokens",
        _count_tokens,
        methods=["POST"],
        tags=["Anthropic"],
        summary="An estimate of a Messages request's input tokens",
        openapi_extra=_json_body("An Anthropic Messages request (without max_tokens)."),
        name=f"count_tokens{prefix.replace('/', '_')}",
    )


@router.get("/health", tags=["Status"])
async def health() -> Response:
    """Liveness: answers while the worker runs (no upstream call)."""
    return JSONResponse({"status": "healthy", "timestamp": int(time.time() * 1000)})


@router.get("/", tags=["Status"], response_model=None)
async def status(request: Request) -> Response:
    """A status page for browsers; JSON for API clients (as the older proxies answered)."""
    service = service_of(request)
    summary = status_page.summary(service)
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(status_page.render(summary))
    return Response(json.dumps(summary), media_type="application/json")


@router.options("/", include_in_schema=False)
async def status_options() -> Response:
    return Response(status_code=200)
