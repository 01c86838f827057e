"""Settings of a MockUpstream."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from zaiproxy.testing._catalogue import DEFAULT_MODELS, Model
from zaiproxy.testing._signature import DEFAULT_SIGNING_KEY


@dataclass(frozen=True)
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    # Versions the landing page references (clients must take the numeric maximum).
    fe_versions: tuple[str, ...] = ("prod-fe-1.1.98",)
    # Completions with an older X-FE-Version get `stale_version_status`: 426 JSON or 405 WAF page.
    min_fe_version: str = "prod-fe-1.0.94"
    stale_version_status: int = 426
    signing_key: str = DEFAULT_SIGNING_KEY
    # |now - signature_timestamp| beyond this many seconds gets 404 (the spec's "will 404").
    signature_tolerance: float = 300.0
    models: tuple[Model, ...] = DEFAULT_MODELS
    # Models whose completions need a chat made by POST /api/v1/chats/new (else INTERNAL_ERROR).
    persisted_models: frozenset[str] = frozenset({"glm-4.7", "glm-4.6v"})
    # Models a guest gets the in-stream 403 for (shape E2).
    guest_refused_models: frozenset[str] = frozenset(
        {"glm-5", "glm-5.1", "glm-5.2", "glm-5.3", "glm-5-turbo", "glm-5v-turbo"}
    )
    # GET /api/v1/auths/ answers with the 405 WAF page (the ZZ "stop retrying" case).
    auth_blocked_by_waf: bool = False
    clock: Callable[[], float] = field(default=time.time)  # epoch seconds
