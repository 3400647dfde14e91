"""Sealing and opening cookie values, both formats (Go: cookie.Codec).

Native v1: base64url(version 0x01 | key id (4) | epoch (4) | issued-at ms (8)
| refreshed-at ms (8) | nonce (24) | XChaCha20-Poly1305 ciphertext+tag), AAD
= the 49-byte header followed by the purpose (the cookie name).
JWE compact: dir + A256GCM, protected header
{"alg":"dir","enc":"A256GCM","kid":"<id>[.<epoch>]","iat":..,"rat":..}.
Open tells them apart by the first bytes, as Go does.
"""

import dataclasses
import time
from typing import Callable, Optional, Tuple

NATIVE = "native"
JWE = "jwe"
DEFAULT_MAX_VALUE_SIZE = 3800  # cookie.DefaultMaxValueSize


@dataclasses.dataclass(frozen=True)
class Meta:
    """A sealed value's authenticated header (Go: cookie.Meta); times in Unix ms."""

    key_id: int
    epoch: int
    issued_at_ms: int
    refreshed_at_ms: int
    format: str


class Codec:
    """Seals payload bytes for one purpose (the cookie name) and opens them.

    Timeouts and skew in seconds; None takes the key set's recorded
    lifetime, else Go's defaults; a longer absolute_timeout or clock_skew
    than the recorded one is refused (ValueError), as cookie.New does.
    clock returns Unix seconds (float), like time.time.
    """

    def __init__(self, keys, purpose: str, *, format: str = NATIVE, idle_timeout: Optional[int] = None,
                 absolute_timeout: Optional[int] = None, clock_skew: Optional[int] = None,
                 max_value_size: int = DEFAULT_MAX_VALUE_SIZE, clock: Callable[[], float] = time.time):
        raise NotImplementedError

    def seal(self, payload: bytes, issued_at_ms: Optional[int] = None) -> str:
        """Seals payload in the codec's format; refreshed-at is now (or issued-at when later).

        Raises SessionTooLarge past max_value_size, ValueError for an
        issued_at more than clock_skew in the future or before 1970.
        """
        raise NotImplementedError

    def open(self, value: str) -> Tuple[bytes, Meta]:
        """Authenticates value (either format) and applies the expiry rule.

        Raises Rejected with Go's reason name (malformed, bad_version,
        unknown_key, epoch_out_of_window, tampered, timestamps_invalid,
        idle_expired, absolute_expired, too_large).
        """
        raise NotImplementedError

    def deadline_ms(self, meta: Meta) -> int:
        """The earlier of the idle and absolute deadlines, without skew (Go: Codec.Deadline)."""
        raise NotImplementedError
