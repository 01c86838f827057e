"""Reading a request body: bounded in size, JSON object or a clear 400 (never FastAPI's 422)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from zaiproxy.server.errors import ApiError


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the request body is larger than the limit of {limit} bytes " "(ZAIPROXY_MAX_BODY_BYTES)",
        code="request_too_large",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; 413 as soon as it is known to exceed ``limit`` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts = []
    size = 0
    # Straight from ASGI receive: Request.stream()'s generator costs more than the loop itself.
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise _too_large(limit)
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; a 400 naming what is wrong otherwise."""
    body = await read_body(request, limit)
    if not body.strip():
        raise ApiError(400, "the request body is empty; send a JSON object", code="invalid_json")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            400, f"the request body is not valid JSON: {error}", code="invalid_json"
        ) from None
    except RecursionError:
        raise ApiError(
            400, "the request body is nested too deeply to be a chat request", code="invalid_json"
        ) from None
    if not isinstance(document, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
    return document
