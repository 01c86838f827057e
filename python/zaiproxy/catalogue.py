"""The model list as OpenAI's ``GET /v1/models`` gives it, from the profile's catalogue: the one
listing the server and the notebook client share."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from zaiproxy import core

OWNED_BY = "z.ai"


def model_listing(
    profile: core.Profile, upstream_ids: Sequence[str] = (), *, created: int | None = None
) -> list[dict[str, Any]]:
    """The catalogue's aliases and variants, then any upstream model id the catalogue does not
    know (when the caller fetched the upstream's list)."""
    created = int(time.time()) if created is None else created
    names: list[str] = []
    seen: set[str] = set()
    for model in profile.models():
        names.append(model["alias"])
        seen.update((model["alias"].lower(), model["upstream_id"].lower()))
    for upstream_id in upstream_ids:
        if upstream_id.lower() not in seen:
            seen.add(upstream_id.lower())
            names.append(upstream_id)
    return [
        {"id": name, "object": "model", "created": created, "owned_by": OWNED_BY} for name in names
    ]


def upstream_model_ids(body: bytes) -> list[str] | None:
    """The model ids in the upstream's ``{"data": [...]}`` models answer (an entry without an id
    by its name), or None when the answer is not one."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    entries = document.get("data") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None
    return [
        str(entry.get("id") or entry.get("name"))
        for entry in entries
        if isinstance(entry, dict) and (entry.get("id") or entry.get("name"))
    ]
