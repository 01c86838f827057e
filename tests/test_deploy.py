"""The files under deploy/, put to work wherever this machine can run them: nginx with
deploy/nginx.conf in front of `zaiproxy serve`, the Dockerfile's command and health check, the
systemd unit's command with deploy/zaiproxy.env, and the Granian command of deploy/README.md, each
in front of a MockUpstream on loopback. Docker does not run here: the Dockerfile, .dockerignore and
docker-compose.yml are checked as text, against the repository and the settings they rely on.
"""

from __future__ import annotations

import configparser
import glob
import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import dotenv
import openai
import pytest
import yaml

from zaiproxy.config import Settings, parse_size
from zaiproxy.serve import WORKER_STOP_TIMEOUT
from zaiproxy.testing import MockUpstream, Reply

from conftest import ROOT, require_host
from server_process import (
    SERVER_KINDS,
    ServerProcess,
    Upstream,
    base_env,
    bearer,
    chat_body,
    clean_env,
    free_port,
    healthy,
    serving,
    start_command,
)
from server_process import request as raw_request

pytest_plugins = ["server_fixtures"]  # the shared MockUpstream: `upstream` and `mock`

DEPLOY = ROOT / "deploy"
ENV_FILE = DEPLOY / "zaiproxy.env"
VENV_BIN = Path(sys.executable).parent  # where the image's PATH and the unit find zaiproxy
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
ADMIN_PASSWORD = "deploy-test-admin"
DRIP = 0.3  # seconds the slow reply waits before each upstream event
STATE_DIRECTORY = "/var/lib/zaiproxy"  # the unit's, where deploy/zaiproxy.env puts the state
COMMAND_TIMEOUT = 30


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-anything", max_retries=0, timeout=30)


def ask(url: str, prompt: str) -> str:
    completion = openai_client(url).chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": prompt}]
    )
    return completion.choices[0].message.content or ""


def run(command: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )


def relocated(env: Mapping[str, str], moves: Mapping[str, Path]) -> dict[str, str]:
    """The variables of `env` whose value lies under one of the directories of `moves` (the
    image's /data, the unit's /var/lib/zaiproxy), moved to the test's directory for it."""
    moved = {}
    for name, value in env.items():
        path = PurePosixPath(value)
        for directory, target in moves.items():
            if path.is_relative_to(directory):
                moved[name] = str(target / path.relative_to(directory))
    return moved


def loopback(port: int) -> dict[str, str]:
    """The listening address of a test server: the deploy files' HOST (0.0.0.0 in the image)
    would listen beyond this machine."""
    return {"HOST": "127.0.0.1", "PORT": str(port)}


