"""Sealing and opening cookie values, both formats (Go: cookie.Codec).

Native v1: base64url(version 0x01 | key id (4) | epoch (4) | issued-at ms (8)
| refreshed-at ms (8) | nonce (24) | XChaCha20-Poly1305 ciphertext+tag), AAD
= the 49-byte header followed by the purpose (the cookie name).
JWE compact: dir + A256GCM, protected header
{"alg":"dir","enc":"A256GCM","kid":"<id>[.<epoch>]","iat":..,"rat":..}.
Open tells them apart by the first bytes, as Go does, and applies the same
checks in the same order: length, decode, version or header, key lookup
by id, AEAD open, then the times.
"""

import base64
import binascii
import dataclasses
import decimal
import os
import re
import time

from nacl import bindings as _nacl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import errors as _e
from .errors import Rejected, SessionTooLarge
from .keys import A256GCM, MAX_CLOCK_SKEW, MAX_TIMEOUT, XCHACHA20POLY1305, Keys, KeySet

NATIVE = "native"
JWE = "jwe"
DEFAULT_MAX_VALUE_SIZE = 3800  # cookie.DefaultMaxValueSize
VERSION1 = 1
MAX_EPOCH_WINDOW = 1024  # keyring.MaxEpochWindow

_NONCE = 24
_TAG = 16
_HEADER = 1 + 4 + 4 + 8 + 8 + _NONCE
_OVERHEAD = _HEADER + _TAG
_JWE_IV = 12
_JWE_MAX_HEADER = 256
_JWE_MAX_HEADER_LEN = (_JWE_MAX_HEADER * 8 + 5) // 6  # base64.RawURLEncoding.EncodedLen(256)
_B64 = re.compile(r"[A-Za-z0-9_-]*")


def b64encode(b):
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64decode(s):
    """Strict unpadded base64url (Go: base64.RawURLEncoding.Strict()); None when malformed."""
    if not _B64.fullmatch(s) or len(s) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError):
        return None
    if b64encode(raw) != s:  # unused low bits set: a second spelling
        return None
    return raw


def encoded_len(n):
    """base64.RawURLEncoding.EncodedLen(n)."""
    return (n * 8 + 5) // 6


def _to_int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def clock_ns(clock):
    """Now in Unix nanoseconds from a clock returning Unix seconds.

    time.time reads time.time_ns; a float is read from its shortest decimal
    spelling (1795428000.503 is exactly .503 s), an int or Decimal exactly.
    """
    if clock is time.time:
        return time.time_ns()
    t = clock()
    if isinstance(t, float):
        t = decimal.Decimal(repr(t))
    return int(decimal.Decimal(t) * 1000000000)


@dataclasses.dataclass(frozen=True)
class Meta:
    """A sealed value's authenticated header (Go: cookie.Meta); times in Unix ms."""

    key_id: int
    epoch: int
    issued_at_ms: int
    refreshed_at_ms: int
    format: str


def _as_keys(keys):
    if isinstance(keys, Keys):
        return keys
    if isinstance(keys, KeySet):
        return Keys(keys)
    raise TypeError("keys must be a cookieseal.Keys or KeySet")


def resolve_lifetime(keyset, idle_timeout, absolute_timeout, clock_skew, where="cookie"):
    """The timeouts and skew in seconds: given, else recorded, else defaults;
    a longer absolute_timeout or clock_skew than recorded is refused (cookie.New)."""
    lt = keyset.lifetime
    rec_abs, rec_skew = lt.recorded_value("absolute_timeout"), lt.recorded_value("clock_skew")
    if rec_abs is not None and absolute_timeout is not None and absolute_timeout > rec_abs:
        raise ValueError("%s: absolute_timeout %ss is longer than the absolute_timeout %ss the key set records, "
                         "which key rotation counts on before removing a key; record the longer one "
                         "(cookieseal keys policy set) or leave it unset" % (where, absolute_timeout, rec_abs))
    if rec_skew is not None and clock_skew is not None and clock_skew > rec_skew:
        raise ValueError("%s: clock_skew %ss is longer than the clock_skew %ss the key set records, which key "
                         "rotation counts on before removing a key; record the longer one or leave it unset"
                         % (where, clock_skew, rec_skew))
    idle = lt.idle_timeout if idle_timeout is None else idle_timeout
    absolute = lt.absolute_timeout if absolute_timeout is None else absolute_timeout
    skew = lt.clock_skew if clock_skew is None else clock_skew
    return idle, absolute, skew


