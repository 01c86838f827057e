"""The chat routes' shared path: authenticate, read, plan, open the upstream stream, answer.

The OpenAI and Anthropic routes differ only in their dialect: which body the plan reads, which
output the core encodes and which error shape the client gets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from zaiproxy import core
from zaiproxy.server.body import read_json_object
from zaiproxy.server.disconnect import DisconnectWatch
from zaiproxy.server.errors import ApiError, from_upstream
from zaiproxy.server.service import ProxyService, default_service
from zaiproxy.server.streaming import EngineStreamResponse
from zaiproxy.upstream import UpstreamError

log = logging.getLogger("zaiproxy.server")


@dataclass(frozen=True)
class Api:
    dialect: str  # "openai" or "anthropic"
    stream_output: str
    json_output: str


OPENAI = Api("openai", "openai-sse", "openai-json")
ANTHROPIC = Api("anthropic", "anthropic-sse", "anthropic-json")


def service_of(request: Request) -> ProxyService:
    """The app's service (create_app), or the process default when the router is mounted into
    someone else's app."""
    service = getattr(request.app.state, "zaiproxy", None)
    return service if service is not None else default_service()


async def answer_errors(
    api: Api, request: Request, handle: Callable[[ProxyService, Request], Awaitable[Response]]
) -> Response:
    """Runs a route; any failure becomes an error response in the route's own API shape."""
    try:
        return await handle(service_of(request), request)
    except ApiError as error:
        return error.response(api.dialect)
    except core.RequestError as error:
        return ApiError(
            error.status, str(error), param=error.param or None, code="invalid_request"
        ).response(api.dialect)
    except UpstreamError as error:
        log.warning("upstream failure: %s", error)
        return from_upstream(error).response(api.dialect)
    except ClientDisconnect:
        # Gone before its answer started: nobody reads this response, it is only for the log.
        log.info("client disconnected before its answer started; upstream request cancelled")
        return Response(status_code=400)
    except Exception:
        log.exception("internal error on %s", request.url.path)
        return ApiError(500, "internal error in zaiproxy; see the server log").response(api.dialect)


async def chat_response(api: Api, request: Request) -> Response:
    """The whole answer to a chat request of ``api``, errors included."""
    return await answer_errors(api, request, lambda service, request: chat(api, service, request))


async def chat(api: Api, service: ProxyService, request: Request) -> Response:
    service.auth.check(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    call = service.prepare(body, api.dialect, request.headers)
    client = service.client
    plan = client.plan(call.body, api.dialect)
    watch = DisconnectWatch(request.receive)
    try:
        stream = await client.open(
            plan,
            output=api.stream_output if call.stream else api.json_output,
            think=call.think,
            include_usage=call.include_usage,
            input_tokens=call.input_tokens,
        )
        if call.stream:
            return EngineStreamResponse(stream, watch)  # which stops the watch at its end
        async with stream:
            content = b"".join([data async for data in stream])
    except BaseException as error:
        watch.stop()
        if isinstance(error, asyncio.CancelledError) and watch.disconnected:
            raise ClientDisconnect() from None
        raise
    watch.stop()
    if stream.error is not None:
        # Nothing went out yet: a client that did not stream gets a real error, not half a reply.
        raise ApiError(
            502,
            f"the upstream failed mid-reply: {stream.error['message']}",
            code=str(stream.error.get("code") or "upstream_error"),
            error_type="upstream_error",
        )
    return Response(content, media_type="application/json")
