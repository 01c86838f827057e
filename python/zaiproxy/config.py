"""Server configuration: every environment variable of the older proxies (compatibility.md §2),
aliases included, resolved once into an immutable ``Settings``.

Why one module: five older proxies used overlapping, sometimes conflicting names for the same
settings (``AUTH_TOKEN`` / ``DEFAULT_KEY``, ``LISTEN_PORT`` / ``PORT``, three debug switches…).
A drop-in replacement must accept all of them, and the rules that settle their conflicts must be
written down once. ``ENV_VARIABLES`` is that record: the parser, ``zaiproxy check`` and the README
table (``python -m zaiproxy.config``) all follow it.

The environment is the process environment over a ``.env`` file (the working directory's by
default): real variables win, as in most of the older proxies and in twelve-factor practice.
An empty value counts as unset, because the older ``.env`` templates ship ``NAME=`` lines.
"""

# Optional[...] rather than "X | None": typing.get_type_hints() must work on Python 3.9.
# ruff: noqa: UP007

from __future__ import annotations

import functools
import ipaddress
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, TypeVar
from urllib.parse import urlsplit

from zaiproxy import core
from zaiproxy.profile import MODEL_NAME_ENV

THINK_MODES = ("reasoning", "think", "quote", "strip", "details", "drop", "raw")
SERVERS = ("granian", "uvicorn")
UNKNOWN_MODEL_POLICIES = ("reject", "default")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")

DEFAULT_ENV_FILE = ".env"
# How `zaiproxy serve --env-file` reaches the server's worker processes, which build their own app.
ENV_FILE_VARIABLE = "ZAIPROXY_ENV_FILE"
DEFAULT_ORIGIN = "https://chat.z.ai"

# Consumers that are not a Settings field: the variable is read from ``Settings.environment``.
CONSUMER_PROFILE = "profile"
CONSUMER_ENGINE = "engine"
CONSUMER_NONE = "accepted, no effect"


class ConfigError(ValueError):
    """A variable with a value zaiproxy cannot use; the message names the variable and value."""


class EnvFileNotFoundError(ConfigError, FileNotFoundError):
    """``--env-file`` / ``env_file`` names a file that does not exist (a typo must not silently
    start the server with defaults)."""


@dataclass(frozen=True)
class EnvVar:
    """One row of the configuration table.

    ``default`` is the value shown in the documentation ("" = unset; text starting with "(" is
    prose, anything else is shown as code). ``consumer`` is the ``Settings`` field the variable
    feeds, or one of the ``CONSUMER_*`` names for the variables other modules read from
    ``Settings.environment`` (or that are accepted and ignored).
    """

    name: str
    aliases: tuple[str, ...]
    default: str
    meaning: str
    consumer: str
    secret: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _model_name_rows() -> tuple[EnvVar, ...]:
    """The model-name variables, grouped by the catalogue model they rename (profile.py applies
    every one of them, so each name in a row adds a client-facing name)."""
    by_target: dict[str, list[str]] = {}
    for name, target in MODEL_NAME_ENV.items():
        by_target.setdefault(target, []).append(name)
    return tuple(
        EnvVar(
            names[0],
            tuple(names[1:]),
            target,
            f"Another client-facing name for `{target}` (older proxies' model-name variables; "
            "each name in the row is honoured).",
            CONSUMER_PROFILE,
        )
        for target, names in by_target.items()
    )


