"""What the routes share in one worker process: settings, profile, models, auth, the upstream
client and the control plane (store, token pool, request log), created at the first request, so
the engine thread and the store's connections start in the worker, after any fork.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zaiproxy import catalogue, core
from zaiproxy.config import THINK_MODES, Settings
from zaiproxy.profile import load_profile
from zaiproxy.server.admin_auth import AdminAuth
from zaiproxy.server.auth import Authenticator
from zaiproxy.server.errors import ApiError
from zaiproxy.server.models import ModelDirectory
from zaiproxy.server.operations import Operations
from zaiproxy.server.token_estimate import estimate_request_tokens
from zaiproxy.upstream import (
    EngineSettings,
    GuestPoolSettings,
    RetryPolicy,
    UpstreamClient,
    UpstreamEngine,
    UpstreamError,
)

log = logging.getLogger("zaiproxy.server")

THINK_MODE_HEADER = "x-think-mode"
THINK_MODE_FIELD = "think_mode"
# Any of these in a request is the client's own thinking choice, which wins over ENABLE_THINKING.
_THINKING_FIELDS = ("enable_thinking", "reasoning", "reasoning_effort", "thinking")
_UPSTREAM_MODELS_TTL = 300.0


@dataclass(frozen=True)
class ChatCall:
    """One chat request after the server's defaults and switches were applied."""

    body: dict[str, Any]
    dialect: str
    stream: bool
    think: str
    include_usage: bool
    input_tokens: int


