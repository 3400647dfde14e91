"""cookieseal.flask: python/examples/flask_app.py through Flask's test client."""

import json

import pytest

from framework_helpers import BIG, HOSTILE_COOKIE_HEADERS, NAME, down_for_writes, login_value, Jar, check_session_line, import_example, key_file, need, redis_url  # noqa: F401

need("flask", "python3-flask")
need("redis", "python3-redis")


@pytest.fixture(scope="module")
def example(key_file, redis_url):  # noqa: F811
    return import_example("flask_app", key_file, redis_url)


def call(app, method, path, jar, cookies=None):
    """One request with jar's cookies (or exactly cookies); the jar keeps
    what the response sets. Returns (status, headers, JSON body or None)."""
    client = app.test_client(use_cookies=False)
    header = jar.header() if cookies is None else cookies
    resp = client.open(path, method=method, base_url="https://localhost", headers={"Cookie": header} if header else {})
    if cookies is None:
        jar.update(resp.headers.getlist("Set-Cookie"))
    body = json.loads(resp.get_data(as_text=True)) if resp.is_json else None
    return resp.status_code, resp.headers, body


def test_login_page_logout(example):
    app, jar = example.app, Jar()
    status, headers, _ = call(app, "POST", "/login?sub=alice", jar)
    assert status == 204
    lines = headers.getlist("Set-Cookie")
    assert len(lines) == 1
    check_session_line(lines[0])
    assert "Max-Age=" in lines[0]  # permanent (remember-me) by default, as a Go manager

    status, headers, me = call(app, "GET", "/me", jar)
    assert status == 200 and me["sub"] == "alice" and me["d"] == {"from": "flask", "n": BIG}
    assert "Cookie" in headers.get("Vary", "")
    assert "private" in headers.get("Cache-Control", "")
    assert headers.getlist("Set-Cookie") == []  # a read writes nothing until the refresh is due

    status, _, f = call(app, "GET", "/flashes", jar)
    assert f == {"flashes": ["welcome from flask"]}
    assert call(app, "GET", "/flashes", jar)[2] == {"flashes": []}

    stolen = jar.header()
    status, headers, _ = call(app, "POST", "/logout", jar)
    assert status == 204
    assert NAME not in jar.cookies, headers.getlist("Set-Cookie")
    assert call(app, "GET", "/me", jar)[0] == 401
    # A copy kept from before the logout is revoked (redis), not just cleared.
    assert call(app, "GET", "/me", Jar(), cookies=stolen)[0] == 401


def test_login_renews_the_id(example):
    app, jar = example.app, Jar()
    call(app, "POST", "/login?sub=bob", jar)
    first = call(app, "GET", "/me", jar)[2]["id"]
    before = jar.header()
    call(app, "POST", "/login?sub=bob", jar)
    second = call(app, "GET", "/me", jar)[2]["id"]
    assert first != second
    assert call(app, "GET", "/me", Jar(), cookies=before)[0] == 401  # the old id is revoked by the renew


def test_tampered_cookie_is_no_session(example):
    app, jar = example.app, Jar()
    call(app, "POST", "/login?sub=carol", jar)
    v = jar.cookies[NAME]
    jar.cookies[NAME] = v[:-2] + ("A" if v[-2] != "A" else "B") + v[-1]
    status, headers, body = call(app, "GET", "/me", jar)
    assert status == 401 and body["reason"] == "tampered"
    # Whether the refused cookie is cleared or left alone is the core's rule
    # (Go's), which the adapter passes through: the vectors check it.


def test_permanent_is_remember_me(key_file, redis_url):  # noqa: F811
    app = import_example("flask_app", key_file, redis_url).app  # a fresh app, before its first request

    @app.post("/browser-session")
    def browser_session():
        import flask
        flask.session.permanent = False
        return "", 204

    jar = Jar()
    call(app, "POST", "/login?sub=dan", jar)
    client = app.test_client(use_cookies=False)
    resp = client.post("/browser-session", base_url="https://localhost", headers={"Cookie": jar.header()})
    line = resp.headers.getlist("Set-Cookie")[0]
    assert "Max-Age" not in line and "Expires" not in line, line
    jar.update([line])
    assert call(app, "GET", "/me", jar)[2]["sub"] == "dan"


# --- Go's vectors through flask.session ------------------------------------

from framework_helpers import SESSIONS, SET_COOKIE, normalized, play_vector, vector_manager, want_session  # noqa: E402


