"""A small HTTP/1.1 server on asyncio.Protocol: exactly what the mock needs and nothing more.

Hand-written rather than http.server so that thousands of concurrent streams stay cheap: one
protocol object per connection, responses written straight to the transport, and the moment a
client goes away is known (connection_lost) even while a stream is stalled.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from zaiproxy.testing.stats import Stats

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    426: "Upgrade Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class HttpRequest:
    method: str
    target: str
    path: str
    query: dict[str, str]  # form-decoded ("+" is a space); the last value of a repeated key wins
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value[:7].lower() == "bearer " else None

    def cookies(self) -> dict[str, str]:
        pairs = (p.strip().partition("=") for p in self.headers.get("cookie", "").split(";"))
        return {name: value for name, _, value in pairs if name}


class ClientGone(ConnectionError):
    """The client closed the connection while a response was being written."""


def chunk(data: bytes) -> bytes:
    """One chunk of a `Transfer-Encoding: chunked` body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def response_head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Response:
    """Writes one response on a connection; a streamed body is sent chunked."""

    def __init__(self, connection: HttpConnection, keep_alive: bool) -> None:
        self._connection = connection
        self.keep_alive = keep_alive

    @property
    def closed(self) -> asyncio.Future[None]:
        """Resolves when the client connection is gone."""
        return self._connection.closed

    def _connection_header(self) -> tuple[str, str]:
        return ("Connection", "keep-alive" if self.keep_alive else "close")

    def send(
        self, status: int, content_type: str, body: bytes, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        all_headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            self._connection_header(),
            *headers,
        ]
        self._connection.write(response_head(status, all_headers) + body)

    def stream_head(
        self, status: int, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> bytes:
        """The head of a chunked response, for the caller to send with (or as) its first write."""
        return response_head(
            status,
            [
                ("Content-Type", content_type),
                ("Transfer-Encoding", "chunked"),
                ("Cache-Control", "no-cache"),
                self._connection_header(),
                *headers,
            ],
        )

    def write(self, data: bytes | memoryview) -> None:
        self._connection.write(data)

    async def drain(self) -> None:
        await self._connection.drain()

    def close_connection(self) -> None:
        """Closes the connection once what was written is sent, whether the response is complete
        or not (a stream cut this way reaches the client without its last chunk)."""
        self.keep_alive = False


Handler = Callable[[HttpRequest, Response], Awaitable[None]]


class HttpConnection(asyncio.Protocol):
    """Parses requests off one connection and answers them one after another (keep-alive)."""

    def __init__(self, handler: Handler, stats: Stats) -> None:
        self._handler = handler
        self._stats = stats
        self._buffer = bytearray()
        self._requests: asyncio.Queue[HttpRequest | None] = asyncio.Queue()
        self._transport: asyncio.Transport | None = None
        self._can_write: asyncio.Future[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._stats.connection_opened()
        self._worker = asyncio.get_running_loop().create_task(self._serve())

    def connection_lost(self, exc: Exception | None) -> None:
        self._stats.connection_closed()
        if not self.closed.done():
            self.closed.set_result(None)
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_exception(ClientGone())
        self._requests.put_nowait(None)

    def pause_writing(self) -> None:
        self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            try:
                request = self._parse_one()
            except ValueError:
                self._reject(400)
                return
            if request is None:
                return
            self._requests.put_nowait(request)

    # writing

    def write(self, data: bytes | memoryview) -> None:
        if self.closed.done():
            raise ClientGone()
        assert self._transport is not None
        self._transport.write(data)

    async def drain(self) -> None:
        if self.closed.done():
            raise ClientGone()
        if self._can_write is not None:
            await asyncio.shield(self._can_write)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._worker is not None:
            self._worker.cancel()

    # internals

    def _reject(self, status: int) -> None:
        assert self._transport is not None
        self._transport.write(response_head(status, [("Content-Length", "0")]))
        self._transport.close()

    def _parse_one(self) -> HttpRequest | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ValueError("request head too large")
            return None
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError("chunked request bodies are not supported")
        length = int(headers.get("content-length", "0"))
        if not 0 <= length <= MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        if len(self._buffer) < end + 4 + length:
            return None
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        return HttpRequest(method, target, url.path, query, headers, body)

    async def _serve(self) -> None:
        while True:
            request = await self._requests.get()
            if request is None or self.closed.done():
                return
            keep_alive = request.headers.get("connection", "").lower() != "close"
            response = Response(self, keep_alive)
            try:
                await self._handler(request, response)
            except ClientGone:
                return
            except Exception:
                traceback.print_exc()  # a bug in the mock: show it, and drop the connection
                response.keep_alive = False
            if not response.keep_alive:
                assert self._transport is not None
                self._transport.close()
                return


class HttpServer:
    """Makes one HttpConnection per client and remembers the live ones, to close them on stop."""

    def __init__(self, handler: Handler, stats: Stats) -> None:
        self._handler = handler
        self._stats = stats
        self._connections: set[HttpConnection] = set()

    def protocol(self) -> HttpConnection:
        connection = HttpConnection(self._handler, self._stats)
        self._connections.add(connection)
        connection.closed.add_done_callback(lambda _: self._connections.discard(connection))
        return connection

    def close_all(self) -> None:
        for connection in list(self._connections):
            connection.close()
