"""The bundled server: ``create_app(settings)``, the module-level ``app`` for
``granian --interface asgi zaiproxy.server:app`` / ``uvicorn zaiproxy.server:app``, and the
``router`` to mount into an existing FastAPI app.

``app`` is built on first access, from the environment (and ``.env``), so importing this package
reads no configuration and starts no thread.
"""

from __future__ import annotations

from typing import Any

from zaiproxy.server.application import create_app
from zaiproxy.server.routes import router

__all__ = ["app", "create_app", "router"]


def __getattr__(name: str) -> Any:
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
