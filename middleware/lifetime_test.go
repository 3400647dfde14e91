package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

var lifetimeFormats = []cookie.Format{cookie.Native, cookie.JWE}

const (
	lifeIdle  = time.Hour
	lifeAbs   = 10 * time.Hour
	lifeSkew  = 5 * time.Second
	lifeGuest = 20 * time.Minute
)

// lifeApp serves the lifetime tests:
//
//	/guest      stores a value and a deadline lifeGuest from now
//	/far        a deadline far past the manager's
//	/remember?p=1|0  SetRememberMe
//	/touch      reads the value ("-" without a session) and reports the
//	            session's Status, Deadline and IdleDeadline in headers
func lifeApp(t *testing.T, clk *clock) http.Handler {
	mux := http.NewServeMux()
	sess := func(r *http.Request) *middleware.Session {
		s, err := middleware.From(r)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mux.HandleFunc("/guest", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if err := s.Set("k", "v"); err != nil {
			t.Error(err)
		}
		if err := s.SetDeadline(clk.Now().Add(lifeGuest)); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/far", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).SetDeadline(clk.Now().Add(100 * lifeAbs)); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/remember", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if err := s.Set("k", "v"); err != nil {
			t.Error(err)
		}
		if err := s.SetRememberMe(r.URL.Query().Get("p") == "1"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/touch", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		v, ok, _ := middleware.Get[string](s, "k")
		if !ok {
			v = "-"
		}
		w.Header().Set("X-Status", s.Status().String())
		w.Header().Set("X-Deadline", stamp(s.Deadline()))
		w.Header().Set("X-Idle", stamp(s.IdleDeadline()))
		w.Write([]byte(v))
	})
	return mux
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func lifeManager(t *testing.T, clk *clock, f cookie.Format, browser bool) http.Handler {
	m := newManager(t, testKeyring(t), middleware.Options{
		Codec:          cookie.Options{Format: f, Now: clk.Now, IdleTimeout: lifeIdle, AbsoluteTimeout: lifeAbs, ClockSkew: lifeSkew},
		BrowserSession: browser,
	})
	return m.Handler(lifeApp(t, clk))
}

// TestSessionDeadlineBoundary: a session with its own deadline opens at
// deadline + ClockSkew exactly and not one millisecond later, in both
// formats, whether or not a refresh rewrote the cookie in between.
func TestSessionDeadlineBoundary(t *testing.T) {
	for _, f := range lifetimeFormats {
		for _, refresh := range []bool{false, true} {
			for _, tc := range []struct {
				name string
				past time.Duration // after deadline + skew
				want string
			}{
				{"at deadline+skew", 0, "v"},
				{"1ms past", time.Millisecond, "-"},
			} {
				t.Run(f.String()+"/refresh="+strconv.FormatBool(refresh)+"/"+tc.name, func(t *testing.T) {
					clk := newClock()
					h := lifeManager(t, clk, f, false)
					j := jar{}
					w := do(t, h, "GET", "/guest")
					j.Update(w)
					dl := clk.Now().Add(lifeGuest)
					if c := setCookies(w)["session"]; c == nil || c.MaxAge != int(lifeGuest/time.Second) {
						t.Fatalf("guest cookie %v: want Max-Age %d (the session's own deadline)", c, int(lifeGuest/time.Second))
					}
					if refresh {
						clk.Advance(lifeGuest - time.Minute) // past RefreshAfter (15m)
						w := do(t, h, "GET", "/touch", j.List()...)
						if got := w.Header().Get("X-Status"); got != "refreshed" {
							t.Fatalf("status %q, want refreshed", got)
						}
						if c := setCookies(w)["session"]; c == nil || c.MaxAge != 60 {
							t.Fatalf("refreshed cookie %v: want Max-Age 60", c)
						}
						j.Update(w)
					}
					clk.Advance(dl.Add(lifeSkew + tc.past).Sub(clk.Now()))
					w = do(t, h, "GET", "/touch", j.List()...)
					if got := w.Body.String(); got != tc.want {
						t.Fatalf("read %q, want %q", got, tc.want)
					}
					if tc.want == "-" {
						// Left as it is: a newer cookie may be on its way.
						if c := setCookies(w)["session"]; c != nil {
							t.Fatalf("expired session's response set %v", c)
						}
					}
				})
			}
		}
	}
}

// TestSessionDeadlineCapped: a deadline past the manager's is lowered to
// issued-at + AbsoluteTimeout; the accessors report both deadlines.
func TestSessionDeadlineCapped(t *testing.T) {
	for _, f := range lifetimeFormats {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			h := lifeManager(t, clk, f, false)
			j := jar{}
			issued := clk.Now()
			j.Update(do(t, h, "GET", "/far"))
			clk.Advance(time.Minute)
			w := do(t, h, "GET", "/touch", j.List()...)
			if got, want := w.Header().Get("X-Deadline"), stamp(issued.Add(lifeAbs)); got != want {
				t.Errorf("Deadline %s, want %s", got, want)
			}
			if got, want := w.Header().Get("X-Idle"), stamp(issued.Add(lifeIdle)); got != want {
				t.Errorf("IdleDeadline %s, want %s (unrefreshed)", got, want)
			}
			if got := w.Header().Get("X-Status"); got != "unmodified" {
				t.Errorf("Status %s, want unmodified", got)
			}
			clk.Advance(issued.Add(lifeAbs + lifeSkew + time.Millisecond).Sub(clk.Now()))
			// Keep the session alive past idle on the way is not needed:
			// the manager's absolute rule alone would end it here, and
			// the idle one too; check the opened deadline is not later.
			if w := do(t, h, "GET", "/touch", j.List()...); w.Body.String() != "-" {
				t.Errorf("opened past the manager's absolute deadline")
			}
		})
	}
}

