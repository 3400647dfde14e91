package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// lineLimit is the most a Set-Cookie line may hold (the foundation
// issue's rule), name, value and attributes together.
const lineLimit = 4096

// setCookieLines returns the response's Set-Cookie lines by cookie name.
func setCookieLines(w *httptest.ResponseRecorder) map[string]string {
	out := map[string]string{}
	for _, l := range w.Header().Values("Set-Cookie") {
		name, _, _ := strings.Cut(l, "=")
		out[name] = l
	}
	return out
}

// chunkCount is the number of chunk cookies a response sets (not clears).
func chunkCount(w *httptest.ResponseRecorder) int {
	n := 0
	for _, c := range w.Result().Cookies() {
		if strings.HasPrefix(c.Name, "session.") && c.MaxAge > 0 {
			n++
		}
	}
	return n
}

// Two responses in flight at once with different chunk counts: whichever
// lands last, the jar must hold one consistent session. Before the fix, a
// response cleared only the chunks its own request carried, so a chunk
// (or plain cookie) set by the other response survived and the next
// request had no session.
func TestConcurrentWritesLeaveNoStaleChunk(t *testing.T) {
	const maxChunks = 4
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: maxChunks})
	h := m.Handler(app(t))
	// Sealed values grow by 4/3 of the payload; these give 3 and 2 chunks
	// of the default 3800 bytes (checked below, not assumed).
	three := strings.Repeat("3", 8000)
	two := strings.Repeat("2", 4000)

	type step struct {
		name        string
		start       string // the session both requests carry: "small", "two" or "three"
		first, last string // what each response stores; the last one lands last
	}
	values := map[string]string{"small": "s", "two": two, "three": three}
	for _, tc := range []step{
		{"three chunks then two", "small", "three", "two"},
		{"two chunks then three", "small", "two", "three"},
		{"chunks then plain", "small", "three", "small"},
		{"plain then chunks, request carried chunks", "two", "small", "three"},
		{"plain then chunks, request carried plain", "small", "small", "three"},
		{"three chunks then two, request carried two", "two", "three", "two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := jar{}
			j.Update(do(t, h, "GET", "/set?k="+values[tc.start]))
			carried := j.List()
			a := do(t, h, "GET", "/set?k="+values[tc.first], carried...)
			b := do(t, h, "GET", "/set?k="+values[tc.last], carried...)
			for _, w := range []*httptest.ResponseRecorder{a, b} {
				if w.Code != http.StatusOK {
					t.Fatalf("set: %d %q", w.Code, w.Body.String())
				}
			}
			chunks := map[string]int{"small": 0, "two": 2, "three": 3}
			if chunkCount(a) != chunks[tc.first] || chunkCount(b) != chunks[tc.last] {
				t.Fatalf("%d and %d chunks set, want %d and %d", chunkCount(a), chunkCount(b), chunks[tc.first], chunks[tc.last])
			}
			j.Update(a)
			j.Update(b)
			if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != values[tc.last] {
				t.Fatalf("after both responses: %d-byte value, want %d bytes; jar %v", len(got), len(values[tc.last]), names(j))
			}
		})
	}
}

func names(j jar) []string {
	var out []string
	for n := range j {
		out = append(out, n)
	}
	return out
}

