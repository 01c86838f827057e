"""The protocol profile: the packaged ``data/profile.json`` or an operator's copy, with the
environment overrides for the values that drift most (front-end version, origin, signing key,
user agent) and the model-name variables of the older proxies (spec/compatibility.md §2).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from zaiproxy import core

logger = logging.getLogger("zaiproxy")

PROFILE_ENV = "ZAIPROXY_PROFILE"

# The root key of the E2/E3 signing scheme, still in many .env files of the older proxies. It has
# not worked since 2025-10 (upstream-protocol.md §3.2), so it must not replace the current key.
OBSOLETE_SIGNING_SECRET = "junjie"

# Profile key ← environment variables, the first one set wins (ours first, then the older names).
SETTING_ENV: dict[str, tuple[str, ...]] = {
    "fe_version_fallback": ("ZAIPROXY_FE_VERSION", "ZAI_FE_VERSION"),
    "origin": ("ZAIPROXY_ORIGIN", "BASE"),
    "signing_key": ("ZAIPROXY_SIGNING_KEY", "ZAI_SIGNING_SECRET"),
}
USER_AGENT_ENV = "ZAIPROXY_USER_AGENT"

# The older proxies' variables that rename a model for clients → the catalogue name they rename.
MODEL_NAME_ENV: dict[str, str] = {
    "PRIMARY_MODEL": "GLM-4.5",
    "THINKING_MODEL": "GLM-4.5-Thinking",
    "SEARCH_MODEL": "GLM-4.5-Search",
    "AIR_MODEL": "GLM-4.5-Air",
    "GLM45_MODEL": "GLM-4.5",
    "GLM45_THINKING_MODEL": "GLM-4.5-Thinking",
    "GLM45_SEARCH_MODEL": "GLM-4.5-Search",
    "GLM45_AIR_MODEL": "GLM-4.5-Air",
    "GLM_45V_MODEL": "GLM-4.5V",
    "GLM46_MODEL": "GLM-4.6",
    "GLM46_THINKING_MODEL": "GLM-4.6-Thinking",
    "GLM46_SEARCH_MODEL": "GLM-4.6-Search",
    "GLM_46_MODEL": "GLM-4.6",
    "GLM_46_THINKING_MODEL": "GLM-4.6-Thinking",
    "GLM_46_SEARCH_MODEL": "GLM-4.6-Search",
    "GLM46V_MODEL": "GLM-4.6V",
    "GLM_46V_MODEL": "GLM-4.6V",
    "GLM47_MODEL": "GLM-4.7",
    "GLM47_THINKING_MODEL": "GLM-4.7-Thinking",
    "GLM47_SEARCH_MODEL": "GLM-4.7-Search",
    "GLM47_ADVANCED_SEARCH_MODEL": "GLM-4.7-advanced-search",
    "GLM5_MODEL": "GLM-5",
    "GLM_5_MODEL": "GLM-5",
}


def packaged_profile_text() -> str:
    return resources.files("zaiproxy").joinpath("data/profile.json").read_text(encoding="utf-8")


def _first_set(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _apply_settings(document: dict[str, Any], env: Mapping[str, str]) -> None:
    for key, names in SETTING_ENV.items():
        found = _first_set(env, names)
        if found is None:
            continue
        name, value = found
        if key == "signing_key" and value == OBSOLETE_SIGNING_SECRET:
            logger.warning(
                "%s=%s is the obsolete signing key of 2025-10 and is ignored; the profile's "
                "current key is used (set ZAIPROXY_SIGNING_KEY only if upstream rotates it)",
                name,
                value,
            )
            continue
        document[key] = value
    user_agent = env.get(USER_AGENT_ENV, "").strip()
    if user_agent:
        document["browser"]["user_agent"] = user_agent


def _apply_model_names(document: dict[str, Any], env: Mapping[str, str]) -> None:
    renames = document.setdefault("renames", {})
    for name, target in MODEL_NAME_ENV.items():
        value = env.get(name, "").strip()
        # The default value names the model itself: nothing to rename.
        if value and value.lower() != target.lower():
            renames[value] = target


def load_profile_document(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """The profile as JSON data, overrides applied (for inspection and for ``load_profile``)."""
    source = path if path is not None else env.get(PROFILE_ENV) or None
    text = Path(source).read_text(encoding="utf-8") if source else packaged_profile_text()
    document = json.loads(text)
    _apply_settings(document, env)
    _apply_model_names(document, env)
    return document


def load_profile(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ
) -> core.Profile:
    """The packaged profile, or the file at ``path`` / ``$ZAIPROXY_PROFILE``, with environment
    overrides. Raises ValueError naming the JSON path of anything invalid."""
    return core.Profile(json.dumps(load_profile_document(path, env), ensure_ascii=False))
