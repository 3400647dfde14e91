"""The cookieseal package without a framework: the examples of docs/python.md
("The core package"), run by python/tests/test_docs_example.py.

Run it from a checkout with the package on the path:
    COOKIESEAL_KEYS=... PYTHONPATH=python python3 interop/python/core_example.py
"""

import cookieseal


def make_manager(revoker=None):
    # The Go fleet's key set, in the form the Go side reads it: the
    # COOKIESEAL_KEYS variable (rotate.EnvSource) or the key file
    # (cookieseal.Keys.from_file("/run/secrets/cookieseal.json"), re-read when it changes).
    keys = cookieseal.Keys.from_env("COOKIESEAL_KEYS")
    # Go's defaults: "__Host-session", native format, Secure, HttpOnly, SameSite=Lax,
    # one cookie (max_chunks 1), the timeouts the key set records.
    return cookieseal.Manager(keys, revoker=revoker)


def login(manager, cookie_header, user_id):
    session = manager.load(cookie_header)  # never raises: a bad cookie is no session
    session.renew()  # a new id after authenticating: no session fixation
    session.set_subject(user_id)  # then the user, Go's order (Renew, then SetSubject)
    session["theme"] = "dark"
    session.flash("Welcome back")
    return manager.save(session)  # the Set-Cookie header values


def page(manager, cookie_header):
    session = manager.load(cookie_header)
    if not session.authenticated:
        return 401, "log in (%s)" % (session.reason or "no session"), manager.save(session)
    messages = session.pop_flashes()
    body = "hello %s, theme %s, %s" % (session.subject, session["theme"], messages)
    return 200, body, manager.save(session)


def logout(manager, cookie_header):
    session = manager.load(cookie_header)
    session.destroy()  # with a revoker: a copy of the cookie is refused by Go too
    return manager.save(session)


def cookie_header_of(set_cookie_lines):
    """What a browser sends back: name=value of every cookie not being cleared."""
    pairs = [line.split(";", 1)[0] for line in set_cookie_lines if "Max-Age=0" not in line]
    return "; ".join(pairs)


if __name__ == "__main__":
    m = make_manager()
    cookie = cookie_header_of(login(m, None, "user-42"))
    print(page(m, cookie)[:2])
    print(page(m, "__Host-session=tampered")[:2])