class Codec:
    """Seals payload bytes for one purpose (the cookie name) and opens them.

    Timeouts and skew in seconds (int, or float for sub-second tests); None
    takes the key set's recorded lifetime, else Go's defaults; a longer
    absolute_timeout or clock_skew than the recorded one is refused
    (ValueError), as cookie.New does. clock returns Unix seconds, like
    time.time. keys: a Keys (read on every call, so a reload takes effect)
    or a KeySet.
    """

    def __init__(self, keys, purpose, *, format=NATIVE, idle_timeout=None, absolute_timeout=None, clock_skew=None,
                 max_value_size=DEFAULT_MAX_VALUE_SIZE, clock=time.time):
        self._keys = _as_keys(keys)
        if not isinstance(purpose, str) or purpose == "":
            raise ValueError("cookie: empty purpose")
        ks = self._keys.current()
        idle, absolute, skew = resolve_lifetime(ks, idle_timeout, absolute_timeout, clock_skew)
        if idle < 0 or absolute < 0:
            raise ValueError("cookie: negative timeout")
        if idle > MAX_TIMEOUT or absolute > MAX_TIMEOUT:
            raise ValueError("cookie: idle_timeout and absolute_timeout must be at most 400 days")
        if not 0 <= skew <= MAX_CLOCK_SKEW:
            raise ValueError("cookie: clock skew must be within [0, 60s]")
        if not encoded_len(_OVERHEAD) <= max_value_size <= 1 << 20:
            raise ValueError("cookie: max_value_size out of range")
        if format not in (NATIVE, JWE):
            raise ValueError("cookie: unknown format %r" % (format,))
        self.purpose = purpose
        self._purpose_b = purpose.encode("utf-8")
        self.format = format
        self._idle_ns = int(decimal.Decimal(idle) * 10**9)
        self._abs_ns = int(decimal.Decimal(absolute) * 10**9)
        self._skew_ns = int(decimal.Decimal(skew) * 10**9)
        self.idle_timeout, self.absolute_timeout, self.clock_skew = idle, absolute, skew
        self.max_value_size = max_value_size
        self._clock = clock
        p = ks.epoch_period
        if p:
            n = (self._abs_ns + 3 * self._skew_ns) // (p * 10**9) + 2
            if n > MAX_EPOCH_WINDOW:
                raise ValueError("cookie: absolute_timeout with epoch period %ds spans %d epochs, more than %d"
                                 % (p, n, MAX_EPOCH_WINDOW))

    @property
    def keys(self):
        return self._keys

    def now_ns(self):
        return clock_ns(self._clock)

    # --- seal ---------------------------------------------------------

    def _seal_times(self, issued_at_ms, now_ns):
        rat = now_ns // 10**6
        iat = rat if issued_at_ms is None else int(issued_at_ms)
        if iat < 0 or rat < 0:
            raise ValueError("cookie: times must be after 1970")
        if iat > rat + self._skew_ns // 10**6:
            raise ValueError("cookie: issued-at is more than clock_skew after now")
        return iat, max(rat, iat)

    def seal(self, payload, issued_at_ms=None, *, _nonce=None):
        """Seals payload in the codec's format; refreshed-at is now (or issued-at when later).

        issued_at_ms: the session's issue time in Unix ms (None: now).
        Raises SessionTooLarge past max_value_size, ValueError for an
        issued_at more than clock_skew in the future or before 1970.
        """
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if self.format == JWE:
            return self._seal_jwe(payload, issued_at_ms, _nonce)
        if encoded_len(len(payload) + _OVERHEAD) > self.max_value_size:
            raise SessionTooLarge("cookie: value too large: %d-byte payload" % len(payload))
        ks = self._keys.current()
        now = self.now_ns()
        iat, rat = self._seal_times(issued_at_ms, now)
        kid = ks.primary.id
        epoch = ks.epoch(now // 10**6)
        key = ks.derived_key(XCHACHA20POLY1305, self.purpose, kid, epoch)
        nonce = _nonce if _nonce is not None else os.urandom(_NONCE)
        header = (bytes([VERSION1]) + kid.to_bytes(4, "big") + epoch.to_bytes(4, "big") +
                  (iat & (2**64 - 1)).to_bytes(8, "big") + (rat & (2**64 - 1)).to_bytes(8, "big") + nonce)
        ct = _nacl.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header + self._purpose_b, nonce, key)
        return b64encode(header + ct)

    def _seal_jwe(self, payload, issued_at_ms, nonce):
        ks = self._keys.current()
        now = self.now_ns()
        iat, rat = self._seal_times(issued_at_ms, now)
        kid = ks.primary.id
        epoch = ks.epoch(now // 10**6)
        hdr = ('{"alg":"dir","enc":"A256GCM","kid":"%s","iat":%s,"rat":%s}'
               % (jwe_kid(kid, epoch), numeric_date(iat), numeric_date(rat))).encode()
        total = encoded_len(len(hdr)) + 2 + encoded_len(_JWE_IV) + 1 + encoded_len(len(payload)) + 1 + encoded_len(16)
        if total > self.max_value_size:
            raise SessionTooLarge("cookie: value too large: %d-byte payload" % len(payload))
        key = ks.derived_key(A256GCM, self.purpose, kid, epoch)
        iv = nonce if nonce is not None else os.urandom(_JWE_IV)
        h = b64encode(hdr)
        sealed = AESGCM(key).encrypt(iv, payload, h.encode("ascii"))
        return "%s..%s.%s.%s" % (h, b64encode(iv), b64encode(sealed[:-16]), b64encode(sealed[-16:]))

    # --- open ---------------------------------------------------------

    def open(self, value):
        """Authenticates value (either format) and applies the expiry rule.

        Returns (payload bytes, Meta). Raises Rejected with Go's reason name
        (malformed, bad_version, unknown_key, epoch_out_of_window, tampered,
        timestamps_invalid, idle_expired, absolute_expired, too_large).
        """
        if not isinstance(value, str):
            raise Rejected(_e.MALFORMED, "cookie: value is not text")
        if len(value) > self.max_value_size:
            raise Rejected(_e.TOO_LARGE, "cookie: value too large")
        if is_jwe(value):
            return self._open_jwe(value)
        raw = b64decode(value)
        if raw is None or len(raw) < _OVERHEAD:
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed")
        if raw[0] != VERSION1:
            raise Rejected(_e.BAD_VERSION, "cookie: invalid value: unknown version")
        kid = int.from_bytes(raw[1:5], "big")
        epoch = int.from_bytes(raw[5:9], "big")
        meta = Meta(kid, epoch, _to_int64(int.from_bytes(raw[9:17], "big")),
                    _to_int64(int.from_bytes(raw[17:25], "big")), NATIVE)
        ks = self._keys.current()
        now = self.now_ns()
        self._check_epoch(ks, meta, now)
        try:
            key = ks.derived_key(XCHACHA20POLY1305, self.purpose, kid, epoch)
        except KeyError:
            raise Rejected(_e.UNKNOWN_KEY, "cookie: invalid value: unknown key %d" % kid) from None
        header = raw[:_HEADER]
        try:
            plain = _nacl.crypto_aead_xchacha20poly1305_ietf_decrypt(raw[_HEADER:], header + self._purpose_b,
                                                                     raw[_HEADER - _NONCE:_HEADER], key)
        except Exception:
            raise Rejected(_e.TAMPERED, "cookie: invalid value: authentication failed") from None
        self._check_times(meta, now)
        return plain, meta

    def _open_jwe(self, value):
        parts = value.split(".")
        if (len(parts) != 5 or parts[1] != "" or len(parts[0]) > _JWE_MAX_HEADER_LEN or
                len(parts[2]) != encoded_len(_JWE_IV) or len(parts[4]) != encoded_len(16) or
                "\r" in value or "\n" in value):
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed JWE")
        h, _, ivs, cts, tags = parts
        hdr = b64decode(h)
        if hdr is None:
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed JWE header")
        kid, epoch, iat, rat = parse_jwe_header(hdr)
        meta = Meta(kid, epoch, iat, rat, JWE)
        ks = self._keys.current()
        now = self.now_ns()
        self._check_epoch(ks, meta, now)
        try:
            key = ks.derived_key(A256GCM, self.purpose, kid, epoch)
        except KeyError:
            raise Rejected(_e.UNKNOWN_KEY, "cookie: invalid value: unknown key %d" % kid) from None
        ct, tag, iv = b64decode(cts), b64decode(tags), b64decode(ivs)
        if ct is None:
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed JWE ciphertext")
        if tag is None or len(tag) != 16:
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed JWE tag")
        if iv is None or len(iv) != _JWE_IV:
            raise Rejected(_e.MALFORMED, "cookie: invalid value: malformed JWE iv")
        try:
            plain = AESGCM(key).decrypt(iv, ct + tag, h.encode("ascii"))
        except Exception:
            raise Rejected(_e.TAMPERED, "cookie: invalid value: authentication failed") from None
        self._check_times(meta, now)
        return plain, meta

    def epoch_range(self, ks, now_ns):
        """The first and last epoch a value opened at now may name (cookie's epochRange)."""
        def ep(ns):
            return ks.epoch((ns // 10**9) * 1000)
        lo, hi = ep(now_ns - self._abs_ns - 2 * self._skew_ns), ep(now_ns + self._skew_ns)
        if hi >= MAX_EPOCH_WINDOW and lo < hi - (MAX_EPOCH_WINDOW - 1):
            lo = hi - (MAX_EPOCH_WINDOW - 1)
        return lo, hi

    def _check_epoch(self, ks, meta, now_ns):
        if ks.epoch_period == 0:
            ok = meta.epoch == 0
        else:
            lo, hi = self.epoch_range(ks, now_ns)
            ok = lo <= meta.epoch <= hi and meta.epoch != 0
        if not ok:
            raise Rejected(_e.EPOCH_OUT_OF_WINDOW, "cookie: invalid value: epoch %d of key %d out of window"
                           % (meta.epoch, meta.key_id))

    def _check_times(self, meta, now_ns):
        """cookie's checkTimes, in nanoseconds as Go compares them."""
        skew = self._skew_ns
        iat, rat = meta.issued_at_ms * 10**6, meta.refreshed_at_ms * 10**6
        if iat > now_ns + skew or rat > now_ns + skew:
            raise Rejected(_e.TIMESTAMPS, "cookie: invalid value: timestamps in the future")
        if rat < iat - skew:
            raise Rejected(_e.TIMESTAMPS, "cookie: invalid value: refreshed-at before issued-at")
        if now_ns > iat + self._abs_ns + skew:
            raise Rejected(_e.ABSOLUTE_EXPIRED, "cookie: expired: absolute timeout")
        if now_ns > rat + self._idle_ns + skew:
            raise Rejected(_e.IDLE_EXPIRED, "cookie: expired: idle timeout")

    def deadline_ms(self, meta):
        """The earlier of the idle and absolute deadlines, without skew (Go: Codec.Deadline)."""
        return min(meta.issued_at_ms + self._abs_ns // 10**6, meta.refreshed_at_ms + self._idle_ns // 10**6)

    def export_jwks(self):
        """The JWE keys that open this codec's values now, as a JWK Set dict (Go: InsecureExportJWKSet).

        It decrypts and forges every value of this purpose: keep it secret.
        """
        ks = self._keys.current()
        epochs = [0]
        if ks.epoch_period:
            lo, hi = self.epoch_range(ks, self.now_ns())
            epochs = list(range(max(lo, 1), hi + 1))
        out = []
        for k in ks.keys:
            if k.status == "disabled":
                continue
            for e in epochs:
                out.append({"kty": "oct", "use": "enc", "kid": jwe_kid(k.id, e), "alg": "dir",
                            "k": b64encode(ks.derived_key(A256GCM, self.purpose, k.id, e))})
        return {"keys": out}


def is_jwe(value):
    """Whether open reads value as JWE compact (cookie's isJWE): not 'A' first, and a '.'."""
    return len(value) > 0 and value[0] != "A" and "." in value


def jwe_kid(key_id, epoch):
    return str(key_id) if epoch == 0 else "%d.%d" % (key_id, epoch)


def numeric_date(ms):
    """Unix ms as a NumericDate: whole seconds as an integer, else up to 3 decimals, no trailing zero."""
    s, frac = divmod(ms, 1000)
    if frac == 0:
        return str(s)
    return ("%d.%03d" % (s, frac)).rstrip("0")


# --- the JWE protected header, read as strictly as cookie's parseJWEHeader ---

_WS = b" \t\n\r"


class _Scanner:
    def __init__(self, b):
        self.b, self.i = b, 0

    def ws(self):
        while self.i < len(self.b) and self.b[self.i] in _WS:
            self.i += 1

    def eat(self, c):
        self.ws()
        if self.i < len(self.b) and self.b[self.i] == c:
            self.i += 1
            return True
        return False

    def end(self):
        self.ws()
        return self.i == len(self.b)

    def string(self):
        if not self.eat(0x22):
            return None
        start = self.i
        while self.i < len(self.b):
            c = self.b[self.i]
            if c == 0x22:
                self.i += 1
                return self.b[start:self.i - 1]
            if c == 0x5C or c < 0x20:
                return None
            self.i += 1
        return None

    def numeric_date(self):
        self.ws()
        b, start = self.b, self.i
        while self.i < len(b) and 0x30 <= b[self.i] <= 0x39:
            self.i += 1
        n = self.i - start
        if n == 0 or n > 12 or (n > 1 and b[start] == 0x30):
            return None
        ms = int(b[start:self.i]) * 1000
        if self.i < len(b) and b[self.i] == 0x2E:
            self.i += 1
            fstart = self.i
            while self.i < len(b) and 0x30 <= b[self.i] <= 0x39:
                self.i += 1
            nf = self.i - fstart
            if nf == 0 or nf > 32:
                return None
            ms += int((b[fstart:self.i] + b"00")[:3])
        if self.i < len(b) and b[self.i] not in b" \t\n\r,}":
            return None
        return ms


def _malformed(msg="cookie: invalid value: malformed JWE header"):
    return Rejected(_e.MALFORMED, msg)


def parse_jwe_header(b):
    """(key id, epoch, iat ms, rat ms) of a decoded protected header, or Rejected."""
    s = _Scanner(b)
    if not s.eat(0x7B):
        raise _malformed()
    seen, kid, iat, rat = set(), None, 0, 0
    while True:
        key = s.string()
        if key is None or not s.eat(0x3A):
            raise _malformed()
        if key in (b"alg", b"enc"):
            v = s.string()
            if v is None:
                raise _malformed()
            if v != (b"dir" if key == b"alg" else b"A256GCM"):
                raise Rejected(_e.BAD_VERSION, "cookie: invalid value: JWE alg or enc not allowed")
        elif key == b"kid":
            kid = s.string()
            if kid is None:
                raise _malformed()
        elif key in (b"iat", b"rat"):
            v = s.numeric_date()
            if v is None:
                raise _malformed("cookie: invalid value: JWE iat or rat is not a non-negative NumericDate")
            if key == b"iat":
                iat = v
            else:
                rat = v
        else:
            raise _malformed("cookie: invalid value: JWE header member not allowed")
        if key in seen:
            raise _malformed()
        seen.add(key)
        if s.eat(0x2C):
            continue
        if not s.eat(0x7D) or not s.end():
            raise _malformed()
        break
    if len(seen) != 5:
        raise _malformed("cookie: invalid value: JWE header members are not exactly alg, enc, kid, iat, rat")
    parsed = _parse_kid(kid)
    if parsed is None:
        raise _malformed("cookie: invalid value: malformed JWE kid")
    return parsed[0], parsed[1], iat, rat


def _canonical_uint32(s):
    if not s or len(s) > 10 or s[:1] == b"0" or not s.isdigit() or not s.isascii():
        return None
    v = int(s)
    return v if v < 1 << 32 else None


def _parse_kid(kid):
    ids, dot, eps = kid.partition(b".")
    kid_id = _canonical_uint32(ids)
    if kid_id is None:
        return None
    epoch = 0
    if dot:
        epoch = _canonical_uint32(eps)
        if epoch is None:
            return None
    return kid_id, epoch
