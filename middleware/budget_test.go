package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// noBudget is a MaxResponseCookieBytes that never binds, for tests of the
// per-line limits.
const noBudget = 1 << 20

// blockLen is the Set-Cookie block of h on the HTTP/1.1 wire.
func blockLen(h http.Header) int {
	n := 0
	for _, v := range h.Values("Set-Cookie") {
		n += len("Set-Cookie: ") + len(v) + len("\r\n")
	}
	return n
}

// largestSaved returns the largest n in [0, hi) for which h's /set saves
// a value of n bytes.
func largestSaved(t *testing.T, h http.Handler, hi int) int {
	t.Helper()
	ok := func(n int) bool {
		return do(t, h, "GET", "/set?k="+strings.Repeat("v", n)).Code == http.StatusOK
	}
	lo := 0
	if !ok(lo) || ok(hi) {
		t.Fatalf("bad bounds [%d, %d]", lo, hi)
	}
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// The default budget binds before the per-line limits, in every format:
// the largest session it allows has a Set-Cookie block of at most
// DefaultMaxResponseCookieBytes; one byte more of data is refused with
// cookie.ErrTooLarge, with no Set-Cookie, although it fits a line.
func TestBudgetDefault(t *testing.T) {
	for _, f := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(f.String(), func(t *testing.T) {
			var got error
			// A fixed clock with a millisecond part: JWE writes iat and
			// rat with 1 to 3 decimals, so the header's length (and the
			// largest session that fits) depends on the millisecond.
			clk := newClock()
			clk.Advance(503 * time.Millisecond)
			m := newManager(t, testKeyring(t), captureErrors(middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now}}, &got))
			h := m.Handler(app(t))
			n := largestSaved(t, h, 8<<10)
			w := do(t, h, "GET", "/set?k="+strings.Repeat("v", n))
			if b := blockLen(w.Header()); b > middleware.DefaultMaxResponseCookieBytes || b < middleware.DefaultMaxResponseCookieBytes-8 {
				t.Fatalf("largest session's block %d bytes, budget %d", b, middleware.DefaultMaxResponseCookieBytes)
			}
			got = nil
			w = do(t, h, "GET", "/set?k="+strings.Repeat("v", n+1))
			if w.Code != http.StatusInsufficientStorage || len(w.Header().Values("Set-Cookie")) != 0 || !errors.Is(got, cookie.ErrTooLarge) {
				t.Fatalf("one byte more: %d %q %v", w.Code, w.Header().Values("Set-Cookie"), got)
			}
			unbounded := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now}, MaxResponseCookieBytes: noBudget})
			if w := do(t, unbounded.Handler(app(t)), "GET", "/set?k="+strings.Repeat("v", n+1)); w.Code != http.StatusOK {
				t.Fatalf("the per-line limit refused it too: %d", w.Code)
			}
		})
	}
}

// The budget counts every Set-Cookie line of the response, not only the
// manager's: the handler's own, and another manager's. Refusing removes
// only the lines the refused commit added.
func TestBudgetCountsEveryLine(t *testing.T) {
	const budget = 3072
	own := (&http.Cookie{Name: "csrf", Value: strings.Repeat("c", 1000), Path: "/"}).String()
	tests := []struct {
		name string
		// wrap builds the handler under test around the session manager m.
		wrap     func(t *testing.T, m *middleware.Manager) http.Handler
		wantKept []string // Set-Cookie lines left for the ErrorHandler's response
	}{
		{"handler's own cookie", func(t *testing.T, m *middleware.Manager) http.Handler {
			inner := app(t)
			return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Set-Cookie", own)
				inner.ServeHTTP(w, r)
			}))
		}, []string{own}},
		{"another manager's cookie", func(t *testing.T, m *middleware.Manager) http.Handler {
			other, err := middleware.New(testKeyring(t), "other", middleware.Options{InsecureNoHostPrefix: true, MaxResponseCookieBytes: noBudget})
			if err != nil {
				t.Fatal(err)
			}
			// The inner manager (other) commits first: its line is in the
			// header when m's commit is checked.
			return m.Handler(other.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				o, _ := other.Session(r)
				o.Set("pad", strings.Repeat("o", 700))
				s, _ := m.Session(r)
				s.Set("k", r.URL.Query().Get("k"))
			})))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			m := newManager(t, testKeyring(t), captureErrors(middleware.Options{MaxResponseCookieBytes: budget}, &got))
			alone := largestSaved(t, m.Handler(app(t)), 8<<10)
			h := tt.wrap(t, m)
			with := largestSaved(t, h, 8<<10)
			if with >= alone-500 {
				t.Fatalf("largest session %d with the other line, %d alone", with, alone)
			}
			got = nil
			w := do(t, h, "GET", "/set?k="+strings.Repeat("v", with+1))
			if w.Code != http.StatusInsufficientStorage || !errors.Is(got, cookie.ErrTooLarge) {
				t.Fatalf("%d %v", w.Code, got)
			}
			if tt.wantKept != nil {
				if lines := w.Header().Values("Set-Cookie"); strings.Join(lines, "|") != strings.Join(tt.wantKept, "|") {
					t.Fatalf("lines left: %q", lines)
				}
			}
		})
	}
}

