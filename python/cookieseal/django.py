"""Django: a SESSION_ENGINE that keeps request.session in a cookieseal cookie.

Settings (see docs/python.md for a complete project):

    SESSION_ENGINE = "cookieseal.django"
    COOKIESEAL_MANAGER = "myproject.sessions.manager"   # a cookieseal.Manager
    MIDDLEWARE = [
        ...,
        "cookieseal.django.SessionMiddleware",  # in place of django.contrib.sessions' SessionMiddleware
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        ...,
    ]

COOKIESEAL_MANAGER is the dotted path of a cookieseal.Manager object,
built once at import from the key set file the Go side reads. The
Manager owns the cookie: name, Domain, Path, Secure, HttpOnly, SameSite,
format, chunking and the lifetime, which comes from the key set (as on the
Go side), not from SESSION_COOKIE_AGE.

Why a middleware of its own: Django's SessionMiddleware writes one cookie
with its own attributes and Max-Age. A cookieseal session is one cookie or
several chunks (name.0, name.1, ...), and every write must also expire the
chunks it does not use, keep the __Host- rules and read a cookie sent twice
as Go does (Django's request.COOKIES keeps one copy). So
cookieseal.django.SessionMiddleware reads the raw Cookie header and writes
the Manager's Set-Cookie lines verbatim. It subclasses Django's, so
django.contrib.admin's check for a session middleware passes.

What maps:

- request.session[k] = v, get, pop, keys, ...: the session's data (JSON
  values, SESSION_SERIALIZER is not used; ints exact to any size): Go's
  sess.Get/Set.
- request.session.cycle_key(): Go's Renew (a new id and issued-at, the old
  id revoked). django.contrib.auth.login() calls it.
- request.session.flush(): Go's Destroy: the cookie cleared and, with a
  revoker, the session revoked, so a copy opens nowhere (Python or Go).
  django.contrib.auth.logout() calls it. clear() removes the data only.
- The subject (Go's Subject, what revocation by user uses): set
  request.session.subject; django.contrib.auth.login() sets it for you, as
  the user's primary key (the "_auth_user_id" member), and logout ends it.
- set_expiry(0): a browser-session cookie (Go's SetRememberMe(false));
  set_expiry(datetime or timedelta): the session's own deadline (Go's
  SetDeadline, capped at the key set's absolute timeout) and a persistent
  cookie; set_expiry(None): back to the defaults.
- get_expiry_age(), get_expiry_date(): when the session ends without
  another request (Go's IdleDeadline); get_expire_at_browser_close(): not
  remember-me.
- SESSION_EXPIRE_AT_BROWSER_CLOSE: must equal Manager(browser_session=...).

What is refused (ImproperlyConfigured when the middleware starts, or
ValueError at the call):

- set_expiry(seconds > 0): Django's per-session idle timeout. cookieseal
  has one idle timeout, the key set's, which Go enforces too; a per-session
  one would be ignored by every Go reader.
- SESSION_COOKIE_AGE different from the key set's absolute timeout,
  SESSION_SAVE_EVERY_REQUEST = True (the sliding refresh writes the cookie
  when due, as in Go), a SESSION_COOKIE_NAME, _DOMAIN, _PATH, _SECURE,
  _HTTPONLY or _SAMESITE different from the Manager's, Django's own
  SessionMiddleware in MIDDLEWARE, and a SESSION_ENGINE other than this
  module. Settings left at Django's defaults are ignored.
"""

import datetime
from http.cookies import Morsel

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from . import Manager
from ._adapters import end_session, private_cache_control

ENGINE = "cookieseal.django"
#: django.contrib.auth's session member holding the user's primary key.
AUTH_USER_KEY = "_auth_user_id"


def get_manager():
    """The cookieseal.Manager that settings.COOKIESEAL_MANAGER names."""
    path = getattr(settings, "COOKIESEAL_MANAGER", None)
    if not path:
        raise ImproperlyConfigured("COOKIESEAL_MANAGER must name a cookieseal.Manager (a dotted path)")
    manager = import_string(path) if isinstance(path, str) else path
    if not isinstance(manager, Manager):
        raise ImproperlyConfigured("COOKIESEAL_MANAGER %r is not a cookieseal.Manager" % (path,))
    return manager


