"""The Python peer against cookies and lines Go wrote (tests/vectors/go.json).

Regenerate the vectors with: go test ./interop -run TestPythonVectors -update-python-vectors
"""

import json

import pytest

import cookieseal
from cookieseal import codec as _codec
from conftest import Clock, load_vectors

V = load_vectors()


def keys(name):
    return cookieseal.KeySet.parse(V["keysets"][name])


@pytest.mark.parametrize("case", V["sessions"], ids=[c["name"] for c in V["sessions"]])
def test_reads_what_go_reads(case):
    m = cookieseal.Manager(keys(case["keyset"]), case["cookie_name"], clock=Clock(case["now_ms"]), **case["options"])
    s = m.load(case["cookie"])
    want = case["want"]
    status = s.status
    assert (s.reason or "") == want["reason"]
    assert s.id == want["id"]
    assert s.subject == want["subject"]
    assert s.authenticated == (want["subject"] != "")
    assert {k: s.raw(k) for k in s} == _RAW[case["name"]]  # byte for byte as Go stored them
    assert s._flashes == [_compact(f) for f in want["flashes"]]
    assert (s.issued_at_ms or 0) == want["issued_at_ms"]
    deadline = s.deadline
    assert (0 if deadline is None else int(deadline.timestamp() * 1000)) == want["deadline_ms"]
    assert s.remember_me == want["remember_me"]
    assert status == want["status"]
    for k in want["data"]:  # the decoded values equal Go's, exactly (64-bit ints included)
        assert s[k] == json.loads(_raw(case, k))


def _compact(v):
    # Go's RawMessage of a JSON value in the vectors file, as json.load gave it back.
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _raw(case, key):
    """The raw JSON text Go stored for key: the vectors file keeps it as a JSON value, so
    read it back from the file's text to keep numbers exact."""
    return _RAW[case["name"]][key]


def _raw_texts():
    """Per case, the data members' texts as written in go.json (json.load would turn
    1e+300 into a float and lose the spelling)."""
    from cookieseal import envelope
    with open(__import__("conftest").VECTORS, encoding="utf-8") as f:
        text = f.read()
    doc_end, members = envelope._members(text, envelope._skip_ws(text, 0))
    out = {}
    for k, _, vs, ve, v in members:
        if k != "sessions":
            continue
        i = envelope._skip_ws(text, vs + 1)
        while text[i] != "]":
            _, cm = envelope._members(text, i)
            name = next(v2 for k2, _, _, _, v2 in cm if k2 == "name")
            want = next((text, s2) for k2, _, s2, _, _ in cm if k2 == "want")[1]
            _, wm = envelope._members(text, want)
            data = next(s3 for k3, _, s3, _, _ in wm if k3 == "data")
            _, dm = envelope._members(text, data)
            out[name] = {dk: _reindent(text[a:b]) for dk, _, a, b, _ in dm}
            _, end = envelope._value(text, i)
            i = envelope._skip_ws(text, end)
            if text[i] == ",":
                i = envelope._skip_ws(text, i + 1)
    return out


def _reindent(t):
    """Go's encoder indents RawMessage values inside the file; compact them again without
    decoding numbers (strings are kept)."""
    out, in_str, esc = [], False, False
    for c in t:
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c not in " \t\n\r":
            out.append(c)
    return "".join(out)


_RAW = _raw_texts()


@pytest.mark.parametrize("case", V["codec"], ids=[c["name"] for c in V["codec"]])
def test_codec_byte_for_byte(case):
    clock = Clock(case["now_ms"])
    c = cookieseal.Codec(keys(case["keyset"]), case["purpose"], format=case["format"], clock=clock)
    payload, meta = c.open(case["value"])
    assert payload == b'{"id":"abc","d":{"n":18446744073709551615}}'
    assert meta.format == case["format"]
    assert meta.key_id == keys(case["keyset"]).primary.id
    assert meta.issued_at_ms == 1795600800001
    assert meta.refreshed_at_ms == case["now_ms"]
    if case["keyset"] == "epoch":
        assert meta.epoch == case["now_ms"] // 1000 // 3600
    else:
        assert meta.epoch == 0
    if case["format"] == "native":
        nonce = _codec.b64decode(case["value"])[25:49]
    else:
        nonce = _codec.b64decode(case["value"].split(".")[2])
    assert c.seal(payload, meta.issued_at_ms, _nonce=nonce) == case["value"]
    # Another purpose, one flipped character: refused.
    other = cookieseal.Codec(keys(case["keyset"]), "purpose-y", format=case["format"], clock=clock)
    with pytest.raises(cookieseal.Rejected) as e:
        other.open(case["value"])
    assert e.value.reason == "tampered"


def _apply(m, s, w):
    if w.get("subject"):
        s.set_subject(w["subject"])
    for k, raw in (w.get("data") or {}).items():
        s[k] = json.loads(json.dumps(raw))
    for f in w.get("flashes") or []:
        s.flash(f)
    if w.get("remember_me") is not None:
        s.remember_me = w["remember_me"]
    if w.get("deadline_ms"):
        s.set_deadline(w["deadline_ms"] / 1000)
    if w.get("destroy"):
        try:
            s.destroy()
        except cookieseal.NoSubject:
            pass  # cleared all the same (Go: ErrNoSubject)
    if w.get("touch"):
        s.subject


def mask(lines):
    out = []
    for line in lines:
        name, _, rest = line.partition("=")
        value, sep, attrs = rest.partition(";")
        out.append(name + "=" + ("<value:%d>" % len(value) if value else "") + sep + attrs)
    return out


@pytest.mark.parametrize("case", V["set_cookie"], ids=[c["name"] for c in V["set_cookie"]])
def test_writes_the_lines_go_writes(case):
    m = cookieseal.Manager(keys(case["keyset"]), case["cookie_name"], clock=Clock(case["now_ms"]), **case["options"])
    s = m.load(case.get("cookie") or None)
    _apply(m, s, case["write"])
    assert mask(m.save(s)) == case["lines"]


@pytest.mark.parametrize("case", V["open"], ids=[c["name"] for c in V["open"]])
def test_opens_and_refuses_what_go_does(case):
    # Hand-made JWE headers and native values, with Go's reason for each.
    c = cookieseal.Codec(keys(case["keyset"]), case["purpose"], idle_timeout=3600, absolute_timeout=86400,
                         clock=Clock(case["now_ms"]))
    if case["reason"]:
        with pytest.raises(cookieseal.Rejected) as e:
            c.open(case["value"])
        assert e.value.reason == case["reason"]
    else:
        _, meta = c.open(case["value"])
        assert (meta.issued_at_ms, meta.refreshed_at_ms) == (case["issued_at_ms"], case["refreshed_at_ms"])
