"""The pool of upstream user tokens: round robin over the healthy ones, cooldown after repeated
failures, health checks through the auths endpoint, and the configured sources kept in sync.

The state lives in a ``TokenStore`` (SQLite or Redis), which makes every change atomic, so the
workers and instances sharing a store share one pool. This class holds no state of its own
beyond the secret tokens are named with and the reports still on their way to the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Collection, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zaiproxy import core
from zaiproxy.config import unique
from zaiproxy.tokens.sources import LegacyImport, TokenFile, read_legacy_database, read_legacy_state
from zaiproxy.tokens.store import (
    ROLE_GUEST,
    ROLE_INVALID,
    ROLE_USER,
    SOURCE_ENV,
    SOURCE_FILE,
    SOURCE_IMPORT,
    PoolPolicy,
    TokenRecord,
    TokenStore,
)
from zaiproxy.upstream.errors import (
    CaptchaRequired,
    RateLimited,
    TokenRejected,
    UpstreamError,
)
from zaiproxy.upstream.identities import RoleCheck, Session

log = logging.getLogger("zaiproxy.tokens")

HASH_SECRET_KEY = "token_hash_secret"
HEALTH_CHECK_CONCURRENCY = 8
# How long a pool found unable to serve is not asked again: a token added through another
# process, or one whose cooldown ends, serves within this many seconds.
IDLE_RECHECK = 1.0
# Failures that say something about the token itself; an unreachable or failing upstream does
# not, and must not cool down every token at once.
_TOKEN_FAILURES = (TokenRejected, RateLimited, CaptchaRequired)


def token_id(secret: bytes, token: str) -> str:
    """A token's public name: HMAC-SHA256 under the pool's secret, hex (Z.ai2api's scheme)."""
    return hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PoolSources:
    """Where the pool's tokens come from, besides what is added at run time."""

    env_tokens: Sequence[str] = ()
    tokens_file: str | None = "tokens.txt"
    legacy_database: str | None = None  # an older z.ai2api_python tokens.db
    legacy_state: str | None = None  # an older Z.ai2api token_pool.json
    hash_secret: str | None = None  # TOKEN_HASH_SECRET


@dataclass(frozen=True)
class AddResult:
    added: list[str]  # ids of the tokens new to the pool
    known: int  # tokens given that were in the pool already (or given twice)


@dataclass(frozen=True)
class CheckResult:
    token_id: str
    display: str
    role: str
    error: str


class TokenPool:
    """User tokens for the identity provider (the ``UserTokens`` protocol), and the operations
    the admin routes offer."""

    def __init__(
        self,
        store: TokenStore,
        policy: PoolPolicy | None = None,
        *,
        delete_invalid: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.policy = policy or PoolPolicy()
        self._delete_invalid = delete_invalid
        self._clock = clock
        self._secret = b""
        self._detect_role: RoleCheck | None = None
        self._tokens_file: TokenFile | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._idle_until = 0.0  # time.monotonic(): see IDLE_RECHECK

    async def start(self, sources: PoolSources) -> None:
        """Opens the store, settles the hash secret, imports an older proxy's state once and
        brings the configured sources in."""
        await self.store.open()
        legacy_state = read_legacy_state(sources.legacy_state) if sources.legacy_state else None
        self._secret = await self._hash_secret(sources.hash_secret, legacy_state)
        if sources.legacy_database:
            await self._import_once(sources.legacy_database, read_legacy_database)
        if sources.legacy_state:
            await self._import_once(sources.legacy_state, lambda _: legacy_state)
        await self.replace_source(SOURCE_ENV, sources.env_tokens)
        if sources.tokens_file:
            self._tokens_file = TokenFile(sources.tokens_file)
            await self.reload_file()

    def bind(self, detect_role: RoleCheck) -> None:
        """How to ask the auths endpoint about a token (the upstream client's)."""
        self._detect_role = detect_role

    def id_of(self, token: str) -> str:
        return token_id(self._secret, token)

    # ── the identity provider's side ──

    async def acquire(self, exclude: Sequence[Session]) -> Session | None:
        if time.monotonic() < self._idle_until:
            return None
        now = self._clock()
        passed_over = {s.token_id for s in exclude if s.token_id}
        try:
            record = await self.store.pick(now, self.policy, passed_over)
        except Exception as error:
            # A store outage must not take the guests down with it.
            log.error("no pooled token: the token store failed: %s", error)
            return None
        if record is None:
            if not passed_over:
                # Nothing can serve (no tokens, or all cooling): guests serve the next requests
                # without a trip to the store, until a change here or the recheck time.
                self._idle_until = time.monotonic() + IDLE_RECHECK
            return None
        identity = core.Identity(token=record.token, guest=record.role == ROLE_GUEST)
        return Session(identity, now, float("inf"), active_requests=1, token_id=record.token_id)

    def release(self, session: Session, failure: UpstreamError | None) -> None:
        if session.token_id is None:
            return
        if failure is None:
            self._later(self._report(session.token_id, True, 200))
        elif isinstance(failure, _TOKEN_FAILURES):
            self._later(self._report(session.token_id, False, failure.status, str(failure)))
            if isinstance(failure, TokenRejected):
                self._later(self._check_quietly([session.token_id]))

    async def verify(self, detect_role: RoleCheck) -> None:
        self.bind(detect_role)
        await self.check()

    # ── administration ──

    async def tokens(self) -> list[TokenRecord]:
        return await self.store.list_tokens()

    async def add(self, tokens: Iterable[str], source: str) -> AddResult:
        given = [t.strip() for t in tokens if t and t.strip()]
        pairs = [(self.id_of(t), t) for t in unique(given)]
        added = await self.store.add_tokens(pairs, source, self._clock())
        self._arrived(added, source)
        return AddResult(added, len(given) - len(added))

    async def replace_source(self, source: str, tokens: Iterable[str]) -> None:
        pairs = [(self.id_of(t), t) for t in unique(t.strip() for t in tokens)]
        added, removed = await self.store.replace_source(source, pairs, self._clock())
        if removed:
            log.info("%d pool token(s) of %s removed", len(removed), source)
        self._arrived(added, source)

    def _arrived(self, added: list[str], source: str) -> None:
        """New tokens serve at once, and are checked in the background."""
        if not added:
            return
        log.info("%d token(s) added to the pool (%s)", len(added), source)
        self._changed()
        if self._detect_role is not None:
            self._later(self._check_quietly(added))

    def _changed(self) -> None:
        """A token may serve now that could not: the next request asks the store again."""
        self._idle_until = 0.0

    async def reload_file(self) -> None:
        """Brings the tokens file's changes in (cheap when it did not change)."""
        if self._tokens_file is None:
            return
        tokens = self._tokens_file.read_if_changed()
        if tokens is not None:
            await self.replace_source(SOURCE_FILE, tokens)

    async def remove(self, token_ids: Collection[str]) -> list[str]:
        return await self.store.remove_tokens(token_ids)

    async def set_enabled(self, token_id: str, enabled: bool) -> bool:
        self._changed()
        return await self.store.set_enabled(token_id, enabled)

    async def reset(self, token_id: str) -> bool:
        self._changed()
        return await self.store.reset_token(token_id)

    async def check(self, token_ids: Collection[str] | None = None) -> list[CheckResult]:
        """Asks the auths endpoint about each token (all when ``token_ids`` is None): a user's
        token is healthy (its cooldown cleared), a guest's is set aside, a refused one is
        invalid (and deleted with TOKEN_AUTO_DELETE_INVALID). An unreachable upstream changes
        nothing but the recorded error."""
        if self._detect_role is None:
            raise RuntimeError("the pool is not bound to an upstream client yet")
        records = await self.store.list_tokens()
        if token_ids is not None:
            wanted = set(token_ids)
            records = [r for r in records if r.token_id in wanted]
        # A few at a time: a thousand pasted tokens must not be a thousand requests at once.
        limit = asyncio.Semaphore(HEALTH_CHECK_CONCURRENCY)

        async def check_one(record: TokenRecord) -> CheckResult:
            async with limit:
                return await self._check_one(record)

        results = await asyncio.gather(*(check_one(r) for r in records))
        if self._delete_invalid:
            invalid = [r.token_id for r in results if r.role == ROLE_INVALID]
            if invalid:
                await self.store.remove_tokens(invalid)
                log.info("%d invalid token(s) deleted from the pool", len(invalid))
        return list(results)

    async def flush(self) -> None:
        """Waits for the reports and checks still on their way to the store."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        await self.store.close()

    # ── internals ──

    async def _check_one(self, record: TokenRecord) -> CheckResult:
        assert self._detect_role is not None
        now = self._clock()
        try:
            identity = await self._detect_role(record.token)
        except TokenRejected as error:
            role, problem = ROLE_INVALID, str(error)
        except UpstreamError as error:
            role, problem = record.role, f"health check failed: {error}"
        else:
            role, problem = (ROLE_GUEST if identity.guest else ROLE_USER), ""
        await self.store.set_role(record.token_id, role, now, problem)
        if role == ROLE_USER:
            self._changed()  # a confirmed token's cooldown was cleared
        if role != record.role:
            log.info("pool token %s is %s", record.display, role)
        return CheckResult(record.token_id, record.display, role, problem)

    async def _check_quietly(self, token_ids: Collection[str]) -> None:
        try:
            await self.check(token_ids)
        except Exception as error:
            log.warning("health check of new or refused tokens failed: %s", error)

    async def _report(self, token_id: str, success: bool, status: int, error: str = "") -> None:
        now = self._clock()
        record = await self.store.report(
            token_id, now, self.policy, success=success, status=status, error=error
        )
        if record is not None and not success and record.cooling(now):
            log.warning(
                "pool token %s cools down after %d failures (%s)",
                record.display,
                record.failures,
                record.last_error,
            )

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("pool update failed: %s", task.exception())

    async def _hash_secret(self, configured: str | None, legacy: LegacyImport | None) -> bytes:
        if configured:
            return configured.encode()
        # Adopting an imported pool's salt keeps the token ids its users already know.
        candidate = (legacy.salt if legacy else None) or secrets.token_hex(32)
        return (await self.store.meta_setdefault(HASH_SECRET_KEY, candidate)).encode()

    async def _import_once(self, path: str, read: Callable[[str], LegacyImport | None]) -> None:
        marker = f"imported:{Path(path).resolve()}"
        if await self.store.meta_get(marker):
            return
        found = read(path)
        if found is None:
            return
        result = await self.add((t for t, _ in found.tokens), SOURCE_IMPORT)
        for token, enabled in found.tokens:
            if not enabled:
                await self.store.set_enabled(self.id_of(token), False)
        await self.store.meta_set(marker, str(self._clock()))
        log.info("imported %d token(s) from %s", len(result.added), path)


class PoolUpkeep:
    """A server process's periodic pool work: re-reading the tokens file when it changes, and
    the health check of every token each ``health_check_interval`` seconds, run by one process
    of all those sharing the store (a lease in the store decides which)."""

    def __init__(
        self,
        pool: TokenPool,
        *,
        health_check_interval: float,
        file_poll_interval: float = 2.0,
        holder: str | None = None,
    ) -> None:
        self._pool = pool
        self._health_check_interval = health_check_interval
        self._file_poll_interval = file_poll_interval
        self._holder = holder or secrets.token_hex(8)
        self._last_check = float("-inf")

    async def run(self) -> None:
        while True:
            try:
                await self._pool.reload_file()
                if self._check_due():
                    await self._health_check()
            except Exception as error:
                log.warning("pool upkeep failed: %s", error)
            await asyncio.sleep(self._file_poll_interval)

    def _check_due(self) -> bool:
        interval = self._health_check_interval
        return interval > 0 and time.monotonic() - self._last_check >= interval

    async def _health_check(self) -> None:
        self._last_check = time.monotonic()
        lease = self._health_check_interval * 0.9
        if await self._pool.store.try_lease("health_check", self._holder, lease, time.time()):
            results = await self._pool.check()
            healthy = sum(r.role == ROLE_USER for r in results)
            log.info("pool health check: %d of %d token(s) healthy", healthy, len(results))
