"""Noticing that a client went away, so its upstream request is cancelled at once.

A client may leave while the upstream has not answered yet (a model thinking for a minute) or
while it is silent mid-stream; nothing is sent then, so only ASGI ``receive`` tells. Cancelling
the task that serves the request releases everything on the way out: the engine removes the
transfer and frees its buffers, the identity goes back to the pool.
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive

# Watching takes a task blocked on receive(). It starts after this grace period, so a request
# that starts streaming at once (most do, in milliseconds) pays only for a timer.
GRACE_SECONDS = 0.05


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class DisconnectWatch:
    """Cancels the current task when the client disconnects; ``stop()`` when the answer is over.

    Start it only once the request body has been read: the watcher consumes ASGI messages.
    """

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None, "a DisconnectWatch belongs to the task serving the request"
        self._task = task
        self._receive = receive
        self._watcher: asyncio.Future[None] | None = None
        self._stopped = False
        self.disconnected = False
        self._timer = asyncio.get_running_loop().call_later(GRACE_SECONDS, self._start)

    def stop(self) -> None:
        self._stopped = True
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()

    def _start(self) -> None:
        if self._stopped:
            return
        self._watcher = asyncio.ensure_future(_wait_for_disconnect(self._receive))
        self._watcher.add_done_callback(self._on_watcher_done)

    def _on_watcher_done(self, watcher: asyncio.Future[None]) -> None:
        # Once the answer is over, a late disconnect must not cancel the server's task.
        if self._stopped or watcher.cancelled() or watcher.exception() is not None:
            return
        self.disconnected = True
        self._task.cancel()
