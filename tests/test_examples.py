"""The examples, run as a user runs them: each script by this Python in a subprocess, against a real
`zaiproxy serve` in front of the mock chat.z.ai (or, for the embedding example, as its own server);
the notebook executed by a Jupyter kernel; each client configuration used with exactly the URL, key
and models it names. All on 127.0.0.1."""

from __future__ import annotations

import ast
import json
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import nbformat
import openai
import pytest
from nbclient import NotebookClient

from zaiproxy.config import THINK_MODES
from zaiproxy.testing import MockUpstream, Reply
from zaiproxy.testing.records import RecordedRequest

from conftest import EXPECTED
from server_process import (
    API_KEY,
    ServerProcess,
    bearer,
    clean_env,
    free_port,
    request,
    reset_mock,
    serving,
    start_command,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLIENTS = EXAMPLES / "clients"
RUN_TIMEOUT = 60.0
NOTEBOOK_TIMEOUT = 120
CONFIG_ADDRESS = "127.0.0.1:8080"  # where the client configurations expect the proxy
PROXY_ENV = {"GUEST_POOL_SIZE": "1", "LOG_LEVEL": "warning"}


@pytest.fixture(scope="module")
def shared_mock() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


@pytest.fixture(scope="module")
def proxy(
    shared_mock: MockUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """`zaiproxy serve` as the examples expect it: the documented default key required."""
    env = clean_env(ZAIPROXY_ORIGIN=shared_mock.url, AUTH_TOKEN=API_KEY, **PROXY_ENV)
    with serving(tmp_path_factory.mktemp("serve-examples"), env=env) as server:
        yield server


@dataclass
class MockScript:
    """The shared mock as one test sees it: the replies it queues, and its own completions only."""

    mock: MockUpstream
    seen_before: int

    def enqueue(self, *replies: Reply) -> None:
        self.mock.enqueue(*replies)

    @property
    def completions(self) -> list[RecordedRequest]:
        return self.mock.completions[self.seen_before :]


@pytest.fixture
def mock_script(shared_mock: MockUpstream) -> Iterator[MockScript]:
    reset_mock(shared_mock)
    yield MockScript(shared_mock, len(shared_mock.completions))
    reset_mock(shared_mock)


def run_example(script: str, proxy: ServerProcess, cwd: Path, *args: str) -> list[str]:
    """`python examples/<script> *args` pointed at the proxy; the lines it printed."""
    env = clean_env(ZAIPROXY_BASE_URL=f"{proxy.url}/v1", ZAIPROXY_API_KEY=API_KEY)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def last_user_text(completion: RecordedRequest) -> str:
    return str(completion.json["messages"][-1]["content"])


# ── the SDK scripts ──


def test_openai_client(proxy: ServerProcess, mock_script: MockScript, tmp_path: Path) -> None:
    mock_script.enqueue(
        Reply.thinking_answer("Proxies relay.", ["A proxy forwards ", "requests."]),
        Reply.thinking_answer(["Just ", "count."], ["one two ", "three four five"]),
    )
    lines = run_example("openai_client.py", proxy, tmp_path)
    assert lines[0] == "── models"
    assert {"GLM-4.5", "GLM-4.7", "GLM-4.5-Air"} <= set(lines[1].split())
    assert lines[2:] == [
        "── chat completion",
        "[reasoning] Proxies relay.",
        "A proxy forwards requests.",
        "[usage] 15 tokens",
        "── streamed",
        "[reasoning] Just count.",
        "one two three four five",
    ]
    sent = mock_script.completions
    assert [last_user_text(c) for c in sent] == [
        "In one sentence: what does a proxy server do?",
        "Count from one to five in words.",
    ]
    # reasoning_effort reached the upstream as GLM's thinking switch.
    assert [c.json["features"]["enable_thinking"] for c in sent] == [True, True]


def test_anthropic_client(proxy: ServerProcess, mock_script: MockScript, tmp_path: Path) -> None:
    mock_script.enqueue(
        Reply.thinking_answer("Proxies relay.", ["A proxy forwards ", "requests."]),
        Reply.thinking_answer(["Just ", "count."], ["one two ", "three four five"]),
    )
    lines = run_example("anthropic_client.py", proxy, tmp_path)
    assert lines[0] == "── message"
    assert lines[1:3] == ["[thinking] Proxies relay.", "A proxy forwards requests."]
    assert re.fullmatch(r"\[stop\] end_turn, \d+ output tokens", lines[3])
    assert lines[4:] == ["── streamed", "[thinking] Just count.", "one two three four five"]
    sent = mock_script.completions
    assert [last_user_text(c) for c in sent] == [
        "In one sentence: what does a proxy server do?",
        "Count from one to five in words.",
    ]
    assert [c.json["features"]["enable_thinking"] for c in sent] == [True, True]


def test_agent_runs_the_tools_and_sends_their_results_back(
    proxy: ServerProcess, mock_script: MockScript, tmp_path: Path
) -> None:
    mock_script.enqueue(
        Reply.tool_call("get_weather", {"city": "Paris"}),
        Reply.tool_call("add", {"a": 18, "b": 4}),
        Reply.answer(["It is sunny in Paris, ", "and 18 + 4 = 22."]),
    )
    lines = run_example("agent_with_tools.py", proxy, tmp_path, "Weather in Paris? And 18 + 4?")
    weather = '{"city": "Paris", "temperature_c": 18, "conditions": "sunny"}'
    assert lines == [
        "question: Weather in Paris? And 18 + 4?",
        f'step 1: get_weather({{"city":"Paris"}}) -> {weather}',
        'step 2: add({"a":18,"b":4}) -> 22',
        "answer: It is sunny in Paris, and 18 + 4 = 22.",
    ]
    first, second, third = mock_script.completions
    # The tools went upstream in the tool prompt of the first request.
    system = first.json["messages"][0]
    assert system["role"] == "system"
    assert "1. get_weather" in system["content"] and "2. add" in system["content"]
    # What the local tools returned is what the model read in the next turns.
    weather_result = f"<tool_result>\n{weather}\n</tool_result>"
    assert weather_result in last_user_text(second)
    history = [m["content"] for m in third.json["messages"]]
    assert sum(weather_result in text for text in history) == 1
    assert "<tool_result>\n22\n</tool_result>" in history[-1]


def test_agent_runs_offline_against_the_built_in_mock(tmp_path: Path) -> None:
    """`zaiproxy serve --mock-upstream`, as the examples' README says: its canned model calls the
    first offered tool with arguments that fit its schema, then answers."""
    env = clean_env(AUTH_TOKEN=API_KEY, **PROXY_ENV)
    with serving(tmp_path, "--mock-upstream", env=env) as server:
        lines = run_example("agent_with_tools.py", server, tmp_path, "Weather in Oslo?")
    weather = '{"city": "example", "temperature_c": 18, "conditions": "sunny"}'
    assert lines[:2] == [
        "question: Weather in Oslo?",
        f'step 1: get_weather({{"city":"example"}}) -> {weather}',
    ]
    assert lines[2].startswith("answer: Hello from zaiproxy's built-in mock")
    assert 'You said: "Weather in Oslo?"' in lines[2]
    assert len(lines) == 3


# ── the FastAPI embedding, as its own server ──


def test_embed_in_fastapi(mock_script: MockScript, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        PORT=str(port), ZAIPROXY_ORIGIN=mock_script.mock.url, AUTH_TOKEN="embedded-key", **PROXY_ENV
    )
    command = [sys.executable, str(EXAMPLES / "embed_in_fastapi.py")]
    server = start_command(command, tmp_path, port, env)
    try:
        server.wait_healthy("/hello")
        hello = request(server, "GET", "/hello")
        assert hello.status == 200
        assert hello.json() == {"message": "Hello from my own app"}

        mock_script.enqueue(Reply.answer(["Mounted ", "and answering."]))
        client = openai.OpenAI(
            base_url=f"{server.url}/llm/v1", api_key="embedded-key", max_retries=0
        )
        reply = client.chat.completions.create(
            model="GLM-4.5", messages=[{"role": "user", "content": "Are you there?"}]
        )
        assert reply.choices[0].message.content == "Mounted and answering."
        assert last_user_text(mock_script.completions[-1]) == "Are you there?"
        # The proxy under /llm took its settings from the app's environment: AUTH_TOKEN holds.
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(
                base_url=f"{server.url}/llm/v1", api_key="wrong", max_retries=0
            ).models.list()
        # SIGTERM: uvicorn runs the app's shutdown (the router's lifespan closes the proxy's
        # service), then ends by the signal it caught.
        assert server.stop() in (0, -signal.SIGTERM)
        assert "Application shutdown complete." in server.output()
    finally:
        server.kill()


# ── the notebook ──


class TableRows(HTMLParser):
    """The text of each cell of an HTML table, row by row (header rows left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def stdout_of(cell: Any) -> str:
    return "".join(o["text"] for o in cell.outputs if o.get("name") == "stdout")


def result_of(cell: Any, mime: str) -> str:
    (result,) = [o for o in cell.outputs if o["output_type"] == "execute_result"]
    return str(result["data"][mime])


def test_notebook_runs_offline_and_compares_the_think_modes(tmp_path: Path) -> None:
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit it cleared"

    # The kernel runs in tmp_path: the notebook needs nothing from the repository around it.
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(
        notebook, timeout=NOTEBOOK_TIMEOUT, kernel_name="python3", resources=resources
    )
    client.execute()
    assert [o for c in code for o in c.outputs if o["output_type"] == "error"] == []
    assert [o for c in code for o in c.outputs if o.get("name") == "stderr"] == []
    cells = {tag: cell for cell in code for tag in cell.metadata.get("tags", [])}

    # (a) the client, through the mock: reasoning apart from the answer, then a stream.
    chat = stdout_of(cells["chat"]).splitlines()
    assert chat[:2] == [
        "reasoning: A greeting: a short answer fits.",
        "answer:    Hello! How can I help?",
    ]
    assert stdout_of(cells["stream"]) == "One, two, three."

    # (b) the embedded capture is the golden one: the pipeline gives its known message and usage.
    golden = EXPECTED["b_thinking_answer"]
    message, usage = ast.literal_eval(result_of(cells["pipeline"], "text/plain"))
    assert message == {
        "role": "assistant",
        "content": golden["content"],
        "reasoning_content": golden["reasoning"],
    }
    counts = [usage[name] for name in ("prompt_tokens", "completion_tokens", "total_tokens")]
    assert counts == golden["usage"]
    kinds = [line.split()[0] for line in stdout_of(cells["stages"]).splitlines()]
    assert kinds[:-1] == ["thinking"] * 3 + ["snapshot", "answer", "usage", "answer", "end"]
    assert kinds[-1] == "document:"

    # (c) one row per think mode, each rendering the same reasoning its own way.
    table = TableRows()
    table.feed(result_of(cells["think-modes"], "text/html"))
    rows = {
        mode: (content, None if reasoning == "—" else reasoning)
        for mode, content, reasoning in (r for r in table.rows if r)
    }
    assert list(rows) == list(THINK_MODES)
    answer, reasoning = golden["content"], golden["reasoning"]
    assert rows["reasoning"] == (answer, reasoning)
    assert rows["think"] == (f"<think>\n{reasoning}\n</think>\n\n{answer}", None)
    assert rows["quote"] == rows["strip"]
    assert rows["quote"][0].startswith("> ") and rows["quote"][0].endswith(f"\n\n{answer}")
    assert rows["details"][0].startswith('<details type="reasoning" open>')
    assert rows["details"][0].endswith(f"</details>\n\n{answer}")
    assert rows["drop"] == (answer, None)
    assert rows["raw"][0].startswith(golden["raw_thinking"])
    assert all(rows[mode][1] is None for mode in THINK_MODES if mode != "reasoning")


# ── the client configurations ──


@dataclass(frozen=True)
class ClientSettings:
    """What a client configuration makes its client do: POST to `endpoint` with `api_key` as
    bearer, for each of `models`."""

    endpoint: str
    api_key: str
    models: list[str]


def claude_code_router(proxy: ServerProcess) -> ClientSettings:
    config = json.loads((CLIENTS / "claude-code-router.json").read_text("utf-8"))
    (provider,) = config["Providers"]
    # Router entries are "provider,model"; each must name this provider and one of its models.
    routes = [value.split(",", 1) for value in config["Router"].values()]
    assert {name for name, _ in routes} == {provider["name"]}
    assert {model for _, model in routes} <= set(provider["models"])
    assert config["Router"]["default"] == f"{provider['name']},{provider['models'][0]}"
    # CCR posts to api_base_url as it is: the whole chat completions URL.
    return ClientSettings(provider["api_base_url"], provider["api_key"], provider["models"])


def cline(proxy: ServerProcess) -> ClientSettings:
    text = (CLIENTS / "cline.md").read_text("utf-8")
    fields = dict(re.findall(r"^\| (Base URL|API Key|Model ID) \| `([^`]+)` \|$", text, re.M))
    (command,) = [line for line in text.splitlines() if line.startswith("cline auth ")]
    words = shlex.split(command)
    flags = dict(zip(words[2::2], words[3::2]))
    assert flags["-p"] == "openai"  # the CLI's id of the OpenAI Compatible provider
    # The extension's fields and the CLI's flags say the same thing.
    assert (fields["Base URL"], fields["API Key"], fields["Model ID"]) == (
        flags["-b"],
        flags["-k"],
        flags["-m"],
    )
    # Cline's OpenAI client appends /chat/completions to the base URL.
    return ClientSettings(f"{flags['-b']}/chat/completions", flags["-k"], [flags["-m"]])


def cherry_studio_api_base(host: str) -> str:
    """Cherry Studio's rule for its API host field: /v1 is appended unless the host already has a
    version segment or ends with '#' (use it as it is); its OpenAI client then appends
    /chat/completions or /models."""
    host = host.rstrip("/")
    if host.endswith("#"):
        return host[:-1]
    return host if re.search(r"/v\d+", urlsplit(host).path) else f"{host}/v1"


def cherry_studio(proxy: ServerProcess) -> ClientSettings:
    provider = json.loads((CLIENTS / "cherry-studio.json").read_text("utf-8"))
    assert provider["type"] == "openai"
    base = cherry_studio_api_base(provider["baseUrl"])
    # The provider carries no model list: Cherry Studio's "Manage" fetches it from <base>/models.
    listing = request(
        proxy, "GET", f"{path_at_proxy(base)}/models", headers=bearer(provider["apiKey"])
    )
    assert listing.status == 200, listing.body
    models = [model["id"] for model in listing.json()["data"]]
    return ClientSettings(f"{base}/chat/completions", provider["apiKey"], models[:1])


def path_at_proxy(url: str) -> str:
    """The path of a URL the configurations address to the proxy at 127.0.0.1:8080."""
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("http", CONFIG_ADDRESS), url
    return parts.path


@pytest.mark.parametrize("read", [claude_code_router, cline, cherry_studio])
def test_client_configuration_reaches_the_proxy(
    read: Callable[[ServerProcess], ClientSettings], proxy: ServerProcess, mock_script: MockScript
) -> None:
    """The test's proxy listens on another port than 8080; the request goes to it with exactly
    the configuration's path, key and models, so a wrong path, key or model fails."""
    settings = read(proxy)
    listed = {m["id"] for m in request(proxy, "GET", "/v1/models", headers=bearer()).json()["data"]}
    assert settings.models and set(settings.models) <= listed
    for model in settings.models:
        mock_script.enqueue(Reply.answer(f"{model} at your service"))
        body = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
        response = request(
            proxy, "POST", path_at_proxy(settings.endpoint), body, bearer(settings.api_key)
        )
        assert response.status == 200, response.body
        assert response.json()["model"] == model
        assert response.json()["choices"][0]["message"]["content"] == f"{model} at your service"