def _lifetime(manager):
    """(idle, absolute) timeouts in seconds, as the manager resolved them."""
    idle, absolute = getattr(manager, "idle_timeout", None), getattr(manager, "absolute_timeout", None)
    if idle is None or absolute is None:
        lt = manager.keys.current().lifetime
        idle, absolute = idle or lt.idle_timeout, absolute or lt.absolute_timeout
    return idle, absolute


class SessionStore(SessionBase):
    """request.session: Django's session API over a cookieseal session.

    Built by cookieseal.django.SessionMiddleware from the request's Cookie
    header. SessionStore(session_key) (what Django's test client and
    other tools do) reads session_key as the value of the session cookie,
    as signed_cookies does; after save(), session_key is the sealed cookie
    value when it fits one cookie. The session id is request.session.id.

    A key taken from request.COOKIES or parse_cookie is the last copy of
    the name: two copies that disagree open as one of them, where the
    middleware and Go see no session. Tools that read the session of a
    request pass the raw header, SessionStore(cookies=header), so the
    copy rules apply (docs/python.md, "Other tools reading the session").
    """

    def __init__(self, session_key=None, *, cookies=None, manager=None):
        super().__init__(session_key)
        self._manager = manager or get_manager()
        if cookies is None:
            cookies = [(self._manager.name, session_key)] if session_key else []
        self._cs = self._manager.load(cookies)
        self._session_cache = self._cs  # the data; SessionBase reads and writes it as a mapping

    # --- cookieseal's additions -----------------------------------------
    @property
    def cookieseal(self):
        """The cookieseal.Session underneath."""
        return self._cs

    @property
    def id(self):
        """The session id (Go's Session.ID); "" until the session exists."""
        return self._cs.id

    @property
    def subject(self):
        """The user the session belongs to (Go's Subject); "" for none."""
        return self._cs.subject

    @subject.setter
    def subject(self, value):
        self._cs.set_subject(value)
        self.modified = True

    @property
    def authenticated(self):
        return self._cs.authenticated

    @property
    def remember_me(self):
        return self._cs.remember_me

    @remember_me.setter
    def remember_me(self, value):
        self._cs.remember_me = value
        self.modified = True

    @property
    def reason(self):
        """Why the request's cookie was refused (Go's reason names), else None."""
        return self._cs.reason

    def flash(self, value):
        """Queues a flash (any JSON value) in the envelope, where Go's PopFlashes finds it."""
        self._cs.flash(value)
        self.modified = True

    def pop_flashes(self):
        """Returns and removes the queued flashes, Go's AddFlash included."""
        return self._cs.pop_flashes()

    def renew(self):
        self.cycle_key()

    def revoke_others(self):
        """Logs the subject out of every other session and keeps this one (Go's RevokeOthers)."""
        self._cs.revoke_others()
        self.modified = True

    # --- the subject follows django.contrib.auth ------------------------
    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if key == AUTH_USER_KEY:
            self._cs.set_subject(str(value))

    def __delitem__(self, key):
        super().__delitem__(key)
        if key == AUTH_USER_KEY:
            self._cs.set_subject("")

    def setdefault(self, key, value=None):
        # The session's own object, so that an in-place change afterwards is saved.
        if key in self._cs:
            return self[key]
        self[key] = value
        return self._cs[key]

    def pop(self, key, *default):
        v = super().pop(key, *default)
        if key == AUTH_USER_KEY:
            self._cs.set_subject("")
        return v

    # --- SessionBase's contract -----------------------------------------
    def load(self):
        return self._cs

    def exists(self, session_key):
        return False  # the session is in the cookie: no key can clash

    def create(self):
        self.modified = True

    def save(self, must_create=False):
        """Seals the session. The middleware writes the cookie; session_key
        becomes the sealed value when it is one cookie (for Django's test
        client, as with signed_cookies)."""
        name = self._manager.name
        key = None
        for line in self._manager.save(self._cs):
            n, _, v = line.split(";", 1)[0].partition("=")
            if n.strip() == name and v and "max-age=0" not in line.lower():
                key = v.strip()
        self._session_key = key
        self.modified = True

    def delete(self, session_key=None):
        end_session(self._cs)
        self._session_key = None
        self.modified = True

    def clear(self):
        """Removes the data (and the subject with django.contrib.auth's
        member); the session goes on. flush() ends it."""
        had_user = AUTH_USER_KEY in self._cs
        self._cs.clear()
        if had_user:
            self._cs.set_subject("")
        self.accessed = True
        self.modified = True

    def flush(self):
        """Ends the session (Go's Destroy): cleared cookie, revoked session."""
        self.delete()

    def cycle_key(self):
        """A new session id and issued-at, the data kept (Go's Renew)."""
        self._cs.renew()
        self.modified = True

    def is_empty(self):
        return not self._cs.id and not len(self._cs)

    # --- expiry ---------------------------------------------------------
    def get_session_cookie_age(self):
        return _lifetime(self._manager)[1]

    def get_expiry_age(self, **kwargs):
        """Seconds until the session ends without another request."""
        end = self.get_expiry_date(**kwargs)
        now = kwargs.get("modification") or datetime.datetime.now(datetime.timezone.utc)
        if now.tzinfo is None:
            now = now.astimezone()
        return max(0, int((end - now).total_seconds()))

    def get_expiry_date(self, **kwargs):
        """When the session ends without another request (Go's IdleDeadline)."""
        end = self._cs.idle_deadline
        if end is None:  # not written yet: a new session would get the full idle timeout
            now = datetime.datetime.now(datetime.timezone.utc)
            end = min(now + datetime.timedelta(seconds=_lifetime(self._manager)[0]),
                      self._cs.deadline or datetime.datetime.max.replace(tzinfo=datetime.timezone.utc))
        return end

    def set_expiry(self, value):
        if value is None:
            self._cs.set_deadline(None)
            self._cs.remember_me = not getattr(self._manager, "browser_session", False)
        elif isinstance(value, (datetime.datetime, datetime.timedelta)):
            if isinstance(value, datetime.timedelta):
                value = datetime.datetime.now(datetime.timezone.utc) + value
            elif value.tzinfo is None:
                value = value.astimezone()  # a naive datetime is local time, as with USE_TZ = False
            self._cs.set_deadline(value)
            if not self._cs.remember_me:  # Django: a dated expiry is a persistent cookie
                self._cs.remember_me = True
        elif isinstance(value, int) and not isinstance(value, bool) and value == 0:
            self._cs.remember_me = False
        else:
            raise ValueError(
                "cookieseal.django: set_expiry(%r) is refused: a per-session idle timeout does not exist in "
                "cookieseal (the key set's idle_timeout applies to every session, in Go too). Use 0 for a "
                "browser-session cookie, a datetime or timedelta for the session's own deadline, or None" % (value,))
        self.modified = True

    def get_expire_at_browser_close(self):
        return not self._cs.remember_me

    @classmethod
    def clear_expired(cls):
        pass  # nothing is stored server side


