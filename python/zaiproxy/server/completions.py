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
from zaiproxy.server.request_trace import RequestTrace
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
    api: Api,
    request: Request,
    handle: Callable[[ProxyService, Request], Awaitable[Response]],
    trace: RequestTrace | None = None,
) -> Response:
    """Runs a route; any failure becomes an error response in the route's own API shape (and
    is noted in ``trace``)."""
    try:
        return await handle(service_of(request), request)
    except ApiError as error:
        failure, upstream_status = error, 0
    except core.RequestError as error:
        failure = ApiError(
            error.status, str(error), param=error.param or None, code="invalid_request"
        )
        upstream_status = 0
    except UpstreamError as error:
        log.warning("upstream failure: %s", error)
        failure, upstream_status = from_upstream(error), error.status
    except ClientDisconnect:
        # Gone before its answer started: nobody reads this response, it is only for the log.
        log.info("client disconnected before its answer started; upstream request cancelled")
        if trace is not None:
            trace.failed("client disconnected")
        return Response(status_code=499)
    except Exception:
        log.exception("internal error on %s", request.url.path)
        failure = ApiError(500, "internal error in zaiproxy; see the server log")
        upstream_status = 0
    if trace is not None:
        trace.failed(failure.message, upstream_status)
    return failure.response(api.dialect)


async def chat_response(api: Api, request: Request) -> Response:
    """The whole answer to a chat request of ``api``, errors included; the request log gets its
    record when the answer is over."""
    trace = RequestTrace(api.dialect, request)
    response = await answer_errors(
        api, request, lambda service, request: chat(api, service, request, trace), trace
    )
    if not isinstance(response, EngineStreamResponse):
        trace.finish(response.status_code)
    return response


async def chat(api: Api, service: ProxyService, request: Request, trace: RequestTrace) -> Response:
    operations = await service.ready()
    service.auth.check(request)
    # Logged from here on: a stranger's request without a key is not one of the proxy's.
    trace.sink = operations.requests.add
    body = await read_json_object(request, service.settings.max_body_bytes)
    call = service.prepare(body, api.dialect, request.headers)
    trace.model, trace.stream = call.body["model"], call.stream
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
        trace.opened(stream)
        if call.stream:
            # It stops the watch and finishes the trace at its end.
            return EngineStreamResponse(stream, watch, trace)
        async with stream:
            content = b"".join([data async for data in stream])
        trace.first_byte()
        trace.finish(200 if stream.error is None else 502, stream)
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
