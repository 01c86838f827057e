"""Model names as clients send them: the profile's catalogue, Claude names for Anthropic clients,
and the ``GET /v1/models`` listing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from zaiproxy import core
from zaiproxy.catalogue import model_listing
from zaiproxy.server.errors import ApiError

# Claude Code and other Anthropic clients send Claude names (and aliases like "sonnet"). They map to
# models a guest may use, so anonymous mode works out of the box; ZAIPROXY_CLAUDE_MODELS adds or
# overrides entries ("name=model", a trailing * matches a prefix).
DEFAULT_CLAUDE_MODELS: tuple[tuple[str, str], ...] = (
    ("default", "GLM-4.7"),
    ("sonnet", "GLM-4.7"),
    ("opus", "GLM-4.7"),
    ("opusplan", "GLM-4.7-Thinking"),
    ("haiku", "GLM-4.5-Air"),
    ("claude-*opus*", "GLM-4.7"),
    ("claude-*sonnet*", "GLM-4.7"),
    ("claude-*haiku*", "GLM-4.5-Air"),
    ("claude-*", "GLM-4.7"),
)


# Bounds what unknown names sent by clients can make the cache hold.
_KNOWN_NAMES_KEPT = 1024


def _matches(pattern: str, name: str) -> bool:
    """``*`` matches any run of characters; everything else literally (case-insensitive)."""
    pieces = pattern.lower().split("*")
    if len(pieces) == 1:
        return name == pieces[0]
    if not (name.startswith(pieces[0]) and name.endswith(pieces[-1])):
        return False
    position = len(pieces[0])
    for piece in pieces[1:-1]:
        found = name.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return position <= len(name) - len(pieces[-1])


class ModelDirectory:
    """Resolves and lists model names against the profile's catalogue."""

    def __init__(
        self,
        profile: core.Profile,
        *,
        default_model: str | None = None,
        reject_unknown: bool = True,
        claude_models: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.profile = profile
        self.default_model = default_model or profile.default_model
        self.reject_unknown = reject_unknown
        # The operator's entries first, so they override the defaults.
        self._claude = tuple(claude_models) + DEFAULT_CLAUDE_MODELS
        self._created = int(time.time())
        self._known: dict[str, bool] = {}

    def known(self, name: str) -> bool:
        """Whether the catalogue knows ``name`` (remembered: clients repeat a few names)."""
        known = self._known.get(name)
        if known is None:
            known = bool(self.profile.resolve_model(name)["known"])
            if len(self._known) < _KNOWN_NAMES_KEPT:
                self._known[name] = known
        return known

    def choose(self, requested: Any, *, anthropic: bool = False) -> str:
        """The catalogue name to plan with; 400 for a non-string, 404 for an unknown name."""
        if requested is None or requested == "":
            return self.default_model
        if not isinstance(requested, str):
            raise ApiError(400, "model must be a string", param="model", code="invalid_model")
        name = requested.strip()
        if anthropic:
            name = self._from_claude(name)
        if self.known(name) or not self.reject_unknown:
            return name
        raise ApiError(
            404,
            f"The model '{requested}' does not exist; GET /v1/models lists the models "
            "(or set ZAIPROXY_UNKNOWN_MODEL=default to send unknown names to the default model)",
            param="model",
            code="model_not_found",
        )

    def _from_claude(self, name: str) -> str:
        # Claude Code marks its 1M-context variants with a "[1m]" suffix.
        if name.lower().endswith("[1m]"):
            name = name[: -len("[1m]")]
        # A catalogue name keeps the client's spelling (the reply's `model` echoes it).
        if self.known(name):
            return name
        lowered = name.lower()
        for pattern, target in self._claude:
            if _matches(pattern, lowered):
                return target
        return lowered

    def listing(self, upstream_ids: Sequence[str] = ()) -> dict[str, Any]:
        """The OpenAI ``/v1/models`` body."""
        return {
            "object": "list",
            "data": model_listing(self.profile, upstream_ids, created=self._created),
        }
