"""``Client`` and ``AsyncClient``: chat.z.ai from notebooks and scripts, no server in between.

Both go straight through the upstream client and the engine, and hand back exactly what the
OpenAI or Anthropic API would (parsed into dicts), so code written against those APIs' shapes
works unchanged::

    from zaiproxy import Client

    with Client() as client:                        # guest sessions unless tokens=[...]
        client.text("Hello")                        # just the answer
        client.chat("Hello")                        # the chat.completion dict
        for chunk in client.chat("Hello", stream=True):
            print(chunk["choices"][0]["delta"].get("content", ""), end="")

The sync ``Client`` runs its own event loop in a daemon thread, so it works where a loop already
runs in the calling thread (Jupyter). Nothing starts at construction: the thread, the engine and
the guest sessions start with the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, overload

from zaiproxy import core
from zaiproxy.catalogue import model_listing
from zaiproxy.profile import load_profile
from zaiproxy.upstream.client import ChatStream, UpstreamClient
from zaiproxy.upstream.engine import EngineSettings, UpstreamEngine
from zaiproxy.upstream.errors import UpstreamError

if TYPE_CHECKING:
    from zaiproxy._core import ErrorDict, UsageDict

__all__ = ["AsyncChunkStream", "AsyncClient", "ChunkStream", "Client"]

ApiName = Literal["openai", "anthropic"]
Messages = Union[str, Sequence[Mapping[str, Any]]]
T = TypeVar("T")

APIS = ("openai", "anthropic")
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; a generous default

# ── requests ──


def _messages(messages_or_prompt: Messages) -> list[dict[str, Any]]:
    if isinstance(messages_or_prompt, str):
        return [{"role": "user", "content": messages_or_prompt}]
    if isinstance(messages_or_prompt, Mapping):
        raise TypeError("pass a prompt string or a list of messages, not a single message")
    return [dict(message) for message in messages_or_prompt]


def build_request(
    api: str,
    messages_or_prompt: Messages,
    *,
    model: str,
    stream: bool,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The request body the API would receive (OpenAI chat completions or Anthropic Messages)."""
    if api not in APIS:
        raise ValueError(f"api must be 'openai' or 'anthropic', not {api!r}")
    body: dict[str, Any] = {"model": model, "messages": _messages(messages_or_prompt)}
    if api == "anthropic":
        body["max_tokens"] = ANTHROPIC_DEFAULT_MAX_TOKENS
    body.update(params or {})
    body["stream"] = stream
    if tools is not None:
        body["tools"] = [dict(tool) for tool in tools]
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    return body


def _include_usage(body: Mapping[str, Any]) -> bool:
    """OpenAI's ``stream_options.include_usage``: the usage chunk before ``[DONE]``."""
    options = body.get("stream_options")
    return isinstance(options, Mapping) and bool(options.get("include_usage"))


def _answer_text(api: str, response: Mapping[str, Any]) -> str:
    if api == "openai":
        choices = response.get("choices") or [{}]
        return choices[0].get("message", {}).get("content") or ""
    return "".join(
        block.get("text", "") for block in response.get("content", []) if block["type"] == "text"
    )


# ── streams ──


class _End:
    """Marks the end of a stream in a queue of chunks (a value, unlike StopIteration)."""


_END = _End()


def _in_stream_error(error: ErrorDict | None, frame: Mapping[str, Any]) -> UpstreamError:
    """The typed error for an error frame that ended a stream after output had flowed."""
    if error is None:  # the core always reports its error frames; read the frame itself then
        detail = frame.get("error")
        detail = detail if isinstance(detail, Mapping) else {}
        error = {
            "origin": "upstream",
            "http_status": 502,
            "code": str(detail.get("code", "")),
            "message": str(detail.get("message", "the upstream stream failed")),
        }
    return UpstreamError.from_stream_error(error)


