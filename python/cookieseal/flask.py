"""Flask: a SessionInterface that keeps flask.session in a cookieseal cookie.

    import cookieseal, cookieseal.flask

    manager = cookieseal.Manager(cookieseal.Keys.from_file("/run/secrets/cookieseal.json"))
    app = flask.Flask(__name__)
    app.session_interface = cookieseal.flask.SessionInterface(manager)

flask.session is then the session a Go service on the same key set reads
and writes:

- session["k"] = v / session["k"]: the session's data (JSON values; ints
  exact to any size), Go's sess.Get/Set.
- session.permanent: the cookie's kind, Go's SetRememberMe / RememberMe:
  True a persistent cookie (Max-Age from the key set's lifetime), False a
  browser-session cookie. Unset, it follows Manager(browser_session=...),
  like a Go manager's Options.BrowserSession (so it is True by default,
  unlike Flask's own sessions).
- session.clear(): logs out. The session ends (Go's Destroy): the cookie is
  cleared and, with a revoker, the session is revoked, so a copy of the
  cookie no longer opens in Python or in Go. To remove some data only,
  pop those keys.
- session.subject, session.renew() (call it at login), session.flash(v) /
  session.pop_flashes() (the flashes Go's AddFlash and PopFlashes use),
  session.remember_me, session.set_deadline(dt), session.revoke_others(),
  session.reason (why a cookie was refused).

The Manager owns every cookie setting: its name, Domain, Path, Secure,
HttpOnly, SameSite, the lifetime (the key set's, as on the Go side) and
chunking. Flask's SESSION_COOKIE_* settings, PERMANENT_SESSION_LIFETIME,
SESSION_REFRESH_EACH_REQUEST and SECRET_KEY are not used by this
interface; the Go and Python sides agree through the key set file and the
Manager's arguments instead. flask.flash() and get_flashed_messages() use
the session's flash queue, the one Go's AddFlash and PopFlashes use: a
message flashed in Go is popped by Flask and the other way round.

The Set-Cookie lines are the Manager's, verbatim (chunks, clears of unused
chunks, __Host- rules); a response that read the session varies on Cookie,
and one that depends on a session is made Cache-Control private, as Go's
middleware does.
"""

import flask.sessions

from ._adapters import SessionProxy, private_cache_control


FLASHES = "_flashes"  # where flask.flash() and get_flashed_messages() keep their queue


def _to_flask(v):
    """An envelope flash as Flask's (category, message)."""
    if isinstance(v, dict) and set(v) == {"category", "message"}:
        return (v["category"], v["message"])
    return ("message", v)


def _to_envelope(item):
    """Flask's (category, message) as an envelope flash: the bare message
    for the default category (what Go's AddFlash("text") writes)."""
    category, message = item
    return message if category == "message" else {"category": category, "message": message}


class Session(SessionProxy, flask.sessions.SessionMixin):
    """flask.session: a cookieseal session with Flask's SessionMixin.

    The member "_flashes", through which flask.flash() and
    get_flashed_messages() queue messages, is the envelope's flash queue
    (Go's AddFlash and PopFlashes): a message flashed with the default
    category is the bare message, another category is
    {"category": c, "message": m}; whichever side pops first gets them.
    """

    __slots__ = ()

    def __getitem__(self, key):
        if key == FLASHES:
            flashes = self.cookieseal.peek_flashes()
            if not flashes:
                raise KeyError(key)
            return [_to_flask(v) for v in flashes]
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        if key != FLASHES:
            return super().__setitem__(key, value)
        self.cookieseal.pop_flashes()
        for item in value:
            self.cookieseal.flash(_to_envelope(item))

    def __delitem__(self, key):
        if key != FLASHES:
            return super().__delitem__(key)
        if not self.cookieseal.pop_flashes():
            raise KeyError(key)

    @property
    def permanent(self):
        return self.cookieseal.remember_me

    @permanent.setter
    def permanent(self, value):
        self.cookieseal.remember_me = bool(value)

    @property
    def new(self):
        return self.cookieseal.is_new

    @property
    def modified(self):
        return self.cookieseal.modified

    @modified.setter
    def modified(self, value):
        # Flask's idiom after changing a mutable value in place
        # (session.modified = True): the session is written. In-place
        # changes are noticed anyway; False cannot undo a change and is ignored.
        if value:
            self.cookieseal.mark_modified()

    @property
    def accessed(self):
        return self.cookieseal.accessed


class SessionInterface(flask.sessions.SessionInterface):
    """Keeps flask.session in the cookie of a cookieseal.Manager."""

    def __init__(self, manager):
        self.manager = manager

    def get_cookie_name(self, app):
        return self.manager.name

    def open_session(self, app, request):
        # The raw header, not request.cookies: a dict cannot show a cookie
        # sent twice, or every chunk of a chunked session in order.
        return Session(self.manager.load(request.headers.get("Cookie", "")))

    def save_session(self, app, session, response):
        cs = session.cookieseal
        if cs.committed:
            # Saved already, or its save failed: Flask saves the session again on
            # the 500 it answers a failed save with, which must not carry it.
            return
        try:
            # The budget counts the whole response (the app's own cookies too), as Go's does.
            lines = self.manager.save(cs, response.headers.getlist("Set-Cookie"))
        except Exception:
            cs.commit("its save failed")  # SessionTooLarge: nothing written, now or on the 500
            raise
        if cs.accessed:
            response.vary.add("Cookie")
        if cs.private:
            response.headers["Cache-Control"] = private_cache_control(response.headers.get("Cache-Control"))
        for line in lines:
            response.headers.add("Set-Cookie", line)
        cs.commit("the response was saved")  # later changes raise ResponseStarted instead of being lost
