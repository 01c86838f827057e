"""``zaiproxy serve``: run the bundled ASGI app under Granian (default) or uvicorn.

The server processes build their own app from the environment (``create_app()``), so
everything a worker must know travels through ``os.environ``: the ``--env-file`` path as
``ZAIPROXY_ENV_FILE`` and the built-in mock's address as ``ZAIPROXY_ORIGIN``. The command itself
guards the start: one instance per pid file (an exclusive ``flock``, so a stale file left by a
killed process is simply taken over) and a free port, each failing with a clear message instead
of a traceback. SIGTERM and SIGINT stop the server gracefully with exit status 0.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from zaiproxy.config import ENV_FILE_VARIABLE, ENV_VARIABLES, Settings, mask_url_credentials

if TYPE_CHECKING:
    from zaiproxy.testing import MockUpstream, RecordedRequest, Reply

# The factory, called in each worker: it builds the app from that worker's environment (the same
# thing ``zaiproxy.server:app`` does lazily), and it cannot be shadowed by a submodule's name.
APP_TARGET = "zaiproxy.server:create_app"
GRANIAN_APP_TARGET = "zaiproxy.serve:granian_app"
ORIGIN_VARIABLE = "ZAIPROXY_ORIGIN"
WORKER_STOP_TIMEOUT = 10  # seconds a Granian worker gets to stop before it is killed


class ServeError(Exception):
    """The server cannot start for a reason the user can fix; the message says how."""


class ServeInterrupted(Exception):
    """SIGTERM or SIGINT before the server took over its signals, or re-raised after it
    stopped (uvicorn re-raises the signals it captured): a clean stop."""


@dataclass(frozen=True)
class ServeOptions:
    """The command-line options; ``None`` leaves the value of the environment / ``.env``."""

    host: str | None = None
    port: int | None = None
    workers: int | None = None
    server: str | None = None
    env_file: str | None = None
    pid_file: str | None = None
    log_level: str | None = None
    mock_upstream: bool = False


# ── settings ──


def load_settings(options: ServeOptions) -> Settings:
    """Settings from the environment and the env file, with the command-line options on top.

    The workers rebuild their settings from ``os.environ``, so the options go there first (a
    real variable wins over the env file), with the env file's absolute path: what the banner
    says is then exactly what every worker runs with."""
    check_options(options)
    env_file = options.env_file or os.environ.get(ENV_FILE_VARIABLE) or None
    if env_file is not None:
        path = Path(env_file).expanduser().resolve()
        if not path.is_file():
            raise ServeError(f"env file {path} does not exist")
        os.environ[ENV_FILE_VARIABLE] = env_file = str(path)
    export_options(options)
    try:
        return Settings.from_env(env_file=env_file)
    except ValueError as error:
        raise ServeError(f"invalid configuration: {error}") from error


def check_options(options: ServeOptions) -> None:
    """Refuses impossible option values in the options' own terms (not the variables')."""
    if options.workers is not None and options.workers < 1:
        raise ServeError(f"--workers must be at least 1 (got {options.workers})")
    if options.port is not None and not 0 < options.port < 65536:
        raise ServeError(f"--port must be between 1 and 65535 (got {options.port})")


def export_options(options: ServeOptions) -> None:
    """Sets every variable name of each given option's setting (aliases included, so no alias
    in the env file disagrees with it)."""
    values = {
        "host": options.host,
        "port": options.port,
        "workers": options.workers,
        "server": options.server,
        "pid_file": str(Path(options.pid_file).expanduser().absolute())
        if options.pid_file
        else None,
        "log_level": options.log_level,
    }
    for field_name, value in values.items():
        if value is None:
            continue
        # The first row of a setting is its main variable (LOG_LEVEL wins over DEBUG & co.).
        row = next(v for v in ENV_VARIABLES if v.consumer == field_name)
        for name in row.names:
            os.environ[name] = str(value)


# ── one instance per pid file ──


class PidFile:
    """An exclusively locked pid file: the lock, not the file's existence, says an instance
    runs, so a file left behind by a killed process never blocks a restart."""

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.path = Path(path).expanduser().absolute()
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Locks the file and writes our pid; raises ServeError when a live instance holds it."""
        try:
            # "a+": never truncate a file before we own its lock (it names the running pid).
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        except OSError as error:
            raise ServeError(f"cannot open pid file {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_pid(handle)
            handle.close()
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ServeError(f"cannot lock pid file {self.path}: {error.strerror}") from error
            raise ServeError(
                f"zaiproxy is already running (pid {holder or 'unknown'}, pid file {self.path}); "
                "stop it first or choose another --pid-file"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Removes the file (if it is still ours) and drops the lock."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino:
                self.path.unlink()
        except OSError:
            pass  # already removed: nothing to clean up
        handle.close()


def _read_pid(handle: IO[str]) -> str:
    """The pid another instance wrote (empty while it is still starting)."""
    try:
        handle.seek(0)
        return handle.read().strip()
    except OSError:
        return ""


# ── the port ──


def check_port(host: str, port: int) -> None:
    """Fails fast, naming host:port, when the address is taken or cannot be bound.

    Granian binds in its workers with SO_REUSEPORT, so a second Granian on the same port would
    otherwise share it silently; this probe (without SO_REUSEPORT) refuses that too."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"cannot listen on {host}:{port}: the port is already in use "
                    "(another zaiproxy or another program); choose another --port"
                ) from None
            raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None


# ── the built-in mock upstream ──


# Made-up argument values by JSON type, for the built-in mock's tool calls.
DEMO_VALUES: dict[str, Any] = {
    "string": "example",
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "object": {},
}


def demo_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that fit a tool's parameters: every required one (or every one, when none is
    required), an enum's first value or a made-up value of its type."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    names = required if isinstance(required, list) and required else list(properties)
    arguments = {}
    for name in names:
        spec = properties.get(name)
        spec = spec if isinstance(spec, dict) else {}
        enum = spec.get("enum")
        arguments[name] = enum[0] if enum else DEMO_VALUES.get(spec.get("type"), "example")
    return arguments


def friendly_reply(request: RecordedRequest) -> Reply:
    """What the mock answers: a real-looking reply that says where it came from. Offered tools,
    it first calls the first one (with made-up arguments) and answers once the conversation ends
    with tool results, so that a client's tool loop runs offline too."""
    from zaiproxy.testing import Reply
    from zaiproxy.testing.replies import answers_tool_results, offered_tools

    prompt = " ".join(request.signature_prompt.split())
    tools = offered_tools(request.json)
    if tools and not answers_tool_results(request.json):
        name, schema = tools[0]
        return Reply.tool_call(name, demo_arguments(schema), text_before="Let me use a tool.")
    if len(prompt) > 200:
        prompt = prompt[:200] + "…"
    text = (
        "Hello from zaiproxy's built-in mock of chat.z.ai! "
        + (f'You said: "{prompt}". ' if prompt else "")
        + "This answer is canned and nothing left your machine; run `zaiproxy serve` without "
        "--mock-upstream to talk to the real GLM models."
    )
    words = text.split(" ")
    return Reply.answer([w if i == 0 else " " + w for i, w in enumerate(words)])


def start_mock_upstream() -> MockUpstream:
    """Starts the mock in this process and points every worker at it through the environment."""
    from zaiproxy.testing import MockUpstream, Reply

    mock = MockUpstream()
    mock.default_reply = Reply(resolve=friendly_reply).drip(0.02)
    mock.start()
    os.environ[ORIGIN_VARIABLE] = mock.url
    return mock


# ── banner ──


def _url_host(host: str) -> str:
    """A host as it appears in a URL: wildcards become loopback, IPv6 gets brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def proxy_url(settings: Settings) -> str:
    """The URL a local client uses."""
    return f"http://{_url_host(settings.host)}:{settings.port}{settings.root_path.rstrip('/')}"


def banner(settings: Settings, mock: MockUpstream | None) -> str:
    """What the user sees first: where to connect, how, and against what."""
    url = proxy_url(settings)
    listen = f"http://{settings.host}:{settings.port}{settings.root_path.rstrip('/')}"
    if settings.auth_enabled:
        auth = f"on ({len(settings.api_keys)} key(s); send Authorization: Bearer <key>)"
    else:
        auth = "off (any or no API key is accepted)"
    anonymous = "on (guest sessions)" if settings.anonymous_mode else "off"
    store = (
        f"Redis ({mask_url_credentials(settings.redis_url)})"
        if settings.redis_url
        else settings.db_path
    )
    admin = (
        "closed (set ADMIN_PASSWORD or AUTH_TOKEN)"
        if not (settings.admin_password or settings.api_keys)
        else (f"{url}/dashboard" if settings.dashboard_enabled else "off") + f", {url}/metrics"
    )
    upstream = (
        f"built-in mock of chat.z.ai at {mock.url} (canned answers, offline)"
        if mock is not None
        else settings.environment.get(ORIGIN_VARIABLE) or "https://chat.z.ai"
    )
    lines = [
        f"zaiproxy serving {listen} — OpenAI base URL {url}/v1, Anthropic base URL {url}",
        f"  server     {settings.server}, {settings.workers} worker(s), log level "
        f"{settings.log_level}",
        f"  auth       {auth}",
        f"  anonymous  {anonymous}",
        f"  pool       {len(settings.user_tokens)} token(s) from the environment, tokens file "
        f"{settings.tokens_file}; state in {store}",
        f"  dashboard  {admin}",
        f"  upstream   {upstream}",
    ]
    if mock is not None:
        key = ' -H "Authorization: Bearer <key>"' if settings.auth_enabled else ""
        lines += [
            "  try it:",
            f"    curl {url}/v1/chat/completions -H 'Content-Type: application/json'{key} \\",
            '      -d \'{"model": "GLM-4.5", "messages": [{"role": "user", "content": "Hello"}]}\'',
        ]
    lines.append("  stop with Ctrl-C (or SIGTERM)")
    return "\n".join(lines)


def print_warnings(settings: Settings) -> None:
    """Configuration warnings, loud and on stderr, before the server's own logging starts."""
    for warning in settings.warnings():
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)


# ── the servers ──


def granian_app() -> Any:
    """The app as Granian's workers load it. Granian has no proxy-headers option of its own
    (uvicorn's is on by default), so the X-Forwarded-For and X-Forwarded-Proto of the trusted
    proxies (FORWARDED_ALLOW_IPS) are applied here."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    from zaiproxy.server import create_app

    settings = Settings.from_env(env_file=os.environ.get(ENV_FILE_VARIABLE) or None)
    return wrap_asgi_with_proxy_headers(create_app(settings), list(settings.forwarded_allow_ips))


def run_granian(settings: Settings) -> None:
    """Granian's multi-process server; it handles SIGTERM/SIGINT itself and returns."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    server = Granian(
        GRANIAN_APP_TARGET,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        # Granian has no "trace": its most verbose level is "debug".
        log_level=LogLevels("debug" if settings.log_level == "trace" else settings.log_level),
        url_path_prefix=settings.root_path or None,
        factory=True,
        # A worker hit by two stop signals in a row (Ctrl-C, then a SIGTERM to the group) can
        # deadlock in Granian's runtime drop (emmett-framework/granian#875): kill it instead of
        # waiting forever.
        workers_kill_timeout=WORKER_STOP_TIMEOUT,
        # A worker that dies (out of memory, a crash in a native library) is replaced, not the
        # end of the whole server.
        respawn_failed_workers=True,
    )
    try:
        server.serve()
    except SystemExit as exit:
        # A stop signal that reached the workers too (Ctrl-C, a service manager signalling the
        # whole group) makes them exit on their own, which Granian reports as a worker crash.
        if exit.code in (None, 0) or not server.interrupt_signal:
            raise


