package cookie

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Chunking: a sealed value larger than one cookie can hold is cut over the
// cookies name.0, name.1, … name.(n-1) and joined back on the next request.
//
// The rule the session manager follows, and any other caller should too:
//
//   - A value of at most size bytes goes in the plain cookie name, and every
//     chunk cookie of name that the request carried is cleared
//     (StaleChunks(cookies, name, 0)).
//   - A longer value is cut with Split and written to ChunkName(name, 0..n-1);
//     the plain cookie name is cleared, and so are the chunk cookies from a
//     longer earlier value (StaleChunks(cookies, name, n)).
//   - Two responses in flight at once can each write a different number of
//     chunks; if a response cleared only the stale chunks its request
//     carried, a leftover chunk would join into a value the AEAD rejects.
//     So a writer of n chunks (0 for the plain cookie) also expires every
//     index from n to maxChunks-1, whether or not the request carried it, as
//     the session manager does. (An index that no write can reach, because
//     the response's header budget cannot hold that many chunks, needs
//     expiring only when the request carried it; the session manager
//     skips the others.)
//   - On read, Join is tried first; ErrNoChunks means "read the plain
//     cookie". Any other error means "no session": an attacker or a browser
//     that evicted some cookies can give an incomplete set, and the AEAD
//     rejects whatever a wrong join produces anyway.
//
// Chunk names are name + "." + a decimal index with no sign and no leading
// zeros, so "name.01", "name.+1" and "name.x" are not chunks of name. A cookie
// name that itself ends in "." and digits can collide with another cookie's
// chunks ("a.1" is chunk 1 of "a"); do not chunk a cookie whose name is such
// a chunk name of another.

// DefaultMaxChunks is the default cap on chunk cookies per value.
//
// Browsers keep at least 50 cookies of 4096 bytes per domain (RFC 6265
// §6.1), so the browser is not the limit: the proxies in between are, in
// both directions. Four chunks of the default 3800-byte budget make a
// Cookie header of about 15.3 KB and a response with about 16 KB of
// Set-Cookie lines. Measured with Debian's nginx 1.22 and its defaults
// (internal/nginxtest): a request passes with at most two such chunks
// over HTTP/1.1 (one Cookie line of at most 8 KB; 400 beyond, before the
// application sees it) and eight over HTTP/2 (one field per cookie); a
// response passes only if its whole header block fits in 4096 bytes, so
// not even one full chunk plus the headers around it (502 beyond). curl's
// cookie engine sends at most two and silently drops the rest. So chunk
// only behind a proxy tuned for it (the README's recipe), and tell the
// writer how large a response header the proxy holds (the session
// manager's MaxResponseCookieBytes). Every chunk travels on every request:
// large sessions cost bandwidth on each one.
const DefaultMaxChunks = 4

// ErrNoChunks reports that the request carries no chunk of the cookie. It
// does not match ErrInvalid.
var ErrNoChunks = errors.New("cookie: no chunks")

// ChunkName returns the name of chunk i of the cookie name: name + "." +
// decimal i.
func ChunkName(name string, i int) string {
	return name + "." + strconv.Itoa(i)
}

// Split cuts a sealed value into pieces of at most size bytes for the
// cookies ChunkName(name, 0..n-1). A value that fits in one piece (the
// empty value included) is returned as one piece. More than maxChunks
// pieces → ErrTooLarge. size < 1 or maxChunks < 1 is a caller bug and
// returns an error that matches no sentinel.
//
// The pieces share the value's memory; the value is cut at byte offsets,
// which is safe because sealed values are ASCII.
func Split(value string, size, maxChunks int) ([]string, error) {
	if size < 1 || maxChunks < 1 {
		return nil, fmt.Errorf("cookie: Split: size %d and maxChunks %d must be positive", size, maxChunks)
	}
	n := len(value)/size + min(len(value)%size, 1)
	if n <= 1 {
		return []string{value}, nil
	}
	if n > maxChunks {
		return nil, fmt.Errorf("%w: %d bytes need %d chunks of %d, at most %d allowed", ErrTooLarge, len(value), n, size, maxChunks)
	}
	pieces := make([]string, n)
	for i := range pieces {
		pieces[i] = value[i*size : min((i+1)*size, len(value))]
	}
	return pieces, nil
}

