"""Test driver of the cookieseal Python package (python/) for interop/python_core_test.go.

Reads {"ops": [...]} as JSON on stdin, runs each op through the package's
public API and prints {"results": [...]}. Key sets come on stdin, never in argv.
"""

import decimal
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import cookieseal  # noqa: E402


def clock_of(op):
    ms = op["now_ms"]
    return lambda: decimal.Decimal(ms) / 1000


def revoker_of(op):
    if "redis_port" not in op:
        return None
    import redis
    import cookieseal.redis
    client = redis.Redis(host="127.0.0.1", port=op["redis_port"], socket_timeout=5)
    return cookieseal.redis.Revoker(client, prefix=op.get("prefix", cookieseal.redis.DEFAULT_PREFIX),
                                    clock=lambda: op["now_ms"])


def manager_of(op):
    return cookieseal.Manager(cookieseal.KeySet.parse(op["keyset"]), op.get("name", "__Host-session"),
                              clock=clock_of(op), revoker=revoker_of(op), **op.get("options", {}))


def read(s):
    deadline = s.deadline
    return {"reason": s.reason or "", "id": s.id, "subject": s.subject,
            "data_raw": {k: s.raw(k) for k in s}, "flashes_raw": list(s._flashes),
            "issued_at_ms": s.issued_at_ms or 0,
            "deadline_ms": 0 if deadline is None else int(deadline.timestamp() * 1000),
            "remember_me": s.remember_me, "status": s.status}


def do_write(op):
    """Loads op["cookie"], applies op["write"] and returns the Set-Cookie lines."""
    m = manager_of(op)
    s = m.load(op.get("cookie") or None)
    w = op.get("write", {})
    if w.get("renew"):
        s.renew()  # a login: renew first, then the subject (Go's order)
    if w.get("subject"):
        s.set_subject(w["subject"])
    for k, v in (w.get("data") or {}).items():  # JSON values (decoded by json.load: ints exact)
        s[k] = v
    for f in w.get("flashes") or []:
        s.flash(f)
    if w.get("remember_me") is not None:
        s.remember_me = w["remember_me"]
    if w.get("deadline_ms"):
        s.set_deadline(decimal.Decimal(w["deadline_ms"]) / 1000)
    if w.get("destroy"):
        s.destroy()
    if w.get("touch"):
        s.get("x")
    return {"lines": m.save(s), "read": read(s)}


def do_read(op):
    return read(manager_of(op).load(op["cookie"]))


def do_revoke(op):
    rv = revoker_of(op)
    if op.get("id"):
        rv.revoke_session(op["id"], op.get("subject", ""), op["until_ms"])
    else:
        rv.revoke_subject(op["subject"], op["before_ms"], op["until_ms"])
    return {}


def do_check(op):
    return {"revoked": revoker_of(op).check(op["id"], op.get("subject", ""), op["issued_at_ms"])}


def do_revoke_subject(op):
    manager_of(op).revoke_subject(op["subject"])
    return {}


OPS = {"write": do_write, "read": do_read, "revoke": do_revoke, "check": do_check,
       "revoke_subject": do_revoke_subject}


def main():
    import cookieseal.envelope  # noqa: F401
    results = []
    for op in json.load(sys.stdin)["ops"]:
        try:
            results.append(OPS[op["op"]](op))
        except cookieseal.CookiesealError as e:
            results.append({"error": type(e).__name__, "message": str(e)})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
