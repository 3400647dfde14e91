"""cookieseal.starlette: python/examples/starlette_app.py, driven as an ASGI app.

Starlette's TestClient needs httpx, which Debian 12's python3-starlette
does not pull in; these tests call the ASGI app as a server does.
"""

import asyncio
import json

import pytest

from framework_helpers import BIG, HOSTILE_COOKIE_HEADERS, NAME, down_for_writes, login_value, Jar, check_session_line, import_example, key_file, need, redis_url  # noqa: F401

need("starlette", "python3-starlette")
need("redis", "python3-redis")


@pytest.fixture(scope="module")
def example(key_file, redis_url):  # noqa: F811
    return import_example("starlette_app", key_file, redis_url)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def get(self, name, default=""):
        v = self.all(name)
        return ", ".join(v) if v else default

    def json(self):
        return json.loads(self.body)


def asgi(app, method, path, cookie_headers=(), scope_type="http"):
    """Runs one HTTP request through the ASGI app, as uvicorn would."""
    target, _, query = path.partition("?")
    scope = {
        "type": scope_type, "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
        "path": target, "raw_path": target.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"localhost")] + [(b"cookie", c if isinstance(c, bytes) else c.encode("latin-1"))
                                                 for c in cookie_headers],
        "client": ("127.0.0.1", 1234), "server": ("localhost", 443),
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    try:
        asyncio.run(app(scope, receive, send))
    finally:
        asgi.last = None
        start = next((m for m in sent if m["type"] == "http.response.start"), None)
        if start is not None:
            body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start.get("headers", [])]
            asgi.last = Response(start["status"], headers, body)
    return asgi.last


def call(app, method, path, jar, cookies=None):
    header = jar.header() if cookies is None else cookies
    resp = asgi(app, method, path, [header] if header else [])
    if cookies is None:
        jar.update(resp.all("set-cookie"))
    return resp


def test_login_page_logout(example):
    app, jar = example.app, Jar()
    resp = call(app, "POST", "/login?sub=alice", jar)
    assert resp.status == 204
    lines = resp.all("set-cookie")
    assert len(lines) == 1
    check_session_line(lines[0])

    resp = call(app, "GET", "/me", jar)
    assert resp.status == 200
    me = resp.json()
    assert me["sub"] == "alice" and me["d"] == {"from": "starlette", "n": BIG}
    assert b"9007199254740993" in resp.body
    assert "Cookie" in resp.get("vary") and "private" in resp.get("cache-control")
    assert resp.all("set-cookie") == []

    assert call(app, "GET", "/flashes", jar).json() == {"flashes": ["welcome from starlette"]}
    assert call(app, "GET", "/flashes", jar).json() == {"flashes": []}

    stolen = jar.header()
    assert call(app, "POST", "/logout", jar).status == 204
    assert NAME not in jar.cookies
    assert call(app, "GET", "/me", jar).status == 401
    assert call(app, "GET", "/me", Jar(), cookies=stolen).status == 401  # revoked in redis


def test_cookie_headers_are_joined(example):
    # HTTP/2 may split Cookie into several header lines: they are one.
    app, jar = example.app, Jar()
    call(app, "POST", "/login?sub=bob", jar)
    resp = asgi(app, "GET", "/me", ["theme=dark", jar.header(), "lang=en"])
    assert resp.status == 200 and resp.json()["sub"] == "bob"


def test_lifespan_passes_through(example):
    # A scope that is neither http nor websocket reaches the app untouched.
    seen = []

    async def app(scope, receive, send):
        seen.append(scope)

    from cookieseal.starlette import SessionMiddleware

    mw = SessionMiddleware(app, manager=example.manager)

    async def nothing():
        return {}

    asyncio.run(mw({"type": "lifespan"}, nothing, nothing))
    assert seen and "session" not in seen[0]


# --- Go's vectors through request.session -----------------------------------

from framework_helpers import SESSIONS, SET_COOKIE, normalized, play_vector, vector_manager, want_session  # noqa: E402