// TestSessionDeadlineAccessors: Deadline and IdleDeadline at known times,
// for no session, a fresh one and one that this response refreshes.
func TestSessionDeadlineAccessors(t *testing.T) {
	for _, f := range lifetimeFormats {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			h := lifeManager(t, clk, f, false)
			w := do(t, h, "GET", "/touch")
			if w.Header().Get("X-Deadline") != "zero" || w.Header().Get("X-Idle") != "zero" || w.Header().Get("X-Status") != "unmodified" {
				t.Fatalf("no session: %v", w.Header())
			}
			j := jar{}
			t0 := clk.Now()
			j.Update(do(t, h, "GET", "/guest"))
			clk.Advance(16 * time.Minute) // refresh due, deadline at 20m
			w = do(t, h, "GET", "/touch", j.List()...)
			if got, want := w.Header().Get("X-Deadline"), stamp(t0.Add(lifeGuest)); got != want {
				t.Errorf("Deadline %s, want %s", got, want)
			}
			if got, want := w.Header().Get("X-Idle"), stamp(t0.Add(lifeGuest)); got != want {
				t.Errorf("IdleDeadline %s, want %s (capped by Deadline)", got, want)
			}
		})
	}
}

// TestRememberMe: each session picks its cookie kind, under either
// manager default, in both formats, and keeps it across a refresh.
func TestRememberMe(t *testing.T) {
	for _, f := range lifetimeFormats {
		for _, browser := range []bool{false, true} {
			for _, p := range []bool{false, true} {
				t.Run(f.String()+"/BrowserSession="+strconv.FormatBool(browser)+"/remember="+strconv.FormatBool(p), func(t *testing.T) {
					clk := newClock()
					h := lifeManager(t, clk, f, browser)
					q := "0"
					if p {
						q = "1"
					}
					check := func(w *httptest.ResponseRecorder, wantAge int) {
						t.Helper()
						line := ""
						for _, l := range w.Header().Values("Set-Cookie") {
							if strings.HasPrefix(l, "session=") {
								line = l
							}
						}
						if line == "" {
							t.Fatalf("no session cookie written: %v", w.Header())
						}
						hasAge := strings.Contains(line, "Max-Age=")
						hasExp := strings.Contains(line, "Expires=")
						if hasAge != p || hasExp != p {
							t.Fatalf("remember=%v: line %q", p, line)
						}
						if p && !strings.Contains(line, "Max-Age="+strconv.Itoa(wantAge)+";") && !strings.HasSuffix(line, "Max-Age="+strconv.Itoa(wantAge)) {
							t.Fatalf("line %q: want Max-Age=%d", line, wantAge)
						}
					}
					j := jar{}
					w := do(t, h, "GET", "/remember?p="+q)
					check(w, int(lifeIdle/time.Second))
					j.Update(w)
					clk.Advance(20 * time.Minute)
					w = do(t, h, "GET", "/touch", j.List()...)
					if w.Body.String() != "v" || w.Header().Get("X-Status") != "refreshed" {
						t.Fatalf("touch: %q %v", w.Body.String(), w.Header().Get("X-Status"))
					}
					check(w, int(lifeIdle/time.Second))
				})
			}
		}
	}
}

