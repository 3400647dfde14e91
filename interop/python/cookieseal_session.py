"""Library-neutral rules for reading and writing cookieseal JWE sessions.

The JOSE library (jwcrypto, Authlib, python-jose) only decrypts; this
module holds what cookieseal adds on top, so that a Python service applies
the same rules as the Go side: the strict protected header, the key picked
by kid, chunk joining, the expiry rule and the session payload.

The expiry rule's timeouts and clock skew are the Go fleet's lifetime
policy, recorded once in its key set (cookieseal keygen, keys policy set):
read them with lifetime_of from the key set in either form the Go side
reads (COOKIESEAL_KEYS, or the key set file's text), and pass
lifetime.expiry() to open_session.

Times are integer Unix milliseconds, the precision cookieseal keeps;
header times are read from their decimal text, never through a float, so
a millisecond boundary reads the same as in Go. Standard library only.
"""

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from fractions import Fraction


class NoSession(Exception):
    """The request has no usable session: treat it as logged out."""


class InvalidSession(NoSession):
    """Malformed, tampered with, under an unknown key, or a bad header."""


class ExpiredSession(NoSession):
    """Authentic, but past its idle or absolute deadline."""


class RevokedSession(NoSession):
    """Authentic and unexpired, but revoked (logged out) on the Go side."""


class TooLarge(InvalidSession):
    """The cookie value is longer than any value cookieseal writes."""


class TooManyChunks(ValueError):
    """A writer's error: the session needs more cookies than max_chunks.

    Not a NoSession: nothing was read. Writing the cookies anyway would log
    the user out on the Go side, whose middleware.Options.MaxChunks (the
    same default, 1) refuses a longer set; store less in the session, or
    raise max_chunks and the Go app's MaxChunks together.
    """


# The lifetime policy's defaults (keyring.Default*), in seconds: what the
# Go side uses when its key set records none. Read the recorded values
# with lifetime_of rather than configuring them here a second time.
IDLE_TIMEOUT = 24 * 3600
ABSOLUTE_TIMEOUT = 7 * 24 * 3600
CLOCK_SKEW = 30
ROLLOUT_DELAY = 3600
MAX_CHUNKS = 1  # cookie.DefaultMaxChunks; set to the Go app's middleware.Options.MaxChunks
MAX_VALUE_SIZE = 3800  # bytes per cookie (cookie.DefaultMaxValueSize)