def vector_app(case, seen):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import Response
    from starlette.routing import Route

    import cookieseal.starlette

    def view(request):  # sync: Starlette runs it in its thread pool, where the store calls may block
        session = request.session
        play_vector(session, case, seen, destroy=session.clear,
                    remember_me=lambda on: setattr(session, "remember_me", on), set_deadline=session.set_deadline)
        return Response()

    return Starlette(routes=[Route("/", view, methods=["GET", "POST"])],
                     middleware=[Middleware(cookieseal.starlette.SessionMiddleware, manager=vector_manager(case))])


@pytest.mark.parametrize("case", SET_COOKIE, ids=[c["name"] for c in SET_COOKIE])
def test_writes_the_lines_go_writes(case):
    resp = asgi(vector_app(case, None), "POST", "/", [case["cookie"]] if case.get("cookie") else [])
    assert normalized(resp.all("set-cookie")) == case["lines"]


@pytest.mark.parametrize("case", SESSIONS, ids=[c["name"] for c in SESSIONS])
def test_reads_what_go_reads(case):
    seen = []
    asgi(vector_app(case, seen), "GET", "/", [case["cookie"]])
    assert seen == [want_session(case)]


def test_fastapi(key_file, redis_url):  # noqa: F811
    need("fastapi", "python3-fastapi")
    import_example("starlette_app", key_file, redis_url)
    app = import_example("fastapi_app", key_file, redis_url).app
    jar = Jar()
    resp = call(app, "POST", "/login?sub=gus", jar)
    assert resp.status == 204, resp.body
    check_session_line(resp.all("set-cookie")[0])
    resp = call(app, "GET", "/me", jar)
    assert resp.status == 200 and resp.json()["sub"] == "gus" and resp.json()["d"] == {"from": "fastapi"}
    stolen = jar.header()
    assert call(app, "POST", "/logout", jar).status == 204
    assert call(app, "GET", "/me", jar).status == 401
    assert call(app, "GET", "/me", Jar(), cookies=stolen).status == 401


def test_logout_without_subject(example):
    # An anonymous session is logged out all the same: cookie cleared, no error.
    jar = Jar()
    s = example.manager.load("")
    s["cart"] = [1]
    jar.update(example.manager.save(s))
    assert NAME in jar.cookies
    assert call(example.app, "POST", "/logout", jar).status == 204
    assert NAME not in jar.cookies


def test_too_large_sends_nothing():
    # As Go's ErrTooLarge: the error comes before the response starts, so
    # Starlette's error middleware answers 500, and no Set-Cookie goes out.
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import Response
    from starlette.routing import Route

    import cookieseal
    import cookieseal.starlette

    def big(request):
        request.session["blob"] = "x" * 6000
        return Response("ok")

    app = Starlette(routes=[Route("/", big, methods=["POST"])],
                    middleware=[Middleware(cookieseal.starlette.SessionMiddleware, manager=cookieseal.Manager(cookieseal.Keys.generate()))])
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "https",
             "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "", "headers": [(b"host", b"localhost")],
             "client": ("127.0.0.1", 1), "server": ("localhost", 443)}
    with pytest.raises(cookieseal.SessionTooLarge):
        asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [500]
    assert not [v for k, v in starts[0]["headers"] if k.lower() == b"set-cookie"]


def test_hostile_cookie_header_is_no_500(example):
    # Rule: load never raises on any Cookie header (one field or several).
    for header in HOSTILE_COOKIE_HEADERS:
        for fields in ([header], [b"a=b", header], header.split(b"; ")):
            resp = asgi(example.app, "GET", "/me", fields)
            assert resp.status == 401, (header[:80], resp.status)


