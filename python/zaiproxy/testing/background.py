"""An asyncio server on an event loop of its own, in a daemon thread: what the mock upstream and
the test servers around it (proxies, an HTTP/2 server) share."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Callable, TypeVar

Self = TypeVar("Self", bound="BackgroundServer")


class BackgroundServer:
    """Subclasses implement ``serve(on_listening)``: start listening, call ``on_listening()``,
    then ``await self.until_stopped()`` and clean up. ``start()``/``close()`` or ``with``."""

    thread_name = "zaiproxy-background-server"
    start_timeout = 30.0

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    async def serve(self, on_listening: Callable[[], None]) -> None:
        raise NotImplementedError

    async def until_stopped(self) -> None:
        """Returns once close() is called (never, when serve() runs on a loop of its own)."""
        if self._stop is None:
            self._stop = asyncio.Event()
        await self._stop.wait()

    def start(self: Self) -> Self:
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(started, failure), name=self.thread_name, daemon=True
        )
        self._thread.start()
        if not started.wait(self.start_timeout):
            raise RuntimeError(f"{type(self).__name__} did not start")
        if failure:
            raise failure[0]
        return self

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(self._request_stop)
        thread.join(self.start_timeout)
        self._loop = self._thread = None

    def __enter__(self: Self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _request_stop(self) -> None:
        if self._stop is None:
            self._stop = asyncio.Event()
        self._stop.set()

    def _run(self, started: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._stop = asyncio.Event()  # created on this loop (Python 3.9 binds it at creation)
            await self.serve(started.set)

        try:
            loop.run_until_complete(main())
        except BaseException as error:  # reported by start() when it happens before listening
            failure.append(error)
        finally:
            started.set()
            loop.close()
