"""What the Flask and Starlette adapters share: the request.session object.

Framework-free. A SessionProxy is a mutable mapping over one request's
cookieseal Session (the data, "d" on the wire) that also carries the
envelope (subject, flashes, remember-me, deadline) and the lifecycle
(renew, destroy). clear() is the framework's logout idiom, so it ends the
session (destroy: the cookie cleared, the session revoked), as Go's
Session.Destroy does.
"""

import logging
from collections.abc import MutableMapping

import cookieseal

_log = logging.getLogger("cookieseal")
# Raised by Session.destroy() for a session without a subject (with a
# revoker): the cookie is cleared, and nothing was revoked. Go: ErrNoSubject.
_NO_SUBJECT = getattr(cookieseal, "NoSubject", ())


def end_session(session):
    """Go's Destroy as a framework's logout: the cookie is cleared and, with
    a revoker, the session revoked. A session without a subject has nothing
    to revoke (only sessions with a subject are, as in Go): its cookie is
    cleared and the logout succeeds, logged at WARNING as Go's
    NewLogObserver logs it: a copy of the cookie stays valid until it
    expires, harmless for a session that grants nothing, a bug for one
    that does (give it a subject at login). A store fault still raises
    RevocationUnavailable, after clearing the cookie."""
    try:
        session.destroy()
    except _NO_SUBJECT:
        _log.warning("cookieseal: logout of a session without a subject: its cookie is cleared, nothing was revoked")


class SessionProxy(MutableMapping):
    """request.session: the data, the envelope and the lifecycle of one session."""

    __slots__ = ("cookieseal",)

    def __init__(self, session):
        #: The cookieseal.Session underneath.
        self.cookieseal = session

    # The data.
    def __getitem__(self, key):
        return self.cookieseal[key]

    def __setitem__(self, key, value):
        self.cookieseal[key] = value

    def __delitem__(self, key):
        del self.cookieseal[key]

    def __iter__(self):
        return iter(self.cookieseal)

    def __len__(self):
        return len(self.cookieseal)

    def setdefault(self, key, default=None):
        """self[key], set to default first when missing; the session's own
        object is returned, so setdefault("cart", []).append(x) is saved."""
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return self[key]

    def __repr__(self):
        return "<%s id=%r subject=%r keys=%r>" % (type(self).__name__, self.id, self.subject, list(self))

    def clear(self):
        """Ends the session: data and subject gone, the cookie cleared, and
        (with a revoker) the session revoked so that no copy opens anywhere,
        Go included. Raises RevocationUnavailable when the store did not
        answer (the cookie is cleared all the same)."""
        end_session(self.cookieseal)

    # The envelope.
    @property
    def id(self):
        """The session id; "" until the session exists."""
        return self.cookieseal.id

    @property
    def subject(self):
        """The user the session belongs to; "" for none."""
        return self.cookieseal.subject

    @subject.setter
    def subject(self, value):
        self.cookieseal.set_subject(value)

    @property
    def authenticated(self):
        """True when the session has a subject."""
        return self.cookieseal.authenticated

    @property
    def remember_me(self):
        """Persistent cookie (True) or browser-session cookie (False)."""
        return self.cookieseal.remember_me

    @remember_me.setter
    def remember_me(self, value):
        self.cookieseal.remember_me = value

    @property
    def deadline(self):
        return self.cookieseal.deadline

    def set_deadline(self, when):
        self.cookieseal.set_deadline(when)

    def flash(self, value):
        """Queues a flash (any JSON value), in the envelope Go reads too."""
        self.cookieseal.flash(value)

    def pop_flashes(self):
        """Returns and removes the queued flashes, Go's included."""
        return self.cookieseal.pop_flashes()

    # The lifecycle.
    def renew(self):
        """A new session id and issued-at, the data kept: call it at login."""
        self.cookieseal.renew()

    def destroy(self):
        """The same as clear()."""
        end_session(self.cookieseal)

    def revoke_others(self):
        """Logs the subject out of every other session, keeps this one."""
        self.cookieseal.revoke_others()

    @property
    def reason(self):
        """Why the request's cookie was refused (Go's reason names), else None."""
        return self.cookieseal.reason


def private_cache_control(value):
    """A Cache-Control value made private, as Go's middleware makes a
    response that depends on a session: what grants shared caches
    something (public, s-maxage) goes, private is added unless the value
    says private or no-store, and the rest (max-age for the browser...)
    stays."""
    kept, private = [], False
    for part in (value or "").split(","):
        part = part.strip()
        name = part.split("=", 1)[0].strip().lower()
        if not name or name in ("public", "s-maxage"):
            continue
        if name == "no-store" or part.lower() == "private":
            private = True
        kept.append(part)
    return ", ".join(kept if private else kept + ["private"])