@pytest.mark.parametrize("handled", [False, True])
@pytest.mark.parametrize("verb", ["clear", "destroy"])
def test_faulted_logout_still_clears_the_cookie(verb, handled):
    # Rule: a logout clears the cookie in this browser even when the revocation
    # fails, and reports the failure (Go: Destroy clears and returns
    # ErrRevokeFault; the Flask and Django adapters send the clear with their
    # 500). Unhandled, the error passes cookieseal's middleware before
    # Starlette's ServerErrorMiddleware answers: the middleware sends the 500
    # with the clear, and re-raises. Handled by the app, its response carries it.
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    import cookieseal
    from cookieseal.starlette import SessionMiddleware

    m = cookieseal.Manager(cookieseal.Keys.generate(), revoker=down_for_writes())
    v = login_value(m, "alice")

    def logout(request):
        getattr(request.session, verb)()  # python/examples/starlette_app.py: clear()
        return Response(status_code=204)

    handlers = {cookieseal.RevocationUnavailable: lambda r, e: PlainTextResponse("retry", 503)} if handled else {}
    app = Starlette(routes=[Route("/logout", logout, methods=["POST"])],
                    middleware=[Middleware(SessionMiddleware, manager=m)], exception_handlers=handlers)
    if handled:
        resp = asgi(app, "POST", "/logout", ["%s=%s" % (NAME, v)])
    else:
        with pytest.raises(cookieseal.RevocationUnavailable):
            asgi(app, "POST", "/logout", ["%s=%s" % (NAME, v)])
        resp = asgi.last
    assert resp.status == (503 if handled else 500)
    clears = [l for l in resp.all("set-cookie") if l.startswith(NAME + "=;") and "Max-Age=0" in l]
    assert len(clears) == 1, resp.headers
    assert m.load("%s=%s" % (NAME, v)).subject == "alice"  # not revoked: the error said so


def test_an_error_without_logout_sends_no_cookie():
    # Only a logout's clear goes with the 500: other changes are dropped (Django's rule).
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    import cookieseal
    from cookieseal.starlette import SessionMiddleware

    def boom(request):
        request.session["k"] = "v"
        raise RuntimeError("boom")

    app = Starlette(routes=[Route("/", boom)],
                    middleware=[Middleware(SessionMiddleware, manager=cookieseal.Manager(cookieseal.Keys.generate()))])
    with pytest.raises(RuntimeError):
        asgi(app, "GET", "/")
    assert asgi.last.status == 500 and not asgi.last.all("set-cookie")


# --- Rule: nothing is lost silently: the session is committed with the response's start ---

def ws(manager, handler, cookie=None):
    """Runs handler(session, send) as the ASGI app of a WebSocket scope under the middleware;
    returns the messages sent."""
    from cookieseal.starlette import SessionMiddleware

    async def app(scope, receive, send):
        await receive()
        await handler(scope["session"], send)

    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(msg):
        sent.append(msg)

    headers = [(b"cookie", ("%s=%s" % (NAME, cookie)).encode())] if cookie else []
    scope = {"type": "websocket", "path": "/ws", "headers": headers}
    asyncio.run(SessionMiddleware(app, manager=manager)(scope, receive, send))
    return sent


def ws_set_cookies(sent, kind="websocket.accept"):
    msg = next(x for x in sent if x["type"] == kind)
    return [v.decode() for k, v in msg.get("headers", []) if k.lower() == b"set-cookie"]


@pytest.mark.parametrize("verb", ["clear", "destroy"])
def test_websocket_logout_before_accept_clears_on_the_accept(verb):
    # Go: Hijack commits the session into w.Header(), sent on the 101.
    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())
    v = login_value(m, "alice")

    async def handler(session, send):
        getattr(session, verb)()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})

    lines = ws_set_cookies(ws(m, handler, v))
    assert len(lines) == 1 and lines[0].startswith(NAME + "=;") and "Max-Age=0" in lines[0], lines


def test_websocket_login_before_accept_sets_the_cookie_on_the_accept():
    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())

    async def handler(session, send):
        session.subject = "bob"
        session.renew()
        await send({"type": "websocket.accept", "headers": [(b"x-a", b"1")]})

    lines = ws_set_cookies(ws(m, handler))
    assert len(lines) == 1 and m.load(lines[0].split(";")[0]).subject == "bob", lines


def test_websocket_change_after_accept_raises():
    # Go: after Hijack the session is frozen (ErrResponseStarted) and may still be read.
    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())
    v = login_value(m, "alice")
    errors = []

    async def handler(session, send):
        await send({"type": "websocket.accept"})
        assert session.subject == "alice"
        for change in (lambda: session.__setitem__("k", 1), session.clear, session.destroy, session.renew,
                       lambda: setattr(session, "subject", "mallory"), lambda: session.flash("x")):
            with pytest.raises(cookieseal.ResponseStarted):
                change()
            errors.append(change)
        await send({"type": "websocket.close"})

    sent = ws(m, handler, v)
    assert len(errors) == 6 and not ws_set_cookies(sent)
    assert m.load("%s=%s" % (NAME, v)).subject == "alice"


