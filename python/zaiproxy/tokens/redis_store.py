"""``TokenStore`` in Redis: several proxy instances (hosts) share one pool.

Every state change that reads before it writes is a Lua script, atomic on the server, so
instances racing on the round-robin cursor, a probing token, a lease or a counter stay
consistent. Times come from the caller (``now``), never from the server's clock.

Keys, all under the prefix (``zaiproxy:`` by default):

- ``meta`` hash: settings (``meta_*``), and ``schema_version``
- ``token:<id>`` hash per token: the ``TokenRecord`` fields (floats as ``repr``, bools 1/0)
- ``tokens`` sorted set: token ids by position; ``position`` the counter positions come from;
  ``cursor`` the position of the last token picked
- ``lease:<name>`` hash: ``holder``, ``expires``
- ``counters`` hash; ``series:<minute>`` hash per minute, ``minutes`` sorted set of the minutes
  stored; ``recent`` list, newest first

The scripts build the names of keys they find at run time (tokens, minutes) instead of
declaring them, so the store needs one Redis server (not Redis Cluster).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Callable, Final, cast

import redis.asyncio
import redis.exceptions
from redis.commands.core import AsyncScript

from zaiproxy.tokens.store import ROLE_USER, SERVING_ROLES, PoolPolicy, StatsBatch, TokenRecord

SCHEMA_VERSION = "1"
SCHEMA_VERSION_KEY = "schema_version"

# ── TokenRecord <-> hash ──

_FIELD_TYPES = {
    f.name: f.type if isinstance(f.type, str) else f.type.__name__
    for f in dataclasses.fields(TokenRecord)
}
_ENCODE: dict[str, Callable[[Any], str]] = {
    "str": str,
    "int": lambda v: str(int(v)),
    "float": lambda v: repr(float(v)),
    "bool": lambda v: "1" if v else "0",
}
_DECODE: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": lambda s: s == "1",
}


def hash_from_record(record: TokenRecord) -> dict[str, str]:
    return {name: _ENCODE[kind](getattr(record, name)) for name, kind in _FIELD_TYPES.items()}


def record_from_hash(fields: Mapping[str, str]) -> TokenRecord:
    """Fields this version does not know are ignored."""
    return TokenRecord(
        **{
            name: _DECODE[_FIELD_TYPES[name]](value)
            for name, value in fields.items()
            if name in _FIELD_TYPES
        }
    )


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    """A script's HGETALL reply (key, value, key, value...) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


# ── the scripts: ARGV[1] is the prefix, the rest as each one says ──

_PRELUDE = """
local P = ARGV[1]
local TOKENS = P .. 'tokens'
local function token_key(id) return P .. 'token:' .. id end
"""

_SERVING = "{" + ", ".join(f"[{role!r}] = true" for role in SERVING_ROLES) + "}"

