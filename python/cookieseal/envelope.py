"""The session envelope (Go: middleware/payload.go), read and written exactly.

    {"id":"<22 base64url chars>","sub":"user-42","d":{"user_id":42},"f":["Saved."],"dl":1767225600000,"p":true}

Values stay JSON text until asked for, so a member nobody changed is
written back byte for byte (64-bit integers and decimals untouched).
"""

import decimal
import json
import json.decoder

_WS = " \t\n\r"
ENVELOPE_MEMBERS = ("id", "sub", "d", "f", "dl", "p")
MAX_DEPTH = 256


class EnvelopeError(ValueError):
    """Not a session envelope (Go: middleware.ErrPayload, reason "payload")."""


def _no_constant(name):
    raise EnvelopeError("%s is not JSON" % name)


_decoder = json.JSONDecoder(parse_constant=_no_constant)


def _skip_ws(s, i):
    n = len(s)
    while i < n and s[i] in _WS:
        i += 1
    return i


def _depth_ok(raw):
    """Go's scanner refuses values nested deeper than 256."""
    depth = best = 0
    in_str = esc = False
    for c in raw:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best < MAX_DEPTH


def _value(s, i):
    """(decoded value, end) of the JSON value at s[i]."""
    try:
        v, end = _decoder.raw_decode(s, i)
    except (ValueError, RecursionError) as e:
        raise EnvelopeError("malformed JSON") from e
    return v, end


def _key(s, i):
    if i >= len(s) or s[i] != '"':
        raise EnvelopeError("malformed JSON")
    try:
        k, end = json.decoder.scanstring(s, i + 1, True)
    except ValueError as e:
        raise EnvelopeError("malformed JSON") from e
    return k, s[i + 1:end - 1], end


def _members(s, i):
    """Yields (key, raw key text, value start, value end, decoded value) of the object at s[i]."""
    if i >= len(s) or s[i] != "{":
        raise EnvelopeError("malformed JSON")
    i = _skip_ws(s, i + 1)
    if i < len(s) and s[i] == "}":
        return i + 1, []
    out = []
    while True:
        k, rawk, i = _key(s, i)
        i = _skip_ws(s, i)
        if i >= len(s) or s[i] != ":":
            raise EnvelopeError("malformed JSON")
        vs = _skip_ws(s, i + 1)
        v, ve = _value(s, vs)
        out.append((k, rawk, vs, ve, v))
        i = _skip_ws(s, ve)
        if i >= len(s):
            raise EnvelopeError("malformed JSON")
        if s[i] == ",":
            i = _skip_ws(s, i + 1)
        elif s[i] == "}":
            return i + 1, out
        else:
            raise EnvelopeError("malformed JSON")


class Envelope:
    """A parsed envelope: id, sub, data (key → raw JSON text), flashes (raw texts), dl, p."""

    __slots__ = ("id", "sub", "data", "flashes", "dl", "p")

    def __init__(self, id="", sub="", data=None, flashes=None, dl=0, p=None):
        self.id, self.sub = id, sub
        self.data = {} if data is None else data
        self.flashes = [] if flashes is None else flashes
        self.dl, self.p = dl, p


def parse(payload):
    """Parses an opened payload (bytes) as Go's parseEnvelope and parseLifetime do; EnvelopeError if not one."""
    try:
        s = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError("payload is not UTF-8") from None
    if not _depth_ok(s):
        raise EnvelopeError("nested too deep")
    i = _skip_ws(s, 0)
    end, members = _members(s, i)
    if _skip_ws(s, end) != len(s):
        raise EnvelopeError("data after the envelope")
    env = Envelope()
    seen = set()
    for k, rawk, vs, ve, v in members:
        if k in ENVELOPE_MEMBERS and rawk == k:
            if k in seen:
                raise EnvelopeError("envelope member %r given twice" % k)
            seen.add(k)
        elif "\\" in rawk or any(k.casefold() == m for m in ENVELOPE_MEMBERS) or \
                any(_fold_equal(k, m) for m in ENVELOPE_MEMBERS):
            raise EnvelopeError("a member differs from an envelope member only by case or escapes")
        else:
            continue  # unknown members are ignored
        if k == "id":
            if not isinstance(v, str):
                raise EnvelopeError("id is not a string")
            env.id = v
        elif k == "sub":
            if not isinstance(v, str):
                raise EnvelopeError("sub is not a string")
            env.sub = v
        elif k == "d":
            if not isinstance(v, dict):
                raise EnvelopeError("d is not an object")
            _, dm = _members(s, vs)
            env.data = {dk: s[dvs:dve] for dk, _, dvs, dve, _ in dm}  # a repeated key keeps its last value
        elif k == "f":
            if not isinstance(v, list):
                raise EnvelopeError("f is not an array")
            env.flashes = _elements(s, vs)
        elif k == "dl":
            if type(v) is not int or not 0 < v < 1 << 63 or not _is_int_text(s[vs:ve]):
                raise EnvelopeError('"dl" is not a positive integer of milliseconds')
            env.dl = v
        elif k == "p":
            if type(v) is not bool:
                raise EnvelopeError('"p" is not a boolean')
            env.p = v
    if not env.id:
        raise EnvelopeError("no session id")
    return env