def vector_app(case, seen):
    import flask

    import cookieseal.flask

    app = flask.Flask("vectors")
    app.session_interface = cookieseal.flask.SessionInterface(vector_manager(case))

    @app.route("/", methods=["GET", "POST"])
    def view():
        session = flask.session
        play_vector(session, case, seen, destroy=session.clear,
                    remember_me=lambda on: setattr(session, "permanent", on), set_deadline=session.set_deadline)
        return ""

    return app


@pytest.mark.parametrize("case", SET_COOKIE, ids=[c["name"] for c in SET_COOKIE])
def test_writes_the_lines_go_writes(case):
    app = vector_app(case, None)
    headers = {"Cookie": case["cookie"]} if case.get("cookie") else {}
    resp = app.test_client(use_cookies=False).post("/", base_url="https://localhost", headers=headers)
    assert normalized(resp.headers.getlist("Set-Cookie")) == case["lines"]


@pytest.mark.parametrize("case", SESSIONS, ids=[c["name"] for c in SESSIONS])
def test_reads_what_go_reads(case):
    seen = []
    vector_app(case, seen).test_client(use_cookies=False).get("/", base_url="https://localhost", headers={"Cookie": case["cookie"]})
    assert seen == [want_session(case)]


def test_logout_without_subject(example):
    # An anonymous session (no subject: nothing to revoke, as in Go) is
    # logged out all the same: its cookie is cleared, no error.
    import flask

    app, jar = example.app, Jar()
    with app.test_request_context("/", base_url="https://localhost"):
        s = app.session_interface.open_session(app, flask.request)
        s["cart"] = [1]
        resp = app.response_class()
        app.session_interface.save_session(app, s, resp)
        jar.update(resp.headers.getlist("Set-Cookie"))
    assert NAME in jar.cookies
    status, headers, _ = call(app, "POST", "/logout", jar)
    assert status == 204 and NAME not in jar.cookies, headers.getlist("Set-Cookie")


def test_flask_flash_is_the_envelope_queue(key_file, redis_url):  # noqa: F811
    import flask

    example = import_example("flask_app", key_file, redis_url)
    app, manager = example.app, example.manager

    @app.post("/flash-error")
    def flash_error():
        flask.flash("bad input", "error")
        return "", 204

    @app.get("/flashes-with-categories")
    def with_categories():
        return {"flashes": flask.get_flashed_messages(with_categories=True)}

    jar = Jar()
    call(app, "POST", "/login?sub=hal", jar)  # flash("welcome from flask"): default category
    call(app, "POST", "/flash-error", jar)
    # What Go's middleware.PopFlashes would pop: the bare message, then category and message.
    s = manager.load(jar.header())
    assert s.peek_flashes() == ["welcome from flask", {"category": "error", "message": "bad input"}]
    # A flash Go added (a bare value) reads as Flask's default category.
    s.pop_flashes()
    s.flash("from go")
    jar.update(manager.save(s))
    assert call(app, "GET", "/flashes-with-categories", jar)[2] == {"flashes": [["message", "from go"]]}
    assert call(app, "GET", "/flashes", jar)[2] == {"flashes": []}  # popped once


def test_too_large_is_a_500_with_no_cookie():
    # As Go's ErrTooLarge: nothing is written, the handler's response becomes a 500.
    import flask

    import cookieseal
    import cookieseal.flask

    app = flask.Flask("too_large")
    app.session_interface = cookieseal.flask.SessionInterface(cookieseal.Manager(cookieseal.Keys.generate()))

    @app.post("/")
    def big():
        flask.session["blob"] = "x" * 6000  # one cookie (max_chunks 1) holds 3800 bytes
        return "ok"

    resp = app.test_client(use_cookies=False).post("/", base_url="https://localhost")
    assert resp.status_code == 500 and resp.headers.getlist("Set-Cookie") == []


def test_hostile_cookie_header_is_no_500(example):
    # Rule: load never raises on any Cookie header. Raw WSGI: the test client
    # would rebuild the header from its own jar.
    from werkzeug.test import EnvironBuilder

    for header in HOSTILE_COOKIE_HEADERS:
        environ = EnvironBuilder(path="/me", base_url="https://localhost").get_environ()
        environ["HTTP_COOKIE"] = header.decode("latin-1")  # PEP 3333: latin-1 str
        status = []
        example.app.wsgi_app(environ, lambda st, headers, exc_info=None: status.append(st))
        assert status[0].startswith("401"), (header[:80], status)