ENV_VARIABLES: tuple[EnvVar, ...] = (
    # Client authentication
    EnvVar(
        "AUTH_TOKEN",
        ("DEFAULT_KEY",),
        "",
        "Client API key (`Authorization: Bearer …` or `x-api-key`). With `AUTH_TOKENS` and "
        "`DEFAULT_KEY` all keys are accepted, in that order. The older proxies defaulted to "
        "`sk-your-api-key`; zaiproxy defaults to no key, which turns client auth off (with a loud "
        "warning when listening beyond loopback).",
        "api_keys",
        secret=True,
    ),
    EnvVar(
        "AUTH_TOKENS",
        (),
        "",
        "Several client API keys, comma- or newline-separated; added after `AUTH_TOKEN`.",
        "api_keys",
        secret=True,
    ),
    EnvVar(
        "SKIP_AUTH_TOKEN",
        (),
        "false",
        "Turn client auth off even when keys are configured.",
        "skip_auth",
    ),
    # Listening
    EnvVar("HOST", (), "0.0.0.0", "Listen address.", "host"),
    EnvVar(
        "LISTEN_PORT",
        ("PORT",),
        "8080",
        "Listen port. `PORT` may carry a leading `:` (`:9090`). When both are set and differ, "
        "`LISTEN_PORT` wins and a warning is logged.",
        "port",
    ),
    EnvVar(
        "WORKERS",
        ("UVICORN_WORKERS", "GRANIAN_WORKERS"),
        "1",
        "Worker processes (≥ 1); the first name set wins.",
        "workers",
    ),
    EnvVar("ZAIPROXY_SERVER", (), "granian", "ASGI server: `granian` or `uvicorn`.", "server"),
    EnvVar("ROOT_PATH", (), "", "Path prefix when served behind a reverse proxy.", "root_path"),
    EnvVar(
        "PID_FILE",
        (),
        "(`<SERVICE_NAME>.pid`)",
        "PID file; by default in the working directory.",
        "pid_file",
    ),
    EnvVar(
        "SERVICE_NAME",
        (),
        "zaiproxy",
        "Process and PID-file name (the older proxies' default was `z-ai2api-server`).",
        "service_name",
    ),
    EnvVar(
        "LOG_LEVEL",
        (),
        "info",
        "`critical`, `error`, `warning`, `info`, `debug` or `trace`. Wins over the debug switches.",
        "log_level",
    ),
    EnvVar(
        "DEBUG_LOGGING",
        ("DEBUG", "DEBUG_MODE"),
        "false",
        "Any of them true → log level `debug` (unless `LOG_LEVEL` is set). The older proxies "
        "defaulted `DEBUG_LOGGING`/`DEBUG_MODE` to true; zaiproxy defaults to `info`. A `DEBUG` "
        "value that is not a boolean (other tools use it) is ignored with a warning.",
        "log_level",
    ),
    # Upstream identities
    EnvVar(
        "ANONYMOUS_MODE",
        ("ENABLE_GUEST_TOKEN",),
        "true",
        "Use guest identities when no user token can serve a request. If both are set and "
        "differ, `ANONYMOUS_MODE` wins (warning).",
        "anonymous_mode",
    ),
    EnvVar(
        "ZAI_TOKEN",
        ("TOKEN", "TOKEN_POOL"),
        "",
        "Upstream user tokens: `ZAI_TOKEN` and `TOKEN_POOL` are comma- or newline-separated "
        "lists, `TOKEN` one token; all are merged, duplicates dropped.",
        "user_tokens",
        secret=True,
    ),
    EnvVar(
        "GUEST_POOL_SIZE",
        (),
        "3",
        "Guest sessions kept warm (0: fetch one per request).",
        "guest_pool_size",
    ),
    EnvVar(
        "GUEST_TOKEN_CACHE_MINUTES",
        (),
        "",
        "Maximum guest-session lifetime in minutes. Guests are per-request with a warm pool; "
        "by default their lifetime follows upstream-protocol §6 (retired after about 8 minutes). "
        "The older proxies' 30 / 55 minute values are accepted as an upper bound.",
        "guest_lifetime_minutes",
    ),
    EnvVar(
        "MAX_RETRIES",
        (),
        "3",
        "Upstream attempts in all, the first included (`0` is read as `1`). One older proxy "
        "defaulted to 5.",
        "max_retries",
    ),
    EnvVar(
        "RETRY_DELAY",
        (),
        "0.25",
        "Seconds before the second attempt; doubles with each further one (the older proxy "
        "waited a fixed 1 s).",
        "retry_delay",
    ),
    # Requests and responses
    EnvVar(
        "MODEL",
        ("MODEL_NAME",),
        "",
        "Model used when a request omits `model`. If both are set and differ, `MODEL` wins "
        "(warning).",
        "default_model",
    ),
    EnvVar(
        "ZAIPROXY_UNKNOWN_MODEL",
        (),
        "reject",
        "`reject` (404 for an unknown model) or `default` (the older proxies' fallback to the "
        "default model).",
        "unknown_model",
    ),
    EnvVar(
        "DEFAULT_STREAM",
        (),
        "false",
        "Stream when a request omits `stream`. `false` is OpenAI's own default; one older proxy "
        "defaulted to true.",
        "default_stream",
    ),
    EnvVar(
        "ENABLE_THINKING",
        (),
        "",
        "Default for `enable_thinking` when a request is silent (unset: the model's default).",
        "enable_thinking",
    ),
    EnvVar(
        "THINK_TAGS_MODE",
        (),
        "reasoning",
        "How reasoning reaches the client: " + ", ".join(f"`{m}`" for m in THINK_MODES) + ".",
        "think_mode",
    ),
    EnvVar(
        "TOOL_SUPPORT",
        ("ENABLE_TOOLIFY",),
        "true",
        "Function calling (tool prompt injection). If both are set and differ, `TOOL_SUPPORT` "
        "wins (warning).",
        "tools_enabled",
    ),
    EnvVar(
        "TOOLIFY_CUSTOM_PROMPT",
        (),
        "",
        "Custom tool prompt; must contain `{tools_list}` and `{trigger_signal}`.",
        "tool_prompt_template",
    ),
    EnvVar(
        "ZAIPROXY_CLAUDE_MODELS",
        (),
        "",
        "Extra Claude model names: `name=model,name2=model2`.",
        "claude_models",
    ),
    EnvVar(
        "ZAIPROXY_UPSTREAM_MODELS",
        (),
        "false",
        "Merge the upstream's `/api/models` into `GET /v1/models`.",
        "upstream_models",
    ),
    EnvVar(
        "ZAIPROXY_MAX_BODY_BYTES",
        (),
        "32m",
        "Largest request body; a number with an optional `k`, `m` or `g` suffix (binary).",
        "max_body_bytes",
    ),
    EnvVar(
        "ZAIPROXY_CONNECT_TIMEOUT",
        (),
        "10",
        "Seconds to connect to the upstream (past them a 504, a refused connection a 502; "
        "neither is retried, another identity reaches the same host).",
        "connect_timeout",
    ),
    EnvVar(
        "ZAIPROXY_FIRST_BYTE_TIMEOUT",
        (),
        "90",
        "Seconds from sending a request until the upstream's first byte (then a 504).",
        "first_byte_timeout",
    ),
    EnvVar(
        "ZAIPROXY_IDLE_TIMEOUT",
        (),
        "120",
        "Seconds an upstream stream may stay silent before it is ended with an error frame.",
        "idle_timeout",
    ),
    EnvVar(
        "CORS_ORIGINS",
        (),
        "*",
        "Allowed CORS origins, comma-separated.",
        "cors_origins",
    ),
    EnvVar(
        "FORWARDED_ALLOW_IPS",
        (),
        "127.0.0.1",
        "Reverse proxies (addresses, comma-separated; `*` for any) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed: the client address of the request log and of the "
        "login throttle. Under Granian and uvicorn alike.",
        "forwarded_allow_ips",
    ),
    # The upstream protocol (read by profile.py from Settings.environment)
    EnvVar(
        "ZAIPROXY_PROFILE",
        (),
        "(packaged)",
        "Path of a protocol profile JSON to use instead of the packaged one.",
        CONSUMER_PROFILE,
    ),
    EnvVar(
        "ZAIPROXY_ORIGIN",
        ("BASE",),
        DEFAULT_ORIGIN,
        "Upstream origin (chat, models, auths, files).",
        CONSUMER_PROFILE,
    ),
    EnvVar(
        "API_ENDPOINT",
        ("UPSTREAM_URL", "ZAI_AUTH_ENDPOINT"),
        "",
        "The older proxies' upstream URLs: only their origin (`scheme://host[:port]`) is used, "
        "and only when `ZAIPROXY_ORIGIN` and `BASE` are unset; the paths come from the profile.",
        CONSUMER_PROFILE,
    ),
    EnvVar(
        "ZAIPROXY_FE_VERSION",
        ("ZAI_FE_VERSION",),
        "(profile)",
        "Front-end version sent when discovery fails.",
        CONSUMER_PROFILE,
    ),
    EnvVar(
        "ZAIPROXY_SIGNING_KEY",
        ("ZAI_SIGNING_SECRET",),
        "(profile)",
        "Request-signing key. The obsolete value `junjie` (E2/E3 scheme) is ignored with a "
        "warning.",
        CONSUMER_PROFILE,
        secret=True,
    ),
    EnvVar(
        "ZAIPROXY_USER_AGENT",
        (),
        "(profile)",
        "Browser user agent sent upstream.",
        CONSUMER_PROFILE,
    ),
    *_model_name_rows(),
    # Outbound proxies (read by EngineSettings.from_env; lower-case names work too)
    EnvVar(
        "SOCKS5_PROXY",
        (),
        "",
        "SOCKS5 proxy for upstream calls (`host:port` or a URL; names resolve through it). "
        "Wins over `HTTPS_PROXY` / `HTTP_PROXY`.",
        CONSUMER_ENGINE,
    ),
    EnvVar("HTTPS_PROXY", (), "", "Proxy for the https upstream.", CONSUMER_ENGINE),
    EnvVar(
        "HTTP_PROXY",
        (),
        "",
        "Proxy for an http upstream, and for https when `HTTPS_PROXY` is unset.",
        CONSUMER_ENGINE,
    ),
    EnvVar("NO_PROXY", (), "", "Hosts that bypass the proxy.", CONSUMER_ENGINE),
    # The token pool, statistics and dashboard
    EnvVar(
        "AUTH_TOKENS_FILE",
        (),
        "tokens.txt",
        "Upstream token file: newline- and/or comma-separated, `#` comments; re-read when it "
        "changes (no restart). Its tokens join the pool, and leave it when removed from the file.",
        "tokens_file",
    ),
    EnvVar(
        "TOKEN_FAILURE_THRESHOLD",
        ("TOKEN_POOL_FAILURE_THRESHOLD",),
        "3",
        "Consecutive failures (401, 429, concurrency limit, captcha) before a pooled token cools "
        "down.",
        "token_failure_threshold",
    ),
    EnvVar(
        "TOKEN_RECOVERY_TIMEOUT",
        ("TOKEN_POOL_RESET_FAILURES",),
        "1800",
        "Cooldown in seconds; then the token serves one probe request, and is back on success.",
        "token_recovery_timeout",
    ),
    EnvVar(
        "TOKEN_HEALTH_CHECK_INTERVAL",
        (),
        "300",
        "Seconds between health checks of every pooled token through the auths endpoint (guest "
        "tokens set aside, refused ones marked invalid); 0 turns the periodic check off.",
        "token_health_check_interval",
    ),
    EnvVar(
        "TOKEN_HASH_SECRET",
        (),
        "(random, kept in the store)",
        "Key of the token ids, `HMAC-SHA256(secret, token)`; shown as `token:<first 8 hex>`. "
        "Unset, the salt of an imported `token_pool.json` is adopted, so its ids stay the same.",
        "token_hash_secret",
        secret=True,
    ),
    EnvVar(
        "ZAI2API_STATE_DIR",
        (),
        "data",
        "Where an older Z.ai2api kept `token_pool.json`: its tokens are imported once.",
        "state_dir",
    ),
    EnvVar(
        "SECRET_KEY",
        ("SESSION_SECRET_KEY",),
        "(random, kept in the store)",
        "Dashboard session-cookie signing key.",
        "session_secret",
        secret=True,
    ),
    EnvVar(
        "ADMIN_PASSWORD",
        (),
        "",
        "Dashboard and admin-endpoint password (the API keys work too). With neither set, the "
        "admin routes stay closed.",
        "admin_password",
        secret=True,
    ),
    EnvVar(
        "DB_PATH",
        (),
        "tokens.db",
        "SQLite store of the pool and the statistics (WAL). An older z.ai2api_python "
        "`tokens.db` here has its tokens imported once and its own tables left alone.",
        "db_path",
    ),
    EnvVar(
        "REDIS_URL",
        (),
        "",
        "Keep the pool and the statistics in Redis instead, shared by every worker and instance "
        "(`redis://[:password@]host:6379/0`).",
        "redis_url",
        secret=True,
    ),
    EnvVar(
        "TOKEN_AUTO_DELETE_INVALID",
        (),
        "false",
        "Delete a token the health check finds refused (instead of keeping it, marked invalid).",
        "token_delete_invalid",
    ),
    EnvVar(
        "DASHBOARD_ENABLED",
        (),
        "true",
        "Serve `/dashboard` and its JSON endpoints (`/dashboard/api/*`, `/dashboard/stats`, "
        "`/dashboard/requests`); `/metrics` and the token-pool API stay either way.",
        "dashboard_enabled",
    ),
    # Accepted so old .env files keep working, but without effect
    *(
        EnvVar(
            name,
            (),
            "",
            "No effect: the pool always de-duplicates, re-reads the tokens file when it changes "
            "and checks every token each `TOKEN_HEALTH_CHECK_INTERVAL`.",
            CONSUMER_NONE,
        )
        for name in (
            "TOKEN_AUTO_IMPORT_ENABLED",
            "TOKEN_AUTO_IMPORT_SOURCE_DIR",
            "TOKEN_AUTO_IMPORT_INTERVAL",
            "TOKEN_AUTO_MAINTENANCE_ENABLED",
            "TOKEN_AUTO_MAINTENANCE_INTERVAL",
            "TOKEN_AUTO_REMOVE_DUPLICATES",
            "TOKEN_AUTO_HEALTH_CHECK",
        )
    ),
    EnvVar(
        "SCAN_LIMIT",
        (),
        "",
        "No effect: declared as a tool scan limit by the older proxies but never used there.",
        CONSUMER_NONE,
    ),
    EnvVar(
        "LONGCAT_TOKEN",
        (),
        "",
        "No effect yet: the LongCat provider is planned; a warning is logged when it is set.",
        CONSUMER_NONE,
        secret=True,
    ),
    EnvVar(
        "DEFAULT_PROVIDER",
        (),
        "zai",
        "No effect: Z.ai is the only provider so far (the older proxy hard-coded it too).",
        CONSUMER_NONE,
    ),
    EnvVar(
        "UPSTREAM_STRATEGY",
        (),
        "",
        "No effect: zaiproxy talks to one upstream origin (`ZAIPROXY_ORIGIN`), not a list.",
        CONSUMER_NONE,
    ),
    EnvVar(
        "PROXY_STRATEGY",
        (),
        "",
        "No effect: zaiproxy uses one outbound proxy (`SOCKS5_PROXY` / `HTTPS_PROXY`), not a "
        "rotated list.",
        CONSUMER_NONE,
    ),
    EnvVar(
        "CONVERSATION_STATE_RETENTION_DAYS",
        (),
        "",
        "No effect: zaiproxy keeps no conversation state.",
        CONSUMER_NONE,
    ),
    EnvVar(
        "PROTOCOL",
        (),
        "",
        "No effect: write the scheme into `ZAIPROXY_ORIGIN` / `BASE` (a full origin).",
        CONSUMER_NONE,
    ),
    EnvVar(
        "DEBUG_MSG",
        (),
        "",
        "No effect: use `LOG_LEVEL=debug` for verbose logs.",
        CONSUMER_NONE,
    ),
)