def _is_int_text(t):
    return t.isdigit() and t.isascii() and not (len(t) > 1 and t[0] == "0")


def _fold_equal(a, b):
    """Go's bytes.EqualFold (simple Unicode folding): 'K' (Kelvin) folds to 'k', 'ſ' to 's'."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        fx = {x, x.lower(), x.upper()}
        if x in "\u212a":
            fx.add("k")
        if x == "\u017f":
            fx.add("s")
        if y not in fx and y.lower() not in fx:
            return False
    return True


def _elements(s, i):
    """The raw texts of the elements of the array at s[i]."""
    i = _skip_ws(s, i + 1)
    out = []
    if i < len(s) and s[i] == "]":
        return out
    while True:
        _, ve = _value(s, i)
        out.append(s[i:ve])
        i = _skip_ws(s, ve)
        if s[i] == ",":
            i = _skip_ws(s, i + 1)
        else:  # "]": the whole array parsed already
            return out


_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
        "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _quote(s):
    """A string as Go's encoding/json writes it: <, >, & and U+2028/9 escaped,
    control characters as \\n, \\t, ... or \\u00XX, a lone surrogate as \\ufffd."""
    out = ['"']
    for c in s:
        e = _ESC.get(c)
        if e is not None:
            out.append(e)
        elif c < " ":
            out.append("\\u%04x" % ord(c))
        elif "\ud800" <= c <= "\udfff":
            out.append("\\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _float(f):
    """A float as Go's encoding/json writes a float64: shortest digits, fixed notation
    for 1e-6 <= |f| < 1e21, else d.dddde±XX (e-7, not e-07)."""
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError("JSON has no NaN or infinity: %r" % f)
    d = decimal.Decimal(repr(f))
    a = abs(f)
    if a == 0 or 1e-6 <= a < 1e21:
        t = format(d.normalize(), "f")
        return "-0" if t == "-0" else t
    sign, digits, exp = d.normalize().as_tuple()
    ds = "".join(map(str, digits))
    e10 = exp + len(ds) - 1
    m = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    es = "%02d" % abs(e10)
    if e10 < 0 and es[0] == "0":
        es = es[1:]
    return ("-" if sign else "") + m + "e" + ("+" if e10 >= 0 else "-") + es


def dumps(v):
    """A JSON value's text as Go's json.Marshal writes it (compact, map keys sorted by
    their UTF-8 bytes, Go's escapes and float format), so a value set in Python takes the
    same bytes, and the same room in the cookie, as in Go. Raises TypeError for what
    JSON cannot hold, ValueError for NaN and infinities."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            raise ValueError("JSON has no NaN or infinity")
        return str(v)
    if isinstance(v, dict):
        items = []
        for k in v:
            if not isinstance(k, str):
                raise TypeError("JSON object keys must be str, not %s" % type(k).__name__)
            items.append(k)
        items.sort(key=lambda k: k.encode("utf-8", "surrogatepass"))
        return "{" + ",".join(_quote(k) + ":" + dumps(v[k]) for k in items) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    raise TypeError("%s is not JSON serializable" % type(v).__name__)


def loads(raw):
    return _decoder.decode(raw)


def encode(env):
    """The envelope's bytes in Go's member order (encodeEnvelope + lifetime.appendTo); data keys sorted."""
    parts = ['{"id":', _quote(env.id)]
    if env.sub:
        parts += [',"sub":', _quote(env.sub)]
    if env.data:
        keys = sorted(env.data, key=lambda k: k.encode("utf-8", "surrogatepass"))
        parts.append(',"d":{')
        parts.append(",".join(_quote(k) + ":" + env.data[k] for k in keys))
        parts.append("}")
    if env.flashes:
        parts += [',"f":[', ",".join(env.flashes), "]"]
    if env.dl:
        parts += [',"dl":', str(env.dl)]
    if env.p is not None:
        parts.append(',"p":true' if env.p else ',"p":false')
    parts.append("}")
    return "".join(parts).encode("utf-8")
