"""The token store contract (zaiproxy.tokens.store), one suite run against both stores: SQLite (a
file under tmp_path) and Redis (a real redis-server, a fresh key prefix per test). Then what only
one of them promises: the SQLite file's durability, its coexistence with an older proxy's table,
several processes on one file; Redis prefixes keeping pools apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from zaiproxy.tokens.redis_store import RedisStore
from zaiproxy.tokens.sqlite_store import SqliteStore
from zaiproxy.tokens.store import (
    ROLE_GUEST,
    ROLE_INVALID,
    ROLE_UNKNOWN,
    ROLE_USER,
    SOURCE_API,
    SOURCE_ENV,
    SOURCE_FILE,
    PoolPolicy,
    StatsBatch,
    TokenRecord,
    TokenStore,
)

pytest_plugins = ["redis_server"]

T0 = 1_700_000_000.125  # a wall-clock time with a fraction, to check floats round-trip
POLICY = PoolPolicy(failure_threshold=2, recovery_timeout=100.0, probe_window=10.0)
M0 = 1_700_000_040  # a minute's start (epoch seconds)

StoreFactory = Callable[[], TokenStore]
_T = TypeVar("_T")


# ── fixtures and helpers ──


@pytest.fixture(params=["sqlite", "redis"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Makes (unopened) stores that all share one pool: the same file, or the same server and
    prefix."""
    if request.param == "sqlite":
        path = tmp_path / "tokens.db"
        return lambda: SqliteStore(path)
    url = request.getfixturevalue("redis_url")
    prefix = f"zaiproxy-test-{uuid.uuid4().hex}:"
    return lambda: RedisStore(url, prefix=prefix)


@pytest.fixture
def store(new_store: StoreFactory) -> TokenStore:
    return new_store()


