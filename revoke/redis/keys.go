package redis

import (
	"strconv"
	"strings"
)

// Key layout. With the default prefix "cookieseal:revoke:":
//
//	cookieseal:revoke:{<subject>}:u       subject entry  "<beforeMS>:<untilMS>"
//	cookieseal:revoke:{<subject>}:s:<id>  session entry  "<untilMS>"  (session with a subject)
//	cookieseal:revoke:s:<id>              session entry  "<untilMS>"  (session without a subject)
//	cookieseal:revoke:events              pub/sub channel (not a key)
//
// Times are Unix milliseconds in decimal. <subject> is the subject with '%',
// '{' and '}' percent-encoded, so that the braces around it are the key's
// Cluster hash tag: a subject's entry and its sessions' entries share one
// slot. <id> is the session id as is.
const (
	subjectSuffix = ":u"
	sessionInfix  = ":s:"
	bareSession   = "s:"
	channelSuffix = "events"
)

// keys builds and parses the keys under one prefix.
type keys struct {
	prefix  string
	channel string
	match   string // SCAN MATCH pattern for every key under prefix
}

func newKeys(prefix string) keys {
	return keys{prefix: prefix, channel: prefix + channelSuffix, match: globEscape(prefix) + "*"}
}

func (k keys) subject(subject string) string {
	return k.prefix + "{" + escapeSubject(subject) + "}" + subjectSuffix
}

func (k keys) session(subject, id string) string {
	if subject == "" {
		return k.prefix + bareSession + id
	}
	return k.prefix + "{" + escapeSubject(subject) + "}" + sessionInfix + id
}

// entryKind tells what a key holds.
type entryKind int

const (
	kindInvalid entryKind = iota
	kindSubject
	kindSession
)

// parse splits a key built by subject or session back into its parts.
func (k keys) parse(key string) (kind entryKind, subject, id string) {
	rest, ok := strings.CutPrefix(key, k.prefix)
	if !ok {
		return kindInvalid, "", ""
	}
	if id, ok := strings.CutPrefix(rest, bareSession); ok {
		if id == "" {
			return kindInvalid, "", ""
		}
		return kindSession, "", id
	}
	rest, ok = strings.CutPrefix(rest, "{")
	if !ok {
		return kindInvalid, "", ""
	}
	esc, rest, ok := strings.Cut(rest, "}")
	if !ok {
		return kindInvalid, "", ""
	}
	subject, ok = unescapeSubject(esc)
	if !ok || subject == "" {
		return kindInvalid, "", ""
	}
	if rest == subjectSuffix {
		return kindSubject, subject, ""
	}
	if id, ok := strings.CutPrefix(rest, sessionInfix); ok && id != "" {
		return kindSession, subject, id
	}
	return kindInvalid, "", ""
}

func escapeSubject(s string) string {
	if !strings.ContainsAny(s, "%{}") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case '{':
			b.WriteString("%7B")
		case '}':
			b.WriteString("%7D")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unescapeSubject(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		switch s[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "7B":
			b.WriteByte('{')
		case "7D":
			b.WriteByte('}')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// globEscape escapes the characters that SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseSession parses a session entry's value: its until in Unix ms.
func parseSession(v string) (untilMS int64, ok bool) {
	u, err := strconv.ParseInt(v, 10, 64)
	return u, err == nil
}

// parseSubject parses a subject entry's value: "<beforeMS>:<untilMS>".
func parseSubject(v string) (beforeMS, untilMS int64, ok bool) {
	bs, us, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	b, err1 := strconv.ParseInt(bs, 10, 64)
	u, err2 := strconv.ParseInt(us, 10, 64)
	return b, u, err1 == nil && err2 == nil
}
