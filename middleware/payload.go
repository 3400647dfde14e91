package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
)

// The session payload is a JSON object, the envelope:
//
//	{"id":"<22 base64url chars>","sub":"user-42","d":{"user_id":42},"f":["Saved."],"dl":1767225600000,"p":true}
//
// id is a random 128-bit session id; sub (the subject), d (the data) and
// f (the flashes) are left out when empty; dl and p (the session's own
// deadline and cookie kind, see below and lifetime.go) when unset. Unknown
// members are ignored, so a later version may add some. Values stay JSON
// text until a typed Get decodes them, so 64-bit integers are exact.
// internal/jsonscan indexes and encodes it (IndexEnvelope,
// EncodeEnvelope); this file gives its members their meaning.

// errNoSessionID rejects an envelope without a session id.
var errNoSessionID = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: no session id", ErrPayload, cookie.ErrInvalid))

// parseEnvelope indexes payload's top-level members and the data object's
// members in one pass, checking the structure of every value it skips.
// fields is reused for the index.
func parseEnvelope(b []byte, fields []jsonscan.Field) (jsonscan.Envelope, error) {
	e, err := jsonscan.IndexEnvelope(b, fields[:0])
	if err != nil {
		return jsonscan.Envelope{Fields: fields[:0]}, cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: %w", ErrPayload, cookie.ErrInvalid, err))
	}
	if !e.ID.Ok() || e.ID.End-e.ID.Start < 3 {
		return jsonscan.Envelope{Fields: fields[:0]}, errNoSessionID
	}
	return e, nil
}

// newID returns a random 128-bit session id as unpadded base64url.
func newID() string {
	var raw [16]byte
	rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// A session's own lifetime: two optional members of the envelope, sealed
// with the rest, so the client can neither extend nor drop them.
//
//	"dl": the session's absolute deadline, Unix milliseconds (an integer).
//	      The session ends when now is past dl + ClockSkew, as it does past
//	      issued-at + AbsoluteTimeout + ClockSkew; the earlier rule wins.
//	"p":  true for a persistent cookie (Max-Age), false for a
//	      browser-session cookie; absent, Options.BrowserSession decides.
//
// Envelopes without them (every envelope written before they existed)
// read as before.

// lifetime is the session's "dl" and "p".
type lifetime struct {
	deadline time.Time // zero: only the manager's AbsoluteTimeout
	persist  int8      // 0: the manager's choice; 1 persistent; -1 browser session
}

// The rejections of a malformed "dl" or "p", built once.
var (
	errDeadlineField = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"dl\" is not a positive integer of milliseconds", ErrPayload, cookie.ErrInvalid))
	errPersistField  = cookie.Reject(cookie.ReasonPayload, fmt.Errorf("%w: %w: \"p\" is not a boolean", ErrPayload, cookie.ErrInvalid))
)

// parseLifetime reads "dl" and "p" from an indexed envelope. A "dl" that
// is not a positive integer, or a "p" that is not a boolean, is
// malformed: the session does not open.
func parseLifetime(b []byte, e jsonscan.Envelope) (lifetime, error) {
	var l lifetime
	if e.DL.Ok() {
		ms, ok := jsonscan.ParseInt(b[e.DL.Start:e.DL.End], 64)
		if !ok || ms <= 0 {
			return l, errDeadlineField
		}
		l.deadline = time.UnixMilli(ms)
	}
	if e.P.Ok() {
		switch string(b[e.P.Start:e.P.End]) {
		case "true":
			l.persist = 1
		case "false":
			l.persist = -1
		default:
			return l, errPersistField
		}
	}
	return l, nil
}

// appendTo adds "dl" and "p" to an encoded envelope (which ends in '}').
func (l lifetime) appendTo(b []byte) []byte {
	if l.deadline.IsZero() && l.persist == 0 {
		return b
	}
	b = b[:len(b)-1]
	if !l.deadline.IsZero() {
		b = append(b, `,"dl":`...)
		b = strconv.AppendInt(b, l.deadline.UnixMilli(), 10)
	}
	switch l.persist {
	case 1:
		b = append(b, `,"p":true`...)
	case -1:
		b = append(b, `,"p":false`...)
	}
	return append(b, '}')
}

// capDeadline returns the earlier of t and the session's own deadline.
func (l lifetime) capDeadline(t time.Time) time.Time {
	if !l.deadline.IsZero() && l.deadline.Before(t) {
		return l.deadline
	}
	return t
}

// capAt returns the earlier of t and limit.
func (lifetime) capAt(t, limit time.Time) time.Time {
	if t.After(limit) {
		return limit
	}
	return t
}
