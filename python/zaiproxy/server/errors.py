"""Errors in each API's own shape: OpenAI error objects on OpenAI routes, Anthropic error objects
on Anthropic routes, with the status code a client of that API expects.

Upstream failures (``UpstreamError``) become 429 / 502 / 503 / 504 carrying the upstream's detail,
so an operator reading a client's error sees what chat.z.ai said and which setting to change.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from zaiproxy.upstream import errors as upstream

# OpenAI's error "type" per status (the values its SDK and clients know).
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}

# Anthropic's error "type" per status (https://docs.anthropic.com/en/api/errors).
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def _openai_type(status: int) -> str:
    """The type of a status without its own entry: any other 4xx is the client's error."""
    if status < 500:
        return "invalid_request_error"
    return "server_error" if status < 502 else "upstream_error"


class ApiError(Exception):
    """A failure to answer with an error response (before any byte of a reply went out)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.error_type = error_type
        self.headers = headers or {}

    def openai_body(self) -> dict[str, object]:
        error_type = self.error_type or _OPENAI_TYPES.get(self.status) or _openai_type(self.status)
        return {
            "error": {
                "message": self.message,
                "type": error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def anthropic_body(self) -> dict[str, object]:
        return {
            "type": "error",
            "error": {
                "type": _ANTHROPIC_TYPES.get(self.status, "api_error"),
                "message": self.message,
            },
        }

    def response(self, dialect: str) -> Response:
        body = self.anthropic_body() if dialect == "anthropic" else self.openai_body()
        return Response(
            json.dumps(body, ensure_ascii=False),
            status_code=self.status,
            media_type="application/json",
            headers=self.headers,
        )


def _status_for(error: upstream.UpstreamError) -> int:
    if isinstance(error, upstream.RateLimited):
        return 429
    if isinstance(error, upstream.UpstreamTimeout):
        return 504
    if isinstance(error, upstream.ModelNotAvailable):
        return 403
    if isinstance(error, upstream.StreamCancelled):
        return 503
    if isinstance(error, upstream.NoIdentity):
        # The identity provider's own verdict: 403 (the model needs an account) or 503.
        return error.status
    if isinstance(error, upstream.UpstreamServerError) and error.status == 503:
        return 503
    # Everything else is the upstream refusing or failing us, not the client's request.
    return 502


def from_upstream(error: upstream.UpstreamError) -> ApiError:
    """The client-facing error for an upstream failure, with the upstream's own detail."""
    detail = error.message
    if error.kind == "http" and error.status and not isinstance(error, upstream.NoIdentity):
        detail = f"upstream answered HTTP {error.status}: {detail}"
    status = _status_for(error)
    return ApiError(
        status,
        detail,
        code=error.code or None,
        error_type=None if status in (403, 429) else "upstream_error",
        headers={"Retry-After": "1"} if status in (429, 503) else None,
    )
