"""The request log's way into the store: records are buffered and written in batches, off the
request's path, so a slow disk or a Redis round trip never delays an answer."""

from __future__ import annotations

import asyncio
import logging

from zaiproxy.tokens.stats import RequestRecord, stats_batch
from zaiproxy.tokens.store import TokenStore

log = logging.getLogger("zaiproxy.tokens")

KEEP_RECENT = 100  # the request-log entries the dashboard and the older endpoints show
KEEP_MINUTES = 24 * 60  # the per-minute series behind the charts


class RequestLog:
    def __init__(self, store: TokenStore, *, flush_delay: float = 0.2) -> None:
        self._store = store
        self._flush_delay = flush_delay
        self._buffer: list[RequestRecord] = []
        self._flushing: asyncio.Task[None] | None = None

    def add(self, record: RequestRecord) -> None:
        """Queues one finished request; it reaches the store within ``flush_delay``."""
        self._buffer.append(record)
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
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        try:
            await self._store.add_stats(stats_batch(batch), KEEP_RECENT, KEEP_MINUTES)
        except Exception as error:
            # Statistics are not worth failing requests or growing without bound for.
            log.warning("%d request-log entries lost: %s", len(batch), error)