def store_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Runs ``async def test_x(store, ...)`` in an event loop of its own, ``store`` open (the
    project has no asyncio plugin for pytest)."""

    @functools.wraps(test)
    def run_test(store: TokenStore, **fixtures: Any) -> None:
        async def main() -> None:
            await store.open()
            try:
                await test(store, **fixtures)
            finally:
                await store.close()

        asyncio.run(main())

    return run_test


def run(coroutine: Awaitable[_T]) -> _T:
    async def main() -> _T:
        return await coroutine

    return asyncio.run(main())


@contextlib.asynccontextmanager
async def opened(store: TokenStore) -> AsyncIterator[TokenStore]:
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def pairs(*token_ids: str) -> list[tuple[str, str]]:
    return [(token_id, "secret-" + token_id) for token_id in token_ids]


async def ids(store: TokenStore) -> list[str]:
    return [record.token_id for record in await store.list_tokens()]


async def picks(
    store: TokenStore, count: int, now: float = T0, exclude: frozenset[str] = frozenset()
) -> list[str | None]:
    found = []
    for _ in range(count):
        record = await store.pick(now, POLICY, exclude)
        found.append(None if record is None else record.token_id)
    return found


async def token(store: TokenStore, token_id: str) -> TokenRecord:
    record = await store.get_token(token_id)
    assert record is not None
    return record


async def fail(store: TokenStore, token_id: str, now: float, times: int = 1) -> TokenRecord:
    record = None
    for _ in range(times):
        record = await store.report(token_id, now, POLICY, success=False, status=500, error="x")
    assert record is not None
    return record


# ── lifecycle, settings ──


@store_test
async def test_open_and_close_are_idempotent(store: TokenStore) -> None:
    await store.open()
    assert await store.meta_get("schema_version") == "1"
    await store.close()
    await store.close()
    await store.open()  # reopens
    assert await store.meta_get("schema_version") == "1"


def test_kinds(tmp_path: Path) -> None:
    assert SqliteStore.kind == "sqlite"
    assert SqliteStore(tmp_path / "x.db").path == tmp_path / "x.db"
    assert RedisStore.kind == "redis"


@store_test
async def test_meta(store: TokenStore) -> None:
    assert await store.meta_get("secret") is None
    await store.meta_set("secret", "one")
    assert await store.meta_get("secret") == "one"
    await store.meta_set("secret", "two")
    assert await store.meta_get("secret") == "two"
    assert await store.meta_setdefault("secret", "three") == "two"
    assert await store.meta_setdefault("salt", "first") == "first"
    assert await store.meta_setdefault("salt", "second") == "first"
    assert await store.meta_get("salt") == "first"


def test_meta_setdefault_races_agree(new_store: StoreFactory) -> None:
    async def main() -> None:
        async with opened(new_store()) as one, opened(new_store()) as two:
            values = await asyncio.gather(
                *(s.meta_setdefault("secret", f"value-{i}") for i, s in enumerate([one, two] * 5))
            )
            assert len(set(values)) == 1
            assert await one.meta_get("secret") == values[0]

    run(main())


@store_test
async def test_lease(store: TokenStore) -> None:
    assert await store.try_lease("health", "w1", 30.0, T0)
    assert not await store.try_lease("health", "w2", 30.0, T0 + 10)
    assert await store.try_lease("health", "w1", 30.0, T0 + 20)  # renewed until T0 + 50
    assert not await store.try_lease("health", "w2", 30.0, T0 + 49.5)
    assert await store.try_lease("other", "w2", 30.0, T0 + 49.5)  # another lease
    assert await store.try_lease("health", "w2", 30.0, T0 + 50)  # expired: taken over
    assert not await store.try_lease("health", "w1", 30.0, T0 + 51)


# ── tokens: adding, replacing, removing ──


@store_test
async def test_add_dedupes_and_keeps_order(store: TokenStore) -> None:
    assert await store.add_tokens(pairs("a", "b", "a"), SOURCE_ENV, T0) == ["a", "b"]
    assert await store.add_tokens(pairs("b", "c"), SOURCE_API, T0 + 1) == ["c"]
    assert await store.add_tokens([], SOURCE_API, T0 + 1) == []
    records = await store.list_tokens()
    assert [r.token_id for r in records] == ["a", "b", "c"]
    assert [r.source for r in records] == [SOURCE_ENV, SOURCE_ENV, SOURCE_API]
    positions = [r.position for r in records]
    assert positions == sorted(set(positions))
    assert records[0] == TokenRecord("a", "secret-a", SOURCE_ENV, positions[0], added_at=T0)
    assert records[2].added_at == T0 + 1
    assert await store.get_token("c") == records[2]
    assert await store.get_token("zz") is None

    # Positions are never reused: a token added after a removal goes last.
    assert await store.remove_tokens(["c"]) == ["c"]
    await store.add_tokens(pairs("d", "c"), SOURCE_API, T0 + 2)
    records = await store.list_tokens()
    assert [r.token_id for r in records] == ["a", "b", "d", "c"]
    assert records[2].position > positions[2]


@store_test
async def test_replace_source(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_ENV, T0)
    await store.add_tokens(pairs("c"), SOURCE_API, T0)
    await store.add_tokens(pairs("f"), SOURCE_FILE, T0)
    added, removed = await store.replace_source(SOURCE_ENV, pairs("b", "d", "c", "d"), T0 + 1)
    assert (added, removed) == (["d"], ["a"])
    assert await ids(store) == ["b", "c", "f", "d"]
    assert (await token(store, "c")).source == SOURCE_API  # stays another source's
    assert (await token(store, "d")).source == SOURCE_ENV
    assert (await token(store, "d")).added_at == T0 + 1

    assert await store.replace_source(SOURCE_ENV, [], T0 + 2) == ([], ["b", "d"])
    assert await ids(store) == ["c", "f"]
    assert await store.replace_source(SOURCE_ENV, [], T0 + 2) == ([], [])


@store_test
async def test_remove(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)
    assert await store.remove_tokens(["a", "zz", "a", "c"]) == ["a", "c"]
    assert await store.remove_tokens(["a"]) == []
    assert await store.remove_tokens([]) == []
    assert await ids(store) == ["b"]
    assert await store.get_token("a") is None


@store_test
async def test_set_enabled(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
    assert await store.set_enabled("a", False)
    assert not (await token(store, "a")).enabled
    assert not await store.set_enabled("zz", True)
    assert await store.get_token("zz") is None
    assert await picks(store, 3) == ["b", "b", "b"]
    assert await store.set_enabled("a", True)
    assert (await token(store, "a")).enabled
    assert await picks(store, 2) == ["a", "b"]


# ── picking ──


@store_test
async def test_round_robin(store: TokenStore) -> None:
    assert await store.pick(T0, POLICY) is None  # no tokens
    await store.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)
    assert await picks(store, 5, T0 + 1) == ["a", "b", "c", "a", "b"]
    await store.add_tokens(pairs("d"), SOURCE_API, T0)
    assert await picks(store, 3) == ["c", "d", "a"]
    record = await token(store, "a")
    assert record.last_used == T0
    assert (await token(store, "b")).last_used == T0 + 1

    # The cursor's own token removed: the next one after it.
    assert await picks(store, 1) == ["b"]
    await store.remove_tokens(["b"])
    assert await picks(store, 2) == ["c", "d"]


@store_test
async def test_pick_returns_the_updated_record(store: TokenStore) -> None:
    await store.add_tokens(pairs("a"), SOURCE_API, T0)
    record = await store.pick(T0 + 5, POLICY)
    assert record == await store.get_token("a")
    assert record is not None and record.last_used == T0 + 5


@store_test
async def test_exclude(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)
    assert await picks(store, 1, exclude=frozenset({"a"})) == ["b"]
    assert await picks(store, 1, exclude=frozenset({"c"})) == ["a"]  # wraps around
    assert await picks(store, 1, exclude=frozenset({"a", "b", "c"})) == [None]
    assert await picks(store, 1) == ["b"]  # a refused pick leaves the cursor


@store_test
async def test_only_serving_tokens_are_picked(store: TokenStore) -> None:
    await store.add_tokens(pairs("off", "guest", "invalid", "user", "unknown"), SOURCE_API, T0)
    await store.set_enabled("off", False)
    await store.set_role("guest", ROLE_GUEST, T0)
    await store.set_role("invalid", ROLE_INVALID, T0)
    await store.set_role("user", ROLE_USER, T0)
    assert (await token(store, "unknown")).role == ROLE_UNKNOWN
    assert await picks(store, 4) == ["user", "unknown", "user", "unknown"]
    await store.set_role("user", ROLE_INVALID, T0)
    await store.set_role("unknown", ROLE_GUEST, T0)
    assert await picks(store, 1) == [None]


# ── outcomes, cooldown, probes ──


@store_test
async def test_report_records_outcomes(store: TokenStore) -> None:
    await store.add_tokens(pairs("a"), SOURCE_API, T0)
    record = await store.report("a", T0 + 1, POLICY, success=False, status=429, error="limited")
    assert record == await store.get_token("a")
    assert record is not None
    assert (record.failures, record.total_failures, record.successes) == (1, 1, 0)
    assert (record.last_failure, record.last_status, record.last_error) == (T0 + 1, 429, "limited")
    assert record.cooldown_until == 0.0  # below the threshold

    record = await store.report("a", T0 + 2, POLICY, success=True, status=200)
    assert record is not None
    assert (record.failures, record.total_failures, record.successes) == (0, 1, 1)
    assert (record.last_success, record.last_status) == (T0 + 2, 200)
    assert record.last_failure == T0 + 1
    assert record.last_error == "limited"  # the last error stays on record


@store_test
async def test_failures_cool_a_token_down_then_one_probe(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
    assert (await fail(store, "a", T0)).cooldown_until == 0.0
    record = await fail(store, "a", T0 + 1)
    assert record.failures == POLICY.failure_threshold
    assert record.cooldown_until == T0 + 1 + POLICY.recovery_timeout
    assert record.cooling(T0 + 2)

    assert await picks(store, 3, T0 + 2) == ["b", "b", "b"]
    assert await picks(store, 2, T0 + 100.5) == ["b", "b"]  # still cooling

    # Cooldown passed: one probe, then no one else gets it within the probe window.
    probe_time = T0 + 1 + POLICY.recovery_timeout
    assert await picks(store, 1, probe_time) == ["a"]
    record = await token(store, "a")
    assert record.cooldown_until == probe_time + POLICY.probe_window
    assert record.last_used == probe_time
    assert record.failures == POLICY.failure_threshold  # until the probe's outcome
    assert await picks(store, 3, probe_time + 1) == ["b", "b", "b"]


@store_test
async def test_probe_success_returns_the_token_to_rotation(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
    await fail(store, "a", T0, times=2)
    assert await picks(store, 1, T0 + 200) == ["a"]
    record = await store.report("a", T0 + 201, POLICY, success=True, status=200)
    assert record is not None
    assert (record.failures, record.cooldown_until, record.total_failures) == (0, 0.0, 2)
    assert await picks(store, 4, T0 + 202) == ["b", "a", "b", "a"]


@store_test
async def test_probe_failure_cools_down_again(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
    await fail(store, "a", T0, times=2)
    assert await picks(store, 1, T0 + 200) == ["a"]
    record = await fail(store, "a", T0 + 201)
    assert record.failures == POLICY.failure_threshold + 1
    assert record.cooldown_until == T0 + 201 + POLICY.recovery_timeout
    assert await picks(store, 2, T0 + 211) == ["b", "b"]  # probe window over, still cooling
    assert await picks(store, 2, T0 + 301) == ["a", "b"]  # the next probe


@store_test
async def test_unreported_probe_is_probed_again_after_the_window(store: TokenStore) -> None:
    await store.add_tokens(pairs("a"), SOURCE_API, T0)
    await fail(store, "a", T0, times=2)
    assert await picks(store, 2, T0 + 100) == ["a", None]
    assert await picks(store, 1, T0 + 100 + POLICY.probe_window - 0.5) == [None]
    assert await picks(store, 2, T0 + 100 + POLICY.probe_window) == ["a", None]


@store_test
async def test_report_on_a_deleted_token(store: TokenStore) -> None:
    await store.add_tokens(pairs("a"), SOURCE_API, T0)
    assert await store.pick(T0, POLICY) is not None
    await store.remove_tokens(["a"])
    assert await store.report("a", T0 + 1, POLICY, success=True, status=200) is None
    assert await store.report("a", T0 + 1, POLICY, success=False, error="gone") is None
    assert await store.get_token("a") is None
    assert await store.list_tokens() == []


@store_test
async def test_set_role(store: TokenStore) -> None:
    await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
    await fail(store, "a", T0, times=3)
    assert await store.set_role("a", ROLE_GUEST, T0 + 1, error="a guest token")
    record = await token(store, "a")
    assert (record.role, record.checked_at, record.last_error) == (
        ROLE_GUEST,
        T0 + 1,
        "a guest token",
    )
    assert record.failures == 3  # only "user" clears them
    assert await store.set_role("a", ROLE_INVALID, T0 + 2)
    record = await token(store, "a")
    assert (record.role, record.checked_at, record.last_error) == (
        ROLE_INVALID,
        T0 + 2,
        "a guest token",
    )

    assert await store.set_role("a", ROLE_USER, T0 + 3)
    record = await token(store, "a")
    assert (record.role, record.failures, record.cooldown_until) == (ROLE_USER, 0, 0.0)
    assert record.total_failures == 3
    assert await picks(store, 2, T0 + 4) == ["a", "b"]  # serving again at once

    assert not await store.set_role("zz", ROLE_USER, T0)
    assert await store.get_token("zz") is None


@store_test
async def test_reset_token(store: TokenStore) -> None:
    await store.add_tokens(pairs("a"), SOURCE_API, T0)
    await fail(store, "a", T0, times=2)
    assert await store.reset_token("a")
    record = await token(store, "a")
    assert (record.failures, record.cooldown_until, record.total_failures) == (0, 0.0, 2)
    assert await picks(store, 1, T0 + 1) == ["a"]
    assert not await store.reset_token("zz")
    assert await store.get_token("zz") is None


# ── several instances on one pool ──


def test_instances_share_the_pool_and_the_cursor(new_store: StoreFactory) -> None:
    async def main() -> None:
        async with opened(new_store()) as one, opened(new_store()) as two:
            await one.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)
            assert await ids(two) == ["a", "b", "c"]
            assert await picks(one, 1) == ["a"]
            assert await picks(two, 1) == ["b"]
            assert await picks(one, 1) == ["c"]
            await two.set_enabled("a", False)
            assert await picks(one, 2) == ["b", "c"]
            await fail(two, "b", T0, times=2)
            assert (await token(one, "b")).cooldown_until == T0 + POLICY.recovery_timeout
            assert await picks(one, 2, T0 + 1) == ["c", "c"]

    run(main())


def test_concurrent_picks_hand_out_a_probe_once(new_store: StoreFactory) -> None:
    async def main() -> None:
        async with opened(new_store()) as one, opened(new_store()) as two:
            await one.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)
            await fail(one, "a", T0, times=2)
            now = T0 + POLICY.recovery_timeout + 1
            found = await asyncio.gather(*(s.pick(now, POLICY) for s in [one, two] * 10))
            counts = Counter(r.token_id for r in found if r is not None)
            assert sum(counts.values()) == 20
            assert counts["a"] == 1
            assert abs(counts["b"] - counts["c"]) <= 1  # one shared cursor: strict rotation

    run(main())


@store_test
async def test_state_survives_reopening(store: TokenStore, new_store: StoreFactory) -> None:
    await store.add_tokens(pairs("a", "b", "c"), SOURCE_ENV, T0)
    await fail(store, "b", T0 + 0.25, times=2)
    await store.set_role("c", ROLE_USER, T0 + 0.5)
    await store.set_enabled("a", False)
    await store.meta_set("secret", "s")
    await store.try_lease("health", "w1", 60.0, T0)
    assert await picks(store, 1, T0 + 1) == ["c"]
    await store.add_stats(StatsBatch({"n": 1.5}, {M0: {"requests": 2.0}}, ["r"]), 10, 60)
    before = await store.list_tokens()
    await store.close()

    async with opened(new_store()) as again:
        assert await again.list_tokens() == before
        assert await again.meta_get("secret") == "s"
        assert not await again.try_lease("health", "w2", 60.0, T0 + 1)
        await again.set_enabled("a", True)
        assert await picks(again, 2, T0 + 1) == ["a", "c"]  # the cursor was kept
        assert await again.counters() == {"n": 1.5}
        assert await again.series(0) == {M0: {"requests": 2.0}}
        assert await again.recent(5) == ["r"]


# ── statistics ──


@store_test
async def test_stats_add_up(store: TokenStore) -> None:
    assert await store.counters() == {}
    assert await store.series(0) == {}
    assert await store.recent(10) == []
    first = StatsBatch(
        counters={"requests_total": 1.0, 'seconds{api="openai"}': 0.25},
        series={M0: {"requests": 1.0, "duration_sum": 0.5}},
        recent=['{"n":1}', '{"n":2}'],
    )
    second = StatsBatch(
        counters={"requests_total": 2.0},
        series={M0: {"requests": 2.0}, M0 + 60: {"requests": 1.0}},
        recent=['{"n":3}'],
    )
    await store.add_stats(first, keep_recent=100, keep_minutes=60)
    await store.add_stats(second, keep_recent=100, keep_minutes=60)
    await store.add_stats(StatsBatch(), keep_recent=100, keep_minutes=60)
    assert await store.counters() == {"requests_total": 3.0, 'seconds{api="openai"}': 0.25}
    assert await store.series(M0) == {
        M0: {"requests": 3.0, "duration_sum": 0.5},
        M0 + 60: {"requests": 1.0},
    }
    assert await store.series(M0 + 1) == {M0 + 60: {"requests": 1.0}}
    assert await store.series(M0 + 120) == {}
    assert await store.recent(10) == ['{"n":3}', '{"n":2}', '{"n":1}']
    assert await store.recent(2) == ['{"n":3}', '{"n":2}']
    assert await store.recent(0) == []

    await store.clear_stats()
    assert await store.counters() == {}
    assert await store.series(0) == {}
    assert await store.recent(10) == []
    await store.add_stats(second, keep_recent=100, keep_minutes=60)
    assert await store.counters() == {"requests_total": 2.0}
    assert await store.recent(10) == ['{"n":3}']


@store_test
async def test_stats_keep_the_newest(store: TokenStore) -> None:
    entries = [f"entry-{i}" for i in range(5)]
    await store.add_stats(StatsBatch(recent=entries[:2]), keep_recent=3, keep_minutes=60)
    await store.add_stats(StatsBatch(recent=entries[2:]), keep_recent=3, keep_minutes=60)
    assert await store.recent(10) == ["entry-4", "entry-3", "entry-2"]
    await store.add_stats(StatsBatch(recent=["entry-5"]), keep_recent=0, keep_minutes=60)
    assert await store.recent(10) == []

    minutes = {M0 + 60 * i: {"requests": float(i)} for i in range(5)}
    await store.add_stats(StatsBatch(series=minutes), keep_recent=3, keep_minutes=3)
    assert sorted(await store.series(0)) == [M0 + 120, M0 + 180, M0 + 240]
    # A later minute pushes the oldest out; a batch without series drops nothing.
    await store.add_stats(StatsBatch(series={M0 + 300: {"requests": 1.0}}), 3, 3)
    assert sorted(await store.series(0)) == [M0 + 180, M0 + 240, M0 + 300]
    await store.add_stats(StatsBatch(counters={"n": 1.0}), 3, 1)
    assert sorted(await store.series(0)) == [M0 + 300]
    assert (await store.series(0))[M0 + 300] == {"requests": 1.0}


# ── SQLite only ──


def test_sqlite_file_settings_and_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "tokens.db"

    async def main() -> None:
        async with opened(SqliteStore(path)) as store:
            await store.add_tokens(pairs("a"), SOURCE_API, T0)

    run(main())
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert tables and all(name.startswith("zaiproxy_") for name in tables)


def test_sqlite_leaves_a_foreign_tokens_table_alone(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    rows = [(1, "zai", "old-token-1", "user", 1), (2, "zai", "old-token-2", "guest", 0)]
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE tokens (id INTEGER PRIMARY KEY, provider TEXT, token TEXT,"
            " token_type TEXT, is_enabled INTEGER)"
        )
        db.executemany("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'tokens'").fetchone()

    async def main() -> None:
        async with opened(SqliteStore(path)) as store:
            await store.add_tokens(pairs("a", "b"), SOURCE_API, T0)
            await store.remove_tokens(["a"])
            await store.add_stats(StatsBatch({"n": 1.0}, {M0: {"r": 1.0}}, ["x"]), 10, 10)
            await store.clear_stats()
            assert await ids(store) == ["b"]

    run(main())
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT * FROM tokens ORDER BY id").fetchall() == rows
        assert (
            db.execute("SELECT sql FROM sqlite_master WHERE name = 'tokens'").fetchone() == schema
        )


# Adds tokens one by one, printing each id once add_tokens returned, until killed.
CRASH_WRITER = """
import asyncio, sys
from zaiproxy.tokens.sqlite_store import SqliteStore
from zaiproxy.tokens.store import PoolPolicy

