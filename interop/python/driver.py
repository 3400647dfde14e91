"""Test driver: the Go tests (interop/python_test.go) run this file.

It reads {"ops": [...]} as JSON on stdin, runs each op through the
example modules, and prints {"results": [...]}. Key sets come on stdin,
never in argv.
"""

import json
import sys
import time

import redis

import cookieseal_session as cs
import revocation
import with_authlib
import with_jose
import with_jwcrypto

LIBS = {"jwcrypto": with_jwcrypto, "authlib": with_authlib, "jose": with_jose}


def do_open(op):
    token = op.get("token")
    if token is None:
        token = cs.join_chunks(op["cookies"], op["name"], max_chunks=op.get("max_chunks", cs.MAX_CHUNKS))
    expiry = cs.lifetime_of(op["keyset"]).expiry() if "keyset" in op else {}  # the Go key set's recorded policy
    expiry.update({k: op[k] for k in ("idle", "absolute", "now_ms", "skew") if k in op})
    s = LIBS[op["lib"]].open_session(token, op["jwks"], **expiry)
    h = s.header
    return {"id": s.id, "sub": s.sub, "d": s.data, "f": s.flashes, "kid": h.kid, "iat_ms": h.iat_ms, "rat_ms": h.rat_ms,
            "dl": s.deadline_ms, "p": s.persistent}


def do_seal(op):
    if op.get("float_now"):  # Python's own clock, as a float: time.time()
        iat = rat = time.time()
    else:
        iat, rat = op.get("iat"), op.get("rat")
    payload = op["payload"].encode()
    kid = op.get("kid") or cs.write_kid(op["jwks"], op["key_id"])
    if op["lib"] == "jose":
        token = with_jose.seal_session_attempt(payload, op["jwks"], kid)
    else:
        token = LIBS[op["lib"]].seal_session(payload, op["jwks"], kid, iat, rat)
    out = {"token": token, "kid": kid}
    if op.get("split"):
        out["cookies"] = cs.split_value(token, op["name"], max_chunks=op.get("max_chunks", cs.MAX_CHUNKS))
    return out


def do_revoked(op):
    r = redis.Redis(host=op["host"], port=op["port"], socket_timeout=5)
    try:
        return {"revoked": revocation.is_revoked(
            r, op["id"], op["sub"], op["iat_ms"], now_ms=op.get("now_ms"),
            prefix=op.get("prefix", revocation.PREFIX), v1_compat=op.get("v1_compat", False))}
    finally:
        r.close()


def do_lifetime(op):
    try:
        lt = cs.lifetime_of(op["keyset"])
    except cs.InvalidKeySet as e:
        return {"error": "InvalidKeySet", "message": str(e)}
    return {"lifetime": {"idle": lt.idle, "absolute": lt.absolute, "skew": lt.skew, "rollout": lt.rollout, "recorded": sorted(lt.recorded)}}


OPS = {"open": do_open, "seal": do_seal, "revoked": do_revoked, "lifetime": do_lifetime}


def main():
    results = []
    for op in json.load(sys.stdin)["ops"]:
        try:
            results.append(OPS[op["op"]](op))
        except (cs.NoSession, cs.TooManyChunks) as e:
            results.append({"error": type(e).__name__, "message": str(e)})
        except revocation.RevocationUnavailable as e:
            results.append({"error": "RevocationUnavailable", "message": str(e)})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
