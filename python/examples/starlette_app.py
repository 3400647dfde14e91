"""A Starlette app sharing its login with a Go service (cookieseal.starlette).

The same middleware serves FastAPI: app.add_middleware(
cookieseal.starlette.SessionMiddleware, manager=manager). Run:

    COOKIESEAL_KEY_FILE=/run/secrets/cookieseal.json COOKIESEAL_REDIS_URL=redis://localhost:6379/0 \
        uvicorn starlette_app:app --ssl-certfile cert.pem --ssl-keyfile key.pem
"""

import os

import redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import cookieseal
import cookieseal.redis
import cookieseal.starlette

manager = cookieseal.Manager(
    cookieseal.Keys.from_file(os.environ["COOKIESEAL_KEY_FILE"]),  # re-read when rotation changes it
    os.environ.get("COOKIESEAL_COOKIE", "__Host-session"),  # the Go manager's name
    format=os.environ.get("COOKIESEAL_FORMAT", "native"),  # the Go manager's Options.Codec.Format
    revoker=cookieseal.redis.Revoker(redis.Redis.from_url(os.environ["COOKIESEAL_REDIS_URL"], socket_timeout=2)),
)


async def login(request):
    session = request.session
    await run_in_threadpool(session.renew)  # a new session id; revoking the old one is a Redis call
    session.subject = request.query_params["sub"]  # the user: Go's sess.Subject()
    session["from"] = "starlette"
    session["n"] = 9007199254740993  # 2**53 + 1: exact on both sides
    session.flash("welcome from starlette")
    return Response(status_code=204)


async def me(request):
    session = request.session
    if not session.authenticated:
        return JSONResponse({"error": "no session", "reason": session.reason}, status_code=401)
    return JSONResponse({"id": session.id, "sub": session.subject, "d": dict(session)})


async def flashes(request):
    return JSONResponse({"flashes": request.session.pop_flashes()})


async def logout_others(request):
    await run_in_threadpool(request.session.revoke_others)  # every other session of the user, Go's included
    return Response(status_code=204)


async def logout(request):
    await run_in_threadpool(request.session.clear)  # ends the session, revoked for Go too
    return Response(status_code=204)


app = Starlette(
    routes=[
        Route("/login", login, methods=["POST"]),
        Route("/me", me),
        Route("/flashes", flashes),
        Route("/logout-others", logout_others, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ],
    middleware=[Middleware(cookieseal.starlette.SessionMiddleware, manager=manager)],
)
