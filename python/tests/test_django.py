"""cookieseal.django: python/examples/django_app.py through Django's test client."""

import datetime

import pytest

from framework_helpers import BIG, HOSTILE_COOKIE_HEADERS, NAME, down_for_writes, login_value, Jar, check_session_line, import_example, key_file, need, redis_url  # noqa: F401

need("django", "python3-django")
need("redis", "python3-redis")


@pytest.fixture(scope="module")
def example(key_file, redis_url):  # noqa: F811
    import django.conf

    if django.conf.settings.configured:  # one Django per process: the example configures it
        import sys

        return sys.modules["django_app"]
    return import_example("django_app", key_file, redis_url, DJANGO_SECRET_KEY="test only")


def set_cookie_lines(resp):
    # What Django's WSGI and ASGI handlers send for response.cookies.
    return [m.output(header="").strip() for m in resp.cookies.values()]


def call(method, path, jar, cookies=None):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    header = jar.header() if cookies is None else cookies
    extra = {"HTTP_COOKIE": header} if header else {}
    resp = client.generic(method, path, secure=True, **extra)
    if cookies is None:
        jar.update(set_cookie_lines(resp))
    return resp


def test_login_page_logout(example):
    jar = Jar()
    resp = call("POST", "/login?sub=alice", jar)
    assert resp.status_code == 204
    lines = set_cookie_lines(resp)
    assert len(lines) == 1
    check_session_line(lines[0])

    resp = call("GET", "/me", jar)
    assert resp.status_code == 200
    assert resp.json()["sub"] == "alice" and resp.json()["d"] == {"from": "django", "n": BIG}
    assert b"9007199254740993" in resp.content
    assert "Cookie" in resp["Vary"] and "private" in resp["Cache-Control"]
    assert set_cookie_lines(resp) == []

    assert call("GET", "/flashes", jar).json() == {"flashes": ["welcome from django"]}
    assert call("GET", "/flashes", jar).json() == {"flashes": []}

    stolen = jar.header()
    assert call("POST", "/logout", jar).status_code == 204
    assert NAME not in jar.cookies
    assert call("GET", "/me", jar).status_code == 401
    assert call("GET", "/me", Jar(), cookies=stolen).status_code == 401  # revoked in redis


def test_cycle_key_renews(example):
    jar = Jar()
    call("POST", "/login?sub=bob", jar)
    first = call("GET", "/me", jar).json()["id"]
    before = jar.header()
    call("POST", "/login?sub=bob", jar)  # the view calls cycle_key()
    assert call("GET", "/me", jar).json()["id"] != first
    assert call("GET", "/me", Jar(), cookies=before).status_code == 401


def store(example, header=""):
    from cookieseal.django import SessionStore

    return SessionStore(cookies=header, manager=example.manager)


def test_expiry_mapping(example):
    s = store(example)
    s["k"] = 1
    assert s.get_expire_at_browser_close() is False  # persistent by default, as a Go manager
    s.set_expiry(0)
    assert s.get_expire_at_browser_close() is True and s.cookieseal.remember_me is False
    s.set_expiry(datetime.timedelta(hours=1))
    assert s.get_expire_at_browser_close() is False
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((s.cookieseal.deadline - now) - datetime.timedelta(hours=1)) < datetime.timedelta(seconds=5)
    assert 3500 < s.get_expiry_age() <= 3600
    with pytest.raises(ValueError, match="per-session idle timeout"):
        s.set_expiry(300)
    s.set_expiry(None)
    assert s.cookieseal.remember_me is True
    # The key set records idle 2h / absolute 24h: the cookie age is the absolute one.
    assert s.get_session_cookie_age() == 24 * 3600
    assert 2 * 3600 - 5 < s.get_expiry_age() <= 2 * 3600


def test_auth_user_is_the_subject(example):
    s = store(example)
    s.cycle_key()
    s["_auth_user_id"] = "42"  # what django.contrib.auth.login() stores
    assert s.subject == "42" and s.authenticated
    s.clear()  # the data (and the user) go, the session stays
    assert s.subject == "" and not s.authenticated
    s["_auth_user_id"] = "43"
    s.save()
    from cookieseal.django import SessionStore

    s = SessionStore(s.session_key, manager=example.manager)  # the next request
    assert s.subject == "43"
    s.flush()  # django.contrib.auth.logout(): the session ends, its cookie is cleared
    assert s.cookieseal.status == "cleared" and s.subject == "" and not list(s.keys())


def test_session_key_is_the_cookie_value(example):
    # As with signed_cookies, for Django's test client and tools that
    # build a SessionStore(session_key) from the cookie's value.
    from cookieseal.django import SessionStore

    s = store(example)
    s.subject = "erin"
    s.save()
    assert s.session_key
    again = SessionStore(s.session_key, manager=example.manager)
    assert again.subject == "erin" and again.id == s.id


