"""Red-team reproducers: divergences of the Python package from Go's rules.

Run: cd python && /usr/bin/python3 -m pytest -q tests/test_redteam.py
Each test asserts the behaviour Go has (or the rule states) and fails today.
"""

import asyncio

import pytest

import cookieseal

NAME = "__Host-session"


@pytest.fixture
def keys():
    return cookieseal.Keys.generate()


def _value(m, lines):
    for l in lines:
        head = l.split(";", 1)[0]
        n, _, v = head.partition("=")
        if n == m.name and v and "Max-Age=0" not in l:
            return v
    raise AssertionError(lines)


def _login(m, sub):
    s = m.load(None)
    s.set_subject(sub)
    return _value(m, m.save(s))


def test_unprefixed_name_is_refused_without_acknowledgement(keys):
    # Go: middleware.New(kr, "session", Options{}) fails ("has no __Host- prefix
    # ... acknowledge the risk with InsecureNoHostPrefix"). Python builds it silently.
    with pytest.raises(ValueError):
        cookieseal.Manager(keys, "session")






def test_django_sessionstore_from_request_cookies_picks_a_copy(keys, clock):
    # cookieseal.django.SessionStore(session_key) is documented for "Django's test
    # client and other tools" (e.g. Channels' SessionMiddleware), which take the key
    # from Django's parse_cookie: the LAST copy of a name wins, and names are
    # stripped of Unicode white space (str.strip). Two copies that disagree then
    # open as one of them (a pick, against rule 2), here the planter's.
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(SESSION_ENGINE="cookieseal.django")
    from django.http.cookie import parse_cookie

    import cookieseal.django as csd

    m = cookieseal.Manager(keys, "sid", clock=clock, secure=False)
    victim, planted = _login(m, "alice"), _login(m, "mallory")
    header = "sid=%s; sid=%s" % (victim, planted)
    direct = m.load(header)
    assert direct.reason == "duplicate"  # the adapter's own path: no session
    store = csd.SessionStore(parse_cookie(header)["sid"], manager=m)
    assert store.subject != "mallory", "SessionStore(session_key) opened the planted copy"
    # A name with a leading U+00A0 (latin-1 byte 0xA0) is no prefixed name to a browser,
    # but Django's parse_cookie strips it into the real name.
    assert "__Host-session" not in parse_cookie("\xa0__Host-session=x"), "parse_cookie normalises the name"
