"""FastAPI with cookieseal.starlette: the same middleware, request.session in the endpoints.

Run: uvicorn fastapi_app:app --ssl-certfile cert.pem --ssl-keyfile key.pem
(same environment as starlette_app.py, whose Manager it uses).
"""

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

import cookieseal.starlette
from starlette_app import manager  # one Manager per process: key file, cookie name, format, Redis

app = FastAPI()
app.add_middleware(cookieseal.starlette.SessionMiddleware, manager=manager)


@app.post("/login", status_code=204, response_class=Response)
async def login(request: Request, sub: str):
    await run_in_threadpool(request.session.renew)  # revoking the old id is a Redis call
    request.session.subject = sub
    request.session["from"] = "fastapi"


@app.get("/me")
def me(request: Request):  # a plain def: FastAPI runs it in the thread pool
    session = request.session
    if not session.authenticated:
        raise HTTPException(401, "no session")
    return {"id": session.id, "sub": session.subject, "d": dict(session)}


@app.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request):
    await run_in_threadpool(request.session.clear)  # ends the session, revoked for Go too