def seconds(value: str) -> float:
    """A duration of nginx, systemd or Compose: 30, 30s, 1h."""
    found = re.fullmatch(r"(\d+)(s|m|h)?", value)
    assert found, f"not a duration: {value!r}"
    return int(found.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


# ── nginx ──


@dataclass(frozen=True)
class Fronted:
    kind: str  # the ASGI server of zaiproxy serve
    server: ServerProcess
    nginx: ServerProcess


def nginx_directive(name: str) -> str:
    """The value of a directive written once in deploy/nginx.conf."""
    (value,) = re.findall(rf"^\s*{name}\s+([^;]+);", (DEPLOY / "nginx.conf").read_text(), re.M)
    return value


def nginx_site(listen_port: int, upstream_port: int) -> str:
    """deploy/nginx.conf listening on loopback, in front of the test's zaiproxy."""
    text = (DEPLOY / "nginx.conf").read_text()
    for pattern, replacement in (
        (r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{listen_port};"),
        (r"^(\s*)server 127\.0\.0\.1:8080;", rf"\1server 127.0.0.1:{upstream_port};"),
    ):
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        assert count == 1, f"deploy/nginx.conf has no single line matching {pattern!r}"
    return text


def nginx_main(directory: Path, site: Path) -> str:
    """An nginx.conf that keeps everything in `directory` and includes `site` in its http block,
    the way a Debian server includes conf.d/*.conf."""
    # As root, nginx would switch its workers to "nobody", who cannot enter the test directory.
    user = "user root;" if os.geteuid() == 0 else ""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
pid {directory / "nginx.pid"};
events {{ worker_connections 256; }}
http {{
    access_log {directory / "access.log"};
{temp_paths}
    # What a site may switch on for everything (Debian's nginx.conf has "gzip on"); the zaiproxy
    # location must keep it off its streams.
    gzip on;
    gzip_min_length 1;
    gzip_types text/event-stream application/json;
    include {site};
}}
"""


@pytest.fixture(scope="module", params=SERVER_KINDS)
def fronted(
    request: pytest.FixtureRequest, upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fronted]:
    """`zaiproxy serve` (under each ASGI server) behind an unprivileged nginx running
    deploy/nginx.conf."""
    require_host(NGINX is not None, "nginx (Debian's nginx-light)")
    assert NGINX is not None
    directory = tmp_path_factory.mktemp(f"nginx-{request.param}")
    server_dir, nginx_dir = directory / "zaiproxy", directory / "nginx"
    server_dir.mkdir()
    nginx_dir.mkdir()
    env = clean_env(**base_env(upstream), ADMIN_PASSWORD=ADMIN_PASSWORD)
    with serving(server_dir, "--server", request.param, env=env) as server:
        port = free_port()
        site = nginx_dir / "zaiproxy.conf"
        site.write_text(nginx_site(port, server.port))
        main = nginx_dir / "nginx.conf"
        main.write_text(nginx_main(nginx_dir, site))
        command = [NGINX, "-p", f"{nginx_dir}/", "-c", str(main), "-e", "stderr"]
        with healthy(
            start_command([*command, "-g", "daemon off;"], nginx_dir, port, os.environ)
        ) as nginx:
            yield Fronted(request.param, server, nginx)


def test_nginx_streams_each_event_as_the_upstream_sends_it(
    fronted: Fronted, mock: MockUpstream
) -> None:
    pieces = ["One", " two", " three", " four", " five"]
    mock.enqueue(Reply.answer(pieces).drip(DRIP))
    arrivals: list[float] = []
    text = ""
    stream = openai_client(fronted.nginx.url).chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": "Slowly"}], stream=True
    )
    for chunk in stream:
        content = chunk.choices[0].delta.content if chunk.choices else None
        if content:
            arrivals.append(time.monotonic())
            text += content
    assert text == "".join(pieces)
    # The upstream waits DRIP seconds before each event. Held back anywhere on the way, the pieces
    # would arrive together when the upstream finished; passed on at once, they spread over time.
    assert arrivals[-1] - arrivals[0] >= DRIP * (len(pieces) - 1) / 2, arrivals


def test_nginx_passes_a_whole_completion(fronted: Fronted, mock: MockUpstream) -> None:
    assert ask(fronted.nginx.url, "Through nginx") == "echo: Through nginx"


def test_nginx_does_not_compress_streams(fronted: Fronted, mock: MockUpstream) -> None:
    response = raw_request(
        fronted.nginx,
        "POST",
        "/v1/chat/completions",
        chat_body(stream=True),
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers
    assert response.sse_data[-1] == "[DONE]"


def test_nginx_forwards_the_client_address(
    fronted: Fronted, mock: MockUpstream, request: pytest.FixtureRequest
) -> None:
    # nginx reaches zaiproxy from 127.0.0.1; this client comes from another loopback address.
    agent = f"client-address-test-{fronted.kind}"
    connection = http.client.HTTPConnection(
        "127.0.0.1", fronted.nginx.port, timeout=COMMAND_TIMEOUT, source_address=("127.0.0.2", 0)
    )
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            json.dumps(chat_body("Who am I?")),
            {"Content-Type": "application/json", "User-Agent": agent},
        )
        assert connection.getresponse().status == 200
    finally:
        connection.close()

    def logged() -> list[str]:
        state = raw_request(
            fronted.server, "GET", "/dashboard/api/state", headers=bearer(ADMIN_PASSWORD)
        ).json()
        return [r["client_ip"] for r in state["recent_requests"] if r["user_agent"] == agent]

    deadline = time.monotonic() + 10
    while not logged() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert logged() == ["127.0.0.2"]


def test_nginx_cancels_the_upstream_when_the_client_leaves(
    fronted: Fronted, mock: MockUpstream
) -> None:
    mock.enqueue(Reply.answer(["word "] * 30).drip(DRIP))  # nine seconds of reply
    left = mock.stats.streams_client_disconnected
    connection = http.client.HTTPConnection("127.0.0.1", fronted.nginx.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            json.dumps(chat_body(stream=True)),
            {"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        while not response.readline().startswith(b"data:"):
            pass
    finally:
        connection.close()
    deadline = time.monotonic() + 5
    while mock.stats.streams_client_disconnected == left and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock.stats.streams_client_disconnected == left + 1


def test_nginx_limits_leave_zaiproxys_own_to_act() -> None:
    defaults = Settings()
    # A larger body than zaiproxy takes would only reach its 413; a smaller one turns requests
    # zaiproxy accepts away.
    assert parse_size("client_max_body_size", nginx_directive("client_max_body_size")) == (
        defaults.max_body_bytes
    )
    # A silent upstream is zaiproxy's to report (a 504 or an error frame), not nginx's to cut.
    slowest = max(defaults.first_byte_timeout, defaults.idle_timeout)
    for timeout in ("proxy_read_timeout", "proxy_send_timeout"):
        assert seconds(nginx_directive(timeout)) > slowest


# ── the Dockerfile ──


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass(frozen=True)
class Dockerfile:
    args: dict[str, str]  # the ARGs before the first FROM, with their defaults
    stages: list[list[Instruction]]  # each starts with its FROM

    @classmethod
    def read(cls) -> Dockerfile:
        """deploy/Dockerfile, its continued lines joined."""
        instructions: list[Instruction] = []
        pending = ""
        for line in (DEPLOY / "Dockerfile").read_text().splitlines():
            line = line.strip()
            # Comment lines are dropped even inside a continued instruction, as Docker does.
            if not line or line.startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1]
                continue
            keyword, _, arguments = (pending + line).partition(" ")
            instructions.append(Instruction(keyword.upper(), arguments.strip()))
            pending = ""
        args: dict[str, str] = {}
        stages: list[list[Instruction]] = []
        for instruction in instructions:
            if instruction.keyword == "FROM":
                stages.append([])
            if stages:
                stages[-1].append(instruction)
            else:
                assert instruction.keyword == "ARG", instruction
                name, _, default = instruction.arguments.partition("=")
                args[name] = default
        return cls(args, stages)

    @property
    def builder(self) -> list[Instruction]:
        return self.stages[0]

    @property
    def runtime(self) -> list[Instruction]:
        return self.stages[-1]

    def image(self, stage: list[Instruction]) -> str:
        """The stage's base image, the global ARGs substituted."""
        image = stage[0].arguments.split()[0]
        return re.sub(r"\$\{(\w+)\}", lambda found: self.args[found.group(1)], image)

    @staticmethod
    def values(stage: list[Instruction], keyword: str) -> list[str]:
        return [i.arguments for i in stage if i.keyword == keyword]

    def last(self, keyword: str) -> str:
        """The runtime stage's value of a keyword, the last one winning as in Docker."""
        return self.values(self.runtime, keyword)[-1]

    def env(self) -> dict[str, str]:
        pairs = (
            item.split("=", 1)
            for arguments in self.values(self.runtime, "ENV")
            for item in shlex.split(arguments)
        )
        return dict(pairs)

    def healthcheck(self) -> list[str]:
        _, marker, command = self.last("HEALTHCHECK").partition("CMD ")
        assert marker, "HEALTHCHECK without CMD"
        return json.loads(command)


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    # dockerignored() knows no exceptions; none must creep in unnoticed.
    assert not any(p.startswith("!") for p in patterns)
    return [p.strip("/") for p in patterns]


def pattern_regex(pattern: str) -> str:
    """A .dockerignore pattern as a regular expression over context-relative paths: `*` and `?`
    stay within a path segment, `**` spans segments."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return "".join(wildcards.get(part, re.escape(part)) for part in parts)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out: a pattern matches it or a parent directory."""
    segments = path.split("/")
    prefixes = ["/".join(segments[:n]) for n in range(1, len(segments) + 1)]
    return any(re.fullmatch(pattern_regex(p), prefix) for p in patterns for prefix in prefixes)


def test_dockerfile_builds_the_wheel_with_the_ci_script_and_make_dist() -> None:
    docker = Dockerfile.read()
    runs = [shlex.split(arguments) for arguments in docker.values(docker.builder, "RUN")]
    install, build = ["scripts/install-deps.sh", "--build"], ["make", "dist"]
    assert install in runs and build in runs
    assert runs.index(install) < runs.index(build)
    # One Python in both stages: the wheel's cp3XX tag installs on no other.
    assert re.fullmatch(r"python:3\.\d+-slim-bookworm", docker.image(docker.runtime))
    assert docker.image(docker.builder) == docker.image(docker.runtime)


def test_dockerfile_runtime_is_slim_non_root_and_runs_the_manylinux_wheel() -> None:
    docker = Dockerfile.read()
    (copy,) = docker.values(docker.runtime, "COPY")
    source, destination = copy.split()[-2:]
    assert copy.startswith("--from=builder ")
    assert PurePosixPath(source).match("dist/*manylinux*.whl")
    runs = " ".join(docker.values(docker.runtime, "RUN"))
    assert "pip install --no-cache-dir" in runs
    assert destination in runs and "[server,redis]" in runs
    # Nothing of the build: no package manager run, no compiler, no curl.
    words = set(shlex.split(runs))
    assert not words & {"apt-get", "apt", "curl", "wget", "gcc", "g++", "make", "cmake"}
    assert docker.last("USER").split(":")[0] not in ("root", "0")
    assert docker.last("EXPOSE") == "8080"
    (volume,) = json.loads(docker.last("VOLUME"))
    assert docker.last("WORKDIR") == volume
    env = docker.env()
    for state in ("DB_PATH", "AUTH_TOKENS_FILE", "ZAI2API_STATE_DIR"):
        assert PurePosixPath(env[state]).is_relative_to(volume), state
    assert docker.healthcheck()[0] == "zaiproxy"


def test_dockerfile_copies_what_the_build_context_holds() -> None:
    require_host(shutil.which("git") is not None and (ROOT / ".git").exists(), "a git checkout")
    patterns = dockerignore_patterns()
    docker = Dockerfile.read()
    for stage in docker.stages:
        for copy in docker.values(stage, "COPY"):
            if copy.startswith("--from="):
                continue
            for source in copy.split()[:-1]:
                assert glob.glob(str(ROOT / source)), f"COPY {source}: not in the repository"
                assert not dockerignored(source, patterns), f"COPY {source}: in .dockerignore"
    # Every tracked file reaches the build (the sdist takes them all)…
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [path for path in tracked if dockerignored(path, patterns)] == []
    # …and none of the machine's own: build trees, virtual environment, state and secrets.
    for local in (
        ".git/HEAD",
        ".venv/bin/python",
        "build/wheel-cp311-cp311-linux_x86_64/CMakeCache.txt",
        "dist/zaiproxy-0.1.0-cp311-cp311-linux_x86_64.whl",
        "test-artifacts/dashboard.png",
        "python/zaiproxy/__pycache__/cli.cpython-311.pyc",
        "python/zaiproxy/_core.cpython-311-x86_64-linux-gnu.so",
        "tokens.txt",
        "tokens.db-wal",
        ".env",
        "deploy/.env",
    ):
        assert dockerignored(local, patterns), local


def test_dockerfile_command_serves_and_its_healthcheck_tells(
    tmp_path: Path, mock: MockUpstream
) -> None:
    docker = Dockerfile.read()
    (volume,) = json.loads(docker.last("VOLUME"))
    data, container_tmp = tmp_path / "data", tmp_path / "tmp"
    data.mkdir()
    container_tmp.mkdir()
    port = free_port()
    image_env = docker.env()
    env = clean_env(
        **(
            image_env | relocated(image_env, {volume: data, "/tmp": container_tmp}) | loopback(port)
        ),
        ZAIPROXY_ORIGIN=mock.url,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    )
    healthcheck = docker.healthcheck()
    with healthy(start_command(json.loads(docker.last("CMD")), data, port, env)) as server:
        done = run(healthcheck, env)
        assert (done.returncode, done.stdout) == (0, f"healthy: {server.url}/health\n")
        # An outbound proxy for the upstream must not carry the probe of the local server.
        proxied = run(healthcheck, env | {"HTTP_PROXY": f"http://127.0.0.1:{free_port()}"})
        assert proxied.returncode == 0, proxied.stderr
        assert ask(server.url, "In a container") == "echo: In a container"
        assert Path(env["DB_PATH"]).is_file()
        assert Path(env["PID_FILE"]).is_file()
        wrong = run([*healthcheck, "--url", f"{server.url}/nope"], env)
        assert (wrong.returncode, wrong.stderr) == (1, f"unhealthy: {server.url}/nope: HTTP 404\n")
    done = run(healthcheck, env)  # nothing listens on the port any more
    assert done.returncode == 1
    assert done.stderr == f"unhealthy: {server.url}/health: [Errno 111] Connection refused\n"


def test_health_asks_the_servers_own_address_and_root_path() -> None:
    port = free_port()
    env = clean_env(HOST="0.0.0.0", LISTEN_PORT=str(port), ROOT_PATH="zai")
    done = run([str(VENV_BIN / "zaiproxy"), "health"], env)
    assert done.returncode == 1
    assert done.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/zai/health: ")


def test_health_gives_up_after_its_timeout() -> None:
    with socket.socket() as silent:  # connections wait in its backlog, never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/health"
        started = time.monotonic()
        command = [str(VENV_BIN / "zaiproxy"), "health", "--url", url, "--timeout", "0.5"]
        done = run(command, clean_env())
        elapsed = time.monotonic() - started
    assert (done.returncode, done.stderr) == (1, f"unhealthy: {url}: timed out\n")
    assert elapsed < 5


def test_health_reports_a_server_that_is_not_http_in_one_line() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        url = f"http://127.0.0.1:{other.getsockname()[1]}/health"

        def answer() -> None:
            connection, _ = other.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

        answering = threading.Thread(target=answer)
        answering.start()
        done = run([str(VENV_BIN / "zaiproxy"), "health", "--url", url], clean_env())
        answering.join()
    assert (done.returncode, done.stderr) == (1, f"unhealthy: {url}: SSH-2.0-OpenSSH\n")


# ── docker-compose.yml ──


def test_compose_runs_the_image_with_its_state_in_a_volume_and_redis_on_request() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    service = compose["services"]["zaiproxy"]
    build = service["build"]
    dockerfile = DEPLOY / build["context"] / build["dockerfile"]
    assert dockerfile.resolve() == (DEPLOY / "Dockerfile").resolve()
    assert [port.rsplit(":", 1)[1] for port in service["ports"]] == ["8080"]
    assert service["env_file"] == [{"path": ".env", "required": False}]
    assert service["restart"] == "unless-stopped"
    assert "healthcheck" not in service  # the image's HEALTHCHECK
    # The image's state directory (that of DB_PATH) is a named volume.
    state = str(PurePosixPath(Dockerfile.read().env()["DB_PATH"]).parent)
    mounts = {target: name for name, target, *_ in (v.split(":") for v in service["volumes"])}
    assert mounts[state] in compose["volumes"]
    # Docker's SIGKILL must not come before zaiproxy has stopped its workers.
    assert seconds(service["stop_grace_period"]) > WORKER_STOP_TIMEOUT

    redis = compose["services"]["redis"]
    assert redis["profiles"] == ["redis"]
    (redis_volume,) = redis["volumes"]
    assert redis_volume.split(":")[0] in compose["volumes"]
    assert "REDIS_URL=redis://redis:6379/0" in text  # how zaiproxy is pointed at it


# ── systemd and the production settings ──


def read_unit() -> configparser.SectionProxy:
    unit = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    unit.read(DEPLOY / "zaiproxy.service")
    return unit["Service"]


def read_environment_file(path: Path) -> dict[str, str]:
    """What systemd's EnvironmentFile= makes of a file of plain NAME=value lines."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, separator, value = line.partition("=")
        # Quotes and escapes: systemd and python-dotenv each have their own rules.
        assert separator and not re.search(r"['\"\\]", value), line
        values[name.strip()] = value.strip()
    return values


def assert_serves_as_configured(server: ServerProcess, settings: Mapping[str, str]) -> None:
    """The server answers, with the production file's server, workers and log level."""
    server_line = (
        f"{settings['ZAIPROXY_SERVER']}, {settings['WORKERS']} worker(s), "
        f"log level {settings['LOG_LEVEL']}"
    )
    assert server_line in server.output()
    assert ask(server.url, "In production") == "echo: In production"


def test_env_file_reads_the_same_in_systemd_and_zaiproxy() -> None:
    assert dotenv.dotenv_values(ENV_FILE) == read_environment_file(ENV_FILE)


def test_systemd_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    require_host(SYSTEMD_ANALYZE is not None, "systemd-analyze (Debian's systemd)")
    assert SYSTEMD_ANALYZE is not None
    # verify wants ExecStart's program to exist: this virtual environment's stands in for it.
    program = shlex.split(read_unit()["ExecStart"])[0]
    unit = tmp_path / "zaiproxy.service"
    text = (DEPLOY / "zaiproxy.service").read_text()
    unit.write_text(text.replace(program, str(VENV_BIN / Path(program).name)))
    verified = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # Unknown or misspelt keys are only warnings: any output fails.
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")
    # The sandboxing: systemd-analyze rates the unit's exposure 1.5; losing a line of it shows.
    security = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert security.returncode == 0, security.stdout


def test_systemd_unit_command_serves_with_the_env_file_and_stops_cleanly(
    tmp_path: Path, mock: MockUpstream
) -> None:
    service = read_unit()
    # The directory systemd creates for the user and lets it write.
    assert service["WorkingDirectory"] == STATE_DIRECTORY
    assert f"/var/lib/{service['StateDirectory']}" == STATE_DIRECTORY
    assert PurePosixPath(service["EnvironmentFile"].lstrip("-")).name == ENV_FILE.name
    settings = read_environment_file(ENV_FILE)
    port = free_port()
    # systemd passes the file's variables as the environment.
    env = clean_env(
        **(settings | relocated(settings, {STATE_DIRECTORY: tmp_path}) | loopback(port)),
        ZAIPROXY_ORIGIN=mock.url,
    )
    program, *arguments = shlex.split(service["ExecStart"])
    with healthy(
        start_command([str(VENV_BIN / Path(program).name), *arguments], tmp_path, port, env)
    ) as server:
        assert_serves_as_configured(server, settings)
        assert Path(env["DB_PATH"]).is_file()
        # KillMode=mixed: SIGTERM to the main process alone, which must stop its workers and
        # exit 0 (no restart by Restart=on-failure) before systemd's SIGKILL.
        assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")
        assert seconds(service["TimeoutStopSec"]) > WORKER_STOP_TIMEOUT
        assert server.stop() == 0, server.output()


def test_env_file_serves_with_zaiproxy_serve(tmp_path: Path, mock: MockUpstream) -> None:
    settings = read_environment_file(ENV_FILE)
    port = free_port()
    # Real variables win over the file: the test's address, directory and upstream.
    env = clean_env(
        **(relocated(settings, {STATE_DIRECTORY: tmp_path}) | loopback(port)),
        ZAIPROXY_ORIGIN=mock.url,
    )
    command = [str(VENV_BIN / "zaiproxy"), "serve", "--env-file", str(ENV_FILE)]
    with healthy(start_command(command, tmp_path, port, env)) as server:
        assert_serves_as_configured(server, settings)
        assert Path(env["DB_PATH"]).is_file()


def readme_granian_command() -> list[str]:
    """The Granian command line of deploy/README.md, "Granian tuning"."""
    blocks = re.findall(r"```sh\n(.*?)```", (DEPLOY / "README.md").read_text(), re.S)
    (command,) = [block for block in blocks if re.match(r"\S*/granian ", block)]
    return shlex.split(command.replace("\\\n", " "))


def test_readme_granian_command_serves(tmp_path: Path, mock: MockUpstream) -> None:
    program, *arguments = readme_granian_command()
    port = free_port()
    for option, value in loopback(port).items():
        arguments[arguments.index(f"--{option.lower()}") + 1] = value
    command = [str(VENV_BIN / Path(program).name), *arguments]
    with healthy(
        start_command(command, tmp_path, port, clean_env(ZAIPROXY_ORIGIN=mock.url))
    ) as server:
        assert ask(server.url, "Straight to Granian") == "echo: Straight to Granian"
        assert server.stop() == 0, server.output()