_BY_NAME: dict[str, EnvVar] = {name: var for var in ENV_VARIABLES for name in var.names}

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Value parsers: each names the variable and the bad value in its error.


def _bad(name: str, raw: str, expected: str) -> ConfigError:
    return ConfigError(f"{name}={raw!r}: expected {expected}")


def parse_bool(name: str, raw: str) -> bool:
    """The older proxies' spellings of a boolean; anything else is an error rather than a guess."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _bad(name, raw, "a boolean (" + "/".join(TRUE_WORDS + FALSE_WORDS[:-1]) + ")")


def _parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise _bad(name, raw, "an integer") from None
    if value < minimum:
        raise _bad(name, raw, f"an integer ≥ {minimum}")
    return value


def _parse_float(name: str, raw: str, minimum: float = 0.0, *, exclusive: bool = False) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise _bad(name, raw, "a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _bad(name, raw, "a finite number")
    if value < minimum or (exclusive and value == minimum):
        raise _bad(name, raw, f"a number {'>' if exclusive else '≥'} {minimum:g}")
    return value


def _parse_port(name: str, raw: str) -> int:
    text = raw.strip()
    # The Go proxy's PORT is an address suffix (":9090").
    if text.startswith(":"):
        text = text[1:]
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise _bad(name, raw, "a port number 1–65535 (optionally ':'-prefixed)")
    return int(text)


_SIZE = re.compile(r"(\d+)\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(name: str, raw: str) -> int:
    """Bytes from ``123``, ``64k``, ``32m``, ``1g`` (binary multiples; ``32MB``/``32MiB`` too)."""
    match = _SIZE.fullmatch(raw.strip())
    if match is None or int(match.group(1)) == 0:
        raise _bad(name, raw, "a positive size such as 1048576, 512k or 32m")
    return int(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()]


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise _bad(name, raw, "one of " + ", ".join(choices))
        return value

    return parse


def _text(_: str, raw: str) -> str:
    return raw.strip()


def split_list(raw: str) -> list[str]:
    """A comma- or newline-separated list, blanks dropped (the older proxies' list format)."""
    return [item.strip() for item in re.split(r"[,\n]", raw) if item.strip()]


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, first occurrences in order."""
    return tuple(dict.fromkeys(v for v in values if v))


def _parse_claude_models(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for item in split_list(raw):
        alias, sep, model = item.partition("=")
        if not sep or not alias.strip() or not model.strip():
            raise _bad(name, raw, "name=model pairs separated by commas")
        pairs.append((alias.strip(), model.strip()))
    return tuple(pairs)


def _parse_template(name: str, raw: str) -> str:
    try:
        core.validate_prompt_template(raw)
    except ValueError as error:
        raise ConfigError(f"{name}: {error} (got {raw!r})") from None
    return raw


def _origin_of(name: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    host = parts.netloc.rpartition("@")[2].lower()
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise _bad(name, raw, "an http(s) URL")
    return f"{parts.scheme.lower()}://{host}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def mask_secret(value: str) -> str:
    """At most the first and last four characters: enough to tell two keys apart in
    ``zaiproxy check``, never the whole secret; short values show nothing."""
    if len(value) < 12:
        return "****"
    return f"{value[:4]}…{value[-4:]}"


def _secret_or_stored(value: Optional[str]) -> str:
    return mask_secret(value) if value else "random, kept in the store"


def mask_url_credentials(url: str) -> str:
    """A proxy or Redis URL with its password hidden (the host stays visible for diagnosis)."""
    parts = urlsplit(url if "://" in url else "//" + url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return url.replace(parts.netloc, f"{user}:****@{host}" if user else f"****@{host}", 1)


# ---------------------------------------------------------------------------------------------
# .env loading


def load_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The variables of a ``.env`` file, parsed by python-dotenv (the older proxies' parser);
    bare ``NAME`` lines without ``=`` are dropped."""
    try:
        from dotenv import dotenv_values
    except ImportError as error:  # pragma: no cover - python-dotenv is in the server extra
        raise ConfigError(
            f"reading {path} needs python-dotenv: pip install 'zaiproxy[server]'"
        ) from error
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def merged_environment(
    env: Optional[Mapping[str, str]] = None,
    env_file: Optional[os.PathLike[str] | str] = None,
) -> tuple[dict[str, str], Optional[str]]:
    """The environment over the ``.env`` file, and the file that was read (None: none).

    Real variables win over the file so that ``NAME=value zaiproxy serve`` and container
    settings override a checked-in ``.env`` (one older proxy did the opposite)."""
    env = os.environ if env is None else env
    if env_file is None:
        path = Path.cwd() / DEFAULT_ENV_FILE
        if not path.is_file():
            return dict(env), None
    else:
        path = Path(env_file)
        if not path.is_file():
            raise EnvFileNotFoundError(f"env file {str(env_file)!r} does not exist")
    merged = load_env_file(path)
    merged.update(env)
    return merged, str(path)


# ---------------------------------------------------------------------------------------------
# Settings


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
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)

    # The token pool, statistics and dashboard
    tokens_file: str = "tokens.txt"  # AUTH_TOKENS_FILE
    token_failure_threshold: int = 3
    token_recovery_timeout: float = 1800.0
    token_health_check_interval: float = 300.0  # 0: no periodic check
    token_hash_secret: Optional[str] = None  # None: random, kept in the store
    state_dir: str = "data"  # ZAI2API_STATE_DIR: where an older token_pool.json may be
    session_secret: Optional[str] = None  # SECRET_KEY; None: random, kept in the store
    admin_password: Optional[str] = None
    db_path: str = "tokens.db"
    redis_url: Optional[str] = None
    token_delete_invalid: bool = False  # TOKEN_AUTO_DELETE_INVALID
    dashboard_enabled: bool = True

    # Upstream timeouts, seconds (the engine's; a slow answer is a 504, a stalled stream ends
    # with the API's error frame).
    connect_timeout: float = 10.0
    first_byte_timeout: float = 90.0
    idle_timeout: float = 120.0

    # The whole environment the settings came from: the process environment over the .env file,
    # plus ZAIPROXY_ORIGIN when only API_ENDPOINT / UPSTREAM_URL / ZAI_AUTH_ENDPOINT named the
    # upstream. The profile (load_profile), the engine's proxy settings and the later token-pool
    # and dashboard settings read from it.
    environment: Mapping[str, str] = field(default_factory=dict)

    # GUEST_TOKEN_CACHE_MINUTES: an upper bound on a guest session's life (None: the pool's own
    # heuristic, upstream-protocol §6).
    guest_lifetime_minutes: Optional[float] = None
    # The .env file that was read (None: none).
    env_file: Optional[str] = None
    # Conflicts and ignored values found while parsing; from_env has logged them already.
    notices: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(
        cls,
        env: Optional[Mapping[str, str]] = None,
        env_file: Optional[os.PathLike[str] | str] = None,
    ) -> Settings:
        """Settings from ``env`` (default ``os.environ``) over ``env_file`` (default ``./.env``
        when present). Raises ``ConfigError`` (a ValueError) naming the variable of any bad
        value, ``EnvFileNotFoundError`` for a missing ``env_file``. Conflicts between aliases
        are kept in ``notices`` (reported with the other start-up ``warnings()``)."""
        merged, loaded = merged_environment(env, env_file)
        notices: list[str] = []
        fields = _resolve_fields(merged, notices)
        return cls(**fields, env_file=loaded, notices=tuple(notices))  # type: ignore[arg-type]

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys) and not self.skip_auth

    def resolved_pid_file(self) -> Path:
        return Path(self.pid_file or f"{self.service_name}.pid")

    @property
    def origin(self) -> str:
        """The upstream origin the profile will use (for display; profile.py reads the same
        variables from ``environment``)."""
        for name in ("ZAIPROXY_ORIGIN", "BASE"):
            value = self.environment.get(name, "").strip()
            if value:
                return value
        return DEFAULT_ORIGIN

    def warnings(self) -> list[str]:
        """Everything an operator should see at start-up (the server logs them, the CLI prints
        them): the parse-time ``notices`` and client authentication being off, loudest when the
        proxy listens on a reachable address."""
        found = list(self.notices)
        if not self.auth_enabled:
            reason = "SKIP_AUTH_TOKEN is on" if self.api_keys else "no API key is configured"
            if _is_loopback(self.host):
                found.append(
                    f"Client authentication is off ({reason}): any program on this machine can "
                    "use the proxy. Set AUTH_TOKEN (or AUTH_TOKENS) to require a key."
                )
            else:
                found.append(
                    f"CLIENT AUTHENTICATION IS OFF ({reason}) and zaiproxy listens on "
                    f"{self.host}:{self.port}: ANYONE WHO CAN REACH THIS PORT CAN USE YOUR Z.AI "
                    "IDENTITIES. Set AUTH_TOKEN (or AUTH_TOKENS), or HOST=127.0.0.1."
                )
        return found

    def masked_summary(self) -> list[tuple[str, str]]:
        """(label, value) rows for ``zaiproxy check``; secrets are masked with ``mask_secret``
        (and passwords in proxy / Redis URLs hidden) so the output can be pasted into a bug
        report."""

        def keys(values: tuple[str, ...]) -> str:
            if not values:
                return "none"
            return f"{len(values)}: " + ", ".join(mask_secret(v) for v in values)

        def yes(value: bool) -> str:
            return "yes" if value else "no"

        if self.auth_enabled:
            auth = "on"
        elif self.api_keys:
            auth = "OFF (SKIP_AUTH_TOKEN)"
        else:
            auth = "OFF (no API key configured)"
        env = self.environment
        proxy = next(
            (
                env.get(n) or env.get(n.lower()) or ""
                for n in ("SOCKS5_PROXY", "HTTPS_PROXY", "HTTP_PROXY")
                if env.get(n) or env.get(n.lower())
            ),
            "",
        )
        rows = [
            ("Env file", self.env_file or "none"),
            ("Listen", f"{self.host}:{self.port}"),
            ("Server", f"{self.server}, {self.workers} worker(s)"),
            ("Root path", self.root_path or "/"),
            ("PID file", str(self.resolved_pid_file())),
            ("Log level", self.log_level),
            ("Client auth", auth),
            ("API keys", keys(self.api_keys)),
            ("Anonymous (guest) mode", yes(self.anonymous_mode)),
            ("User tokens", keys(self.user_tokens)),
            ("Guest pool size", str(self.guest_pool_size)),
            (
                "Guest lifetime",
                "upstream default"
                if self.guest_lifetime_minutes is None
                else f"≤ {self.guest_lifetime_minutes:g} min",
            ),
            ("Attempts / first retry delay", f"{self.max_retries} / {self.retry_delay:g} s"),
            ("Upstream origin", self.origin),
            ("Outbound proxy", mask_url_credentials(proxy) if proxy else "none"),
            ("Default model", self.default_model or "none"),
            ("Unknown models", self.unknown_model),
            ("Default stream", yes(self.default_stream)),
            (
                "Default thinking",
                "model default" if self.enable_thinking is None else yes(self.enable_thinking),
            ),
            ("Think mode", self.think_mode),
            ("Tools", yes(self.tools_enabled)),
            ("Tool prompt", "custom" if self.tool_prompt_template else "built-in"),
            (
                "Claude model names",
                ", ".join(f"{a}={m}" for a, m in self.claude_models) or "built-in",
            ),
            ("Upstream model list", yes(self.upstream_models)),
            ("Max body", f"{self.max_body_bytes} bytes"),
            (
                "Upstream timeouts",
                f"connect {self.connect_timeout:g} s, first byte {self.first_byte_timeout:g} s,"
                f" idle {self.idle_timeout:g} s",
            ),
            ("CORS origins", ", ".join(self.cors_origins)),
            ("Trusted reverse proxies", ", ".join(self.forwarded_allow_ips)),
            ("Tokens file", self.tokens_file),
            (
                "Pool cooldown",
                f"after {self.token_failure_threshold} failures in a row, "
                f"{self.token_recovery_timeout:g} s",
            ),
            (
                "Pool health check",
                f"every {self.token_health_check_interval:g} s"
                if self.token_health_check_interval > 0
                else "off",
            ),
            ("Invalid tokens", "deleted" if self.token_delete_invalid else "kept, marked"),
            (
                "Store",
                f"Redis {mask_url_credentials(self.redis_url)}"
                if self.redis_url
                else f"SQLite {self.db_path}",
            ),
            ("Older state imported from", f"{self.db_path}, {self.state_dir}/token_pool.json"),
            ("Token hash secret", _secret_or_stored(self.token_hash_secret)),
            ("Session secret", _secret_or_stored(self.session_secret)),
            (
                "Admin",
                "ADMIN_PASSWORD"
                if self.admin_password
                else ("the API keys" if self.api_keys else "CLOSED (no ADMIN_PASSWORD, no key)"),
            ),
            ("Dashboard", yes(self.dashboard_enabled)),
        ]
        # The other modules' variables, as set (secrets masked).
        for var in ENV_VARIABLES:
            if var.consumer not in (CONSUMER_PROFILE, CONSUMER_ENGINE):
                continue
            for name in var.names:
                value = env.get(name, "").strip()
                if not value or name in ("ZAIPROXY_ORIGIN", "BASE"):
                    continue
                if var.secret:
                    value = mask_secret(value)
                elif "://" in value or "@" in value:
                    value = mask_url_credentials(value)
                rows.append((name, value))
        ignored = [
            name
            for var in ENV_VARIABLES
            if var.consumer == CONSUMER_NONE
            for name in var.names
            if env.get(name, "").strip()
        ]
        if ignored:
            rows.append(("Set but without effect", ", ".join(ignored)))
        return rows


