"""The session manager (Go: middleware.Manager) and the session (middleware.Session).

Framework-neutral: load() takes the request's cookies, save() returns the
Set-Cookie header values. The adapters (cookieseal.django, .flask,
.starlette) are built on these two calls.
"""

import base64
import datetime
import email.utils
import os
import re
import threading
import time
from collections.abc import Mapping, MutableMapping

from . import envelope as _env
from . import errors as _e
from .codec import DEFAULT_MAX_VALUE_SIZE, JWE, NATIVE, Codec, _as_keys, clock_ns, encoded_len, resolve_lifetime
from .errors import NoSubject, Rejected, ResponseStarted, RevocationUnavailable, SessionTooLarge
from .keys import MAX_TIMEOUT

DEFAULT_NAME = "__Host-session"
DEFAULT_MAX_CHUNKS = 1  # cookie.DefaultMaxChunks: the one default of every Go and Python reader and writer
CHUNK_LIMIT = 16  # cookie.ChunkLimit
DEFAULT_MAX_FLASHES = 32  # middleware.DefaultMaxFlashes
DEFAULT_MAX_RESPONSE_COOKIE_BYTES = 3072  # middleware.DefaultMaxResponseCookieBytes (max_chunks 1)
MAX_COOKIE_LINE = 4096  # middleware's maxCookieLine
REVOKE_MARGIN_MS = 1000  # middleware's revokeMargin
_SET_COOKIE_OVERHEAD = len("Set-Cookie: \r\n")
_MAX_BEYOND = 32  # middleware's maxBeyond
_MAX_HOLD_TRIES = 16  # middleware's maxHoldTries
_SWEEP_BUDGET = 4096  # middleware's sweepBudget
TOMBSTONE_PREFIX = "destroyed/"  # middleware's tombstonePrefix: '/' is outside every session id's alphabet

# Session.status values (Go: middleware.SaveStatus names).
UNMODIFIED = "unmodified"
REFRESHED = "refreshed"
MODIFIED = "modified"
CLEARED = "cleared"

# Reasons of an authentic cookie that is merely old: its response leaves
# it as it is (see Manager.load).
_STALE_REASONS = frozenset((_e.IDLE_EXPIRED, _e.ABSOLUTE_EXPIRED, _e.EXPIRED, _e.REVOKED))

_SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SUFFIX = re.compile(r".*\.[0-9]+")
# A cookie value as net/http reads one (validCookieValueByte): 0x20 to 0x7e but '"', ';' and '\\'.
_COOKIE_VALUE = re.compile(r'[\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]*')
# net/http's Request.Cookies returns no cookie at all past this many (defaultCookieMaxNum,
# GODEBUG httpcookiemaxnum), counted as ';'-separated parts of every Cookie line.
MAX_REQUEST_COOKIES = 3000
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() takes '\u0661' too
_MAX_INT = 2**63 - 1  # Go's math.MaxInt (64-bit), where chunkname.Index saturates
_MAX_INT_DIGITS = str(_MAX_INT)


def new_id():
    """A random 128-bit session id, unpadded base64url (22 chars)."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


def _dt(ms):
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc) + \
        datetime.timedelta(milliseconds=ms % 1000)


def _ms_of(dt):
    if dt.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous: give an aware one (UTC)")
    delta = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def cookie_pairs(cookies):
    """(name, value) pairs in request order from a Cookie header, pairs or a mapping.

    A header is split as Go's middleware reads it: on ';', each part
    trimmed, a value in double quotes unquoted; more than
    MAX_REQUEST_COOKIES cookies are none, as net/http's Request.Cookies
    returns none. (Manager.load then drops the values net/http drops.)
    """
    if cookies is None:
        return []
    if isinstance(cookies, (bytes, bytearray)):
        cookies = cookies.decode("latin-1")
    if isinstance(cookies, str):
        if cookies.count(";") + 1 > MAX_REQUEST_COOKIES:
            return []  # net/http's Request.Cookies returns none (Go's middleware reads through it past 180)
        # As Go's middleware scans the header: split on ';', trim ASCII white space (textproto),
        # a part without '=' is a cookie with an empty value, a value in double quotes unquoted.
        out = []
        for part in cookies.split(";"):
            part = part.strip(" \t\r\n")
            n, _, v = part.partition("=")
            n = n.strip(" \t\r\n")
            if not n:
                continue
            if len(v) > 1 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            out.append((n, v))
        return out
    if isinstance(cookies, Mapping):
        pairs = [(str(k), str(v)) for k, v in cookies.items()]
    else:
        pairs = [(str(k), str(v)) for k, v in cookies]
    return pairs if len(pairs) <= MAX_REQUEST_COOKIES else []


def _strict_equal(a, b):
    """Equality that tells True from 1 and 1 from 1.0 (JSON values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b))
    return a == b


