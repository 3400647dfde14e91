"""The revocation interface (Go: revoke.Revoker) and an in-memory one.

A revoker answers check(session_id, subject, issued_at_ms) with True
(revoked) / False, and writes revoke_session / revoke_subject. A store fault
raises RevocationUnavailable. cookieseal.redis.Revoker shares Go's Redis
layout, so a fleet of Go and Python services shares one list.
"""

from typing import Optional, Protocol


class Revoker(Protocol):
    def check(self, session_id: str, subject: str, issued_at_ms: int, now_ms: Optional[int] = None) -> bool:
        """Whether the session (its id, or every session of its subject issued before a cut-off) is revoked."""

    def revoke_session(self, session_id: str, subject: str, until_ms: int) -> None:
        """Revokes one session until until_ms (Unix ms)."""

    def revoke_subject(self, subject: str, before_ms: int, until_ms: int) -> None:
        """Revokes every session of subject issued before before_ms, until until_ms."""


class MemoryRevoker:
    """An in-process Revoker (Go: revoke.Memory), for tests and single processes."""

    def __init__(self, clock=None):
        raise NotImplementedError

    def check(self, session_id, subject, issued_at_ms, now_ms=None):
        raise NotImplementedError

    def revoke_session(self, session_id, subject, until_ms):
        raise NotImplementedError

    def revoke_subject(self, subject, before_ms, until_ms):
        raise NotImplementedError
