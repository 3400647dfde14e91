"""The session manager (Go: middleware.Manager) and the session (middleware.Session).

Framework-neutral: load() takes the request's cookies, save() returns the
Set-Cookie header values. The adapters (cookieseal.django, .flask,
.starlette) are built on these two calls.
"""

import datetime
import time
from collections.abc import MutableMapping
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union

from .codec import DEFAULT_MAX_VALUE_SIZE, NATIVE

DEFAULT_NAME = "__Host-session"
DEFAULT_MAX_CHUNKS = 1  # cookie.DefaultMaxChunks: the one default of every Go and Python reader and writer
CHUNK_LIMIT = 16  # cookie.ChunkLimit
DEFAULT_MAX_FLASHES = 32  # middleware.DefaultMaxFlashes

# Session.status values (Go: middleware.SaveStatus names).
UNMODIFIED = "unmodified"
REFRESHED = "refreshed"
MODIFIED = "modified"
CLEARED = "cleared"

CookieInput = Union[str, Mapping[str, str], Iterable[Tuple[str, str]], None]


class Session(MutableMapping):
    """One request's session: a mapping of JSON values plus the envelope.

    Values are what json.loads gives (int of any size, float, str, bool,
    None, list, dict); a member nobody changed is written back byte for byte
    as it came, so Go's values (64-bit ints, exact decimals) round-trip.
    Keys are str. Setting a value that json cannot encode raises TypeError.
    """

    # --- identity -----------------------------------------------------
    @property
    def id(self) -> str:
        """The session id (22 base64url chars); "" when there is no session yet."""
        raise NotImplementedError

    @property
    def subject(self) -> str:
        """The subject (user id), "" for an anonymous session (Go: Session.Subject)."""
        raise NotImplementedError

    def set_subject(self, subject: str) -> None:
        """Sets the subject; call renew() right after a login (Go: SetSubject)."""
        raise NotImplementedError

    @property
    def authenticated(self) -> bool:
        """True when the session has a subject (Go: Session.Authenticated)."""
        raise NotImplementedError

    @property
    def issued_at(self) -> Optional[datetime.datetime]:
        """When the session was issued (login or the last renew), UTC; None without a session."""
        raise NotImplementedError

    # --- lifetime -----------------------------------------------------
    @property
    def deadline(self) -> Optional[datetime.datetime]:
        """The absolute deadline: issued-at + absolute_timeout, or the own deadline when earlier."""
        raise NotImplementedError

    @property
    def idle_deadline(self) -> Optional[datetime.datetime]:
        """When the session ends without another request (Go: IdleDeadline)."""
        raise NotImplementedError

    def set_deadline(self, when: Optional[datetime.datetime]) -> None:
        """Gives the session its own deadline ("dl"), capped at the manager's; None removes it.

        A deadline not in the future raises ValueError (Go: SetDeadline).
        """
        raise NotImplementedError

    @property
    def remember_me(self) -> bool:
        """Whether the cookie is persistent (Max-Age) rather than a browser-session cookie."""
        raise NotImplementedError

    @remember_me.setter
    def remember_me(self, persistent: bool) -> None:
        """Seals the choice in the session ("p"), kept by every later write (Go: SetRememberMe)."""
        raise NotImplementedError

    # --- flashes ------------------------------------------------------
    def flash(self, value: Any) -> None:
        """Queues a flash message (any JSON value); past max_flashes the oldest goes."""
        raise NotImplementedError

    def pop_flashes(self) -> list:
        """Returns and removes the queued flashes (Go: PopFlashes)."""
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------
    def renew(self) -> None:
        """A new id and issued-at, data kept; the old id is revoked (Go: Renew).

        With a revoker, the session is checked first: a revoked one is
        emptied (reason "revoked") and Rejected is raised; the old id is then
        revoked whether or not the session has a subject. A store fault
        raises RevocationUnavailable after the renew happened (fail-closed
        check: the session is emptied instead and nothing is renewed).
        """
        raise NotImplementedError

    def destroy(self) -> None:
        """Ends the session: data gone, the cookie (every chunk) cleared (Go: Destroy).

        With a revoker, a session with a subject is revoked until no copy can
        open; an anonymous one writes no entry (anyone can get one, so
        revoking it would let strangers grow the list). A store fault still
        clears the cookie, then raises RevocationUnavailable.
        """
        raise NotImplementedError

    def revoke_others(self) -> None:
        """Logs the subject out of every other session and renews this one (Go: RevokeOthers).

        Raises ValueError without a revoker or a subject.
        """
        raise NotImplementedError

    # --- state --------------------------------------------------------
    @property
    def modified(self) -> bool:
        """True when this request changed the session."""
        raise NotImplementedError

    @property
    def status(self) -> str:
        """What save() will do: "unmodified", "refreshed", "modified" or "cleared"."""
        raise NotImplementedError

    @property
    def reason(self) -> Optional[str]:
        """Why the request's cookie was refused (Go's reason names), None otherwise.

        "malformed", "tampered", "unknown_key", "idle_expired",
        "absolute_expired", "expired" (own deadline), "duplicate",
        "payload", "revoked", "revoke_fault", ... None when there was no
        cookie or it opened.
        """
        raise NotImplementedError

    @property
    def is_new(self) -> bool:
        """True when the request carried no valid session."""
        raise NotImplementedError

    @property
    def accessed(self) -> bool:
        """True once the handler read or changed the session: the response varies on Cookie."""
        raise NotImplementedError

    @property
    def private(self) -> bool:
        """True when the response depends on a real session (the request had one, or
        save() writes one): shared caches must not store it (add Cache-Control: private)."""
        raise NotImplementedError

    # MutableMapping
    def __getitem__(self, key: str) -> Any:
        raise NotImplementedError

    def __setitem__(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError

    def __iter__(self):
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class Manager:
    """Loads and saves sessions in one cookie (or its chunks), as Go's middleware.Manager.

    Defaults are Go's: the native format, Secure, HttpOnly, SameSite=Lax,
    Path=/, no Domain, max_chunks 1, 3800-byte values, refresh after
    idle_timeout/4, 32 flashes; idle_timeout, absolute_timeout and
    clock_skew (seconds) from the key set's recorded lifetime, else 24h, 7
    days and 30s. A name with a __Host- / __Secure- / __Http- prefix gets the
    browser's rules checked (ValueError), as Go's New does.

    keys: a Keys (reloadable) or a KeySet. clock: Unix seconds, like time.time.
    revoker: None, a cookieseal.redis.Revoker, or any cookieseal.Revoker.
    """

    def __init__(self, keys, name: str = DEFAULT_NAME, *, format: str = NATIVE,
                 idle_timeout: Optional[int] = None, absolute_timeout: Optional[int] = None,
                 refresh_after: Optional[float] = None, clock_skew: Optional[int] = None,
                 max_chunks: int = DEFAULT_MAX_CHUNKS, max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
                 max_flashes: int = DEFAULT_MAX_FLASHES, browser_session: bool = False,
                 domain: Optional[str] = None, path: str = "/", secure: bool = True, http_only: bool = True,
                 same_site: str = "Lax", partitioned: bool = False,
                 revoker=None, revoke_fail_open: bool = False,
                 clock: Callable[[], float] = time.time):
        raise NotImplementedError

    @property
    def name(self) -> str:
        raise NotImplementedError

    def load(self, cookies: CookieInput) -> Session:
        """The request's session; never raises for bad input.

        cookies: the Cookie header (str), (name, value) pairs, or a mapping.
        Prefer the header or pairs: a mapping cannot show a cookie sent
        twice. A tampered, expired, revoked, duplicate or malformed cookie
        gives an empty session whose reason says why (and save() clears the
        cookie). A revocation store fault gives an empty session with reason
        "revoke_fault" whose cookie save() leaves alone (fail closed), or the
        session itself with revoke_fail_open.
        """
        raise NotImplementedError

    def save(self, session: Session) -> List[str]:
        """The Set-Cookie header values for the response: the session sealed
        (its chunks, and clearing lines for the unused ones), a clear, or []
        when nothing changed and no refresh is due.

        Raises SessionTooLarge when the session does not fit max_value_size
        x max_chunks (nothing is written then).
        """
        raise NotImplementedError

    def revoke_subject(self, subject: str) -> None:
        """Logs subject out everywhere: every session issued before now (Go: RevokeSubject).

        Raises ValueError without a revoker, RevocationUnavailable on a store fault.
        """
        raise NotImplementedError
