"""Who requests go out as: logged-in user tokens, and a small warm pool of guest sessions.

User tokens come from a ``UserTokens`` source: a fixed list here (``StaticUserTokens``, for the
notebook client and scripts), or the server's persistent pool (``zaiproxy.tokens.TokenPool``).

Guests are minted from the auths endpoint, each with a fresh cookie jar (every engine request is
a new transfer that sends no cookies), so parallel clients never share — and never break — one
guest session: the concurrency complaint about the older proxies. The least busy session serves
the next request; a session is retired after its lifetime or on a 401 / concurrency error, and its
chats are deleted then.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from zaiproxy import core
from zaiproxy.upstream.engine import UpstreamEngine
from zaiproxy.upstream.errors import NoIdentity, TokenRejected, UpstreamError

log = logging.getLogger("zaiproxy.upstream")


def mask(token: str) -> str:
    """A token as logs may show it: never whole."""
    return f"{token[:6]}…{token[-4:]}" if len(token) > 16 else "…"


@dataclass
class Session:
    """One identity in use: a guest session or a configured user token."""

    identity: core.Identity
    created_at: float
    expires_at: float  # inf for user tokens
    active_requests: int = 0
    valid: bool = True
    failures: int = 0
    token_id: str | None = None  # the pool's id of a pooled user token

    @property
    def guest(self) -> bool:
        return bool(self.identity.guest)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass
class GuestPoolSettings:
    size: int = 3  # sessions kept warm
    max_size: int = 32  # one session per concurrent request up to this many; then the least busy
    lifetime: float = 480.0  # seconds, ± jitter (upstream-protocol §6)
    jitter: float = 60.0
    min_lifetime: float = 180.0
    max_attempts: int = 0  # per acquire; 0: max(3·size, size + 3)


RoleCheck = Callable[[str], Awaitable[core.Identity]]


class UserTokens(Protocol):
    """Where logged-in identities come from."""

    async def acquire(self, exclude: Sequence[Session]) -> Session | None:
        """A session of a user token not in ``exclude``; None when none can serve now."""

    def release(self, session: Session, failure: UpstreamError | None) -> None:
        """The request on ``session`` is over: ``failure`` is what went wrong, if anything."""

    async def verify(self, detect_role: RoleCheck) -> None:
        """Asks the auths endpoint (through ``detect_role``) about every token."""


class StaticUserTokens:
    """A fixed list of user tokens: the least busy serves; a token refused with 401 is set
    aside for the rest of the process's life."""

    def __init__(self, tokens: Sequence[str], clock: Callable[[], float]) -> None:
        self.sessions = [
            Session(core.Identity(token=t, guest=False), clock(), float("inf"))
            for t in dict.fromkeys(tokens)
        ]

    async def acquire(self, exclude: Sequence[Session]) -> Session | None:
        usable = [s for s in self.sessions if s.valid and s not in exclude]
        if not usable:
            return None
        session = min(usable, key=lambda s: s.active_requests)
        session.active_requests += 1
        return session

    def release(self, session: Session, failure: UpstreamError | None) -> None:
        session.active_requests = max(0, session.active_requests - 1)
        if failure is not None and failure.retryable and failure.kind in ("http", "in_stream"):
            session.failures += 1
            if failure.status == 401:
                session.valid = False
                log.warning("user token %s was refused: %s", mask(session.identity.token), failure)

    async def verify(self, detect_role: RoleCheck) -> None:
        """A refused token is set aside, a guest token is treated as one (no uploads, no
        user-only models)."""
        for session in self.sessions:
            try:
                session.identity = await detect_role(session.identity.token)
            except UpstreamError as error:
                session.valid = False
                log.warning("user token %s set aside: %s", mask(session.identity.token), error)