async def main():
    store = SqliteStore(sys.argv[1])
    await store.open()
    n = int(sys.argv[2])
    while True:
        token_id = "id-%08d" % n
        await store.add_tokens([(token_id, "secret-" + token_id)], "api", float(n))
        print(token_id, flush=True)
        await store.pick(float(n), PoolPolicy())  # moves the cursor: another write
        n += 1

asyncio.run(main())
"""


def test_sqlite_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    printed: list[str] = []
    for round_number in range(3):
        errors = tmp_path / f"stderr-{round_number}.txt"
        with open(errors, "wb") as stderr:
            writer = subprocess.Popen(
                [sys.executable, "-c", CRASH_WRITER, str(path), str(round_number * 1_000_000)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        watchdog = threading.Timer(60.0, writer.kill)
        watchdog.start()
        try:
            assert writer.stdout is not None
            target = len(printed) + random.randint(30, 80)
            for line in writer.stdout:
                printed.append(line.strip())
                if len(printed) >= target:
                    break
            else:
                pytest.fail(f"the writer stopped: {errors.read_text()}")
            time.sleep(random.uniform(0.0, 0.02))  # kill at any point of the loop
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
            printed.extend(line.strip() for line in writer.stdout if line.strip())
            writer.stdout.close()
        finally:
            watchdog.cancel()
        assert writer.returncode == -signal.SIGKILL

        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            stored = {
                token_id for (token_id,) in db.execute("SELECT token_id FROM zaiproxy_tokens")
            }
        assert set(printed) <= stored

    async def reopen() -> None:
        async with opened(SqliteStore(path)) as store:
            records = await store.list_tokens()
            assert set(printed) <= {r.token_id for r in records}
            positions = [r.position for r in records]
            assert positions == sorted(set(positions))
            assert await store.pick(T0, POLICY) is not None

    run(reopen())


# Picks COUNT tokens, printing each id.
PICKER = """
import asyncio, sys
from zaiproxy.tokens.sqlite_store import SqliteStore
from zaiproxy.tokens.store import PoolPolicy