// With chunking, every write expires each cookie name it does not use,
// carried or not; without, a write adds no extra Set-Cookie line.
func TestWriteExpiresUnusedNames(t *testing.T) {
	clk := newClock()
	t.Run("chunking plain", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4})
		w := do(t, m.Handler(app(t)), "GET", "/set?k=v")
		lines := w.Header().Values("Set-Cookie")
		cs := setCookies(w)
		if len(lines) != 5 || cs["session"].MaxAge <= 0 {
			t.Fatalf("%q", lines)
		}
		for i := range 4 {
			if c := cs[cookie.ChunkName("session", i)]; c == nil || c.MaxAge != -1 {
				t.Fatalf("chunk %d not expired: %q", i, lines)
			}
		}
	})
	t.Run("chunking chunked", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4})
		w := do(t, m.Handler(app(t)), "GET", "/set?k="+strings.Repeat("x", 4000))
		cs := setCookies(w)
		if chunkCount(w) != 2 || len(w.Header().Values("Set-Cookie")) != 5 ||
			cs["session"].MaxAge != -1 || cs["session.2"].MaxAge != -1 || cs["session.3"].MaxAge != -1 {
			t.Fatalf("%q", w.Header().Values("Set-Cookie"))
		}
	})
	t.Run("no chunking", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
		h := m.Handler(app(t))
		w := do(t, h, "GET", "/set?k=v")
		if lines := w.Header().Values("Set-Cookie"); len(lines) != 1 {
			t.Fatalf("%q", lines)
		}
		w = do(t, h, "GET", "/destroy", setCookies(w)["session"])
		if lines := w.Header().Values("Set-Cookie"); len(lines) != 1 || setCookies(w)["session"].MaxAge != -1 {
			t.Fatalf("destroy: %q", lines)
		}
		if w := do(t, h, "GET", "/destroy"); len(w.Header().Values("Set-Cookie")) != 0 {
			t.Fatalf("destroy without a cookie: %q", w.Header().Values("Set-Cookie"))
		}
	})
	t.Run("chunking destroy", func(t *testing.T) {
		m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4})
		h := m.Handler(app(t))
		plain := setCookies(do(t, h, "GET", "/set?k=v"))["session"]
		for _, carried := range [][]*http.Cookie{nil, {plain}, {plain, {Name: "session.7", Value: "x"}}} {
			w := do(t, h, "GET", "/destroy", carried...)
			cs := setCookies(w)
			// session.7, past MaxChunks, is not a copy, but it is
			// cleared too (within the clearing budget).
			want := []string{"session", "session.0", "session.1", "session.2", "session.3"}
			if len(carried) == 2 {
				want = append(want, "session.7")
			}
			if len(cs) != len(want) {
				t.Fatalf("carried %v: %q", carried, w.Header().Values("Set-Cookie"))
			}
			for _, n := range want {
				if cs[n] == nil || cs[n].MaxAge != -1 {
					t.Fatalf("carried %v: %s not expired: %q", carried, n, w.Header().Values("Set-Cookie"))
				}
			}
		}
	})
}

// sealedLen returns the length of the sealed value that stores a value of
// n bytes under "k" (as app's /set does) with the default format, over
// every chunk; it does not depend on the cookie's attributes.
func sealedLen(t *testing.T, n int) int {
	t.Helper()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{MaxValueSize: cookie.DefaultMaxValueSize}, MaxChunks: 4})
	w := do(t, m.Handler(app(t)), "GET", "/set?k="+strings.Repeat("v", n))
	total := 0
	for _, c := range w.Result().Cookies() {
		if c.MaxAge > 0 {
			total += len(c.Value) // the plain cookie, or every chunk
		}
	}
	if total == 0 {
		t.Fatalf("sealedLen(%d): %d", n, w.Code)
	}
	return total
}

// attrLen is the length of a Set-Cookie line for name with an empty value
// and opts' attributes, as net/http writes it, with the Max-Age that a
// new session gets (IdleTimeout, the default 24h).
func attrLen(name string, opts middleware.Options) int {
	return attrLenAge(name, opts, int(keyring.DefaultIdleTimeout/time.Second))
}

