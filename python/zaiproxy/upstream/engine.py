"""The asyncio (and blocking) face of the C++ upstream engine.

One ``core.Engine`` per process runs every upstream request on its own thread. Readers learn that
output is ready from one file descriptor (an eventfd; a pipe on macOS) registered with the event
loop: one wake-up drains the ids of all ready streams, and each stream hands over everything it
has in one call, so Python moves a batch of bytes per wake-up, never a callback per chunk.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from zaiproxy import core
from zaiproxy.upstream.errors import UpstreamError, UpstreamTimeout

if TYPE_CHECKING:
    from zaiproxy._core import ErrorDict, UsageDict


# Where distributions keep the system's CA bundle. The manylinux wheel's libcurl was built on one
# distribution and looks in that one's place only, so the engine names the bundle itself.
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Alpine, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS, Amazon Linux
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL's extracted trust store
    "/etc/ssl/cert.pem",  # macOS, Alpine, FreeBSD
)


def system_ca_file(env: Mapping[str, str]) -> str:
    """SSL_CERT_FILE (OpenSSL's own variable), else the first CA bundle this machine has, else
    "" (libcurl's built-in default)."""
    chosen = env.get("SSL_CERT_FILE")
    if chosen:
        return chosen
    return next((path for path in CA_BUNDLES if os.path.isfile(path)), "")


@dataclass(frozen=True)
class EngineSettings:
    """How the engine talks to the upstream (timeouts in seconds)."""

    stream_buffer_bytes: int = 256 * 1024
    connect_timeout: float = 10.0
    first_byte_timeout: float = 90.0
    idle_timeout: float = 120.0
    proxy: str = ""
    no_proxy: str = ""
    verify_tls: bool = True
    ca_file: str = ""
    receive_buffer_bytes: int = 1024

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, scheme: str = "https"
    ) -> EngineSettings:
        """Proxy settings as the older proxies read them: ``SOCKS5_PROXY`` wins, then
        ``HTTPS_PROXY`` (for an https upstream) or ``HTTP_PROXY``; ``NO_PROXY`` lists bypasses.
        Lower-case names work too. The CA bundle is ``SSL_CERT_FILE`` or the system's."""
        env = os.environ if env is None else env

        def read(name: str) -> str:
            return env.get(name) or env.get(name.lower()) or ""

        proxy = read("SOCKS5_PROXY")
        if proxy and "://" not in proxy:
            proxy = "socks5h://" + proxy
        elif proxy.startswith("socks5://"):
            # Resolve names through the proxy, as a browser behind it would.
            proxy = "socks5h://" + proxy[len("socks5://") :]
        if not proxy:
            proxy = (read("HTTPS_PROXY") if scheme == "https" else "") or read("HTTP_PROXY")
        return cls(proxy=proxy, no_proxy=read("NO_PROXY"), ca_file=system_ca_file(env))


@dataclass
class Response:
    """A whole (non-streamed) upstream response."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def raise_for_status(self) -> None:
        """Raises the engine's typed error for a non-2xx status (what a streamed request would)."""
        if not 200 <= self.status < 300:
            raise UpstreamError.from_failure(core.http_failure(self.status, self.body))


class UpstreamEngine:
    """Process-wide handle on the C++ engine.

    Nothing starts at construction: the engine thread starts with the first request, in the
    process that makes it (so an ASGI server may fork workers after importing this). A child
    process gets an engine of its own.
    """

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._lock = threading.Lock()
        self._core: core.Engine | None = None
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        # The future a stream's reader awaits, by stream id, while it waits for more output.
        self._waiters: dict[int, asyncio.Future[None]] = {}

    # ── streams ──

    def stream(
        self, request: core.HttpRequest, pipeline: core.PipelineOptions | None = None
    ) -> UpstreamStream:
        """``async with engine.stream(request, pipeline) as s: async for data in s: …``

        Entering waits for the response to start and raises an ``UpstreamError`` if it fails
        before any output; after that, failures arrive in-band as the API's error frames.
        """
        return UpstreamStream(self, request, pipeline)

    async def fetch(self, request: core.HttpRequest) -> Response:
        """The whole response to a plain request (any status); raises on transport failures."""
        async with self.stream(request) as stream:
            body = b"".join([chunk async for chunk in stream])
            return Response(stream.status, stream.headers, body)

    def stream_sync(
        self,
        request: core.HttpRequest,
        pipeline: core.PipelineOptions | None = None,
        *,
        timeout: float | None = None,
    ) -> Iterator[bytes]:
        """The blocking variant of ``stream`` for scripts and notebooks: yields output batches.
        ``timeout`` bounds each wait for more output."""
        handle = self._core_engine().open(request, pipeline)
        yield from self._drain_sync(handle, timeout)

    def fetch_sync(self, request: core.HttpRequest, *, timeout: float | None = None) -> Response:
        handle = self._core_engine().open(request, None)
        body = b"".join(self._drain_sync(handle, timeout))
        return Response(handle.status, handle.headers, body)

    @staticmethod
    def _drain_sync(handle: core.Stream, timeout: float | None) -> Iterator[bytes]:
        done = False
        try:
            while not done:
                if not handle.wait(3600.0 if timeout is None else timeout):
                    raise UpstreamTimeout(
                        "no upstream output in time", kind="timeout", status=504, code="timeout"
                    )
                data, done = handle.take()
                if done and handle.failure is not None:
                    raise UpstreamError.from_failure(handle.failure)
                if data:
                    yield data
        finally:
            if not done:
                handle.cancel()

    def stats(self) -> dict[str, float]:
        engine = self._core
        if engine is None:
            return {}
        return dict(engine.stats())

    def close(self) -> None:
        """Cancels every stream and joins the engine thread (the next request starts a new one)."""
        with self._lock:
            engine, self._core = self._core, None
            if self._loop is not None and engine is not None and not self._loop.is_closed():
                self._loop.remove_reader(engine.ready_fd)
            self._loop = None
        if engine is not None:
            engine.stop()

    # ── plumbing shared with UpstreamStream ──

    def _core_engine(self) -> core.Engine:
        with self._lock:
            if self._core is None or self._pid != os.getpid():
                # After a fork the parent's engine thread does not exist here: start afresh.
                self._core = core.Engine(
                    stream_buffer_bytes=self.settings.stream_buffer_bytes,
                    connect_timeout=self.settings.connect_timeout,
                    first_byte_timeout=self.settings.first_byte_timeout,
                    idle_timeout=self.settings.idle_timeout,
                    proxy=self.settings.proxy,
                    no_proxy=self.settings.no_proxy,
                    verify_tls=self.settings.verify_tls,
                    ca_file=self.settings.ca_file,
                    receive_buffer_bytes=self.settings.receive_buffer_bytes,
                )
                self._pid = os.getpid()
                self._loop = None
                self._waiters.clear()
            return self._core

    def _open(
        self, request: core.HttpRequest, pipeline: core.PipelineOptions | None
    ) -> core.Stream:
        engine = self._core_engine()
        self._attach(engine, asyncio.get_running_loop())
        return engine.open(request, pipeline)

    def _wait(self, stream_id: int) -> asyncio.Future[None]:
        """A future resolved when the stream has something new (only one reader per stream)."""
        assert self._loop is not None
        waiter = self._loop.create_future()
        self._waiters[stream_id] = waiter
        return waiter

    def _forget(self, stream_id: int) -> None:
        self._waiters.pop(stream_id, None)

    def _attach(self, engine: core.Engine, loop: asyncio.AbstractEventLoop) -> None:
        """Registers the ready fd with the running loop (once per loop)."""
        if self._loop is loop:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(engine.ready_fd)
        loop.add_reader(engine.ready_fd, self._on_ready)
        self._loop = loop

    def _on_ready(self) -> None:
        engine = self._core
        if engine is None:
            return
        waiters = self._waiters
        for stream_id in engine.take_ready():
            waiter = waiters.pop(stream_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


class UpstreamStream:
    """One streamed upstream response: an async context manager and an async iterator of bytes."""

    def __init__(
        self,
        engine: UpstreamEngine,
        request: core.HttpRequest,
        pipeline: core.PipelineOptions | None,
    ) -> None:
        self._engine = engine
        self._request: core.HttpRequest | None = request
        self._pipeline = pipeline
        self._handle: core.Stream | None = None
        self._pending = b""
        self._done = False

    async def __aenter__(self) -> UpstreamStream:
        assert self._request is not None, "a stream is opened once"
        self._handle = self._engine._open(self._request, self._pipeline)
        # The engine holds its own copy: a long conversation is not kept twice while it streams.
        self._request = self._pipeline = None
        try:
            self._pending = await self._next_batch()
            if self._done and self._handle.failure is not None:
                raise UpstreamError.from_failure(self._handle.failure)
        except BaseException:
            self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        while not self._done:
            data = await self._next_batch()
            if data:
                return data
        if self._handle is not None and self._handle.failure is not None:
            # Raw streams report failures after output too (a pipeline stream never does).
            raise UpstreamError.from_failure(self._handle.failure)
        raise StopAsyncIteration

    # ── what the response turned out to be ──

    @property
    def status(self) -> int:
        return self._require().status

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self._require().headers

    @property
    def usage(self) -> UsageDict | None:
        return self._require().usage

    @property
    def error(self) -> ErrorDict | None:
        return self._require().error

    @property
    def finish_reason(self) -> str | None:
        return self._require().finish_reason

    @property
    def done(self) -> bool:
        return self._done

    def cancel(self) -> None:
        self._close()

    # ── internals ──

    async def _next_batch(self) -> bytes:
        handle = self._require()
        while True:
            data, self._done = handle.take()
            if data or self._done:
                return data
            # Registered before yielding to the loop, which is where readiness is reported: a
            # batch published after take() resolves this future.
            await self._engine._wait(handle.id)

    def _require(self) -> core.Stream:
        if self._handle is None:
            raise RuntimeError("the stream is not open: use `async with engine.stream(...)`")
        return self._handle

    def _close(self) -> None:
        if self._handle is None:
            return
        if not self._done:
            self._handle.cancel()
        self._engine._forget(self._handle.id)
