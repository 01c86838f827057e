"""One chat completion against chat.z.ai, from a client's request to the API's output bytes.

The client plans the request once (tool layer, model, signature prompt), then per attempt: picks
an identity, uploads images and creates the chat where the model needs it, signs the completion
and opens the stream. Failures before the first output byte that another identity may not hit
(401, 429, concurrency limits, a dropped connection) are retried with backoff on another
identity; once output flowed, errors reach the client in-band.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from zaiproxy import core
from zaiproxy.upstream.engine import EngineSettings, UpstreamEngine, UpstreamStream
from zaiproxy.upstream.errors import ClientOutdated, FirewallBlocked, UpstreamError
from zaiproxy.upstream.fe_version import FrontEndVersion
from zaiproxy.upstream.identities import (
    GuestPoolSettings,
    IdentityProvider,
    Session,
    UserTokens,
)

log = logging.getLogger("zaiproxy.upstream")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # in all, the first included
    backoff: float = 0.25  # seconds before the second attempt; doubles each time
    max_backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))


class UpstreamClient:
    """chat.z.ai as a client of the core: profile, engine, front-end version and identities."""

    def __init__(
        self,
        profile: core.Profile,
        *,
        engine: UpstreamEngine | None = None,
        user_tokens: Sequence[str] | UserTokens = (),
        guests: bool = True,
        guest_settings: GuestPoolSettings | None = None,
        retry: RetryPolicy | None = None,
        trigger: str | None = None,
        prompt_template: str | None = None,
    ) -> None:
        self.profile = profile
        self.engine = engine or UpstreamEngine(EngineSettings.from_env())
        self.fe_version = FrontEndVersion(self.engine, profile)
        self.identities = IdentityProvider(
            self.engine,
            profile,
            user_tokens=user_tokens,
            guests=guests,
            guest_settings=guest_settings,
            fe_version=lambda: self.fe_version.value,
        )
        self.retry = retry or RetryPolicy()
        self._trigger = trigger
        self._prompt_template = prompt_template

    def plan(self, request: dict[str, Any] | bytes | str, dialect: str = "openai") -> Any:
        """Reads a client request; raises ``core.RequestError`` (400) for what it must fix."""
        return core.plan_chat(
            self.profile,
            request,
            dialect,
            trigger=self._trigger,
            prompt_template=self._prompt_template,
        )

    async def open(
        self,
        plan: Any,
        *,
        output: str = "openai-sse",
        think: str = "reasoning",
        include_usage: bool = False,
        input_tokens: int = 0,
    ) -> ChatStream:
        """Starts the completion: returns once output flows, or raises ``UpstreamError``.
        ``input_tokens`` is the estimate Anthropic's ``message_start`` reports."""
        pipeline = plan.pipeline_options(
            output=output, think=think, include_usage=include_usage, input_tokens=input_tokens
        )
        tried: list[Session] = []
        for attempt in range(1, self.retry.attempts + 1):
            session = await self.identities.acquire(allow_guest=plan.guest_allowed, exclude=tried)
            tried.append(session)
            try:
                request = await self._completion_request(plan, session.identity)
                stream = self.engine.stream(request, pipeline)
                await stream.__aenter__()
            except UpstreamError as error:
                self.identities.release(session, failure=error)
                if isinstance(error, (ClientOutdated, FirewallBlocked)):
                    self.fe_version.invalidate()
                if not error.retryable or attempt == self.retry.attempts:
                    raise
                log.info("attempt %d failed (%s); retrying on another identity", attempt, error)
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            except BaseException:
                self.identities.release(session)
                raise
            return ChatStream(stream, session, self.identities)
        raise AssertionError("unreachable: the last attempt raises")

    async def complete(self, plan: Any, *, output: str = "openai-json", **options: Any) -> bytes:
        """The whole output at once (non-streaming outputs, or a collected stream)."""
        async with await self.open(plan, output=output, **options) as stream:
            return b"".join([chunk async for chunk in stream])

    async def close(self) -> None:
        await self.identities.close()
        self.engine.close()

    async def _completion_request(self, plan: Any, identity: core.Identity) -> core.HttpRequest:
        context = core.RequestContext(self.profile, fe_version=await self.fe_version.current())
        # A guest gets no uploads: the plan refuses its images with a clear 400 instead.
        files = [] if identity.guest else await self._upload_images(plan, identity, context)
        chat_id = None
        if plan.needs_chat_creation:
            request = plan.chat_creation_request(identity, context, files=files)
            created = await self.engine.fetch(request)
            created.raise_for_status()
            chat_id = core.parse_chat_creation_response(created.body)
        return plan.completion_request(identity, context, chat_id=chat_id, files=files)

    async def _upload_images(
        self, plan: Any, identity: core.Identity, context: core.RequestContext
    ) -> list[core.UploadedFile]:
        files = []
        for index in range(len(plan.uploads)):
            response = await self.engine.fetch(plan.upload_request(identity, index, context))
            response.raise_for_status()
            files.append(core.parse_upload_response(response.body))
        return files


class ChatStream:
    """A started completion: an async iterator of output bytes that frees its identity at the
    end (use ``async with``, or ``aclose()``)."""

    def __init__(self, stream: UpstreamStream, session: Session, identities: IdentityProvider):
        self._stream = stream
        self._session: Session | None = session
        self._identities = identities
        self.identity: core.Identity = session.identity
        #: the pool's id of the user token that serves the stream (None: a guest, or a token
        #: given to the client directly)
        self.token_id = session.token_id

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        await self._stream.__aexit__(None, None, None)
        if self._session is not None:
            # An error frame after output counts against the identity like an early failure.
            error = self._stream.error
            failure = UpstreamError.from_stream_error(error) if error is not None else None
            self._identities.release(self._session, failure=failure)
            self._session = None

    @property
    def usage(self) -> Any:
        return self._stream.usage

    @property
    def error(self) -> Any:
        return self._stream.error

    @property
    def finish_reason(self) -> str | None:
        return self._stream.finish_reason
