"""``GET /``: what is running, for a person (HTML) or a script (JSON)."""

from __future__ import annotations

import html
from typing import Any

from zaiproxy import core
from zaiproxy.server.service import ProxyService


def summary(service: ProxyService) -> dict[str, Any]:
    settings = service.settings
    return {
        "message": "OpenAI Compatible API Server",
        "name": "zaiproxy",
        "version": core.__version__,
        "description": "Unofficial OpenAI- and Anthropic-compatible API for the Z.ai GLM models",
        "upstream": service.profile.origin,
        "anonymous_mode": settings.anonymous_mode,
        "auth_required": service.auth.enabled,
        "user_tokens": len(settings.user_tokens),
        "default_model": service.models.default_model,
        "think_mode": settings.think_mode,
        "endpoints": [
            "/v1/chat/completions",
            "/v1/models",
            "/v1/messages",
            "/anthropic/v1/messages",
            "/v1/messages/count_tokens",
            "/health",
            "/docs",
        ],
    }


def render(info: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(key.replace('_', ' '))}</th><td>{html.escape(str(value))}</td></tr>"
        for key, value in info.items()
        if key not in ("message", "endpoints", "description")
    )
    links = "".join(
        f'<li><a href="{html.escape(path)}">{html.escape(path)}</a></li>'
        for path in info["endpoints"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zaiproxy</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}}
th{{text-align:left;padding:.2rem 1rem .2rem 0;font-weight:600}}
.ok{{color:#11772e}} .note{{color:#666;font-size:.9rem}}
</style></head><body>
<h1>zaiproxy <span class="ok">running</span></h1>
<p>{html.escape(info["description"])}.</p>
<table>{rows}</table>
<h2>Endpoints</h2><ul>{links}</ul>
<p class="note">Unofficial: not affiliated with Z.ai. Follow Z.ai's terms of service; for production
workloads use Z.ai's official API.</p>
</body></html>"""
