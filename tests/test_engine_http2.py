"""HTTP/2 over TLS: the engine multiplexes concurrent streams to one host on one connection.

The server is Hypercorn (a real HTTP/2 implementation) on loopback with a throwaway certificate;
the mock chat.z.ai speaks HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from zaiproxy import core
from zaiproxy.testing.background import BackgroundServer
from zaiproxy.upstream import EngineSettings, UpstreamEngine
from zaiproxy.upstream.engine import CA_BUNDLES
from zaiproxy.upstream.errors import UpstreamUnreachable

from oracle import parse_openai_sse

ANSWER = (
    b'data: {"type":"chat:completion","data":{"delta_content":"multi","phase":"answer"}}\n\n'
    b'data: {"type":"chat:completion","data":{"delta_content":"plexed","phase":"answer"}}\n\n'
    b'data: {"type":"chat:completion","data":{"phase":"done","done":true}}\n\n'
)


class Http2Server(BackgroundServer):
    """Hypercorn; records each request's HTTP version and client port."""

    thread_name = "test-http2-server"

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.config = Config()
        self.config.bind = [f"127.0.0.1:{self.port}"]
        self.config.certfile = str(cert)
        self.config.keyfile = str(key)
        self.config.alpn_protocols = ["h2", "http/1.1"]
        self.requests: list[tuple[str, int]] = []

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests.append((scope["http_version"], scope["client"][1]))
        await asyncio.sleep(0.2)  # keep the streams open at the same time
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ANSWER})

    async def serve(self, on_listening: Callable[[], None]) -> None:
        server = asyncio.ensure_future(
            serve(self.app, self.config, shutdown_trigger=self.until_stopped)
        )
        while not server.done():  # Hypercorn does not say when it listens: try the port
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.02)
        on_listening()
        await server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server(certificate: tuple[Path, Path]) -> Iterator[Http2Server]:
    with Http2Server(*certificate) as server:
        yield server


def test_concurrent_streams_share_one_http2_connection(
    server: Http2Server, certificate: tuple[Path, Path]
) -> None:
    engine = UpstreamEngine(EngineSettings(ca_file=str(certificate[0])))
    url = f"https://127.0.0.1:{server.port}/api/v2/chat/completions"

    async def one() -> str:
        request = core.HttpRequest(method="POST", url=url, body=b"{}")
        async with engine.stream(request, core.PipelineOptions(output="openai-sse")) as stream:
            return parse_openai_sse(b"".join([chunk async for chunk in stream])).content

    async def main() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(10)))

    try:
        assert asyncio.run(main()) == ["multiplexed"] * 10
    finally:
        engine.close()
    assert {version for version, _ in server.requests} == {"2"}
    assert len({port for _, port in server.requests}) == 1  # one connection for all ten


def test_tls_verification_is_on_by_default(server: Http2Server) -> None:
    engine = UpstreamEngine()
    try:
        with pytest.raises(UpstreamUnreachable):
            engine.fetch_sync(core.HttpRequest(url=f"https://127.0.0.1:{server.port}/"))
    finally:
        engine.close()


def test_ssl_cert_file_names_the_trusted_bundle(
    server: Http2Server, certificate: tuple[Path, Path]
) -> None:
    engine = UpstreamEngine(EngineSettings.from_env({"SSL_CERT_FILE": str(certificate[0])}))
    try:
        response = engine.fetch_sync(core.HttpRequest(url=f"https://127.0.0.1:{server.port}/"))
        assert response.status == 200
    finally:
        engine.close()


def test_without_ssl_cert_file_the_engine_names_the_systems_bundle() -> None:
    # The manylinux wheel's libcurl would otherwise look only where its build machine keeps it.
    ca_file = EngineSettings.from_env({}).ca_file
    assert ca_file in CA_BUNDLES
    assert Path(ca_file).is_file()
