"""A FastAPI service that shares a cookieseal (Go) session.

Configuration, from the environment (keys never on the command line):
  COOKIESEAL_JWKS              the Go side's InsecureExportJWKSet output
  COOKIESEAL_COOKIE            the session cookie's name (default "__Host-session", Go's
                               middleware.DefaultName)
  COOKIESEAL_WRITE_KEY_ID      the primary key's ID, to seal under (login)
  COOKIESEAL_KEYS              the Go fleet's key set, in either form it reads
                               (a key set file's text, or the compact form):
                               only its recorded lifetime policy (timeouts,
                               clock skew) is read, the one place it is
                               written; defaults when it records none
  COOKIESEAL_MAX_CHUNKS        as middleware.Options.MaxChunks (default 1, as Go's)
  COOKIESEAL_REDIS_URL         the revoke/redis server, to honour Go logouts
  COOKIESEAL_REVOKE_V1_COMPAT  "1" while Go instances still write layout v1

Run: uvicorn fastapi_app:app
"""

import json
import os

import redis
from fastapi import FastAPI, HTTPException, Request, Response

import cookieseal_session as cs
import revocation
import with_jwcrypto

JWKS = json.loads(os.environ["COOKIESEAL_JWKS"])
NAME = os.environ.get("COOKIESEAL_COOKIE", "__Host-session")
EXPIRY = cs.lifetime_of(os.environ["COOKIESEAL_KEYS"]).expiry()
MAX_CHUNKS = int(os.environ.get("COOKIESEAL_MAX_CHUNKS", cs.MAX_CHUNKS))
V1_COMPAT = os.environ.get("COOKIESEAL_REVOKE_V1_COMPAT") == "1"
REDIS = redis.Redis.from_url(os.environ["COOKIESEAL_REDIS_URL"], socket_timeout=2) if os.environ.get("COOKIESEAL_REDIS_URL") else None

app = FastAPI()


def load_session(request: Request) -> cs.Session:
    """The request's session, or 401. Bad, expired and revoked all mean no session."""
    cookies = cs.cookie_pairs(request.headers.get("cookie"))  # keeps duplicates, unlike request.cookies
    try:
        token = cs.join_chunks(cookies, NAME, max_chunks=MAX_CHUNKS)
        session = with_jwcrypto.open_session(token, JWKS, **EXPIRY)
        if REDIS is not None and revocation.is_revoked(REDIS, session.id, session.sub, session.header.iat_ms, v1_compat=V1_COMPAT):
            raise cs.RevokedSession("revoked")
    except cs.NoSession as e:
        raise HTTPException(401, type(e).__name__)
    except revocation.RevocationUnavailable:
        raise HTTPException(401, "RevocationUnavailable")  # fail closed, as cookieseal does
    return session


@app.get("/me")
def me(request: Request):
    s = load_session(request)
    return {"id": s.id, "sub": s.sub, "d": s.data, "iat_ms": s.header.iat_ms, "kid": s.header.kid}


@app.post("/login")
def login(sub: str, size: int = 0):
    """A Python login that the Go side reads: a new session, chunked if large."""
    now = cs.numeric_date(cs.now_ms())
    payload = cs.new_payload(sub, {"from": "fastapi", "blob": "x" * size})
    kid = cs.write_kid(JWKS, os.environ["COOKIESEAL_WRITE_KEY_ID"])
    token = with_jwcrypto.seal_session(payload, JWKS, kid, now, now)
    response = Response(status_code=204)
    try:
        written = cs.split_value(token, NAME, max_chunks=MAX_CHUNKS)
    except cs.TooManyChunks as e:  # Go would refuse the cookies: write none
        raise HTTPException(500, "TooManyChunks: %s" % e)
    for n, v in written:
        response.set_cookie(n, v, path="/", secure=True, httponly=True, samesite="lax")
    # Expire what this response does not use, as cookieseal does.
    for n in [NAME] + ["%s.%d" % (NAME, i) for i in range(MAX_CHUNKS)]:
        if n not in dict(written):
            response.delete_cookie(n, path="/", secure=True, httponly=True)
    return response