@pytest.mark.parametrize("verb", ["clear", "destroy"])
def test_faulted_logout_still_clears_the_cookie(verb):
    # Rule: a logout clears the cookie in this browser even when the revocation
    # fails, and reports the failure (a 500: Flask saves the session of its
    # error response).
    import flask

    import cookieseal
    import cookieseal.flask as csf

    m = cookieseal.Manager(cookieseal.Keys.generate(), revoker=down_for_writes())
    v = login_value(m, "alice")
    app = flask.Flask(__name__)
    app.session_interface = csf.SessionInterface(m)

    @app.post("/logout")
    def logout():
        getattr(flask.session, verb)()
        return "", 204

    resp = app.test_client(use_cookies=False).post("/logout", base_url="https://localhost",
                                                   headers={"Cookie": "%s=%s" % (NAME, v)})
    assert resp.status_code == 500
    clears = [l for l in resp.headers.getlist("Set-Cookie") if l.startswith(NAME + "=;") and "Max-Age=0" in l]
    assert len(clears) == 1, resp.headers


def test_change_after_the_response_was_saved_raises():
    # Rule: nothing is lost silently (Go: ErrResponseStarted). A streamed body
    # runs after save_session wrote the cookie.
    import flask

    import cookieseal
    import cookieseal.flask as csf

    app = flask.Flask(__name__)
    app.session_interface = csf.SessionInterface(cookieseal.Manager(cookieseal.Keys.generate()))
    caught = []

    @app.get("/stream")
    def stream():
        flask.session["a"] = 1

        def body():
            yield "x"
            try:
                flask.session["b"] = 2
            except cookieseal.ResponseStarted:
                caught.append(True)
            yield "y"

        return flask.Response(flask.stream_with_context(body()))

    resp = app.test_client(use_cookies=False).get("/stream", base_url="https://localhost")
    assert resp.get_data() == b"xy" and caught and len(resp.headers.getlist("Set-Cookie")) == 1


def test_session_modified_idiom_writes_the_session():
    # Rule: Flask's documented idiom after changing a mutable value in place
    # (session.modified = True) marks the session dirty; it was an AttributeError (a 500).
    import flask

    import cookieseal
    import cookieseal.flask as csf

    m = cookieseal.Manager(cookieseal.Keys.generate())
    app = flask.Flask(__name__)
    app.session_interface = csf.SessionInterface(m)

    @app.get("/cart")
    def cart():
        flask.session.setdefault("cart", []).append(1)
        flask.session.modified = True
        return "ok"

    @app.get("/touch")
    def touch():
        flask.session.modified = True  # nothing changed: the session is re-sealed all the same
        flask.session.modified = False  # cannot undo
        return str(flask.session.modified)

    @app.get("/anonymous")
    def anonymous():
        flask.session.modified = True  # no session: nothing to write
        return "ok"

    client = app.test_client(use_cookies=False)
    resp = client.get("/cart", base_url="https://localhost")
    assert resp.status_code == 200
    line = resp.headers.getlist("Set-Cookie")[0].split(";")[0]
    assert m.load(line)["cart"] == [1]
    resp = client.get("/touch", base_url="https://localhost", headers={"Cookie": line})
    assert resp.get_data() == b"True" and len(resp.headers.getlist("Set-Cookie")) == 1
    assert m.load(resp.headers.getlist("Set-Cookie")[0].split(";")[0])["cart"] == [1]
    resp = client.get("/anonymous", base_url="https://localhost")
    assert resp.status_code == 200 and not resp.headers.getlist("Set-Cookie")


def test_the_budget_counts_the_whole_response():
    # DESIGN "Whole responses, not lines": Go's budget (3072 bytes by default)
    # counts every Set-Cookie line of the response, the handler's included, and
    # refuses the commit (a 500 with no session line) before a proxy's 4 KB
    # header buffer turns it into a 502.
    import flask

    import cookieseal
    import cookieseal.flask as csf

    app = flask.Flask(__name__)
    app.session_interface = csf.SessionInterface(cookieseal.Manager(cookieseal.Keys.generate()))

    @app.get("/")
    def index():
        flask.session["k"] = "v" * int(flask.request.args["n"])
        resp = flask.make_response("ok")
        resp.set_cookie("prefs", "p" * 1500)
        return resp

    client = app.test_client(use_cookies=False)
    r = client.get("/?n=1900", base_url="https://localhost")
    assert r.status_code == 500 and not r.headers.getlist("Set-Cookie"), r.headers
    r = client.get("/?n=500", base_url="https://localhost")
    total = sum(len("Set-Cookie: \r\n") + len(v) for v in r.headers.getlist("Set-Cookie"))
    assert r.status_code == 200 and len(r.headers.getlist("Set-Cookie")) == 2 and total <= 3072