class ProxyService:
    def __init__(self, settings: Settings, *, profile: core.Profile | None = None) -> None:
        self.settings = settings
        self.profile = profile or load_profile(env=settings.environment)
        self.models = ModelDirectory(
            self.profile,
            default_model=settings.default_model,
            reject_unknown=settings.unknown_model == "reject",
            claude_models=settings.claude_models,
        )
        self.auth = Authenticator(settings.api_keys, enabled=settings.auth_enabled)
        self._client: UpstreamClient | None = None
        self._operations: Operations | None = None
        self._client_pid = 0
        self._upstream_models: tuple[float, tuple[str, ...]] = (0.0, ())
        self._warming: asyncio.Task[None] | None = None

    @property
    def client(self) -> UpstreamClient:
        return self._process_state()[0]

    @property
    def operations(self) -> Operations:
        """The store, token pool and request log (await ``ready()`` before using them)."""
        return self._process_state()[1]

    def _process_state(self) -> tuple[UpstreamClient, Operations]:
        if self._client is None or self._operations is None or self._client_pid != os.getpid():
            settings = self.settings
            self._operations = Operations(settings)
            scheme = self.profile.origin.partition(":")[0]
            engine_settings = dataclasses.replace(
                EngineSettings.from_env(settings.environment, scheme=scheme),
                connect_timeout=settings.connect_timeout,
                first_byte_timeout=settings.first_byte_timeout,
                idle_timeout=settings.idle_timeout,
            )
            self._client = UpstreamClient(
                self.profile,
                engine=UpstreamEngine(engine_settings),
                user_tokens=self._operations.pool,
                guests=settings.anonymous_mode,
                guest_settings=GuestPoolSettings(size=settings.guest_pool_size),
                retry=RetryPolicy(
                    attempts=max(1, settings.max_retries), backoff=settings.retry_delay
                ),
                prompt_template=settings.tool_prompt_template,
            )
            self._client_pid = os.getpid()
        return self._client, self._operations

    async def ready(self) -> Operations:
        """The control plane, started (once per process)."""
        operations = self.operations
        try:
            await operations.ready(self.client.identities.detect_role)
        except Exception as error:
            log.error("the token store is unavailable: %s", error)
            raise ApiError(
                503, f"the token store is unavailable: {error}", code="store_unavailable"
            ) from error
        return operations

    async def admin_auth(self) -> AdminAuth:
        """Who may use the dashboard and the admin endpoints (ready once the store is open:
        the session key may be kept there)."""
        operations = await self.ready()
        assert operations.admin is not None
        return operations.admin

    def start(self) -> None:
        """Starts the control plane and warms the guest pool in the background, so the first
        requests need no auth round trip; a failure here is logged, and requests mint guests
        themselves."""
        self._warming = asyncio.ensure_future(self._warm())

    async def _warm(self) -> None:
        try:
            await self.ready()
        except Exception as error:
            log.error("could not open the token store: %s", error)
        if self.settings.anonymous_mode and self.settings.guest_pool_size > 0:
            await self._warm_guests()

    async def _warm_guests(self) -> None:
        try:
            await self.client.identities.warm()
        except Exception as error:
            log.warning("could not warm the guest pool: %s", error)

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        if self._client is not None and self._client_pid == os.getpid():
            await self._client.close()
            assert self._operations is not None
            await self._operations.close()
        self._client = None
        self._operations = None

    # ── requests ──

    def prepare(self, body: dict[str, Any], dialect: str, headers: Mapping[str, str]) -> ChatCall:
        """Applies the model choice, the stream / thinking / tools defaults and the think mode."""
        settings = self.settings
        anthropic = dialect == "anthropic"
        body["model"] = self.models.choose(body.get("model"), anthropic=anthropic)
        stream = body.get("stream")
        if stream is None:
            stream = settings.default_stream
        elif not isinstance(stream, bool):
            raise ApiError(400, "stream must be a boolean", param="stream", code="invalid_type")
        if body.get("n") not in (None, 1):
            raise ApiError(400, "only n=1 is supported", param="n", code="unsupported_value")
        think = self._think_mode(body, headers)
        if settings.enable_thinking is not None and not any(f in body for f in _THINKING_FIELDS):
            body["enable_thinking"] = settings.enable_thinking
        if not settings.tools_enabled:
            body.pop("tools", None)
            body.pop("tool_choice", None)
        options = body.get("stream_options")
        if options is not None and not isinstance(options, dict):
            raise ApiError(
                400, "stream_options must be an object", param="stream_options", code="invalid_type"
            )
        include_usage = bool(not anthropic and options and options.get("include_usage") is True)
        return ChatCall(
            body=body,
            dialect=dialect,
            stream=stream,
            think=think,
            include_usage=include_usage,
            input_tokens=estimate_request_tokens(body) if anthropic else 0,
        )

    def _think_mode(self, body: dict[str, Any], headers: Mapping[str, str]) -> str:
        # The per-request override: a header (works with any SDK) or a body field.
        requested = headers.get(THINK_MODE_HEADER) or body.pop(THINK_MODE_FIELD, None)
        if requested is None:
            return self.settings.think_mode
        mode = str(requested).strip().lower()
        if mode not in THINK_MODES:
            raise ApiError(
                400,
                f"unknown think mode '{requested}'; choose one of {', '.join(THINK_MODES)}",
                param=THINK_MODE_FIELD,
                code="invalid_think_mode",
            )
        return mode

    async def upstream_model_ids(self) -> tuple[str, ...]:
        """The upstream's active model ids (cached for five minutes), when the operator asked
        for them (ZAIPROXY_UPSTREAM_MODELS); the cached or no list when the upstream fails."""
        if not self.settings.upstream_models:
            return ()
        fetched_at, ids = self._upstream_models
        if time.monotonic() - fetched_at < _UPSTREAM_MODELS_TTL:
            return ids
        client = self.client
        try:
            session = await client.identities.acquire()
            try:
                request = core.models_request(
                    self.profile, session.identity.token, await client.fe_version.current()
                )
                response = await client.engine.fetch(request)
                response.raise_for_status()
            finally:
                client.identities.release(session)
            ids = tuple(catalogue.upstream_model_ids(response.body) or ())
        except UpstreamError as error:
            log.warning("could not list the upstream's models: %s", error)
        self._upstream_models = (time.monotonic(), ids)
        return ids


_default: ProxyService | None = None


def default_service() -> ProxyService:
    """The service of a router mounted into another app: one per process, configured from the
    environment at its first request."""
    global _default
    if _default is None:
        settings = Settings.from_env()
        for warning in settings.warnings():
            log.warning("%s", warning)
        _default = ProxyService(settings)
        _default.start()
    return _default


async def close_default_service() -> None:
    global _default
    if _default is not None:
        await _default.close()
        _default = None