// attrLenAge is attrLen with the given Max-Age.
func attrLenAge(name string, opts middleware.Options, maxAge int) int {
	c := http.Cookie{Name: name, Path: opts.Path, Domain: opts.Domain, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if c.Path == "" {
		c.Path = "/"
	}
	if !opts.BrowserSession {
		c.MaxAge = maxAge
		c.Expires = time.Unix(0, 0) // fixed width
	}
	return len(c.String())
}

// longDomain is a valid 253-byte domain name.
var longDomain = strings.Repeat(strings.Repeat("d", 62)+".", 3) + strings.Repeat("e", 60) + ".com"

// captureErrors returns options whose ErrorHandler records the error and
// answers 507.
func captureErrors(opts middleware.Options, got *error) middleware.Options {
	opts.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		*got = err
		w.WriteHeader(http.StatusInsufficientStorage)
	}
	return opts
}

// A value within MaxValueSize whose line, with a long Domain, passes 4096
// bytes fails to save like any oversized session: cookie.ErrTooLarge to
// the ErrorHandler, no cookie.
func TestLongDomainLineTooLarge(t *testing.T) {
	if len(longDomain) != 253 {
		t.Fatalf("domain is %d bytes", len(longDomain))
	}
	clk := newClock()
	opts := middleware.Options{Codec: cookie.Options{Now: clk.Now}, Domain: longDomain, MaxResponseCookieBytes: noBudget}
	attrs := attrLen("session", opts)
	// The largest stored value whose sealed value is within MaxValueSize:
	// that value fits the default budget, but not the line with this
	// Domain.
	lo, hi := 0, cookie.DefaultMaxValueSize
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if sealedLen(t, mid) <= cookie.DefaultMaxValueSize {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	n, sealed := lo, sealedLen(t, lo)
	if sealed > cookie.DefaultMaxValueSize || attrs+sealed <= lineLimit {
		t.Fatalf("bad setup: %d-byte sealed value, %d-byte attributes", sealed, attrs)
	}
	value := strings.Repeat("v", n)

	// Without the Domain, it saves.
	plain := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxResponseCookieBytes: noBudget})
	if w := do(t, plain.Handler(app(t)), "GET", "/set?k="+value); w.Code != http.StatusOK || len(setCookies(w)["session"].Value) != sealed {
		t.Fatalf("no Domain: %d", w.Code)
	}
	var got error
	m := newManager(t, testKeyring(t), captureErrors(opts, &got))
	w := do(t, m.Handler(app(t)), "GET", "/set?k="+value)
	if w.Code != http.StatusInsufficientStorage || len(w.Header().Values("Set-Cookie")) != 0 || w.Body.Len() != 0 {
		t.Fatalf("%d %q %q", w.Code, w.Body.String(), w.Header().Values("Set-Cookie"))
	}
	if !errors.Is(got, cookie.ErrTooLarge) {
		t.Fatalf("ErrorHandler told %v", got)
	}
}

// A line of exactly 4096 bytes is written; one byte more (a longer Path)
// is refused. The value's length is set by the stored data, which moves
// the sealed length in base64 steps that miss one residue mod 4; the
// Path, one byte at a time, closes the rest of the gap.
func TestLineLimitBoundary(t *testing.T) {
	clk := newClock()
	sealed := sealedLen(t, 2000)
	for _, browserSession := range []bool{false, true} {
		t.Run(fmt.Sprintf("BrowserSession=%v", browserSession), func(t *testing.T) {
			base := middleware.Options{Codec: cookie.Options{Now: clk.Now}, BrowserSession: browserSession, MaxResponseCookieBytes: noBudget}
			// Path "/" + pad: the line grows by exactly len(pad).
			pad := lineLimit - sealed - attrLen("session", base)
			if pad < 1 {
				t.Fatalf("bad setup: pad %d", pad)
			}
			for _, extra := range []int{0, 1} {
				opts := base
				opts.Path = "/" + strings.Repeat("p", pad+extra)
				want := attrLen("session", opts) + sealed
				if want != lineLimit+extra {
					t.Fatalf("derivation: %d-byte line", want)
				}
				var got error
				m := newManager(t, testKeyring(t), captureErrors(opts, &got))
				w := do(t, m.Handler(app(t)), "GET", "/set?k="+strings.Repeat("v", 2000))
				lines := w.Header().Values("Set-Cookie")
				switch extra {
				case 0:
					if w.Code != http.StatusOK || len(lines) != 1 || len(lines[0]) != lineLimit || got != nil {
						t.Fatalf("%d-byte line refused: %d %v", want, w.Code, got)
					}
				default:
					if w.Code != http.StatusInsufficientStorage || len(lines) != 0 || !errors.Is(got, cookie.ErrTooLarge) {
						t.Fatalf("%d-byte line: %d %q %v", want, w.Code, lines, got)
					}
				}
			}
		})
	}
}

