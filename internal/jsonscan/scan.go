package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
)

// ErrSyntax is the scanner's one error: the input is not JSON. Callers wrap
// it with what they were reading.
var ErrSyntax = errors.New("malformed JSON")

// MaxDepth bounds the nesting of arrays and objects SkipValue follows, so
// a hostile input cannot exhaust the stack.
const MaxDepth = 256

// Trailing reports ErrSyntax unless only white space follows b[i:end].
func Trailing(b []byte, i, end int) error {
	if SkipWS(b, i) != end {
		return ErrSyntax
	}
	return nil
}

// SkipWS returns the index of the first byte at or after i that is not
// JSON white space.
func SkipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipString returns the index after the JSON string starting at
// b[i] == '"' and ending before end, checking its escapes; ErrSyntax when
// it is not a valid string.
func SkipString(b []byte, i, end int) (int, error) {
	long := false
	for i++; i < end; {
		i, long = plainEnd(b, i, end, long)
		if i >= end {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= end {
				return 0, ErrSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > end {
					return 0, ErrSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, ErrSyntax
					}
				}
				i += 6
			default:
				return 0, ErrSyntax
			}
		default: // a control character
			return 0, ErrSyntax
		}
	}
	return 0, ErrSyntax
}

// plainEnd returns the index of the first byte of b[i:end] that does not
// stand for itself inside a JSON string ('"', '\\' or a control
// character), or end. It is the one string scanner of the package:
// SkipString and the Plan's decoder both run on it.
//
// Keys and most values end within a few words, which the run below takes
// eight bytes at a time. A string still plain after 32 bytes is likely
// long (a blob): once per string, its closing
// quote is found with bytes.IndexByte (vectorized) and the run before it
// checked at once. long tells whether that ran for this string already;
// plainEnd returns it updated.
func plainEnd(b []byte, i, end int, long bool) (int, bool) {
	for n := 0; i+8 <= end; n++ {
		x := binary.LittleEndian.Uint64(b[i:])
		if hasLess(x, 0x20)|hasByte(x, '"')|hasByte(x, '\\') != 0 {
			break
		}
		i += 8
		if n == 3 && !long {
			long = true
			if q := bytes.IndexByte(b[i:end], '"'); q >= 0 && plainRun(b[i:i+q]) {
				return i + q, long
			}
		}
	}
	for i < end && plainStringByte[b[i]] == 1 {
		i++
	}
	return i, long
}

// plainRun reports whether s holds no '\\' and no control character
// (below 0x20): every byte stands for itself in a JSON string. 32 bytes
// at a time, branch-free: in each byte of acc, the top bit ends up set
// when the byte of s is below 0x20 (x - 0x20 borrows into it, and x does
// not have it); a borrow that crosses into the next byte only follows a
// byte already caught.
func plainRun(s []byte) bool {
	if bytes.IndexByte(s, '\\') >= 0 {
		return false
	}
	var acc uint64
	i := 0
	for ; i+32 <= len(s); i += 32 {
		b := s[i : i+32 : i+32]
		x, y := binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16])
		z, w := binary.LittleEndian.Uint64(b[16:24]), binary.LittleEndian.Uint64(b[24:32])
		acc |= (x-swarLo*0x20)&^x | (y-swarLo*0x20)&^y | (z-swarLo*0x20)&^z | (w-swarLo*0x20)&^w
	}
	for _, c := range s[i:] {
		if c < 0x20 {
			return false
		}
	}
	return acc&swarHi == 0
}

