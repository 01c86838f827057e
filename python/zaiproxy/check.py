"""``zaiproxy check``: does this configuration reach a working upstream?

Each probe asks chat.z.ai (or ``ZAIPROXY_ORIGIN``) one thing the proxy depends on — the
front-end version on the landing page, an identity (a guest session in anonymous mode, and every
configured user token), the models endpoint — and reports OK or FAIL with the upstream's own
detail, so an operator sees which part is broken before clients do. Tokens only ever appear
masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from zaiproxy import core
from zaiproxy.catalogue import upstream_model_ids
from zaiproxy.config import Settings, mask_secret
from zaiproxy.profile import load_profile
from zaiproxy.upstream import EngineSettings, IdentityProvider, UpstreamEngine, UpstreamError

# A check should answer in seconds, not wait the proxy's patient streaming timeouts.
PROBE_CONNECT_TIMEOUT = 10.0
PROBE_RESPONSE_TIMEOUT = 20.0


@dataclass(frozen=True)
class ProbeResult:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


@dataclass
class ProbeContext:
    """What the probes share: the upstream handles and what earlier probes learned."""

    engine: UpstreamEngine
    profile: core.Profile
    fe_version: str = ""
    token: str | None = None  # a working identity's token, for the models probe


def describe(error: UpstreamError) -> str:
    """An upstream failure as one line: its kind, status and message."""
    status = f"HTTP {error.status}" if error.kind in ("http", "in_stream") else error.kind
    code = f" [{error.code}]" if error.code and error.code != str(error.status) else ""
    return f"{type(error).__name__} ({status}{code}): {error.message}"


async def probe_fe_version(context: ProbeContext) -> ProbeResult:
    """The landing page must name a ``prod-fe-x.y.z``: completions are refused without it."""
    name = "front-end version"
    try:
        response = await context.engine.fetch(core.landing_page_request(context.profile))
        response.raise_for_status()
    except UpstreamError as error:
        context.fe_version = context.profile.fe_version_fallback
        return ProbeResult(name, False, f"landing page: {describe(error)}")
    found = core.discover_fe_version(response.body.decode("utf-8", "replace"))
    if found is None:
        context.fe_version = context.profile.fe_version_fallback
        return ProbeResult(
            name,
            False,
            f"no prod-fe-x.y.z on the landing page (HTTP {response.status}); the proxy would "
            f"send the profile's {context.fe_version}",
        )
    context.fe_version = found
    return ProbeResult(name, True, f"{found} (from the landing page)")


async def probe_guest(context: ProbeContext) -> ProbeResult:
    """Anonymous mode needs the auths endpoint to mint guest sessions."""
    name = "guest session"
    try:
        identity = await _identities(context).fetch_identity(None)
    except UpstreamError as error:
        return ProbeResult(name, False, describe(error))
    if not identity.guest:
        detail = f"the auths endpoint answered with an account ({identity.name}), not a guest"
        return ProbeResult(name, False, detail)
    context.token = context.token or identity.token
    return ProbeResult(name, True, f"minted (user id {mask_secret(identity.user_id)})")


async def probe_user_token(context: ProbeContext, token: str) -> ProbeResult:
    """A configured token must still belong to its account; its role says what it may do."""
    name = f"user token {mask_secret(token)}"
    try:
        identity = await _identities(context).detect_role(token)
    except UpstreamError as error:
        return ProbeResult(name, False, describe(error))
    except ValueError as error:  # not a JWT at all
        return ProbeResult(name, False, f"not a chat.z.ai token: {error}")
    role = "guest (no uploads, no user-only models)" if identity.guest else "user"
    who = f" ({identity.name})" if identity.name else ""
    if not identity.guest:
        context.token = identity.token
    else:
        context.token = context.token or identity.token
    return ProbeResult(name, True, f"valid, role {role}{who}")


async def probe_models(context: ProbeContext) -> ProbeResult:
    """The models endpoint answers a working identity with the upstream's catalogue."""
    name = "models"
    if context.token is None:
        return ProbeResult(name, False, "skipped: no working identity to ask with")
    request = core.models_request(context.profile, context.token, context.fe_version)
    try:
        response = await context.engine.fetch(request)
        response.raise_for_status()
    except UpstreamError as error:
        return ProbeResult(name, False, describe(error))
    names = upstream_model_ids(response.body)
    if names is None:
        return ProbeResult(name, False, f"unexpected answer: {response.body[:200]!r}")
    shown = ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
    return ProbeResult(name, True, f"{len(names)} models: {shown}")


def _identities(context: ProbeContext) -> IdentityProvider:
    """The client's own auths requests, for the probes (no pool: nothing is kept)."""
    return IdentityProvider(
        context.engine, context.profile, guests=False, fe_version=lambda: context.fe_version
    )


def probe_engine(settings: Settings) -> UpstreamEngine:
    """An engine with the configured proxies but short timeouts."""
    engine_settings = dataclasses.replace(
        EngineSettings.from_env(settings.environment),
        connect_timeout=PROBE_CONNECT_TIMEOUT,
        first_byte_timeout=PROBE_RESPONSE_TIMEOUT,
        idle_timeout=PROBE_RESPONSE_TIMEOUT,
    )
    return UpstreamEngine(engine_settings)


async def run_probes(settings: Settings) -> list[ProbeResult]:
    """Every probe, in the order the proxy needs them; later ones use what earlier ones found."""
    try:
        profile = load_profile(env=settings.environment)
    except (OSError, ValueError) as error:
        return [ProbeResult("profile", False, str(error))]
    engine = probe_engine(settings)
    context = ProbeContext(engine, profile)
    try:
        results = [await probe_fe_version(context)]
        results += await _probe_identities(context, settings.anonymous_mode, settings.user_tokens)
        results.append(await probe_models(context))
    finally:
        engine.close()
    return results


async def _probe_identities(
    context: ProbeContext, anonymous_mode: bool, user_tokens: Sequence[str]
) -> list[ProbeResult]:
    results = [await probe_user_token(context, token) for token in dict.fromkeys(user_tokens)]
    if anonymous_mode:
        results.append(await probe_guest(context))
    if not results:
        results.append(
            ProbeResult(
                "identity",
                False,
                "none: anonymous mode is off and no user token is configured",
            )
        )
    return results


def upstream_origin(settings: Settings) -> str:
    """Where the probes go (for the report's heading)."""
    try:
        return load_profile(env=settings.environment).origin
    except (OSError, ValueError):
        return "(profile not loadable)"
