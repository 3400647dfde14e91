"""The revocation interface (Go: revoke.Revoker) and an in-memory one.

A revoker answers check(session_id, subject, issued_at_ms, now_ms) with
True (revoked) or False, and writes revoke_session / revoke_subject. A
store fault raises RevocationUnavailable; a bad argument ValueError (Go:
revoke.ErrInvalidArgument). cookieseal.redis.Revoker shares Go's Redis
layout, so a fleet of Go and Python services shares one list.
"""

import heapq
import threading
import time
from collections import namedtuple
from typing import Optional

from .errors import RevocationListFull

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


# Go's revoke.pruneBatch: how many expired entries one call forgets at most.
_PRUNE_BATCH = 32
#: Go's revoke.DefaultMaxEntries: the cap of a MemoryRevoker by default.
DEFAULT_MAX_ENTRIES = 1_000_000

MemoryStats = namedtuple("MemoryStats", "entries max_entries rejected")
MemoryStats.__doc__ = """A MemoryRevoker's size (Go: revoke.MemoryStats): entries held (expired ones
not yet forgotten included), the cap (0: none), revocations refused as full."""


class MemoryRevoker:
    """An in-process Revoker (Go: revoke.Memory): one process only, for tests and single instances.

    Later writes keep the later times (as Go's stores merge them); an
    until already past is a no-op. Entries whose until has passed are
    forgotten a few at a time (32) during later calls, so every call does
    bounded work and no thread is started. At most max_entries entries
    (sessions and subjects together; DEFAULT_MAX_ENTRIES, a million, by
    default; negative: no cap) are held: a revocation that would add one to
    a full list first forgets every expired entry, and if that is not
    enough raises RevocationListFull (a RevocationUnavailable: the logout
    failed) rather than forget a live one. Revoking an entry already held
    always succeeds. stats() reports the size. Thread-safe.

    The cap is shared by everyone: each login (renew) writes an entry that
    lives about the absolute timeout, so one account logging in over and
    over can fill it, and then logouts fail until entries expire. Size
    max_entries for the logins and logouts of one absolute timeout, with
    room to spare; a fleet uses cookieseal.redis.Revoker, which has no cap.
    """

    def __init__(self, clock=None, *, max_entries=0):
        self._clock = clock or _now_ms
        self._lock = threading.Lock()
        self._sessions = {}  # (subject, id) -> until
        self._subjects = {}  # subject -> (before, until)
        self._exp = []  # heap of (until, is_subject, key)
        self._next = None  # the earliest until in _exp, None when empty
        self._rejected = 0
        if max_entries == 0:
            self._max = DEFAULT_MAX_ENTRIES
        elif max_entries > 0:
            self._max = int(max_entries)
        else:
            self._max = 0  # no cap

    def _prune_locked(self, now, limit):
        """Forgets at most limit entries whose until is at or before now (Go: pruneLocked)."""
        exp = self._exp
        while limit > 0 and exp and exp[0][0] <= now:
            until, is_subject, key = heapq.heappop(exp)
            limit -= 1
            # The map holds the latest until; an older heap entry of a key extended since is dropped.
            if is_subject:
                cur = self._subjects.get(key)
                if cur is not None and cur[1] == until:
                    del self._subjects[key]
            elif self._sessions.get(key) == until:
                del self._sessions[key]
        self._next = exp[0][0] if exp else None

    def _push_locked(self, until, is_subject, key):
        heapq.heappush(self._exp, (until, is_subject, key))
        # Entries revoked again leave older expiries in the heap: rebuild it from the maps when
        # such leftovers outnumber the entries, so the heap stays within twice the cap.
        n = len(self._sessions) + len(self._subjects)
        if len(self._exp) > 2 * n + 64:
            self._exp = [(u, False, k) for k, u in self._sessions.items()] + \
                [(e[1], True, sub) for sub, e in self._subjects.items()]
            heapq.heapify(self._exp)
        self._next = self._exp[0][0]

    def _room_locked(self, now):
        if not self._max or len(self._sessions) + len(self._subjects) < self._max:
            return
        self._prune_locked(now, len(self._exp))
        n = len(self._sessions) + len(self._subjects)
        if n < self._max:
            return
        self._rejected += 1
        raise RevocationListFull("revoke: revocation list full: %d live entries, max_entries %d" % (n, self._max))

    def check(self, session_id, subject, issued_at_ms, now_ms=None):
        if not session_id:
            raise ValueError("revoke: empty session id")
        now = self._clock() if now_ms is None else now_ms
        nxt = self._next
        if nxt is not None and nxt <= now and self._lock.acquire(blocking=False):
            try:
                self._prune_locked(now, _PRUNE_BATCH)
            finally:
                self._lock.release()
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
        now = self._clock()
        if until_ms <= now:
            return
        with self._lock:
            self._prune_locked(now, _PRUNE_BATCH)
            k = (subject, session_id)
            cur = self._sessions.get(k)
            if cur is not None and cur >= until_ms:
                return
            if cur is None:
                self._room_locked(now)
            self._sessions[k] = until_ms
            self._push_locked(until_ms, False, k)

    def revoke_subject(self, subject, before_ms, until_ms):
        if not subject:
            raise ValueError("revoke: empty subject")
        if not before_ms or not until_ms:
            raise ValueError("revoke: zero before or until for subject")
        now = self._clock()
        if until_ms <= now:
            return
        with self._lock:
            self._prune_locked(now, _PRUNE_BATCH)
            cur = self._subjects.get(subject)
            if cur is None:
                self._room_locked(now)
                self._subjects[subject] = (before_ms, until_ms)
            elif cur[1] >= until_ms:
                self._subjects[subject] = (max(cur[0], before_ms), cur[1])
                return
            else:
                self._subjects[subject] = (max(cur[0], before_ms), until_ms)
            self._push_locked(until_ms, True, subject)

    def stats(self):
        """A MemoryStats snapshot (Go: Memory.Stats)."""
        with self._lock:
            return MemoryStats(len(self._sessions) + len(self._subjects), self._max, self._rejected)
