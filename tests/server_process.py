"""`zaiproxy serve` as a subprocess, and raw HTTP to it: what the end-to-end server tests
(tests/test_server_*.py) share besides their fixtures (tests/server_fixtures.py).

Kept apart from the fixtures because the test modules import these helpers directly, while the
fixture module is loaded by pytest as a plugin (``pytest_plugins``), which must happen before
anything imports it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zaiproxy.config import ENV_VARIABLES
from zaiproxy.testing import MockUpstream
from zaiproxy.testing.records import RecordedRequest

SERVER_KINDS = ("granian", "uvicorn")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 30.0

# The main instance's keys: the older proxies' documented default, so their README examples work
# verbatim, and two more from AUTH_TOKENS.
API_KEY = "sk-your-api-key"
MORE_KEYS = ("sk-second-key", "sk-third-key")
MAX_RETRIES = 3  # upstream attempts in all (MAX_RETRIES), set on every instance
LENIENT_MAX_BODY = 16 * 1024  # ZAIPROXY_MAX_BODY_BYTES of the lenient instance
LENIENT_TIMEOUT = 2  # ZAIPROXY_FIRST_BYTE_TIMEOUT and ZAIPROXY_IDLE_TIMEOUT of the lenient instance
LENIENT_THINK_MODE = "think"  # THINK_TAGS_MODE of the lenient instance
CUSTOM_CLAUDE_NAME = "claude-e2e-custom"  # ZAIPROXY_CLAUDE_MODELS entry of the main instance
CUSTOM_CLAUDE_TARGET = "GLM-4.5"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any zaiproxy setting or outbound proxy of the machine."""
    ours = {name for var in ENV_VARIABLES for name in var.names}
    proxies = {"http_proxy", "https_proxy", "all_proxy", "socks5_proxy", "no_proxy"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ours and not key.startswith("ZAIPROXY_") and key.lower() not in proxies
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def zaiproxy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "zaiproxy.cli", *args]


@dataclass
class ServerProcess:
    """A `zaiproxy serve` process: its own working directory (pid file, logs, any .env) and
    process group (the teardown reaches its workers)."""

    process: subprocess.Popen[bytes]
    port: int
    cwd: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.cwd / "zaiproxy.pid"

    def output(self) -> str:
        return "".join(
            (self.cwd / name).read_text(errors="replace") for name in ("stdout.log", "stderr.log")
        )

    def wait_healthy(self, path: str = "/health") -> None:
        """Until `path` answers 200 (a server of another app: a route of its own)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        pytest.fail(f"{path} did not answer 200 in {START_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """The teardown: SIGTERM to the process group, SIGKILL to whatever lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # Workers outlive a killed parent only until they notice; make sure none stays behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start_command(
    command: Sequence[str], cwd: Path, port: int, env: Mapping[str, str] | None = None
) -> ServerProcess:
    """Any server command line that will listen on `port`, started in `cwd` (its logs there) in
    a process group of its own (for the teardown), not yet waited for; `env` is its whole
    environment (default: clean_env())."""
    with open(cwd / "stdout.log", "wb") as stdout, open(cwd / "stderr.log", "wb") as stderr:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    return ServerProcess(process, port, cwd)


def start_serve(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    program: Sequence[str] = (),
) -> ServerProcess:
    """`zaiproxy serve --host 127.0.0.1 --port <free> *args` in `cwd` (see start_command);
    `program` is the command that runs `zaiproxy` (default: this test's interpreter)."""
    port = free_port()
    serve_args = ("serve", "--host", "127.0.0.1", "--port", str(port), *args)
    command = [*program, *serve_args] if program else zaiproxy_command(*serve_args)
    return start_command(command, cwd, port, env)


@contextlib.contextmanager
def healthy(server: ServerProcess) -> Iterator[ServerProcess]:
    """The started server, once healthy, for the block; killed at its end."""
    try:
        server.wait_healthy()
        yield server
    finally:
        server.kill()


def serving(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    program: Sequence[str] = (),
) -> contextlib.AbstractContextManager[ServerProcess]:
    """A healthy `zaiproxy serve` for the block, killed at its end."""
    return healthy(start_serve(cwd, *args, env=env, program=program))


@dataclass(frozen=True)
class Upstream:
    mock: MockUpstream
    user_token: str  # the ZAI_TOKEN of the main instance (a registered user: uploads work)


def reset_mock(mock: MockUpstream) -> None:
    # MockUpstream has no public reset; its app's script queue is what a test leaves behind.
    mock._app.scripted.clear()
    mock.on_completion = None


def base_env(upstream: Upstream) -> dict[str, str]:
    return {
        "ZAIPROXY_ORIGIN": upstream.mock.url,
        "MAX_RETRIES": str(MAX_RETRIES),
        "RETRY_DELAY": "0.01",
        "GUEST_POOL_SIZE": "1",
        "LOG_LEVEL": "warning",
        # The shared instances' tests inject failures on purpose: the pool must not cool their
        # one user token down (tests/test_token_pool.py tests that behaviour).
        "TOKEN_FAILURE_THRESHOLD": "1000000",
        "TOKEN_HEALTH_CHECK_INTERVAL": "0",
    }


# ── raw HTTP, for what the SDKs hide ──


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def sse_data(self) -> list[str]:
        """The `data:` payloads of an event stream, in order."""
        return [
            line[len("data:") :].strip()
            for line in self.body.decode().splitlines()
            if line.startswith("data:")
        ]

    @property
    def sse_events(self) -> list[str]:
        """The `event:` names of an event stream, in order."""
        return [
            line[len("event:") :].strip()
            for line in self.body.decode().splitlines()
            if line.startswith("event:")
        ]


def request(
    server: ServerProcess,
    method: str,
    path: str,
    body: bytes | str | dict[str, Any] | list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> RawResponse:
    """One request over a fresh connection; the whole response, whatever its status."""
    data: bytes | None
    if body is None or isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body, ensure_ascii=False).encode()
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HTTP_TIMEOUT)
    try:
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def bearer(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"model": "GLM-4.5", "messages": [{"role": "user", "content": text}], **extra}


def last_completion(mock: MockUpstream) -> RecordedRequest:
    completions = mock.completions
    if not completions:
        pytest.fail("the upstream got no completion")
    return completions[-1]
