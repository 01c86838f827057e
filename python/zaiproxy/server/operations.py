"""A server process's control plane: the store, the token pool and its upkeep, the request log
and the admin authentication (whose signing key may live in the store, so it is ready only once
the store is open).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path

from zaiproxy.config import Settings
from zaiproxy.server.admin_auth import AdminAuth
from zaiproxy.tokens.pool import PoolSources, PoolUpkeep, TokenPool
from zaiproxy.tokens.request_log import RequestLog
from zaiproxy.tokens.store import PoolPolicy, TokenStore
from zaiproxy.upstream.identities import RoleCheck

log = logging.getLogger("zaiproxy.server")

SESSION_SECRET_KEY = "session_secret"
LEGACY_STATE_FILE = "token_pool.json"


def open_store(settings: Settings) -> TokenStore:
    """Redis when REDIS_URL is set (several instances share it), else the SQLite file."""
    if settings.redis_url:
        from zaiproxy.tokens.redis_store import RedisStore

        return RedisStore(settings.redis_url)
    from zaiproxy.tokens.sqlite_store import SqliteStore

    return SqliteStore(settings.db_path)


class Operations:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.pool = TokenPool(
            self.store,
            PoolPolicy(
                failure_threshold=settings.token_failure_threshold,
                recovery_timeout=settings.token_recovery_timeout,
            ),
            delete_invalid=settings.token_delete_invalid,
        )
        self.requests = RequestLog(self.store)
        self.admin: AdminAuth | None = None
        self._starting: asyncio.Task[None] | None = None
        self._upkeep: asyncio.Task[None] | None = None
        self._ready = False

    async def ready(self, detect_role: RoleCheck) -> None:
        """Starts everything once (concurrent first requests wait for the same start)."""
        if self._ready:
            return  # the common case, once per request: nothing to wait for
        starting = self._starting
        if starting is None:
            starting = self._starting = asyncio.ensure_future(self._start(detect_role))
        try:
            await asyncio.shield(starting)
        except Exception:
            # The store may come back (Redis restarting): the next request tries again.
            if self._starting is starting:
                self._starting = None
            raise

    async def _start(self, detect_role: RoleCheck) -> None:
        settings = self.settings
        database = Path(settings.db_path)
        await self.pool.start(
            PoolSources(
                env_tokens=settings.user_tokens,
                tokens_file=settings.tokens_file,
                # An older proxy's tokens.db: its own file when DB_PATH names it, whichever
                # store holds our state.
                legacy_database=str(database) if database.is_file() else None,
                legacy_state=os.path.join(settings.state_dir, LEGACY_STATE_FILE),
                hash_secret=settings.token_hash_secret,
            )
        )
        self.pool.bind(detect_role)
        signing_key = settings.session_secret or await self.store.meta_setdefault(
            SESSION_SECRET_KEY, secrets.token_hex(32)
        )
        self.admin = AdminAuth(
            [settings.admin_password or "", *settings.api_keys], signing_key.encode()
        )
        self._upkeep = asyncio.ensure_future(
            PoolUpkeep(self.pool, health_check_interval=settings.token_health_check_interval).run()
        )
        self._ready = True

    async def close(self) -> None:
        if self._upkeep is not None:
            self._upkeep.cancel()
        if self._ready:
            await self.requests.flush()
            await self.pool.close()
