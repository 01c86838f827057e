"""The token pool's stores on the request path: what one pick + report costs (a request served by
a pooled token does both), how many per second many concurrent requests get, and what writing
the request log costs per request; for the SQLite file and for a real redis-server.

    python bench/pool.py [--tokens 50] [--sequential 2000] [--concurrent 64x50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from zaiproxy.testing.redis_server import REDIS_SERVER, RedisServer
from zaiproxy.tokens.pool import token_id
from zaiproxy.tokens.request_log import KEEP_MINUTES, KEEP_RECENT
from zaiproxy.tokens.sqlite_store import SqliteStore
from zaiproxy.tokens.stats import RequestRecord, stats_batch
from zaiproxy.tokens.store import PoolPolicy, TokenStore

POLICY = PoolPolicy()
SECRET = b"bench"


@asynccontextmanager
async def opened(store: TokenStore, tokens: int) -> AsyncIterator[TokenStore]:
    await store.open()
    try:
        pairs = [(token_id(SECRET, f"token-{n}"), f"token-{n}") for n in range(tokens)]
        await store.add_tokens(pairs, "bench", time.time())
        yield store
    finally:
        await store.close()


async def pick_and_report(store: TokenStore) -> None:
    record = await store.pick(time.time(), POLICY)
    assert record is not None
    await store.report(record.token_id, time.time(), POLICY, success=True, status=200)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def measure(kind: str, store: TokenStore, args: argparse.Namespace) -> None:
    latencies = []
    for _ in range(args.sequential):
        started = time.perf_counter()
        await pick_and_report(store)
        latencies.append(time.perf_counter() - started)
    print(
        f"pick+report[{kind}]: p50 {percentile(latencies, 0.5) * 1e6:,.0f} us, "
        f"p99 {percentile(latencies, 0.99) * 1e6:,.0f} us over {args.sequential:,} in a row"
    )

    workers, each = args.concurrent
    started = time.perf_counter()

    async def worker() -> None:
        for _ in range(each):
            await pick_and_report(store)

    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    print(
        f"pick+report throughput[{kind}]: {workers * each / elapsed:,.0f}/s "
        f"({workers} concurrent requests, {workers * each:,} in all)"
    )

    now = time.time()
    records = [
        RequestRecord(
            now,
            "POST",
            "/v1/chat/completions",
            "openai",
            "GLM-4.5",
            True,
            200,
            0.8,
            0.1,
            "127.0.0.1",
            "OpenAI/Python",
            token_id(SECRET, "token-1"),
            "pool",
            120,
            480,
        )
        for _ in range(args.log_batch)
    ]
    started_cpu, started = time.process_time(), time.perf_counter()
    for _ in range(args.log_batches):
        await store.add_stats(stats_batch(records), KEEP_RECENT, KEEP_MINUTES)
    count = args.log_batch * args.log_batches
    print(
        f"request log[{kind}]: {(time.perf_counter() - started) / count * 1e6:,.1f} us and "
        f"{(time.process_time() - started_cpu) / count * 1e6:,.1f} us of CPU per request "
        f"(batches of {args.log_batch})"
    )


async def main(args: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} CPUs; {args.tokens} tokens in the pool")
    with tempfile.TemporaryDirectory() as directory:
        sqlite = SqliteStore(Path(directory) / "bench.db")
        async with opened(sqlite, args.tokens) as store:
            await measure("sqlite", store, args)
    if not os.path.exists(REDIS_SERVER):
        print(f"pick+report[redis]: skipped, no {REDIS_SERVER}")
        return
    from zaiproxy.tokens.redis_store import RedisStore

    with RedisServer() as redis:
        async with opened(RedisStore(redis.url), args.tokens) as store:
            await measure("redis", store, args)


def concurrency(text: str) -> tuple[int, int]:
    workers, _, each = text.partition("x")
    return int(workers), int(each)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=2000, help="picks + reports in a row")
    parser.add_argument("--concurrent", type=concurrency, default=(64, 50), help="WORKERSxEACH")
    parser.add_argument("--log-batch", type=int, default=50, help="records per log write")
    parser.add_argument("--log-batches", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="tiny numbers: a smoke run")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.sequential, arguments.concurrent, arguments.log_batches = 50, (8, 5), 2
    asyncio.run(main(arguments))
