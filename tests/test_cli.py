"""The zaiproxy command, run as a user would run it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import zaiproxy as zaiproxy_package
from zaiproxy.testing import MockUpstream, Reply

from conftest import GOLDEN, project_version
from oracle import parse


def zaiproxy(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "zaiproxy.cli", *args], input=stdin, capture_output=True, timeout=60
    )


def test_version_comes_from_pyproject_everywhere() -> None:
    version = project_version()
    assert zaiproxy_package.__version__ == version
    assert importlib.metadata.version("zaiproxy") == version
    for args in (["--version"], ["version"]):
        done = zaiproxy(*args)
        assert done.returncode == 0
        assert done.stdout.decode() == f"zaiproxy {version}\n"


def test_sign_prints_the_signature_of_the_given_inputs() -> None:
    done = zaiproxy(
        "sign",
        "--user-id", "316bcb48-ff2f-4a15-853d-f2a29b67ff0f",
        "--prompt", "你好",
        "--request-id", "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e",
        "--timestamp", "1773300000000",
    )  # fmt: skip
    assert done.returncode == 0
    assert (
        "X-Signature=4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694"
        in done.stdout.decode()
    )


def test_replay_a_capture_file_in_small_reads() -> None:
    path = GOLDEN / "b_thinking_answer.sse"
    done = zaiproxy("replay", str(path), "--output", "anthropic-sse", "--chunk-size", "7")
    assert done.returncode == 0, done.stderr
    result = parse("anthropic-sse", done.stdout)
    assert result.content == "你好！很高兴见到你。"
    assert result.reasoning == "用户在打招呼，我应该礼貌地回应。\n\n简短即可。"


def test_replay_from_stdin_reports_an_upstream_error() -> None:
    stream = (GOLDEN / "e1_error_426.sse").read_bytes()
    done = zaiproxy("replay", "-", "--output", "openai-json", stdin=stream)
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == 426
    assert "您的客户端校验失败" in done.stderr.decode()


def chat(mock: MockUpstream, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ZAIPROXY_ORIGIN": mock.url}
    command = [sys.executable, "-m", "zaiproxy.cli", "chat", *args]
    return subprocess.run(command, capture_output=True, timeout=60, env=env, check=False)


def test_chat_streams_the_api_output_from_the_upstream(mock_upstream: MockUpstream) -> None:
    mock_upstream.enqueue(Reply.thinking_answer("Hmm.", ["Bonjour", " !"]))
    done = chat(mock_upstream, "Say hello in French", "--output", "anthropic-sse")
    assert done.returncode == 0, done.stderr
    result = parse("anthropic-sse", done.stdout)
    assert (result.content, result.reasoning) == ("Bonjour !", "Hmm.")
    assert mock_upstream.completions[0].json["signature_prompt"] == "Say hello in French"


def test_chat_reports_upstream_errors(mock_upstream: MockUpstream) -> None:
    mock_upstream.fail_request(1, reply=Reply.signature_failed())
    done = chat(mock_upstream, "Hi")
    assert done.returncode == 1
    assert b"upstream error (400)" in done.stderr
    assert b"ZAIPROXY_SIGNING_KEY" in done.stderr
