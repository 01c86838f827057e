"""Client authentication: every carrier the older proxies accepted, constant-time comparison.

A key may come as ``Authorization: Bearer <key>``, a raw ``Authorization: <key>``,
``X-Auth-Token``, ``x-api-key`` (Anthropic's header), or the ``auth_token`` / ``token`` query
parameters; any one matching any configured key is enough.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence

from starlette.requests import Request

from zaiproxy.server.errors import ApiError

_HEADERS = ("x-api-key", "x-auth-token")
_QUERY_PARAMETERS = ("auth_token", "token")


def presented_keys(request: Request) -> Iterator[str]:
    """The keys a request carries, in the order the carriers are tried."""
    authorization = request.headers.get("authorization", "").strip()
    if authorization:
        scheme, _, rest = authorization.partition(" ")
        yield rest.strip() if scheme.lower() == "bearer" else authorization
    for name in _HEADERS:
        value = request.headers.get(name, "").strip()
        if value:
            yield value
    for name in _QUERY_PARAMETERS:
        value = request.query_params.get(name, "").strip()
        if value:
            yield value


def matches_any(value: str, keys: Sequence[bytes]) -> bool:
    """Whether ``value`` is one of ``keys``, compared in constant time against every one."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(value.encode(), key)
    return matched


class Authenticator:
    """Checks a request's key against the configured ones (AUTH_TOKEN, AUTH_TOKENS, DEFAULT_KEY)."""

    def __init__(self, keys: Sequence[str], *, enabled: bool) -> None:
        self._keys = [key.encode() for key in keys]
        self.enabled = enabled and bool(self._keys)

    def check(self, request: Request) -> None:
        """Raises a 401 ApiError unless the request carries a valid key (or auth is off)."""
        if not self.enabled:
            return
        presented = list(presented_keys(request))
        if not presented:
            raise ApiError(
                401,
                "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
                code="missing_api_key",
            )
        # Every comparison runs, so the time taken does not tell which key (or carrier) matched.
        matched = False
        for value in presented:
            matched |= matches_any(value, self._keys)
        if not matched:
            raise ApiError(401, "Invalid API key", code="invalid_api_key")
