// Package chunkname parses the names of a session's chunk cookies
// (name.0, name.1, …), the one rule package cookie/chunk and the
// middleware's Cookie-header scan share.
package chunkname

import "math"

// Index reports whether cookieName is name + "." + a strict decimal
// index (no sign, no leading zero but for "0" itself), and that index.
// An index too large for an int is saturated to math.MaxInt, so it counts
// as a chunk beyond any cap.
func Index(cookieName, name string) (int, bool) {
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
