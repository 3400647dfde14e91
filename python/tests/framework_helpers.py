"""Shared by the framework adapter tests (test_django, test_flask, test_starlette).

They run the example apps of python/examples as they are documented, in
process, through each framework's own request machinery, against a real
redis-server for logouts: no Go needed. A missing framework or
redis-server skips, unless COOKIESEAL_REQUIRE_PYTHON=1 (as CI sets), when
it fails.
"""

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

REQUIRE = os.environ.get("COOKIESEAL_REQUIRE_PYTHON") == "1"
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
NAME = "__Host-session"
BIG = 9007199254740993  # 2**53 + 1: a float would make it ...992

# A key set file as Go writes it (keyring.Set.MarshalKeyFile), lifetime recorded.
KEYSET = {
    "cookieseal_keyset": 2,
    "lifetime": {"idle_timeout": "2h0m0s", "absolute_timeout": "24h0m0s"},
    "keys": [{"id": 7, "status": "primary", "secret": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}],
}


def need(module, deb):
    """Imports module, or skips the test module (fails under COOKIESEAL_REQUIRE_PYTHON=1)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        msg = "%s is not importable (%s); Debian: apt-get install %s" % (module, e, deb)
        if REQUIRE:
            pytest.fail(msg + " (COOKIESEAL_REQUIRE_PYTHON=1)", pytrace=False)
        pytest.skip(msg, allow_module_level=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url():
    """A real redis-server for the module's tests, as Go's redistest starts one."""
    binary = os.environ.get("COOKIESEAL_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        msg = "redis-server not found; Debian: apt-get install redis-server"
        if REQUIRE:
            pytest.fail(msg + " (COOKIESEAL_REQUIRE_PYTHON=1)", pytrace=False)
        pytest.skip(msg)
    import redis

    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.RedisError:
            time.sleep(0.025)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield "redis://127.0.0.1:%d/0" % port
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "keys.json"
    path.write_text(json.dumps(KEYSET))
    path.chmod(0o600)
    return str(path)


def import_example(name, key_file, redis_url, **env):
    """Imports python/examples/<name>.py afresh with the environment its
    documentation gives it."""
    os.environ.update({"COOKIESEAL_KEY_FILE": key_file, "COOKIESEAL_REDIS_URL": redis_url, **env})
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    sys.modules.pop(name, None)
    return importlib.import_module(name)


class Jar:
    """A cookie jar that keeps what a browser would for one host: a
    Set-Cookie with Max-Age=0 (or an Expires in the past) removes."""

    def __init__(self):
        self.cookies = {}

    def header(self):
        return "; ".join("%s=%s" % kv for kv in self.cookies.items())

    def update(self, lines):
        for line in lines:
            name, _, value = line.split(";", 1)[0].partition("=")
            attrs = [a.strip().lower() for a in line.split(";")[1:]]
            if "max-age=0" in attrs or any(a.startswith("expires=thu, 01 jan 1970") for a in attrs):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    def copy(self):
        j = Jar()
        j.cookies = dict(self.cookies)
        return j


def check_session_line(line):
    """The login's Set-Cookie line has cookieseal's safe defaults."""
    attrs = {a.strip().split("=")[0].lower() for a in line.split(";")[1:]}
    assert line.startswith(NAME + "="), line
    assert {"path", "secure", "httponly", "samesite"} <= attrs, line
    assert "domain" not in attrs, line
    assert "SameSite=Lax" in line, line


# --- Go's vectors (tests/vectors/go.json), through each framework ----------

import datetime  # noqa: E402
import re  # noqa: E402

from conftest import Clock, load_vectors  # noqa: E402

VECTORS = load_vectors()
SET_COOKIE = VECTORS["set_cookie"]
SESSIONS = VECTORS["sessions"]


def vector_manager(case):
    import cookieseal

    keys = cookieseal.KeySet.parse(VECTORS["keysets"][case["keyset"]])
    return cookieseal.Manager(keys, case["cookie_name"], clock=Clock(case["now_ms"]), **case["options"])


def vector_deadline(case):
    return datetime.datetime.fromtimestamp(case["write"]["deadline_ms"] / 1000, datetime.timezone.utc)


def play_vector(session, case, seen, *, destroy, remember_me, set_deadline):
    """Does to a framework's session what the vector's "write" says, in Go's
    order, through that framework's own verbs: destroy(), remember_me(bool),
    set_deadline(datetime). If seen is a list, the session as the view got
    it is appended first (reading touches the session, as in Go: a refused
    cookie is then cleared)."""
    if seen is not None:
        seen.append(seen_session(session, session.reason))
    write = case.get("write", {})
    if write.get("touch"):  # the vector reads the session (Go: Subject), nothing else
        session.subject
    if write.get("destroy"):
        destroy()
    if write.get("subject"):
        session.subject = write["subject"]
    for k, v in write.get("data", {}).items():
        session[k] = v
    if "remember_me" in write:
        remember_me(write["remember_me"])
    if "deadline_ms" in write:
        set_deadline(vector_deadline(case))


def normalized(lines):
    """Set-Cookie lines with each value written as <value:length>, as the vectors have them."""
    out = []
    for line in lines:
        m = re.match(r"([^=]+)=([^;]*)(.*)", line.strip())
        value = "<value:%d>" % len(m.group(2)) if m.group(2) else ""
        out.append(m.group(1) + "=" + value + m.group(3))
    return out


def seen_session(session, reason):
    """What a view reports of the session it was given."""
    return {"reason": reason or "", "id": session.id, "subject": session.subject, "data": dict(session.items())}


def want_session(case):
    w = case["want"]
    return {"reason": w["reason"], "id": w["id"], "subject": w["subject"], "data": w["data"]}


# --- hostile Cookie headers ----------------------------------------------

# Cookie headers (bytes, as a server receives them) that must give no
# exception in Manager.load and no 500 in any adapter: chunk indexes as
# Go's internal/chunkname.Index refuses or saturates them, and bytes and
# names net/http drops.
HOSTILE_COOKIE_HEADERS = [
    b"%s.%s=x" % (NAME.encode(), b"1" * 5000),  # over CPython's 4300-digit int() limit
    b"%s.%s=x" % (NAME.encode(), b"9" * 4301),
    b"%s.99999999999999999999999=x" % NAME.encode(),  # past Go's math.MaxInt: saturated
    b"%s.9223372036854775807=x; %s.9223372036854775808=y" % (NAME.encode(), NAME.encode()),
    b"%s.-1=x" % NAME.encode(),
    b"%s.+1=x" % NAME.encode(),
    b"%s. 1=x" % NAME.encode(),
    b"%s.1 =x" % NAME.encode(),
    b"%s.1\xc2\xa0=x" % NAME.encode(),  # a trailing U+00A0 (UTF-8), no ASCII space
    b"%s.\xd9\xa1=x" % NAME.encode(),  # ARABIC-INDIC DIGIT ONE, which str.isdigit() takes
    b"%s.\xb2=x" % NAME.encode(),  # latin-1 SUPERSCRIPT TWO, which str.isdigit() takes
    b"%s.01=x; %s.00=y; %s.=z" % (NAME.encode(), NAME.encode(), NAME.encode()),
    b"%s.0=a; %s.1=b; %s.0=c" % (NAME.encode(), NAME.encode(), NAME.encode()),
    b"\xa0%s=x" % NAME.encode(),
    b"%s=\"; %s=\"\"; %s==" % (NAME.encode(), NAME.encode(), NAME.encode()),
    b"%s=caf\xe9; %s=\xe2\x98\x83; %s=a\\b; %s=a\x7fb" % (NAME.encode(), NAME.encode(), NAME.encode(), NAME.encode()),
    b"%s=%s" % (NAME.encode(), b"A" * 20000),
    b";;; = ;=;%s" % NAME.encode(),
    b"; ".join([b"a=b"] * 3001) + b"; %s=x" % NAME.encode(),  # past net/http's 3000 cookies
    b"; ".join(b"%s.%d=x" % (NAME.encode(), i) for i in range(200)),
]


def down_for_writes(clock=None):
    """A revoker whose checks answer and whose writes fail, as a Redis primary
    that stopped accepting writes: a logout's revocation faults."""
    import cookieseal

    class DownForWrites(cookieseal.MemoryRevoker):
        def revoke_session(self, *a):
            raise cookieseal.RevocationUnavailable("store down")

        def revoke_subject(self, *a):
            raise cookieseal.RevocationUnavailable("store down")

    return DownForWrites(clock=clock)


def login_value(manager, subject):
    """The cookie value of a new session of subject."""
    s = manager.load(None)
    s.set_subject(subject)
    for line in manager.save(s):
        head = line.split(";", 1)[0]
        n, _, v = head.partition("=")
        if n == manager.name and v and "Max-Age=0" not in line:
            return v
    raise AssertionError("no session line")
