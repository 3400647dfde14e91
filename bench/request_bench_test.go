package bench

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// The request benchmark: one GET through each session library's
// middleware to a handler that reads user_id from a valid session and
// writes it, read-only, with no refresh due. The session holds the same
// four values everywhere (user_id, role, login_time, csrf). Every
// implementation runs in the same harness: the request is built once with
// its cookie and copied per iteration (gorilla/sessions writes its
// registry into *r, so reusing one *http.Request would let it skip
// decoding), and the ResponseRecorder is reset, not reallocated.

// reqImpl is one library's handler and a request carrying its cookie.
type reqImpl struct {
	name    string
	handler http.Handler
	req     *http.Request
}

var reqValues = map[string]any{
	"user_id":    int64(123456),
	"role":       "admin",
	"login_time": "2026-11-23T10:00:00Z",
	"csrf":       "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c",
}

// writeUID writes uid as the response body without allocating.
func writeUID(w http.ResponseWriter, uid int64) {
	var buf [20]byte
	w.Write(strconv.AppendInt(buf[:0], uid, 10))
}

// login runs h once on a fresh request and returns a GET request carrying
// the cookies it set (not those it expired).
func login(tb testing.TB, h http.Handler) *http.Request {
	tb.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/login", nil))
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		tb.Fatal("login set no cookie")
	}
	r := httptest.NewRequest("GET", "https://example.com/dashboard", nil)
	for _, c := range cookies {
		if c.MaxAge < 0 {
			continue
		}
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func cookiesealManager(tb testing.TB, opts middleware.Options) *middleware.Manager {
	m, _ := cookiesealManagerKeys(tb, opts)
	return m
}

// cookiesealManagerKeys is cookiesealManager, with its keyring.
func cookiesealManagerKeys(tb testing.TB, opts middleware.Options) (*middleware.Manager, *keyring.Keyring) {
	tb.Helper()
	kr, err := keyring.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	opts.InsecureNoHostPrefix = true // the name the peers use too
	m, err := middleware.New(kr, "session", opts)
	if err != nil {
		tb.Fatal(err)
	}
	return m, kr
}

func requestImpls(tb testing.TB) []reqImpl {
	var impls []reqImpl

	// bare: no session library, the handler writes a constant.
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeUID(w, 123456) })
	impls = append(impls, reqImpl{"bare", bare, httptest.NewRequest("GET", "https://example.com/dashboard", nil)})

	// cookieseal.
	m := cookiesealManager(tb, middleware.Options{})
	csLogin := cookiesealLogin(tb, m, reqValues)
	csRead, csWrite := cookiesealHandlers(m)
	csReq := login(tb, csLogin)
	impls = append(impls, reqImpl{"cookieseal", csRead, csReq})

	// cookieseal-write: the same, and the handler sets a value, so every
	// response re-encodes, seals and sets the cookie.
	impls = append(impls, reqImpl{"cookieseal-write", csWrite, csReq})

	// gorilla/sessions CookieStore (securecookie: HMAC-SHA256 + AES-CTR, gob).
	store, gLogin, fits := gorillaStore("session", reqValues)
	if !fits {
		tb.Fatal("gorilla/sessions: the session does not fit its cookie")
	}
	gRead, _ := gorillaHandlers(store, "session")
	impls = append(impls, reqImpl{"gorilla-sessions", gRead, login(tb, gLogin)})

	// scs with its in-memory store (gob codec); no IdleTimeout, so a
	// read-only request commits nothing.
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0) // no cleanup goroutine
	sLogin := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range reqValues {
			sm.Put(r.Context(), k, v)
		}
	}))
	sRead, _ := scsHandlers(sm)
	impls = append(impls, reqImpl{"scs", sRead, login(tb, sLogin)})
	return impls
}

// resetRecorder readies w for another request without reallocating its
// header map or body buffer.
func resetRecorder(w *httptest.ResponseRecorder) {
	h, body := w.Header(), w.Body
	clear(h)
	body.Reset()
	//lint:ignore SA1019 reusing the map keeps the harness's own allocations out of the figures; Header() reads it back
	*w = httptest.ResponseRecorder{HeaderMap: h, Body: body, Code: http.StatusOK}
}

