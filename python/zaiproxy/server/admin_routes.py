"""The admin endpoints: the token pool, the statistics and the request log, for the dashboard,
for Prometheus, and in the older proxies' exact shapes. Every one requires an admin
(``admin_auth``): a session cookie, or ADMIN_PASSWORD / an API key by any of the API's carriers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zaiproxy.server import pool_views
from zaiproxy.server.admin_auth import AdminDenied
from zaiproxy.server.completions import service_of
from zaiproxy.server.errors import ApiError
from zaiproxy.server.operations import Operations
from zaiproxy.server.service import ProxyService
from zaiproxy.tokens.pool import TokenPool
from zaiproxy.tokens.sources import parse_token_text
from zaiproxy.tokens.stats import (
    CONTENT_TYPE,
    Gauge,
    RequestRecord,
    render_prometheus,
    series_points,
    statistics,
)
from zaiproxy.tokens.store import ROLE_USER, SOURCE_API, SOURCE_DASHBOARD

log = logging.getLogger("zaiproxy.server")

# The older proxies' error bodies: z.ai2api_python (FastAPI) said {"detail": …}, Z.ai2api and
# the dashboard {"error": …}.
DETAIL = "detail"
ERROR = "error"
MAX_STATE_MINUTES = 24 * 60


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[Request, ProxyService, Operations], Awaitable[Any]]


def admin_route(style: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Checks the admin, runs the handler and answers its result as JSON (a Response as is);
    a refusal or an AdminError becomes ``{style: message}`` with its status."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            service = service_of(request)
            try:
                (await service.admin_auth()).check(request)
                result = await handler(request, service, service.operations)
            except AdminDenied as denied:
                message = "unauthorized" if denied.status == 401 else str(denied)
                return JSONResponse({style: message}, status_code=denied.status)
            except (AdminError, ApiError) as error:
                return JSONResponse({style: error.message}, status_code=error.status)
            except service.operations.store.errors as error:
                log.error("the token store failed on %s: %s", request.url.path, error)
                message = f"the token store failed: {error}"
                return JSONResponse({style: message}, status_code=503)
            return result if isinstance(result, Response) else JSONResponse(result)

        # Not functools.wraps: FastAPI would read the handler's parameters as the route's.
        route.__name__, route.__doc__ = handler.__name__, handler.__doc__
        return route

    return wrap


async def _json(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise AdminError(400, "the body is not valid JSON") from None


def _token_list(value: Any) -> list[str]:
    """Tokens given as one pasted text (newlines / commas) or a JSON list of them."""
    if isinstance(value, str):
        return list(parse_token_text(value))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(parse_token_text("\n".join(value)))
    return []


async def _recent(operations: Operations, limit: int = 100) -> list[RequestRecord]:
    return [RequestRecord.from_json(text) for text in await operations.store.recent(limit)]


router = APIRouter(tags=["Admin"])
dashboard_api = APIRouter(tags=["Dashboard"])


# ── z.ai2api_python's /v1/token-pool/* ──


def _pool_config(service: ProxyService, pool: TokenPool) -> dict[str, Any]:
    return {
        "anonymous_mode": service.settings.anonymous_mode,
        "failure_threshold": pool.policy.failure_threshold,
        "recovery_timeout": pool.policy.recovery_timeout,
        "health_check_interval": service.settings.token_health_check_interval,
    }


@router.get("/v1/token-pool/status")
@admin_route(DETAIL)
async def pool_status(request: Request, service: ProxyService, operations: Operations) -> Any:
    """The pool in z.ai2api_python's shape."""
    pool = operations.pool
    records = await pool.tokens()
    if not records:
        return {
            "status": "disabled",
            "message": "the token pool is empty: guest sessions serve"
            if service.settings.anonymous_mode
            else "the token pool is empty",
            "anonymous_mode": service.settings.anonymous_mode,
            "auth_tokens_file": service.settings.tokens_file,
            "auth_tokens_configured": False,
        }
    return {
        "status": "active",
        "pool_info": pool_views.pool_info(records, time.time()),
        "config": _pool_config(service, pool),
    }