async def main():
    store = SqliteStore(sys.argv[1])
    await store.open()
    for _ in range(int(sys.argv[2])):
        record = await store.pick(1.0, PoolPolicy())
        print(record.token_id)
    await store.close()

asyncio.run(main())
"""


def test_sqlite_processes_share_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"

    async def setup() -> None:
        async with opened(SqliteStore(path)) as store:
            await store.add_tokens(pairs("a", "b", "c"), SOURCE_API, T0)

    run(setup())
    pickers = [
        subprocess.Popen(
            [sys.executable, "-c", PICKER, str(path), "150"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [picker.communicate(timeout=60)[0] for picker in pickers]
    assert [picker.returncode for picker in pickers] == [0, 0, 0]
    counts = Counter(line for output in outputs for line in output.split())
    # Every pick saw the one before it, whichever process made it: a strict rotation.
    assert counts == {"a": 150, "b": 150, "c": 150}


# ── Redis only ──


def test_redis_prefixes_keep_pools_apart(redis_url: str) -> None:
    async def main() -> None:
        one = RedisStore(redis_url, prefix=f"zaiproxy-test-{uuid.uuid4().hex}:")
        two = RedisStore(redis_url, prefix=f"zaiproxy-test-{uuid.uuid4().hex}:")
        async with opened(one), opened(two):
            await one.add_tokens(pairs("a"), SOURCE_API, T0)
            await one.meta_set("secret", "s")
            await one.add_stats(StatsBatch({"n": 1.0}), 10, 10)
            assert await two.list_tokens() == []
            assert await two.meta_get("secret") is None
            assert await two.counters() == {}
            assert await two.add_tokens(pairs("a"), SOURCE_API, T0) == ["a"]

    run(main())