def _check_settings(manager):
    problems = []
    if settings.SESSION_ENGINE != ENGINE:
        problems.append("SESSION_ENGINE must be %r (it is %r)" % (ENGINE, settings.SESSION_ENGINE))
    if "django.contrib.sessions.middleware.SessionMiddleware" in settings.MIDDLEWARE:
        problems.append("remove django.contrib.sessions.middleware.SessionMiddleware from MIDDLEWARE: "
                        "cookieseal.django.SessionMiddleware takes its place")
    idle, absolute = _lifetime(manager)
    if settings.is_overridden("SESSION_COOKIE_AGE") and settings.SESSION_COOKIE_AGE != absolute:
        problems.append("SESSION_COOKIE_AGE is %s s but the key set's absolute timeout is %s s: the lifetime is "
                        "the key set's (Go reads it too); remove the setting" % (settings.SESSION_COOKIE_AGE, absolute))
    if settings.SESSION_SAVE_EVERY_REQUEST:
        problems.append("SESSION_SAVE_EVERY_REQUEST is refused: the cookie is re-sealed when the sliding refresh "
                        "is due (idle_timeout/4), as in Go")
    same = [
        ("SESSION_COOKIE_NAME", "name", None),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "browser_session", None),
        ("SESSION_COOKIE_DOMAIN", "domain", None),
        ("SESSION_COOKIE_PATH", "path", None),
        ("SESSION_COOKIE_SECURE", "secure", None),
        ("SESSION_COOKIE_HTTPONLY", "http_only", None),
        ("SESSION_COOKIE_SAMESITE", "same_site", str.lower),
    ]
    for setting, attr, norm in same:
        if not settings.is_overridden(setting) or not hasattr(manager, attr):
            continue
        mine, theirs = getattr(settings, setting), getattr(manager, attr)
        if norm and isinstance(mine, str) and isinstance(theirs, str):
            mine, theirs = norm(mine), norm(theirs)
        if mine != theirs:
            problems.append("%s is %r but the cookieseal Manager's %s is %r: the Manager owns the cookie; "
                            "remove the setting or make them equal" % (setting, mine, attr, theirs))
    if problems:
        raise ImproperlyConfigured("cookieseal.django: " + "; ".join(problems))