@router.post("/v1/token-pool/health-check")
@admin_route(DETAIL)
async def pool_health_check(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Checks every token with the auths endpoint, in z.ai2api_python's shape."""
    pool = operations.pool
    started = time.monotonic()
    results = await pool.check()
    if not results:
        raise AdminError(404, "the token pool is empty")
    duration = time.monotonic() - started
    healthy = sum(r.role == ROLE_USER for r in results)
    unhealthy = len(results) - healthy
    answer: dict[str, Any] = {
        "status": "completed",
        "message": f"health check completed in {duration:.2f} s",
        "summary": {
            "total_tokens": len(results),
            "healthy_tokens": healthy,
            "unhealthy_tokens": unhealthy,
            "health_rate": f"{healthy / len(results) * 100:.1f}%",
            "duration_seconds": round(duration, 2),
        },
        "pool_info": pool_views.pool_info(await pool.tokens(), time.time()),
    }
    if unhealthy:
        answer["recommendations"] = [
            f"{r.display}: {r.error or 'the token belongs to a guest'}"
            for r in results
            if r.role != ROLE_USER
        ]
    return answer


@router.post("/v1/token-pool/update")
@admin_route(DETAIL)
async def pool_update(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Makes the pool exactly the given JSON list of tokens (z.ai2api_python's semantics)."""
    tokens = _token_list(await _json(request))
    if not tokens:
        raise AdminError(400, "a non-empty JSON list of tokens is required")
    pool = operations.pool
    await pool.add(tokens, SOURCE_API)
    keep = {pool.id_of(t) for t in tokens}
    await pool.remove([r.token_id for r in await pool.tokens() if r.token_id not in keep])
    records = await pool.tokens()
    return {
        "status": "updated",
        "message": f"the token pool now has {len(records)} token(s)",
        "pool_info": pool_views.pool_info(records, time.time()),
    }


# ── Z.ai2api's /token-pool/status and /dashboard/api/{overview,tokens} ──


async def _pool_and_stats(operations: Operations) -> dict[str, Any]:
    records = await operations.pool.tokens()
    stats = statistics(await operations.store.counters())
    return {
        "token_pool": pool_views.token_pool(records, time.time()),
        "token_stats": pool_views.token_stats(records, stats),
    }


@router.get("/token-pool/status")
@admin_route(ERROR)
async def legacy_pool_status(
    request: Request, service: ProxyService, operations: Operations
) -> Any:
    return await _pool_and_stats(operations)


@dashboard_api.get("/dashboard/api/overview")
@admin_route(ERROR)
async def overview(request: Request, service: ProxyService, operations: Operations) -> Any:
    stats = statistics(await operations.store.counters())
    totals = stats.totals
    return {
        "anonymous_mode": service.settings.anonymous_mode,
        "stats": {
            "total_requests": totals.total_requests,
            "success_requests": totals.success_requests,
            "failure_requests": totals.failure_requests,
            "average_response_time": totals.average_response_time_ms,
        },
        "recent_requests": [pool_views.overview_request(r) for r in await _recent(operations)],
        **await _pool_and_stats(operations),
    }


@dashboard_api.get("/dashboard/api/tokens")
@admin_route(ERROR)
async def list_tokens(request: Request, service: ProxyService, operations: Operations) -> Any:
    return await _pool_and_stats(operations)


@dashboard_api.post("/dashboard/api/tokens")
@admin_route(ERROR)
async def add_tokens(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Adds pasted tokens: ``{"tokens": "a,b\\nc" | [...]}`` or ``{"token": "x"}``."""
    body = await _json(request)
    body = body if isinstance(body, dict) else {}
    tokens = _token_list(body.get("tokens")) + _token_list(body.get("token"))
    if not tokens:
        raise AdminError(400, "token required")
    await operations.pool.add(tokens, SOURCE_DASHBOARD)
    return {"ok": True, **await _pool_and_stats(operations)}


@dashboard_api.delete("/dashboard/api/tokens")
@admin_route(ERROR)
async def delete_tokens(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Deletes by id (``token_ids`` / ``token_id``) or by the token itself (``tokens`` /
    ``token``)."""
    body = await _json(request)
    body = body if isinstance(body, dict) else {}
    pool = operations.pool
    ids = _token_list(body.get("token_ids")) + _token_list(body.get("token_id"))
    ids += [pool.id_of(t) for t in _token_list(body.get("tokens")) + _token_list(body.get("token"))]
    if not ids:
        raise AdminError(400, "token required")
    await pool.remove(ids)
    return {"ok": True, **await _pool_and_stats(operations)}


# ── the dashboard's own endpoints ──


@dashboard_api.get("/dashboard/api/state")
@admin_route(ERROR)
async def dashboard_state(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Everything the dashboard page shows, in one answer."""
    try:
        minutes = min(MAX_STATE_MINUTES, max(1, int(request.query_params.get("minutes", 60))))
    except ValueError:
        raise AdminError(400, "minutes must be a whole number") from None
    now = time.time()
    end_minute = int(now // 60 * 60)
    store = operations.store
    records = await operations.pool.tokens()
    stats = statistics(await store.counters())
    series = await store.series(end_minute - (minutes - 1) * 60)
    return {
        "now": now,
        "anonymous_mode": service.settings.anonymous_mode,
        "store": operations.store.kind,
        **stats.to_json(),
        "series": series_points(series, end_minute=end_minute, minutes=minutes),
        "recent_requests": [r.log_entry() for r in await _recent(operations)],
        "pool": pool_views.pool_counts(records, now),
        "tokens": [pool_views.token_view(r, now) for r in records],
    }


def _token_action(
    act: Callable[[TokenPool, str], Awaitable[bool]],
) -> Handler:
    async def handler(request: Request, service: ProxyService, operations: Operations) -> Any:
        if not await act(operations.pool, request.path_params["token_id"]):
            raise AdminError(404, "no such token")
        return {"ok": True}

    return handler


for _action, _act in (
    ("enable", lambda pool, token_id: pool.set_enabled(token_id, True)),
    ("disable", lambda pool, token_id: pool.set_enabled(token_id, False)),
    ("reset", lambda pool, token_id: pool.reset(token_id)),
):
    dashboard_api.add_api_route(
        f"/dashboard/api/tokens/{{token_id}}/{_action}",
        admin_route(ERROR)(_token_action(_act)),
        methods=["POST"],
        name=f"{_action}_token",
        summary=f"{_action.capitalize()} one pooled token",
    )


@dashboard_api.post("/dashboard/api/health-check")
@admin_route(ERROR)
async def health_check(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Checks the given tokens (``{"token_ids": [...]}``), or all, with the auths endpoint."""
    body = await _json(request)
    ids = _token_list(body.get("token_ids")) if isinstance(body, dict) else []
    results = await operations.pool.check(ids or None)
    return {
        "ok": True,
        "results": [
            {"token_id": r.token_id, "display": r.display, "role": r.role, "error": r.error}
            for r in results
        ],
    }


# ── ZtoApi's /dashboard/stats and /dashboard/requests ──


@dashboard_api.get("/dashboard/stats")
@admin_route(ERROR)
async def go_stats(request: Request, service: ProxyService, operations: Operations) -> Any:
    recent = await _recent(operations, 1)
    stats = statistics(await operations.store.counters())
    return pool_views.go_stats(stats, recent[0] if recent else None)


@dashboard_api.get("/dashboard/requests")
@admin_route(ERROR)
async def go_requests(request: Request, service: ProxyService, operations: Operations) -> Any:
    return [pool_views.go_request(r) for r in reversed(await _recent(operations))]


# ── Prometheus ──


@router.get("/metrics")
@admin_route(ERROR)
async def metrics(request: Request, service: ProxyService, operations: Operations) -> Any:
    """Prometheus metrics (scrape with the admin password or an API key as bearer token)."""
    now = time.time()
    counts = pool_views.pool_counts(await operations.pool.tokens(), now)
    guests = service.client.identities.guest_sessions
    gauges = [
        Gauge(
            "zaiproxy_pool_tokens",
            "Pooled upstream tokens by state.",
            [({"state": state}, counts[state]) for state in pool_views.STATES],
        ),
        Gauge(
            "zaiproxy_guest_sessions",
            "Guest sessions held by this process.",
            [({}, len(guests))],
        ),
    ]
    text = render_prometheus(await operations.store.counters(), gauges)
    return Response(text, media_type=CONTENT_TYPE)