// A response whose commit adds no Set-Cookie is never refused, however
// many cookies the handler sets itself.
func TestBudgetNoLineNoRefusal(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(app(t))
	c := setCookies(do(t, h, "GET", "/set?k=v"))["session"]
	big := (&http.Cookie{Name: "big", Value: strings.Repeat("b", 4000)}).String()
	w := do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", big)
		app(t).ServeHTTP(w, r)
	})), "GET", "/get?k=k", c)
	if w.Code != http.StatusOK || w.Body.String() != "v" || len(w.Header().Values("Set-Cookie")) != 1 {
		t.Fatalf("%d %q %q", w.Code, w.Body.String(), w.Header().Values("Set-Cookie"))
	}
}

// Every way a handler can start its response reaches the check first: the
// ErrorHandler answers, and none of the handler's bytes go out.
func TestBudgetRefusedBeforeAnyByte(t *testing.T) {
	big := strings.Repeat("v", 4000)
	starts := []struct {
		name string
		do   func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("body")) }},
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }},
		{"Flush", func(w http.ResponseWriter) { http.NewResponseController(w).Flush() }},
		{"ReadFrom", func(w http.ResponseWriter) { w.(io.ReaderFrom).ReadFrom(strings.NewReader("body")) }},
		{"handler returns", func(http.ResponseWriter) {}},
	}
	for _, st := range starts {
		t.Run(st.name, func(t *testing.T) {
			var got error
			m := newManager(t, testKeyring(t), captureErrors(middleware.Options{}, &got))
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				s.Set("k", big)
				st.do(w)
				w.Write([]byte("more"))
			}))
			w := do(t, h, "GET", "/")
			if w.Code != http.StatusInsufficientStorage || w.Body.Len() != 0 || len(w.Header().Values("Set-Cookie")) != 0 || !errors.Is(got, cookie.ErrTooLarge) {
				t.Fatalf("%d %q %q %v", w.Code, w.Body.String(), w.Header().Values("Set-Cookie"), got)
			}
		})
	}
}

