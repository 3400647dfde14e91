package redis

import (
	"hash/crc32"
	"strconv"
	"strings"
)

// Key layout v2. With the default prefix "cookieseal:revoke:" (doc.go has
// the full specification, which a reader in another language follows):
//
//	cookieseal:revoke:v2:{<bbb>}   hash, one of 1024 buckets; <bbb> = 3 lowercase hex digits
//	  field "u:<esubject>"          subject entry   value "<beforeMS>:<untilMS>"
//	  field "s:<esubject>:<id>"     session entry   value "<untilMS>"
//	  field "s::<id>"               session entry of a session without subject
//	cookieseal:revoke:v2:events    pub/sub channel, message "<value>\n<field>"
//
// bucket = crc32(IEEE)(subject, or id when the subject is empty) & 0x3ff.
// <esubject> is the subject with '%' and ':' percent-encoded (%25, %3A), so
// that the first ':' after "s:" ends it. Times are Unix milliseconds in
// decimal.
const (
	// Buckets is the number of bucket hashes in layout v2. It is part of the
	// layout: every instance and every tool must use the same number.
	Buckets = 1024

	layoutV2      = "v2:"
	v2Channel     = layoutV2 + "events"
	fieldSubject  = "u:"
	fieldSession  = "s:"
	bucketKeyHexW = 3 // hex digits in a bucket's hash tag
)

// keys builds and parses the layout v2 keys and fields under one prefix.
type keys struct {
	prefix  string
	channel string
	buckets [Buckets]string // bucket keys, by bucket number
}

func newKeys(prefix string) *keys {
	k := &keys{prefix: prefix, channel: prefix + v2Channel}
	for b := range Buckets {
		k.buckets[b] = prefix + layoutV2 + "{" + hex3(b) + "}"
	}
	return k
}

func hex3(b int) string {
	s := strconv.FormatInt(int64(b), 16)
	return strings.Repeat("0", bucketKeyHexW-len(s)) + s
}

// bucketOf returns the bucket of an entry: by subject, or by id for a
// session without subject. A subject's entry and its sessions' entries are
// therefore in one hash, and a check reads one key.
func bucketOf(subject, id string) int {
	src := subject
	if src == "" {
		src = id
	}
	return int(crc32.ChecksumIEEE([]byte(src)) & (Buckets - 1))
}

// bucketKey returns the key of the hash that holds (subject, id)'s entries.
func (k *keys) bucketKey(subject, id string) string { return k.buckets[bucketOf(subject, id)] }

// subjectField is the field of subject's entry.
func subjectField(subject string) string { return fieldSubject + escapeSubject(subject) }

// sessionField is the field of the session entry (subject, id); subject may
// be empty.
func sessionField(subject, id string) string {
	return fieldSession + escapeSubject(subject) + ":" + id
}

// entryKind tells what a field holds.
type entryKind int

const (
	kindUnknown entryKind = iota // not a kind this version knows: skipped
	kindSubject
	kindSession
)

// parseField splits a field back into its parts. A field this version
// cannot parse is kindUnknown: it may belong to a newer version.
func parseField(field string) (kind entryKind, subject, id string) {
	if esc, ok := strings.CutPrefix(field, fieldSubject); ok {
		subject, ok := unescapeSubject(esc)
		if !ok || subject == "" {
			return kindUnknown, "", ""
		}
		return kindSubject, subject, ""
	}
	rest, ok := strings.CutPrefix(field, fieldSession)
	if !ok {
		return kindUnknown, "", ""
	}
	esc, id, ok := strings.Cut(rest, ":")
	if !ok || id == "" {
		return kindUnknown, "", ""
	}
	subject, ok = unescapeSubject(esc)
	if !ok {
		return kindUnknown, "", ""
	}
	return kindSession, subject, id
}

func escapeSubject(s string) string {
	if !strings.ContainsAny(s, "%:") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeSubject reverses escapeSubject (layout v2: %25 and %3A).
func unescapeSubject(s string) (string, bool) {
	return unescapePercent(s, pctEscape{"3A", ':'})
}

// pctEscape is one byte a layout writes as '%' and an upper-case hex pair.
type pctEscape struct {
	code string
	c    byte
}

// unescapePercent reverses a subject escaping that writes '%' as "%25"
// and each byte of escapes as its code; any other escape, or a '%'
// without two characters after it, is malformed.
func unescapePercent(s string, escapes ...pctEscape) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
next:
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		e := s[i+1 : i+3]
		i += 2
		if e == "25" {
			b.WriteByte('%')
			continue
		}
		for _, x := range escapes {
			if e == x.code {
				b.WriteByte(x.c)
				continue next
			}
		}
		return "", false
	}
	return b.String(), true
}

// parseMS parses a time of the layout: an optional '-', then ASCII digits,
// within int64 (strconv.ParseInt alone would also take a '+').
func parseMS(v string) (int64, bool) {
	if v == "" || v[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// parseSession parses a session entry's value: its until in Unix ms.
func parseSession(v string) (untilMS int64, ok bool) {
	return parseMS(v)
}

// parseSubject parses a subject entry's value: "<beforeMS>:<untilMS>".
func parseSubject(v string) (beforeMS, untilMS int64, ok bool) {
	bs, us, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	b, ok1 := parseMS(bs)
	u, ok2 := parseMS(us)
	return b, u, ok1 && ok2
}
