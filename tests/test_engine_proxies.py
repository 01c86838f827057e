"""The upstream engine through forward proxies (HTTP and SOCKS5) to the mock chat.z.ai, and the
proxy settings read from the environment."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from zaiproxy import core
from zaiproxy.testing import MockUpstream, Reply
from zaiproxy.upstream import EngineSettings, UpstreamEngine
from zaiproxy.upstream import errors as upstream_errors

from oracle import parse_openai_sse
from proxy_servers import HttpProxy, Socks5Proxy
from signed_requests import completion, guest


@pytest.fixture
def http_proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as proxy:
        yield proxy


@pytest.fixture
def socks5_proxy() -> Iterator[Socks5Proxy]:
    with Socks5Proxy() as proxy:
        yield proxy


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def through(proxy: str, no_proxy: str = "") -> UpstreamEngine:
    return UpstreamEngine(
        EngineSettings(proxy=proxy, no_proxy=no_proxy, first_byte_timeout=5, idle_timeout=5)
    )


async def stream_and_fetch(engine: UpstreamEngine, mock: MockUpstream) -> tuple[str, int]:
    """A full completion stream through a Pipeline, then a plain fetch of the landing page."""
    token, user_id = guest(mock)
    mock.enqueue(Reply.thinking_answer("Hmm.", ["Through ", "the ", "proxy"]))
    pipeline = core.PipelineOptions(output="openai-sse", model="GLM-4.5")
    async with engine.stream(completion(mock, token, user_id, "Hi"), pipeline) as stream:
        output = b"".join([chunk async for chunk in stream])
        assert stream.status == 200
        assert stream.finish_reason == "stop"
    result = parse_openai_sse(output)
    assert result.reasoning == "Hmm."
    assert output.endswith(b"data: [DONE]\n\n")
    landing = await engine.fetch(core.HttpRequest(url=mock.url + "/"))
    assert b"prod-fe-" in landing.body
    return result.content, landing.status


# ── through an HTTP proxy ──


def test_the_engine_reaches_the_mock_through_an_http_proxy(
    http_proxy: HttpProxy, mock_upstream: MockUpstream
) -> None:
    engine = through(http_proxy.url)
    try:
        assert asyncio.run(stream_and_fetch(engine, mock_upstream)) == ("Through the proxy", 200)
    finally:
        engine.close()
    log = http_proxy.log()
    origin = f"http://127.0.0.1:{mock_upstream.port}"
    assert [request.split("?")[0] for request in log.requests] == [
        f"POST {origin}/api/v2/chat/completions",
        f"GET {origin}/",
    ]
    assert log.targets == [f"127.0.0.1:{mock_upstream.port}"] * 2
    assert log.connections == 2
    assert log.refused == 0
    # The signed request arrived intact through the proxy.
    assert len(mock_upstream.completions) == 1
    assert mock_upstream.completions[0].headers["x-signature"]


def test_the_http_proxy_tunnels_connect(http_proxy: HttpProxy, mock_upstream: MockUpstream) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", http_proxy.port, timeout=10)
    connection.set_tunnel("127.0.0.1", mock_upstream.port)
    try:
        for _ in range(2):  # keep-alive inside the tunnel
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.status == 200
            assert b"prod-fe-" in response.read()
    finally:
        connection.close()
    log = http_proxy.log()
    assert log.requests == [f"CONNECT 127.0.0.1:{mock_upstream.port}"]
    assert log.targets == [f"127.0.0.1:{mock_upstream.port}"]


@contextlib.contextmanager
def hanging_up_server() -> Iterator[int]:
    """A loopback port whose server closes every connection as soon as the client speaks."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.settimeout(5)
                with contextlib.suppress(OSError):
                    client.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join()
        listener.close()


def test_an_https_upstream_goes_through_a_connect_tunnel(http_proxy: HttpProxy) -> None:
    # What matters is that the engine asks the proxy for a tunnel rather than sending an absolute
    # URI; the server behind hangs up during the TLS handshake.
    engine = through(http_proxy.url)
    try:
        with hanging_up_server() as port, pytest.raises(upstream_errors.UpstreamUnreachable):
            asyncio.run(engine.fetch(core.HttpRequest(url=f"https://127.0.0.1:{port}/")))
    finally:
        engine.close()
    log = http_proxy.log()
    assert log.requests == [f"CONNECT 127.0.0.1:{port}"]
    assert log.targets == [f"127.0.0.1:{port}"]


def test_the_http_proxy_answers_502_for_an_unreachable_target(http_proxy: HttpProxy) -> None:
    engine = through(http_proxy.url)
    try:
        response = asyncio.run(
            engine.fetch(core.HttpRequest(url=f"http://127.0.0.1:{closed_port()}/"))
        )
    finally:
        engine.close()
    assert response.status == 502
    assert http_proxy.log().refused == 1


