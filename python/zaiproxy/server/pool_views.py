"""The JSON the admin endpoints answer with: the dashboard's own view, and the exact shapes of
the older proxies' endpoints (compatibility.md §3), so their scripts and pages keep working.

Tokens only ever appear by their id (an HMAC) and display (``token:<first 8 hex>``); where an
older shape had a masked token, the display stands in for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zaiproxy.tokens.stats import (
    GUEST_DISPLAY,
    RequestRecord,
    Statistics,
    local_time,
    milliseconds,
)
from zaiproxy.tokens.store import (
    ROLE_GUEST,
    ROLE_INVALID,
    ROLE_USER,
    TokenRecord,
)

STATE_SERVING = "serving"
STATE_COOLING = "cooling"
STATE_DISABLED = "disabled"
STATES = (STATE_SERVING, STATE_COOLING, STATE_DISABLED, ROLE_GUEST, ROLE_INVALID)


def iso(moment: float, timespec: str = "milliseconds") -> str | None:
    """``local_time``, or None for 'never' (0)."""
    return local_time(moment, timespec) if moment else None


def token_state(record: TokenRecord, now: float) -> str:
    if not record.enabled:
        return STATE_DISABLED
    if record.role in (ROLE_GUEST, ROLE_INVALID):
        return record.role
    return STATE_COOLING if record.cooling(now) else STATE_SERVING


def pool_counts(records: Sequence[TokenRecord], now: float) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for record in records:
        counts[token_state(record, now)] += 1
    return {"total": len(records), **counts}


def next_index(records: Sequence[TokenRecord]) -> int:
    """Where the round robin goes next: after the token used last."""
    if not records:
        return 0
    last = max(range(len(records)), key=lambda i: records[i].last_used)
    return 0 if not records[last].last_used else (last + 1) % len(records)


# ── the dashboard's own view ──


def token_view(record: TokenRecord, now: float) -> dict[str, Any]:
    return {
        "token_id": record.token_id,
        "display": record.display,
        "source": record.source,
        "enabled": record.enabled,
        "role": record.role,
        "state": token_state(record, now),
        "failures": record.failures,
        "successes": record.successes,
        "total_failures": record.total_failures,
        "cooldown_seconds": max(0, round(record.cooldown_until - now)),
        "last_used": iso(record.last_used),
        "last_status": record.last_status,
        "last_error": record.last_error,
        "checked_at": iso(record.checked_at),
    }


# ── z.ai2api_python (seed 000): /v1/token-pool/* ──


def pool_info(records: Sequence[TokenRecord], now: float) -> dict[str, Any]:
    tokens: list[dict[str, Any]] = []
    for record in records:
        available = token_state(record, now) == STATE_SERVING
        healthy = available and record.role == ROLE_USER
        total = record.successes + record.total_failures
        rate = record.successes / total if total else 0.0
        tokens.append(
            {
                "token": record.display,
                "token_type": record.role,
                "is_available": available,
                "failure_count": record.failures,
                "success_count": record.successes,
                "success_rate": f"{rate * 100:.2f}%",
                "total_requests": total,
                "is_healthy": healthy,
                "last_failure_time": record.last_failure,
                "last_success_time": record.last_success,
            }
        )
    available_count = sum(bool(t["is_available"]) for t in tokens)
    healthy_count = sum(bool(t["is_healthy"]) for t in tokens)
    return {
        "total_tokens": len(tokens),
        "available_tokens": available_count,
        "unavailable_tokens": len(tokens) - available_count,
        "healthy_tokens": healthy_count,
        "unhealthy_tokens": len(tokens) - healthy_count,
        "current_index": next_index(records),
        "tokens": tokens,
    }


# ── Z.ai2api (seed 003): /token-pool/status, /dashboard/api/* ──


def token_pool(records: Sequence[TokenRecord], now: float) -> dict[str, Any]:
    return {
        "size": len(records),
        "next_index": next_index(records),
        "tokens": [
            {
                "token_id": record.token_id,
                "display": record.display,
                "index": index,
                "failures": record.failures,
                "successes": record.successes,
                "disabled": token_state(record, now) != STATE_SERVING,
                "cooldown_seconds": max(0, round(record.cooldown_until - now)),
                "last_disabled_at": iso(record.last_failure, "seconds")
                if record.cooling(now)
                else None,
            }
            for index, record in enumerate(records)
        ],
    }


def token_stats(records: Sequence[TokenRecord], stats: Statistics) -> list[dict[str, Any]]:
    """Per-token request counts from the request log: pool tokens, then guests."""
    by_display = {record.display: record for record in records}
    entries = []
    for display, (success, failure) in stats.tokens.items():
        record = by_display.get(display)
        if record is not None:
            token_id, source = record.token_id, "pool"
        elif display == GUEST_DISPLAY:
            token_id, source = None, "anonymous"
        else:
            continue  # a token deleted since, or requests that never reached the upstream
        entries.append(
            {
                "token_id": token_id,
                "display": display,
                "source": source,
                "success": success,
                "failure": failure,
            }
        )
    return entries


def overview_request(record: RequestRecord) -> dict[str, Any]:
    entry = {
        "timestamp": iso(record.timestamp, "seconds"),
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "duration_ms": milliseconds(record.duration),
        "client_ip": record.client_ip,
        "token_display": record.token_display,
        "token_source": record.token_source,
    }
    if record.error:
        entry["error"] = record.error
    return entry


# ── ZtoApi (seed 004): /dashboard/stats, /dashboard/requests (Go field names, nanoseconds) ──

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def go_stats(stats: Statistics, newest: RequestRecord | None) -> dict[str, Any]:
    totals = stats.totals
    return {
        "TotalRequests": totals.total_requests,
        "SuccessfulRequests": totals.success_requests,
        "FailedRequests": totals.failure_requests,
        "LastRequestTime": iso(newest.timestamp) if newest else GO_ZERO_TIME,
        "AverageResponseTime": round(totals.average_response_time_ms * 1_000_000),
    }


def go_request(record: RequestRecord) -> dict[str, Any]:
    return {
        "id": str(round(record.timestamp * 1e9)),
        "timestamp": iso(record.timestamp, "seconds"),
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "duration": round(record.duration * 1000),
        "user_agent": record.user_agent,
    }
