"""Honour cookieseal's Redis revocation list (revoke/redis) from Python.

Key layout v2, as specified in revoke/redis/doc.go: one command on one
key per check, as the Go side does. With v1_compat=True it also reads the
v1 layout (one string key per entry), in the same round trip, for the
upgrade window during which some Go instances still write v1 only.
Needs redis-py (Debian python3-redis); give the client a short
socket_timeout.
"""

import re
import time
import zlib

import redis

PREFIX = "cookieseal:revoke:"  # revoke/redis Options.Prefix default
BUCKETS = 1024
_MS = re.compile(rb"[+-]?[0-9]+")  # what Go's strconv.ParseInt reads


class RevocationUnavailable(Exception):
    """Redis did not answer: apply your policy (cookieseal fails closed:
    no session)."""


def _utf8(s):
    # Go reads a JSON "\ud800" (lone surrogate) as U+FFFD; do the same.
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def _ms(v):
    if not _MS.fullmatch(v) or not -(1 << 63) <= int(v) < 1 << 63:
        return None
    return int(v)


def bucket_key(subject, session_id, prefix=PREFIX):
    """The v2 hash holding a session's entry and its subject's entry."""
    src = _utf8(subject) if subject else _utf8(session_id)
    return "%sv2:{%03x}" % (prefix, zlib.crc32(src) & (BUCKETS - 1))


def _v2_fields(subject, session_id):
    esub = _utf8(subject).replace(b"%", b"%25").replace(b":", b"%3A")
    return b"u:" + esub, b"s:" + esub + b":" + _utf8(session_id)


def _v2_revoked(sess, subj, issued_at_ms, now_ms):
    # A value that does not parse revokes what it names (fail closed).
    if sess is not None:
        until = _ms(sess)
        if until is None or until > now_ms:
            return True
    if subj is not None:
        before, sep, until = subj.partition(b":")
        before, until = _ms(before), _ms(until)
        if not sep or before is None or until is None:
            return True
        if until > now_ms and issued_at_ms < before:
            return True
    return False


def _v1_keys(subject, session_id, prefix):
    p = prefix.encode()
    if not subject:
        return None, p + b"s:" + _utf8(session_id)
    tag = b"{" + _utf8(subject).replace(b"%", b"%25").replace(b"{", b"%7B").replace(b"}", b"%7D") + b"}"
    return p + tag + b":u", p + tag + b":s:" + _utf8(session_id)


def _v1_revoked(sess, subj, issued_at_ms):
    if sess is not None:  # entries expire by their TTL
        return True
    if subj is not None:
        before, sep, until = subj.partition(b":")
        if not sep or _ms(before) is None or _ms(until) is None:
            return True  # as in v2: a value that does not parse revokes
        return issued_at_ms < _ms(before)
    return False


def is_revoked(r, session_id, subject, issued_at_ms, now_ms=None, prefix=PREFIX, v1_compat=False):
    """Whether cookieseal revoked this session (its id, or its subject).

    session_id and subject are the payload's "id" and "sub" ("" for none);
    issued_at_ms is the session's iat in Unix ms (Header.iat_ms).
    """
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    key = bucket_key(subject, session_id, prefix)
    subject_field, session_field = _v2_fields(subject, session_id)
    try:
        pipe = r.pipeline(transaction=False)
        pipe.hmget(key, [subject_field, session_field])
        if v1_compat:
            v1_subject, v1_session = _v1_keys(subject, session_id, prefix)
            pipe.mget([k for k in (v1_subject, v1_session) if k is not None])
        replies = pipe.execute()
    except redis.RedisError as e:
        raise RevocationUnavailable("revocation check failed") from e
    subj, sess = (v.encode() if isinstance(v, str) else v for v in replies[0])  # decode_responses=True
    if not subject:
        subj = None  # "u:" alone is no subject's entry
    if _v2_revoked(sess, subj, issued_at_ms, now_ms):
        return True
    if v1_compat:
        v1 = [v.encode() if isinstance(v, str) else v for v in replies[1]]
        return _v1_revoked(v1[-1], v1[0] if subject else None, issued_at_ms)
    return False
