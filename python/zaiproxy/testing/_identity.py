"""Guest and user identities: JWTs shaped like chat.z.ai's (§6) and the §1.2 profiles."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

_JWT_HEADER = {"alg": "ES256", "typ": "JWT"}
# Clients decode the payload without verifying, so any third part will do; it only has to look
# like a base64url ES256 signature.
_FAKE_SIGNATURE = b"zaiproxy-mock-upstream-signature-not-verifiable"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(user_id: str, email: str) -> str:
    parts = [_JWT_HEADER, {"id": user_id, "email": email}]
    encoded = [_b64url(json.dumps(p, separators=(",", ":")).encode()) for p in parts]
    return ".".join([*encoded, _b64url(_FAKE_SIGNATURE)])


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The unverified payload of a JWT, or None when it is not one."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


@dataclass
class Identity:
    """One account the mock knows: a minted guest or a registered user."""

    id: str
    email: str
    name: str
    role: str  # "guest" | "user"
    token: str
    revoked: bool = False
    chats: set[str] = field(default_factory=set)
    deleted_chats: int = 0  # chats removed by DELETE /api/v1/chats/
    delete_all_calls: int = 0

    def profile(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "token": self.token,
            "token_type": "Bearer",
            "profile_image_url": "/user.png",
        }


class IdentityRegistry:
    """Every guest and user by token; thread-safe because tests register users from outside."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, Identity] = {}

    def _add(self, identity: Identity) -> Identity:
        with self._lock:
            self._by_token[identity.token] = identity
        return identity

    def mint_guest(self) -> Identity:
        name = f"Guest-{int(self._clock() * 1000)}"
        user_id = str(uuid.uuid4())
        email = f"{name}@guest.com"
        return self._add(Identity(user_id, email, name, "guest", make_jwt(user_id, email)))

    def add(self, name: str, role: str, email: str | None = None) -> Identity:
        user_id = str(uuid.uuid4())
        email = email or f"{name.lower().replace(' ', '.')}@example.com"
        return self._add(Identity(user_id, email, name, role, make_jwt(user_id, email)))

    def add_token(self, token: str, name: str, role: str) -> Identity:
        """Registers a token minted elsewhere (e.g. the spec's §2.3.1 guest JWT)."""
        claims = jwt_claims(token) or {}
        user_id = str(claims.get("id") or uuid.uuid4())
        email = str(claims.get("email") or f"{user_id}@example.com")
        return self._add(Identity(user_id, email, name, role, token))

    def revoke(self, token: str) -> None:
        with self._lock:
            self._by_token[token].revoked = True

    def find(self, token: str | None) -> Identity | None:
        """The live identity a token belongs to; None for unknown or revoked tokens."""
        if not token:
            return None
        with self._lock:
            identity = self._by_token.get(token)
        return identity if identity is not None and not identity.revoked else None

    def all(self) -> list[Identity]:
        with self._lock:
            return list(self._by_token.values())