@pytest.mark.parametrize("setting,value", [
    ("SESSION_COOKIE_AGE", 3600),
    ("SESSION_SAVE_EVERY_REQUEST", True),
    ("SESSION_COOKIE_NAME", "sessionid"),
    ("SESSION_ENGINE", "django.contrib.sessions.backends.signed_cookies"),
    ("MIDDLEWARE", ["django.contrib.sessions.middleware.SessionMiddleware", "cookieseal.django.SessionMiddleware"]),
])
def test_refused_settings(example, setting, value):
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from cookieseal.django import SessionMiddleware

    with override_settings(**{setting: value}):
        with pytest.raises(ImproperlyConfigured, match=setting if setting.startswith("SESSION") else "SessionMiddleware"):
            SessionMiddleware(lambda request: None)


def test_agreeing_settings_are_accepted(example):
    from django.test import override_settings

    from cookieseal.django import SessionMiddleware

    with override_settings(SESSION_COOKIE_AGE=24 * 3600, SESSION_COOKIE_NAME=NAME):
        SessionMiddleware(lambda request: None)


# --- Go's vectors through request.session -----------------------------------

from framework_helpers import SESSIONS, SET_COOKIE, normalized, play_vector, vector_manager, want_session  # noqa: E402


def run_vector(case, seen, cookie):
    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    from cookieseal.django import SessionMiddleware

    def view(request):
        session = request.session
        def remember_me(on):
            if on:
                session.remember_me = True
            else:
                session.set_expiry(0)

        play_vector(session, case, seen, destroy=session.flush, remember_me=remember_me, set_deadline=session.set_expiry)
        return HttpResponse()

    with override_settings(COOKIESEAL_MANAGER=vector_manager(case)):
        request = RequestFactory().post("/", secure=True, HTTP_HOST="localhost", **({"HTTP_COOKIE": cookie} if cookie else {}))
        return SessionMiddleware(view)(request)


@pytest.mark.parametrize("case", SET_COOKIE, ids=[c["name"] for c in SET_COOKIE])
def test_writes_the_lines_go_writes(example, case):
    resp = run_vector(case, None, case.get("cookie"))
    assert normalized(set_cookie_lines(resp)) == case["lines"]


@pytest.mark.parametrize("case", SESSIONS, ids=[c["name"] for c in SESSIONS])
def test_reads_what_go_reads(example, case):
    seen = []
    run_vector(case, seen, case["cookie"])
    assert seen == [want_session(case)]


def test_logout_without_subject(example):
    # django.contrib.auth.logout() flushes anonymous sessions too: the
    # cookie is cleared and nothing raises (nothing to revoke, as in Go).
    jar = Jar()
    s = example.manager.load("")
    s["cart"] = [1]
    jar.update(example.manager.save(s))
    assert NAME in jar.cookies
    assert call("POST", "/logout", jar).status_code == 204
    assert NAME not in jar.cookies


def test_too_large_is_a_500_with_no_cookie(example):
    from django.http import HttpResponse
    from django.test import RequestFactory, override_settings

    import cookieseal
    from cookieseal.django import SessionMiddleware

    def big(request):
        request.session["blob"] = "x" * 6000
        return HttpResponse("ok")

    with override_settings(COOKIESEAL_MANAGER=cookieseal.Manager(cookieseal.Keys.generate())):
        with pytest.raises(cookieseal.SessionTooLarge):  # Django's handler turns it into a 500
            SessionMiddleware(big)(RequestFactory().post("/", secure=True, HTTP_HOST="localhost"))


def test_hostile_cookie_header_is_no_500(example):
    # Rule: load never raises on any Cookie header.
    for header in HOSTILE_COOKIE_HEADERS:
        resp = call("GET", "/me", None, cookies=header.decode("latin-1"))
        assert resp.status_code == 401, (header[:80], resp.status_code)


def adapter_with(manager, view):
    """cookieseal.django.SessionMiddleware of manager around view, as Django's handler wraps it."""
    from django.core.handlers.exception import convert_exception_to_response

    import cookieseal.django as csd

    mw = csd.SessionMiddleware(convert_exception_to_response(view))
    mw.manager = manager
    return convert_exception_to_response(mw)


@pytest.mark.parametrize("verb", ["flush", "delete"])
def test_faulted_logout_still_clears_the_cookie(example, verb):
    # Rule: a logout clears the cookie in this browser even when the revocation
    # fails, and reports the failure (a 500).
    from django.http import HttpResponse
    from django.test import RequestFactory

    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate(), revoker=down_for_writes())
    v = login_value(m, "alice")

    def logout(request):
        getattr(request.session, verb)()  # django.contrib.auth.logout() calls flush()
        return HttpResponse(status=204)

    req = RequestFactory().post("/logout", HTTP_COOKIE="%s=%s" % (NAME, v), secure=True)
    resp = adapter_with(m, logout)(req)
    assert resp.status_code == 500
    clears = [l for l in set_cookie_lines(resp) if l.startswith(NAME + "=;") and "Max-Age=0" in l]
    assert len(clears) == 1, set_cookie_lines(resp)


