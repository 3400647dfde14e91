import datetime

import pytest

import cookieseal
from conftest import Clock
from cookieseal import MemoryRevoker


def value_of(lines, name="__Host-session"):
    return "; ".join(l.split(";")[0] for l in lines if not l.split(";")[0].endswith("=") and "Max-Age=0" not in l)


@pytest.fixture
def keys():
    return cookieseal.Keys.generate()


def test_round_trip_both_formats_and_cross_read(keys, clock):
    native = cookieseal.Manager(keys, clock=clock)
    jwe = cookieseal.Manager(keys, format="jwe", clock=clock)
    for writer, reader in [(native, jwe), (jwe, native), (native, native), (jwe, jwe)]:
        s = writer.load(None)
        s["big"] = 2**64 - 1
        s["neg"] = -(2**63)
        s["nested"] = {"a": [1, 2.5, None, True, "☃"]}
        s.set_subject("user-1")
        c = value_of(writer.save(s))
        r = reader.load(c)
        assert r.reason is None and r.subject == "user-1" and r.id == s.id
        assert r["big"] == 2**64 - 1 and r["neg"] == -(2**63)
        assert r["nested"] == {"a": [1, 2.5, None, True, "☃"]}
        # The other format's cookie is re-sealed in the reader's (Go: outdated).
        assert r.status == ("refreshed" if writer is not reader else "unmodified")


