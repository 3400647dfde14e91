"""cookieseal.redis against a real redis-server (Debian redis-server).

Skips when redis-server is missing, unless COOKIESEAL_REQUIRE_REDIS=1 (as CI
sets), when it fails. Go reading what this writes (and the other way round)
is tested in interop/python_core_test.go.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import zlib

import pytest

redis = pytest.importorskip("redis")

import cookieseal  # noqa: E402
import cookieseal.redis as csredis  # noqa: E402
from conftest import Clock  # noqa: E402


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("COOKIESEAL_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server not found (COOKIESEAL_REQUIRE_REDIS=1): apt-get install redis-server")
        pytest.skip("redis-server not found: apt-get install redis-server")
    port = _free_port()
    d = tempfile.mkdtemp()
    p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_timeout=2)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.RedisError:
            time.sleep(0.02)
    else:
        p.kill()
        pytest.fail("redis-server did not start")
    yield port
    p.terminate()
    p.wait(10)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def client(server):
    c = redis.Redis(port=server, socket_timeout=2)
    c.flushall()
    c.config_set("maxmemory-policy", "noeviction")
    yield c
    c.close()


NOW = 1795600800000


def test_layout_and_values(client):
    rv = csredis.Revoker(client, clock=lambda: NOW)
    rv.revoke_session("sid1", "user:42%", NOW + 60_000)
    rv.revoke_subject("user:42%", NOW - 5, NOW + 120_000)
    bucket = b"cookieseal:revoke:v2:{%03x}" % (zlib.crc32(b"user:42%") & 1023)
    assert client.hgetall(bucket) == {b"s:user%3A42%25:sid1": str(NOW + 60_000).encode(),
                                      b"u:user%3A42%25": ("%d:%d" % (NOW - 5, NOW + 120_000)).encode()}
    assert 119_000 < client.pttl(bucket) <= 120_000
    # Anonymous: bucketed by the id.
    rv.revoke_session("anon-id", "", NOW + 60_000)
    assert client.hget(b"cookieseal:revoke:v2:{%03x}" % (zlib.crc32(b"anon-id") & 1023), b"s::anon-id") == \
        str(NOW + 60_000).encode()


def test_check(client):
    rv = csredis.Revoker(client, clock=lambda: NOW)
    assert not rv.check("sid1", "u", NOW - 10)
    rv.revoke_session("sid1", "u", NOW + 60_000)
    assert rv.check("sid1", "u", NOW - 10)
    assert not rv.check("sid2", "u", NOW - 10)
    assert not rv.check("sid1", "u", NOW - 10, now_ms=NOW + 60_000)  # until passed
    rv.revoke_subject("u", NOW, NOW + 60_000)
    assert rv.check("sid3", "u", NOW - 1)  # issued before the cut-off
    assert not rv.check("sid3", "u", NOW)  # issued at it: a new login survives
    assert not rv.check("sid3", "other", NOW - 1)
    rv.revoke_session("anon", "", NOW + 60_000)  # the bucket's TTL runs on Redis's own clock
    assert rv.check("anon", "", 0)


def test_merge_keeps_later_times(client):
    rv = csredis.Revoker(client, clock=lambda: NOW)
    rv.revoke_subject("u", NOW + 50, NOW + 90_000)
    rv.revoke_subject("u", NOW + 10, NOW + 100_000)
    assert client.hget(csredis.bucket_key("u", ""), b"u:u") == ("%d:%d" % (NOW + 50, NOW + 100_000)).encode()


def test_malformed_entry_revokes(client):
    rv = csredis.Revoker(client, clock=lambda: NOW)
    client.hset(csredis.bucket_key("u", "x"), b"s:u:x", b"+12")
    assert rv.check("x", "u", NOW)
    client.hset(csredis.bucket_key("v", "y"), b"u:v", b"12")
    assert rv.check("y", "v", NOW)


def test_expired_entries_swept(client):
    t = [NOW]
    rv = csredis.Revoker(client, clock=lambda: t[0])
    for i in range(10):
        rv.revoke_session("old%d" % i, "u", NOW + 60_000)
    assert len(client.hkeys(csredis.bucket_key("u", ""))) == 10
    t[0] = NOW + 60_000  # every old entry's until has come (the bucket lives on: Redis's clock)
    rv.revoke_session("new", "u", NOW + 120_000)
    assert client.hkeys(csredis.bucket_key("u", "")) == [b"s:u:new"]


def test_eviction_policy_refused(client):
    client.config_set("maxmemory-policy", "allkeys-lru")
    rv = csredis.Revoker(client, clock=lambda: NOW)
    with pytest.raises(csredis.EvictionPolicyError):
        rv.check("s", "u", NOW)
    with pytest.raises(cookieseal.RevocationUnavailable):  # the same family as any fault
        rv.revoke_session("s", "u", NOW + 1000)
    client.config_set("maxmemory-policy", "noeviction")


def test_wait_without_replicas(client):
    rv = csredis.Revoker(client, clock=lambda: NOW, wait_replicas=1, wait_timeout=0.05)
    with pytest.raises(csredis.NotReplicated):
        rv.revoke_session("s", "u", NOW + 60_000)
    assert rv.check("s", "u", NOW)  # on the master all the same


def test_store_down_is_a_fault():
    port = _free_port()  # nothing listens
    rv = csredis.Revoker(redis.Redis(port=port, socket_timeout=0.2), clock=lambda: NOW)
    with pytest.raises(cookieseal.RevocationUnavailable):
        rv.check("s", "u", NOW)
    with pytest.raises(cookieseal.RevocationUnavailable):
        rv.revoke_subject("u", NOW, NOW + 1000)


def test_manager_logout_sticks(client):
    clock = Clock(NOW)
    m = cookieseal.Manager(cookieseal.Keys.generate(), revoker=csredis.Revoker(client, clock=lambda: clock.ms),
                           clock=clock)
    s = m.load(None)
    s.set_subject("alice")
    s.renew()
    cookie = m.save(s)[0].split(";")[0]
    copy = cookie
    s = m.load(cookie)
    assert s.subject == "alice"
    s.destroy()
    assert m.save(s) == ["__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]
    again = m.load(copy)
    assert again.reason == "revoked" and not again.authenticated
    # Log out everywhere.
    s = m.load(None)
    s.set_subject("bob")
    c1 = m.save(s)[0].split(";")[0]
    clock.advance(1)
    m.revoke_subject("bob")
    assert m.load(c1).reason == "revoked"
    clock.advance(1)
    s = m.load(None)
    s.set_subject("bob")
    assert m.load(m.save(s)[0].split(";")[0]).subject == "bob"  # a login after it survives


def test_manager_fails_closed():
    clock = Clock(NOW)
    keys = cookieseal.Keys.generate()
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s.set_subject("alice")
    cookie = m.save(s)[0].split(";")[0]
    down = csredis.Revoker(redis.Redis(port=_free_port(), socket_timeout=0.2), clock=lambda: clock.ms)
    closed = cookieseal.Manager(keys, revoker=down, clock=clock)
    s = closed.load(cookie)
    assert s.reason == "revoke_fault" and s.frozen and not s.authenticated
    assert closed.save(s) == []  # the cookie is kept: the user is back once the store answers
    with pytest.raises(cookieseal.RevocationUnavailable):
        s["x"] = 1
    opened = cookieseal.Manager(keys, revoker=down, revoke_fail_open=True, clock=clock)
    assert opened.load(cookie).subject == "alice"


@pytest.mark.parametrize("make", [
    lambda: redis.Redis(host="127.0.0.1", port=1),  # socket_timeout=None
    lambda: redis.Redis.from_url("redis://127.0.0.1:1/0"),
    lambda: redis.Redis(host="127.0.0.1", port=1, socket_timeout=0),
    lambda: redis.sentinel.Sentinel([("127.0.0.1", 1)]).master_for("m"),
])
def test_a_client_without_socket_timeout_is_refused(make):
    # Go refuses a client without ContextTimeoutEnabled: a Redis that stops
    # answering (no RST: a partition, a paused primary) would hang every
    # request that opens a session, neither failing closed nor open.
    with pytest.raises(ValueError, match="socket_timeout"):
        csredis.Revoker(make())


@pytest.mark.parametrize("make", [
    lambda: redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.5),
    lambda: redis.Redis.from_url("redis://127.0.0.1:1/0?socket_timeout=0.5"),
    lambda: redis.sentinel.Sentinel([("127.0.0.1", 1)], socket_timeout=0.1).master_for("m"),
])
def test_a_client_with_socket_timeout_is_accepted(make):
    csredis.Revoker(make())