def _first(
    env: Mapping[str, str],
    names: tuple[str, ...],
    parse: Callable[[str, str], T],
    notices: list[str],
) -> Optional[T]:
    """The value of the first of ``names`` that is set. Every set one is parsed (a bad value is
    an error even when another name wins); disagreeing values become a notice."""
    found = [(name, env[name]) for name in names if env.get(name, "").strip()]
    if not found:
        return None
    parsed = [(name, raw, parse(name, raw)) for name, raw in found]
    winner, winner_raw, value = parsed[0]
    for name, raw, other in parsed[1:]:
        if other != value:
            notices.append(
                f"{winner}={winner_raw.strip()!r} and {name}={raw.strip()!r} disagree; "
                f"{winner} wins"
            )
    return value


def _resolve_fields(env: dict[str, str], notices: list[str]) -> dict[str, object]:
    """The Settings fields from the merged environment (which gains a derived ZAIPROXY_ORIGIN)."""

    def get(names: tuple[str, ...], parse: Callable[[str, str], T], default: T) -> T:
        value = _first(env, names, parse, notices)
        return default if value is None else value

    def raw(name: str) -> str:
        return env.get(name, "").strip()

    values: dict[str, object] = {}

    api_keys = [raw("AUTH_TOKEN"), *split_list(env.get("AUTH_TOKENS", "")), raw("DEFAULT_KEY")]
    values["api_keys"] = unique(api_keys)
    skip = get(("SKIP_AUTH_TOKEN",), parse_bool, False)
    values["skip_auth"] = skip or not values["api_keys"]

    values["host"] = raw("HOST") or "0.0.0.0"
    values["port"] = get(("LISTEN_PORT", "PORT"), _parse_port, 8080)
    values["workers"] = get(
        ("WORKERS", "UVICORN_WORKERS", "GRANIAN_WORKERS"),
        lambda n, r: _parse_int(n, r, 1),
        1,
    )
    values["server"] = get(("ZAIPROXY_SERVER",), _choice(SERVERS), "granian")
    root_path = raw("ROOT_PATH").rstrip("/")
    values["root_path"] = (
        root_path if not root_path or root_path.startswith("/") else "/" + root_path
    )
    values["pid_file"] = raw("PID_FILE") or None
    values["service_name"] = raw("SERVICE_NAME") or "zaiproxy"

    def level(name: str, text: str) -> str:
        return _choice(LOG_LEVELS)(name, "warning" if text.strip().lower() == "warn" else text)

    log_level = get(("LOG_LEVEL",), level, None)
    if log_level is None:
        debug = False
        for name in ("DEBUG_LOGGING", "DEBUG", "DEBUG_MODE"):
            if not raw(name):
                continue
            try:
                debug = parse_bool(name, raw(name)) or debug
            except ConfigError:
                # DEBUG is a common name among other tools (DEBUG=* for node's debug): not ours.
                if name != "DEBUG":
                    raise
                notices.append(f"DEBUG={raw(name)!r} is not a boolean and is ignored")
        log_level = "debug" if debug else "info"
    values["log_level"] = log_level

    values["anonymous_mode"] = get(("ANONYMOUS_MODE", "ENABLE_GUEST_TOKEN"), parse_bool, True)
    values["user_tokens"] = unique(
        [
            *split_list(env.get("ZAI_TOKEN", "")),
            raw("TOKEN"),
            *split_list(env.get("TOKEN_POOL", "")),
        ]
    )
    values["guest_pool_size"] = get(("GUEST_POOL_SIZE",), _parse_int, 3)
    values["guest_lifetime_minutes"] = get(
        ("GUEST_TOKEN_CACHE_MINUTES",),
        lambda n, r: _parse_float(n, r, 0.0, exclusive=True),
        None,
    )
    values["max_retries"] = max(1, get(("MAX_RETRIES",), _parse_int, 3))
    values["retry_delay"] = get(("RETRY_DELAY",), _parse_float, 0.25)

    values["default_model"] = get(("MODEL", "MODEL_NAME"), _text, None)
    values["unknown_model"] = get(
        ("ZAIPROXY_UNKNOWN_MODEL",), _choice(UNKNOWN_MODEL_POLICIES), "reject"
    )
    values["default_stream"] = get(("DEFAULT_STREAM",), parse_bool, False)
    values["enable_thinking"] = get(("ENABLE_THINKING",), parse_bool, None)
    values["think_mode"] = get(("THINK_TAGS_MODE",), _choice(THINK_MODES), "reasoning")
    values["tools_enabled"] = get(("TOOL_SUPPORT", "ENABLE_TOOLIFY"), parse_bool, True)
    values["tool_prompt_template"] = get(("TOOLIFY_CUSTOM_PROMPT",), _parse_template, None)
    values["claude_models"] = get(("ZAIPROXY_CLAUDE_MODELS",), _parse_claude_models, ())
    values["upstream_models"] = get(("ZAIPROXY_UPSTREAM_MODELS",), parse_bool, False)
    values["max_body_bytes"] = get(("ZAIPROXY_MAX_BODY_BYTES",), parse_size, 32 * 1024 * 1024)
    positive = functools.partial(_parse_float, exclusive=True)
    values["connect_timeout"] = get(("ZAIPROXY_CONNECT_TIMEOUT",), positive, 10.0)
    values["first_byte_timeout"] = get(("ZAIPROXY_FIRST_BYTE_TIMEOUT",), positive, 90.0)
    values["idle_timeout"] = get(("ZAIPROXY_IDLE_TIMEOUT",), positive, 120.0)
    values["tokens_file"] = raw("AUTH_TOKENS_FILE") or "tokens.txt"
    values["token_failure_threshold"] = get(
        ("TOKEN_FAILURE_THRESHOLD", "TOKEN_POOL_FAILURE_THRESHOLD"),
        lambda n, r: _parse_int(n, r, 1),
        3,
    )
    values["token_recovery_timeout"] = get(
        ("TOKEN_RECOVERY_TIMEOUT", "TOKEN_POOL_RESET_FAILURES"), _parse_float, 1800.0
    )
    values["token_health_check_interval"] = get(
        ("TOKEN_HEALTH_CHECK_INTERVAL",), _parse_float, 300.0
    )
    values["token_hash_secret"] = raw("TOKEN_HASH_SECRET") or None
    values["state_dir"] = raw("ZAI2API_STATE_DIR") or "data"
    values["session_secret"] = get(("SECRET_KEY", "SESSION_SECRET_KEY"), _text, None)
    values["admin_password"] = raw("ADMIN_PASSWORD") or None
    values["db_path"] = raw("DB_PATH") or "tokens.db"
    values["redis_url"] = raw("REDIS_URL") or None
    values["token_delete_invalid"] = get(("TOKEN_AUTO_DELETE_INVALID",), parse_bool, False)
    values["dashboard_enabled"] = get(("DASHBOARD_ENABLED",), parse_bool, True)
    cors = unique(split_list(env.get("CORS_ORIGINS", "")))
    values["cors_origins"] = cors or ("*",)
    forwarders = unique(split_list(env.get("FORWARDED_ALLOW_IPS", "")))
    values["forwarded_allow_ips"] = forwarders or ("127.0.0.1",)

    if raw("LONGCAT_TOKEN"):
        notices.append(
            "LONGCAT_TOKEN is set but has no effect: the LongCat provider is not implemented yet"
        )

    # The older proxies named the upstream by a full URL; the profile wants its origin.
    if not raw("ZAIPROXY_ORIGIN") and not raw("BASE"):
        origin = _first(
            env, ("API_ENDPOINT", "UPSTREAM_URL", "ZAI_AUTH_ENDPOINT"), _origin_of, notices
        )
        if origin is not None and origin != DEFAULT_ORIGIN:
            env["ZAIPROXY_ORIGIN"] = origin
    values["environment"] = env
    return values


