"""Key sets: the same key file and COOKIESEAL_KEYS forms as Go's keyring and rotate.

A key set holds master keys (id, status, 32-byte secret), an optional epoch
period, and the lifetime policy the Go fleet records once (idle_timeout,
absolute_timeout, clock_skew, rollout_delay). Keys wraps a source (a file,
an environment variable, a string) and hands out immutable KeySet
snapshots; a file source is re-read when its size, mtime or inode change.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import threading
import time
from fractions import Fraction
from typing import Optional

from .errors import InvalidKeySet

# keyring.Default*: what every reader uses when the key set records nothing.
DEFAULT_IDLE_TIMEOUT = 24 * 3600
DEFAULT_ABSOLUTE_TIMEOUT = 7 * 24 * 3600
DEFAULT_CLOCK_SKEW = 30
DEFAULT_ROLLOUT_DELAY = 3600
MAX_TIMEOUT = 400 * 24 * 3600  # keyring.MaxTimeout
MAX_CLOCK_SKEW = 60  # keyring.MaxClockSkew
MIN_EPOCH_PERIOD = 60  # keyring.MinEpochPeriod
MAX_EPOCH_PERIOD = 365 * 24 * 3600  # keyring.MaxEpochPeriod
MAX_FILE_SIZE = 1 << 20  # keyring.MaxFileSize
SECRET_SIZE = 32
ENV_VAR = "COOKIESEAL_KEYS"

PRIMARY = "primary"
DECRYPT_ONLY = "decrypt-only"
DISABLED = "disabled"
_STATUSES = (PRIMARY, DECRYPT_ONLY, DISABLED)

# HKDF info labels (keyring's labelXChaCha, labelA256GCM).
XCHACHA20POLY1305 = "xchacha20poly1305"
A256GCM = "a256gcm"
_LABELS = {XCHACHA20POLY1305: b"cookieseal/v1/xchacha20poly1305", A256GCM: b"cookieseal/v1/jwe-a256gcm"}

_LIFETIME_FIELDS = ("idle_timeout", "absolute_timeout", "clock_skew", "rollout_delay")
_CACHE_MAX = 16384  # keyring's maxCached


@dataclasses.dataclass(frozen=True)
class Lifetime:
    """A key set's lifetime policy in whole seconds, defaults filled in.

    recorded names the fields the key set records ("idle_timeout",
    "absolute_timeout", "clock_skew", "rollout_delay"); the others hold the
    defaults, as keyring.Lifetime.WithDefaults gives them on the Go side.
    """

    idle_timeout: int = DEFAULT_IDLE_TIMEOUT
    absolute_timeout: int = DEFAULT_ABSOLUTE_TIMEOUT
    clock_skew: int = DEFAULT_CLOCK_SKEW
    rollout_delay: int = DEFAULT_ROLLOUT_DELAY
    recorded: frozenset = frozenset()

    def recorded_value(self, name):
        """The recorded value of a field, None when the key set records none."""
        return getattr(self, name) if name in self.recorded else None


@dataclasses.dataclass(frozen=True)
class Key:
    """One master key. repr never shows the secret."""

    id: int
    status: str  # PRIMARY, DECRYPT_ONLY or DISABLED
    secret: bytes = dataclasses.field(repr=False)

    def __str__(self):
        return "key %d (%s)" % (self.id, self.status)


# --- Go durations -------------------------------------------------------

_GO_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
             "h": 3600 * 10**9}
_GO_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def go_duration_ns(text):
    """Parses a Go duration string (time.ParseDuration) into nanoseconds; None when malformed."""
    if not isinstance(text, str) or not text:
        return None
    sign = 1
    if text[0] in "+-":
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    if text == "0":
        return 0
    if not text:
        return None
    pos, ns = 0, Fraction(0)
    while pos < len(text):
        m = _GO_DURATION_PART.match(text, pos)
        if not m or not (m.group(1) or m.group(2)):
            return None
        whole, frac, unit = m.group(1) or "0", m.group(2) or "", _GO_UNITS[m.group(3)]
        ns += (int(whole) + Fraction(int(frac or "0"), 10 ** len(frac))) * unit
        pos = m.end()
    ns = int(ns) * sign  # Go truncates fractions of a nanosecond
    if not -(1 << 63) <= ns < 1 << 63:
        return None
    return ns


def _lifetime_seconds(where, name, text):
    """A recorded duration: a positive Go duration; whole seconds and bounds are checked later."""
    ns = go_duration_ns(text)
    if ns is None or ns <= 0:
        raise InvalidKeySet("%slifetime %s is not a positive duration such as 168h" % (where, name))
    return ns


def _check_lifetime(values):
    """keyring.Lifetime.validate on recorded values in ns; returns the Lifetime in seconds."""
    bounds = {"idle_timeout": MAX_TIMEOUT, "absolute_timeout": MAX_TIMEOUT, "clock_skew": MAX_CLOCK_SKEW,
              "rollout_delay": MAX_TIMEOUT}
    for name, ns in values.items():
        if ns < 0 or ns > bounds[name] * 10**9 or ns % 10**9:
            raise InvalidKeySet("lifetime %s outside [0, %ds] or not whole seconds" % (name, bounds[name]))
    lt = Lifetime(**{k: v // 10**9 for k, v in values.items()}, recorded=frozenset(values))
    if lt.absolute_timeout < lt.idle_timeout:
        raise InvalidKeySet("lifetime absolute_timeout %ds is shorter than idle_timeout %ds"
                            % (lt.absolute_timeout, lt.idle_timeout))
    return lt


# --- secrets ------------------------------------------------------------

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _secret_from_text(key_id, text):
    """A secret's strict unpadded base64url (keyring's secretEncoding)."""
    err = InvalidKeySet("key %d: secret is not %d bytes of unpadded base64url" % (key_id, SECRET_SIZE))
    if not isinstance(text, str) or len(text) != 43 or not _B64URL.fullmatch(text):
        raise err
    raw = base64.urlsafe_b64decode(text + "=")
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:  # unused low bits set
        raise err
    return raw


# --- key set ------------------------------------------------------------


class KeySet:
    """An immutable, validated key set (Go: *keyring.Keyring).

    Derived AEAD keys (HKDF-SHA256, as keyring.AEAD) are cached per
    (algorithm, purpose, key id, epoch).
    """

    def __init__(self, keys, epoch_period=0, lifetime=None):
        """Validates keys (Key objects) as keyring.Set.Validate does.

        epoch_period in seconds (0: no epoch keys), lifetime a Lifetime (None:
        records nothing).
        """
        keys = tuple(sorted(keys, key=lambda k: k.id))
        if not keys:
            raise InvalidKeySet("no keys")
        seen = set()
        primaries = []
        for k in keys:
            if not isinstance(k.id, int) or not 0 < k.id < 1 << 32:
                raise InvalidKeySet("key id %r is not in [1, 2^32)" % (k.id,))
            if k.status not in _STATUSES:
                raise InvalidKeySet("key %d has invalid status" % k.id)
            if not isinstance(k.secret, bytes) or len(k.secret) != SECRET_SIZE:
                raise InvalidKeySet("key %d: secret must be %d bytes" % (k.id, SECRET_SIZE))
            if k.secret == bytes(SECRET_SIZE):
                raise InvalidKeySet("key %d has an all-zero secret" % k.id)
            if k.id in seen:
                raise InvalidKeySet("duplicate key id %d" % k.id)
            seen.add(k.id)
            if k.status == PRIMARY:
                primaries.append(k)
        if len(primaries) != 1:
            raise InvalidKeySet("%d primary keys, want exactly 1" % len(primaries))
        if epoch_period and not MIN_EPOCH_PERIOD <= epoch_period <= MAX_EPOCH_PERIOD:
            raise InvalidKeySet("epoch period outside [1m, 8760h] or not whole seconds")
        self.keys = keys
        self.primary = primaries[0]
        self.epoch_period = int(epoch_period)
        self.lifetime = lifetime if lifetime is not None else Lifetime()
        self._by_id = {k.id: k for k in keys}
        self._cache = {}
        self._lock = threading.Lock()

    def __repr__(self):
        return "KeySet(%d keys, primary %d)" % (len(self.keys), self.primary.id)

    @classmethod
    def parse(cls, text):
        """Parses a key set in either form keyring.ParseString reads.

        A key set file (JSON, "cookieseal_keyset" 1 or 2, with "lifetime"
        and "epoch_period") or the compact form
        "id:status:secret,...,epoch=24h,absolute_timeout=720h". Raises
        InvalidKeySet for anything Go refuses; the message quotes no secret.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidKeySet("key set is not UTF-8") from None
        if not isinstance(text, str):
            raise InvalidKeySet("key set is not text")
        s = text.strip(" \t\n\r\v\f")
        if s.startswith("{"):
            return cls._parse_file(s)
        if len(s.encode()) > MAX_FILE_SIZE:
            raise InvalidKeySet("string larger than %d bytes" % MAX_FILE_SIZE)
        keys, epoch_ns, lifetime = [], 0, {}
        for i, entry in enumerate(s.split(",")):
            entry = entry.strip(" \t\n\r\v\f")
            if entry.startswith("epoch="):
                ns = go_duration_ns(entry[len("epoch="):])
                if ns is None or epoch_ns != 0:
                    raise InvalidKeySet("entry %d: bad or repeated epoch" % i)
                epoch_ns = ns
                continue
            name, sep, v = entry.partition("=")
            if sep:
                if name not in _LIFETIME_FIELDS:
                    raise InvalidKeySet("entry %d: unknown setting" % i)
                if name in lifetime:
                    raise InvalidKeySet("entry %d: repeated %s" % (i, name))
                lifetime[name] = _lifetime_seconds("entry %d: " % i, name, v)
                continue
            parts = entry.split(":")
            if len(parts) != 3:
                raise InvalidKeySet("entry %d: want id:status:secret" % i)
            if not re.fullmatch(r"[0-9]+", parts[0]) or int(parts[0]) >= 1 << 32:
                raise InvalidKeySet("entry %d: bad key id" % i)
            if parts[1] not in _STATUSES:
                raise InvalidKeySet("entry %d: unknown status" % i)
            key_id = int(parts[0])
            keys.append(Key(key_id, parts[1], _secret_from_text(key_id, parts[2])))
        return cls._build(keys, epoch_ns, lifetime)

    @classmethod
    def _build(cls, keys, epoch_ns, lifetime_ns):
        for k in keys:
            if k.id == 0:
                raise InvalidKeySet("key id 0 is reserved")
        if epoch_ns and (epoch_ns % 10**9 or not MIN_EPOCH_PERIOD * 10**9 <= epoch_ns <= MAX_EPOCH_PERIOD * 10**9):
            raise InvalidKeySet("epoch period outside [1m, 8760h] or not whole seconds")
        if epoch_ns < 0:
            raise InvalidKeySet("negative epoch period")
        return cls(keys, epoch_ns // 10**9, _check_lifetime(lifetime_ns))

    @classmethod
    def _parse_file(cls, text):
        """keyring.ParseKeyFile, with encoding/json's rules: member names match
        case-insensitively, a later member overwrites an earlier one, null
        leaves a field as it was, unknown members are refused."""
        if len(text.encode()) > MAX_FILE_SIZE:
            raise InvalidKeySet("file larger than %d bytes" % MAX_FILE_SIZE)

        def no_constant(name):
            raise ValueError("not JSON")

        try:
            top = json.loads(text, object_pairs_hook=lambda pairs: pairs, parse_constant=no_constant)
        except (ValueError, RecursionError):
            raise InvalidKeySet("malformed JSON or trailing data after the key set") from None
        if not isinstance(top, list):
            raise InvalidKeySet("a key set file is a JSON object")
        version, epoch, section, file_keys = 0, "", None, None
        for k, v in top:
            name = k.lower()
            if name == "cookieseal_keyset":
                if v is not None:
                    if type(v) is not int:
                        raise InvalidKeySet('field "cookieseal_keyset" has the wrong type')
                    version = v
            elif name == "epoch_period":
                if v is not None:
                    if not isinstance(v, str):
                        raise InvalidKeySet('field "epoch_period" has the wrong type')
                    epoch = v
            elif name == "lifetime":
                if v is None:
                    section = None
                    continue
                if not isinstance(v, list):
                    raise InvalidKeySet('field "lifetime" has the wrong type')
                section = {} if section is None else section
                for k2, v2 in v:
                    f = k2.lower()
                    if f not in _LIFETIME_FIELDS:
                        raise InvalidKeySet("unknown field")
                    if v2 is None:
                        continue
                    if not isinstance(v2, str):
                        raise InvalidKeySet('field "lifetime.%s" has the wrong type' % f)
                    section[f] = v2
            elif name == "keys":
                if v is None:
                    continue
                if not isinstance(v, list) or any(not isinstance(e, (list, type(None))) for e in v):
                    raise InvalidKeySet('field "keys" has the wrong type')
                file_keys = v
            else:
                raise InvalidKeySet("unknown field")
        if not 1 <= version <= 2:
            raise InvalidKeySet("unsupported version %d" % version)
        if section is not None and version < 2:
            raise InvalidKeySet("a lifetime section needs version 2")
        lifetime = {f: _lifetime_seconds("", f, v) for f, v in (section or {}).items() if v != ""}
        epoch_ns = 0
        if epoch != "":
            epoch_ns = go_duration_ns(epoch)
            if epoch_ns is None:
                raise InvalidKeySet("bad epoch_period")
        keys = []
        for members in file_keys or []:
            kid, status, secret = 0, None, ""
            for k, v in members or []:
                name = k.lower()
                if name == "id":
                    if v is None:
                        continue
                    if type(v) is not int or not 0 <= v < 1 << 32:
                        raise InvalidKeySet('field "id" has the wrong type')
                    kid = v
                elif name == "status":
                    if v is None:
                        continue
                    if not isinstance(v, str):
                        raise InvalidKeySet('field "status" has the wrong type')
                    if v not in _STATUSES:
                        raise InvalidKeySet("unknown status")
                    status = v
                elif name == "secret":
                    if v is None:
                        continue
                    if not isinstance(v, str):
                        raise InvalidKeySet('field "secret" has the wrong type')
                    secret = v
                elif name in ("added", "promoted", "demoted", "enabled"):
                    if v is not None and not isinstance(v, str):
                        raise InvalidKeySet('field "%s" has the wrong type' % name)
                else:
                    raise InvalidKeySet("unknown field")
            keys.append(Key(kid, status, _secret_from_text(kid, secret)))
        for k in keys:
            if k.status is None:
                raise InvalidKeySet("key %d has invalid status" % k.id)
        return cls._build(keys, epoch_ns, lifetime)

    def lookup(self, key_id):
        """The key with this id, whatever its status; None if absent."""
        return self._by_id.get(key_id)

    def epoch(self, t_ms):
        """The epoch in force at t_ms (Unix ms): floor(t / period), 0 without epochs (keyring.Epoch)."""
        if not self.epoch_period:
            return 0
        e = (t_ms // 1000) // self.epoch_period if t_ms >= 0 else -((-t_ms + 999) // 1000) // self.epoch_period
        if e <= 0 or e >= 1 << 32:
            return 0
        return e

    def derived_key(self, alg, purpose, key_id, epoch):
        """The 32-byte AEAD key: HKDF-SHA256(master, salt=None, info=label 0x00 epoch(4, BE) purpose).

        alg is "xchacha20poly1305" (native) or "a256gcm" (JWE). Raises
        KeyError for an unknown or disabled key.
        """
        ck = (alg, purpose, key_id, epoch)
        d = self._cache.get(ck)
        if d is not None:
            return d
        k = self._by_id.get(key_id)
        if k is None or k.status == DISABLED:
            raise KeyError("unknown key")
        info = _LABELS[alg] + b"\x00" + epoch.to_bytes(4, "big") + purpose.encode("utf-8")
        d = hkdf_sha256(k.secret, info, 32)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[ck] = d
        return d

    def marshal_string(self):
        """The compact form (keyring.Set.MarshalString), secrets included: keep it secret."""
        out = ["%d:%s:%s" % (k.id, k.status, base64.urlsafe_b64encode(k.secret).rstrip(b"=").decode())
               for k in self.keys]
        if self.epoch_period:
            out.append("epoch=%ds" % self.epoch_period)
        for f in _LIFETIME_FIELDS:
            if f in self.lifetime.recorded:
                out.append("%s=%ds" % (f, getattr(self.lifetime, f)))
        return ",".join(out)


def hkdf_sha256(ikm, info, length):
    """RFC 5869 HKDF with SHA-256 and no salt (Go: crypto/hkdf.Key(sha256.New, ikm, nil, info, length))."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


# --- sources ------------------------------------------------------------

_RACY_WINDOW = 2.0  # rotate's racyWindow


def _read_key_file(path):
    """Reads a key file: a regular file (no fifo, no device), at most MAX_FILE_SIZE bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidKeySet("%s is not a regular file" % path)
        chunks, total = [], 0
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            total += len(b)
            if total > MAX_FILE_SIZE:
                raise InvalidKeySet("%s: file larger than %d bytes" % (path, MAX_FILE_SIZE))
            chunks.append(b)
        return b"".join(chunks), (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
    finally:
        os.close(fd)


class Keys:
    """The key set in force, from a file, the environment or a string.

    Thread-safe: current() returns an immutable KeySet snapshot; a reload
    swaps it atomically. A file source is checked at most every
    check_interval seconds (by current()) and re-read when its size, mtime
    or inode changed, or when the last read came within 2 s of the file's
    modification (rotate.FileSource's rule). A file that fails to parse
    keeps the previous key set in force; last_error says why.
    """

    def __init__(self, keyset, *, path=None, check_interval=1.0, _stat=None, _sum=None, _read_at=0.0):
        if not isinstance(keyset, KeySet):
            raise TypeError("Keys needs a KeySet")
        self._keyset = keyset
        self._path = path
        self._interval = check_interval
        self._stat = _stat
        self._sum = _sum
        self._read_at = _read_at
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._error = None

    def __repr__(self):
        src = "file %s" % self._path if self._path else "fixed"
        return "Keys(%s, %r)" % (src, self._keyset)

    @classmethod
    def from_file(cls, path, *, check_interval=1.0):
        """Reads the key set file at path (Go: rotate.NewFileSource); auto-reloads.

        check_interval=0 checks the file on every current(); None never
        (call reload()). Raises InvalidKeySet or OSError now if the file is
        bad or missing. The file holds either form (JSON or compact).
        """
        data, st = _read_key_file(path)
        ks = cls._parse_file_data(path, data)
        return cls(ks, path=path, check_interval=check_interval, _stat=st, _sum=hashlib.sha256(data).digest(),
                   _read_at=time.time())

    @staticmethod
    def _parse_file_data(path, data):
        try:
            return KeySet.parse(data)
        except InvalidKeySet as e:
            raise InvalidKeySet("%s: %s" % (path, e)) from None

    @classmethod
    def from_env(cls, name=ENV_VAR, environ=None):
        """Reads the variable (Go: rotate.EnvSource), either form. Unset or empty raises InvalidKeySet."""
        env = os.environ if environ is None else environ
        v = env.get(name, "")
        if not v:
            raise InvalidKeySet("environment variable %s is not set" % name)
        try:
            return cls(KeySet.parse(v))
        except InvalidKeySet as e:
            raise InvalidKeySet("environment variable %s: %s" % (name, e)) from None

    @classmethod
    def from_string(cls, text):
        """A fixed key set from text in either form (keyring.ParseString)."""
        return cls(KeySet.parse(text))

    @classmethod
    def generate(cls):
        """A throwaway one-key set (Go: keyring.Generate), for tests and examples."""
        while True:
            kid = secrets.randbits(32)
            if kid:
                break
        return cls(KeySet([Key(kid, PRIMARY, secrets.token_bytes(SECRET_SIZE))]))

    @property
    def path(self):
        """The key file's path, None for other sources."""
        return self._path

    def current(self):
        """The key set in force (checking the file first when due)."""
        if self._path is not None and self._interval is not None:
            now = time.monotonic()
            if now - self._checked >= self._interval:
                self._checked = now
                try:
                    self._load(force=False)
                    self._error = None
                except (OSError, InvalidKeySet) as e:
                    self._error = e
        return self._keyset

    def reload(self):
        """Re-reads the file now; True when the key set changed.

        Raises InvalidKeySet/OSError when the file is bad; the previous key
        set stays in force. A no-op (False) for env and string sources.
        """
        if self._path is None:
            return False
        try:
            changed = self._load(force=True)
        except (OSError, InvalidKeySet) as e:
            self._error = e
            raise
        self._error = None
        return changed

    def _load(self, force):
        with self._lock:
            if not force:
                try:
                    st = os.stat(self._path)
                except OSError:
                    raise
                key = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
                if key == self._stat and st.st_mtime + _RACY_WINDOW < self._read_at:
                    return False
            data, st = _read_key_file(self._path)
            read_at = time.time()
            digest = hashlib.sha256(data).digest()
            if self._sum is not None and hmac.compare_digest(digest, self._sum):
                self._stat, self._read_at = st, read_at
                return False
            ks = self._parse_file_data(self._path, data)
            self._keyset = ks  # one reference swap: readers see the old or the new set
            self._stat, self._read_at, self._sum = st, read_at, digest
            return True

    @property
    def last_error(self):
        """The error of the last automatic reload, None when it succeeded."""
        return self._error

    @property
    def primary(self):
        return self.current().primary

    @property
    def lifetime(self):
        return self.current().lifetime

    @property
    def epoch_period(self):
        return self.current().epoch_period

    def lookup(self, key_id):
        return self.current().lookup(key_id)


def lifetime_of(text):
    """The lifetime policy a key set's text records, defaults for the rest (reads the whole set)."""
    return KeySet.parse(text).lifetime
