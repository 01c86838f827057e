"""The upstream engine over real loopback sockets against the mock chat.z.ai."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Iterator

import pytest

from zaiproxy import core
from zaiproxy.testing import MockUpstream, Reply
from zaiproxy.upstream import EngineSettings, UpstreamEngine
from zaiproxy.upstream import errors as upstream_errors

from oracle import parse_anthropic_sse, parse_openai_sse
from signed_requests import completion, guest


@pytest.fixture
def engine() -> Iterator[UpstreamEngine]:
    engine = UpstreamEngine(EngineSettings(first_byte_timeout=5, idle_timeout=5))
    yield engine
    engine.close()


def openai_sse() -> core.PipelineOptions:
    return core.PipelineOptions(output="openai-sse", model="GLM-4.5")


async def read_all(
    engine: UpstreamEngine, request: core.HttpRequest, pipeline: core.PipelineOptions
) -> bytes:
    async with engine.stream(request, pipeline) as stream:
        return b"".join([chunk async for chunk in stream])


def test_fetch_returns_status_headers_and_body(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    async def main() -> None:
        landing = await engine.fetch(core.HttpRequest(url=mock_upstream.url + "/"))
        assert landing.status == 200
        assert b"prod-fe-" in landing.body
        auth = await engine.fetch(core.HttpRequest(url=mock_upstream.url + "/api/v1/auths/"))
        profile = json.loads(auth.body)
        assert profile["role"] == "guest"
        assert any(c.startswith("token=") for c in auth.header_values("set-cookie"))
        # Every request has its own cookie jar: a second call mints another guest.
        again = json.loads(
            (await engine.fetch(core.HttpRequest(url=mock_upstream.url + "/api/v1/auths/"))).body
        )
        assert again["id"] != profile["id"]
        # Raw fetches return error statuses as responses, not exceptions.
        models = await engine.fetch(core.HttpRequest(url=mock_upstream.url + "/api/models"))
        assert models.status == 401

    asyncio.run(main())


def test_stream_runs_the_pipeline_and_batches_output(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.thinking_answer("Let me think.", ["Hel", "lo ", "there"]))

    async def main() -> None:
        request = completion(mock_upstream, token, user_id, "Hi")
        async with engine.stream(request, openai_sse()) as stream:
            output = b"".join([chunk async for chunk in stream])
            assert stream.status == 200
            assert stream.finish_reason == "stop"
            assert stream.usage is not None
        result = parse_openai_sse(output)
        assert result.content == "Hello there"
        assert result.reasoning == "Let me think."

    asyncio.run(main())
    assert mock_upstream.completions[0].headers["x-signature"]


def test_a_hundred_parallel_streams_through_one_engine(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.on_completion = lambda request: Reply.answer(
        ["You said: ", request.json["signature_prompt"]]
    )

    async def one(n: int) -> str:
        request = completion(mock_upstream, token, user_id, f"message {n}")
        pipeline = core.PipelineOptions(output="anthropic-sse", model="GLM-4.5")
        return parse_anthropic_sse(await read_all(engine, request, pipeline)).content

    async def main() -> list[str]:
        return await asyncio.gather(*(one(n) for n in range(100)))

    assert asyncio.run(main()) == [f"You said: message {n}" for n in range(100)]
    stats = engine.stats()
    assert stats["completed"] == 100
    assert stats["active"] == 0


@pytest.mark.parametrize(
    ("reply", "error_class", "status", "hint"),
    [
        (Reply.signature_failed(), upstream_errors.SignatureRejected, 400, "signing key"),
        (Reply.http_error(401), upstream_errors.TokenRejected, 401, "token"),
        (Reply.waf_blocked(), upstream_errors.FirewallBlocked, 405, "front-end version"),
        (Reply.version_check_failed(), upstream_errors.ClientOutdated, 426, "front-end version"),
        (Reply.http_error(429), upstream_errors.RateLimited, 429, "limit"),
        (Reply.http_error(503), upstream_errors.UpstreamServerError, 503, "server error"),
    ],
)
def test_http_errors_become_typed_errors_before_any_output(
    engine: UpstreamEngine,
    mock_upstream: MockUpstream,
    reply: Reply,
    error_class: type[upstream_errors.UpstreamError],
    status: int,
    hint: str,
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.fail_request(1, reply=reply)

    async def main() -> None:
        with pytest.raises(error_class) as raised:
            await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert raised.value.status == status
        assert raised.value.kind == "http"
        assert hint in str(raised.value)
        # The next request goes through.
        output = await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert parse_openai_sse(output).content

    asyncio.run(main())


def test_the_mock_verifies_what_the_engine_sends(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)

    async def main() -> None:
        wrong = completion(mock_upstream, token, user_id, signature="0" * 64)
        with pytest.raises(upstream_errors.SignatureRejected) as raised:
            await read_all(engine, wrong, openai_sse())
        assert "签名验证失败" in str(raised.value)
        stale = completion(mock_upstream, token, user_id, fe_version="prod-fe-1.0.1")
        with pytest.raises((upstream_errors.ClientOutdated, upstream_errors.FirewallBlocked)):
            await read_all(engine, stale, openai_sse())
        with pytest.raises(upstream_errors.TokenRejected) as rejected:
            await read_all(engine, completion(mock_upstream, "bogus", user_id), openai_sse())
        assert rejected.value.retryable

    asyncio.run(main())


@pytest.mark.parametrize(
    ("reply", "error_class"),
    [
        (Reply.model_not_available(), upstream_errors.ModelNotAvailable),
        (Reply.client_check_failed(), upstream_errors.ClientOutdated),
        (Reply.captcha_required(), upstream_errors.CaptchaRequired),
    ],
)
def test_in_stream_errors_before_content_are_typed_errors(
    engine: UpstreamEngine,
    mock_upstream: MockUpstream,
    reply: Reply,
    error_class: type[upstream_errors.UpstreamError],
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(reply)

    async def main() -> None:
        with pytest.raises(error_class) as raised:
            await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert raised.value.kind == "in_stream"

    asyncio.run(main())


def test_an_error_after_content_arrives_in_band(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(
        Reply.answer("partial").ending_with_error({"detail": "Internal error", "code": 500})
    )
    output = asyncio.run(read_all(engine, completion(mock_upstream, token, user_id), openai_sse()))
    result = parse_openai_sse(output)
    assert result.content == "partial"
    assert result.error is not None and "Internal error" in result.error["message"]


def test_a_connection_lost_mid_stream_ends_the_response_with_an_error_frame(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer(["one ", "two ", "three"]).disconnect(after=2))
    output = asyncio.run(read_all(engine, completion(mock_upstream, token, user_id), openai_sse()))
    result = parse_openai_sse(output)
    assert result.content == "one two "
    assert result.error is not None
    assert "connection" in result.error["message"]
    assert output.endswith(b"data: [DONE]\n\n")


def test_a_connection_lost_before_content_is_a_retryable_error(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer("never").disconnect(after=0))

    async def main() -> None:
        with pytest.raises(upstream_errors.UpstreamConnectionLost) as raised:
            await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert raised.value.retryable

    asyncio.run(main())


def test_leaving_the_stream_cancels_the_upstream_request(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer(["first ", "second"]).stall(after=1, seconds=30))

    async def main() -> bytes:
        async with engine.stream(completion(mock_upstream, token, user_id), openai_sse()) as s:
            return await s.__anext__()

    first = asyncio.run(main())
    assert b"first" in first
    assert mock_upstream.stats.wait_for(lambda s: s.streams_client_disconnected == 1, 5)
    assert mock_upstream.stats.wait_for(lambda s: s.open_connections == 0, 5)
    stats = engine.stats()
    assert stats["cancelled"] == 1
    assert stats["active"] == 0


def test_a_slow_reader_pauses_the_transfer_and_loses_nothing(mock_upstream: MockUpstream) -> None:
    engine = UpstreamEngine(EngineSettings(stream_buffer_bytes=8 * 1024))
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.bulk(5000, text="abcdefgh "))

    async def main() -> bytes:
        chunks = []
        async with engine.stream(completion(mock_upstream, token, user_id), openai_sse()) as s:
            async for chunk in s:
                chunks.append(chunk)
                await asyncio.sleep(0.002)  # a slow client
        return b"".join(chunks)

    try:
        output = asyncio.run(main())
        assert parse_openai_sse(output).content == "abcdefgh " * 5000
        assert engine.stats()["paused"] > 0
    finally:
        engine.close()


def test_first_byte_and_idle_timeouts(mock_upstream: MockUpstream) -> None:
    engine = UpstreamEngine(EngineSettings(first_byte_timeout=0.5, idle_timeout=0.5))
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer("late").stall(after=0, seconds=5))
    mock_upstream.enqueue(Reply.answer(["early ", "late"]).stall(after=1, seconds=5))

    async def main() -> None:
        started = time.monotonic()
        with pytest.raises(upstream_errors.UpstreamTimeout):
            await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert time.monotonic() - started < 3
        output = await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        result = parse_openai_sse(output)
        assert result.content == "early "
        assert result.error is not None and "idle timeout" in result.error["message"]

    try:
        asyncio.run(main())
    finally:
        engine.close()


def test_unreachable_upstream(engine: UpstreamEngine) -> None:
    async def main() -> None:
        with pytest.raises(upstream_errors.UpstreamUnreachable):
            await engine.fetch(core.HttpRequest(url="http://127.0.0.1:9/"))

    asyncio.run(main())


def test_blocking_variants(engine: UpstreamEngine, mock_upstream: MockUpstream) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer(["blocking ", "works"]))
    output = b"".join(engine.stream_sync(completion(mock_upstream, token, user_id), openai_sse()))
    assert parse_openai_sse(output).content == "blocking works"
    landing = engine.fetch_sync(core.HttpRequest(url=mock_upstream.url + "/"))
    assert landing.status == 200
    mock_upstream.fail_request(2, status=429)
    with pytest.raises(upstream_errors.RateLimited):
        b"".join(engine.stream_sync(completion(mock_upstream, token, user_id), openai_sse()))


def test_oversized_line_and_invalid_utf8_do_not_break_the_engine(
    mock_upstream: MockUpstream,
) -> None:
    engine = UpstreamEngine()
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.invalid_utf8(), Reply.huge_line(2_000_000))

    async def main() -> None:
        output = await read_all(engine, completion(mock_upstream, token, user_id), openai_sse())
        assert parse_openai_sse(output).content.startswith("ok ")
        small_lines = core.PipelineOptions(output="openai-sse", max_line_bytes=1_000_000)
        with pytest.raises(upstream_errors.UpstreamRefused) as raised:
            await read_all(engine, completion(mock_upstream, token, user_id), small_lines)
        assert "line" in str(raised.value)

    try:
        asyncio.run(main())
    finally:
        engine.close()


def test_an_engine_serves_successive_event_loops(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    for _ in range(3):
        response = asyncio.run(engine.fetch(core.HttpRequest(url=mock_upstream.url + "/")))
        assert response.status == 200


def test_dropping_a_stream_without_reading_frees_it(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer("x").stall(after=0, seconds=30))
    handle = engine._core_engine().open(completion(mock_upstream, token, user_id), openai_sse())
    assert mock_upstream.stats.wait_for(lambda s: s.active_streams == 1, 5)
    del handle
    gc.collect()
    assert mock_upstream.stats.wait_for(lambda s: s.streams_client_disconnected == 1, 5)
    deadline = time.monotonic() + 5
    while engine.stats()["active"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.stats()["active"] == 0


def test_connections_are_reused(engine: UpstreamEngine, mock_upstream: MockUpstream) -> None:
    async def main() -> None:
        for _ in range(5):
            response = await engine.fetch(core.HttpRequest(url=mock_upstream.url + "/"))
            assert response.status == 200

    asyncio.run(main())
    assert mock_upstream.stats.total_connections == 1


def test_output_streams_as_the_upstream_drips(
    engine: UpstreamEngine, mock_upstream: MockUpstream
) -> None:
    token, user_id = guest(mock_upstream)
    mock_upstream.enqueue(Reply.answer(["one ", "two ", "three"]).drip(0.05))

    async def main() -> list[bytes]:
        async with engine.stream(completion(mock_upstream, token, user_id), openai_sse()) as s:
            return [chunk async for chunk in s]

    batches = asyncio.run(main())
    # Each delta reached the reader on its own, as it arrived: nothing waited for the end.
    assert sum(b'"content":"' in batch for batch in batches) >= 3
    assert parse_openai_sse(b"".join(batches)).content == "one two three"