def test_websocket_close_before_accept_with_a_change_raises():
    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())

    async def changed(session, send):
        session["k"] = 1
        await send({"type": "websocket.close", "code": 1008})

    with pytest.raises(cookieseal.ResponseStarted):
        ws(m, changed)

    async def read_only(session, send):  # a refusal that only read the session loses nothing
        assert not session.authenticated
        await send({"type": "websocket.close", "code": 1008})

    assert [x["type"] for x in ws(m, read_only)] == ["websocket.close"]


def test_websocket_denial_response_carries_the_session_lines():
    import cookieseal

    m = cookieseal.Manager(cookieseal.Keys.generate())
    v = login_value(m, "alice")

    async def handler(session, send):
        session.clear()
        await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})

    lines = ws_set_cookies(ws(m, handler, v), "websocket.http.response.start")
    assert len(lines) == 1 and "Max-Age=0" in lines[0], lines


def test_http_change_after_the_response_started_raises():
    # Go: a change after the first Write returns ErrResponseStarted.
    import cookieseal
    from cookieseal.starlette import SessionMiddleware

    m = cookieseal.Manager(cookieseal.Keys.generate())
    caught = []

    async def app(scope, receive, send):
        scope["session"]["a"] = 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            scope["session"]["b"] = 2
        except cookieseal.ResponseStarted:
            caught.append(True)
        await send({"type": "http.response.body", "body": b"ok"})

    resp = asgi(SessionMiddleware(app, manager=m), "GET", "/")
    assert caught and m.load(resp.all("set-cookie")[0].split(";")[0])["a"] == 1


def test_a_value_net_http_drops_in_another_field_is_no_copy():
    # Rule 1 across Cookie fields: the junk copy is dropped as net/http drops it.
    from starlette.responses import PlainTextResponse

    import cookieseal
    from cookieseal.starlette import SessionMiddleware

    m = cookieseal.Manager(cookieseal.Keys.generate())
    v = login_value(m, "alice")

    async def app(scope, receive, send):
        await PlainTextResponse(scope["session"].subject)(scope, receive, send)

    resp = asgi(SessionMiddleware(app, manager=m), "GET", "/", [b"%s=%s" % (NAME.encode(), v.encode()),
                                                               b"%s=caf\xe9" % NAME.encode()])
    assert resp.body == b"alice" and not resp.all("set-cookie")


def test_setdefault_then_append_is_saved():
    import cookieseal
    from cookieseal.starlette import SessionMiddleware
    from starlette.responses import PlainTextResponse

    m = cookieseal.Manager(cookieseal.Keys.generate())

    async def app(scope, receive, send):
        scope["session"].setdefault("cart", []).append(1)
        await PlainTextResponse("ok")(scope, receive, send)

    resp = asgi(SessionMiddleware(app, manager=m), "GET", "/")
    assert m.load(resp.all("set-cookie")[0].split(";")[0])["cart"] == [1]


def test_the_budget_counts_the_whole_response():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import Response
    from starlette.routing import Route

    import cookieseal
    from cookieseal.starlette import SessionMiddleware

    def index(request):
        request.session["k"] = "v" * int(request.query_params["n"])
        resp = Response("ok")
        resp.set_cookie("prefs", "p" * 1500)
        return resp

    app = Starlette(routes=[Route("/", index)],
                    middleware=[Middleware(SessionMiddleware, manager=cookieseal.Manager(cookieseal.Keys.generate()))])
    with pytest.raises(cookieseal.SessionTooLarge):
        asgi(app, "GET", "/?n=1900")
    assert asgi.last.status == 500 and not asgi.last.all("set-cookie")
    resp = asgi(app, "GET", "/?n=500")
    assert resp.status == 200 and len(resp.all("set-cookie")) == 2
