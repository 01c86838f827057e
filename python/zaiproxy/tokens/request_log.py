"""The request log's way into the store: each finished request is added to the statistics in
memory at once, after its answer (a request pays for its own counters; a batch turned into
statistics later made whichever requests were in flight wait behind it), and what gathered is
written in one batch a moment later (the log entries encoded then, the newest hundred only), so
a slow disk or a Redis round trip never delays an answer."""

from __future__ import annotations

import asyncio
import logging

from zaiproxy.tokens.stats import RequestRecord, StatsAccumulator
from zaiproxy.tokens.store import TokenStore

log = logging.getLogger("zaiproxy.tokens")

KEEP_RECENT = 100  # the request-log entries the dashboard and the older endpoints show
KEEP_MINUTES = 24 * 60  # the per-minute series behind the charts


class RequestLog:
    def __init__(self, store: TokenStore, *, flush_delay: float = 1.0) -> None:
        self._store = store
        self._flush_delay = flush_delay
        self._pending = StatsAccumulator()
        self._flushing: asyncio.Task[None] | None = None

    def add(self, record: RequestRecord) -> None:
        """Queues one finished request; it reaches the store within ``flush_delay``."""
        self._pending.add(record)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush_soon())

    async def flush(self) -> None:
        """Writes what is queued now (and waits for a write under way)."""
        if self._flushing is not None and not self._flushing.done():
            await asyncio.wait({self._flushing})
        await self._write()

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._flush_delay)
        await self._write()

    async def _write(self) -> None:
        if not self._pending:
            return
        batch = self._pending.take(KEEP_RECENT)
        try:
            await self._store.add_stats(batch, KEEP_RECENT, KEEP_MINUTES)
        except Exception as error:
            # Statistics are not worth failing requests or growing without bound for.
            log.warning("%d request-log entries lost: %s", len(batch.recent), error)