class AsyncChunkStream:
    """The parsed chunks of one streamed completion: OpenAI ``chat.completion.chunk`` dicts (up to
    ``[DONE]``) or Anthropic event dicts (each with its ``type``).

    Use it as ``async for chunk in stream`` inside ``async with stream`` (or call ``aclose()``)
    when you may stop early: closing cancels the upstream request and frees its identity.

    An error after output began (the API's error frame) raises the ``UpstreamError`` subclass for
    it, with ``kind == "in_stream"``, once the chunks before it were yielded; the error frame
    itself is not yielded.
    """

    def __init__(self, stream: ChatStream, api: str, owner: AsyncClient) -> None:
        self._stream = stream
        self._api = api
        self._owner = owner
        self._loop = asyncio.get_running_loop()
        # The core's framer reads the encoder's own output back into events.
        self._framer = core.SseFramer()
        self._queue: deque[Any] = deque()
        self._ended = False  # nothing more to read from the upstream
        self._closed = False

    async def __aenter__(self) -> AsyncChunkStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._queue:
            if self._ended or self._closed:
                await self.aclose()
                raise StopAsyncIteration
            try:
                data = await self._stream.__anext__()
            except StopAsyncIteration:
                self._ended = True
                self._take(self._framer.finish())
            except BaseException:
                await self.aclose()
                raise
            else:
                self._take(self._framer.feed(data))
        item = self._queue.popleft()
        if isinstance(item, BaseException):
            await self.aclose()
            raise item
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stops reading: cancels the upstream request if it is still running (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._owner._streams.discard(self)
        await self._stream.aclose()

    @property
    def usage(self) -> UsageDict | None:
        return self._stream.usage  # type: ignore[no-any-return]

    @property
    def finish_reason(self) -> str | None:
        return self._stream.finish_reason

    def _take(self, events: list[core.SseEvent]) -> None:
        for event in events:
            data = event.data
            if self._api == "openai" and data.strip() == b"[DONE]":
                self._ended = True  # anything after [DONE] is ignored
                return
            chunk = json.loads(data)
            failed = (
                chunk.get("type") == "error"
                if self._api == "anthropic"
                else "error" in chunk and "choices" not in chunk
            )
            if failed:
                self._queue.append(_in_stream_error(self._stream.error, chunk))
                self._ended = True
                return
            self._queue.append(chunk)

    def __del__(self) -> None:
        # Dropped without aclose() (a `break` out of a loop over it): cancel on its own loop.
        if getattr(self, "_closed", True):
            return
        # RuntimeError: the loop is closed (interpreter exit); nothing is left to free then.
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self._owner._close_later, self._stream)


class ChunkStream:
    """The blocking face of ``AsyncChunkStream``, for ``Client``: each ``next()`` pulls one chunk
    from the client's event loop. Leaving early (``break``, ``close()``, the end of a ``with``
    block, or dropping it) cancels the upstream request."""

    def __init__(self, inner: AsyncChunkStream, runner: _LoopThread) -> None:
        self._inner = inner
        self._runner = runner
        self._closed = False

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._closed:
            raise StopIteration
        try:
            item = self._runner.run(self._pull())
        except BaseException:
            self._closed = True  # the inner stream closed itself (or the loop cancelled it)
            raise
        if isinstance(item, _End):
            self._closed = True
            raise StopIteration
        return item

    def close(self) -> None:
        """Cancels the upstream request if it still runs; waits until it is freed."""
        if self._closed:
            return
        self._closed = True
        if self._runner.running:
            self._runner.run(self._inner.aclose())

    @property
    def usage(self) -> UsageDict | None:
        return self._inner.usage

    @property
    def finish_reason(self) -> str | None:
        return self._inner.finish_reason

    async def _pull(self) -> dict[str, Any] | _End:
        try:
            return await self._inner.__anext__()
        except StopAsyncIteration:
            return _END


# ── the clients ──


