"""Key sets: the same key file and COOKIESEAL_KEYS forms as Go's keyring and rotate.

A key set holds master keys (id, status, 32-byte secret), an optional epoch
period, and the lifetime policy the Go fleet records once (idle_timeout,
absolute_timeout, clock_skew, rollout_delay). Keys wraps a source (a file,
an environment variable, a string) and hands out immutable KeySet
snapshots; a file source is re-read when its size, mtime or inode change.
"""

import dataclasses
import threading
from typing import Optional

from .errors import InvalidKeySet

# keyring.Default*: what every reader uses when the key set records nothing.
DEFAULT_IDLE_TIMEOUT = 24 * 3600
DEFAULT_ABSOLUTE_TIMEOUT = 7 * 24 * 3600
DEFAULT_CLOCK_SKEW = 30
DEFAULT_ROLLOUT_DELAY = 3600
MAX_TIMEOUT = 400 * 24 * 3600  # cookie.MaxTimeout
MAX_CLOCK_SKEW = 60  # cookie.MaxClockSkew
ENV_VAR = "COOKIESEAL_KEYS"

PRIMARY = "primary"
DECRYPT_ONLY = "decrypt-only"
DISABLED = "disabled"


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


@dataclasses.dataclass(frozen=True)
class Key:
    """One master key. repr and str never show the secret."""

    id: int
    status: str  # PRIMARY, DECRYPT_ONLY or DISABLED
    secret: bytes = dataclasses.field(repr=False)


class KeySet:
    """An immutable, validated key set (Go: *keyring.Keyring).

    Derived AEAD keys (HKDF-SHA256, as keyring.AEAD) are cached per
    (algorithm, purpose, key id, epoch).
    """

    keys: tuple  # of Key, sorted by id
    primary: Key
    epoch_period: int  # seconds; 0 without epoch keys
    lifetime: Lifetime

    @classmethod
    def parse(cls, text: str) -> "KeySet":
        """Parses a key set in either form keyring.ParseString reads.

        A key set file (JSON, "cookieseal_keyset" 1 or 2, with "lifetime"
        and "epoch_period") or the compact form
        "id:status:secret,...,epoch=24h,absolute_timeout=720h". Raises
        InvalidKeySet for anything Go refuses; the message quotes no secret.
        """
        raise NotImplementedError

    def lookup(self, key_id: int) -> Optional[Key]:
        """The key with this id, whatever its status; None if absent."""
        raise NotImplementedError

    def epoch(self, t_ms: int) -> int:
        """The epoch in force at t_ms (Unix ms): floor(t / period), 0 without epochs."""
        raise NotImplementedError

    def derived_key(self, alg: str, purpose: str, key_id: int, epoch: int) -> bytes:
        """The 32-byte AEAD key: HKDF-SHA256(master, info=label 0x00 epoch(4, BE) purpose).

        alg is "xchacha20poly1305" (native) or "a256gcm" (JWE). Raises
        KeyError for an unknown or disabled key.
        """
        raise NotImplementedError


class Keys:
    """The key set in force, from a file, the environment or a string.

    Thread-safe: current() returns an immutable KeySet snapshot; a reload
    swaps it atomically. A file source is checked at most every
    check_interval seconds (by current()) and re-read when its size, mtime
    or inode changed (rotate.FileSource's rule, including a re-read when the
    last read came within 2 s of the last modification). A file that fails
    to parse keeps the previous key set in force; last_error says why.
    """

    def __init__(self, keyset: KeySet, *, path: Optional[str] = None, check_interval: float = 1.0):
        raise NotImplementedError

    @classmethod
    def from_file(cls, path: str, *, check_interval: float = 1.0) -> "Keys":
        """Reads the key set file at path (Go: rotate.NewFileSource); auto-reloads.

        check_interval=0 checks the file on every current(); None never
        (call reload()). Raises InvalidKeySet or OSError now if the file is
        bad or missing.
        """
        raise NotImplementedError

    @classmethod
    def from_env(cls, name: str = ENV_VAR, environ=None) -> "Keys":
        """Reads the variable (Go: rotate.EnvSource), either form. Unset or empty raises InvalidKeySet."""
        raise NotImplementedError

    @classmethod
    def from_string(cls, text: str) -> "Keys":
        """A fixed key set from text in either form (keyring.ParseString)."""
        raise NotImplementedError

    @classmethod
    def generate(cls) -> "Keys":
        """A throwaway one-key set (Go: keyring.Generate), for tests."""
        raise NotImplementedError

    def current(self) -> KeySet:
        """The key set in force (checking the file first when due)."""
        raise NotImplementedError

    def reload(self) -> bool:
        """Re-reads the file now; True when the key set changed.

        Raises InvalidKeySet/OSError when the file is bad; the previous key
        set stays in force. A no-op (False) for env and string sources.
        """
        raise NotImplementedError

    @property
    def last_error(self) -> Optional[BaseException]:
        """The error of the last automatic reload, None when it succeeded."""
        raise NotImplementedError

    # Shortcuts on current().
    @property
    def primary(self) -> Key:
        raise NotImplementedError

    @property
    def lifetime(self) -> Lifetime:
        raise NotImplementedError

    def lookup(self, key_id: int) -> Optional[Key]:
        raise NotImplementedError