// With a long Domain, chunks are cut so that each chunk's whole line fits
// in 4096 bytes; the room is that of the longest chunk name, so a
// MaxChunks of two digits costs every chunk a byte.
func TestChunkSizeRespectsLine(t *testing.T) {
	clk := newClock()
	big := strings.Repeat("0123456789abcdef", 600) // 9600 bytes
	for _, tc := range []struct {
		maxChunks int
		slack     int // bytes the first chunk's line falls short of the limit
	}{
		{4, 0},  // "session.0" is as long as "session.3"
		{12, 1}, // "session.11" is one byte longer than "session.0"
	} {
		t.Run(fmt.Sprint(tc.maxChunks), func(t *testing.T) {
			opts := middleware.Options{Codec: cookie.Options{Now: clk.Now}, Domain: longDomain, MaxChunks: tc.maxChunks}
			room := lineLimit - attrLen(cookie.ChunkName("session", tc.maxChunks-1), opts)
			if room >= cookie.DefaultMaxValueSize {
				t.Fatalf("bad setup: room %d", room)
			}
			m := newManager(t, testKeyring(t), opts)
			h := m.Handler(app(t))
			w := do(t, h, "GET", "/set?k="+big)
			n := chunkCount(w)
			if w.Code != http.StatusOK || n < 3 {
				t.Fatalf("%d, %d chunks", w.Code, n)
			}
			lines := setCookieLines(w)
			for i := range n {
				l := lines[cookie.ChunkName("session", i)]
				if len(l) > lineLimit {
					t.Fatalf("chunk %d: %d-byte line", i, len(l))
				}
				if i < n-1 && len(l) != lineLimit-tc.slack {
					t.Fatalf("chunk %d: %d-byte line, want %d", i, len(l), lineLimit-tc.slack)
				}
			}
			j := jar{}
			j.Update(w)
			if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != big {
				t.Fatalf("joined: %d bytes", len(got))
			}
		})
	}
}

// New refuses attributes that leave a 4096-byte line no room for even an
// empty session, and says so. New cannot know a session's Max-Age, so it
// counts the largest, AbsoluteTimeout (the default 7 days).
func TestNewRefusesAttributesTooLong(t *testing.T) {
	kr := testKeyring(t)
	// An empty session: a flash added and read in the same request
	// leaves a session with an id and nothing else.
	m := newManager(t, kr, middleware.Options{})
	empty := setCookies(do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := m.Session(r)
		s.AddFlash(0)
		s.Flashes()
	})), "GET", "/"))["session"]
	if empty == nil {
		t.Fatal("no cookie")
	}
	minimal := len(empty.Value)
	attrs := attrLenAge("session", middleware.Options{}, int(keyring.DefaultAbsoluteTimeout/time.Second))
	// Path "/" + pad: the line grows by exactly len(pad).
	pad := lineLimit - attrs - minimal
	fits := "/" + strings.Repeat("p", pad)
	if _, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Path: fits, MaxResponseCookieBytes: noBudget}); err != nil {
		t.Fatalf("%d-byte Path refused: %v", len(fits), err)
	}
	long := fits + "p"
	_, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Path: long, MaxResponseCookieBytes: noBudget})
	if err == nil || !strings.Contains(err.Error(), "Set-Cookie line") {
		t.Fatalf("%d-byte Path: %v", len(long), err)
	}
	t.Log(err)
}
