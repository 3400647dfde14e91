"""A Flask app sharing its login with a Go service (cookieseal.flask).

Both sides read the same key set file (keys and lifetime), use the same
cookie name and format, and the same Redis for logouts. Run:

    COOKIESEAL_KEY_FILE=/run/secrets/cookieseal.json COOKIESEAL_REDIS_URL=redis://localhost:6379/0 \
        flask --app flask_app run --cert cert.pem --key key.pem
"""

import os

import flask
import redis
from flask import flash, get_flashed_messages, request, session

import cookieseal
import cookieseal.flask
import cookieseal.redis

manager = cookieseal.Manager(
    cookieseal.Keys.from_file(os.environ["COOKIESEAL_KEY_FILE"]),  # re-read when rotation changes it
    os.environ.get("COOKIESEAL_COOKIE", "__Host-session"),  # the Go manager's name
    format=os.environ.get("COOKIESEAL_FORMAT", "native"),  # the Go manager's Options.Codec.Format
    revoker=cookieseal.redis.Revoker(redis.Redis.from_url(os.environ["COOKIESEAL_REDIS_URL"], socket_timeout=2)),
)

app = flask.Flask(__name__)
app.session_interface = cookieseal.flask.SessionInterface(manager)


@app.post("/login")
def login():
    session.renew()  # a new session id at every login
    session.subject = request.args["sub"]  # the user: Go's sess.Subject(), what a logout-everywhere names
    session["from"] = "flask"
    session["n"] = 9007199254740993  # 2**53 + 1: exact on both sides
    flash("welcome from flask")  # Flask's flash(): the queue Go's AddFlash and PopFlashes use too
    return "", 204


@app.get("/me")
def me():
    if not session.authenticated:
        return {"error": "no session", "reason": session.reason}, 401
    return {"id": session.id, "sub": session.subject, "d": dict(session)}


@app.get("/flashes")
def flashes():
    return {"flashes": get_flashed_messages()}  # Go's flashes included, popped once


@app.post("/logout-others")
def logout_others():
    session.revoke_others()  # "log out my other devices": every other session of the user, Go's included
    return "", 204


@app.post("/logout")
def logout():
    session.clear()  # ends the session: cookie cleared, session revoked for Go too
    return "", 204
