import base64
import json
import os
import threading

import pytest

import cookieseal
from cookieseal.keys import KeySet, hkdf_sha256

SECRET = base64.urlsafe_b64encode(bytes(range(1, 33))).rstrip(b"=").decode()


def test_compact_form_and_lifetime():
    ks = KeySet.parse(" 7:primary:%s , 3:decrypt-only:%s,epoch=24h,absolute_timeout=720h,clock_skew=10s "
                      % (SECRET, SECRET.replace("A", "B", 1)))
    assert ks.primary.id == 7 and [k.id for k in ks.keys] == [3, 7]
    assert ks.epoch_period == 86400
    assert ks.lifetime.absolute_timeout == 720 * 3600 and ks.lifetime.clock_skew == 10
    assert ks.lifetime.idle_timeout == 24 * 3600  # the default
    assert ks.lifetime.recorded == {"absolute_timeout", "clock_skew"}
    assert SECRET not in repr(ks) and SECRET not in repr(ks.primary)


def test_key_file_form():
    f = {"cookieseal_keyset": 2, "Lifetime": {"idle_timeout": "1h0m0s", "ROLLOUT_DELAY": "90m"},
         "keys": [{"id": 9, "status": "primary", "secret": SECRET, "added": "2026-01-01T00:00:00Z"}]}
    ks = KeySet.parse(json.dumps(f))
    assert ks.lifetime.idle_timeout == 3600 and ks.lifetime.rollout_delay == 5400


@pytest.mark.parametrize("text", [
    "",
    "7:primary:" + SECRET + ",",  # trailing comma
    "7:primary:" + SECRET[:-1] + "B",  # unused low bits set
    "7:primary:" + SECRET + ":x",
    "0:primary:" + SECRET,
    "7:decrypt-only:" + SECRET,  # no primary
    "7:primary:" + SECRET + ",7:decrypt-only:" + SECRET,  # duplicate id
    "7:primary:" + base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode(),  # all zero
    "7:primary:" + SECRET + ",idle_timeout=2h,absolute_timeout=1h",
    "7:primary:" + SECRET + ",clock_skew=2m",
    "7:primary:" + SECRET + ",idle_timeout=1.5s",
    "7:primary:" + SECRET + ",idle_timeout=1h,idle_timeout=1h",
    "7:primary:" + SECRET + ",bogus=1h",
    "7:primary:" + SECRET + ",epoch=30s",
    '{"cookieseal_keyset": 1, "lifetime": {"idle_timeout": "1h"}, "keys": [{"id": 1, "status": "primary", "secret": "%s"}]}' % SECRET,
    '{"cookieseal_keyset": 3, "keys": [{"id": 1, "status": "primary", "secret": "%s"}]}' % SECRET,
    '{"cookieseal_keyset": 1, "extra": 1, "keys": [{"id": 1, "status": "primary", "secret": "%s"}]}' % SECRET,
    '{"cookieseal_keyset": 1, "keys": [{"id": 1, "status": "primary", "secret": "%s"}]} {}' % SECRET,
])
def test_refused_as_go_refuses(text):
    with pytest.raises(cookieseal.InvalidKeySet) as e:
        KeySet.parse(text)
    assert SECRET not in str(e.value)


def test_hkdf_rfc5869_case3():
    # RFC 5869 A.3: SHA-256, no salt, no info.
    okm = hkdf_sha256(bytes.fromhex("0b" * 22), b"", 42)
    assert okm.hex() == ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                         "9d201395faa4b61a96c8")


def test_env(monkeypatch):
    monkeypatch.setenv("COOKIESEAL_KEYS", "5:primary:" + SECRET)
    assert cookieseal.Keys.from_env().primary.id == 5
    with pytest.raises(cookieseal.InvalidKeySet):
        cookieseal.Keys.from_env("COOKIESEAL_UNSET_VAR")


def test_file_reload(tmp_path):
    p = tmp_path / "keys"
    p.write_text("5:primary:" + SECRET)
    keys = cookieseal.Keys.from_file(str(p), check_interval=0)
    assert keys.primary.id == 5
    other = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    p.write_text("5:decrypt-only:%s,6:primary:%s" % (SECRET, other))
    assert keys.primary.id == 6  # seen on the next current(): size changed
    p.write_text("garbage")
    assert keys.primary.id == 6  # a bad file keeps the set in force
    assert isinstance(keys.last_error, cookieseal.InvalidKeySet)
    with pytest.raises(cookieseal.InvalidKeySet):
        keys.reload()
    p.write_text("5:decrypt-only:%s,6:primary:%s" % (SECRET, other))
    assert keys.reload() is False  # the same bytes as the set in force
    assert keys.last_error is None


def test_reload_under_concurrent_readers(tmp_path):
    p = tmp_path / "keys"
    p.write_text("5:primary:" + SECRET)
    keys = cookieseal.Keys.from_file(str(p), check_interval=0)
    m = cookieseal.Manager(keys)
    s = m.load(None)
    s["x"] = 1
    cookie = m.save(s)[0].split(";")[0]
    errors = []

    def reader():
        for _ in range(200):
            if m.load(cookie).get("x") != 1:
                errors.append("lost")

    ts = [threading.Thread(target=reader) for _ in range(4)]
    for t in ts:
        t.start()
    for i in range(20):
        new = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        p.write_text("5:decrypt-only:%s,%d:primary:%s" % (SECRET, 100 + i, new))
    for t in ts:
        t.join()
    assert errors == []


def test_manager_refuses_longer_than_recorded():
    keys = cookieseal.Keys.from_string("5:primary:%s,idle_timeout=1h,absolute_timeout=2h" % SECRET)
    with pytest.raises(ValueError, match="records"):
        cookieseal.Manager(keys, absolute_timeout=3 * 3600)
    m = cookieseal.Manager(keys)
    assert (m.idle_timeout, m.absolute_timeout, m.clock_skew, m.refresh_after) == (3600, 7200, 30, 900)
    assert cookieseal.Manager(keys, absolute_timeout=3600).absolute_timeout == 3600  # shorter is fine