// TestStatusMatchesResponse: what Status says the response will do is
// what it does.
func TestStatusMatchesResponse(t *testing.T) {
	clk := newClock()
	var got middleware.SaveStatus
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: lifeIdle, AbsoluteTimeout: lifeAbs}})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		switch r.URL.Path {
		case "/set":
			s.Set("k", "v")
		case "/destroy":
			s.Destroy()
		case "/remember-same":
			s.SetRememberMe(true)
		}
		got = s.Status()
		w.Write([]byte("ok"))
	}))
	j := jar{}
	first := do(t, h, "GET", "/set")
	j.Update(first)
	for _, tc := range []struct {
		name    string
		path    string
		advance time.Duration
		cookies []*http.Cookie
		want    middleware.SaveStatus
	}{
		{"no cookie", "/touch", 0, nil, middleware.Unmodified},
		{"new value", "/set", 0, nil, middleware.Modified},
		{"fresh cookie", "/touch", 0, j.List(), middleware.Unmodified},
		{"remember-me set", "/remember-same", 0, j.List(), middleware.Modified},
		{"refresh due", "/touch", 20 * time.Minute, j.List(), middleware.Refreshed},
		{"destroy", "/destroy", 0, j.List(), middleware.Cleared},
		{"bad cookie", "/touch", 0, []*http.Cookie{{Name: "session", Value: "garbage"}}, middleware.Cleared},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			w := do(t, h, "GET", tc.path, tc.cookies...)
			if got != tc.want {
				t.Fatalf("Status %v, want %v", got, tc.want)
			}
			c := setCookies(w)["session"]
			switch tc.want {
			case middleware.Unmodified:
				if c != nil {
					t.Fatalf("Unmodified, yet the response set %v", c)
				}
			case middleware.Cleared:
				if c == nil || c.MaxAge >= 0 {
					t.Fatalf("Cleared, yet the response set %v", c)
				}
			default:
				if c == nil || c.MaxAge <= 0 {
					t.Fatalf("%v, yet the response set %v", tc.want, c)
				}
			}
		})
	}
}

