"""Revocation on Redis with Go's revoke/redis layout v2 and the same Lua write.

    import redis, cookieseal, cookieseal.redis
    revoker = cookieseal.redis.Revoker(redis.Redis(host="...", socket_timeout=0.5))
    manager = cookieseal.Manager(keys, revoker=revoker)

Go reads what Python writes and the other way round (revoke/redis/doc.go,
"Key layout (v2)"): 1024 hash buckets "<prefix>v2:{xxx}" chosen by CRC-32 of
the subject (or of the session id when there is none); fields
"u:<subject>" = "<before_ms>:<until_ms>" and "s:<subject>:<id>" =
"<until_ms>" (':' and '%' in the subject escaped as %3A and %25); each write
is Go's script (merge keeping the later times, HSET, lengthen the bucket's
TTL, sweep expired fields, PUBLISH on "<prefix>v2:events"), followed by
WAIT when wait_replicas > 0. As in Go, every server that holds the list
must have maxmemory-policy noeviction: a server that reports another policy
(or refuses CONFIG GET, unless maxmemory_policy="noeviction" vouches for
it) fails every check and write with EvictionPolicyError.

Needs redis-py (Debian python3-redis). The client must have a short
socket_timeout: it bounds each call (Go: CheckTimeout 100ms, WriteTimeout
1s); Revoker refuses a client without one (ValueError), as Go refuses a
client without ContextTimeoutEnabled.
"""

import re
import secrets
import threading
import time
import zlib

import redis as _redis

from .errors import RevocationUnavailable

DEFAULT_PREFIX = "cookieseal:revoke:"  # revoke/redis DefaultPrefix
BUCKETS = 1024
_SWEEP_COUNT = 16
_EVICTION_RECHECK = 60.0
_EVICTION_BAD_RETRY = 1.0
_MS = re.compile(rb"-?[0-9]+")  # strconv.ParseInt, without a leading '+'

# revoke/redis writeScript, verbatim: Go and Python write the same entries.
WRITE_SCRIPT = """
local kind, field = ARGV[1], ARGV[2]
local b, u = tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, now = tonumber(ARGV[5]), tonumber(ARGV[6])
local function untilOf(f, v)
  local k = string.sub(f, 1, 2)
  if k == 'u:' then
    local cb, cu = string.match(v, '^(%-?%d+):(%-?%d+)$')
    return tonumber(cu), tonumber(cb)
  elseif k == 's:' then
    local cu = string.match(v, '^(%-?%d+)$')
    return tonumber(cu), nil
  end
  return nil, nil
end
local cur = redis.call('HGET', KEYS[1], field)
if cur then
  local cu, cb = untilOf(field, cur)
  if cu and cu > u then u = cu end
  if cb and cb > b then b = cb end
end
local v
if kind == 'u' then v = string.format('%.0f:%.0f', b, u) else v = string.format('%.0f', u) end
redis.call('HSET', KEYS[1], field, v)
local pttl = redis.call('PTTL', KEYS[1])
if pttl < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
local page = redis.call('HSCAN', KEYS[1], ARGV[7], 'COUNT', """ + str(_SWEEP_COUNT) + """)
local kv = page[2]
for i = 1, #kv, 2 do
  local f = kv[i]
  local fu = untilOf(f, kv[i + 1])
  if f ~= field and fu and fu <= now then redis.call('HDEL', KEYS[1], f) end
end
redis.call('PUBLISH', ARGV[8], v .. '\\n' .. field)
return v
"""


class NotReplicated(RevocationUnavailable):
    """Fewer replicas than wait_replicas acknowledged the write in time (Go: ErrNotReplicated).

    The entry is on the master; it may be lost if the master fails now.
    """


class EvictionPolicyError(RevocationUnavailable):
    """A server's maxmemory-policy can drop revocations (Go: ErrEvictionPolicy)."""


def _utf8(s):
    """s as Go sees the same text: UTF-8, a lone surrogate (from a JSON "\\ud800") as U+FFFD."""
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _escape(sub):
    return sub.replace(b"%", b"%25").replace(b":", b"%3A")


def bucket_key(subject, session_id, prefix=DEFAULT_PREFIX):
    """The v2 bucket holding a session's entry and its subject's entry."""
    src = _utf8(subject) if subject else _utf8(session_id)
    return prefix.encode() + b"v2:{%03x}" % (zlib.crc32(src) & (BUCKETS - 1))


