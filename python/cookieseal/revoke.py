"""The revocation interface (Go: revoke.Revoker) and an in-memory one.

A revoker answers check(session_id, subject, issued_at_ms, now_ms) with
True (revoked) or False, and writes revoke_session / revoke_subject. A
store fault raises RevocationUnavailable; a bad argument ValueError (Go:
revoke.ErrInvalidArgument). cookieseal.redis.Revoker shares Go's Redis
layout, so a fleet of Go and Python services shares one list.
"""

import threading
import time
from typing import Optional

try:
    from typing import Protocol
except ImportError:  # Python < 3.8
    Protocol = object


class Revoker(Protocol):
    """What Manager needs of a revocation list. Times are Unix milliseconds."""

    def check(self, session_id: str, subject: str, issued_at_ms: int, now_ms: Optional[int] = None) -> bool:
        """Whether the session is revoked: its id (until its entry's end), or its
        subject's sessions issued before a cut-off."""

    def revoke_session(self, session_id: str, subject: str, until_ms: int) -> None:
        """Revokes one session until until_ms."""

    def revoke_subject(self, subject: str, before_ms: int, until_ms: int) -> None:
        """Revokes every session of subject issued before before_ms, until until_ms."""


def _now_ms():
    return time.time_ns() // 1_000_000


class MemoryRevoker:
    """An in-process Revoker (Go: revoke.Memory): one process only, for tests and single instances.

    Entries are kept until their until time; later writes keep the later
    times (as Go's stores merge them). Thread-safe.
    """

    def __init__(self, clock=None):
        self._clock = clock or _now_ms
        self._lock = threading.Lock()
        self._sessions = {}  # (subject, id) -> until
        self._subjects = {}  # subject -> (before, until)

    def check(self, session_id, subject, issued_at_ms, now_ms=None):
        if not session_id:
            raise ValueError("revoke: empty session id")
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            until = self._sessions.get((subject, session_id))
            if until is not None and until > now:
                return True
            if subject:
                e = self._subjects.get(subject)
                if e is not None and e[1] > now and issued_at_ms < e[0]:
                    return True
        return False

    def revoke_session(self, session_id, subject, until_ms):
        if not session_id:
            raise ValueError("revoke: empty session id")
        if not until_ms:
            raise ValueError("revoke: zero until for session")
        with self._lock:
            k = (subject, session_id)
            self._sessions[k] = max(self._sessions.get(k, 0), until_ms)

    def revoke_subject(self, subject, before_ms, until_ms):
        if not subject:
            raise ValueError("revoke: empty subject")
        if not before_ms or not until_ms:
            raise ValueError("revoke: zero before or until for subject")
        with self._lock:
            b, u = self._subjects.get(subject, (0, 0))
            self._subjects[subject] = (max(b, before_ms), max(u, until_ms))