def _add_set_cookie(response, line):
    """Adds one Set-Cookie line, verbatim, to a Django response.

    Django sends response.cookies (a SimpleCookie) as Set-Cookie headers;
    a Morsel whose output is the line carries it there unchanged, and its
    key and value keep Django's test client working."""
    name, _, value = line.split(";", 1)[0].partition("=")
    m = _Line(line)
    m.set(name.strip(), value.strip(), value.strip())
    if "max-age=0" in line.lower():
        m["max-age"] = 0
    key = m.key
    i = 1
    while key in response.cookies:  # the same name twice (a clear and a write): keep both
        key, i = "%s\x00%d" % (m.key, i), i + 1
    dict.__setitem__(response.cookies, key, m)


class _Line(Morsel):
    def __init__(self, line):
        super().__init__()
        self._line = line

    def OutputString(self, attrs=None):
        return self._line


def _cookie_header(request):
    """The request's Cookie header. Under ASGI it is rebuilt from the scope's
    header fields joined with "; " (RFC 9113 section 8.2.3: HTTP/2 may split
    it), as cookieseal.starlette does: Django's ASGIRequest joins repeated
    fields with "," into META["HTTP_COOKIE"], which would glue the first
    cookie of a later field into the value of the one before."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict) and scope.get("type") == "http" and "headers" in scope:
        return "; ".join(v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"cookie")
    return request.META.get("HTTP_COOKIE", "")


class SessionMiddleware(DjangoSessionMiddleware):
    """Loads request.session from the raw Cookie header and writes the
    Manager's Set-Cookie lines; replaces django.contrib.sessions'
    SessionMiddleware (see the module documentation)."""

    def __init__(self, get_response=None):
        MiddlewareMixin.__init__(self, get_response)
        self.manager = get_manager()
        self.SessionStore = SessionStore
        _check_settings(self.manager)

    def process_request(self, request):
        request.session = SessionStore(cookies=_cookie_header(request), manager=self.manager)

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if not isinstance(session, SessionStore):
            return response
        cs = session.cookieseal
        if cs.accessed:
            patch_vary_headers(response, ("Cookie",))
        # Django does not save on a 500 (refs #3881); a logout still clears
        # the cookie, whose session is already revoked.
        if response.status_code == 500 and cs.status != "cleared":
            cs.commit("the response was answered with a 500")
            return response
        # The budget counts the whole response (the app's own cookies too), as Go's does.
        lines = self.manager.save(cs, [m.OutputString() for m in response.cookies.values()])  # SessionTooLarge: a 500
        cs.commit("the response was saved")  # later changes raise ResponseStarted instead of being lost
        if cs.private:
            response["Cache-Control"] = private_cache_control(response.get("Cache-Control"))
        for line in lines:
            _add_set_cookie(response, line)
        return response


__all__ = ["SessionStore", "SessionMiddleware", "get_manager"]
