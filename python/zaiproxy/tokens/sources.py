"""Where upstream tokens come from besides the environment: the tokens file, and the state the
older proxies left behind (a ``tokens.db`` of z.ai2api_python, a ``token_pool.json`` of
Z.ai2api), imported once.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from zaiproxy.config import split_list, unique


def parse_token_text(text: str) -> tuple[str, ...]:
    """Tokens from text: newline- and/or comma-separated, ``#`` starts a comment (a token never
    contains one), blanks ignored, duplicates dropped (first kept)."""
    without_comments = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return unique(split_list(without_comments))


class TokenFile:
    """The tokens file (``AUTH_TOKENS_FILE``), re-read when it changes on disk."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._signature: tuple[int, int, int] | None = None

    def read_if_changed(self) -> tuple[str, ...] | None:
        """The file's tokens when it changed since the last call (a missing file has none);
        None when it did not change."""
        try:
            stat = self.path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            signature = (0, 0, 0)
        if signature == self._signature:
            return None
        self._signature = signature
        if signature == (0, 0, 0):
            return ()
        try:
            return parse_token_text(self.path.read_text("utf-8", errors="replace"))
        except FileNotFoundError:  # removed between the stat and the read
            self._signature = (0, 0, 0)
            return ()


@dataclass(frozen=True)
class LegacyImport:
    """What an older proxy's state file holds: its tokens (with whether each was enabled) and,
    for Z.ai2api, the salt its hashed token ids were made with."""

    tokens: list[tuple[str, bool]]
    salt: str | None = None


def read_legacy_database(path: str | os.PathLike[str]) -> LegacyImport | None:
    """The z.ai tokens of z.ai2api_python's ``tokens.db`` (table ``tokens`` with ``provider``,
    ``token``, ``is_enabled``); None when the file or the table is not there. Opened read-only:
    the older proxy may still be using it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(tokens)")}
        if not {"token", "provider"} <= columns:
            return None
        enabled = "is_enabled" if "is_enabled" in columns else "1"
        order = " ORDER BY id" if "id" in columns else ""
        rows = connection.execute(
            f"SELECT token, {enabled} FROM tokens WHERE provider IS NULL OR provider = 'zai'{order}"
        ).fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return LegacyImport([(str(t).strip(), bool(on)) for t, on in rows if str(t or "").strip()])


def read_legacy_state(path: str | os.PathLike[str]) -> LegacyImport | None:
    """The tokens and salt of Z.ai2api's ``token_pool.json`` (``{"tokens": [...], "salt":
    "..."}``); None when the file is not there or is not such a file."""
    try:
        state = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("tokens"), list):
        return None
    tokens = []
    for entry in state["tokens"]:
        token = entry.get("token") if isinstance(entry, dict) else entry
        if isinstance(token, str) and token.strip():
            tokens.append((token.strip(), True))
    salt = state.get("salt")
    return LegacyImport(tokens, salt if isinstance(salt, str) and salt else None)
