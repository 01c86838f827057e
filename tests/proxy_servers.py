"""Small forward proxies for the engine's tests, each served from a background thread on
127.0.0.1: an HTTP proxy (absolute-URI forwarding of plain-http requests, one request per
connection, and CONNECT tunnels) and a SOCKS5 proxy (no authentication, CONNECT, IPv4 and
domain-name addresses). Both count what they carried and where to."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

from zaiproxy.testing.background import BackgroundServer

# Headers that concern one hop only: a forward proxy drops them (RFC 9110 §7.6.1).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
}
_MAX_HEAD = 64 * 1024


@dataclass
class ProxyLog:
    """What a proxy carried: read it from the test thread (a snapshot under the proxy's lock)."""

    connections: int = 0  # client connections accepted
    requests: list[str] = field(default_factory=list)  # "GET http://…", "CONNECT host:port"
    targets: list[str] = field(default_factory=list)  # host:port of every upstream connection
    refused: int = 0  # requests the proxy could not (or would not) carry


class _ProxyServer(BackgroundServer):
    """The bookkeeping; subclasses serve one client each."""

    thread_name = "test-proxy"
    scheme = "http"

    def __init__(self) -> None:
        super().__init__()
        self.port = 0
        self._log = ProxyLog()
        self._lock = threading.Lock()
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log(self) -> ProxyLog:
        with self._lock:
            return ProxyLog(
                self._log.connections,
                list(self._log.requests),
                list(self._log.targets),
                self._log.refused,
            )

    async def serve(self, on_listening: Callable[[], None]) -> None:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        on_listening()
        async with server:
            await self.until_stopped()
            server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        with self._lock:
            self._log.connections += 1
        try:
            await self._serve_client(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        raise NotImplementedError

    # ── shared by both proxies ──

    def _record(self, request: str | None = None, target: str | None = None) -> None:
        with self._lock:
            if request is not None:
                self._log.requests.append(request)
            if target is not None:
                self._log.targets.append(target)

    def _record_refusal(self) -> None:
        with self._lock:
            self._log.refused += 1

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the target, recorded; None when it cannot be made (the caller refuses
        the request, which counts it)."""
        try:
            upstream = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, asyncio.TimeoutError):
            return None
        self._record(target=f"{host}:{port}")
        return upstream

    @staticmethod
    async def _pipe(
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        """Copies bytes both ways until the upstream is done (or the client leaves)."""

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(64 * 1024):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass

        to_upstream = asyncio.ensure_future(copy(client[0], upstream[1]))
        to_client = asyncio.ensure_future(copy(upstream[0], client[1]))
        try:
            await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
            if to_upstream.done() and not to_client.done():
                # The client finished sending: let the response arrive in full.
                with contextlib.suppress(OSError):
                    if upstream[1].can_write_eof():
                        upstream[1].write_eof()
                await to_client
        finally:
            to_upstream.cancel()
            to_client.cancel()
            upstream[1].close()


class HttpProxy(_ProxyServer):
    """``http://127.0.0.1:PORT``: forwards ``GET http://host:port/path`` (with a Content-Length
    body if any) over a fresh upstream connection with ``Connection: close``, one request per
    client connection; ``CONNECT host:port`` opens a tunnel."""

    thread_name = "test-http-proxy"

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            return await self._refuse(writer, 431, "Request Header Fields Too Large")
        request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        self._record(request=f"{method} {target}")
        if method == "CONNECT":
            return await self._tunnel(reader, writer, target)
        url = urllib.parse.urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            return await self._refuse(writer, 400, "Bad Request")
        upstream = await self._open(url.hostname, url.port or 80)
        if upstream is None:
            return await self._refuse(writer, 502, "Bad Gateway")
        path = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
        headers = [
            line
            for line in header_lines
            if line.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP
        ]
        forwarded = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close"])
        upstream[1].write(forwarded.encode("latin-1") + b"\r\n\r\n")
        await self._pipe((reader, writer), upstream)

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str
    ) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            return await self._refuse(writer, 400, "Bad Request")
        upstream = await self._open(host.strip("[]"), int(port))
        if upstream is None:
            return await self._refuse(writer, 502, "Bad Gateway")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await self._pipe((reader, writer), upstream)

    async def _refuse(self, writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        self._record_refusal()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()


class Socks5Proxy(_ProxyServer):
    """``socks5h://127.0.0.1:PORT``: RFC 1928 without authentication, CONNECT only, IPv4 and
    domain-name addresses (IPv6 is answered "address type not supported")."""

    thread_name = "test-socks5-proxy"
    scheme = "socks5h"

    # Reply codes (RFC 1928 §6).
    SUCCEEDED = 0
    GENERAL_FAILURE = 1
    CONNECTION_REFUSED = 5
    COMMAND_NOT_SUPPORTED = 7
    ADDRESS_TYPE_NOT_SUPPORTED = 8

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        version, method_count = await reader.readexactly(2)
        methods = await reader.readexactly(method_count)
        if version != 5 or 0 not in methods:
            self._record_refusal()
            writer.write(b"\x05\xff")  # no acceptable method
            await writer.drain()
            return
        writer.write(b"\x05\x00")
        version, command, _reserved, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif address_type == 3:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("idna")
        else:
            return await self._reply(writer, self.ADDRESS_TYPE_NOT_SUPPORTED)
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        self._record(request=f"CONNECT {host}:{port} (atyp {address_type})")
        if version != 5 or command != 1:
            return await self._reply(writer, self.COMMAND_NOT_SUPPORTED)
        upstream = await self._open(host, port)
        if upstream is None:
            return await self._reply(writer, self.CONNECTION_REFUSED)
        await self._reply(writer, self.SUCCEEDED, upstream[1].get_extra_info("sockname"))
        await self._pipe((reader, writer), upstream)

    async def _reply(
        self,
        writer: asyncio.StreamWriter,
        code: int,
        bound: tuple[str, int] | None = None,
    ) -> None:
        if code != self.SUCCEEDED:
            self._record_refusal()
        address, port = bound[:2] if bound else ("0.0.0.0", 0)
        writer.write(
            bytes([5, code, 0, 1]) + ipaddress.IPv4Address(address).packed + struct.pack("!H", port)
        )
        await writer.drain()
