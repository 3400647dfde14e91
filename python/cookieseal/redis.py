"""Revocation on Redis with Go's revoke/redis layout v2 and the same Lua write.

    import redis, cookieseal.redis
    revoker = cookieseal.redis.Revoker(redis.Redis(host=..., socket_timeout=0.5))
    manager = cookieseal.Manager(keys, revoker=revoker)

Go reads what Python writes and the other way round: 1024 hash buckets
"<prefix>v2:{xxx}" chosen by CRC-32 of the subject (or of the id when there
is none), fields "u:<subject>" (before_ms:until_ms) and "s:<subject>:<id>"
(until_ms), written by the same script as Go's, with WAIT when
wait_replicas > 0.
"""

from typing import Optional

DEFAULT_PREFIX = "cookieseal:revoke:"  # revoke/redis Options.Prefix default


class Revoker:
    """A cookieseal.Revoker on redis-py (a Redis, or RedisCluster, client).

    wait_replicas > 0 makes each write wait (WAIT) until that many replicas
    acknowledged it within wait_timeout seconds, else raise
    RevocationUnavailable (Go: Options.WaitReplicas / WaitTimeout).
    Every Redis error raises RevocationUnavailable.
    """

    def __init__(self, client, prefix: str = DEFAULT_PREFIX, *, wait_replicas: int = 0,
                 wait_timeout: float = 0.5, clock=None):
        raise NotImplementedError

    def check(self, session_id: str, subject: str, issued_at_ms: int, now_ms: Optional[int] = None) -> bool:
        raise NotImplementedError

    def revoke_session(self, session_id: str, subject: str, until_ms: int) -> None:
        raise NotImplementedError

    def revoke_subject(self, subject: str, before_ms: int, until_ms: int) -> None:
        raise NotImplementedError
