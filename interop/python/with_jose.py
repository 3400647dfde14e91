"""Open cookieseal JWE sessions with python-jose (Debian python3-jose 3.3).

python-jose can read but not write a session: jwe.encrypt has no way to
put iat and rat in the protected header, and it draws a 16-byte IV for
A256GCM where JWE (RFC 7518 section 5.3) and cookieseal require 12 bytes.
"""

from jose import jwe
from jose.exceptions import JOSEError
from jose.utils import base64url_decode

from cookieseal_session import CLOCK_SKEW, InvalidSession, check_times, key_for, parse_payload, protected_header


def open_session(token, jwks, **expiry):
    header = protected_header(token)  # python-jose does not restrict alg or enc: this does
    key = base64url_decode(key_for(jwks, header.kid)["k"].encode())  # raw bytes, not a JWK
    try:
        plaintext = jwe.decrypt(token, key)
    except (JOSEError, ValueError) as e:
        raise InvalidSession("does not decrypt") from e
    check_times(header, **expiry)  # expiry is checked only once it is authentic
    return parse_payload(plaintext, header, now_ms=expiry.get("now_ms"), skew=expiry.get("skew", CLOCK_SKEW))


def seal_session_attempt(payload, jwks, kid):
    """What python-jose can write; cookieseal refuses it (no iat/rat, 16-byte IV)."""
    key = base64url_decode(key_for(jwks, kid)["k"].encode())
    return jwe.encrypt(payload, key, algorithm="dir", encryption="A256GCM", kid=kid).decode()
