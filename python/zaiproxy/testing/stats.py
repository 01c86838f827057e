"""Counters of what clients did to the mock, readable and awaitable from the test thread."""

from __future__ import annotations

import threading
import time
from typing import Callable


class Stats:
    """Connections and completion streams. Updated on the server's loop, read from anywhere."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.open_connections = 0
        self.total_connections = 0
        self.active_streams = 0
        self.streams_started = 0
        self.streams_completed = 0  # every byte, last chunk included, was handed to the socket
        self.streams_client_disconnected = 0  # the client left before the end (e.g. cancelled)
        self.streams_aborted = 0  # the mock dropped the connection on purpose (fault injection)

    def _update(self, change: Callable[[], None]) -> None:
        with self._changed:
            change()
            self._changed.notify_all()

    def connection_opened(self) -> None:
        def change() -> None:
            self.open_connections += 1
            self.total_connections += 1

        self._update(change)

    def connection_closed(self) -> None:
        self._update(lambda: setattr(self, "open_connections", self.open_connections - 1))

    def stream_started(self) -> None:
        def change() -> None:
            self.active_streams += 1
            self.streams_started += 1

        self._update(change)

    def stream_ended(self, outcome: str) -> None:
        """`outcome` is "completed", "client_disconnected" or "aborted"."""

        def change() -> None:
            self.active_streams -= 1
            counter = f"streams_{outcome}"
            setattr(self, counter, getattr(self, counter) + 1)

        self._update(change)

    def wait_for(self, condition: Callable[[Stats], bool], timeout: float = 5.0) -> bool:
        """Blocks until `condition(stats)` holds; False if it still does not after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"Stats({fields})"