_SCRIPTS = {
    # key, value -> the value stored
    "meta_setdefault": """
redis.call('HSETNX', P .. 'meta', ARGV[2], ARGV[3])
return redis.call('HGET', P .. 'meta', ARGV[2])
""",
    # name, holder, now, expires -> 1 taken, 0 refused
    "try_lease": """
local key = P .. 'lease:' .. ARGV[2]
local held = redis.call('HMGET', key, 'holder', 'expires')
if held[1] and held[1] ~= ARGV[3] and tonumber(held[2]) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', key, 'holder', ARGV[3], 'expires', ARGV[5])
return 1
""",
    # replace (1/0), source, n, n values of a new token's other fields (name, value...),
    # then token_id, token pairs -> {added ids, removed ids}
    "add_tokens": """
local source = ARGV[3]
local n = tonumber(ARGV[4])
local defaults = {}
for i = 5, 4 + n do defaults[#defaults + 1] = ARGV[i] end
local first = 5 + n
local removed = {}
if ARGV[2] == '1' then
  local listed = {}
  for i = first, #ARGV, 2 do listed[ARGV[i]] = true end
  for _, id in ipairs(redis.call('ZRANGE', TOKENS, 0, -1)) do
    if not listed[id] and redis.call('HGET', token_key(id), 'source') == source then
      redis.call('ZREM', TOKENS, id)
      redis.call('DEL', token_key(id))
      removed[#removed + 1] = id
    end
  end
end
local added = {}
for i = first, #ARGV, 2 do
  local id = ARGV[i]
  if not redis.call('ZSCORE', TOKENS, id) then
    local position = redis.call('INCR', P .. 'position')
    redis.call('HSET', token_key(id), 'token_id', id, 'token', ARGV[i + 1],
               'position', position, unpack(defaults))
    redis.call('ZADD', TOKENS, position, id)
    added[#added + 1] = id
  end
end
return {added, removed}
""",
    # token ids -> the ids removed
    "remove_tokens": """
local removed = {}
for i = 2, #ARGV do
  if redis.call('ZREM', TOKENS, ARGV[i]) == 1 then
    redis.call('DEL', token_key(ARGV[i]))
    removed[#removed + 1] = ARGV[i]
  end
end
return removed
""",
    # -> every token's HGETALL, by position
    "list_tokens": """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', TOKENS, 0, -1)) do
  out[#out + 1] = redis.call('HGETALL', token_key(id))
end
return out
""",
    # token_id, field, value... -> 1 set, 0 no such token
    "set_fields": """
local key = token_key(ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, unpack(ARGV, 3))
return 1
""",
    # now, failure threshold, probe cooldown_until, excluded ids... -> the picked token's
    # HGETALL, or nil
    "pick": """
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local excluded = {}
for i = 5, #ARGV do excluded[ARGV[i]] = true end
local serving = SERVING
local cursor = redis.call('GET', P .. 'cursor') or '0'
local function first_pickable(ids)
  for _, id in ipairs(ids) do
    if not excluded[id] then
      local key = token_key(id)
      local t = redis.call('HMGET', key, 'enabled', 'role', 'cooldown_until', 'failures',
                          'position')
      if t[1] == '1' and serving[t[2]] and tonumber(t[3]) <= now then
        if tonumber(t[4]) >= threshold then
          redis.call('HSET', key, 'cooldown_until', ARGV[4])
        end
        redis.call('HSET', key, 'last_used', ARGV[2])
        redis.call('SET', P .. 'cursor', t[5])
        return redis.call('HGETALL', key)
      end
    end
  end
  return nil
end
return first_pickable(redis.call('ZRANGEBYSCORE', TOKENS, '(' .. cursor, '+inf'))
  or first_pickable(redis.call('ZRANGEBYSCORE', TOKENS, '-inf', cursor))
""".replace("SERVING", _SERVING),
    # token_id, now, success (1/0), status, error, failure threshold, failure cooldown_until
    # -> the token's HGETALL, or nil
    "report": """
local key = token_key(ARGV[2])
if redis.call('EXISTS', key) == 0 then return nil end
if ARGV[4] == '1' then
  redis.call('HSET', key, 'failures', '0', 'cooldown_until', '0.0', 'last_success', ARGV[3])
  redis.call('HINCRBY', key, 'successes', 1)
else
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  redis.call('HINCRBY', key, 'total_failures', 1)
  redis.call('HSET', key, 'last_failure', ARGV[3], 'last_error', ARGV[6])
  if failures >= tonumber(ARGV[7]) then redis.call('HSET', key, 'cooldown_until', ARGV[8]) end
end
redis.call('HSET', key, 'last_status', ARGV[5])
return redis.call('HGETALL', key)
""",
    # token_id, role, now, error -> 1 set, 0 no such token
    "set_role": """
local key = token_key(ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'role', ARGV[3], 'checked_at', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', key, 'last_error', ARGV[5]) end
if ARGV[3] == ROLE_USER then redis.call('HSET', key, 'failures', '0', 'cooldown_until', '0.0') end
return 1
""".replace("ROLE_USER", repr(ROLE_USER)),
    # keep_recent, keep_minutes, n, n counter values (name, value...), m, m series values
    # (minute, name, value...), then the recent entries, oldest first
    "add_stats": """
local keep_recent = tonumber(ARGV[2])
local keep_minutes = tonumber(ARGV[3])
local i = 4
local n = tonumber(ARGV[i])
for j = i + 1, i + n, 2 do
  redis.call('HINCRBYFLOAT', P .. 'counters', ARGV[j], ARGV[j + 1])
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = i + 1, i + n, 3 do
  redis.call('HINCRBYFLOAT', P .. 'series:' .. ARGV[j], ARGV[j + 1], ARGV[j + 2])
  redis.call('ZADD', P .. 'minutes', ARGV[j], ARGV[j])
end
i = i + n + 1
for j = i, #ARGV do redis.call('LPUSH', P .. 'recent', ARGV[j]) end
if keep_recent > 0 then
  redis.call('LTRIM', P .. 'recent', 0, keep_recent - 1)
else
  redis.call('DEL', P .. 'recent')
end
local newest = redis.call('ZREVRANGE', P .. 'minutes', 0, 0, 'WITHSCORES')
if #newest > 0 then
  local cutoff = tonumber(newest[2]) - keep_minutes * 60
  for _, minute in ipairs(redis.call('ZRANGEBYSCORE', P .. 'minutes', '-inf', cutoff)) do
    redis.call('DEL', P .. 'series:' .. minute)
  end
  redis.call('ZREMRANGEBYSCORE', P .. 'minutes', '-inf', cutoff)
end
return 1
""",
    # since_minute -> minute, HGETALL, minute, HGETALL... by minute
    "series": """
local out = {}
for _, minute in ipairs(redis.call('ZRANGEBYSCORE', P .. 'minutes', ARGV[2], '+inf')) do
  out[#out + 1] = minute
  out[#out + 1] = redis.call('HGETALL', P .. 'series:' .. minute)
end
return out
""",
    "clear_stats": """
for _, minute in ipairs(redis.call('ZRANGE', P .. 'minutes', 0, -1)) do
  redis.call('DEL', P .. 'series:' .. minute)
end
redis.call('DEL', P .. 'minutes', P .. 'counters', P .. 'recent')
return 1
""",
}


