// Package chunk joins a cookie value that package cookie's Split cut over
// the cookies name.0, name.1, … back together from a request's cookies,
// and names the chunk cookies to expire when a value shrinks. The rule a
// writer follows is in package cookie (see Split).
//
// It lives apart from package cookie because it takes net/http's
// cookies, and a program that only seals and opens values should not
// link net/http.
package chunk

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/chunkname"
)

// Join reassembles a chunked value from the request's cookies: it looks
// for name.0 … name.(n-1), contiguous from 0, and returns the joined value
// and n. No name.0 → ("", 0, [cookie.ErrNoChunks]); chunks of name without
// name.0 are left to [Stale]. A duplicated chunk name, a gap (name.0 and
// name.2 without name.1) or more than maxChunks chunks gives an error
// matching [cookie.ErrInvalid], and a joined value longer than maxLen one matching
// [cookie.ErrTooLarge]; all are checked before any concatenation work. On error the
// value is "" and n is still the number of chunk cookies seen (duplicates
// included); Stale(cookies, name, 0) names them for clearing.
//
// maxChunks < 1 or maxLen < 1 is a caller bug and returns an error that
// matches no sentinel. Cookies whose names are not chunk names of name are
// ignored.
func Join(cookies []*http.Cookie, name string, maxChunks, maxLen int) (value string, n int, err error) {
	if maxChunks < 1 || maxLen < 1 {
		return "", 0, fmt.Errorf("chunk: Join: maxChunks %d and maxLen %d must be positive", maxChunks, maxLen)
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
		return "", 0, cookie.ErrNoChunks
	case tooMany || n > maxChunks:
		return "", n, cookie.Reject(cookie.ReasonMalformed, fmt.Errorf("%w: more than %d chunks of %q", cookie.ErrInvalid, maxChunks, name))
	case maxIdx >= n:
		return "", n, cookie.Reject(cookie.ReasonMalformed, fmt.Errorf("%w: missing chunk of %q", cookie.ErrInvalid, name))
	}
	// Second pass: n chunks, every index below n; each index must come
	// once, and then all of 0 … n-1 are there.
	var stack [cookie.ChunkLimit]*http.Cookie
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
			return "", n, cookie.Reject(cookie.ReasonDuplicate, fmt.Errorf("%w: duplicate chunk of %q", cookie.ErrInvalid, name))
		}
		slots[i] = c
		total += len(c.Value)
	}
	if total > maxLen {
		return "", n, fmt.Errorf("%w: %d-byte chunked value", cookie.ErrTooLarge, total)
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

// Stale returns the names of chunk cookies of name present in
// cookies whose index is >= keep (keep = number of chunks just written; 0
// when the value now fits in the plain cookie), so the caller can expire
// them when a value shrinks. Each name appears once, in index order.
// Indices are parsed strictly (no sign, no leading zeros except "0").
func Stale(cookies []*http.Cookie, name string, keep int) []string {
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

// chunkIndex is [chunkname.Index]: name + "." + a strict decimal index.
func chunkIndex(cookieName, name string) (int, bool) { return chunkname.Index(cookieName, name) }
