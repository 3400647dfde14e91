"""Open and seal cookieseal JWE sessions with jwcrypto (Debian python3-jwcrypto 1.1)."""

import json

from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

from cookieseal_session import CLOCK_SKEW, InvalidSession, check_times, key_for, parse_payload, protected_header


def open_session(token, jwks, **expiry):
    header = protected_header(token)  # strict: alg, enc, kid, iat, rat only
    # jwcrypto 1.1 refuses a JWKSet as the key: pick the key by kid first.
    key = jwk.JWK(**key_for(jwks, header.kid))
    obj = jwe.JWE(algs=["dir", "A256GCM"])
    try:
        obj.deserialize(token, key=key)
    except (JWException, ValueError) as e:
        raise InvalidSession("does not decrypt") from e
    check_times(header, **expiry)  # expiry is checked only once it is authentic
    return parse_payload(obj.plaintext, header, now_ms=expiry.get("now_ms"), skew=expiry.get("skew", CLOCK_SKEW))


def seal_session(payload, jwks, kid, iat, rat):
    key = jwk.JWK(**key_for(jwks, kid))
    header = {"alg": "dir", "enc": "A256GCM", "kid": kid, "iat": iat, "rat": rat}
    obj = jwe.JWE(payload, protected=json.dumps(header))
    obj.add_recipient(key)  # dir + A256GCM: a fresh 96-bit IV
    return obj.serialize(compact=True)
