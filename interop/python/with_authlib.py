"""Open and seal cookieseal JWE sessions with Authlib (Debian python3-authlib 1.2)."""

from authlib.jose import JsonWebEncryption, OctKey
from authlib.jose.errors import JoseError
from cryptography.exceptions import InvalidTag

from cookieseal_session import CLOCK_SKEW, InvalidSession, check_times, key_for, parse_payload, protected_header

JWE = JsonWebEncryption(algorithms=["dir", "A256GCM"], private_headers={"iat", "rat"})


def open_session(token, jwks, **expiry):
    header = protected_header(token)  # strict: alg, enc, kid, iat, rat only
    key = OctKey.import_key(key_for(jwks, header.kid))
    try:
        plaintext = JWE.deserialize_compact(token, key)["payload"]
    except (JoseError, InvalidTag, ValueError) as e:  # a wrong tag is cryptography's InvalidTag
        raise InvalidSession("does not decrypt") from e
    check_times(header, **expiry)  # expiry is checked only once it is authentic
    return parse_payload(plaintext, header, now_ms=expiry.get("now_ms"), skew=expiry.get("skew", CLOCK_SKEW))


def seal_session(payload, jwks, kid, iat, rat):
    key = OctKey.import_key(key_for(jwks, kid))
    header = {"alg": "dir", "enc": "A256GCM", "kid": kid, "iat": iat, "rat": rat}
    return JWE.serialize_compact(header, payload, key).decode()
