"""Starlette and FastAPI: an ASGI middleware giving request.session from a cookieseal cookie.

    import cookieseal, cookieseal.starlette

    manager = cookieseal.Manager(cookieseal.Keys.from_file("/run/secrets/cookieseal.json"))
    app = Starlette(routes=..., middleware=[Middleware(cookieseal.starlette.SessionMiddleware, manager=manager)])
    # FastAPI: app.add_middleware(cookieseal.starlette.SessionMiddleware, manager=manager)

It takes the place of starlette.middleware.sessions.SessionMiddleware
(do not install both: they would both answer to scope["session"]).
request.session (scope["session"]) is then the session a Go service on
the same key set reads and writes: a mapping of its data (JSON values,
Go's sess.Get/Set), plus session.subject, session.renew() (at login),
session.flash(v) / session.pop_flashes(), session.remember_me,
session.set_deadline(dt), session.revoke_others() and session.reason.
session.clear() logs out: the session ends as with Go's Destroy (cookie
cleared and, with a revoker, the session revoked everywhere).

The Manager owns the cookie's name, attributes, lifetime and chunking.
Its Set-Cookie lines go out verbatim; a response that read the session
varies on Cookie, and one that depends on a session gets Cache-Control
private, as in Go.

Loading and saving may call the revocation store (Redis): the middleware
runs them in Starlette's thread pool, so the event loop never waits on
Redis. session.renew(), session.clear() and session.revoke_others() call
the store too; in an async endpoint, run them with
starlette.concurrency.run_in_threadpool (see python/examples/starlette_app.py).

The session is committed when the response starts: an HTTP response's
start, a WebSocket's accept (the Set-Cookie lines go on the accept's
headers, as Go's Hijack puts them on the 101) or its denial response.
A change after that raises cookieseal.ResponseStarted, as in Go, instead
of being lost; so does closing a WebSocket before its accept when the
session changed (the server's 403 carries no cookie). A logout whose
revocation failed still clears the cookie: an unhandled error after it
is answered here with a 500 that carries the clearing lines.
"""

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders

from ._adapters import SessionProxy, private_cache_control
from .errors import ResponseStarted


class Session(SessionProxy):
    """request.session under cookieseal.starlette.SessionMiddleware."""

    __slots__ = ()


def _cookie_header(scope):
    # Every Cookie header, joined as RFC 9113 section 8.2.3 says (HTTP/2
    # may split it); bytes are latin-1 in ASGI.
    return "; ".join(v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"cookie")


class SessionMiddleware:
    """ASGI middleware: scope["session"] is a Session of manager's cookie."""

    def __init__(self, app, manager):
        self.app = app
        self.manager = manager

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cs = await run_in_threadpool(self.manager.load, _cookie_header(scope))
        scope["session"] = Session(cs)
        started = False

        async def send_with_session(message):
            nonlocal started
            kind = message["type"]
            if kind in ("http.response.start", "websocket.accept", "websocket.http.response.start"):
                # The session is committed into the headers that start the
                # response: an HTTP response, a WebSocket's accept (Go: Hijack
                # puts the Set-Cookie lines into the 101's header) or its denial
                # response. SessionTooLarge: nothing sent yet.
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                # The budget counts the whole response (the app's own cookies too), as Go's does.
                lines = await run_in_threadpool(self.manager.save, cs, headers.getlist("set-cookie"))
                if kind != "websocket.accept":
                    if cs.accessed:
                        headers.add_vary_header("Cookie")
                    if cs.private:
                        headers["Cache-Control"] = private_cache_control(headers.get("Cache-Control"))
                for line in lines:
                    headers.append("Set-Cookie", line)
                cs.commit("%s sent" % kind)  # later changes raise ResponseStarted, as after Go's Hijack
                started = True
            elif kind == "websocket.close" and not started:
                # Closed before accept: the server answers 403 with no header of
                # ours, so a change the cookie had to carry would be lost.
                cs.commit("the WebSocket closed before its accept")
                if cs.modified or (cs._destroyed and cs.status == "cleared"):
                    raise ResponseStarted("cookieseal.starlette: the WebSocket was closed before its accept, and "
                                          "the session's change cannot be sent: accept first, or send a denial "
                                          "response (websocket.http.response.start)")
            await send(message)

        try:
            await self.app(scope, receive, send_with_session)
        except Exception:
            # A logout clears the cookie in this browser even when it failed
            # (the revocation store did not answer): Go's ErrorHandler, Flask
            # and Django send the clear with their 500. Starlette's own 500
            # comes from ServerErrorMiddleware, outside this middleware,
            # without it; so the 500 of an unhandled error after a logout is
            # sent here, with the clearing lines, and the error re-raised (the
            # server logs it; ServerErrorMiddleware sees the response started).
            if not started and scope["type"] == "http" and cs.status == "cleared":
                await send_with_session({"type": "http.response.start", "status": 500,
                                         "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                                     (b"content-length", b"21")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
