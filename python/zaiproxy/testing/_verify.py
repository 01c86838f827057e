"""The checks chat.z.ai makes before it streams a completion (§2.1, §2.2, §3.4), in order.

Each check answers as the real service does when it fails; where the service's answer was never
captured, the choice is documented on the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from zaiproxy.testing._http import HttpRequest
from zaiproxy.testing._identity import Identity, IdentityRegistry
from zaiproxy.testing._signature import expected_signature, signature_matches
from zaiproxy.testing.replies import Reply

FE_VERSION = re.compile(r"prod-fe-(\d+(?:\.\d+)*)")
SIGNED_QUERY_KEYS = ("requestId", "timestamp", "user_id", "signature_timestamp")


def version_key(fe_version: str) -> tuple[int, ...] | None:
    """`prod-fe-1.0.185` → (1, 0, 185), compared numerically (1.0.185 > 1.0.99)."""
    match = FE_VERSION.fullmatch(fe_version.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


@dataclass(frozen=True)
class VerifierSettings:
    min_fe_version: str
    stale_version_reply: Reply
    signing_key: str
    signature_tolerance: float  # seconds either side of the mock's clock
    clock: Callable[[], float]


@dataclass(frozen=True)
class Verdict:
    identity: Identity | None
    failure: Reply | None


class CompletionVerifier:
    def __init__(self, settings: VerifierSettings, identities: IdentityRegistry) -> None:
        self._settings = settings
        self._identities = identities
        minimum = version_key(settings.min_fe_version)
        if minimum is None:
            raise ValueError(f"not a prod-fe-x.y.z version: {settings.min_fe_version}")
        self._min_version = minimum

    def check(self, request: HttpRequest, signature_prompt: str) -> Verdict:
        identity = self._identities.find(request.bearer())
        if identity is None:
            return Verdict(None, Reply.http_error(401))
        return Verdict(identity, self._failure(request, identity, signature_prompt))

    def _failure(
        self, request: HttpRequest, identity: Identity, signature_prompt: str
    ) -> Reply | None:
        version = version_key(request.headers.get("x-fe-version", ""))
        if version is None or version < self._min_version:
            return self._settings.stale_version_reply
        query = request.query
        if any(key not in query for key in SIGNED_QUERY_KEYS):
            return Reply.signature_failed()  # nothing to verify against
        if query["user_id"] != identity.id:
            # The 2026 runbook says the server rejects it; the answer was never captured.
            return Reply.http_error(403, '{"detail":"user_id does not match the session"}')
        signature = request.headers.get("x-signature")
        if not signature:
            return Reply.version_check_failed()  # §3.4: a missing signature gets 426
        try:
            signature_ts = int(query["signature_timestamp"])
        except ValueError:
            return Reply.signature_failed()
        expected = expected_signature(
            query["requestId"],
            query["timestamp"],
            query["user_id"],
            signature_ts,
            signature_prompt,
            self._settings.signing_key,
        )
        if not signature_matches(signature, expected):
            return Reply.signature_failed()
        skew = abs(self._settings.clock() - signature_ts / 1000)
        if skew > self._settings.signature_tolerance:
            return Reply.http_error(404)  # "large clock skew will 404" ([3p:70296371132])
        return None