// Join reassembles a chunked value from the request's cookies: it looks
// for name.0 … name.(n-1), contiguous from 0, and returns the joined value
// and n. No name.0 → ("", 0, ErrNoChunks); chunks of name without name.0
// are left to StaleChunks. A duplicated chunk name, a gap (name.0 and
// name.2 without name.1) or more than maxChunks chunks gives an error
// matching ErrInvalid, and a joined value longer than maxLen one matching
// ErrTooLarge; all are checked before any concatenation work. On error the
// value is "" and n is still the number of chunk cookies seen (duplicates
// included); StaleChunks(cookies, name, 0) names them for clearing.
//
// maxChunks < 1 or maxLen < 1 is a caller bug and returns an error that
// matches no sentinel. Cookies whose names are not chunk names of name are
// ignored.
func Join(cookies []*http.Cookie, name string, maxChunks, maxLen int) (value string, n int, err error) {
	if maxChunks < 1 || maxLen < 1 {
		return "", 0, fmt.Errorf("cookie: Join: maxChunks %d and maxLen %d must be positive", maxChunks, maxLen)
	}
	// First pass: count and bound the indices, so that the second pass
	// needs room for n chunks only, however large an index a request
	// names.
	have0, tooMany, maxIdx := false, false, 0
	for _, c := range cookies {
		i, ok := chunkIndex(c.Name, name)
		if !ok {
			continue
		}
		n++
		switch {
		case i == 0:
			have0 = true
		case i >= maxChunks:
			tooMany = true
		default:
			maxIdx = max(maxIdx, i)
		}
	}
	switch {
	case !have0:
		return "", 0, ErrNoChunks
	case tooMany || n > maxChunks:
		return "", n, Reject(ReasonMalformed, fmt.Errorf("%w: more than %d chunks of %q", ErrInvalid, maxChunks, name))
	case maxIdx >= n:
		return "", n, Reject(ReasonMalformed, fmt.Errorf("%w: missing chunk of %q", ErrInvalid, name))
	}
	// Second pass: n chunks, every index below n; each index must come
	// once, and then all of 0 … n-1 are there.
	var stack [DefaultMaxChunks]*http.Cookie
	var slots []*http.Cookie
	if n <= len(stack) {
		slots = stack[:n]
	} else {
		slots = make([]*http.Cookie, n)
	}
	total := 0
	for _, c := range cookies {
		i, ok := chunkIndex(c.Name, name)
		if !ok {
			continue
		}
		if slots[i] != nil {
			return "", n, Reject(ReasonDuplicate, fmt.Errorf("%w: duplicate chunk of %q", ErrInvalid, name))
		}
		slots[i] = c
		total += len(c.Value)
	}
	if total > maxLen {
		return "", n, fmt.Errorf("%w: %d-byte chunked value", ErrTooLarge, total)
	}
	if n == 1 {
		return slots[0].Value, 1, nil
	}
	var b strings.Builder
	b.Grow(total)
	for _, c := range slots {
		b.WriteString(c.Value)
	}
	return b.String(), n, nil
}

// StaleChunks returns the names of chunk cookies of name present in
// cookies whose index is >= keep (keep = number of chunks just written; 0
// when the value now fits in the plain cookie), so the caller can expire
// them when a value shrinks. Each name appears once, in index order.
// Indices are parsed strictly (no sign, no leading zeros except "0").
func StaleChunks(cookies []*http.Cookie, name string, keep int) []string {
	type stale struct {
		i    int
		name string
	}
	var found []stale
	for _, c := range cookies {
		if i, ok := chunkIndex(c.Name, name); ok && i >= keep {
			found = append(found, stale{i, c.Name})
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b stale) int {
		if a.i != b.i {
			return a.i - b.i
		}
		return strings.Compare(a.name, b.name)
	})
	names := make([]string, 0, len(found))
	for i, s := range found {
		if i > 0 && s.name == found[i-1].name {
			continue
		}
		names = append(names, s.name)
	}
	return names
}

// chunkIndex reports whether cookieName is name + "." + a strict decimal
// index, and that index. An index too large for an int is saturated to
// math.MaxInt, so it counts as a chunk beyond any cap.
func chunkIndex(cookieName, name string) (int, bool) {
	if len(cookieName) < len(name)+2 || cookieName[len(name)] != '.' || cookieName[:len(name)] != name {
		return 0, false
	}
	digits := cookieName[len(name)+1:]
	if digits[0] == '0' {
		return 0, len(digits) == 1
	}
	i := 0
	for j := 0; j < len(digits); j++ {
		d := digits[j]
		if d < '0' || d > '9' {
			return 0, false
		}
		if i > (math.MaxInt-int(d-'0'))/10 {
			i = math.MaxInt
		} else if i != math.MaxInt {
			i = i*10 + int(d-'0')
		}
	}
	return i, true
}
