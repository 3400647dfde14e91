package cookie

import (
	"errors"
	"fmt"
	"strconv"
)

// Chunking: a sealed value larger than one cookie can hold is cut over the
// cookies name.0, name.1, … name.(n-1) and joined back on the next request.
//
// The rule the session manager follows, and any other caller should too:
//
//   - A value of at most size bytes goes in the plain cookie name, and every
//     chunk cookie of name that the request carried is cleared
//     (chunk.Stale(cookies, name, 0), package cookie/chunk).
//   - A longer value is cut with Split and written to ChunkName(name, 0..n-1);
//     the plain cookie name is cleared, and so are the chunk cookies from a
//     longer earlier value (chunk.Stale(cookies, name, n)).
//   - Two responses in flight at once can each write a different number of
//     chunks; if a response cleared only the stale chunks its request
//     carried, a leftover chunk would join into a value the AEAD rejects.
//     So a writer of n chunks (0 for the plain cookie) also expires every
//     index from n to maxChunks-1, whether or not the request carried it, as
//     the session manager does. (An index that no write can reach, because
//     the response's header budget cannot hold that many chunks, needs
//     expiring only when the request carried it; the session manager
//     skips the others.)
//   - On read, chunk.Join is tried first; ErrNoChunks means "read the
//     plain cookie". Any other error means "no session": an attacker or a browser
//     that evicted some cookies can give an incomplete set, and the AEAD
//     rejects whatever a wrong join produces anyway.
//
// Chunk names are name + "." + a decimal index with no sign and no leading
// zeros, so "name.01", "name.+1" and "name.x" are not chunks of name. A cookie
// name that itself ends in "." and digits can collide with another cookie's
// chunks ("a.1" is chunk 1 of "a"); do not chunk a cookie whose name is such
// a chunk name of another.

// DefaultMaxChunks is the number of cookies one session may be spread
// over unless configured otherwise, the one default for every reader and
// writer: the session manager's Options.MaxChunks and the Python peer's
// max_chunks. 1 means no chunking: a value that outgrows one cookie fails
// to seal ([ErrTooLarge]) instead of being written in pieces that a
// default reader refuses. Raise it on every writer and reader alike, up
// to [ChunkLimit].
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
// only behind a proxy tuned for it (docs/proxies-and-caches.md), and tell the
// writer how large a response header the proxy holds (the session
// manager's MaxResponseCookieBytes). Every chunk travels on every request:
// large sessions cost bandwidth on each one.
const DefaultMaxChunks = 1

// ChunkLimit is the most chunks one session may be split over: the
// largest MaxChunks the session manager (and the Python peer) accepts.
// Sixteen chunks of 3800 bytes are about 60 KB of cookies on every
// request, past what any default proxy passes.
const ChunkLimit = 16

// ErrNoChunks reports that the request carries no chunk of the cookie
// (from chunk.Join). It does not match [ErrInvalid].
var ErrNoChunks = errors.New("cookie: no chunks")

// ChunkName returns the name of chunk i of the cookie name: name + "." +
// decimal i.
func ChunkName(name string, i int) string {
	return name + "." + strconv.Itoa(i)
}

// Split cuts a sealed value into pieces of at most size bytes for the
// cookies ChunkName(name, 0..n-1). A value that fits in one piece (the
// empty value included) is returned as one piece. More than maxChunks
// pieces → [ErrTooLarge]. size < 1 or maxChunks < 1 is a caller bug and
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