// New refuses a budget that cannot work, and says which rule it breaks.
func TestNewBudgetRefusals(t *testing.T) {
	kr := testKeyring(t)
	tests := []struct {
		name    string
		opts    middleware.Options
		wantErr string // "" accepts
	}{
		{"negative", middleware.Options{MaxResponseCookieBytes: -1}, "negative MaxResponseCookieBytes"},
		{"too small for an empty session", middleware.Options{MaxResponseCookieBytes: 200}, "smallest session"},
		{"chunking that never chunks", middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 3072}, "two chunks"},
		{"chunking behind the recipe", middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 28 << 10}, ""},
		{"chunking, default budget", middleware.Options{MaxChunks: 16}, ""},
		{"just enough", middleware.Options{MaxResponseCookieBytes: 400}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.InsecureNoHostPrefix = true
			_, err := middleware.New(kr, "session", tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

// With a budget, a write clears only the chunk indices some write within
// the budget can set (and any other the request carried), and still no
// two responses in flight can leave a stale chunk: every index that any
// write sets is cleared by every write that does not set it.
func TestBudgetChunkReach(t *testing.T) {
	const budget = 10 << 10 // two full 3800-byte chunks and part of a third fit, three full ones do not
	var got error
	m := newManager(t, testKeyring(t), captureErrors(middleware.Options{MaxChunks: 16, MaxResponseCookieBytes: budget}, &got))
	h := m.Handler(app(t))
	largest := largestSaved(t, h, 64<<10)
	type write struct {
		set, cleared map[string]bool
	}
	var writes []write
	everSet := map[string]bool{}
	for n := 0; n <= largest; n += max(largest/60, 1) {
		w := do(t, h, "GET", "/set?k="+strings.Repeat("v", n))
		if w.Code != http.StatusOK {
			t.Fatalf("%d bytes: %d", n, w.Code)
		}
		if b := blockLen(w.Header()); b > budget {
			t.Fatalf("%d bytes: block %d over the budget", n, b)
		}
		wr := write{map[string]bool{}, map[string]bool{}}
		for _, c := range w.Result().Cookies() {
			if c.MaxAge > 0 {
				wr.set[c.Name] = true
				everSet[c.Name] = true
			} else {
				wr.cleared[c.Name] = true
			}
		}
		writes = append(writes, wr)
	}
	if len(everSet) != 4 || !everSet["session"] || !everSet["session.0"] || !everSet["session.1"] || !everSet["session.2"] {
		t.Fatalf("writes set %v; want session and chunks 0..2 only under a 10 KB budget", everSet)
	}
	for i, wr := range writes {
		for name := range everSet {
			if !wr.set[name] && !wr.cleared[name] {
				t.Fatalf("write %d neither sets nor clears %s (set %v, cleared %v)", i, name, wr.set, wr.cleared)
			}
		}
		if len(wr.cleared) > 3 {
			t.Fatalf("write %d clears %d names: %v", i, len(wr.cleared), wr.cleared)
		}
	}
	// An index past the reach is still cleared when the request carries
	// it (written under an older, larger budget).
	w := do(t, h, "GET", "/set?k=v", &http.Cookie{Name: "session.9", Value: "old"})
	if c := setCookies(w)["session.9"]; c == nil || c.MaxAge != -1 {
		t.Fatalf("carried session.9 not cleared: %q", w.Header().Values("Set-Cookie"))
	}
	// Destroy clears the same names.
	w = do(t, h, "GET", "/destroy")
	if got := len(w.Header().Values("Set-Cookie")); got != len(everSet) {
		t.Fatalf("destroy sent %d lines: %q", got, w.Header().Values("Set-Cookie"))
	}
}

// A clearing line keeps what selects the cookie (Path, Domain,
// Partitioned) and what a browser checks before accepting it (Secure,
// SameSite), with Max-Age=0 and no Expires.
func TestClearLineShort(t *testing.T) {
	tests := []struct {
		name string
		opts middleware.Options
		want []string
	}{
		{"default", middleware.Options{}, []string{"Path=/", "Max-Age=0", "HttpOnly", "Secure", "SameSite=Lax"}},
		{"configured", middleware.Options{Path: "/app", Domain: "example.com", SameSite: http.SameSiteNoneMode, Partitioned: true},
			[]string{"Path=/app", "Domain=example.com", "Max-Age=0", "Secure", "SameSite=None", "Partitioned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.MaxChunks = 4
			m := newManager(t, testKeyring(t), tt.opts)
			w := do(t, m.Handler(app(t)), "GET", "/destroy")
			lines := w.Header().Values("Set-Cookie")
			if len(lines) != 5 {
				t.Fatalf("%q", lines)
			}
			for _, l := range lines {
				if strings.Contains(l, "Expires") {
					t.Fatalf("%q has Expires", l)
				}
				for _, a := range tt.want {
					if !hasAttr(l, a) {
						t.Fatalf("%q lacks %s", l, a)
					}
				}
			}
		})
	}
}