class AsyncClient:
    """chat.z.ai for asyncio code, through the engine of this process (no server).

    ``tokens`` are chat.z.ai user tokens (tried first); ``guests`` allows guest sessions.
    ``profile`` is a ``core.Profile`` or the path of a profile JSON (default: the packaged one,
    or ``$ZAIPROXY_PROFILE``); ``origin`` replaces its origin (a ``MockUpstream.url``, say).
    ``env`` is read instead of ``os.environ`` for the profile overrides and the proxy settings.
    ``model``, ``think`` and ``api`` are defaults each call may override.

    One client belongs to one event loop. ``async with AsyncClient() as c:`` closes it (retiring
    its guest sessions and stopping the engine); a closed client starts afresh when used again.
    """

    def __init__(
        self,
        *,
        tokens: Sequence[str] = (),
        guests: bool = True,
        profile: core.Profile | str | os.PathLike[str] | None = None,
        origin: str | None = None,
        model: str | None = None,
        think: str = "reasoning",
        api: ApiName = "openai",
        env: Mapping[str, str] | None = None,
    ) -> None:
        if api not in APIS:
            raise ValueError(f"api must be 'openai' or 'anthropic', not {api!r}")
        environment = dict(os.environ if env is None else env)
        self.profile = _load_profile(profile, origin, environment)
        scheme = "http" if self.profile.origin.startswith("http://") else "https"
        self._engine_settings = EngineSettings.from_env(environment, scheme=scheme)
        self._tokens = tuple(tokens)
        self._guests = guests
        self.model = model or self.profile.default_model
        self.think = think
        self.api: str = api
        self._upstream: UpstreamClient | None = None
        self._streams: weakref.WeakSet[AsyncChunkStream] = weakref.WeakSet()
        self._closing: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def upstream(self) -> UpstreamClient:
        """The ``UpstreamClient`` underneath, built on first use (identities, retries, engine)."""
        if self._upstream is None:
            self._upstream = UpstreamClient(
                self.profile,
                engine=UpstreamEngine(self._engine_settings),
                user_tokens=self._tokens,
                guests=self._guests,
            )
        return self._upstream

    @overload
    async def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: Literal[False] = ...,
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> dict[str, Any]: ...

    @overload
    async def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: Literal[True],
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> AsyncChunkStream: ...

    @overload
    async def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: bool,
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> dict[str, Any] | AsyncChunkStream: ...

    async def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = None,
        stream: bool = False,
        think: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        api: ApiName | None = None,
        **params: Any,
    ) -> dict[str, Any] | AsyncChunkStream:
        """One chat completion. A string is one user message; a list is the messages. ``params``
        go into the request body as the API names them (temperature, max_tokens, top_p, stop,
        system for Anthropic, enable_thinking, reasoning_effort, stream_options, …).

        Returns the response dict as the API would send it; with ``stream=True``, as the OpenAI
        SDK does, an ``AsyncChunkStream`` once output flows: ``async for chunk in await
        c.chat(..., stream=True)``. A request to fix raises ``core.RequestError`` (a
        ValueError); an upstream failure before any output raises ``UpstreamError`` (with its
        ``status``).
        """
        api_name = api or self.api
        body = build_request(
            api_name,
            messages_or_prompt,
            model=model or self.model,
            stream=stream,
            tools=tools,
            tool_choice=tool_choice,
            params=params,
        )
        upstream = self.upstream
        plan = upstream.plan(body, api_name)
        if not stream:
            output = await upstream.complete(
                plan, output=f"{api_name}-json", think=think or self.think
            )
            return json.loads(output)  # type: ignore[no-any-return]
        opened = await upstream.open(
            plan,
            output=f"{api_name}-sse",
            think=think or self.think,
            include_usage=_include_usage(body),
        )
        chunks = AsyncChunkStream(opened, api_name, self)
        self._streams.add(chunks)
        return chunks

    async def text(self, messages_or_prompt: Messages, **options: Any) -> str:
        """Just the answer's text (``chat`` options apply; the reasoning is not included unless
        ``think`` puts it into the text)."""
        if options.pop("stream", False):
            raise TypeError("text() collects the whole answer: use chat(stream=True) to stream")
        api_name = options.get("api") or self.api
        return _answer_text(api_name, await self.chat(messages_or_prompt, **options))

    async def raw(
        self,
        messages_or_prompt: Messages,
        *,
        output: str | None = None,
        model: str | None = None,
        think: str | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        api: ApiName | None = None,
        **params: Any,
    ) -> bytes:
        """The exact bytes the API would send: ``output`` is ``openai-sse``, ``openai-json``,
        ``anthropic-sse`` or ``anthropic-json`` (default: the api's JSON). Without ``api``, the
        request is written in the output's API."""
        api_name = api or (output.split("-", 1)[0] if output else self.api)
        output = output or f"{api_name}-json"
        body = build_request(
            api_name,
            messages_or_prompt,
            model=model or self.model,
            stream=output.endswith("-sse"),
            tools=tools,
            tool_choice=tool_choice,
            params=params,
        )
        upstream = self.upstream
        return await upstream.complete(
            upstream.plan(body, api_name),
            output=output,
            think=think or self.think,
            include_usage=_include_usage(body),
        )

    def models(self) -> list[dict[str, Any]]:
        """The profile's models as OpenAI's ``GET /v1/models`` lists them (no request made)."""
        return model_listing(self.profile)

    async def close(self) -> None:
        """Cancels open streams, retires the guest sessions (deleting their chats) and stops the
        engine thread."""
        for stream in list(self._streams):
            await stream.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            await upstream.close()

    def _close_later(self, stream: ChatStream) -> None:
        """Closes a stream that was dropped unclosed (called on the loop)."""
        task = asyncio.get_running_loop().create_task(stream.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


class _LoopThread:
    """A private event loop in a daemon thread: blocking callers submit coroutines to it, which
    works whether or not the calling thread runs a loop of its own (Jupyter does)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs ``work`` on the loop and waits for it; an interruption (Ctrl-C) cancels it."""
        loop = self._start()
        if threading.current_thread() is self._thread:
            work.close()
            raise RuntimeError("a zaiproxy.Client cannot be used from its own event loop thread")
        future = asyncio.run_coroutine_threadsafe(work, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=self._serve, args=(loop,), name="zaiproxy-client", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class Client:
    """chat.z.ai for scripts and notebooks: blocking calls, the same options and results as
    ``AsyncClient`` (see there), with ``chat(..., stream=True)`` returning a ``ChunkStream``
    (an iterator of chunk dicts).

    Requests run on a private event loop in a daemon thread started by the first request, so the
    client works inside Jupyter's running loop. ``with Client() as c:`` or ``close()`` stops the
    engine and the thread; a closed client starts afresh when used again.
    """

    def __init__(
        self,
        *,
        tokens: Sequence[str] = (),
        guests: bool = True,
        profile: core.Profile | str | os.PathLike[str] | None = None,
        origin: str | None = None,
        model: str | None = None,
        think: str = "reasoning",
        api: ApiName = "openai",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._async = AsyncClient(
            tokens=tokens,
            guests=guests,
            profile=profile,
            origin=origin,
            model=model,
            think=think,
            api=api,
            env=env,
        )
        self._runner = _LoopThread()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def profile(self) -> core.Profile:
        return self._async.profile

    @property
    def model(self) -> str:
        return self._async.model

    @overload
    def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: Literal[False] = ...,
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> dict[str, Any]: ...

    @overload
    def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: Literal[True],
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> ChunkStream: ...

    @overload
    def chat(
        self,
        messages_or_prompt: Messages,
        *,
        model: str | None = ...,
        stream: bool,
        think: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        tool_choice: Any = ...,
        api: ApiName | None = ...,
        **params: Any,
    ) -> dict[str, Any] | ChunkStream: ...

    def chat(
        self, messages_or_prompt: Messages, *, stream: bool = False, **options: Any
    ) -> dict[str, Any] | ChunkStream:
        """``AsyncClient.chat``, blocking; ``stream=True`` returns once output flows."""
        result = self._runner.run(self._async.chat(messages_or_prompt, stream=stream, **options))
        if isinstance(result, AsyncChunkStream):
            return ChunkStream(result, self._runner)
        return result  # type: ignore[no-any-return]

    def text(self, messages_or_prompt: Messages, **options: Any) -> str:
        """Just the answer's text (see ``AsyncClient.text``)."""
        return self._runner.run(self._async.text(messages_or_prompt, **options))

    def raw(self, messages_or_prompt: Messages, **options: Any) -> bytes:
        """The exact bytes the API would send (see ``AsyncClient.raw``)."""
        return self._runner.run(self._async.raw(messages_or_prompt, **options))

    def models(self) -> list[dict[str, Any]]:
        """The profile's models as OpenAI's ``GET /v1/models`` lists them (no request made)."""
        return self._async.models()

    def close(self) -> None:
        """Cancels open streams, retires the guest sessions, stops the engine and the thread."""
        if self._runner.running:
            try:
                self._runner.run(self._async.close())
            finally:
                self._runner.stop()


def _load_profile(
    profile: core.Profile | str | os.PathLike[str] | None,
    origin: str | None,
    env: dict[str, str],
) -> core.Profile:
    if isinstance(profile, core.Profile):
        if origin is not None:
            raise ValueError("origin= needs a profile path (or none), not a loaded core.Profile")
        return profile
    if origin is not None:
        env["ZAIPROXY_ORIGIN"] = origin
    return load_profile(profile, env)