class Session(MutableMapping):
    """One request's session: a mapping of JSON values plus the envelope.

    Values are what json.loads gives (int of any size, float, str, bool,
    None, list, dict); a member nobody changed is written back byte for byte
    as it came, so Go's values (64-bit ints, exact decimals) round-trip.
    Keys are str. A list or dict read from the session may be changed in
    place: save() notices. Setting a value json cannot encode raises
    TypeError (ValueError for NaN and infinities), as Go's Set refuses it.

    Not meant to be shared between threads: one per request.
    """

    def __init__(self, manager):
        self._m = manager
        self._lock = threading.RLock()
        self._valid = False  # the cookie opened (and passed the revocation check)
        self._frozen = False  # the revocation check faulted, fail closed: the cookie is kept as it is
        self._fault = None
        self._meta = None
        self._payload = None  # the opened payload's bytes, for a refresh that re-seals it as it is
        self._open_id = ""  # what the cookie carried
        self._open_sub = ""
        self._id = ""
        self._sub = ""
        self._iat = None  # ms
        self._data = {}  # key -> raw JSON text
        self._flashes = []  # raw JSON texts
        self._dl = 0
        self._p = None
        self._handed = {}  # key -> list/dict handed out, compared at save
        self._dirty = False
        self._clear = False
        self._destroyed = False
        self._reseal = False
        self._retired = False
        self._stale = False  # the cookie authenticated but was found revoked: Destroy tombstones it
        self._floor = None  # ms: RevokeOthers' cut-off
        self._reason = None
        self._accessed = False
        self._plain = 0  # plain cookies carried
        self._carried = []  # chunk names of this manager the request carried
        self._beyond = []  # chunk names past max_chunks the request carried
        self._chunked = False
        self._dup = False
        self._keep = False  # copies split, one opens on its own: the configured place is left (Go: carried.split)
        self._committed = None  # what went out (an adapter's commit): changes raise ResponseStarted

    def __repr__(self):
        return "<cookieseal.Session id=%s subject=%r keys=%d status=%s>" % (
            (self._id[:6] + "…") if self._id else "-", self._sub, len(self._data), self.status)

    # --- internal -------------------------------------------------------

    def _started(self):
        if self._committed is not None:
            raise ResponseStarted("the session was committed (%s): the cookie can no longer carry a change, "
                                  "so it is refused; change the session before that" % self._committed)

    def commit(self, what="the response started"):
        """Marks the session as sent: later changes raise ResponseStarted (reads go on).

        The adapters call it once the session's Set-Cookie lines are on their
        way (a response's start, a WebSocket's accept), as Go's middleware
        refuses a change after the response's headers or a Hijack."""
        with self._lock:
            if self._committed is None:
                self._committed = what

    @property
    def committed(self):
        """True once commit() was called: changes raise ResponseStarted."""
        return self._committed is not None

    def _mutate(self):
        self._accessed = True
        self._started()
        if self._frozen:
            raise RevocationUnavailable("the revocation check failed (fail closed): the change is dropped and the "
                                        "cookie kept: %s" % (self._fault,))

    def _ensure(self):
        if not self._id:
            self._id = new_id()
            self._iat = self._m._now_ms()

    def _sync_handed(self):
        """Notices in-place changes to lists and dicts handed out."""
        for k, obj in list(self._handed.items()):
            raw = self._data.get(k)
            if raw is None:
                continue
            if not _strict_equal(_env.loads(raw), obj):
                self._data[k] = _env.dumps(obj)
                self._dirty = True


    def _empty(self):
        self._valid = False
        self._payload = None
        self._id, self._sub, self._iat = "", "", None
        self._dl, self._p = 0, None
        self._data, self._flashes, self._handed = {}, [], {}
        self._dirty = False
        self._reseal = False

    def _current(self):
        """(id, subject, issued-at ms) a revocation check must cover now, or None (Go: state.current)."""
        if self._retired and self._id and self._iat is not None:
            return self._id, self._sub, self._iat
        if self._valid and not self._retired:
            return self._open_id, self._open_sub, self._meta.issued_at_ms
        return None

    def _tombstone(self):
        """Writes the tombstone of the session the cookie carried, for destroy (Go: state.tombstone):
        a revocation entry "destroyed/<id>" under its subject, which a renew of the same session
        in another request checks, so that it never erases this logout. Returns the fault."""
        m = self._m
        if m.revoker is None or not self._open_sub or not self._open_id:
            return None
        return m._revoke_session(TOMBSTONE_PREFIX + self._open_id, self._open_sub, self._meta.issued_at_ms)

    def _retire(self, anonymous):
        """Revokes the session the cookie carried, once (Go: state.retire); raises RevocationUnavailable.

        Without anonymous (destroy) the session's tombstone is written first."""
        m = self._m
        if m.revoker is None or self._retired or not (self._valid or self._frozen) or not self._open_id:
            return
        sid, iat = self._open_id, self._meta.issued_at_ms
        errs = []
        if not anonymous:
            errs.append(self._tombstone())
        if self._open_sub or anonymous:
            errs.append(m._revoke_session(sid, self._open_sub, iat))
        if self._id == sid and self._sub != self._open_sub and self._sub:
            errs.append(m._revoke_session(sid, self._sub, iat))
        errs = [e for e in errs if e is not None]
        self._retired = not errs
        if errs:
            raise errs[0]

    def _recheck(self, ref, step):
        """Checks ref before a renew; returns the fault a fail-open manager goes on past."""
        m = self._m
        try:
            revoked = m.revoker.check(ref[0], ref[1], ref[2], m._now_ms())
        except RevocationUnavailable as e:
            if not m.revoke_fail_open:
                self._empty()
                self._frozen, self._fault, self._reason = True, e, _e.REVOKE_FAULT
                raise
            return e
        except Exception as e:  # a store client's own error: a fault too
            err = RevocationUnavailable("%s: revocation check failed: %s" % (step, type(e).__name__))
            if not m.revoke_fail_open:
                self._empty()
                self._frozen, self._fault, self._reason = True, err, _e.REVOKE_FAULT
                raise err from e
            return err
        if revoked:
            # Emptied; its cookie left as it is, like every revoked cookie's (a newer one may be
            # on its way from another tab).
            self._stale = self._stale or (self._valid and not self._retired)
            self._empty()
            self._reason = _e.REVOKED
            raise Rejected(_e.REVOKED, "%s: the session is revoked" % step)
        return None

    def _renew(self, issued, step):
        """Go's state.renew: revoke the old id, then settle (check the session's tombstone as
        issued at the renewed session's issue time, so a concurrent destroy is never erased),
        then a new id."""
        m = self._m
        settle = m.revoker is not None and self._valid and not self._retired and bool(self._open_sub)
        open_id, open_sub = self._open_id, self._open_sub
        try:
            self._retire(True)
            rerr = None
        except RevocationUnavailable as e:
            rerr = e
        fault = None
        if settle:
            try:
                fault = self._recheck((TOMBSTONE_PREFIX + open_id, open_sub, issued),
                                      step + ": the session was revoked during it")
            except (Rejected, RevocationUnavailable):
                raise  # not renewed (rerr, if any, is lost with it: the session is gone anyway)
        self._id = new_id()
        self._iat = issued
        self._dirty = True
        if rerr is not None:
            raise rerr
        if fault is not None:
            raise fault

    # --- identity -------------------------------------------------------

    @property
    def id(self):
        """The session id (22 base64url chars); "" when there is no session yet."""
        self._accessed = True
        return self._id

    @property
    def subject(self):
        """The subject (user id), "" for an anonymous session (Go: Session.Subject)."""
        self._accessed = True
        return self._sub

    def set_subject(self, subject):
        """Sets the subject ("" removes it) (Go: SetSubject). At login call renew() first, then
        set_subject(), Go's order; the other order revokes the same old id, with one more write."""
        if not isinstance(subject, str):
            raise TypeError("subject must be a str")
        with self._lock:
            self._mutate()
            self._ensure()
            if self._sub != subject:
                self._sub = subject
                self._dirty = True

    @property
    def authenticated(self):
        """True when the session has a subject (Go: Session.Authenticated)."""
        return self.subject != ""

    @property
    def issued_at(self):
        """When the session was issued (login or the last renew), aware UTC; None without a session."""
        self._accessed = True
        return _dt(self._iat)

    @property
    def issued_at_ms(self):
        """issued_at in Unix milliseconds (the precision sealed); None without a session."""
        self._accessed = True
        return self._iat

    # --- lifetime -------------------------------------------------------

    def _abs_deadline_ms(self):
        if self._iat is None:
            return None
        d = self._iat + self._m._abs_ms
        if self._dl and self._dl < d:
            return self._dl
        return d

    @property
    def deadline(self):
        """The absolute deadline: issued-at + absolute_timeout, or the own deadline when earlier (Go: Deadline)."""
        self._accessed = True
        return _dt(self._abs_deadline_ms())

    @property
    def idle_deadline(self):
        """When the session ends without another request, never after deadline (Go: IdleDeadline)."""
        self._accessed = True
        abs_ms = self._abs_deadline_ms()
        if abs_ms is None:
            return None
        if self.status != UNMODIFIED or not self._valid:
            refreshed = max(self._m._now_ms(), self._iat)
        else:
            refreshed = self._meta.refreshed_at_ms
        return _dt(min(refreshed + self._m._idle_ms, abs_ms))

    def set_deadline(self, when):
        """Gives the session its own deadline ("dl"), capped at the manager's; None removes it.

        when: an aware datetime, or Unix seconds. A deadline not in the
        future raises ValueError (Go: SetDeadline). Renew keeps it.
        """
        with self._lock:
            self._mutate()
            ms = 0
            if when is not None:
                ms = _ms_of(when) if isinstance(when, datetime.datetime) else int(when * 1000)
                if ms <= self._m._now_ms():
                    raise ValueError("deadline is not in the future")
            self._ensure()
            if ms:
                ms = min(ms, self._iat + self._m._abs_ms)
            if ms != self._dl:
                self._dl = ms
                self._dirty = True

    @property
    def remember_me(self):
        """Whether the cookie is persistent (Max-Age) rather than a browser-session cookie (Go: RememberMe)."""
        self._accessed = True
        if self._p is not None:
            return self._p
        return not self._m.browser_session

    @remember_me.setter
    def remember_me(self, persistent):
        """Seals the choice in the session ("p"), kept by every later write (Go: SetRememberMe)."""
        with self._lock:
            self._mutate()
            self._ensure()
            p = bool(persistent)
            if self._p is not p:
                self._p = p
                self._dirty = True

    # --- flashes --------------------------------------------------------

    def flash(self, value):
        """Queues a flash message (any JSON value); past max_flashes the oldest goes (Go: AddFlash)."""
        raw = _env.dumps(value)
        with self._lock:
            self._mutate()
            self._ensure()
            over = len(self._flashes) + 1 - self._m.max_flashes
            if over > 0:
                del self._flashes[:over]
            self._flashes.append(raw)
            self._dirty = True

    def pop_flashes(self):
        """Returns and removes the queued flashes (Go: PopFlashes)."""
        with self._lock:
            self._accessed = True
            if not self._flashes:
                return []
            self._started()
            out = [_env.loads(f) for f in self._flashes]
            self._flashes = []
            self._dirty = True
            return out

    def peek_flashes(self):
        """The queued flashes, left queued."""
        self._accessed = True
        return [_env.loads(f) for f in self._flashes]

    # --- lifecycle ------------------------------------------------------

    def renew(self):
        """A new id and issued-at, data kept; the old id is revoked (Go: Renew).

        Call it right after authenticating someone (session fixation). A
        request with no session (none, or a refused cookie) has nothing to
        renew: nothing happens and nothing is written unless something is
        then stored. With a revoker, the session is checked first: a revoked
        one is emptied (reason "revoked"; its cookie left as it is, another
        tab may hold a newer one) and Rejected is raised; a store fault
        empties it too (fail closed) and raises RevocationUnavailable. Then
        the old id is revoked whether or not the session has a subject; if
        that fails the session is renewed anyway and RevocationUnavailable
        is raised. Last, a session with a subject is checked for a destroy
        of it by another request that landed meanwhile (its tombstone): then
        it is not renewed, it becomes empty (no cookie written) and Rejected
        ("revoked") is raised, so a concurrent logout is never erased.
        """
        with self._lock:
            self._mutate()
            m = self._m
            if not self._id:
                return  # no session (none, or refused): nothing to renew, nothing to write
            start = m._now_ms()
            ref = self._current()
            checked = ref is not None and m.revoker is not None
            issued = start - 1 if checked and ref[1] else start
            if self._floor is not None:
                issued = max(issued, self._floor)
            fault = None
            if checked:
                fault = self._recheck(ref, "renew")
            self._renew(issued, "renew")
            if fault is not None:
                raise fault

    def destroy(self):
        """Ends the session: data gone, the cookie (every chunk) cleared (Go: Destroy).

        It always clears the cookie, also one found revoked or expired.
        With a revoker, a session with a subject is revoked until no copy can
        open on any instance, after its tombstone (an entry that a renew of
        the same session in another request checks, so it cannot erase this
        logout); a cookie found revoked gets its tombstone too. An anonymous
        session writes no entry (anyone can get one, so revoking it would let
        strangers grow the list), and destroy says so: NoSubject is raised
        after the cookie is cleared, since a copy of it stays valid until it
        expires (harmless for a cart, a bug for a session that grants
        something: give those a subject). Without a revoker nothing is
        revoked and nothing raised. A store fault still clears the cookie,
        then raises RevocationUnavailable: the revocation did not happen.
        """
        with self._lock:
            self._accessed = True
            self._started()
            m = self._m
            no_subject = (m.revoker is not None and (self._valid or self._frozen) and not self._retired
                          and bool(self._open_id) and not self._open_sub)
            rerr = None
            if self._stale:
                rerr = self._tombstone()
            else:
                try:
                    self._retire(False)
                except RevocationUnavailable as e:
                    rerr = e
            self._empty()
            self._frozen = False
            self._clear = True
            self._destroyed = True
            if rerr is not None:
                raise rerr
            if no_subject:
                raise NoSubject("destroy revoked nothing: the session has no subject; the cookie is cleared, "
                                "but a copy of it stays valid until it expires")

    def revoke_others(self):
        """Logs the subject out of every other session and renews this one (Go: RevokeOthers).

        Raises ValueError without a revoker or a subject, Rejected("revoked")
        when this session was revoked already, RevocationUnavailable on a
        store fault (nothing revoked, unless the fault came after the
        subject's revocation: then the session is renewed).
        """
        with self._lock:
            self._mutate()
            m = self._m
            if m.revoker is None:
                raise ValueError("revoke_others needs a revoker")
            subject = self._sub
            if not subject:
                raise NoSubject("revoke_others: the session has no subject: it revokes nothing")
            cut = m._now_ms()
            ref = self._current()
            if ref is not None:
                fault = self._recheck(ref, "revoke others")
                if fault is not None:
                    raise fault
            m._revoke_subject(subject, cut)
            self._floor = cut
            self._renew(cut, "revoke others")

    def clear(self):
        """Removes every value and flash; id and subject stay (Go: Clear). Use destroy() to log out."""
        with self._lock:
            self._mutate()
            if self._data or self._flashes:
                self._data, self._flashes, self._handed = {}, [], {}
                self._dirty = True

    # --- state ----------------------------------------------------------

    @property
    def modified(self):
        """True when this request changed the session (save() writes it)."""
        self._sync_handed()
        return self._dirty

    def mark_modified(self):
        """Makes save() write the session (re-sealed) although nothing changed.

        In-place changes to a list or dict read from the session are noticed
        without it; a request with no session (none, or a refused cookie) has
        nothing to write, and nothing happens. Raises like every change when
        the session is frozen or committed."""
        with self._lock:
            self._mutate()
            self._sync_handed()
            if self._id:
                self._dirty = True

    @property
    def status(self):
        """What save() will do: "unmodified", "refreshed", "modified" or "cleared" (Go: Status)."""
        self._sync_handed()
        m = self._m
        if self._frozen:
            return UNMODIFIED
        if self._dirty:
            return MODIFIED
        if self._valid:
            now = m._now_ms()
            if self._reseal or now - self._meta.refreshed_at_ms >= m._refresh_ms or m._outdated(self._meta):
                return REFRESHED
            return UNMODIFIED
        if self._clear and ((self._destroyed and m.max_chunks > 1) or self._present()):
            return CLEARED
        return UNMODIFIED

    @property
    def reason(self):
        """Why the request's cookie was refused (Go's reason names), None otherwise.

        "malformed", "tampered", "unknown_key", "epoch_out_of_window",
        "timestamps_invalid", "idle_expired", "absolute_expired", "expired"
        (the session's own deadline), "too_large", "duplicate", "payload",
        "revoked", "revoke_fault". None when there was no cookie or it opened.
        """
        return self._reason

    @property
    def is_new(self):
        """True when the request carried no valid session."""
        self._accessed = True
        return not self._valid

    @property
    def accessed(self):
        """True once the handler read or changed the session: the response varies on Cookie.

        Like Go, which opens the cookie at first use, save() writes nothing
        (no refresh, no clear) for a session the handler never touched.
        status, modified, reason, private and accessed do not count as use."""
        return self._accessed

    @property
    def private(self):
        """True when the response depends on a real session: the request carried a
        session cookie (valid or not) or save() writes one. Shared caches must not
        store it: make Cache-Control private (Go: dependsOnSession → privateCache)."""
        return self._accessed and (self._plain > 0 or self._chunked or self.modified)

    @property
    def frozen(self):
        """True when the revocation check failed and the manager fails closed: no session,
        and save() leaves the cookie as it is."""
        return self._frozen

    def _present(self):
        names = [self._m.name] if self._plain else []
        return names + list(self._carried)

    # --- mapping --------------------------------------------------------

    def __getitem__(self, key):
        self._accessed = True
        raw = self._data[key]
        h = self._handed.get(key)
        if h is not None:
            return h
        v = _env.loads(raw)
        if isinstance(v, (list, dict)):
            self._handed[key] = v
        return v

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError("session keys are str")
        raw = _env.dumps(value)
        with self._lock:
            self._mutate()
            self._ensure()
            self._data[key] = raw
            self._handed.pop(key, None)
            self._dirty = True

    def __delitem__(self, key):
        with self._lock:
            self._mutate()
            del self._data[key]
            self._handed.pop(key, None)
            self._dirty = True

    def __iter__(self):
        self._accessed = True
        return iter(sorted(self._data))

    def __len__(self):
        self._accessed = True
        return len(self._data)

    def __contains__(self, key):
        self._accessed = True
        return key in self._data

    def setdefault(self, key, default=None):
        """self[key], set to default first when missing; the value returned is the
        session's own, so a list or dict changed in place afterwards is saved
        (session.setdefault("cart", []).append(x))."""
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return self[key]

    def raw(self, key):
        """The JSON text of a value as stored (exactly as Go wrote it when unchanged)."""
        self._accessed = True
        self._sync_handed()
        return self._data[key]


