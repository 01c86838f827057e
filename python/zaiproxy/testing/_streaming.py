"""Writes a Reply to a connection: bulk (pre-rendered, large writes) or paced (faults)."""

from __future__ import annotations

import asyncio

from zaiproxy.testing._http import LAST_CHUNK, ClientGone, Response, chunk
from zaiproxy.testing.replies import Reply
from zaiproxy.testing.stats import Stats


async def send_reply(response: Response, reply: Reply, stats: Stats) -> None:
    if not reply.is_stream or reply.status != 200:
        response.send(reply.status, reply.content_type, reply.body, reply.headers)
        return
    stats.stream_started()
    outcome = "completed"
    try:
        response.write(response.stream_head(200, reply.content_type, reply.headers))
        if reply.pacing.is_bulk:
            await _write_bulk(response, reply)
        elif not await _write_paced(response, reply):
            outcome = "aborted"
    except ClientGone:
        outcome = "client_disconnected"
        raise
    finally:
        stats.stream_ended(outcome)


async def _write_bulk(response: Response, reply: Reply) -> None:
    # No per-event work at all: the chunked body was rendered once for every request.
    for piece in reply.chunked_writes:
        response.write(piece)
        await response.drain()


async def _pause(response: Response, seconds: float) -> None:
    """Sleeps, but notices at once when the client goes away meanwhile."""
    closed = response.closed
    await asyncio.wait([closed], timeout=seconds)
    if closed.done():
        raise ClientGone()


async def _write_paced(response: Response, reply: Reply) -> bool:
    """Writes event by event; False when the reply asked to drop the connection."""
    pacing = reply.pacing
    for number, event in enumerate(reply.events):
        if number == pacing.disconnect_after:
            response.close_connection()
            return False
        if number == pacing.stall_after:
            await response.drain()
            await _pause(response, pacing.stall_seconds)
        if pacing.delay:
            await _pause(response, pacing.delay)
        response.write(chunk(event))
        await response.drain()
    if pacing.disconnect_after is not None and pacing.disconnect_after >= len(reply.events):
        response.close_connection()
        return False
    response.write(LAST_CHUNK)
    return True