HEADER_MEMBERS = {"alg", "enc", "kid", "iat", "rat"}
_KID = re.compile(r"[1-9][0-9]{0,9}(\.[1-9][0-9]{0,9})?")
_NUMBER = re.compile(r"(0|[1-9][0-9]{0,11})(\.[0-9]{1,32})?")
_CHUNK_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def _b64decode(s):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", s) or len(s) % 4 == 1:
        raise InvalidSession("malformed base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise InvalidSession("member %r given twice" % k)
        obj[k] = v
    return obj


class _Number(str):
    """A JSON number's text, kept as written."""


def _numeric_date_ms(v):
    """A NumericDate header member (seconds, up to ms decimals) in ms."""
    if isinstance(v, bool) or not isinstance(v, (_Number, int)):
        raise InvalidSession("iat and rat must be JSON numbers")
    text = str(v)
    if not _NUMBER.fullmatch(text):
        raise InvalidSession("iat and rat must be non-negative decimal seconds: no sign, no exponent, at most 32 decimals")
    # Decimal text, never a float (nor Decimal's 28-digit rounding); digits
    # past the millisecond are cut, as cookieseal does.
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1000 + int((fraction + "000")[:3])


@dataclass
class Header:
    kid: str
    key_id: int
    epoch: int  # 0 without epoch keys
    iat_ms: int
    rat_ms: int


def protected_header(token):
    """Parses and checks a token's protected header before decryption.

    Exactly alg "dir", enc "A256GCM", kid, iat and rat, each once; the
    library authenticates these same bytes when it decrypts.
    """
    parts = token.split(".")
    if len(parts) != 5 or parts[1] != "":
        raise InvalidSession("not a dir JWE compact value")
    try:
        h = json.loads(
            _b64decode(parts[0]),
            object_pairs_hook=_no_duplicates,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constants,
        )
    except ValueError as e:
        raise InvalidSession("malformed header") from e
    if not isinstance(h, dict) or set(h) != HEADER_MEMBERS:
        raise InvalidSession("header members are not exactly alg, enc, kid, iat, rat")
    if h["alg"] != "dir" or h["enc"] != "A256GCM":
        raise InvalidSession("alg or enc not allowed")
    kid = h["kid"]
    if type(kid) is not str or not _KID.fullmatch(kid):  # a JSON number is a _Number
        raise InvalidSession("malformed kid")
    key_id, _, epoch = kid.partition(".")
    if int(key_id) >= 1 << 32 or (epoch and int(epoch) >= 1 << 32):
        raise InvalidSession("malformed kid")
    return Header(kid, int(key_id), int(epoch or 0), _numeric_date_ms(h["iat"]), _numeric_date_ms(h["rat"]))


class InvalidKeySet(ValueError):
    """A key set whose lifetime policy the Go side would refuse too."""


@dataclass(frozen=True)
class Lifetime:
    """A key set's lifetime policy in seconds, defaults filled in.

    recorded names the fields the key set records ("idle_timeout",
    "absolute_timeout", "clock_skew", "rollout_delay"); the others hold
    their defaults, as on the Go side.
    """

    idle: int = IDLE_TIMEOUT
    absolute: int = ABSOLUTE_TIMEOUT
    skew: int = CLOCK_SKEW
    rollout: int = ROLLOUT_DELAY
    recorded: frozenset = frozenset()

    def expiry(self):
        """The keyword arguments of check_times and open_session."""
        return {"idle": self.idle, "absolute": self.absolute, "skew": self.skew}


_LIFETIME_FIELDS = {"idle_timeout": "idle", "absolute_timeout": "absolute", "clock_skew": "skew", "rollout_delay": "rollout"}
_MAX_TIMEOUT = 400 * 24 * 3600  # keyring.MaxTimeout
_MAX_CLOCK_SKEW = 60  # keyring.MaxClockSkew
_GO_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_GO_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def _go_duration_seconds(name, text):
    """A recorded duration: a positive Go duration string ("168h0m0s",
    "90m", "1.5h") of whole seconds, as keyring reads it."""
    if not isinstance(text, str) or not text:
        raise InvalidKeySet("lifetime %s is not a duration string" % name)
    sign, text = (-1, text[1:]) if text[0] == "-" else (1, text[1:] if text[0] == "+" else text)
    if not text:
        raise InvalidKeySet("lifetime %s is not a positive duration such as 168h" % name)
    pos, ns = 0, Fraction(0)
    while pos < len(text):
        m = _GO_DURATION_PART.match(text, pos)
        if not m or not (m.group(1) or m.group(2)):
            raise InvalidKeySet("lifetime %s is not a positive duration such as 168h" % name)
        whole, frac, unit = m.group(1) or "0", m.group(2) or "", _GO_UNITS[m.group(3)]
        ns += (int(whole) + Fraction(int(frac or "0"), 10 ** len(frac))) * unit
        pos = m.end()
    ns *= sign
    if ns <= 0 or ns % 10**9 != 0:
        raise InvalidKeySet("lifetime %s is not a positive whole number of seconds" % name)
    return int(ns // 10**9)


def lifetime_of(keyset):
    """The lifetime policy a cookieseal key set records, defaults for the rest.

    keyset is the text the Go side reads with keyring.ParseString: a key
    set file (JSON, "cookieseal_keyset" 1 or 2) or the compact form
    "id:status:secret,...,absolute_timeout=720h". Only the lifetime is
    read; the secrets are not looked at. A key set the Go side would refuse
    for its lifetime (a version-1 file with a lifetime section, an unknown
    or repeated field, a malformed or out-of-range duration, an absolute
    timeout shorter than the idle one) raises InvalidKeySet.
    """
    text = keyset.strip()
    values = {}
    if text.startswith("{"):
        version, section = _key_file_lifetime(text)
        if type(version) is not int or version not in (1, 2):
            raise InvalidKeySet("unsupported key set file version")
        if section is not None and version < 2:
            raise InvalidKeySet("a lifetime section needs version 2")
        for name, v in (section or {}).items():
            values[name] = _go_duration_seconds(name, v)
    else:
        for entry in text.split(","):
            name, sep, v = entry.strip().partition("=")
            if not sep or name == "epoch":
                continue  # a key (id:status:secret), or the epoch period
            if name not in _LIFETIME_FIELDS:
                raise InvalidKeySet("unknown setting %r" % name)
            if name in values:
                raise InvalidKeySet("repeated %s" % name)
            values[name] = _go_duration_seconds(name, v)
    lt = Lifetime(**{_LIFETIME_FIELDS[k]: v for k, v in values.items()}, recorded=frozenset(values))
    if lt.idle > _MAX_TIMEOUT or lt.absolute > _MAX_TIMEOUT or lt.rollout > _MAX_TIMEOUT or lt.skew > _MAX_CLOCK_SKEW:
        raise InvalidKeySet("lifetime out of bounds")
    if lt.absolute < lt.idle:
        raise InvalidKeySet("lifetime absolute_timeout is shorter than idle_timeout")
    return lt


def _key_file_lifetime(text):
    """The version and the lifetime section of a key set file, decoded as
    Go's encoding/json decodes them into keyring's structs: member names
    match case-insensitively, a later member overwrites an earlier one, a
    repeated "lifetime" object adds to the one before (null removes it),
    a null duration is left out, and an unknown lifetime member is refused.
    """
    try:
        top = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    except ValueError as e:
        raise InvalidKeySet("malformed key set file") from e
    if not isinstance(top, list):
        raise InvalidKeySet("a key set file is a JSON object")
    version, section = None, None
    for k, v in top:
        name = k.lower()
        if name == "cookieseal_keyset":
            version = v
        elif name == "lifetime":
            if v is None:
                section = None
                continue
            if not isinstance(v, list):
                raise InvalidKeySet("lifetime is not an object")
            section = {} if section is None else section
            for k2, v2 in v:
                field_name = k2.lower()
                if field_name not in _LIFETIME_FIELDS:
                    raise InvalidKeySet("unknown lifetime field")
                if v2 is not None:
                    section[field_name] = v2
    return version, section


def key_for(jwks, kid):
    """The JWK of an exported key set (InsecureExportJWKSet) with this kid."""
    for k in jwks["keys"]:
        if k.get("kid") == kid:
            return k
    raise InvalidSession("no key with this kid")


def check_times(h, now_ms=None, idle=IDLE_TIMEOUT, absolute=ABSOLUTE_TIMEOUT, skew=CLOCK_SKEW):
    """cookieseal's expiry rule; timeouts in seconds: lifetime_of(keyset).expiry()."""
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    skew_ms = skew * 1000
    if h.iat_ms > now_ms + skew_ms or h.rat_ms > now_ms + skew_ms:
        raise InvalidSession("timestamps in the future")
    if h.rat_ms < h.iat_ms - skew_ms:  # another instance's clock may lag by the skew
        raise InvalidSession("refreshed-at before issued-at")
    if now_ms > h.iat_ms + absolute * 1000 + skew_ms:
        raise ExpiredSession("absolute timeout")
    if now_ms > h.rat_ms + idle * 1000 + skew_ms:
        raise ExpiredSession("idle timeout")


def join_chunks(cookies, name, max_chunks=MAX_CHUNKS, max_value_size=MAX_VALUE_SIZE):
    """The session cookie's value from (name, value) pairs, in request order.

    A session too large for one cookie comes as name.0, name.1, ... and is
    joined in index order; the plain cookie is read only when there is no
    name.0. A gap, a duplicate or too many chunks means no session.
    """
    chunks, plain = {}, []
    prefix = name + "."
    for n, v in cookies:
        if n == name:
            plain.append(v)
        elif n.startswith(prefix) and _CHUNK_INDEX.fullmatch(n[len(prefix):]):
            i = int(n[len(prefix):])
            if i in chunks or i >= max_chunks:
                raise InvalidSession("duplicate chunk or too many chunks")
            chunks[i] = v
    if 0 not in chunks:
        if not plain:
            raise NoSession("no session cookie")
        if len(plain) > 1:
            raise InvalidSession("session cookie given twice")
        value = plain[0]
    elif sorted(chunks) != list(range(len(chunks))):
        raise InvalidSession("missing chunk")
    else:
        value = "".join(chunks[i] for i in range(len(chunks)))
    if len(value) > max_chunks * max_value_size:
        raise TooLarge("value longer than the chunks can hold")
    return value


def cookie_pairs(cookie_header):
    """(name, value) pairs of a Cookie request header, duplicates kept."""
    pairs = []
    for part in (cookie_header or "").split(";"):
        n, sep, v = part.strip().partition("=")
        if sep:
            pairs.append((n, v))
    return pairs


@dataclass
class Session:
    id: str
    sub: str = ""
    data: dict = field(default_factory=dict)
    flashes: list = field(default_factory=list)
    header: Header = None
    deadline_ms: int = 0  # "dl": the session's own deadline (Unix ms), 0 if none
    persistent: bool = None  # "p": True persistent cookie, False browser-session, None the app's default


def _no_constants(name):
    raise InvalidSession("%s is not JSON" % name)


ENVELOPE = ("id", "sub", "d", "f", "dl", "p")


def parse_payload(plaintext, header=None, now_ms=None, skew=CLOCK_SKEW):
    """The session envelope {"id", "sub", "d", "f", "dl", "p"} of a decrypted value.

    A session past its own deadline ("dl" + skew) raises ExpiredSession.
    """
    objects = []  # every object's members; the outermost object comes last

    def hook(pairs):
        objects.append(pairs)
        return dict(pairs)  # inside "d", a repeated key keeps its last value, as in Go

    try:
        p = json.loads(plaintext, object_pairs_hook=hook, parse_constant=_no_constants)
    except ValueError as e:
        raise InvalidSession("payload is not JSON") from e
    if not isinstance(p, dict):
        raise InvalidSession("payload is not a JSON object")
    names = [k for k, _ in objects[-1]]
    for k in names:
        if k in ENVELOPE and names.count(k) > 1:
            raise InvalidSession("envelope member %r given twice" % k)
        if k not in ENVELOPE and k.casefold() in ENVELOPE:
            raise InvalidSession("member %r differs from an envelope member only by case" % k)
    sid, sub, d, f = p.get("id"), p.get("sub", ""), p.get("d", {}), p.get("f", [])
    if not isinstance(sid, str) or sid == "":
        raise InvalidSession("no session id")
    if not isinstance(sub, str) or not isinstance(d, dict) or not isinstance(f, list):
        raise InvalidSession("sub must be a string, d an object, f an array")
    dl, persistent = p.get("dl", 0), p.get("p")
    # An integer of milliseconds (not a bool, not a float such as 1.0).
    if "dl" in p and (type(dl) is not int or not 0 < dl < 1 << 63):
        raise InvalidSession("dl is not a positive integer of milliseconds")
    if "p" in p and type(persistent) is not bool:
        raise InvalidSession("p is not a boolean")
    if dl:
        if now_ms is None:
            now_ms = time.time_ns() // 1_000_000
        if now_ms > dl + skew * 1000:
            raise ExpiredSession("the session's own deadline")
    return Session(sid, sub, d, f, header, dl, persistent)


# Writing.


def now_ms():
    return time.time_ns() // 1_000_000


def numeric_date(ms):
    """Unix ms as a NumericDate: an int on whole seconds, else 3 decimals."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def new_payload(sub="", data=None, flashes=None):
    """The envelope of a new session; id is a fresh random 128-bit id."""
    p = {"id": secrets.token_urlsafe(16)}
    if sub:
        p["sub"] = sub
    if data:
        p["d"] = data
    if flashes:
        p["f"] = flashes
    return json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode()


def write_kid(jwks, key_id):
    """The kid to seal under: key key_id (the primary), newest epoch."""
    best = None
    for k in jwks["keys"]:
        kid = k.get("kid", "")
        kid_id, _, epoch = kid.partition(".")
        if kid_id == str(key_id) and (best is None or int(epoch or 0) > best[0]):
            best = (int(epoch or 0), kid)
    if best is None:
        raise KeyError("no key %s in the key set" % key_id)
    return best[1]


def split_value(value, name, max_value_size=MAX_VALUE_SIZE, max_chunks=MAX_CHUNKS):
    """The cookies to set for value: [(name, value)] or [(name.0, ...), ...].

    Also expire the cookies not in the list (the plain one or every other
    index below max_chunks), as cookieseal does. A value that needs more
    than max_chunks cookies raises TooManyChunks: a Go reader with the same
    MaxChunks would refuse the set, logging the user out.
    """
    if len(value) <= max_value_size:
        return [(name, value)]
    n = -(-len(value) // max_value_size)
    if n > max_chunks:
        raise TooManyChunks(
            "session of %d bytes needs %d cookies of %d bytes, but max_chunks is %d (the Go side's "
            "middleware.Options.MaxChunks, default 1, refuses more): store less in the session, or raise "
            "max_chunks and the Go app's MaxChunks together" % (len(value), n, max_value_size, max_chunks))
    return [("%s.%d" % (name, i), value[i * max_value_size:(i + 1) * max_value_size]) for i in range(n)]
