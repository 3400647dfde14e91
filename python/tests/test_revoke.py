"""cookieseal.MemoryRevoker: Go's revoke.Memory (revoke/memory.go): expired
entries are forgotten a few at a time, and the list has a cap it never
makes room under by forgetting a live entry."""

import pytest

import cookieseal
from cookieseal import MemoryRevoker, RevocationListFull, RevocationUnavailable

NAME = "__Host-session"


@pytest.fixture
def keys():
    return cookieseal.Keys.generate()


def _value(m, lines):
    return next(l.split(";")[0] for l in lines if "Max-Age=0" not in l)


def test_expired_entries_are_forgotten(keys, clock):
    # Each login (the old anonymous id) and each logout (the tombstone and the id)
    # adds entries; once past their until, later calls forget them (32 a call).
    rv = MemoryRevoker(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    for i in range(50):
        s = m.load(None)
        s["cart"] = [i]
        s = m.load(_value(m, m.save(s)))
        s.set_subject("mallory")
        s.renew()  # login: the anonymous id is revoked
        m.load(_value(m, m.save(s))).destroy()  # logout: tombstone + id
    before = rv.stats().entries
    assert before >= 150
    clock.advance(m.absolute_timeout + 2 * m.clock_skew + 10)  # every entry is past its until
    for _ in range(before // 32 + 1):
        rv.check("x" * 22, "", clock.ms)
    assert rv.stats().entries == 0


def test_a_full_list_refuses_a_new_entry_and_keeps_the_live_ones(clock):
    rv = MemoryRevoker(clock=lambda: clock.ms, max_entries=2)
    rv.revoke_session("a" * 22, "u", clock.ms + 1000)
    rv.revoke_subject("v", clock.ms, clock.ms + 5000)
    with pytest.raises(RevocationListFull) as e:
        rv.revoke_session("b" * 22, "u", clock.ms + 1000)
    assert isinstance(e.value, RevocationUnavailable)  # a failed logout, not a done one
    with pytest.raises(RevocationListFull):
        rv.revoke_subject("w", clock.ms, clock.ms + 1000)
    assert rv.stats() == (2, 2, 2)
    # Revoking an entry already held always succeeds, and keeps the later times.
    rv.revoke_session("a" * 22, "u", clock.ms + 2000)
    rv.revoke_subject("v", clock.ms + 7, clock.ms + 3000)
    assert rv._subjects["v"] == (clock.ms + 7, clock.ms + 5000)
    assert rv.check("a" * 22, "u", 0, clock.ms + 1500)
    # Once an entry expired, a full list forgets it to make room.
    clock.advance(2.5)
    rv.revoke_session("b" * 22, "u", clock.ms + 1000)
    assert rv.stats().entries == 2 and rv.check("b" * 22, "u", 0)
    assert not rv.check("a" * 22, "u", 0)


def test_an_until_already_past_is_a_no_op(clock):
    rv = MemoryRevoker(clock=lambda: clock.ms, max_entries=1)
    rv.revoke_session("a" * 22, "u", clock.ms)
    rv.revoke_subject("u", clock.ms, clock.ms - 1)
    assert rv.stats().entries == 0


def test_no_cap_with_a_negative_max_entries(clock):
    rv = MemoryRevoker(clock=lambda: clock.ms, max_entries=-1)
    for i in range(100):
        rv.revoke_session("%022d" % i, "u", clock.ms + 1000)
    assert rv.stats() == (100, 0, 0)
    assert MemoryRevoker().stats().max_entries == cookieseal.DEFAULT_MAX_ENTRIES


def test_the_expiry_heap_stays_bounded(clock):
    rv = MemoryRevoker(clock=lambda: clock.ms)
    for i in range(1000):
        rv.revoke_session("a" * 22, "u", clock.ms + 1000 + i)  # the same entry, later each time
    assert rv.stats().entries == 1 and len(rv._exp) <= 2 * 1 + 64 + 1


def test_a_logout_on_a_full_list_clears_the_cookie_and_raises(keys, clock):
    rv = MemoryRevoker(clock=lambda: clock.ms, max_entries=1)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    rv.revoke_subject("someone", clock.ms, clock.ms + 10**9)
    s = m.load(None)
    s.set_subject("alice")
    v = _value(m, m.save(s))
    s = m.load(v)
    with pytest.raises(RevocationUnavailable):
        s.destroy()
    lines = m.save(s)
    assert lines and all("Max-Age=0" in l for l in lines)
    assert m.load(v).subject == "alice"  # not revoked: the error said so