def run_uvicorn(settings: Settings) -> None:
    """uvicorn; it re-raises the captured stop signal on return (see ServeInterrupted).

    No ``root_path`` here: uvicorn would prepend it to every request path, so a reverse proxy
    that forwards ``/prefix/v1/...`` unchanged would reach ``/prefix/prefix/v1/...``. The app
    applies ROOT_PATH itself and routes both forms, as it does under Granian (whose
    ``url_path_prefix`` only sets the scope's root_path)."""
    import uvicorn

    uvicorn.run(
        APP_TARGET,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        factory=True,
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise ServeInterrupted(signum)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """A second signal during clean-up must not leave the pid file behind."""


def _set_stop_handlers(handler: signal.Handlers | object) -> None:
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, handler)  # type: ignore[arg-type]


def serve(options: ServeOptions) -> int:
    """The whole command: checks, pid file, optional mock, banner, server, clean-up."""
    _set_stop_handlers(_interrupt)
    pid_file: PidFile | None = None
    mock: MockUpstream | None = None
    try:
        settings = load_settings(options)
        pid_file = PidFile(settings.resolved_pid_file())
        pid_file.acquire()
        check_port(settings.host, settings.port)
        if options.mock_upstream:
            mock = start_mock_upstream()
        print(banner(settings, mock), flush=True)
        print_warnings(settings)
        (run_uvicorn if settings.server == "uvicorn" else run_granian)(settings)
    except ServeError as error:
        print(f"zaiproxy serve: {error}", file=sys.stderr, flush=True)
        return 1
    except ServeInterrupted:
        pass
    finally:
        _set_stop_handlers(_ignore)
        if mock is not None:
            mock.close()
        if pid_file is not None:
            pid_file.release()
    return 0