def subject_field(subject):
    return b"u:" + _escape(_utf8(subject))


def session_field(subject, session_id):
    return b"s:" + _escape(_utf8(subject)) + b":" + _utf8(session_id)


def _parse_ms(v):
    if v is None or not _MS.fullmatch(v):
        return None
    n = int(v)
    return n if -(1 << 63) <= n < 1 << 63 else None


def _b(v):
    return v.encode() if isinstance(v, str) else v


def _socket_timeout(client):
    """The socket_timeout the client's connections get, or None when unset or unknown."""
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        get = getattr(client, "get_connection_kwargs", None)
        kwargs = get() if callable(get) else {}
    t = kwargs.get("socket_timeout") if isinstance(kwargs, dict) else None
    return t if isinstance(t, (int, float)) and not isinstance(t, bool) else None


class Revoker:
    """A cookieseal.Revoker on redis-py (redis.Redis, or a Sentinel master_for client).

    wait_replicas > 0 makes each write wait (WAIT, on the write's
    connection) until that many replicas acknowledged it within
    wait_timeout seconds, else raise NotReplicated (Go: Options.WaitReplicas,
    WaitTimeout). Every Redis error raises RevocationUnavailable; a malformed
    entry revokes what it names (fail closed), as in Go. A client without a
    socket_timeout is refused (ValueError).
    """

    def __init__(self, client, prefix=DEFAULT_PREFIX, *, wait_replicas=0, wait_timeout=0.5,
                 maxmemory_policy="", clock=None):
        if "{" in prefix or "}" in prefix:
            raise ValueError("revoke/redis: prefix must not contain '{' or '}'")
        if wait_replicas < 0 or wait_timeout <= 0:
            raise ValueError("revoke/redis: wait_replicas must be >= 0 and wait_timeout > 0")
        timeout = _socket_timeout(client)
        if not timeout or timeout <= 0:
            # Go refuses a client without ContextTimeoutEnabled: a Redis that
            # stops answering (a partition, a paused primary) would hang every
            # request that opens a session, neither failing closed nor open.
            raise ValueError("revoke/redis: the redis client has no socket_timeout (%r): a Redis that stops "
                             "answering would hang every request; give it one, e.g. redis.Redis(..., "
                             "socket_timeout=0.5) or ?socket_timeout=0.5 in the URL" % (timeout,))
        self.client = client
        self.prefix = prefix
        self.wait_replicas = int(wait_replicas)
        self.wait_timeout = wait_timeout
        self.maxmemory_policy = maxmemory_policy
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._script = client.register_script(WRITE_SCRIPT)
        self._channel = prefix + "v2:events"
        self._policy_lock = threading.Lock()
        self._policy = None  # (error or None, valid until monotonic)

    # --- maxmemory-policy (Go: evictionGuard) -------------------------

    def _ensure_policy(self):
        v = self._policy
        if v is not None and time.monotonic() < v[1]:
            if v[0] is not None:
                raise v[0]
            return
        with self._policy_lock:
            try:
                reply = self.client.config_get("maxmemory-policy")
            except _redis.ResponseError as e:
                msg = str(e)
                if any(msg.startswith(p) for p in ("LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN",
                                                    "READONLY", "MOVED", "ASK")):
                    raise RevocationUnavailable("CONFIG GET maxmemory-policy: %s" % e) from e
                err = None if self.maxmemory_policy == "noeviction" else EvictionPolicyError(
                    "revoke/redis: maxmemory-policy can drop revocations: the server refused CONFIG GET "
                    "maxmemory-policy; if the provider guarantees noeviction, pass maxmemory_policy='noeviction'")
                self._store_policy(err)
                return
            except _redis.RedisError as e:
                raise RevocationUnavailable("CONFIG GET maxmemory-policy: %s" % type(e).__name__) from e
            policy = {(_b(k)): _b(v) for k, v in (reply or {}).items()}.get(b"maxmemory-policy")
            if policy is None:
                err = None if self.maxmemory_policy == "noeviction" else EvictionPolicyError(
                    "revoke/redis: maxmemory-policy can drop revocations: the server did not report it")
            elif policy != b"noeviction":
                err = EvictionPolicyError("revoke/redis: maxmemory-policy can drop revocations: the server has "
                                          "maxmemory-policy %s; set it to noeviction" % policy.decode(errors="replace"))
            else:
                err = None
            self._store_policy(err)

    def _store_policy(self, err):
        keep = _EVICTION_RECHECK if err is None else _EVICTION_BAD_RETRY
        self._policy = (err, time.monotonic() + keep)
        if err is not None:
            raise err

    def _forget_policy(self):
        v = self._policy
        if v is not None and v[0] is None:
            self._policy = None

    # --- check --------------------------------------------------------

    def check(self, session_id, subject, issued_at_ms, now_ms=None):
        """Whether the session is revoked (Go: Direct.Check): one command on one key."""
        if not session_id:
            raise ValueError("revoke/redis: empty session id")
        self._ensure_policy()
        now = self._clock() if now_ms is None else now_ms
        key = bucket_key(subject, session_id, self.prefix)
        try:
            if not subject:
                sess, subj = self.client.hget(key, session_field("", session_id)), None
            else:
                subj, sess = self.client.hmget(key, [subject_field(subject), session_field(subject, session_id)])
        except _redis.RedisError as e:
            self._forget_policy()
            raise RevocationUnavailable("revoke/redis: check: %s" % type(e).__name__) from e
        if sess is not None:
            until = _parse_ms(_b(sess))
            if until is None or until > now:
                return True  # a malformed entry revokes what it names
        if subj is not None:
            before, sep, until = _b(subj).partition(b":")
            before, until = _parse_ms(before), _parse_ms(until)
            if not sep or before is None or until is None:
                return True
            if until > now and issued_at_ms < before:
                return True
        return False

    # --- write --------------------------------------------------------

    def revoke_session(self, session_id, subject, until_ms):
        """Revokes one session until until_ms (Go: Direct.RevokeSession)."""
        if not session_id:
            raise ValueError("revoke/redis: empty session id")
        if not until_ms:
            raise ValueError("revoke/redis: zero until for session")
        self._write(subject, session_id, 0, until_ms)

    def revoke_subject(self, subject, before_ms, until_ms):
        """Revokes every session of subject issued before before_ms, until until_ms (Go: RevokeSubject)."""
        if not subject:
            raise ValueError("revoke/redis: empty subject")
        if not before_ms or not until_ms:
            raise ValueError("revoke/redis: zero before or until for subject")
        self._write(subject, "", before_ms, until_ms)

    def _write(self, subject, session_id, before_ms, until_ms):
        now = self._clock()
        ttl = until_ms - now
        if ttl <= 0:
            return  # nothing to revoke: it has expired everywhere
        try:
            self._ensure_policy()
            policy_err = None
        except EvictionPolicyError as e:
            policy_err = e  # written anyway, then reported, as Go does
        if session_id:
            kind, field = "s", session_field(subject, session_id)
        else:
            kind, field = "u", subject_field(subject)
        key = bucket_key(subject, session_id, self.prefix)
        args = [kind, field, before_ms, until_ms, ttl, now, secrets.randbits(32), self._channel]
        try:
            if self.wait_replicas <= 0:
                self._script(keys=[key], args=args)
            else:
                wait_ms = max(int(self.wait_timeout * 1000), 1)
                pipe = self.client.pipeline(transaction=False)
                self._script(keys=[key], args=args, client=pipe)
                pipe.execute_command("WAIT", self.wait_replicas, wait_ms)
                replies = pipe.execute(raise_on_error=False)
                if isinstance(replies[0], Exception):
                    raise replies[0]
                got = replies[1]
                if isinstance(got, Exception):
                    raise RevocationUnavailable("revoke/redis: WAIT: %s" % type(got).__name__)
                if int(got) < self.wait_replicas:
                    raise NotReplicated("revoke/redis: revocation not acknowledged by enough replicas: WAIT %d %d: "
                                        "%d acknowledged" % (self.wait_replicas, wait_ms, int(got)))
        except RevocationUnavailable:
            raise
        except _redis.RedisError as e:
            self._forget_policy()
            raise RevocationUnavailable("revoke/redis: write: %s" % type(e).__name__) from e
        if policy_err is not None:
            raise policy_err
