"""zaiproxy: an unofficial OpenAI- and Anthropic-compatible proxy for the Z.ai GLM chat service.

The hot path is a C++ core (``zaiproxy.core``); this package is the thin Python layer around it.
``zaiproxy.Client`` / ``zaiproxy.AsyncClient`` talk to chat.z.ai from notebooks and scripts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zaiproxy._core import __version__

if TYPE_CHECKING:
    from zaiproxy.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client", "__version__"]

# Loaded on first access, so that `import zaiproxy` (the CLI, the server's workers) stays light.
_LAZY = {"AsyncClient": "zaiproxy.client", "Client": "zaiproxy.client"}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'zaiproxy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