// TestLifetimeEnvelope: the members are sealed in the payload, old
// envelopes without them open, malformed or case-folded ones do not.
func TestLifetimeEnvelope(t *testing.T) {
	for _, f := range lifetimeFormats {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			kr := testKeyring(t)
			m := newManager(t, kr, middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now, IdleTimeout: lifeIdle, AbsoluteTimeout: lifeAbs, ClockSkew: lifeSkew}})
			h := m.Handler(lifeApp(t, clk))
			sealer, err := cookie.New(kr, "session", cookie.Options{IdleTimeout: lifeIdle, AbsoluteTimeout: lifeAbs, ClockSkew: lifeSkew, Now: clk.Now, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			w := do(t, h, "GET", "/guest")
			payload, _, err := sealer.Open(setCookies(w)["session"].Value)
			if err != nil {
				t.Fatal(err)
			}
			wantDL := `"dl":` + strconv.FormatInt(clk.Now().Add(lifeGuest).UnixMilli(), 10)
			if !strings.Contains(string(payload), wantDL) {
				t.Fatalf("payload %s lacks %s", payload, wantDL)
			}
			for _, tc := range []struct {
				name, payload, want string
			}{
				{"old envelope", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"}}`, "v"},
				{"with both", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":` + strconv.FormatInt(clk.Now().Add(time.Minute).UnixMilli(), 10) + `,"p":false}`, "v"},
				{"past deadline", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":` + strconv.FormatInt(clk.Now().Add(-lifeSkew-time.Millisecond).UnixMilli(), 10) + `}`, "-"},
				{"dl a string", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":"9999999999999"}`, "-"},
				{"dl a fraction", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":9999999999999.5}`, "-"},
				{"dl zero", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":0}`, "-"},
				{"dl twice", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"dl":9999999999999,"dl":9999999999999}`, "-"},
				{"DL folded", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"DL":1}`, "-"},
				{"p a string", `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"},"p":"true"}`, "-"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					v, err := sealer.Seal([]byte(tc.payload), time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					w := do(t, h, "GET", "/touch", &http.Cookie{Name: "session", Value: v})
					if got := w.Body.String(); got != tc.want {
						t.Fatalf("read %q, want %q", got, tc.want)
					}
				})
			}
		})
	}
}

// TestSetDeadlineRefusesPast: a deadline not after now is a caller error.
func TestSetDeadlineRefusesPast(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		for _, d := range []time.Duration{0, -time.Second} {
			if err := s.SetDeadline(clk.Now().Add(d)); !errors.Is(err, middleware.ErrValue) {
				t.Errorf("SetDeadline(now%+v): %v, want ErrValue", d, err)
			}
		}
		if s.ID() != "" || s.Status() != middleware.Unmodified {
			t.Errorf("a refused deadline started a session")
		}
	}))
	do(t, h, "GET", "/")
}

// TestLifetimeAcrossRenewAndDestroy: Renew keeps the session's own
// deadline and cookie kind; Destroy drops them with the session, so the
// next session starts with the manager's.
func TestLifetimeAcrossRenewAndDestroy(t *testing.T) {
	for _, f := range lifetimeFormats {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now, IdleTimeout: lifeIdle, AbsoluteTimeout: lifeAbs, ClockSkew: lifeSkew}})
			var deadline time.Time
			var remember bool
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				switch r.URL.Path {
				case "/guest":
					s.Set("k", "v")
					s.SetDeadline(clk.Now().Add(lifeGuest))
					s.SetRememberMe(false)
				case "/renew":
					s.Renew()
				case "/destroy-and-start":
					s.Destroy()
					s.Set("k", "v")
				}
				deadline, remember = s.Deadline(), s.RememberMe()
			}))
			j := jar{}
			t0 := clk.Now()
			j.Update(do(t, h, "GET", "/guest"))
			clk.Advance(time.Minute)
			w := do(t, h, "GET", "/renew", j.List()...)
			if !deadline.Equal(t0.Add(lifeGuest)) || remember {
				t.Fatalf("after Renew: deadline %v remember %v, want %v false", deadline, remember, t0.Add(lifeGuest))
			}
			if c := setCookies(w)["session"]; c == nil || c.MaxAge != 0 || strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age") {
				t.Fatalf("renewed cookie %v: want a browser-session cookie", w.Header().Values("Set-Cookie"))
			}
			j.Update(w)
			do(t, h, "GET", "/destroy-and-start", j.List()...)
			if !deadline.Equal(clk.Now().Add(lifeAbs)) || !remember {
				t.Fatalf("after Destroy: deadline %v remember %v, want the manager's", deadline, remember)
			}
		})
	}
}