def test_an_http_proxy_refusing_the_tunnel_makes_the_upstream_unreachable(
    http_proxy: HttpProxy,
) -> None:
    engine = through(http_proxy.url)
    try:
        with pytest.raises(upstream_errors.UpstreamUnreachable) as raised:
            asyncio.run(engine.fetch(core.HttpRequest(url=f"https://127.0.0.1:{closed_port()}/")))
    finally:
        engine.close()
    assert raised.value.kind == "connect"
    assert http_proxy.log().refused == 1


# ── through a SOCKS5 proxy ──


def test_the_engine_reaches_the_mock_through_socks5(
    socks5_proxy: Socks5Proxy, mock_upstream: MockUpstream
) -> None:
    assert socks5_proxy.url.startswith("socks5h://127.0.0.1:")
    engine = through(socks5_proxy.url)
    try:
        assert asyncio.run(stream_and_fetch(engine, mock_upstream)) == ("Through the proxy", 200)
    finally:
        engine.close()
    log = socks5_proxy.log()
    # The mock keeps connections alive, so curl may reuse the tunnel for the second request.
    assert log.connections in (1, 2)
    assert log.targets == [f"127.0.0.1:{mock_upstream.port}"] * log.connections
    # An IP literal travels as an IPv4 address (type 1).
    assert log.requests == [f"CONNECT 127.0.0.1:{mock_upstream.port} (atyp 1)"] * log.connections
    # Every connection the mock saw, but guest()'s, came through the proxy.
    assert mock_upstream.stats.total_connections == 1 + log.connections
    assert len(mock_upstream.completions) == 1


def test_socks5h_sends_host_names_for_the_proxy_to_resolve(
    socks5_proxy: Socks5Proxy, mock_upstream: MockUpstream
) -> None:
    engine = through(socks5_proxy.url)
    try:
        response = asyncio.run(
            engine.fetch(core.HttpRequest(url=f"http://localhost:{mock_upstream.port}/"))
        )
    finally:
        engine.close()
    assert response.status == 200
    assert socks5_proxy.log().requests == [f"CONNECT localhost:{mock_upstream.port} (atyp 3)"]


def test_a_socks5_proxy_that_cannot_reach_the_target_makes_the_upstream_unreachable(
    socks5_proxy: Socks5Proxy,
) -> None:
    engine = through(socks5_proxy.url)
    try:
        with pytest.raises(upstream_errors.UpstreamUnreachable) as raised:
            asyncio.run(engine.fetch(core.HttpRequest(url=f"http://127.0.0.1:{closed_port()}/")))
    finally:
        engine.close()
    assert raised.value.kind == "connect"
    assert socks5_proxy.log().refused == 1


@pytest.mark.parametrize("kind", ["http", "socks5h"])
def test_parallel_streams_through_a_proxy(mock_upstream: MockUpstream, kind: str) -> None:
    proxy = HttpProxy() if kind == "http" else Socks5Proxy()
    token, user_id = guest(mock_upstream)
    mock_upstream.on_completion = lambda request: Reply.answer(
        ["Echo: ", request.json["signature_prompt"]]
    )
    pipeline = core.PipelineOptions(output="openai-sse", model="GLM-4.5")

    async def one(engine: UpstreamEngine, n: int) -> str:
        request = completion(mock_upstream, token, user_id, f"message {n}")
        async with engine.stream(request, pipeline) as stream:
            return parse_openai_sse(b"".join([chunk async for chunk in stream])).content

    async def main(engine: UpstreamEngine) -> list[str]:
        return await asyncio.gather(*(one(engine, n) for n in range(20)))

    with proxy:
        engine = through(proxy.url)
        try:
            assert asyncio.run(main(engine)) == [f"Echo: message {n}" for n in range(20)]
        finally:
            engine.close()
        log = proxy.log()
    assert 1 <= log.connections <= 20
    assert set(log.targets) == {f"127.0.0.1:{mock_upstream.port}"}
    assert len(mock_upstream.completions) == 20


# ── bypassing the proxy ──


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_bypasses_an_http_proxy(
    http_proxy: HttpProxy, mock_upstream: MockUpstream, no_proxy: str
) -> None:
    engine = through(http_proxy.url, no_proxy)
    try:
        assert asyncio.run(stream_and_fetch(engine, mock_upstream)) == ("Through the proxy", 200)
    finally:
        engine.close()
    assert http_proxy.log().connections == 0


def test_no_proxy_bypasses_a_socks5_proxy(
    socks5_proxy: Socks5Proxy, mock_upstream: MockUpstream
) -> None:
    engine = through(socks5_proxy.url, "example.com, 127.0.0.1")
    try:
        response = asyncio.run(engine.fetch(core.HttpRequest(url=mock_upstream.url + "/")))
    finally:
        engine.close()
    assert response.status == 200
    assert socks5_proxy.log().connections == 0