def test_change_after_the_response_was_saved_raises(example):
    # Rule: nothing is lost silently (Go: ErrResponseStarted). A streamed body
    # runs after process_response wrote the cookie.
    from django.http import StreamingHttpResponse
    from django.test import RequestFactory

    import cookieseal

    caught = []

    def view(request):
        request.session["a"] = 1

        def body():
            yield b"x"
            try:
                request.session["b"] = 2
            except cookieseal.ResponseStarted:
                caught.append(True)

        return StreamingHttpResponse(body())

    resp = adapter_with(cookieseal.Manager(cookieseal.Keys.generate()), view)(RequestFactory().get("/", secure=True))
    assert b"".join(resp.streaming_content) == b"x" and caught and len(set_cookie_lines(resp)) == 1


@pytest.mark.parametrize("fields, want", [
    ([b"theme=dark", b"%s=<alice>"], "alice"),  # the session starts a later field
    ([b"%s=<alice>", b"theme=dark"], "alice"),
    ([b"a=1; %s=<alice>; b=2", b"c=3"], "alice"),
    ([b"%s=<alice>", b"%s=<alice>"], "alice"),  # identical copies in two fields: one value
    ([b"%s=<alice>", b"%s=<mallory>"], ""),  # copies that disagree, across fields: no session
])
def test_asgi_cookie_fields_are_joined_with_semicolons(example, fields, want):
    # RFC 9113 8.2.3: HTTP/2 may send Cookie as several fields, joined with "; "
    # (Go reads each line; cookieseal.starlette joins with "; "). Django's
    # ASGIRequest joins them with "," into META["HTTP_COOKIE"].
    import io

    from django.core.handlers.asgi import ASGIRequest
    from django.http import HttpResponse

    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())
    values = {b"<alice>": login_value(m, "alice").encode(), b"<mallory>": login_value(m, "mallory").encode()}
    headers = []
    for f in fields:
        f = f.replace(b"%s", NAME.encode())
        for k, v in values.items():
            f = f.replace(k, v)
        headers.append((b"cookie", f))
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "root_path": "",
             "headers": headers}
    seen = []

    def view(request):
        seen.append(request.session.subject)
        return HttpResponse("ok")

    adapter_with(m, view)(ASGIRequest(scope, io.BytesIO(b"")))
    assert seen == [want]


def test_asgi_chunks_in_separate_fields_open(example):
    import io

    from django.core.handlers.asgi import ASGIRequest
    from django.http import HttpResponse

    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate(), max_chunks=3)
    s = m.load(None)
    s.set_subject("alice")
    s["big"] = "x" * 5000
    chunks = [l.split(";")[0].encode() for l in m.save(s) if "Max-Age=0" not in l]
    assert len(chunks) == 2
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "root_path": "",
             "headers": [(b"cookie", c) for c in chunks]}
    seen = []

    def view(request):
        seen.append(request.session.subject)
        return HttpResponse("ok")

    adapter_with(m, view)(ASGIRequest(scope, io.BytesIO(b"")))
    assert seen == ["alice"]


def test_setdefault_then_append_is_saved(example):
    from django.http import HttpResponse
    from django.test import RequestFactory

    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())

    def view(request):
        request.session.setdefault("cart", []).append(1)
        return HttpResponse("ok")

    resp = adapter_with(m, view)(RequestFactory().get("/", secure=True))
    assert m.load(set_cookie_lines(resp)[0].split(";")[0])["cart"] == [1]


def test_the_budget_counts_the_whole_response(example):
    from django.http import HttpResponse
    from django.test import RequestFactory

    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())

    def view(request):
        request.session["k"] = "v" * int(request.GET["n"])
        resp = HttpResponse("ok")
        resp.set_cookie("prefs", "p" * 1500)
        return resp

    resp = adapter_with(m, view)(RequestFactory().get("/?n=1900", secure=True))  # SessionTooLarge: a 500
    assert resp.status_code == 500 and not set_cookie_lines(resp)
    resp = adapter_with(m, view)(RequestFactory().get("/?n=500", secure=True))
    assert resp.status_code == 200 and len(set_cookie_lines(resp)) == 2


def test_sessionstore_from_the_raw_header_applies_the_copy_rules(example):
    # SessionStore(session_key) with a key from parse_cookie opens the last copy
    # (documented: tools pass the raw header); SessionStore(cookies=header) sees
    # two copies that disagree as no session, as the middleware and Go do.
    from django.http.cookie import parse_cookie

    import cookieseal
    import cookieseal.django as csd

    m = cookieseal.Manager(cookieseal.Keys.generate())
    victim, planted = login_value(m, "alice"), login_value(m, "mallory")
    for header in ("%s=%s; %s=%s" % (NAME, victim, NAME, planted), "%s=%s; %s=%s" % (NAME, planted, NAME, victim)):
        store = csd.SessionStore(cookies=header, manager=m)
        assert store.subject == "" and store.reason == "duplicate"
        last = csd.SessionStore(parse_cookie(header)[NAME], manager=m)  # the documented pitfall
        assert last.subject in ("alice", "mallory")