# ---------------------------------------------------------------------------------------------
# Documentation

TABLE_START = "<!-- env-table:start -->"
TABLE_END = "<!-- env-table:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_cell(default: str) -> str:
    if not default:
        return "—"
    if default.startswith("("):
        return _cell(default[1:-1] if default.endswith(")") else default)
    return f"`{_cell(default)}`"


def render_env_table() -> str:
    """The README's configuration table, generated so that it cannot drift from the parser."""
    lines = ["| Variable | Aliases | Default | Meaning |", "|---|---|---|---|"]
    for var in ENV_VARIABLES:
        aliases = ", ".join(f"`{a}`" for a in var.aliases) or "—"
        lines.append(
            f"| `{var.name}` | {aliases} | {_default_cell(var.default)} | {_cell(var.meaning)} |"
        )
    return "\n".join(lines) + "\n"


def replace_env_table(markdown: str) -> str:
    """``markdown`` with the block between the env-table markers regenerated."""
    start = markdown.index(TABLE_START) + len(TABLE_START)
    end = markdown.index(TABLE_END, start)
    return markdown[:start] + "\n" + render_env_table() + markdown[end:]


def env_var(name: str) -> Optional[EnvVar]:
    """The table row that lists ``name`` (canonical or alias), if any."""
    return _BY_NAME.get(name)


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m zaiproxy.config`` prints the table; ``--update README.md`` rewrites the
    block between the markers in place."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--update":
        path = Path(args[1])
        path.write_text(replace_env_table(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if args:
        print("usage: python -m zaiproxy.config [--update README.md]", file=sys.stderr)
        return 2
    sys.stdout.write(render_env_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
