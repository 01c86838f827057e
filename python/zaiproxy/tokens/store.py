"""What the token pool and the request statistics keep, and the store contract they keep it in.

Two stores implement ``TokenStore`` with the same semantics: ``SqliteStore`` (one file, WAL; the
default, also safe for several workers of one host) and ``RedisStore`` (several instances share
one pool). Every method that changes state is atomic in the store itself, so concurrent workers
never double-use a cooling token nor lose an update.

Times are wall-clock seconds (``time.time()``): they are shared between processes and hosts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Roles the auths endpoint reports for a token (upstream-protocol §6); "unknown" until checked,
# "invalid" when the endpoint refused it. Only "unknown" and "user" tokens serve requests.
ROLE_UNKNOWN = "unknown"
ROLE_USER = "user"
ROLE_GUEST = "guest"
ROLE_INVALID = "invalid"
SERVING_ROLES = (ROLE_UNKNOWN, ROLE_USER)

# Where a token came from. Tokens of the configured sources ("env", "file") follow the
# configuration (replace_source); the others stay until deleted.
SOURCE_ENV = "env"
SOURCE_FILE = "file"
SOURCE_DASHBOARD = "dashboard"
SOURCE_API = "api"
SOURCE_IMPORT = "import"


@dataclass(frozen=True)
class PoolPolicy:
    """How failures take a token out of rotation and how it comes back."""

    failure_threshold: int = 3  # consecutive failures before the cooldown
    recovery_timeout: float = 1800.0  # seconds of cooldown
    # After its cooldown a token serves one probe request; for this long no other request gets
    # it, so a still-broken token fails one request, not a burst of them.
    probe_window: float = 60.0


@dataclass
class TokenRecord:
    token_id: str  # HMAC-SHA256(hash secret, token), hex: the only name a token has outside
    token: str  # the secret itself: never logged whole, never returned by an API
    source: str
    position: int  # the order tokens were added in: round robin follows it
    added_at: float
    enabled: bool = True
    role: str = ROLE_UNKNOWN
    failures: int = 0  # consecutive
    successes: int = 0  # in all
    total_failures: int = 0
    cooldown_until: float = 0.0  # not picked before this time (0: no cooldown)
    last_used: float = 0.0
    last_success: float = 0.0
    last_failure: float = 0.0
    last_status: int = 0  # the upstream status of the last reported outcome
    last_error: str = ""
    checked_at: float = 0.0  # the last health check (0: never)

    @property
    def display(self) -> str:
        return "token:" + self.token_id[:8]

    def serving(self) -> bool:
        return self.enabled and self.role in SERVING_ROLES

    def cooling(self, now: float) -> bool:
        return self.cooldown_until > now


@dataclass(frozen=True)
class StatsBatch:
    """Request statistics to add in one atomic write.

    ``counters`` are named running totals (Prometheus-style names with labels, built by
    ``zaiproxy.tokens.stats``); ``series`` adds to per-minute buckets keyed by the minute's start
    (epoch seconds); ``recent`` are request-log entries (JSON text), oldest first.
    """

    counters: Mapping[str, float] = field(default_factory=dict)
    series: Mapping[int, Mapping[str, float]] = field(default_factory=dict)
    recent: Sequence[str] = ()


class TokenStore(Protocol):
    """Persistent pool state and statistics. All methods are coroutines; implementations run
    blocking I/O off the event loop."""

    @property
    def kind(self) -> str:
        """ "sqlite" or "redis", as the dashboard shows it."""

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        """What the store raises when its backend fails (the file, the connection)."""

    # ── lifecycle and settings ──

    async def open(self) -> None:
        """Creates tables / checks the connection; idempotent."""

    async def close(self) -> None: ...

    async def meta_get(self, key: str) -> str | None: ...

    async def meta_set(self, key: str, value: str) -> None: ...

    async def meta_setdefault(self, key: str, value: str) -> str:
        """Sets ``key`` unless it is set; returns the value now stored (atomic: two processes
        racing agree on one value)."""

    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        """Takes the named lease for ``ttl`` seconds when it is free, expired or already held
        by ``holder``: one process of many runs a periodic job (the health check)."""

    # ── tokens ──

    async def add_tokens(
        self, tokens: Sequence[tuple[str, str]], source: str, now: float
    ) -> list[str]:
        """Adds (token_id, token) pairs not yet stored, in order; returns the ids added."""

    async def replace_source(
        self, source: str, tokens: Sequence[tuple[str, str]], now: float
    ) -> tuple[list[str], list[str]]:
        """Makes ``source``'s tokens exactly ``tokens``: adds the missing ones, removes those of
        ``source`` no longer listed (a token stored under another source is left alone).
        Returns (added ids, removed ids)."""

    async def remove_tokens(self, token_ids: Collection[str]) -> list[str]:
        """Returns the ids that existed and were removed."""

    async def list_tokens(self) -> list[TokenRecord]:
        """All tokens, by position."""

    async def get_token(self, token_id: str) -> TokenRecord | None: ...

    async def set_enabled(self, token_id: str, enabled: bool) -> bool:
        """False when there is no such token."""

    async def reset_token(self, token_id: str) -> bool:
        """Clears the failures and the cooldown. False when there is no such token."""

    async def pick(
        self, now: float, policy: PoolPolicy, exclude: Collection[str] = ()
    ) -> TokenRecord | None:
        """The next serving token in round robin (one shared cursor), skipping ``exclude`` and
        tokens in cooldown. A token whose failures reached the threshold and whose cooldown has
        passed is picked as a probe: its ``cooldown_until`` becomes ``now + probe_window``.
        Sets ``last_used``. None when no token can serve now."""

    async def report(
        self,
        token_id: str,
        now: float,
        policy: PoolPolicy,
        *,
        success: bool,
        status: int = 0,
        error: str = "",
    ) -> TokenRecord | None:
        """Records one request's outcome. Success: failures = 0, cooldown cleared, successes+1,
        last_success. Failure: failures+1, total_failures+1, last_failure, last_error; when
        failures reach the threshold, cooldown_until = now + recovery_timeout. Both set
        last_status. Returns the updated record (None when the token was deleted meanwhile)."""

    async def set_role(self, token_id: str, role: str, now: float, error: str = "") -> bool:
        """A health check's verdict: sets role and checked_at (and last_error when given). A
        token confirmed "user" has its failures and cooldown cleared."""

    # ── statistics ──

    async def add_stats(self, batch: StatsBatch, keep_recent: int, keep_minutes: int) -> None:
        """Adds the counters and series, appends the recent entries; keeps only the newest
        ``keep_recent`` entries and the series minutes of the last ``keep_minutes``."""

    async def counters(self) -> dict[str, float]: ...

    async def series(self, since_minute: int) -> dict[int, dict[str, float]]:
        """The per-minute buckets from ``since_minute`` (epoch seconds of a minute's start) on."""

    async def recent(self, limit: int) -> list[str]:
        """The newest ``limit`` request-log entries, newest first."""

    async def clear_stats(self) -> None: ...
