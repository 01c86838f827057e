"""Typed upstream failures: what went wrong before a response could start.

The engine reports a failure instead of any output byte, so each of these can still become a real
HTTP error for the client, or a retry with another identity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zaiproxy._core import ErrorDict, FailureDict

# Phrases chat.z.ai uses when an account has too many requests in flight (upstream-protocol §4.8).
_CONCURRENCY_MARKERS = ("concurrency", "too many requests", "并发")


class UpstreamError(Exception):
    """The upstream request failed before any output reached the client."""

    #: the kind the engine reported: http, in_stream, connect, timeout, network, cancelled
    kind: str
    #: the status to answer the client with (the upstream's own for HTTP failures)
    status: int
    #: the upstream's error code ("426", "FRONTEND_CAPTCHA_REQUIRED", …) or curl's ("curl:7")
    code: str
    #: the start of the upstream's error body, for HTTP failures
    body: bytes

    def __init__(
        self, message: str, *, kind: str, status: int, code: str = "", body: bytes = b""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.code = code
        self.body = body

    @property
    def retryable(self) -> bool:
        """Worth another attempt with another identity (only before the first byte went out)."""
        return False

    @classmethod
    def from_stream_error(cls, error: ErrorDict) -> UpstreamError:
        """The typed error for the error frame that ended a stream after output had flowed."""
        failure: FailureDict = {
            "kind": "in_stream",
            "http_status": int(error["http_status"]) or 502,
            "code": str(error["code"]),
            "message": error["message"],
            "body": b"",
        }
        return cls.from_failure(failure)

    @classmethod
    def from_failure(cls, failure: FailureDict) -> UpstreamError:
        """The most specific error class for an engine failure."""
        error_class = _classify(failure)
        return error_class(
            failure["message"],
            kind=failure["kind"],
            status=failure["http_status"],
            code=failure["code"],
            body=failure["body"],
        )


class SignatureRejected(UpstreamError):
    """HTTP 400 "Signature validation failed": the profile's signing key or FE version is stale."""


class TokenRejected(UpstreamError):
    """HTTP 401: the token is invalid or expired."""

    @property
    def retryable(self) -> bool:
        return True


class FirewallBlocked(UpstreamError):
    """HTTP 405 from the upstream's WAF (often a stale front-end version or user agent)."""


class ClientOutdated(UpstreamError):
    """HTTP 426 (or in-stream 426): the profile's front-end version is out of date."""


class RateLimited(UpstreamError):
    """HTTP 429 or a concurrency-limit error: another identity may succeed."""

    @property
    def retryable(self) -> bool:
        return True


class ModelNotAvailable(UpstreamError):
    """The identity may not use this model (guests and GLM-5 and newer, in-stream 403)."""


class CaptchaRequired(UpstreamError):
    """The upstream asks for a captcha (FRONTEND_CAPTCHA_REQUIRED)."""


class UpstreamServerError(UpstreamError):
    """HTTP 5xx from the upstream."""


class UpstreamRefused(UpstreamError):
    """Any other refusal, HTTP or in-stream."""


class UpstreamTimeout(UpstreamError):
    """Connect, first-byte or idle timeout."""


class UpstreamUnreachable(UpstreamError):
    """No connection could be made (refused, DNS, proxy, TLS)."""


class UpstreamConnectionLost(UpstreamError):
    """The connection broke before the response started (reset, truncated)."""

    @property
    def retryable(self) -> bool:
        return True


class NoIdentity(UpstreamError):
    """No configured token or guest session may serve the request; ``status`` says which case:
    403, the model needs a logged-in account; 503, none is available at all."""


class StreamCancelled(UpstreamError):
    """The request was cancelled (client gone, or the engine stopped)."""


def _is_concurrency_limit(failure: FailureDict) -> bool:
    text = failure["message"].lower()
    return failure["code"] == "429" or any(marker in text for marker in _CONCURRENCY_MARKERS)


def _classify(failure: FailureDict) -> type[UpstreamError]:
    kind = failure["kind"]
    if kind == "timeout":
        return UpstreamTimeout
    if kind == "connect":
        return UpstreamUnreachable
    if kind == "network":
        return UpstreamConnectionLost
    if kind == "cancelled":
        return StreamCancelled
    code = failure["code"]
    if _is_concurrency_limit(failure):
        return RateLimited
    if kind == "http":
        status = failure["http_status"]
        by_status: dict[int, type[UpstreamError]] = {
            401: TokenRejected,
            405: FirewallBlocked,
            426: ClientOutdated,
        }
        if status == 400 and "signature" in failure["message"].lower():
            return SignatureRejected
        if status >= 500:
            return UpstreamServerError
        return by_status.get(status, UpstreamRefused)
    # In-stream errors carry the upstream's code.
    if code == "426":
        return ClientOutdated
    if code == "401":
        return TokenRejected
    if code == "403":
        return ModelNotAvailable
    if "CAPTCHA" in code.upper():
        return CaptchaRequired
    return UpstreamRefused