// plainStringByte is 1 at the bytes that stand for themselves inside a
// JSON string: not '"', not '\', not a control character. A string
// constant, so nothing can change it.
const plainStringByte = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// SkipValue returns the index after the JSON value starting at b[i] and
// ending before end, checking its structure; ErrSyntax when it is not one
// value, or nests deeper than MaxDepth counting from depth.
func SkipValue(b []byte, i, end, depth int) (int, error) {
	if i >= end {
		return 0, ErrSyntax
	}
	if depth > MaxDepth {
		return 0, ErrSyntax
	}
	switch c := b[i]; {
	case c == '"':
		return SkipString(b, i, end)
	case c == '{':
		i = SkipWS(b, i+1)
		if i < end && b[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= end || b[i] != '"' {
				return 0, ErrSyntax
			}
			ke, err := SkipString(b, i, end)
			if err != nil {
				return 0, err
			}
			i = SkipWS(b, ke)
			if i >= end || b[i] != ':' {
				return 0, ErrSyntax
			}
			ve, err := SkipValue(b, SkipWS(b, i+1), end, depth+1)
			if err != nil {
				return 0, err
			}
			i = SkipWS(b, ve)
			if i >= end {
				return 0, ErrSyntax
			}
			if b[i] == '}' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrSyntax
			}
			i = SkipWS(b, i+1)
		}
	case c == '[':
		i = SkipWS(b, i+1)
		if i < end && b[i] == ']' {
			return i + 1, nil
		}
		for {
			ve, err := SkipValue(b, i, end, depth+1)
			if err != nil {
				return 0, err
			}
			i = SkipWS(b, ve)
			if i >= end {
				return 0, ErrSyntax
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, ErrSyntax
			}
			i = SkipWS(b, i+1)
		}
	case c == 't':
		return literal(b, i, end, "true")
	case c == 'f':
		return literal(b, i, end, "false")
	case c == 'n':
		return literal(b, i, end, "null")
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(b, i, end)
	}
	return 0, ErrSyntax
}

// literal returns the index after lit at b[i].
func literal(b []byte, i, end int, lit string) (int, error) {
	if end-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// skipNumber follows JSON's number grammar.
func skipNumber(b []byte, i, end int) (int, error) {
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < end && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < end && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return 0, ErrSyntax
	}
	if i < end && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0, ErrSyntax
		}
	}
	if i < end && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < end && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, ErrSyntax
		}
	}
	return i, nil
}

// Word-at-a-time byte tests: each is non-zero exactly when some byte of x
// matches.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// hasLess: some byte of x is below n (n <= 128).
func hasLess(x uint64, n byte) uint64 { return (x - swarLo*uint64(n)) & ^x & swarHi }

// hasByte: some byte of x is c.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (swarLo * uint64(c))
	return (y - swarLo) & ^y & swarHi
}

// ParseInt parses all of b as a JSON integer (no fraction or exponent)
// that fits a signed integer of bits bits (1 to 64).
func ParseInt(b []byte, bits int) (int64, bool) {
	n, next, ok := scanInt(b, 0, true, uint(bits))
	if !ok || next != len(b) {
		return 0, false
	}
	return int64(n), true
}

// scanInt parses a JSON integer (-?(0|[1-9][0-9]*)) at p[i] for an
// integer of bits bits, signed or not, and returns its bit pattern (sign
// extended) and the index after it. It reports false for anything else,
// including a value that does not fit (encoding/json refuses those) and
// "-" for unsigned integers (strconv.ParseUint, which encoding/json uses,
// refuses even "-0"). It is the one integer parser of the package:
// ParseInt and the Plan's decoder both run on it.
func scanInt(p []byte, i int, signed bool, bits uint) (uint64, int, bool) {
	neg := false
	if i < len(p) && p[i] == '-' {
		if !signed {
			return 0, i, false
		}
		neg = true
		i++
	}
	if i == len(p) || p[i] < '0' || p[i] > '9' {
		return 0, i, false
	}
	var n uint64
	if p[i] == '0' {
		i++
	} else {
		// Up to 19 digits cannot overflow a uint64; a 20th is checked.
		start := i
		for ; i < len(p) && p[i]-'0' <= 9; i++ {
			if i-start == 19 {
				d := uint64(p[i] - '0')
				if i+1 < len(p) && p[i+1]-'0' <= 9 || n > (math.MaxUint64-d)/10 {
					return 0, i, false
				}
			}
			n = n*10 + uint64(p[i]-'0')
		}
	}
	if signed {
		limit := uint64(1) << (bits - 1) // |MinIntN|
		if neg && n > limit || !neg && n >= limit {
			return 0, i, false
		}
		if neg {
			n = -n
		}
		return n, i, true
	}
	if bits < 64 && n >= uint64(1)<<bits {
		return 0, i, false
	}
	return n, i, true
}