def test_no_proxy_from_the_environment(http_proxy: HttpProxy, mock_upstream: MockUpstream) -> None:
    env = {"http_proxy": http_proxy.url, "no_proxy": "127.0.0.1"}
    engine = UpstreamEngine(EngineSettings.from_env(env, scheme="http"))
    try:
        response = asyncio.run(engine.fetch(core.HttpRequest(url=mock_upstream.url + "/")))
    finally:
        engine.close()
    assert response.status == 200
    assert http_proxy.log().connections == 0


def test_a_host_outside_no_proxy_still_uses_the_proxy(
    http_proxy: HttpProxy, mock_upstream: MockUpstream
) -> None:
    engine = through(http_proxy.url, "example.com")
    try:
        response = asyncio.run(engine.fetch(core.HttpRequest(url=mock_upstream.url + "/")))
    finally:
        engine.close()
    assert response.status == 200
    assert http_proxy.log().connections == 1


# ── a proxy that is not there ──


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_refusing_proxy_makes_the_upstream_unreachable(
    mock_upstream: MockUpstream, scheme: str
) -> None:
    engine = through(f"{scheme}://127.0.0.1:{closed_port()}")
    try:
        with pytest.raises(upstream_errors.UpstreamUnreachable) as raised:
            asyncio.run(engine.fetch(core.HttpRequest(url=mock_upstream.url + "/")))
        token, user_id = guest(mock_upstream)
        pipeline = core.PipelineOptions(output="openai-sse", model="GLM-4.5")

        async def stream() -> None:
            async with engine.stream(completion(mock_upstream, token, user_id), pipeline):
                pass

        with pytest.raises(upstream_errors.UpstreamUnreachable):
            asyncio.run(stream())
    finally:
        engine.close()
    assert raised.value.kind == "connect"
    assert raised.value.status == 502
    assert not raised.value.retryable
    assert mock_upstream.stats.total_connections == 1  # guest() only


# ── EngineSettings.from_env ──


@pytest.mark.parametrize(
    ("env", "scheme", "proxy"),
    [
        ({}, "https", ""),
        ({"HTTP_PROXY": "http://h:1"}, "https", "http://h:1"),
        ({"HTTPS_PROXY": "http://s:2", "HTTP_PROXY": "http://h:1"}, "https", "http://s:2"),
        # HTTPS_PROXY is for an https upstream only.
        ({"HTTPS_PROXY": "http://s:2", "HTTP_PROXY": "http://h:1"}, "http", "http://h:1"),
        ({"HTTPS_PROXY": "http://s:2"}, "http", ""),
        (
            {"SOCKS5_PROXY": "socks5h://k:3", "HTTPS_PROXY": "http://s:2", "HTTP_PROXY": "x:1"},
            "https",
            "socks5h://k:3",
        ),
        ({"SOCKS5_PROXY": "socks5://k:3", "HTTPS_PROXY": "http://s:2"}, "https", "socks5h://k:3"),
        ({"SOCKS5_PROXY": "k:3"}, "https", "socks5h://k:3"),
        ({"SOCKS5_PROXY": "127.0.0.1:1080"}, "http", "socks5h://127.0.0.1:1080"),
        ({"socks5_proxy": "k:3", "https_proxy": "http://s:2"}, "https", "socks5h://k:3"),
        ({"https_proxy": "http://s:2", "http_proxy": "http://h:1"}, "https", "http://s:2"),
        ({"http_proxy": "http://h:1"}, "https", "http://h:1"),
        # The upper-case name wins over the lower-case one.
        (
            {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:1"},
            "https",
            "http://upper:1",
        ),
        # Empty values count as unset.
        ({"SOCKS5_PROXY": "", "HTTP_PROXY": "http://h:1"}, "https", "http://h:1"),
    ],
)
def test_proxy_settings_from_the_environment(env: dict[str, str], scheme: str, proxy: str) -> None:
    assert EngineSettings.from_env(env, scheme=scheme).proxy == proxy


def test_no_proxy_from_the_environment_in_either_case() -> None:
    assert EngineSettings.from_env({"NO_PROXY": "a,b"}).no_proxy == "a,b"
    assert EngineSettings.from_env({"no_proxy": "c"}).no_proxy == "c"
    assert EngineSettings.from_env({}).no_proxy == ""


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SOCKS5_PROXY", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("socks5_proxy", "socks5://10.0.0.1:9050")
    monkeypatch.setenv("NO_PROXY", "localhost")
    settings = EngineSettings.from_env()
    assert settings.proxy == "socks5h://10.0.0.1:9050"
    assert settings.no_proxy == "localhost"
