"""``TokenStore`` in one SQLite file (the default, ``tokens.db``).

WAL journal with ``synchronous=NORMAL``: a committed change survives the process being killed at
any moment, and several worker processes of one host share the file (``busy_timeout`` makes a
writer wait for another's transaction instead of failing). Each state change is one transaction;
the read-modify-write ones start with ``BEGIN IMMEDIATE``, so they take the write lock before
reading and two processes never act on the same stale state (the round-robin cursor, the lease,
the position counter live in the file, shared).

The tables are prefixed ``zaiproxy_``: the file may also hold an older proxy's own ``tokens``
table, which is left alone. sqlite3 blocks, so every call runs in the store's one worker thread,
which owns the connection.

The pool's policy (which token may be picked, what an outcome or a health check changes) is the
small pure functions below; ``RedisStore`` encodes the same decisions in its Lua scripts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Final, TypeVar

from zaiproxy.tokens.store import ROLE_USER, PoolPolicy, StatsBatch, TokenRecord

SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "schema_version"  # in meta, also by RedisStore
BUSY_TIMEOUT = 5.0  # seconds a statement waits for another connection's write lock

_T = TypeVar("_T")

# ── the pool's policy, shared by the SQLite side (RedisStore's Lua scripts mirror it) ──


def can_pick(record: TokenRecord, now: float, exclude: Collection[str]) -> bool:
    return record.serving() and not record.cooling(now) and record.token_id not in exclude


def apply_pick(record: TokenRecord, now: float, policy: PoolPolicy) -> None:
    """A picked token: a probe when its failures reached the threshold (its cooldown passed)."""
    if record.failures >= policy.failure_threshold:
        record.cooldown_until = now + policy.probe_window
    record.last_used = now


def apply_report(
    record: TokenRecord, now: float, policy: PoolPolicy, success: bool, status: int, error: str
) -> None:
    if success:
        record.failures = 0
        record.cooldown_until = 0.0
        record.successes += 1
        record.last_success = now
    else:
        record.failures += 1
        record.total_failures += 1
        record.last_failure = now
        record.last_error = error
        if record.failures >= policy.failure_threshold:
            record.cooldown_until = now + policy.recovery_timeout
    record.last_status = status


def apply_role(record: TokenRecord, role: str, now: float, error: str) -> None:
    record.role = role
    record.checked_at = now
    if error:
        record.last_error = error
    if role == ROLE_USER:
        apply_reset(record)


def apply_reset(record: TokenRecord) -> None:
    record.failures = 0
    record.cooldown_until = 0.0


def series_cutoff(newest_minute: int, keep_minutes: int) -> int:
    """Series minutes at or before this are dropped: the ``keep_minutes`` kept end with the
    newest one stored."""
    return newest_minute - keep_minutes * 60


# ── schema and rows ──

_COLUMNS = tuple(f.name for f in dataclasses.fields(TokenRecord))
_COLUMN_LIST = ", ".join(_COLUMNS)
_BOOL_COLUMNS = frozenset(
    f.name for f in dataclasses.fields(TokenRecord) if f.type in ("bool", bool)
)
_SELECT = f"SELECT {_COLUMN_LIST} FROM zaiproxy_tokens"
_AFTER_CURSOR = f"{_SELECT} WHERE position > ? ORDER BY position"
_UP_TO_CURSOR = f"{_SELECT} WHERE position <= ? ORDER BY position"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS zaiproxy_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS zaiproxy_state (  -- the shared counters: cursor, position
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS zaiproxy_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS zaiproxy_tokens (
    token_id TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL UNIQUE,
    added_at REAL NOT NULL,
    enabled INTEGER NOT NULL,
    role TEXT NOT NULL,
    failures INTEGER NOT NULL,
    successes INTEGER NOT NULL,
    total_failures INTEGER NOT NULL,
    cooldown_until REAL NOT NULL,
    last_used REAL NOT NULL,
    last_success REAL NOT NULL,
    last_failure REAL NOT NULL,
    last_status INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    checked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS zaiproxy_counters (
    name TEXT PRIMARY KEY,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS zaiproxy_series (
    minute INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (minute, name)
);
CREATE TABLE IF NOT EXISTS zaiproxy_recent (
    id INTEGER PRIMARY KEY,
    entry TEXT NOT NULL
);
"""


def record_from_row(row: Sequence[Any]) -> TokenRecord:
    values = dict(zip(_COLUMNS, row))
    for name in _BOOL_COLUMNS:
        values[name] = bool(values[name])
    return TokenRecord(**values)


def row_from_record(record: TokenRecord) -> tuple[Any, ...]:
    return tuple(getattr(record, name) for name in _COLUMNS)