class Manager:
    """Loads and saves sessions in one cookie (or its chunks), as Go's middleware.Manager.

    Defaults are Go's: the native format, Secure, HttpOnly, SameSite=Lax,
    Path=/, no Domain, max_chunks 1, 3800-byte values, refresh after
    idle_timeout/4, 32 flashes; idle_timeout, absolute_timeout and
    clock_skew (seconds) from the key set's recorded lifetime, else 24h, 7
    days and 30s. A name with a __Host- / __Secure- / __Http- prefix gets the
    browser's rules checked (ValueError), as Go's New does.

    name: the cookie name, also the AEAD purpose; "" (or None) is
    DEFAULT_NAME, "__Host-session". A prefix spelled in another case than
    the RFC's ("__host-") is refused (ValueError) in any event. A name
    without the "__Host-" prefix ("__Host-Http-" has it) is refused
    (ValueError) unless insecure_no_host_prefix=True, Go's
    Options.InsecureNoHostPrefix: only
    that prefix makes the browser refuse a cookie of the name from another
    host (a sibling subdomain, a user-content host) or for another path.
    Under any other name ("__Secure-" too) a sibling can plant its own valid
    session, which a browser with no session cookie of its own (a new
    visitor, a user just logged out) sends alone, and it opens: that user
    is in the planter's session (login CSRF). Set it for a cookie that must
    have a domain (shared by subdomains you trust), a path other than "/",
    or secure=False.

    keys: a Keys (reloadable) or a KeySet. clock: Unix seconds, like time.time.
    revoker: None, a cookieseal.redis.Revoker, or any cookieseal.Revoker.
    max_response_cookie_bytes: the bound on the Set-Cookie lines save()
    returns, counted as on HTTP/1.1 ("Set-Cookie: " + line + CRLF); default
    3072 with max_chunks 1, none beyond the 4096-byte lines otherwise.
    Safe for concurrent use: sessions are per request.
    """

    def __init__(self, keys, name=DEFAULT_NAME, *, format=NATIVE, idle_timeout=None, absolute_timeout=None,
                 refresh_after=None, clock_skew=None, max_chunks=DEFAULT_MAX_CHUNKS,
                 max_value_size=DEFAULT_MAX_VALUE_SIZE, max_response_cookie_bytes=None,
                 max_flashes=DEFAULT_MAX_FLASHES, browser_session=False, domain=None, path="/", secure=True,
                 http_only=True, same_site="Lax", partitioned=False, revoker=None, revoke_fail_open=False,
                 insecure_no_host_prefix=False, clock=time.time):
        keys = _as_keys(keys)
        if name is None or name == "":
            name = DEFAULT_NAME  # Go: New(keys, "", ...) is DefaultName
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError("cookie name %r is not an RFC 6265 token" % (name,))
        ks = keys.current()
        idle, absolute, skew = resolve_lifetime(ks, idle_timeout, absolute_timeout, clock_skew,
                                                where="cookie %r" % name)
        fail = lambda msg: ValueError("cookie %r: %s" % (name, msg))  # noqa: E731
        if refresh_after is None:
            refresh_after = idle / 4
        if min(idle, absolute, refresh_after, skew) < 0:
            raise fail("negative duration")
        if idle > MAX_TIMEOUT or absolute > MAX_TIMEOUT:
            raise fail("idle_timeout and absolute_timeout must be at most 400 days")
        if absolute < idle:
            raise fail("absolute_timeout %ss is shorter than idle_timeout %ss" % (absolute, idle))
        if refresh_after >= idle:
            raise fail("refresh_after %ss must be less than idle_timeout %ss" % (refresh_after, idle))
        if not isinstance(max_chunks, int) or not 1 <= max_chunks <= CHUNK_LIMIT:
            raise fail("max_chunks %r out of range [1, %d]" % (max_chunks, CHUNK_LIMIT))
        if max_flashes < 0:
            raise fail("negative max_flashes")
        if max_value_size <= 0 or len(name) + len(".00=") + max_value_size > MAX_COOKIE_LINE:
            raise fail("max_value_size %d: name and value must fit in %d bytes" % (max_value_size, MAX_COOKIE_LINE))
        ss = _SAME_SITE.get(str(same_site).lower())
        if ss is None:
            raise fail("same_site must be Lax, Strict or None")
        if ss == "None" and not secure:
            raise fail("SameSite=None needs Secure")
        if partitioned and not secure:
            raise fail("partitioned needs Secure")
        if not path or not path.startswith("/") or any(c in path for c in ";\r\n") or not path.isprintable():
            raise fail("path %r must start with '/' and hold no ';'" % (path,))
        if domain is not None and domain != "" and not _valid_domain(domain.lstrip(".")):
            raise fail("domain %r is not a domain name" % (domain,))
        if revoker is None and revoke_fail_open:
            raise fail("revoke_fail_open without a revoker")
        if max_chunks > 1 and _CHUNK_SUFFIX.fullmatch(name):
            raise fail("a name ending in '.' and digits collides with another cookie's chunks")
        p = _name_prefix(name)
        if p and name[:len(p)] != p:
            # Go: New refuses it too (TestNewRefusesAPrefixInAnotherCase).
            raise fail("spells the prefix %r as %r: current browsers match prefixes case-insensitively and apply "
                       "its rules, older ones treat the name as an ordinary cookie that another host can plant; "
                       "write %r" % (p, name[:len(p)], p + name[len(p):]))
        _prefix_rules(name, secure, http_only, domain, path)
        if not _host_only_name(name) and not insecure_no_host_prefix:
            raise fail('has no "__Host-" prefix, so another host (a sibling subdomain) can plant its own session '
                       'under it for a visitor who has none (login CSRF): name it %r (the default for ""), or '
                       'acknowledge the risk with insecure_no_host_prefix=True (needed for a domain, a path other '
                       'than "/" or secure=False)' % DEFAULT_NAME)
        if max_response_cookie_bytes is not None and max_response_cookie_bytes < 0:
            raise fail("negative max_response_cookie_bytes")
        self.name = name
        self.keys = keys
        self.format = format
        self.idle_timeout, self.absolute_timeout, self.clock_skew = idle, absolute, skew
        self.refresh_after = refresh_after
        self.max_chunks = max_chunks
        self.max_value_size = max_value_size
        self.max_flashes = max_flashes
        self.browser_session = bool(browser_session)
        self.domain = domain or ""
        self.path = path
        self.secure = bool(secure)
        self.http_only = bool(http_only)
        self.same_site = ss
        self.partitioned = bool(partitioned)
        self.revoker = revoker
        self.revoke_fail_open = bool(revoke_fail_open)
        self.clock = clock
        if max_response_cookie_bytes:
            self.budget = max_response_cookie_bytes
        elif max_chunks <= 1:
            self.budget = DEFAULT_MAX_RESPONSE_COOKIE_BYTES
        else:
            self.budget = None
        self._idle_ms = int(idle * 1000)
        self._abs_ms = int(absolute * 1000)
        self._skew_ms = int(skew * 1000)
        self._refresh_ms = refresh_after * 1000
        self._codec = Codec(keys, name, format=format, idle_timeout=idle, absolute_timeout=absolute,
                            clock_skew=skew, max_value_size=max_value_size * max_chunks, clock=clock)
        # name.0 with max_chunks 1 too: a set of one chunk, which Go reads (and clears).
        self._chunk_names = ["%s.%d" % (name, i) for i in range(max_chunks)]
        self._mid = "; Path=" + path + ("; Domain=" + self.domain.lstrip(".") if self.domain else "")
        tail = []
        if self.http_only:
            tail.append("; HttpOnly")
        if self.secure:
            tail.append("; Secure")
        tail.append("; SameSite=" + ss)
        if self.partitioned:
            tail.append("; Partitioned")
        self._tail = "".join(tail)
        self._clear_plain = self._clear_line(name)
        self._clear_chunks = [self._clear_line(n) for n in self._chunk_names]
        self._reach = self._chunk_reach()
        # The smallest session must fit a line (Go: fitsLine) and the budget (fitsBudget).
        minimal = len(self._codec.seal(_env.encode(_env.Envelope(id=new_id()))))
        attrs = self._line_len(len(name), 0, max(absolute, 1), True)
        if attrs + minimal > MAX_COOKIE_LINE:
            raise fail("its name and attributes take %d of the %d bytes of a Set-Cookie line; shorten Domain or "
                       "Path" % (attrs, MAX_COOKIE_LINE))
        if self.budget is not None:
            if max_chunks > 1 and self._reach < 2:
                raise fail("max_response_cookie_bytes %d holds no write of two chunks" % self.budget)
            clears = sum(_SET_COOKIE_OVERHEAD + len(c) for c in self._clear_chunks[:self._reach])
            if _SET_COOKIE_OVERHEAD + attrs + minimal + clears > self.budget:
                raise fail("max_response_cookie_bytes %d cannot hold the smallest session" % self.budget)

    def __repr__(self):
        return "<cookieseal.Manager %r %s>" % (self.name, self.format)

    @property
    def codec(self):
        """The Codec sealing this manager's cookie (purpose: the cookie name)."""
        return self._codec

    # --- helpers --------------------------------------------------------

    def _now_ms(self):
        return clock_ns(self.clock) // 10**6

    def _outdated(self, meta):
        ks = self.keys.current()
        if meta.key_id != ks.primary.id or meta.format != self.format:
            return True
        return bool(ks.epoch_period) and meta.epoch != ks.epoch(self._now_ms())

    def _revoke_ttl_ms(self):
        return self._abs_ms + 2 * self._skew_ms + REVOKE_MARGIN_MS

    def _revoke_session(self, sid, subject, iat_ms):
        """Revokes one session until no copy can open; returns the fault (not raised)."""
        try:
            self.revoker.revoke_session(sid, subject, iat_ms + self._revoke_ttl_ms())
        except RevocationUnavailable as e:
            return e
        except Exception as e:
            return RevocationUnavailable("revoking session: %s" % type(e).__name__)
        return None

    def _revoke_subject(self, subject, before_ms):
        try:
            self.revoker.revoke_subject(subject, before_ms, before_ms + self._revoke_ttl_ms())
        except RevocationUnavailable:
            raise
        except ValueError:
            raise
        except Exception as e:
            raise RevocationUnavailable("revoking subject: %s" % type(e).__name__) from e

    def _clear_line(self, name):
        return name + "=" + self._mid + "; Max-Age=0" + self._tail

    def _line_len(self, name_len, value_len, max_age, persistent):
        n = name_len + 1 + value_len + len(self._mid) + len(self._tail)
        if persistent:
            n += len("; Expires=") + 29 + len("; Max-Age=") + len(str(max_age))
        return n

    def _set_line(self, name, value, now_ms, max_age):
        line = name + "=" + value + self._mid
        if max_age > 0:
            exp = (now_ms // 1000) + max_age
            line += "; Expires=" + email.utils.formatdate(exp, usegmt=True) + "; Max-Age=%d" % max_age
        return line + self._tail

    def _chunk_reach(self):
        if self.max_chunks <= 1:
            return 0
        if self.budget is None:
            return self.max_chunks
        persistent = not self.browser_session
        max_age = max(int(self.absolute_timeout), 1)
        last = len(self._chunk_names[-1])
        chunk = min(self.max_value_size, MAX_COOKIE_LINE - self._line_len(last, 0, max_age, persistent))
        block = _SET_COOKIE_OVERHEAD + len(self._clear_plain)
        for n in range(1, self.max_chunks + 1):
            lower = block + _SET_COOKIE_OVERHEAD + self._line_len(len(self._chunk_names[n - 1]), 1, 1, persistent)
            if lower > self.budget:
                return n - 1
            block += _SET_COOKIE_OVERHEAD + self._line_len(len(self._chunk_names[n - 1]), chunk, 1, persistent)
        return self.max_chunks

    # --- load -----------------------------------------------------------

    def load(self, cookies):
        """The request's session; never raises for bad input.

        cookies: the Cookie header (str), (name, value) pairs in request
        order, or a mapping. Prefer the header or pairs: a mapping cannot
        show a cookie sent twice. A tampered, expired, revoked, duplicate or
        malformed cookie gives an empty session whose reason says why; save()
        leaves that cookie as it is (a newer one may be on its way from
        another tab) unless the handler writes a session or destroys, except
        copies of different sessions, which it clears. A revocation store fault gives an empty,
        frozen session with reason "revoke_fault" whose cookie save() leaves
        alone (fail closed), or the session itself with revoke_fail_open.
        """
        s = Session(self)
        try:
            pairs = cookie_pairs(cookies)
        except Exception:
            pairs = []
        try:
            self._load(s, pairs)
        except Rejected as e:
            # An authentic cookie refused because it expired or was revoked
            # is left as it is unless the handler writes a session or
            # destroys: it may be the old cookie of a browser whose other
            # tab's Renew or login wrote a newer one, which a clear landing
            # after it would delete (Go: state.invalid; warden#14,
            # express-session#923). Anything else (it does not authenticate,
            # copies disagree) may be a planted piece, and is cleared.
            s._empty()
            # Copies split, and one of them opens on its own: it may be the
            # user's, left as it is at the configured place, to go with
            # every planted copy (no session, never another one) until
            # those are cleared (Go: rule 3's exception, state.keepsOwn).
            s._clear = e.reason not in _STALE_REASONS and not s._keep
            s._reason = e.reason
        return s

    def _open(self, value, plain):
        """(payload, meta, envelope) of a value, or Rejected."""
        if plain and len(value) > self.max_value_size:
            raise Rejected(_e.TOO_LARGE, "cookie: value too large")
        payload, meta = self._codec.open(value)
        try:
            env = _env.parse(payload)
        except _env.EnvelopeError as e:
            raise Rejected(_e.PAYLOAD, "middleware: payload: %s" % e) from None
        if env.dl and self._now_ms_exact() > (env.dl + self._skew_ms) * 10**6:
            raise Rejected(_e.EXPIRED, "cookie: expired: the session's own deadline")
        return payload, meta, env

    def _now_ms_exact(self):
        return clock_ns(self.clock)

    def _load(self, s, pairs):
        # The rules of Go's middleware package doc ("Copies of the cookie"):
        # the session is read only when every copy agrees, byte for byte (the
        # plain cookie, or chunks name.0 ... name.(k-1), k <= max_chunks, each
        # name with one value however often it came); anything else is no
        # session ("duplicate"), never a pick. Chunk names past max_chunks are
        # no copy.
        name = self.name
        limit = min(self.max_chunks, CHUNK_LIMIT)
        plain, nplain, chunks = None, 0, {}
        plains, vals = [], {}  # distinct values, for _may_hold (at most _MAX_HOLD_TRIES + 1 each)
        more = differ = False
        for n, v in pairs:
            if not _COOKIE_VALUE.fullmatch(v):
                # A value net/http drops (a '"' inside, '\\', a control byte, a byte >= 0x7f):
                # no copy, as Request.Cookies never returns it (rule 1). Names need no check:
                # only the session's own names (tokens) are looked at.
                continue
            if n == name:
                if v not in plains and len(plains) <= _MAX_HOLD_TRIES:
                    plains.append(v)
                if nplain == 0:
                    plain = v
                else:
                    more, differ = True, differ or v != plain
                nplain += 1
                continue
            i = _chunk_index(n, name)
            if i is None:
                continue
            s._chunked = True  # Go: any chunk name makes the request a chunked one
            if i >= limit:
                # Past max_chunks: never a copy, cleared by the response (Go: carried.beyond).
                if n not in s._beyond and len(s._beyond) < _MAX_BEYOND:
                    s._beyond.append(n)
                continue
            seen = vals.setdefault(i, [])
            if v not in seen and len(seen) <= _MAX_HOLD_TRIES:
                seen.append(v)
            if i in chunks:
                more, differ = True, differ or v != chunks[i]
            else:
                chunks[i] = v
                if n not in s._carried:
                    s._carried.append(n)
        s._plain = nplain
        k = 0
        while k in chunks:
            k += 1
        agree = not differ and not (nplain and chunks) and len(chunks) == k
        s._dup = more or not agree
        if nplain == 0 and not chunks:
            return  # no cookie: a new, empty session
        if not agree:
            s._keep = self._may_hold(plains, vals)
            raise Rejected(_e.DUPLICATE, "middleware: session cookie sent more than once: copies that disagree")
        if nplain:
            found = self._open(plain, True)
        else:
            value = "".join(chunks[j] for j in range(k))
            if len(value) > self.max_value_size * self.max_chunks:
                s._keep = k > 1 and self._may_hold(plains, vals)
                raise Rejected(_e.TOO_LARGE, "cookie: chunked value too large")
            try:
                found = self._open(value, False)
            except Rejected as e:
                # A chunk set that does not open may be the user's chunks
                # followed by a planted one (name.k past the user's set).
                if k > 1 and e.reason not in _STALE_REASONS:
                    s._keep = self._may_hold(plains, vals)
                raise
        self._admit(s, found)
        s._reseal = s._dup and s._valid

    def _may_hold(self, plains, vals):
        """Whether some value the request carried for the session opens on its
        own, when its copies were split: a plain copy, or chunks 0 ... j-1 of
        one value each (the chunks of one write: all of the first one's
        length but the last, which is not longer). Such a value may be the
        user's session, which the response then leaves at the configured
        place. Bounded as Go's state.mayHoldSession: at most _MAX_HOLD_TRIES
        values of a name and sets of chunks, four times the longest value a
        session can have; past that, yes."""
        limit = min(self.max_chunks, CHUNK_LIMIT)
        if len(plains) > _MAX_HOLD_TRIES or any(len(v) > _MAX_HOLD_TRIES for i, v in vals.items() if i < limit):
            return True
        max_len = self.max_value_size * self.max_chunks
        budget = [4 * max_len]

        def opens(v):
            budget[0] -= len(v)
            try:
                self._codec.open(v)
            except Exception:
                return False
            return True

        for v in plains:
            if budget[0] < len(v):
                return True
            if len(v) <= self.max_value_size and opens(v):
                return True
        run, sets = 0, 1
        while run < limit and vals.get(run):
            sets *= len(vals[run])
            if sets > _MAX_HOLD_TRIES:
                return True
            run += 1
        if run < 2:
            return False  # a write sets two chunks or more
        choice = [0] * run
        for _ in range(sets):
            joined = ""
            first = len(vals[0][choice[0]])
            for j in range(1, run + 1):
                v = vals[j - 1][choice[j - 1]]
                if len(v) > first:
                    break  # not the chunks of one write
                joined += v
                if j > 1 and len(joined) <= max_len:
                    if budget[0] < len(joined):
                        return True
                    if opens(joined):
                        return True
                if len(v) < first:
                    break  # the last chunk of a write: no longer set is one
            for i in range(run):
                choice[i] += 1
                if choice[i] < len(vals[i]):
                    break
                choice[i] = 0
        return False

    def _admit(self, s, found):
        payload, meta, env = found
        s._meta, s._payload = meta, payload
        s._open_id, s._open_sub = env.id, env.sub
        if self.revoker is not None:
            try:
                revoked = self.revoker.check(env.id, env.sub, meta.issued_at_ms, self._now_ms())
            except Exception as e:
                fault = e if isinstance(e, RevocationUnavailable) else \
                    RevocationUnavailable("revocation check failed: %s" % type(e).__name__)
                if not self.revoke_fail_open:
                    s._payload = None
                    s._frozen, s._fault, s._reason = True, fault, _e.REVOKE_FAULT
                    return
                s._fault = fault
                revoked = False
            if revoked:
                s._stale = True
                raise Rejected(_e.REVOKED, "revoke: session revoked")
        s._valid = True
        s._id, s._sub, s._iat = env.id, env.sub, meta.issued_at_ms
        s._data, s._flashes, s._dl, s._p = env.data, env.flashes, env.dl, env.p

    # --- save -----------------------------------------------------------

    def save(self, session, response_cookies=()):
        """The Set-Cookie header values for the response (Go: the commit before the first byte).

        The session sealed (or its chunks, with clearing lines for the
        unused names), a clear, or [] when nothing changed and no refresh is
        due; before them, the lines that clear what the request carried
        beside the session's own cookie (Go's sweep: chunk names past
        max_chunks, and with partitioned, the unpartitioned form), at the
        configured Domain and Path. A session whose flashes make it too
        large drops its oldest flashes until it fits. Raises SessionTooLarge
        when the session does not fit max_value_size x max_chunks, a
        4096-byte line or the response budget (nothing is written then).

        response_cookies: the Set-Cookie values the response carries
        already (the application's own cookies): the budget counts the
        whole response, as Go's counts every Set-Cookie line of w.Header(),
        so that a proxy's header buffer never turns it into a 502.
        """
        other = sum(_SET_COOKIE_OVERHEAD + len(l) for l in response_cookies or ())
        own = self._save_own(session, other)
        if session._frozen or not session._accessed:
            return own
        return self._sweep(session, own, other) + own

    def _sweep(self, s, own, other=0):
        """Go's state.sweep, at the configured place only (a "__Host-" name has no other;
        other names' copies at parent domains and other paths are not reached: Python is
        not told the request's host and path)."""
        full = s._dup or bool(s._beyond)
        carried = s._plain > 0 or bool(s._carried)
        if not full and (not carried or not self.partitioned):
            return []
        if not full and not own:
            return []
        cleared = sum(_SET_COOKIE_OVERHEAD + len(l) for l in own if "; Max-Age=0" in l)
        room = _SWEEP_BUDGET - cleared
        if self.budget is not None:
            room = min(room, self.budget - other - sum(_SET_COOKIE_OVERHEAD + len(l) for l in own))
        names = s._present() if own and (s._dup or not full) else []
        session = len(names)
        names += sorted(s._beyond, key=lambda n: (len(n), n))
        out = []
        for i, n in enumerate(names):
            forms = []
            if i >= session:
                forms = [self.partitioned] + ([False] if self.partitioned else [])
            elif self.partitioned:
                forms = [False]  # the commit's own line is partitioned: the other form is left
            for partitioned in forms:
                line = self._sweep_line(n, partitioned)
                room -= _SET_COOKIE_OVERHEAD + len(line)
                if room < 0:
                    return out
                out.append(line)
        return out

    def _sweep_line(self, name, partitioned):
        """Go's sweepLine: Max-Age=0 with only what selects the cookie or a browser checks."""
        line = name + "=; Path=" + self.path
        if self.domain:
            line += "; Domain=" + self.domain.lstrip(".").lower()
        line += "; Max-Age=0"
        if _name_prefix(self.name) in ("__Http-", "__Host-Http-"):
            line += "; HttpOnly"
        if self.secure:
            line += "; Secure"
        if self.same_site == "None":
            line += "; SameSite=None"
        if partitioned:
            line += "; Partitioned"
        return line

    def _save_own(self, session, other=0):
        """The Set-Cookie header values for the response (Go: the commit before the first byte).

        The session sealed (or its chunks, with clearing lines for the
        unused names), a clear, or [] when nothing changed and no refresh is
        due. A session whose flashes make it too large drops its oldest
        flashes until it fits. Raises SessionTooLarge when the session does
        not fit max_value_size x max_chunks, a 4096-byte line or the
        response budget (nothing is written then).
        """
        s = session
        if not isinstance(s, Session) or s._m is not self:
            raise TypeError("save takes a Session this manager loaded")
        with s._lock:
            s._sync_handed()
            if s._frozen or not s._accessed:
                return []
            if s._dirty:
                s._ensure()
                while True:
                    payload = _env.encode(_env.Envelope(s._id, s._sub, s._data, s._flashes, s._dl, s._p))
                    try:
                        return self._write(s, payload, s._iat, other)
                    except SessionTooLarge:
                        if self._drop_carried_beyond_reach(s):
                            continue
                        if not s._flashes:
                            raise
                        s._flashes = s._flashes[1:]  # the oldest flash goes (max_flashes)
            if s._valid:
                if s.status == REFRESHED:
                    while True:
                        try:
                            return self._write(s, s._payload, s._meta.issued_at_ms, other)
                        except SessionTooLarge:
                            if not self._drop_carried_beyond_reach(s):
                                raise
                return []
            if s._clear:
                return self._clear_lines(s)
            return []

    def _drop_carried_beyond_reach(self, s):
        """Forgets the carried chunk names no write within the budget reaches, whose
        clearing lines made a write too large; True when there were some (Go: the
        commit drops them and writes again: lines a stranger can cause never cost
        the session its write)."""
        beyond = [n for n in s._carried if self._chunk_names.index(n) >= self._reach]
        if not beyond:
            return False
        s._carried = [n for n in s._carried if n not in beyond]
        return True

    def _clear_lines(self, s):
        if s._destroyed and self.max_chunks > 1:
            return [self._clear_plain] + self._clear_unused(s, 0)
        return [self._clear_line(n) for n in s._present()]

    def _clear_unused(self, s, start):
        out = [self._clear_chunks[i] for i in range(start, self._reach)]
        for n in s._carried:
            i = self._chunk_names.index(n)
            if i >= max(start, self._reach):
                out.append(self._clear_line(n))
        return out

    def _write(self, s, payload, issued_at_ms, other=0):
        try:
            sealed = self._codec.seal(payload, issued_at_ms)
        except SessionTooLarge:
            raise SessionTooLarge("saving session %r: %d-byte payload over %d bytes x %d chunks (max_value_size x "
                                  "max_chunks, the same on every Go and Python instance)"
                                  % (self.name, len(payload), self.max_value_size, self.max_chunks)) from None
        now = self._now_ms()
        rat = max(now, issued_at_ms)
        deadline = min(issued_at_ms + self._abs_ms, rat + self._idle_ms)
        if s._dl and s._dl < deadline:
            deadline = s._dl
        persistent = s._p if s._p is not None else not self.browser_session
        max_age = max((deadline - now) // 1000, 1) if persistent else 0
        # Go: int(deadline.Sub(now)/time.Second) truncates toward zero.
        if persistent and deadline - now < 0:
            max_age = 1
        line = self._line_len(len(self.name), len(sealed), max_age, persistent)
        if len(sealed) <= self.max_value_size and line <= MAX_COOKIE_LINE:
            lines = [self._set_line(self.name, sealed, now, max_age)] + self._clear_unused(s, 0)
        elif self.max_chunks == 1:
            raise SessionTooLarge("saving session %r: %d-byte value, %d-byte Set-Cookie line (at most %d-byte value, "
                                  "%d-byte line; max_chunks 1 as on the Go side: store less in the session)"
                                  % (self.name, len(sealed), line, self.max_value_size, MAX_COOKIE_LINE))
        else:
            size = min(self.max_value_size,
                       MAX_COOKIE_LINE - self._line_len(len(self._chunk_names[-1]), 0, max_age, persistent))
            n = -(-len(sealed) // size)
            if n > self.max_chunks:
                raise SessionTooLarge("saving session %r: %d bytes need %d chunks of %d, at most %d allowed"
                                      % (self.name, len(sealed), n, size, self.max_chunks))
            lines = [self._set_line(self._chunk_names[i], sealed[i * size:(i + 1) * size], now, max_age)
                     for i in range(n)]
            lines.append(self._clear_plain)
            lines += self._clear_unused(s, n)
        if self.budget is not None:
            total = other + sum(_SET_COOKIE_OVERHEAD + len(x) for x in lines)
            if total > self.budget:
                raise SessionTooLarge("saving session %r: %d Set-Cookie lines take %d bytes (%d of them the "
                                      "response's other cookies), over max_response_cookie_bytes %d"
                                      % (self.name, len(lines), total, other, self.budget))
        return lines

    # --- revocation -----------------------------------------------------

    def revoke_subject(self, subject):
        """Logs subject out everywhere: every session issued before now (Go: RevokeSubject).

        Raises ValueError without a revoker or with an empty subject,
        RevocationUnavailable on a store fault (nothing revoked then).
        """
        if self.revoker is None:
            raise ValueError("revoke_subject needs a revoker")
        if not subject:
            raise ValueError("revoke_subject: empty subject")
        self._revoke_subject(subject, self._now_ms())


def _valid_domain(d):
    if not d or len(d) > 253:
        return False
    labels = d.split(".")
    for label in labels:
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-" or \
                not re.fullmatch(r"[A-Za-z0-9-]+", label):
            return False
    return labels[-1].strip("0123456789") != ""


def _name_prefix(name):
    """The cookie name prefix browsers enforce on name, in its canonical
    spelling, or "": matched case-insensitively, the longest first (Go:
    middleware's namePrefix)."""
    for p in ("__Host-Http-", "__Http-", "__Host-", "__Secure-"):
        if name[:len(p)].lower() == p.lower():
            return p
    return ""


def _host_only_name(name):
    """Whether a browser keeps name host-only on Path=/ (a "__Host-" or
    "__Host-Http-" prefix; the Manager refuses other spellings): no sibling
    host can plant it (Go: middleware's hostOnlyName)."""
    return _name_prefix(name) in ("__Host-", "__Host-Http-")


def _prefix_rules(name, secure, http_only, domain, path):
    p = _name_prefix(name)
    if not p:
        return

    def fail(what):
        return ValueError("cookie %r: a %s cookie %s" % (name, p, what))

    if not secure:
        raise fail("must be Secure (browsers store Secure cookies from http://localhost too)")
    if p in ("__Http-", "__Host-Http-") and not http_only:
        raise fail("must be HttpOnly")
    if p in ("__Host-", "__Host-Http-") and domain:
        raise fail("must not have a Domain (domain %r)" % domain)
    if p in ("__Host-", "__Host-Http-") and path != "/":
        raise fail("must have Path=/ (path %r)" % path)


def _chunk_index(cookie_name, name):
    """The index of a chunk name of name, or None: as Go's internal/chunkname.Index parses it.

    name + "." + a strict decimal index (ASCII digits only, no sign, no
    white space, no leading zero but for "0" itself); an index past Go's
    math.MaxInt is saturated to it (a chunk beyond any cap), so no name,
    however long, makes load raise (CPython refuses int() of > 4300 digits)."""
    if len(cookie_name) < len(name) + 2 or cookie_name[len(name)] != "." or not cookie_name.startswith(name):
        return None
    digits = cookie_name[len(name) + 1:]
    if digits[0] == "0":
        return 0 if len(digits) == 1 else None
    if not _DIGITS.fullmatch(digits):
        return None
    if len(digits) > len(_MAX_INT_DIGITS):
        return _MAX_INT
    return min(int(digits), _MAX_INT)
