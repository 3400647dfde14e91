"""Runs interop/python/core_example.py, whose functions docs/python.md quotes."""

import importlib.util
import os

import pytest

import cookieseal

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "interop", "python", "core_example.py")


@pytest.fixture
def example(monkeypatch):
    if not os.path.exists(EXAMPLE):
        pytest.skip("not in a cookieseal checkout")
    spec = importlib.util.spec_from_file_location("core_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ks = cookieseal.Keys.generate().current()
    monkeypatch.setenv("COOKIESEAL_KEYS", ks.marshal_string())
    return mod


def test_login_page_logout(example):
    rv = cookieseal.MemoryRevoker()
    m = example.make_manager(revoker=rv)
    cookie = example.cookie_header_of(example.login(m, None, "user-42"))
    status, body, lines = example.page(m, cookie)
    assert (status, body) == (200, "hello user-42, theme dark, ['Welcome back']")
    assert lines  # the flash was consumed: the session is written back
    cookie = example.cookie_header_of(lines)
    assert example.page(m, cookie)[:2] == (200, "hello user-42, theme dark, []")
    cleared = example.logout(m, cookie)
    assert cleared == ["__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]
    assert example.page(m, cookie)[:2] == (401, "log in (revoked)")
    assert example.page(m, "__Host-session=tampered")[:2] == (401, "log in (malformed)")
