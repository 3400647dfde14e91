"""Exceptions and rejection reasons, named as in Go's cookie.Reason."""

# Reasons a cookie is refused: Go's cookie.Reason names (Reason.String()).
MALFORMED = "malformed"
BAD_VERSION = "bad_version"
UNKNOWN_KEY = "unknown_key"
EPOCH_OUT_OF_WINDOW = "epoch_out_of_window"
TAMPERED = "tampered"
TIMESTAMPS = "timestamps_invalid"
IDLE_EXPIRED = "idle_expired"
ABSOLUTE_EXPIRED = "absolute_expired"
EXPIRED = "expired"
TOO_LARGE = "too_large"
DUPLICATE = "duplicate"
PAYLOAD = "payload"
REVOKED = "revoked"
REVOKE_FAULT = "revoke_fault"

EXPIRY_REASONS = frozenset({IDLE_EXPIRED, ABSOLUTE_EXPIRED, EXPIRED})


class CookiesealError(Exception):
    """Base class of this package's exceptions."""


class InvalidKeySet(CookiesealError, ValueError):
    """A key set (file or COOKIESEAL_KEYS) that Go's keyring refuses too.

    The message never quotes a secret.
    """


class Rejected(CookiesealError):
    """A cookie value that does not open; reason is one of the names above.

    Raised by Codec.open. Manager.load never raises it: it returns an empty
    session whose reason attribute holds the reason.
    """

    def __init__(self, reason, message=None):
        super().__init__(message or reason)
        self.reason = reason

    @property
    def expired(self):
        """True for idle, absolute or own-deadline expiry."""
        return self.reason in EXPIRY_REASONS


class SessionTooLarge(CookiesealError, ValueError):
    """A session that does not fit max_value_size x max_chunks (Go: cookie.ErrTooLarge).

    Raised by Manager.save; nothing is written. Store less in the session,
    or raise max_chunks on every Go and Python reader and writer together.
    """


class NoSubject(CookiesealError, ValueError):
    """Session.destroy with a revoker, of a session without a subject (Go: middleware.ErrNoSubject).

    The cookie is cleared, but nothing was revoked: a copy of the cookie stays
    valid until it expires. Harmless for a session that grants nothing (a
    cart); a bug for one that does: give every session that grants something
    a subject (set_subject at login). Also raised by revoke_others without a subject.
    """


class RevocationUnavailable(CookiesealError):
    """The revocation store did not answer (Go: middleware.ErrRevokeFault)."""


class ResponseStarted(CookiesealError):
    """A change to a session whose response already went out (Go: middleware.ErrResponseStarted).

    An adapter marks the session committed once its Set-Cookie lines are on
    their way (the response's start, a WebSocket's accept): the cookie can no
    longer carry a change, so the change is refused rather than silently
    lost. The session may still be read.
    """


class RevocationListFull(RevocationUnavailable):
    """A MemoryRevoker at its cap with no expired entry to forget (Go: revoke.ErrFull).

    The revocation did not happen: a failed logout, not a done one (the
    Manager reports it as the RevocationUnavailable it is).
    """
