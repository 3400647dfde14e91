"""cookieseal for Python: read and write the sessions a Go cookieseal fleet seals.

The Python peer of github.com/cookieseal/cookieseal. It opens and seals both
wire formats (native v1, XChaCha20-Poly1305, and JWE compact dir+A256GCM)
with the same keys, envelope, expiry rule, chunking and defaults as Go's
middleware.Manager, so one login works across Go and Python services:

    import cookieseal

    keys = cookieseal.Keys.from_file("/run/secrets/cookieseal.json")  # or Keys.from_env()
    manager = cookieseal.Manager(keys)               # "__Host-session", Go's defaults

    session = manager.load(request_cookie_header)    # never raises for bad input
    if session.authenticated:
        user = session.subject
    session["cart"] = [1, 2]
    for value in manager.save(session):              # Set-Cookie header values
        response.headers.add("Set-Cookie", value)

Framework adapters: cookieseal.django, cookieseal.flask, cookieseal.starlette.
Revocation on Redis (the same layout as Go's revoke/redis): cookieseal.redis.
"""

from ._version import __version__
from .codec import Codec, Meta, NATIVE, JWE
from .errors import (
    CookiesealError,
    InvalidKeySet,
    NoSubject,
    Rejected,
    ResponseStarted,
    RevocationListFull,
    RevocationUnavailable,
    SessionTooLarge,
)
from .keys import Key, KeySet, Keys, Lifetime
from .revoke import DEFAULT_MAX_ENTRIES, MemoryRevoker, MemoryStats, Revoker
from .session import DEFAULT_NAME, Manager, Session

__all__ = [
    "__version__",
    "Codec",
    "CookiesealError",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_NAME",
    "InvalidKeySet",
    "JWE",
    "Key",
    "KeySet",
    "Keys",
    "Lifetime",
    "Manager",
    "MemoryRevoker",
    "MemoryStats",
    "Meta",
    "NATIVE",
    "NoSubject",
    "Rejected",
    "ResponseStarted",
    "RevocationListFull",
    "RevocationUnavailable",
    "Revoker",
    "Session",
    "SessionTooLarge",
]
