"""`zaiproxy serve` and `zaiproxy check`, run as a user runs them: real processes, real sockets.

Every server runs in its own temporary working directory (its pid file and any .env stay there)
and is stopped, killed if need be, when the test ends.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from zaiproxy.serve import demo_arguments
from zaiproxy.testing import MockUpstream

from server_process import (
    ServerProcess,
    clean_env,
    free_port,
    serving,
    zaiproxy_command,
)

MOCK_GREETING = "Hello from zaiproxy's built-in mock of chat.z.ai!"


def openai_client(server: ServerProcess, api_key: str = "sk-anything") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=api_key, max_retries=0, timeout=30)


def ask(client: openai.OpenAI, prompt: str) -> str:
    completion = client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": prompt}]
    )
    return completion.choices[0].message.content or ""


def ask_streaming(client: openai.OpenAI, prompt: str) -> str:
    chunks = client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": prompt}], stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the server's workers)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces, so split after its closing paren.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def run_zaiproxy(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        zaiproxy_command(*args),
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ── serve ──


@pytest.mark.parametrize("server_kind", ["granian", "uvicorn"])
def test_mock_upstream_answers_the_sdks_and_sigterm_stops_cleanly(
    tmp_path: Path, server_kind: str
) -> None:
    with serving(tmp_path, "--mock-upstream", "--server", server_kind) as server:
        assert server.pid_file.read_text().strip() == str(server.process.pid)
        client = openai_client(server)

        answer = ask(client, "What is zaiproxy?")
        assert answer.startswith(MOCK_GREETING)
        assert 'You said: "What is zaiproxy?"' in answer

        streamed = ask_streaming(client, "Stream this, please")
        assert streamed.startswith(MOCK_GREETING)
        assert "Stream this, please" in streamed

        message = anthropic.Anthropic(
            base_url=server.url, api_key="sk-anything", max_retries=0, timeout=30
        ).messages.create(
            model="GLM-4.5", max_tokens=64, messages=[{"role": "user", "content": "Hi Claude"}]
        )
        assert MOCK_GREETING in "".join(b.text for b in message.content if b.type == "text")

        banner = server.output()
        assert f"http://127.0.0.1:{server.port}/v1" in banner
        assert "built-in mock" in banner and "curl " in banner
        assert server_kind in banner

        assert server.stop() == 0, server.output()
        assert not server.pid_file.exists()
        assert "Traceback" not in server.output()


def test_two_granian_workers_serve(tmp_path: Path) -> None:
    with serving(tmp_path, "--mock-upstream", "--workers", "2") as server:
        assert len(child_pids(server.process.pid)) >= 2, server.output()
        client = openai_client(server)
        for number in range(6):
            assert f"question {number}" in ask(client, f"question {number}")
        assert "2 worker(s)" in server.output()
        assert server.stop() == 0, server.output()
        assert not server.pid_file.exists()


@pytest.mark.parametrize("server_kind", ["granian", "uvicorn"])
def test_root_path_serves_with_and_without_the_prefix(tmp_path: Path, server_kind: str) -> None:
    # Reverse proxies differ: some strip the prefix, some forward it; both must reach the app.
    env = clean_env(ROOT_PATH="/zai")
    with serving(tmp_path, "--mock-upstream", "--server", server_kind, env=env) as server:
        for path in ("/health", "/zai/health"):
            with urllib.request.urlopen(f"{server.url}{path}", timeout=10) as response:
                assert response.status == 200, path
        prefixed = openai.OpenAI(
            base_url=f"{server.url}/zai/v1", api_key="sk-anything", max_retries=0, timeout=30
        )
        assert ask(prefixed, "through the prefix").startswith(MOCK_GREETING)
        assert f"http://127.0.0.1:{server.port}/zai/v1" in server.output()


def test_a_second_instance_with_the_same_pid_file_exits_1(tmp_path: Path) -> None:
    with serving(tmp_path, "--mock-upstream") as first:
        # Another port: the pid file, not the port, must be what stops it.
        second = run_zaiproxy(
            "serve", "--host", "127.0.0.1", "--port", str(free_port()), cwd=tmp_path, timeout=30
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert f"pid {first.process.pid}" in second.stderr
        assert str(first.pid_file) in second.stderr
        assert "Traceback" not in second.stderr
        # The first one is untouched: still serving, still owning its pid file.
        assert first.pid_file.read_text().strip() == str(first.process.pid)
        assert MOCK_GREETING in ask(openai_client(first), "still there?")


def test_an_explicit_pid_file_separates_instances(tmp_path: Path) -> None:
    with serving(tmp_path, "--mock-upstream"):
        with serving(tmp_path, "--mock-upstream", "--pid-file", "other.pid") as second:
            assert (tmp_path / "other.pid").read_text().strip() == str(second.process.pid)
            assert second.stop() == 0
        assert not (tmp_path / "other.pid").exists()
        assert (tmp_path / "zaiproxy.pid").exists()


def test_a_stale_pid_file_is_taken_over(tmp_path: Path) -> None:
    # What a killed process leaves behind: a pid, but nobody holding the lock.
    (tmp_path / "zaiproxy.pid").write_text("999999\n")
    with serving(tmp_path, "--mock-upstream") as server:
        assert server.pid_file.read_text().strip() == str(server.process.pid)
        assert server.stop() == 0
    assert not (tmp_path / "zaiproxy.pid").exists()


def test_a_port_in_use_fails_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_zaiproxy("serve", "--host", "127.0.0.1", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "already in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "zaiproxy.pid").exists()


def test_env_file_settings_reach_the_workers(tmp_path: Path) -> None:
    # Not ./.env: only --env-file can bring this key to the worker processes.
    config = tmp_path / "config"
    config.mkdir()
    (config / "proxy.env").write_text("AUTH_TOKEN=sk-from-the-env-file-1234\n")
    with serving(
        tmp_path, "--mock-upstream", "--workers", "2", "--env-file", "config/proxy.env"
    ) as server:
        assert "auth       on" in server.output()
        with pytest.raises(openai.AuthenticationError):
            ask(openai_client(server, api_key="sk-wrong"), "let me in")
        answer = ask(openai_client(server, api_key="sk-from-the-env-file-1234"), "let me in")
        assert answer.startswith(MOCK_GREETING)


def test_a_missing_env_file_is_an_error(tmp_path: Path) -> None:
    done = run_zaiproxy("serve", "--env-file", "nope.env", "--port", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert "nope.env" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


# ── check ──


def test_check_passes_against_a_working_upstream_and_masks_secrets(tmp_path: Path) -> None:
    with MockUpstream() as mock:
        user = mock.add_user("Checked User")
        env = clean_env(
            ZAIPROXY_ORIGIN=mock.url, ZAI_TOKEN=user.token, AUTH_TOKEN="sk-client-key-abcdef123456"
        )
        done = run_zaiproxy("check", cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for probe in ("front-end version", "guest session", "user token", "models"):
        assert any(line.strip().startswith("OK") and probe in line for line in output.splitlines())
    assert "role user" in output
    assert "FAIL" not in output
    assert user.token not in output
    assert "sk-client-key-abcdef123456" not in output
    assert mock.url in output


def test_check_fails_against_an_unreachable_upstream(tmp_path: Path) -> None:
    origin = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = run_zaiproxy("check", cwd=tmp_path, env=clean_env(ZAIPROXY_ORIGIN=origin))
    assert done.returncode == 1
    fails = [line for line in done.stdout.splitlines() if line.strip().startswith("FAIL")]
    assert any("front-end version" in line for line in fails), done.stdout
    assert any("guest session" in line for line in fails), done.stdout
    assert "Traceback" not in done.stderr


def test_check_without_probes_only_prints_the_configuration(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AUTH_TOKEN=sk-dotenv-key-0123456789\nLISTEN_PORT=9191\n")
    origin = f"http://127.0.0.1:{free_port()}"
    done = run_zaiproxy("check", "--no-probe", cwd=tmp_path, env=clean_env(ZAIPROXY_ORIGIN=origin))
    assert done.returncode == 0, done.stderr
    assert ":9191" in done.stdout
    assert "sk-dotenv-key-0123456789" not in done.stdout + done.stderr
    assert "Upstream probes" not in done.stdout


@pytest.mark.parametrize(
    ("schema", "arguments"),
    [
        (
            {
                "type": "object",
                "properties": {
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                    "city": {"type": "string"},
                },
                "required": ["unit", "days"],
            },
            {"unit": "celsius", "days": 1},
        ),
        # Nothing required: every property, and a value even for an untyped one.
        (
            {"properties": {"flag": {"type": "boolean"}, "tags": {"type": "array"}, "x": {}}},
            {"flag": True, "tags": [], "x": "example"},
        ),
        ({}, {}),
    ],
)
def test_the_built_in_mock_makes_up_arguments_that_fit_the_schema(
    schema: dict[str, Any], arguments: dict[str, Any]
) -> None:
    assert demo_arguments(schema) == arguments
