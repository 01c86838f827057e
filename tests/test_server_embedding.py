"""The server as a library: ``create_app(settings)`` served in-process, and ``router`` mounted into
someone else's FastAPI app (configured from the environment), each over a real socket with the
real openai SDK against the mock upstream."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest
import uvicorn
from fastapi import FastAPI

from zaiproxy.config import Settings
from zaiproxy.server import create_app, router
from zaiproxy.server import service as service_module
from zaiproxy.testing import DEFAULT_MODELS, MockUpstream, Model, Reply


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Runs ``app`` under uvicorn in a thread (lifespan included); yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def ask(base_url: str, api_key: str = "unused") -> str:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0)
    reply = client.chat.completions.create(
        model="GLM-4.5", messages=[{"role": "user", "content": "hi"}]
    )
    return reply.choices[0].message.content or ""


def test_create_app_with_explicit_settings(mock_upstream: MockUpstream, tmp_path: Path) -> None:
    settings = Settings(
        environment={"ZAIPROXY_ORIGIN": mock_upstream.url},
        api_keys=("k-1",),
        db_path=str(tmp_path / "store.db"),
    )
    mock_upstream.enqueue(Reply.answer(["Hello", " from", " the mock"]))
    with serving(create_app(settings)) as url:
        assert ask(url, api_key="k-1") == "Hello from the mock"
        with pytest.raises(openai.AuthenticationError):
            ask(url, api_key="k-2")


def test_router_mounted_into_an_existing_app(
    mock_upstream: MockUpstream, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ZAIPROXY_ORIGIN", mock_upstream.url)
    monkeypatch.setenv("AUTH_TOKEN", "embedded-key")
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    host = FastAPI()

    @host.get("/mine")
    async def mine() -> dict[str, str]:
        return {"owner": "host app"}

    host.include_router(router, prefix="/llm")
    mock_upstream.enqueue(Reply.answer(["mounted"]))
    with serving(host) as url:
        with urllib.request.urlopen(f"{url}/mine") as response:
            assert json.load(response) == {"owner": "host app"}
        assert ask(f"{url}/llm", api_key="embedded-key") == "mounted"
        assert service_module._default is not None
    # The router's lifespan closed the process-default service with the host app.
    assert service_module._default is None


def test_upstream_models_merged_into_the_listing_on_request(tmp_path: Path) -> None:
    """ZAIPROXY_UPSTREAM_MODELS: a model only the upstream lists shows up by its upstream id;
    without the setting, the listing is the catalogue's alone and the upstream is not asked."""
    upstream_only = Model("glm-6-preview", "GLM-6 Preview", think=True)
    with MockUpstream(models=(*DEFAULT_MODELS, upstream_only)) as mock:
        environment = {"ZAIPROXY_ORIGIN": mock.url}
        for merged in (False, True):
            settings = Settings(
                environment=environment,
                upstream_models=merged,
                db_path=str(tmp_path / f"store-{merged}.db"),
            )
            with serving(create_app(settings)) as url:
                client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
                ids = [model.id for model in client.models.list().data]
            assert "GLM-4.5" in ids and "GLM-4.6-Thinking" in ids
            assert ("glm-6-preview" in ids) is merged
            # The catalogue's own models are not listed twice under their upstream ids.
            assert "glm-4.7" not in ids
            asked = [r for r in mock.requests if r.path.startswith("/api/models")]
            assert bool(asked) is merged