class IdentityProvider:
    """Hands out identities: user tokens first, then guests if allowed."""

    def __init__(
        self,
        engine: UpstreamEngine,
        profile: core.Profile,
        *,
        user_tokens: Sequence[str] | UserTokens = (),
        guests: bool = True,
        guest_settings: GuestPoolSettings | None = None,
        fe_version: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._fe_version = fe_version or (lambda: "")
        self.users: UserTokens = (
            StaticUserTokens(user_tokens, clock)
            if isinstance(user_tokens, Sequence)
            else user_tokens
        )
        self._guests_enabled = guests
        self._settings = guest_settings or GuestPoolSettings()
        self._guests: list[Session] = []
        self._lock = asyncio.Lock()
        self._housekeeping: set[asyncio.Task[None]] = set()

    @property
    def guest_sessions(self) -> list[Session]:
        return list(self._guests)

    async def acquire(
        self, *, allow_guest: bool = True, exclude: Sequence[Session] = ()
    ) -> Session:
        """A user token, else a guest session of its own (an idle one, or a new one up to the
        pool's maximum, else the least busy); raises UpstreamError when there is none."""
        passed_over = list(exclude)
        while True:
            user = await self.users.acquire(passed_over)
            if user is None:
                break
            if allow_guest or not user.guest:
                return user
            # A token found to belong to a guest cannot serve this request: try the others.
            self.users.release(user, None)
            passed_over.append(user)
        if not (self._guests_enabled and allow_guest):
            raise NoIdentity(
                "no upstream identity can serve this request: it needs a logged-in account "
                "(configure user tokens)"
                if not allow_guest
                else "no upstream identity is available (configure user tokens or allow guests)",
                kind="http",
                status=503 if allow_guest else 403,
                code="no_identity",
            )
        async with self._lock:
            self._retire_expired()
            session = await self._least_busy_guest(exclude)
            session.active_requests += 1
            return session

    def release(self, session: Session, *, failure: UpstreamError | None = None) -> None:
        """The request is over; on a 401 / concurrency failure a guest session is dropped, a user
        token's source decides."""
        if session not in self._guests:
            self.users.release(session, failure)
            return
        session.active_requests = max(0, session.active_requests - 1)
        if failure is not None and failure.retryable and failure.kind in ("http", "in_stream"):
            session.failures += 1
            session.valid = False
        surplus = len([s for s in self._guests if s.valid]) > self._settings.size
        retiring = not session.valid or session.expired(self._clock()) or surplus
        if retiring and session.active_requests == 0:
            self._retire(session)

    async def warm(self) -> None:
        """Retires expired idle guests and fills the pool to its size: at start-up, so the first
        requests need not wait, and then periodically (every 30 s or so) from the server."""
        if not self._guests_enabled:
            return
        async with self._lock:
            self._retire_expired()
            while len([s for s in self._guests if s.valid]) < self._settings.size:
                if await self._mint_guest() is None:
                    break

    async def verify_user_tokens(self) -> None:
        """Asks the auths endpoint about every user token."""
        await self.users.verify(self.detect_role)

    async def detect_role(self, token: str) -> core.Identity:
        """Asks the auths endpoint who `token` belongs to (`role`: user or guest)."""
        identity = await self.fetch_identity(token)
        if identity.user_id != core.jwt_user_id(token):
            # A revoked token does not get 401 here: the endpoint mints a new guest instead.
            raise TokenRejected(
                "the token is no longer valid (the auths endpoint answered with another user)",
                kind="http",
                status=401,
                code="401",
            )
        return identity

    async def close(self) -> None:
        """Retires every guest session (deleting its chats) and waits for the housekeeping."""
        for session in list(self._guests):
            self._retire(session)
        if self._housekeeping:
            await asyncio.gather(*self._housekeeping, return_exceptions=True)

    # ── guests ──

    async def _least_busy_guest(self, exclude: Sequence[Session]) -> Session:
        usable = [s for s in self._guests if s.valid and s not in exclude]
        idle = [s for s in usable if s.active_requests == 0]
        if idle:
            return min(idle, key=lambda s: s.created_at)
        # A guest session serves one request at a time where possible: chat.z.ai limits the
        # concurrency of each account, and a shared session would fail both requests.
        if len(self._guests) < self._settings.max_size:
            minted = await self._mint_guest()
            if minted is not None:
                return minted
        if not usable:
            raise UpstreamError(
                "could not get a guest session from chat.z.ai",
                kind="http",
                status=503,
                code="no_guest",
            )
        return min(usable, key=lambda s: (s.active_requests, s.created_at))

    async def _mint_guest(self) -> Session | None:
        settings = self._settings
        attempts = settings.max_attempts or max(3 * settings.size, settings.size + 3)
        known = {s.identity.user_id for s in self._guests}
        for _ in range(attempts):
            try:
                identity = await self.fetch_identity(None)
            except UpstreamError as error:
                log.warning("guest session not minted: %s", error)
                if error.status == 405:
                    return None  # the WAF blocks this host: retrying will not help
                continue
            if identity.user_id in known:
                continue  # the upstream handed back a session we already hold
            now = self._clock()
            lifetime = settings.lifetime + random.uniform(-settings.jitter, settings.jitter)
            session = Session(identity, now, now + max(settings.min_lifetime, lifetime))
            self._guests.append(session)
            return session
        return None

    async def fetch_identity(self, token: str | None) -> core.Identity:
        """The auths endpoint's answer: a new guest without a token, else the token's account."""
        request = core.auth_request(self._profile, token, self._fe_version())
        response = await self._engine.fetch(request)
        response.raise_for_status()
        return core.parse_auth_response(response.body)

    def _retire_expired(self) -> None:
        now = self._clock()
        for session in list(self._guests):
            if session.expired(now) and session.active_requests == 0:
                self._retire(session)

    def _retire(self, session: Session) -> None:
        if session not in self._guests:
            return
        self._guests.remove(session)
        task = asyncio.get_running_loop().create_task(self._delete_chats(session))
        self._housekeeping.add(task)
        task.add_done_callback(self._housekeeping.discard)

    async def _delete_chats(self, session: Session) -> None:
        request = core.delete_chats_request(
            self._profile, session.identity.token, self._fe_version()
        )
        try:
            await self._engine.fetch(request)
        except UpstreamError as error:
            log.info("chats of a retired guest not deleted: %s", error)