class SqliteStore:
    kind: Final = "sqlite"
    errors: Final = (sqlite3.Error, OSError)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    # ── plumbing: the worker thread, transactions ──

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        if self._executor is None:
            raise RuntimeError("the token store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the token store is not open")
        return self._connection

    async def _write(self, function: Callable[..., _T], *args: Any) -> _T:
        """Runs ``function(connection, *args)`` in one ``BEGIN IMMEDIATE`` transaction."""

        def transaction() -> _T:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                result = function(db, *args)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return await self._call(transaction)

    async def _read(self, function: Callable[..., _T], *args: Any) -> _T:
        """Runs ``function(connection, *args)`` in one read transaction (one snapshot)."""

        def transaction() -> _T:
            db = self._db
            db.execute("BEGIN")
            try:
                return function(db, *args)
            finally:
                db.execute("COMMIT")

        return await self._call(transaction)

    # ── lifecycle and settings ──

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zaiproxy-sqlite")
        try:
            await self._call(self._connect)
        except BaseException:
            await self.close()
            raise

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions, each one is begun explicitly.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        self._connection = db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot use the WAL journal (got {mode!r})")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO zaiproxy_meta (key, value) VALUES (?, ?)",
                (SCHEMA_VERSION_KEY, SCHEMA_VERSION),
            )
            (version,) = db.execute(
                "SELECT value FROM zaiproxy_meta WHERE key = ?", (SCHEMA_VERSION_KEY,)
            ).fetchone()
            if version != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: token store schema {version}, this version reads "
                    + SCHEMA_VERSION
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def disconnect() -> None:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

        try:
            await asyncio.get_running_loop().run_in_executor(executor, disconnect)
        finally:
            executor.shutdown(wait=True)

    async def meta_get(self, key: str) -> str | None:
        def get(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM zaiproxy_meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else row[0]

        return await self._read(get)

    async def meta_set(self, key: str, value: str) -> None:
        def set_(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO zaiproxy_meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

        await self._write(set_)

    async def meta_setdefault(self, key: str, value: str) -> str:
        def setdefault(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT OR IGNORE INTO zaiproxy_meta (key, value) VALUES (?, ?)", (key, value)
            )
            row = db.execute("SELECT value FROM zaiproxy_meta WHERE key = ?", (key,)).fetchone()
            return str(row[0])

        return await self._write(setdefault)

    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        def lease(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT holder, expires FROM zaiproxy_leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return False
            db.execute(
                "INSERT INTO zaiproxy_leases (name, holder, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires = excluded.expires",
                (name, holder, now + ttl),
            )
            return True

        return await self._write(lease)

    # ── tokens ──

    async def add_tokens(
        self, tokens: Sequence[tuple[str, str]], source: str, now: float
    ) -> list[str]:
        return await self._write(_add, list(tokens), source, now)

    async def replace_source(
        self, source: str, tokens: Sequence[tuple[str, str]], now: float
    ) -> tuple[list[str], list[str]]:
        def replace(db: sqlite3.Connection) -> tuple[list[str], list[str]]:
            listed = {token_id for token_id, _ in tokens}
            stale = [
                token_id
                for (token_id,) in db.execute(
                    "SELECT token_id FROM zaiproxy_tokens WHERE source = ? ORDER BY position",
                    (source,),
                )
                if token_id not in listed
            ]
            removed = _remove(db, stale)
            return _add(db, list(tokens), source, now), removed

        return await self._write(replace)

    async def remove_tokens(self, token_ids: Collection[str]) -> list[str]:
        return await self._write(_remove, list(token_ids))

    async def list_tokens(self) -> list[TokenRecord]:
        def list_(db: sqlite3.Connection) -> list[TokenRecord]:
            rows = db.execute(f"{_SELECT} ORDER BY position")
            return [record_from_row(row) for row in rows]

        return await self._read(list_)

    async def get_token(self, token_id: str) -> TokenRecord | None:
        return await self._read(_get, token_id)

    async def set_enabled(self, token_id: str, enabled: bool) -> bool:
        def set_(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE zaiproxy_tokens SET enabled = ? WHERE token_id = ?", (enabled, token_id)
            )
            return cursor.rowcount > 0

        return await self._write(set_)

    async def reset_token(self, token_id: str) -> bool:
        return await self._update(token_id, apply_reset) is not None

    async def pick(
        self, now: float, policy: PoolPolicy, exclude: Collection[str] = ()
    ) -> TokenRecord | None:
        excluded = frozenset(exclude)

        def pick(db: sqlite3.Connection) -> TokenRecord | None:
            row = db.execute("SELECT value FROM zaiproxy_state WHERE name = 'cursor'").fetchone()
            cursor = 0 if row is None else row[0]
            # Round robin: the tokens after the cursor, then from the first one on.
            for query in (_AFTER_CURSOR, _UP_TO_CURSOR):
                for found in db.execute(query, (cursor,)):
                    record = record_from_row(found)
                    if can_pick(record, now, excluded):
                        apply_pick(record, now, policy)
                        _save(db, record)
                        _set_state(db, "cursor", record.position)
                        return record
            return None

        return await self._write(pick)

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
        return await self._update(
            token_id, lambda r: apply_report(r, now, policy, success, status, error)
        )

    async def set_role(self, token_id: str, role: str, now: float, error: str = "") -> bool:
        return await self._update(token_id, lambda r: apply_role(r, role, now, error)) is not None

    async def _update(
        self, token_id: str, change: Callable[[TokenRecord], None]
    ) -> TokenRecord | None:
        """Applies ``change`` to the stored token; None when there is no such token."""

        def update(db: sqlite3.Connection) -> TokenRecord | None:
            record = _get(db, token_id)
            if record is not None:
                change(record)
                _save(db, record)
            return record

        return await self._write(update)

    # ── statistics ──

    async def add_stats(self, batch: StatsBatch, keep_recent: int, keep_minutes: int) -> None:
        def add(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO zaiproxy_counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                [(name, float(value)) for name, value in batch.counters.items()],
            )
            db.executemany(
                "INSERT INTO zaiproxy_series (minute, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (minute, name) DO UPDATE SET value = value + excluded.value",
                [
                    (int(minute), name, float(value))
                    for minute, bucket in batch.series.items()
                    for name, value in bucket.items()
                ],
            )
            db.executemany(
                "INSERT INTO zaiproxy_recent (entry) VALUES (?)", [(e,) for e in batch.recent]
            )
            db.execute(
                "DELETE FROM zaiproxy_recent WHERE id <="
                " (SELECT id FROM zaiproxy_recent ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (max(keep_recent, 0),),
            )
            (newest,) = db.execute("SELECT MAX(minute) FROM zaiproxy_series").fetchone()
            if newest is not None:
                db.execute(
                    "DELETE FROM zaiproxy_series WHERE minute <= ?",
                    (series_cutoff(newest, keep_minutes),),
                )

        await self._write(add)

    async def counters(self) -> dict[str, float]:
        def counters(db: sqlite3.Connection) -> dict[str, float]:
            return dict(db.execute("SELECT name, value FROM zaiproxy_counters"))

        return await self._read(counters)

    async def series(self, since_minute: int) -> dict[int, dict[str, float]]:
        def series(db: sqlite3.Connection) -> dict[int, dict[str, float]]:
            buckets: dict[int, dict[str, float]] = {}
            for minute, name, value in db.execute(
                "SELECT minute, name, value FROM zaiproxy_series WHERE minute >= ?"
                " ORDER BY minute",
                (since_minute,),
            ):
                buckets.setdefault(minute, {})[name] = value
            return buckets

        return await self._read(series)

    async def recent(self, limit: int) -> list[str]:
        if limit <= 0:
            return []

        def recent(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT entry FROM zaiproxy_recent ORDER BY id DESC LIMIT ?", (limit,)
            )
            return [entry for (entry,) in rows]

        return await self._read(recent)

    async def clear_stats(self) -> None:
        def clear(db: sqlite3.Connection) -> None:
            for table in ("zaiproxy_counters", "zaiproxy_series", "zaiproxy_recent"):
                db.execute(f"DELETE FROM {table}")

        await self._write(clear)


# ── statements shared by several operations (run inside the caller's transaction) ──


def _get(db: sqlite3.Connection, token_id: str) -> TokenRecord | None:
    row = db.execute(f"{_SELECT} WHERE token_id = ?", (token_id,)).fetchone()
    return None if row is None else record_from_row(row)


def _save(db: sqlite3.Connection, record: TokenRecord) -> None:
    assignments = ", ".join(f"{name} = ?" for name in _COLUMNS)
    db.execute(
        f"UPDATE zaiproxy_tokens SET {assignments} WHERE token_id = ?",
        (*row_from_record(record), record.token_id),
    )


def _set_state(db: sqlite3.Connection, name: str, value: int) -> None:
    db.execute(
        "INSERT INTO zaiproxy_state (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def _add(
    db: sqlite3.Connection, tokens: Iterable[tuple[str, str]], source: str, now: float
) -> list[str]:
    added: list[str] = []
    placeholders = ", ".join("?" for _ in _COLUMNS)
    row = db.execute("SELECT value FROM zaiproxy_state WHERE name = 'position'").fetchone()
    position = 0 if row is None else row[0]
    for token_id, token in tokens:
        exists = db.execute(
            "SELECT 1 FROM zaiproxy_tokens WHERE token_id = ?", (token_id,)
        ).fetchone()
        if exists is not None:
            continue
        position += 1
        record = TokenRecord(token_id, token, source, position, added_at=now)
        db.execute(
            f"INSERT INTO zaiproxy_tokens ({_COLUMN_LIST}) VALUES ({placeholders})",
            row_from_record(record),
        )
        added.append(token_id)
    if added:
        _set_state(db, "position", position)
    return added


def _remove(db: sqlite3.Connection, token_ids: Iterable[str]) -> list[str]:
    removed: list[str] = []
    for token_id in token_ids:
        cursor = db.execute("DELETE FROM zaiproxy_tokens WHERE token_id = ?", (token_id,))
        if cursor.rowcount > 0:
            removed.append(token_id)
    return removed
