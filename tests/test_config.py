"""Settings.from_env: the older proxies' variables and aliases, their conflict rules, .env files,
errors that name the variable, secret masking and the README table."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zaiproxy import config
from zaiproxy.config import (
    CONSUMER_ENGINE,
    CONSUMER_NONE,
    CONSUMER_PROFILE,
    ENV_VARIABLES,
    ConfigError,
    EnvFileNotFoundError,
    Settings,
    mask_secret,
    render_env_table,
)
from zaiproxy.profile import load_profile_document
from zaiproxy.upstream.engine import EngineSettings

REPO = Path(__file__).resolve().parent.parent
SPEC_CANDIDATES = (
    REPO.parent / "shared" / "spec" / "compatibility.md",
    Path("/work/shared/spec/compatibility.md"),
)
VALID_TEMPLATE = "Tools: {tools_list}\nSay {trigger_signal} first."


@pytest.fixture(autouse=True)
def _empty_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs where no stray .env can leak in."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


# --- defaults ------------------------------------------------------------------------------------


def test_empty_environment_gives_the_contract_defaults() -> None:
    got = settings()
    expected = Settings(skip_auth=True)  # no key configured: auth off
    for f in dataclasses.fields(Settings):
        if f.name not in ("environment", "notices", "env_file"):
            assert getattr(got, f.name) == getattr(expected, f.name), f.name
    assert not got.auth_enabled
    assert got.env_file is None
    assert got.environment == {}
    assert got.resolved_pid_file() == Path("zaiproxy.pid")


def test_empty_values_count_as_unset() -> None:
    got = settings(AUTH_TOKEN="", LISTEN_PORT="  ", ANONYMOUS_MODE="", MODEL="")
    assert got.api_keys == ()
    assert got.port == 8080
    assert got.anonymous_mode is True
    assert got.default_model is None


# --- client auth ---------------------------------------------------------------------------------


def test_api_keys_merge_in_order_without_duplicates_or_blanks() -> None:
    got = settings(
        AUTH_TOKEN="sk-one",
        AUTH_TOKENS="sk-two, sk-one,\n sk-three\n\n,",
        DEFAULT_KEY="sk-four",
    )
    assert got.api_keys == ("sk-one", "sk-two", "sk-three", "sk-four")
    assert got.auth_enabled and not got.skip_auth


@pytest.mark.parametrize("name", ["AUTH_TOKEN", "AUTH_TOKENS", "DEFAULT_KEY"])
def test_each_key_variable_alone_turns_auth_on(name: str) -> None:
    got = settings(**{name: "sk-secret"})
    assert got.api_keys == ("sk-secret",)
    assert got.auth_enabled


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "Yes", "on", " On "])
def test_skip_auth_truthy_words(word: str) -> None:
    got = settings(AUTH_TOKEN="sk-k", SKIP_AUTH_TOKEN=word)
    assert got.skip_auth and not got.auth_enabled


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF"])
def test_skip_auth_falsy_words(word: str) -> None:
    got = settings(AUTH_TOKEN="sk-k", SKIP_AUTH_TOKEN=word)
    assert not got.skip_auth and got.auth_enabled


def test_bad_boolean_names_the_variable_and_value() -> None:
    with pytest.raises(ValueError, match=r"SKIP_AUTH_TOKEN='maybe'"):
        settings(SKIP_AUTH_TOKEN="maybe")


# --- listening -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "port"),
    [
        ({"LISTEN_PORT": "9000"}, 9000),
        ({"PORT": "9090"}, 9090),
        ({"PORT": ":9090"}, 9090),
        ({"LISTEN_PORT": ":7000"}, 7000),
        ({"LISTEN_PORT": "8081", "PORT": ":8081"}, 8081),
    ],
)
def test_port_variables(env: dict[str, str], port: int) -> None:
    got = Settings.from_env(env)
    assert got.port == port
    assert got.notices == ()


def test_listen_port_wins_over_port_with_a_warning() -> None:
    got = settings(LISTEN_PORT="8080", PORT=":9090")
    assert got.port == 8080
    assert any("LISTEN_PORT wins" in w for w in got.warnings())


@pytest.mark.parametrize(
    ("name", "value"),
    [("LISTEN_PORT", "http"), ("PORT", "0"), ("PORT", "70000"), ("LISTEN_PORT", "-1")],
)
def test_bad_port_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}={value!r}"):
        settings(**{name: value})


def test_a_bad_alias_is_an_error_even_when_the_canonical_name_wins() -> None:
    with pytest.raises(ValueError, match="PORT='x'"):
        settings(LISTEN_PORT="8080", PORT="x")


@pytest.mark.parametrize("name", ["WORKERS", "UVICORN_WORKERS", "GRANIAN_WORKERS"])
def test_worker_aliases(name: str) -> None:
    assert settings(**{name: "4"}).workers == 4


def test_workers_canonical_name_wins() -> None:
    got = settings(WORKERS="2", UVICORN_WORKERS="8")
    assert got.workers == 2
    assert got.notices


@pytest.mark.parametrize("value", ["0", "two", "1.5"])
def test_bad_workers(value: str) -> None:
    with pytest.raises(ValueError, match="WORKERS"):
        settings(WORKERS=value)


def test_listening_fields() -> None:
    got = settings(
        HOST="127.0.0.1",
        ZAIPROXY_SERVER="Uvicorn",
        ROOT_PATH="/zai/",
        PID_FILE="/run/zaiproxy.pid",
        SERVICE_NAME="z-ai2api-server",
    )
    assert got.host == "127.0.0.1"
    assert got.server == "uvicorn"
    assert got.root_path == "/zai"
    assert got.resolved_pid_file() == Path("/run/zaiproxy.pid")
    assert got.service_name == "z-ai2api-server"
    assert settings(SERVICE_NAME="svc").resolved_pid_file() == Path("svc.pid")
    assert settings(ROOT_PATH="api").root_path == "/api"


def test_bad_server_lists_the_choices() -> None:
    with pytest.raises(ValueError, match=r"ZAIPROXY_SERVER='gunicorn'.*granian, uvicorn"):
        settings(ZAIPROXY_SERVER="gunicorn")


# --- logging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DEBUG_LOGGING", "DEBUG", "DEBUG_MODE"])
def test_each_debug_switch_means_debug(name: str) -> None:
    assert settings(**{name: "true"}).log_level == "debug"
    assert settings(**{name: "false"}).log_level == "info"


def test_log_level_wins_over_debug_switches() -> None:
    assert settings(LOG_LEVEL="WARNING", DEBUG_LOGGING="true").log_level == "warning"
    assert settings(LOG_LEVEL="warn").log_level == "warning"


def test_bad_log_level() -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL='loud'"):
        settings(LOG_LEVEL="loud")


def test_bad_debug_logging_is_an_error_but_foreign_debug_is_ignored() -> None:
    with pytest.raises(ValueError, match="DEBUG_LOGGING='verbose'"):
        settings(DEBUG_LOGGING="verbose")
    got = settings(DEBUG="express:*")
    assert got.log_level == "info"
    assert any("DEBUG=" in n for n in got.notices)


# --- upstream identities -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ANONYMOUS_MODE", "ENABLE_GUEST_TOKEN"])
def test_anonymous_mode_aliases(name: str) -> None:
    assert settings(**{name: "false"}).anonymous_mode is False


def test_anonymous_mode_wins_over_enable_guest_token() -> None:
    got = settings(ANONYMOUS_MODE="true", ENABLE_GUEST_TOKEN="false")
    assert got.anonymous_mode is True
    assert any("ANONYMOUS_MODE" in n and "ENABLE_GUEST_TOKEN" in n for n in got.notices)


def test_user_tokens_merge() -> None:
    got = settings(ZAI_TOKEN="t1,t2\nt3", TOKEN="t2", TOKEN_POOL="t4\nt1, t5")
    assert got.user_tokens == ("t1", "t2", "t3", "t4", "t5")


@pytest.mark.parametrize("name", ["ZAI_TOKEN", "TOKEN", "TOKEN_POOL"])
def test_each_user_token_variable(name: str) -> None:
    assert settings(**{name: "jwt"}).user_tokens == ("jwt",)


def test_identity_numbers() -> None:
    got = settings(
        GUEST_POOL_SIZE="10", GUEST_TOKEN_CACHE_MINUTES="55", MAX_RETRIES="6", RETRY_DELAY="1.0"
    )
    assert got.guest_pool_size == 10
    assert got.guest_lifetime_minutes == 55.0
    assert got.max_retries == 6
    assert got.retry_delay == 1.0
    assert settings(MAX_RETRIES="0").max_retries == 1
    assert settings().guest_lifetime_minutes is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GUEST_POOL_SIZE", "-1"),
        ("GUEST_POOL_SIZE", "three"),
        ("GUEST_TOKEN_CACHE_MINUTES", "0"),
        ("GUEST_TOKEN_CACHE_MINUTES", "soon"),
        ("MAX_RETRIES", "-2"),
        ("RETRY_DELAY", "-0.5"),
        ("RETRY_DELAY", "nan"),
    ],
)
def test_bad_identity_numbers(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{name}={value!r}")):
        settings(**{name: value})


# --- requests and responses ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MODEL", "MODEL_NAME"])
def test_default_model_aliases(name: str) -> None:
    assert settings(**{name: "GLM-4.6"}).default_model == "GLM-4.6"


def test_model_wins_over_model_name() -> None:
    got = settings(MODEL="GLM-4.5", MODEL_NAME="GLM-4.6")
    assert got.default_model == "GLM-4.5"
    assert got.notices


def test_request_fields() -> None:
    got = settings(
        ZAIPROXY_UNKNOWN_MODEL="Default",
        DEFAULT_STREAM="true",
        ENABLE_THINKING="false",
        THINK_TAGS_MODE="DETAILS",
        TOOLIFY_CUSTOM_PROMPT=VALID_TEMPLATE,
        ZAIPROXY_CLAUDE_MODELS="claude-x=GLM-4.6, claude-y = GLM-4.5-Air",
        ZAIPROXY_UPSTREAM_MODELS="yes",
        ZAIPROXY_MAX_BODY_BYTES="4m",
        CORS_ORIGINS="https://a.example, https://b.example",
    )
    assert got.unknown_model == "default"
    assert got.default_stream is True
    assert got.enable_thinking is False
    assert got.think_mode == "details"
    assert got.tool_prompt_template == VALID_TEMPLATE
    assert got.claude_models == (("claude-x", "GLM-4.6"), ("claude-y", "GLM-4.5-Air"))
    assert got.upstream_models is True
    assert got.max_body_bytes == 4 * 1024 * 1024
    assert got.cors_origins == ("https://a.example", "https://b.example")


def test_trusted_forwarders() -> None:
    assert settings().forwarded_allow_ips == ("127.0.0.1",)
    assert settings(FORWARDED_ALLOW_IPS="10.0.0.5, 10.0.0.6,").forwarded_allow_ips == (
        "10.0.0.5",
        "10.0.0.6",
    )


@pytest.mark.parametrize("name", ["TOOL_SUPPORT", "ENABLE_TOOLIFY"])
def test_tool_aliases(name: str) -> None:
    assert settings(**{name: "off"}).tools_enabled is False


@pytest.mark.parametrize(
    ("value", "size"), [("1000", 1000), ("64k", 65536), ("32M", 32 << 20), ("1g", 1 << 30)]
)
def test_body_size_suffixes(value: str, size: int) -> None:
    assert settings(ZAIPROXY_MAX_BODY_BYTES=value).max_body_bytes == size


@pytest.mark.parametrize(
    ("name", "value", "pattern"),
    [
        ("THINK_TAGS_MODE", "fancy", "reasoning, think, quote, strip, details, drop, raw"),
        ("ZAIPROXY_UNKNOWN_MODEL", "guess", "reject, default"),
        ("ZAIPROXY_MAX_BODY_BYTES", "lots", "size"),
        ("ZAIPROXY_MAX_BODY_BYTES", "0", "size"),
        ("ZAIPROXY_CLAUDE_MODELS", "claude-x", "name=model"),
        ("ZAIPROXY_CLAUDE_MODELS", "=GLM-4.6", "name=model"),
        ("DEFAULT_STREAM", "sometimes", "boolean"),
        ("ENABLE_THINKING", "2", "boolean"),
    ],
)
def test_bad_request_values(name: str, value: str, pattern: str) -> None:
    with pytest.raises(ValueError) as caught:
        settings(**{name: value})
    message = str(caught.value)
    assert f"{name}={value!r}" in message
    assert pattern in message


@pytest.mark.parametrize(
    ("template", "missing"),
    [("Tools: {tools_list}", "trigger_signal"), ("Say {trigger_signal}", "tools_list")],
)
def test_bad_tool_prompt_names_the_variable(template: str, missing: str) -> None:
    with pytest.raises(ConfigError, match=rf"TOOLIFY_CUSTOM_PROMPT.*{missing}"):
        settings(TOOLIFY_CUSTOM_PROMPT=template)


# --- upstream origin -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["API_ENDPOINT", "UPSTREAM_URL", "ZAI_AUTH_ENDPOINT"])
def test_origin_derived_from_the_older_upstream_urls(name: str) -> None:
    got = settings(**{name: "http://127.0.0.1:8765/api/chat/completions"})
    assert got.environment["ZAIPROXY_ORIGIN"] == "http://127.0.0.1:8765"
    assert got.origin == "http://127.0.0.1:8765"
    # The profile reads the derived origin from the merged environment.
    assert load_profile_document(env=got.environment)["origin"] == "http://127.0.0.1:8765"


def test_default_upstream_url_derives_nothing() -> None:
    got = settings(API_ENDPOINT="https://chat.z.ai/api/chat/completions")
    assert "ZAIPROXY_ORIGIN" not in got.environment
    assert got.origin == "https://chat.z.ai"


@pytest.mark.parametrize("name", ["ZAIPROXY_ORIGIN", "BASE"])
def test_explicit_origin_wins_over_derived(name: str) -> None:
    got = settings(**{name: "https://mirror.example", "API_ENDPOINT": "http://other:1/x"})
    assert got.environment.get("ZAIPROXY_ORIGIN", got.environment.get("BASE")) == (
        "https://mirror.example"
    )
    assert got.origin == "https://mirror.example"


def test_bad_upstream_url() -> None:
    with pytest.raises(ValueError, match="UPSTREAM_URL='chat.z.ai'"):
        settings(UPSTREAM_URL="chat.z.ai")


def test_environment_feeds_the_engine() -> None:
    got = settings(SOCKS5_PROXY="127.0.0.1:1080", NO_PROXY="localhost")
    engine = EngineSettings.from_env(got.environment)
    assert engine.proxy == "socks5h://127.0.0.1:1080"
    assert engine.no_proxy == "localhost"


# --- .env files ----------------------------------------------------------------------------------


def test_dotenv_in_the_working_directory_is_read(_empty_workdir: Path) -> None:
    (_empty_workdir / ".env").write_text(
        "# comment\nAUTH_TOKEN=sk-from-file\nLISTEN_PORT=9001\nexport MODEL='GLM-4.6'\nBARE\n",
        encoding="utf-8",
    )
    got = settings()
    assert got.api_keys == ("sk-from-file",)
    assert got.port == 9001
    assert got.default_model == "GLM-4.6"
    assert got.env_file == str(_empty_workdir / ".env")
    assert "BARE" not in got.environment


def test_real_environment_wins_over_the_file(_empty_workdir: Path) -> None:
    (_empty_workdir / ".env").write_text("LISTEN_PORT=9001\nHOST=10.0.0.1\n", encoding="utf-8")
    got = settings(LISTEN_PORT="9002")
    assert got.port == 9002
    assert got.host == "10.0.0.1"
    assert got.environment["LISTEN_PORT"] == "9002"


def test_env_file_argument(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "prod.env"
    other.parent.mkdir()
    other.write_text('AUTH_TOKENS="sk-a,sk-b"\n', encoding="utf-8")
    (tmp_path / ".env").write_text("AUTH_TOKENS=sk-ignored\n", encoding="utf-8")
    got = Settings.from_env({}, env_file=other)
    assert got.api_keys == ("sk-a", "sk-b")
    assert got.env_file == str(other)


def test_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EnvFileNotFoundError, match="missing.env"):
        Settings.from_env({}, env_file=tmp_path / "missing.env")
    with pytest.raises(ValueError):
        Settings.from_env({}, env_file=str(tmp_path / "missing.env"))


def test_default_env_is_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PORT", "9123")
    assert Settings.from_env().port == 9123


def test_bad_value_in_the_file_names_the_variable(_empty_workdir: Path) -> None:
    (_empty_workdir / ".env").write_text("THINK_TAGS_MODE=bold\n", encoding="utf-8")
    with pytest.raises(ValueError, match="THINK_TAGS_MODE='bold'"):
        settings()


# --- warnings ------------------------------------------------------------------------------------


def test_open_proxy_on_a_public_address_warns_loudly() -> None:
    loud = [w for w in settings().warnings() if "AUTHENTICATION IS OFF" in w]
    assert loud and "0.0.0.0:8080" in loud[0]
    skipped = settings(AUTH_TOKEN="sk-k", SKIP_AUTH_TOKEN="1", HOST="::").warnings()
    assert any("SKIP_AUTH_TOKEN" in w for w in skipped)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_a_quieter_no_auth_warning_on_loopback(host: str) -> None:
    (warning,) = settings(HOST=host).warnings()
    assert warning.startswith("Client authentication is off (no API key is configured)")


def test_no_auth_warning_with_a_key() -> None:
    assert settings(AUTH_TOKEN="sk-k").warnings() == []


def test_longcat_token_warns() -> None:
    got = settings(LONGCAT_TOKEN="passport-abcdef123456", HOST="127.0.0.1")
    assert any("LONGCAT_TOKEN" in w for w in got.warnings())
    assert all("passport-abcdef123456" not in w for w in got.warnings())


# --- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", "****"),
        ("short", "****"),
        ("elevenchars", "****"),
        ("twelve-chars", "twel…hars"),
        ("sk-1234567890abcdef", "sk-1…cdef"),
    ],
)
def test_mask_secret(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


def test_masked_summary_never_shows_a_whole_secret() -> None:
    secrets = {
        "AUTH_TOKEN": "sk-live-0123456789abcdef",
        "AUTH_TOKENS": "sk-second-key-zyxwvut,tiny",
        "ZAI_TOKEN": "eyJhbGciOiJFUzI1NiJ9.payload.signature",
        "TOKEN": "short-tok",
        "ZAIPROXY_SIGNING_KEY": "signing-key-987654321",
        "ADMIN_PASSWORD": "admin123",
        "SECRET_KEY": "flask-session-secret-key",
        "SESSION_SECRET_KEY": "another-session-secret",
        "TOKEN_HASH_SECRET": "hash-salt-value-000",
        "LONGCAT_TOKEN": "longcat-passport-token",
        "REDIS_URL": "redis://:hunter2hunter2@redis:6379/0",
        "HTTPS_PROXY": "http://user:proxy-password@proxy:3128",
    }
    got = settings(**secrets)
    text = "\n".join(f"{label}: {value}" for label, value in got.masked_summary())
    whole = [*secrets.values(), "sk-second-key-zyxwvut", "tiny", "hunter2hunter2", "proxy-password"]
    for secret in whole:
        if secret.startswith(("redis://", "http://")):
            continue
        assert secret not in text, secret
    assert "sk-l…cdef" in text
    assert "proxy:3128" in text  # the proxy host stays visible for diagnosis
    assert "LONGCAT_TOKEN" in text


def test_masked_summary_shows_the_resolved_values() -> None:
    rows = dict(settings(LISTEN_PORT="9001", HOST="127.0.0.1", SCAN_LIMIT="5").masked_summary())
    assert rows["Listen"] == "127.0.0.1:9001"
    assert rows["Client auth"].startswith("OFF")
    assert rows["Set but without effect"] == "SCAN_LIMIT"


def test_pool_settings_and_their_aliases() -> None:
    got = settings(
        TOKEN_POOL_FAILURE_THRESHOLD="5",
        TOKEN_POOL_RESET_FAILURES="60",
        TOKEN_HEALTH_CHECK_INTERVAL="0",
        AUTH_TOKENS_FILE="/etc/zaiproxy/tokens.txt",
        DB_PATH="/var/lib/zaiproxy/pool.db",
        TOKEN_AUTO_DELETE_INVALID="yes",
        DASHBOARD_ENABLED="false",
    )
    assert (got.token_failure_threshold, got.token_recovery_timeout) == (5, 60.0)
    assert got.tokens_file == "/etc/zaiproxy/tokens.txt" and got.token_delete_invalid
    rows = dict(got.masked_summary())
    assert rows["Pool cooldown"] == "after 5 failures in a row, 60 s"
    assert rows["Pool health check"] == "off"
    assert rows["Store"] == "SQLite /var/lib/zaiproxy/pool.db"
    assert rows["Admin"].startswith("CLOSED") and rows["Dashboard"] == "no"
    assert rows["Token hash secret"] == "random, kept in the store"
    with pytest.raises(ConfigError, match="TOKEN_FAILURE_THRESHOLD"):
        settings(TOKEN_FAILURE_THRESHOLD="0")
    redis = settings(REDIS_URL="redis://:pw-of-redis@cache:6379/1", ADMIN_PASSWORD="a" * 16)
    assert dict(redis.masked_summary())["Store"] == "Redis redis://****@cache:6379/1"
    assert dict(redis.masked_summary())["Admin"] == "ADMIN_PASSWORD"


# --- the variable table --------------------------------------------------------------------------


def _spec_variable_names(text: str) -> tuple[set[str], set[str]]:
    """The names of compatibility.md §2 (its table's first column and the "Later additions"
    paragraph): exact names, and prefixes written as `GLM45_*`."""
    section = text.split("## 2.", 1)[1].split("\n## 3.", 1)[0]
    exact: set[str] = set()
    prefixes: set[str] = set()
    cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    later = section.split("Later additions", 1)[1]
    for chunk in [*cells, later]:
        for token in re.findall(r"`([^`]+)`", chunk):
            token = re.sub(r"\(.*?\)", "", token)
            parts = token.split("/")
            first = parts[0]
            names = [first]
            # TOKEN_AUTO_IMPORT_ENABLED/_SOURCE_DIR/_INTERVAL → shared stem + each suffix.
            stem = first.rsplit("_", 1)[0]
            names += [stem + part for part in parts[1:] if part.startswith("_")]
            for name in names:
                if re.fullmatch(r"[A-Z][A-Z0-9_]*\*", name):
                    prefixes.add(name.rstrip("*"))
                elif re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                    exact.add(name)
    return exact, prefixes


def _spec_text() -> str:
    for candidate in SPEC_CANDIDATES:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    pytest.skip("spec/compatibility.md is not available")


def test_every_spec_variable_is_in_the_table() -> None:
    exact, prefixes = _spec_variable_names(_spec_text())
    assert len(exact) > 80  # the parser found the table and the later additions
    known = {name for var in ENV_VARIABLES for name in var.names}
    assert sorted(exact - known) == []
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in known), prefix


def test_table_names_are_unique_and_consumers_exist() -> None:
    names = [name for var in ENV_VARIABLES for name in var.names]
    assert len(names) == len(set(names))
    fields = {f.name for f in dataclasses.fields(Settings)}
    others = {CONSUMER_PROFILE, CONSUMER_ENGINE, CONSUMER_NONE}
    for var in ENV_VARIABLES:
        assert var.consumer in fields | others, var.name
        assert var.meaning.strip(), var.name
    for name in ("LONGCAT_TOKEN", "SCAN_LIMIT", "UPSTREAM_STRATEGY", "PROTOCOL", "DEBUG_MSG"):
        assert config.env_var(name).consumer == CONSUMER_NONE  # type: ignore[union-attr]
    assert config.env_var("DEFAULT_KEY").name == "AUTH_TOKEN"  # type: ignore[union-attr]


def test_readme_table_is_in_sync() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split(config.TABLE_START, 1)[1].split(config.TABLE_END, 1)[0]
    assert (
        block.strip() == render_env_table().strip()
    ), "README.md is stale: run python -m zaiproxy.config --update README.md"
    assert config.replace_env_table(readme) == readme


def test_module_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zaiproxy.config"], capture_output=True, text=True, check=True
    ).stdout
    assert out == render_env_table()
