"""Server configuration: every environment variable of the older proxies (compatibility.md §2),
aliases included, resolved once into an immutable ``Settings``.

CONTRACT SKELETON — the fields below are what the server, the CLI and the client read; the
parsing (``Settings.from_env``), the variable table and ``.env`` loading fill this module in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

THINK_MODES = ("reasoning", "think", "quote", "strip", "details", "drop", "raw")


@dataclass(frozen=True)
class Settings:
    # Client authentication
    api_keys: tuple[str, ...] = ()  # AUTH_TOKEN, AUTH_TOKENS (several), DEFAULT_KEY
    skip_auth: bool = False  # SKIP_AUTH_TOKEN; also on when no key is configured

    # Listening
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    server: str = "granian"  # or "uvicorn"
    root_path: str = ""
    pid_file: Optional[str] = None  # None: "<service_name>.pid" in the working directory
    service_name: str = "zaiproxy"
    log_level: str = "info"  # "debug" when DEBUG_LOGGING / DEBUG / DEBUG_MODE is on

    # Upstream identities
    anonymous_mode: bool = True  # guests when no user token can serve a request
    user_tokens: tuple[str, ...] = ()  # ZAI_TOKEN (comma list), TOKEN, TOKEN_POOL
    guest_pool_size: int = 3
    max_retries: int = 3  # attempts in all, the first included
    retry_delay: float = 0.25  # seconds before the second attempt; doubles each time

    # Requests and responses
    default_model: Optional[str] = None  # MODEL / MODEL_NAME: when the request omits `model`
    unknown_model: str = "reject"  # "reject" (404) or "default" (the older proxies' fallback)
    default_stream: bool = False  # DEFAULT_STREAM: when the request omits `stream`
    enable_thinking: Optional[bool] = None  # ENABLE_THINKING: default when the request is silent
    think_mode: str = "reasoning"  # THINK_TAGS_MODE
    tools_enabled: bool = True  # TOOL_SUPPORT / ENABLE_TOOLIFY
    tool_prompt_template: Optional[str] = None  # TOOLIFY_CUSTOM_PROMPT
    claude_models: tuple[tuple[str, str], ...] = ()  # extra Claude name → model mappings
    upstream_models: bool = False  # merge the upstream's /api/models into GET /v1/models
    max_body_bytes: int = 32 * 1024 * 1024
    cors_origins: tuple[str, ...] = ("*",)

    # The whole environment the settings came from: the process environment over the .env file,
    # plus ZAIPROXY_ORIGIN when only API_ENDPOINT / UPSTREAM_URL / ZAI_AUTH_ENDPOINT named the
    # upstream. The profile (load_profile), the engine's proxy settings and the later token-pool
    # and dashboard settings read from it.
    environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls,
        env: Optional[Mapping[str, str]] = None,
        env_file: Optional[os.PathLike[str] | str] = None,
    ) -> Settings:
        raise NotImplementedError

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys) and not self.skip_auth

    def resolved_pid_file(self) -> Path:
        return Path(self.pid_file or f"{self.service_name}.pid")