func BenchmarkRequest(b *testing.B) {
	for _, im := range requestImpls(b) {
		b.Run(im.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			// Check once that the request works and is read-only where it
			// should be.
			rq := *im.req
			im.handler.ServeHTTP(w, &rq)
			if w.Code != http.StatusOK || w.Body.String() != "123456" {
				b.Fatalf("%s: %d %q", im.name, w.Code, w.Body.String())
			}
			if n := len(w.Result().Header.Values("Set-Cookie")); (n != 0) != (im.name == "cookieseal-write") {
				b.Fatalf("%s: %d Set-Cookie lines", im.name, n)
			}
			b.ReportAllocs()
			for b.Loop() {
				resetRecorder(w)
				rq := *im.req
				im.handler.ServeHTTP(w, &rq)
			}
		})
	}
}

// The refresh throttle, measured: one request a second for a simulated
// hour with RefreshAfter = IdleTimeout/4, counting responses that carry a
// Set-Cookie. scs, with its IdleTimeout set, is measured over the same
// number of requests (it reads the real clock, but it commits on every
// response whatever the time, so the clock does not matter).
func TestRefreshFraction(t *testing.T) {
	const requests = 3600
	tests := []struct {
		idle time.Duration
	}{{20 * time.Minute}, {time.Hour}, {24 * time.Hour}}
	for _, tt := range tests {
		t.Run("cookieseal/idle="+tt.idle.String(), func(t *testing.T) {
			var mu sync.Mutex
			now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			m := cookiesealManager(t, middleware.Options{Codec: cookie.Options{Now: clock, IdleTimeout: tt.idle}, RefreshAfter: tt.idle / 4})
			loginH := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				s.Set("user_id", int64(123456))
			}))
			req := login(t, loginH)
			read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				if _, ok, _ := middleware.Get[int64](s, "user_id"); !ok {
					t.Fatal("session lost")
				}
			}))
			withCookie := 0
			for range requests {
				mu.Lock()
				now = now.Add(time.Second)
				mu.Unlock()
				w := httptest.NewRecorder()
				read.ServeHTTP(w, req.Clone(req.Context()))
				if cs := w.Result().Cookies(); len(cs) > 0 {
					withCookie++
					req = httptest.NewRequest("GET", "https://example.com/dashboard", nil)
					req.AddCookie(&http.Cookie{Name: cs[0].Name, Value: cs[0].Value})
				}
			}
			frac := float64(withCookie) / requests
			t.Logf("cookieseal IdleTimeout=%v RefreshAfter=%v: %d of %d responses set a cookie (%.4f%%)", tt.idle, tt.idle/4, withCookie, requests, 100*frac)
			if frac > 0.01 {
				t.Fatalf("%.4f%% of responses set a cookie, want ≤ 1%%", 100*frac)
			}
			if want := int(time.Hour / (tt.idle / 4)); withCookie != want {
				t.Fatalf("%d refreshes in an hour, want %d", withCookie, want)
			}
		})
	}
	t.Run("scs/idle=20m", func(t *testing.T) {
		sm := scs.New()
		sm.Store = memstore.NewWithCleanupInterval(0)
		sm.IdleTimeout = 20 * time.Minute
		req := login(t, sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "user_id", int64(123456))
		})))
		read := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := sm.Get(r.Context(), "user_id").(int64); !ok {
				t.Fatal("session lost")
			}
		}))
		withCookie := 0
		for range requests {
			w := httptest.NewRecorder()
			read.ServeHTTP(w, req.Clone(req.Context()))
			if len(w.Result().Cookies()) > 0 {
				withCookie++
			}
		}
		t.Logf("scs IdleTimeout=20m: %d of %d responses set a cookie (%.2f%%)", withCookie, requests, 100*float64(withCookie)/requests)
		if withCookie != requests {
			t.Fatalf("scs set a cookie on %d of %d responses; the comparison in the report assumes every one", withCookie, requests)
		}
	})
}