def test_unchanged_values_keep_their_text(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    c = cookieseal.Codec(keys, "__Host-session", clock=clock)
    v = c.seal(b'{"id":"abcdefgh","d":{"a":1.10,"b":1e+300,"c":"\\u003c"},"zz":1}')
    s = m.load("__Host-session=" + v)
    assert s["a"] == 1.1
    s["d"] = 1  # one change: the others keep their spelling
    s2 = m.load(value_of(m.save(s)))
    assert (s2.raw("a"), s2.raw("b"), s2.raw("c"), s2.raw("d")) == ("1.10", "1e+300", '"\\u003c"', "1")


def test_in_place_change_is_saved(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s["cart"] = [1]
    s = m.load(value_of(m.save(s)))
    assert not s.modified
    s["cart"].append(2)
    assert s.modified
    assert m.load(value_of(m.save(s)))["cart"] == [1, 2]


def test_untouched_session_writes_nothing(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s["x"] = 1
    c = value_of(m.save(s))
    clock.advance(7 * 3600)  # a refresh is due
    assert m.save(m.load(c)) == []  # never touched: like Go, no refresh
    s = m.load(c)
    assert s["x"] == 1
    assert len(m.save(s)) == 1  # touched: refreshed
    assert m.save(m.load("__Host-session=garbage")) == []
    bad = m.load("__Host-session=garbage")
    assert bad.reason == "malformed" and bad.is_new
    # Not a cookie of ours (it does not authenticate): cleared, it may be a planted piece.
    assert m.save(bad) == ["__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]
    # An authentic cookie that expired (or was revoked) is left as it is, even when touched (Go,
    # issue 24 item 2): it may be the old cookie of a browser whose newer one, from another tab,
    # lands before this response does.
    clock.advance(24 * 3600)
    old = m.load(c)
    assert old.reason == "idle_expired" and old.is_new
    assert m.save(old) == [] and old.status == "unmodified"
    old.destroy()  # unless the handler destroys: then it goes
    assert m.save(old) == ["__Host-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"]


def test_expiry_and_refresh(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, idle_timeout=3600, absolute_timeout=4 * 3600)
    s = m.load(None)
    s["x"] = 1
    c = value_of(m.save(s))
    clock.advance(899)
    s = m.load(c)
    assert s.status == "unmodified" and m.save(s) == []
    clock.advance(1)  # refresh_after = idle/4 = 900s
    s = m.load(c)
    assert s["x"] == 1 and s.status == "refreshed"
    c = value_of(m.save(s))
    clock.advance(3600 + 30)  # idle, within the 30s skew
    s = m.load(c)
    assert s["x"] == 1 and s.status == "refreshed"
    c = value_of(m.save(s))
    clock.advance(3600 + 31)
    assert m.load(c).reason == "idle_expired"
    # The absolute deadline, however active.
    s = m.load(None)
    s["x"] = 1
    c = value_of(m.save(s))
    for _ in range(8):  # 4h of activity
        clock.advance(1800)
        s = m.load(c)
        assert s.reason is None, s.reason
        s["t"] = clock.ms
        c = value_of(m.save(s))
    clock.advance(31)
    assert m.load(c).reason == "absolute_expired"


def test_max_age_and_remember_me(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s.set_subject("u")
    (line,) = m.save(s)
    assert "Max-Age=86400" in line
    s.remember_me = False
    (line,) = m.save(s)
    assert "Max-Age" not in line and "Expires" not in line
    r = m.load(value_of([line]))
    assert r.remember_me is False
    r.set_deadline(datetime.datetime.fromtimestamp(clock.ms / 1000 + 600, datetime.timezone.utc))
    r.remember_me = True
    assert "Max-Age=600" in m.save(r)[0]
    with pytest.raises(ValueError):
        r.set_deadline(clock.ms / 1000 - 1)


def test_chunks(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, max_chunks=3)
    s = m.load(None)
    s["big"] = "x" * 5000
    lines = m.save(s)
    names = [l.split("=")[0] for l in lines]
    assert names == ["__Host-session.0", "__Host-session.1", "__Host-session", "__Host-session.2"]
    c = value_of(lines)
    assert m.load(c)["big"] == "x" * 5000
    # A default reader (max_chunks 1) does not join them: Go's rule.
    assert m.load(c).reason is None
    one = cookieseal.Manager(keys, clock=clock)
    assert one.load(c).get("big") is None
    # Too large for max_chunks 1: refused, nothing written.
    s = one.load(None)
    s["big"] = "x" * 5000
    with pytest.raises(cookieseal.SessionTooLarge):
        one.save(s)


def test_flashes(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, max_flashes=3)
    s = m.load(None)
    for i in range(5):
        s.flash(i)
    s = m.load(value_of(m.save(s)))
    assert s.pop_flashes() == [2, 3, 4] and s.pop_flashes() == []
    assert m.load(value_of(m.save(s))).pop_flashes() == []
    # Too large: the oldest flashes go, the data stays.
    s = m.load(None)
    s["d"] = "y" * 1000  # with 3 flashes of 400: over the 3072-byte response budget
    for i in range(3):
        s.flash("z" * 400)
    r = m.load(value_of(m.save(s)))
    assert r["d"] == "y" * 1000 and r.peek_flashes() in (["z" * 400], ["z" * 400] * 2)


def test_duplicates(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    a, b = m.load(None), m.load(None)
    a.set_subject("a")
    b.set_subject("b")
    ca, cb = value_of(m.save(a)), value_of(m.save(b))
    assert m.load(ca + "; " + cb).reason == "duplicate"
    s = m.load(ca + "; " + ca)
    assert s.subject == "a" and s.status == "refreshed"


def test_renew(keys, clock):
    rv = MemoryRevoker(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    s = m.load(None)
    s["x"] = 1
    anon = value_of(m.save(s))
    clock.advance(1)
    s = m.load(anon)
    old_id = s.id
    s.set_subject("alice")
    s.renew()  # the planted anonymous id is revoked (session fixation)
    assert s.id != old_id and s["x"] == 1 and s.issued_at_ms == clock.ms
    clock.advance(1)
    s.renew()  # a checked session with a subject: issued 1 ms before the check (Go's rule)
    assert s.issued_at_ms == clock.ms - 1
    logged = value_of(m.save(s))
    assert m.load(anon).reason == "revoked"
    assert m.load(logged).subject == "alice"


def test_destroy(keys, clock):
    rv = MemoryRevoker(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    s = m.load(None)
    s.set_subject("alice")
    c = value_of(m.save(s))
    s = m.load(c)
    s.destroy()
    assert len(s) == 0 and not s.authenticated and s.status == "cleared"
    assert m.load(c).reason == "revoked"  # a copy of the cookie is dead too
    # Without a subject nothing is written to the list (strangers can't grow it), and destroy
    # says so: the cookie is cleared, a copy stays valid (Go: ErrNoSubject).
    s = m.load(None)
    s["cart"] = [1]
    c = value_of(m.save(s))
    s = m.load(c)
    with pytest.raises(cookieseal.NoSubject):
        s.destroy()
    assert m.save(s)[0].startswith("__Host-session=; ")
    assert all(k[0] == "alice" for k in rv._sessions)
    assert m.load(c).reason is None  # the anonymous copy still opens
    # A session made in this request, or none: nothing to say.
    fresh = m.load(None)
    fresh["x"] = 1
    fresh.destroy()
    m.load(None).destroy()
    # Without a revoker no destroy revokes anything, and none says so.
    plain = cookieseal.Manager(keys, clock=clock)
    plain.load(c).destroy()


def test_destroy_of_a_revoked_cookie_tombstones_it(keys, clock):
    rv = MemoryRevoker(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    s = m.load(None)
    s.set_subject("alice")
    c = value_of(m.save(s))
    sid = m.load(c).id
    clock.advance(1)
    m.revoke_subject("alice")
    stale = m.load(c)
    assert stale.reason == "revoked" and m.save(stale) == []
    stale.destroy()
    assert ("alice", "destroyed/" + sid) in rv._sessions
    assert m.save(stale)[0].startswith("__Host-session=; ")


def test_renew_of_no_session_writes_nothing(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, revoker=MemoryRevoker(clock=lambda: clock.ms))
    s = m.load(None)
    s.renew()
    assert s.id == "" and m.save(s) == []
    s = m.load(None)
    s.set_subject("u")
    c = value_of(m.save(s))
    clock.advance(25 * 3600)
    s = m.load(c)  # expired: left as it is, and renew does not write over it
    s.renew()
    assert s.reason == "idle_expired" and s.id == "" and m.save(s) == []


def test_destroy_during_renew_is_not_erased(keys, clock):
    # Two requests carry the same cookie; the second destroys the session while the first's
    # renew is between its check and its new id: the renew must fail, not erase the logout.
    class Hook(MemoryRevoker):
        hook = None

        def check(self, *a, **kw):
            r = super().check(*a, **kw)
            h, self.hook = self.hook, None
            if h:
                h()
            return r

    rv = Hook(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    s = m.load(None)
    s.set_subject("alice")
    c = value_of(m.save(s))
    clock.advance(1)
    tab_a, tab_b = m.load(c), m.load(c)
    rv.hook = tab_b.destroy  # lands right after tab A's check answers
    with pytest.raises(cookieseal.Rejected) as e:
        tab_a.renew()
    assert e.value.reason == "revoked"
    assert not tab_a.authenticated and m.save(tab_a) == []  # no cookie written: the logout stands
    assert m.load(c).reason == "revoked"


def test_revoke_others(keys, clock):
    rv = MemoryRevoker(clock=lambda: clock.ms)
    m = cookieseal.Manager(keys, clock=clock, revoker=rv)
    phone, laptop = m.load(None), m.load(None)
    phone.set_subject("alice")
    laptop.set_subject("alice")
    cp, cl = value_of(m.save(phone)), value_of(m.save(laptop))
    clock.advance(1)
    s = m.load(cl)
    s.revoke_others()
    cl2 = value_of(m.save(s))
    assert m.load(cp).reason == "revoked"
    assert m.load(cl).reason == "revoked"
    assert m.load(cl2).subject == "alice"
    with pytest.raises(ValueError):
        m.load(None).revoke_others()


def test_prefix_rules(keys):
    with pytest.raises(ValueError, match="Secure"):
        cookieseal.Manager(keys, secure=False)
    with pytest.raises(ValueError, match="Domain"):
        cookieseal.Manager(keys, domain="example.com")
    with pytest.raises(ValueError, match="Path"):
        cookieseal.Manager(keys, "__Host-x", path="/a")
    cookieseal.Manager(keys, "sid", secure=False, domain="example.com", path="/a", insecure_no_host_prefix=True)
    with pytest.raises(ValueError):
        cookieseal.Manager(keys, max_chunks=17)


# Go's TestNewNamesTheHostPrefix (middleware/planted_test.go), the same names:
# a name without the __Host- prefix is refused unless
# insecure_no_host_prefix=True acknowledges that a sibling host can plant a
# session under it (login CSRF).
@pytest.mark.parametrize("name,ok", [
    ("__Host-session", True), ("__Host-Http-session", True),
    ("session", False), ("__Secure-session", False), ("__Http-session", False), ("sid", False),
])
def test_names_the_host_prefix(keys, name, ok):
    if ok:
        assert cookieseal.Manager(keys, name).name == name
    else:
        with pytest.raises(ValueError, match="insecure_no_host_prefix") as e:
            cookieseal.Manager(keys, name)
        assert "login CSRF" in str(e.value) and repr(name) in str(e.value)
    assert cookieseal.Manager(keys, name, insecure_no_host_prefix=True).name == name


@pytest.mark.parametrize("name", ["", None])
def test_no_name_is_the_default(keys, name):
    assert cookieseal.DEFAULT_NAME == "__Host-session"
    assert cookieseal.Manager(keys, name).name == cookieseal.Manager(keys).name == "__Host-session"


def _casings(p):
    # Go's casings (middleware/prefix_test.go): as the RFC writes it, lower, upper, mixed.
    mixed = "".join(c.upper() if i % 2 == 1 else c for i, c in enumerate(p.lower()))
    return [p, p.lower(), p.upper(), mixed]


# Go's TestNewRefusesAPrefixInAnotherCase (middleware/prefix_test.go): a
# prefix spelled in another case is refused whatever the settings, with or
# without insecure_no_host_prefix: browsers that match prefixes
# case-sensitively take "__host-session" as an ordinary, plantable name.
@pytest.mark.parametrize("prefix", ["__Host-Http-", "__Http-", "__Host-", "__Secure-"])
@pytest.mark.parametrize("ack", [False, True])
def test_refuses_a_prefix_in_another_case(keys, prefix, ack):
    for spelled in _casings(prefix)[1:]:
        name = spelled + "session"
        for kwargs in ({}, {"secure": False}, {"http_only": False}, {"domain": "example.com"}, {"path": "/app"}):
            with pytest.raises(ValueError) as e:
                cookieseal.Manager(keys, name, insecure_no_host_prefix=ack, **kwargs)
            msg = str(e.value)
            for want in (repr(name), repr(prefix), repr(prefix + "session"), "case-insensitively"):
                assert want in msg


# Go's TestNewRefusesWhatThePrefixForbids (middleware/prefix_test.go): every
# setting a browser rejects for the name's prefix is refused, and the error
# names the cookie, the prefix and the setting.
_HTTP_ONLY = ("__Http-", "__Host-Http-")
_HOST_ONLY = ("__Host-", "__Host-Http-")


@pytest.mark.parametrize("prefix", ["__Host-Http-", "__Http-", "__Host-", "__Secure-"])
@pytest.mark.parametrize("setting,kwargs,mention,refused", [
    ("secure", {"secure": False}, "Secure", lambda p: True),
    ("http_only", {"http_only": False}, "HttpOnly", lambda p: p in _HTTP_ONLY),
    ("domain", {"domain": "example.com"}, "Domain", lambda p: p in _HOST_ONLY),
    ("path", {"path": "/app"}, "Path", lambda p: p in _HOST_ONLY),
])
@pytest.mark.parametrize("chunks", [1, 4])
def test_refuses_what_the_prefix_forbids(keys, prefix, setting, kwargs, mention, refused, chunks):
    for spelled in _casings(prefix)[:1]:
        name = spelled + "session"
        args = dict(kwargs, max_chunks=chunks, insecure_no_host_prefix=True)
        if not refused(prefix):
            cookieseal.Manager(keys, name, **args)
            continue
        with pytest.raises(ValueError) as e:
            cookieseal.Manager(keys, name, **args)
        msg = str(e.value)
        for want in (repr(name), prefix, mention):
            assert want in msg


def test_cookie_header_forms(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s["x"] = 1
    c = value_of(m.save(s))
    v = c.split("=", 1)[1]
    for form in ['a=1; __Host-session="%s"; b=2' % v, [("a", "1"), ("__Host-session", v)], {"__Host-session": v}]:
        assert m.load(form)["x"] == 1
    assert m.load(b"\xff\xfe").is_new
    assert m.load(12345).is_new  # never raises


@pytest.mark.parametrize("value,go", [
    (0.1, "0.1"), (5.0, "5"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1e-7, "1e-7"),
    (1.5e-7, "1.5e-7"), (1e-6, "0.000001"), (1e300, "1e+300"), (123456789.125, "123456789.125"),
    (2**64, "18446744073709551616"), ("<a&b>\u2028\x01\x08 é", '"\\u003ca\\u0026b\\u003e\\u2028\\u0001\\b é"'),
    ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
])
def test_values_encode_as_go_encodes_them(value, go):
    # The outputs of Go's json.Marshal for the same values: a value set in
    # Python takes the same bytes (and cookie room) as in Go.
    from cookieseal.envelope import dumps
    assert dumps(value) == go


def test_values_json_cannot_hold(keys):
    s = cookieseal.Manager(keys).load(None)
    with pytest.raises(ValueError):
        s["x"] = float("nan")
    with pytest.raises(TypeError):
        s["x"] = {1: 2}
    with pytest.raises(TypeError):
        s["x"] = object()
    assert "x" not in s


def test_load_never_raises_on_hostile_input(keys, clock):
    import random
    rng = random.Random(25)
    m = cookieseal.Manager(keys, clock=clock, max_chunks=4)
    s = m.load(None)
    s.set_subject("u")
    s["x"] = list(range(50))
    good = m.save(s)[0].split(";")[0].split("=", 1)[1]
    alphabet = "AZaz09-_.=;\" \t,\\\x00\x7f\u00e9\u2028" + good[:20]
    for i in range(3000):
        kind = i % 4
        if kind == 0:
            v = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        elif kind == 1:  # one character of a good value changed
            j = rng.randrange(len(good))
            v = good[:j] + rng.choice(alphabet) + good[j + 1:]
        elif kind == 2:  # a good value cut
            v = good[:rng.randrange(len(good))]
        else:  # chunks in any order and number
            v = "x"
        names = ["__Host-session", "__Host-session.0", "__Host-session.1", "__Host-session.9", "__Host-session.x"]
        header = "; ".join("%s=%s" % (rng.choice(names), v if kind != 3 else good[rng.randrange(len(good)):])
                           for _ in range(rng.randrange(1, 4)))
        r = m.load(header)
        lines = m.save(r)  # untouched: nothing, whatever came in
        assert lines == []
        r.get("x")
        m.save(r)  # touched: a clear, a refresh or nothing, never an exception
        if r.reason is None and not r.is_new:
            assert r.subject == "u"


class _RecordingRevoker(MemoryRevoker):
    def __init__(self, clock):
        super().__init__(clock=lambda: clock.ms)
        self.writes = []

    def revoke_session(self, session_id, subject, until_ms):
        self.writes.append((session_id, subject))
        super().revoke_session(session_id, subject, until_ms)


# docs/python.md, "Login order": renew() then set_subject() is Go's order; the
# other order revokes the same old id and issues the renewed session at the
# same instant, since renew() looks at what the cookie carried. It writes one
# more entry when the subject changes: the old id under the new subject.
@pytest.mark.parametrize("before", [None, "", "bob"], ids=["no session", "anonymous", "another subject"])
def test_login_order(keys, before):
    outcomes = {}
    for order in ("renew first", "subject first"):
        clock = Clock(1795600800000)
        rv = _RecordingRevoker(clock)
        m = cookieseal.Manager(keys, clock=clock, revoker=rv)
        cookie, old_id = None, None
        if before is not None:
            s = m.load(None)
            s["x"] = 1
            s.set_subject(before)
            cookie = value_of(m.save(s))
            old_id = s.id
            clock.advance(10)
        s = m.load(cookie)
        if order == "renew first":
            s.renew()
            s.set_subject("alice")
        else:
            s.set_subject("alice")
            s.renew()
        after = m.load(value_of(m.save(s)))
        assert after.subject == "alice" and after.id not in ("", old_id)
        if cookie is not None:
            assert m.load(cookie).reason == "revoked"
        writes = [("old id" if sid == old_id else sid, sub) for sid, sub in rv.writes]
        outcomes[order] = (after.issued_at_ms, after.get("x"), writes)
    (iat_r, x_r, writes_r), (iat_s, x_s, writes_s) = outcomes["renew first"], outcomes["subject first"]
    assert (iat_r, x_r) == (iat_s, x_s)
    if before is None:
        assert writes_r == writes_s == []
    else:
        assert writes_r == [("old id", before)]  # under the subject its cookie carried
        assert writes_s == [("old id", before), ("old id", "alice")]  # and under the new one


# --- Rule: load never raises on any Cookie header; a chunk index is Go's chunkname.Index ---

@pytest.mark.parametrize("cookie_name, want", [
    ("s.0", 0), ("s.1", 1), ("s.15", 15),
    ("s.99999999999999999999999", 2**63 - 1), ("s." + "1" * 5000, 2**63 - 1),  # saturated at Go's MaxInt
    ("s.9223372036854775807", 2**63 - 1), ("s.9223372036854775808", 2**63 - 1),
    ("s", None), ("s.", None), ("s.00", None), ("s.01", None), ("s.-1", None), ("s.+1", None),
    ("s.1a", None), ("t.1", None), ("sx1", None), ("ss.1", None), ("s. 1", None), ("s.1 ", None),
    ("s.\u0661", None), ("s.\u00b2", None), ("s.1\u00a0", None),
], ids=lambda v: "%s...(%d chars)" % (v[:12], len(v)) if isinstance(v, str) and len(v) > 30 else None)
def test_chunk_index_is_gos_chunkname_index(cookie_name, want):
    # internal/chunkname's TestIndex, plus what str.isdigit() would take.
    from cookieseal.session import _chunk_index

    assert _chunk_index(cookie_name, "s") == want


def test_load_never_raises_on_a_hostile_cookie_header(keys, clock):
    from framework_helpers import HOSTILE_COOKIE_HEADERS

    for max_chunks in (1, 4):
        m = cookieseal.Manager(keys, clock=clock, max_chunks=max_chunks)
        for header in HOSTILE_COOKIE_HEADERS:
            for form in (header, header.decode("latin-1"), header.decode("utf-8", "replace")):
                s = m.load(form)
                assert s.is_new, (max_chunks, form[:80])
                s["k"] = "v"
                m.save(s)  # and the response that follows writes a session


def test_a_long_chunk_index_is_a_chunk_beyond_the_cap(keys, clock):
    # Saturated as in Go: a chunk past max_chunks, never a copy; the response clears it
    # (its name fits the sweep's 4 KB) or gives way (it does not).
    m = cookieseal.Manager(keys, clock=clock, max_chunks=4)
    v = value_of(m.save(_with_subject(m, "alice")))
    for digits in ("9" * 30, "1" * 5000):
        s = m.load("%s; __Host-session.%s=x" % (v, digits))
        assert s.subject == "alice" and s.reason is None
        lines = m.save(s)
        swept = [l for l in lines if l.startswith("__Host-session.%s=;" % digits)]
        assert swept if len(digits) < 100 else not swept, lines


def _with_subject(m, sub):
    s = m.load(None)
    s.set_subject(sub)
    return s


def test_a_committed_session_refuses_changes_and_reads_on(keys, clock):
    # Go's ErrResponseStarted: what the adapters mark once the cookie went out.
    m = cookieseal.Manager(keys, clock=clock, revoker=MemoryRevoker(clock=lambda: clock.ms))
    v = value_of(m.save(_with_subject(m, "alice")))
    s = m.load(v)
    s["cart"] = [1]
    s.flash("hi")
    s.commit()
    assert s.committed and s.subject == "alice" and s["cart"] == [1] and s.peek_flashes() == ["hi"]
    for change in (lambda: s.__setitem__("k", 1), lambda: s.__delitem__("cart"), s.clear, s.destroy, s.renew,
                   s.revoke_others, s.pop_flashes, lambda: s.set_subject("bob"), lambda: s.flash("x"),
                   lambda: setattr(s, "remember_me", False), lambda: s.set_deadline(None)):
        with pytest.raises(cookieseal.ResponseStarted):
            change()
    assert m.load(v).subject == "alice"  # nothing was revoked


# --- Rule 1: the request's cookies are exactly those net/http's Request.Cookies returns ---

JUNK_VALUES = ['a\\b', 'x"y', '"', 'caf\xe9', 'a\x7fb', 'a\x00b', 'tab\there', '\u2603']


@pytest.mark.parametrize("junk", JUNK_VALUES)
def test_a_value_net_http_drops_is_no_copy(keys, clock, junk):
    # Go opens the session below (TestRequestViewIsNetHTTPs): net/http drops the
    # junk copy, so it neither disagrees with the real one nor gets cleared.
    m = cookieseal.Manager(keys, clock=clock)
    v = value_of(m.save(_with_subject(m, "alice")))
    for header in ("%s; __Host-session=%s" % (v, junk), "__Host-session=%s; %s" % (junk, v),
                   "a=1; __Host-session=%s; %s; __Host-session=%s" % (junk, v, junk)):
        for form in (header, header.encode("utf-8"), cookieseal.session.cookie_pairs(header)):
            s = m.load(form)
            assert s.reason is None and s.subject == "alice", (header, s.reason)
            assert m.save(s) == [], header  # nothing to sweep: no copy disagreed
    s = m.load("__Host-session=%s" % junk)  # alone: no cookie at all (Go: no reason, nothing cleared)
    assert s.is_new and s.reason is None and m.save(s) == []


def test_a_chunk_value_net_http_drops_is_no_copy(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, max_chunks=3)
    s = _with_subject(m, "alice")
    s["big"] = "x" * 5000
    chunks = [l.split(";")[0] for l in m.save(s) if "Max-Age=0" not in l]
    assert len(chunks) == 2
    for junk in JUNK_VALUES:
        header = "; ".join([chunks[0], "__Host-session.1=" + junk, chunks[1], "__Host-session.0=" + junk])
        s = m.load(header)
        assert s.reason is None and s.subject == "alice", junk


def test_a_quoted_copy_is_the_same_copy(keys, clock):
    # net/http unquotes a value in double quotes: the two copies agree.
    m = cookieseal.Manager(keys, clock=clock)
    v = value_of(m.save(_with_subject(m, "alice"))).split("=", 1)[1]
    s = m.load('__Host-session="%s"; __Host-session=%s' % (v, v))
    assert s.reason is None and s.subject == "alice"


def test_more_cookies_than_net_http_reads_are_none(keys, clock):
    # Go's middleware reads past 180 cookies through Request.Cookies, which
    # returns none past 3000 (httpcookiemaxnum), counted as ';'-parts per line.
    m = cookieseal.Manager(keys, clock=clock)
    v = value_of(m.save(_with_subject(m, "alice")))
    limit = cookieseal.session.MAX_REQUEST_COOKIES
    assert limit == 3000
    at = "; ".join(["a=b"] * (limit - 1) + [v])
    assert m.load(at).subject == "alice"
    assert m.load([tuple(p.split("=", 1)) for p in at.split("; ")]).subject == "alice"  # pairs
    for over in (at + "; c=d", at + ";", ";" + at):
        s = m.load(over)
        assert s.is_new and s.reason is None and m.save(s) == [], over[-20:]
    assert m.load([tuple(p.split("=", 1)) for p in (at + "; c=d").split("; ")]).is_new


def test_mark_modified_rewrites_an_existing_session_only(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s.mark_modified()
    assert m.save(s) == []  # no session: nothing to write
    v = value_of(m.save(_with_subject(m, "alice")))
    s = m.load(v)
    assert s.status == "unmodified"
    s.mark_modified()
    assert s.status == "modified" and m.load(value_of(m.save(s))).subject == "alice"


def test_setdefault_returns_the_sessions_own_value(keys, clock):
    # A list set by setdefault and changed in place is saved (MutableMapping's
    # setdefault returned the default object, which the session never saw).
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s.setdefault("cart", []).append(1)
    s.setdefault("cart", []).append(2)
    assert m.load(value_of(m.save(s)))["cart"] == [1, 2]


# --- Rule: lines a stranger can cause never cost the session its write (Go: TestCarriedChunkClearsGiveWay) ---

def _largest(m, flashes=0):
    lo, hi = 1, 16000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        s = m.load(None)
        s["k"] = "v" * mid
        for i in range(flashes):
            s.flash(i)
        try:
            m.save(s)
            ok = len(s._flashes) == flashes  # save drops flashes to fit: not the largest with them
        except cookieseal.SessionTooLarge:
            ok = False
        lo, hi = (mid, hi) if ok else (lo, mid - 1)
    return lo


def _chunk_lines(lines):
    return [l for l in lines if "Max-Age=0" not in l]


@pytest.mark.parametrize("stray", ["__Host-session.3", "__Host-session.9"])
def test_a_stray_chunk_clear_gives_way_to_the_largest_write(keys, clock, stray):
    m = cookieseal.Manager(keys, clock=clock, max_chunks=4, max_response_cookie_bytes=10000)
    assert m._reach < 4  # the last index is cleared only when carried
    n = _largest(m)
    s = m.load(None)
    s["k"] = "v" * n
    assert len(_chunk_lines(m.save(s))) >= 2
    s = m.load("%s=x" % stray)
    s["k"] = "v" * n
    lines = m.save(s)
    assert len(_chunk_lines(lines)) >= 2 and m.load("; ".join(l.split(";")[0] for l in _chunk_lines(lines)))["k"]


def test_a_stray_chunk_clear_gives_way_before_a_flash(keys, clock):
    m = cookieseal.Manager(keys, clock=clock, max_chunks=4, max_response_cookie_bytes=10000)
    n = _largest(m, flashes=2)
    s = m.load("__Host-session.3=x")
    s["k"] = "v" * n
    s.flash(0)
    s.flash(1)
    lines = _chunk_lines(m.save(s))
    assert m.load("; ".join(l.split(";")[0] for l in lines)).peek_flashes() == [0, 1]



# --- Rule: the budget counts the whole response's Set-Cookie lines (Go: checkBudget over w.Header()) ---

def test_the_budget_counts_the_responses_other_cookies(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s["k"] = "v" * 1900
    own = sum(len("Set-Cookie: \r\n") + len(l) for l in m.save(s))
    room = m.budget - own
    fits = ["prefs=" + "p" * (room - len("Set-Cookie: \r\n") - len("prefs="))]
    s = m.load(None)
    s["k"] = "v" * 1900
    assert len(m.save(s, fits)) == 1
    s = m.load(None)
    s["k"] = "v" * 1900
    with pytest.raises(cookieseal.SessionTooLarge, match="other cookies"):
        m.save(s, [fits[0] + "p"])
    s = m.load(None)
    s["k"] = "v" * 1900
    s.flash("dropped first")  # as a session too large by itself: the oldest flashes go first
    assert len(m.save(s, fits)) == 1 and s.peek_flashes() == []


def test_a_clear_is_never_refused_for_the_responses_other_cookies(keys, clock):
    # Go: a commit that adds only a clear is not checked against the budget.
    m = cookieseal.Manager(keys, clock=clock)
    v = value_of(m.save(_with_subject(m, "alice")))
    s = m.load(v)
    s.destroy()
    assert m.save(s, ["big=" + "b" * 4000])[0].startswith("__Host-session=;")


# Go's rule 3 exception (middleware/doc.go; TestIncompleteSweepKeepsTheUsersCopy):
# copies that disagree are no session; when one of them opens on its own and
# the response writes nothing, the configured place is left as it is (it may
# be the user's own copy, which then goes with every planted one); when none
# opens, every copy is cleared, as before.
def test_split_copies_keep_the_one_that_opens(keys, clock):
    m = cookieseal.Manager(keys, clock=clock)
    s = m.load(None)
    s["x"] = 1
    good = value_of(m.save(s)).split("=", 1)[1]
    other = m.load(None)
    other["x"] = 2
    good2 = value_of(m.save(other)).split("=", 1)[1]
    bad = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for header, kept in [
        ("__Host-session=%s; __Host-session=%s" % (bad, good), True),
        ("__Host-session=%s; __Host-session=%s" % (good, good2), True),
        ("__Host-session=%s; __Host-session=%s" % (bad, "x" + bad), False),
    ]:
        s = m.load(header)
        assert s.is_new and s.reason == "duplicate"
        s.subject  # touched, as a handler reading it
        lines = m.save(s)
        if kept:
            assert lines == [], header
        else:
            assert [l.split(";")[0] for l in lines] == ["__Host-session="], header
        # A write still replaces every copy with the new session.
        s = m.load(header)
        s["y"] = 3
        assert value_of(m.save(s)).startswith("__Host-session=")
