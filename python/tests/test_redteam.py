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
