"""zaiproxy inside an existing FastAPI app: the app keeps its own routes and mounts the proxy's
OpenAI and Anthropic routes under /llm.

    python examples/embed_in_fastapi.py        # serves on 127.0.0.1:$PORT (default 8000)

Then http://127.0.0.1:8000/hello is the app's own route, http://127.0.0.1:8000/llm/v1 the OpenAI
base URL and http://127.0.0.1:8000/llm the Anthropic one. The proxy reads its settings from the
environment (and ./.env) as ``zaiproxy serve`` does: ``AUTH_TOKEN`` for a client key,
``ZAI_TOKEN`` for chat.z.ai accounts, ``ZAIPROXY_ORIGIN`` for another upstream (a mock, say).
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from zaiproxy.server import router

app = FastAPI(title="My app")


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello from my own app"}


# The router brings its lifespan along: the proxy's service starts with the first request and is
# closed (engine stopped, guest sessions retired) when the app shuts down.
app.include_router(router, prefix="/llm")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
