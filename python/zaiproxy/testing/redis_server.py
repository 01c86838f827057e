"""A throwaway ``redis-server`` on loopback, for the tests and the benchmarks of the Redis token
store: ``with RedisServer() as server:`` serves at ``server.url`` on a free 127.0.0.1 port, in a
temporary directory, persisting nothing, until the block ends."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3  # another process may take the free port before the server binds it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``with RedisServer() as server:`` a running server at ``server.url`` until the block
    ends."""

    def __init__(self, executable: str = REDIS_SERVER) -> None:
        self.executable = executable
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> str:
        if self._directory is None:
            return ""
        path = Path(self._directory.name) / "redis.log"
        return path.read_text("utf-8", errors="replace") if path.exists() else ""

    def start(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="zaiproxy-redis-")
        for _ in range(START_ATTEMPTS):
            if self._start_once():
                return
        log = self.log
        self.stop()
        raise RuntimeError(f"redis-server did not start:\n{log}")

    def _start_once(self) -> bool:
        assert self._directory is not None
        directory = self._directory.name
        self.port = _free_port()
        with open(Path(directory) / "redis.log", "ab") as log:
            self._process = subprocess.Popen(
                [
                    self.executable,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--dir", directory,
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            if _ping(self.port):
                return True
            time.sleep(0.02)
        self._process.kill()
        self._process.wait()
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        directory, self._directory = self._directory, None
        if directory is not None:
            directory.cleanup()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