class RedisStore:
    kind: Final = "redis"
    errors: Final = (redis.exceptions.RedisError, OSError)

    def __init__(self, url: str, *, prefix: str = "zaiproxy:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: redis.asyncio.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def _redis(self) -> redis.asyncio.Redis:
        if self._client is None:
            raise RuntimeError("the token store is not open")
        return self._client

    async def _run(self, script: str, *args: Any) -> Any:
        if self._client is None:
            raise RuntimeError("the token store is not open")
        return await self._scripts[script](args=[self.prefix, *args])

    def _key(self, name: str) -> str:
        return self.prefix + name

    # ── lifecycle and settings ──

    async def open(self) -> None:
        if self._client is not None:
            return
        client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        try:
            await client.ping()
            self._scripts = {
                name: client.register_script(_PRELUDE + source) for name, source in _SCRIPTS.items()
            }
            self._client = client
            version = await self.meta_setdefault(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.prefix}*: token store schema {version}, this version reads "
                    + SCHEMA_VERSION
                )
        except BaseException:
            self._client = None
            await client.aclose()
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def meta_get(self, key: str) -> str | None:
        value = await self._redis.hget(self._key("meta"), key)
        return None if value is None else str(value)

    async def meta_set(self, key: str, value: str) -> None:
        await self._redis.hset(self._key("meta"), key, value)

    async def meta_setdefault(self, key: str, value: str) -> str:
        return str(await self._run("meta_setdefault", key, value))

    async def try_lease(self, name: str, holder: str, ttl: float, now: float) -> bool:
        return bool(await self._run("try_lease", name, holder, repr(now), repr(now + ttl)))

    # ── tokens ──

    async def _add(
        self, replace: bool, source: str, tokens: Sequence[tuple[str, str]], now: float
    ) -> tuple[list[str], list[str]]:
        fresh = hash_from_record(TokenRecord("", "", source, 0, added_at=now))
        defaults = [
            item
            for name, value in fresh.items()
            if name not in ("token_id", "token", "position")
            for item in (name, value)
        ]
        pairs = [item for token_id, token in tokens for item in (token_id, token)]
        args = ["1" if replace else "0", source, len(defaults), *defaults, *pairs]
        added, removed = await self._run("add_tokens", *args)
        return list(added), list(removed)

    async def add_tokens(
        self, tokens: Sequence[tuple[str, str]], source: str, now: float
    ) -> list[str]:
        added, _ = await self._add(False, source, tokens, now)
        return added

    async def replace_source(
        self, source: str, tokens: Sequence[tuple[str, str]], now: float
    ) -> tuple[list[str], list[str]]:
        return await self._add(True, source, tokens, now)

    async def remove_tokens(self, token_ids: Collection[str]) -> list[str]:
        return list(await self._run("remove_tokens", *token_ids))

    async def list_tokens(self) -> list[TokenRecord]:
        found = await self._run("list_tokens")
        return [record_from_hash(_pairs(flat)) for flat in found if flat]

    async def get_token(self, token_id: str) -> TokenRecord | None:
        fields = await self._redis.hgetall(self._key("token:" + token_id))
        return record_from_hash(cast("dict[str, str]", fields)) if fields else None

    async def set_enabled(self, token_id: str, enabled: bool) -> bool:
        return bool(await self._run("set_fields", token_id, "enabled", "1" if enabled else "0"))

    async def reset_token(self, token_id: str) -> bool:
        fields = ("failures", "0", "cooldown_until", "0.0")
        return bool(await self._run("set_fields", token_id, *fields))

    async def pick(
        self, now: float, policy: PoolPolicy, exclude: Collection[str] = ()
    ) -> TokenRecord | None:
        probe_until = now + policy.probe_window
        args = [repr(now), policy.failure_threshold, repr(probe_until), *exclude]
        found = await self._run("pick", *args)
        return record_from_hash(_pairs(found)) if found else None

    async def report(
        self,
        token_id: str,
        now: float,
        policy: PoolPolicy,
        *,
        success: bool,
        status: int = 0,
        error: str = "",
    ) -> TokenRecord | None:
        cooldown_until = now + policy.recovery_timeout
        args = [token_id, repr(now), "1" if success else "0", int(status), error]
        args += [policy.failure_threshold, repr(cooldown_until)]
        found = await self._run("report", *args)
        return record_from_hash(_pairs(found)) if found else None

    async def set_role(self, token_id: str, role: str, now: float, error: str = "") -> bool:
        return bool(await self._run("set_role", token_id, role, repr(now), error))

    # ── statistics ──

    async def add_stats(self, batch: StatsBatch, keep_recent: int, keep_minutes: int) -> None:
        counters = [x for name, value in batch.counters.items() for x in (name, repr(float(value)))]
        series = [
            x
            for minute, bucket in batch.series.items()
            for name, value in bucket.items()
            for x in (str(int(minute)), name, repr(float(value)))
        ]
        args = [keep_recent, keep_minutes, len(counters), *counters, len(series), *series]
        await self._run("add_stats", *args, *batch.recent)

    async def counters(self) -> dict[str, float]:
        found = await self._redis.hgetall(self._key("counters"))
        return {str(name): float(value) for name, value in found.items()}

    async def series(self, since_minute: int) -> dict[int, dict[str, float]]:
        found = await self._run("series", int(since_minute))
        return {
            int(minute): {name: float(value) for name, value in _pairs(flat).items()}
            for minute, flat in zip(found[::2], found[1::2])
        }

    async def recent(self, limit: int) -> list[str]:
        if limit <= 0:
            return []
        return [str(e) for e in await self._redis.lrange(self._key("recent"), 0, limit - 1)]

    async def clear_stats(self) -> None:
        await self._run("clear_stats")
