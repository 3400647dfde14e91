package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// headerOpts are the options of the LoadHeader tests: chunking on, so the
// chunk rules are compared too, a revoker, and a known refresh interval.
func headerOpts(clk *clock) middleware.Options {
	return middleware.Options{
		Codec:                  cookie.Options{Now: clk.Now},
		RefreshAfter:           time.Hour,
		MaxChunks:              4,
		MaxResponseCookieBytes: 16 << 10,
		Revoker:                revoke.NewMemory(revoke.MemoryOptions{Now: clk.Now}),
	}
}

// shape is a Set-Cookie line with its value replaced by "<v>" (or kept
// empty for a clearing line): two responses agree on the rules when
// their shapes agree, since sealed values are random.
func shape(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		name, rest, _ := strings.Cut(l, "=")
		value, attrs, _ := strings.Cut(rest, ";")
		if value != "" {
			value = "<v>"
		}
		out[i] = name + "=" + value + ";" + attrs
	}
	return out
}

// cookieLine is the Cookie header a client holding cs sends.
func cookieLine(cs []*http.Cookie) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

// TestLoadHeaderMatchesHandler runs each case through Manager.Handler and
// through LoadHeader + Commit at the same instant, with the same cookies
// and the same change to the session, and requires the same Set-Cookie
// lines (but for the random sealed values), Vary and Cache-Control.
func TestLoadHeaderMatchesHandler(t *testing.T) {
	big := strings.Repeat("x", 6000) // needs chunks once sealed
	type action func(*middleware.Session) error
	read := func(s *middleware.Session) error { _, _, err := s.Get("user"); return err }
	set := func(k, v string) action { return func(s *middleware.Session) error { return s.Set(k, v) } }
	// The sessions here are anonymous: Destroy says a copy of the cookie
	// stays valid (ErrNoSubject), the same way on both paths.
	destroy := func(s *middleware.Session) error {
		if err := s.Destroy(); !errors.Is(err, middleware.ErrNoSubject) {
			return fmt.Errorf("Destroy = %v, want ErrNoSubject", err)
		}
		return nil
	}
	none := func(*middleware.Session) error { return nil }

	cases := []struct {
		name string
		// login is what an earlier request stored (nil: no cookie);
		// prepare changes the cookies or the world before the request.
		login   action
		prepare func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie
		act     action
		wantSet bool // the response carries Set-Cookie lines
	}{
		{name: "no cookie, untouched", act: none},
		{name: "no cookie, read", act: read},
		{name: "no cookie, login", act: set("user", "ann"), wantSet: true},
		{name: "valid, read, no refresh due", login: set("user", "ann"), act: read},
		{name: "valid, untouched", login: set("user", "ann"), act: none},
		{name: "valid, read, refresh due", login: set("user", "ann"), act: read, wantSet: true,
			prepare: func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie {
				clk.Advance(2 * time.Hour)
				return cs
			}},
		{name: "valid, change", login: set("user", "ann"), act: set("role", "admin"), wantSet: true},
		{name: "valid, destroy", login: set("user", "ann"), act: destroy, wantSet: true},
		{name: "tampered, read", login: set("user", "ann"), act: read, wantSet: true,
			prepare: func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie {
				cs[0].Value = cs[0].Value[:len(cs[0].Value)-2] + "AA"
				return cs
			}},
		// An authentic but revoked cookie is left as it is on both paths.
		{name: "revoked subject, read", login: func(s *middleware.Session) error { return s.SetSubject("ann") }, act: read,
			prepare: func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie {
				clk.Advance(time.Millisecond)
				if err := m.RevokeSubject(context.Background(), "ann"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Millisecond)
				return cs
			}},
		{name: "chunked, read", login: set("big", big), act: read},
		{name: "chunked, shrinks", login: set("big", big), act: func(s *middleware.Session) error { return s.Delete("big") }, wantSet: true},
		{name: "chunked, destroy", login: set("big", big), act: destroy, wantSet: true},
		{name: "chunk missing, read", login: set("big", big), act: read, wantSet: true,
			prepare: func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie {
				return slices.DeleteFunc(cs, func(c *http.Cookie) bool { return c.Name == "session.1" })
			}},
		// The user's copy is kept (rule 3), and a jar that keys cookies
		// as RFC 6265 does takes Domain=example.com at Path=/ for it, on
		// the host example.com: nothing else to clear.
		{name: "duplicate copy, read", login: set("user", "ann"), act: read, wantSet: false,
			prepare: func(t *testing.T, m *middleware.Manager, clk *clock, cs []*http.Cookie) []*http.Cookie {
				return append(cs, &http.Cookie{Name: "session", Value: "planted"})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), headerOpts(clk))
			var cs []*http.Cookie
			if tc.login != nil {
				s, err := m.LoadHeader(context.Background(), "example.com")
				if err != nil {
					t.Fatal(err)
				}
				if err := tc.login(s); err != nil {
					t.Fatal(err)
				}
				h, err := s.Commit()
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range (&http.Response{Header: h}).Cookies() {
					if c.MaxAge >= 0 {
						cs = append(cs, &http.Cookie{Name: c.Name, Value: c.Value})
					}
				}
				if len(cs) == 0 {
					t.Fatal("login wrote no cookie")
				}
				clk.Advance(time.Second)
			}
			if tc.prepare != nil {
				cs = tc.prepare(t, m, clk, cs)
			}

			// Through Handler.
			handler := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := middleware.From(r)
				if err == nil {
					err = tc.act(s)
				}
				if err != nil {
					t.Errorf("Handler: %v", err)
				}
				w.Write([]byte("ok"))
			}))
			r := httptest.NewRequest("GET", "/", nil)
			if len(cs) > 0 {
				r.Header.Set("Cookie", cookieLine(cs))
			}
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)

			// Through LoadHeader.
			var lines []string
			if len(cs) > 0 {
				lines = []string{cookieLine(cs)}
			}
			s, err := m.LoadHeader(context.Background(), r.Host, lines...)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.act(s); err != nil {
				t.Fatalf("LoadHeader: %v", err)
			}
			h, err := s.Commit()
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}

			want, got := shape(w.Header().Values("Set-Cookie")), shape(h.Values("Set-Cookie"))
			if !slices.Equal(got, want) {
				t.Fatalf("Set-Cookie:\n got %q\nwant %q", got, want)
			}
			if (len(got) > 0) != tc.wantSet {
				t.Fatalf("%d Set-Cookie lines, want some: %v", len(got), tc.wantSet)
			}
			for _, k := range []string{"Vary", "Cache-Control"} {
				if g, w := h.Values(k), w.Header().Values(k); !slices.Equal(g, w) {
					t.Fatalf("%s = %q, Handler's %q", k, g, w)
				}
			}
		})
	}
}

// TestLoadHeaderLifecycle is login → read → logout with a chunked session
// through header strings only, as a raw serverless handler does it; the
// second read passes the cookies as separate lines (an HTTP API v2
// event's cookies array).
func TestLoadHeaderLifecycle(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), headerOpts(clk))
	ctx := context.Background()
	big := strings.Repeat("y", 7000)

	jar := map[string]string{}
	apply := func(h http.Header) {
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c.Value
			}
		}
	}
	pairs := func() []string {
		var out []string
		for n, v := range jar {
			out = append(out, n+"="+v)
		}
		slices.Sort(out)
		return out
	}

	s, err := m.LoadHeader(ctx, "app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSubject("ann"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("note", big); err != nil {
		t.Fatal(err)
	}
	h, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	apply(h)
	if _, plain := jar["session"]; plain || len(jar) < 2 {
		t.Fatalf("login wrote %d cookies, want chunks: %q", len(jar), slices.Sorted(func(yield func(string) bool) {
			for n := range jar {
				if !yield(n) {
					return
				}
			}
		}))
	}

	clk.Advance(time.Minute)
	s, err = m.LoadHeader(ctx, "app.example.com", pairs()...)
	if err != nil {
		t.Fatal(err)
	}
	note, ok, err := middleware.Get[string](s, "note")
	if err != nil || !ok || note != big || s.Subject() != "ann" {
		t.Fatalf("read: %d bytes, %v, %v, subject %q", len(note), ok, err, s.Subject())
	}
	h, err = s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if lines := h.Values("Set-Cookie"); len(lines) != 0 {
		t.Fatalf("a read with no refresh due wrote %d lines", len(lines))
	}

	s, err = m.LoadHeader(ctx, "app.example.com", strings.Join(pairs(), "; "))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(); err != nil {
		t.Fatal(err)
	}
	h, err = s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	apply(h)
	if len(jar) != 0 {
		t.Fatalf("logout left %q", pairs())
	}
	// A stray chunk opens nothing and is cleared.
	replay, err := m.LoadHeader(ctx, "app.example.com", "session.0=x")
	if err != nil {
		t.Fatal(err)
	}
	if id := replay.ID(); id != "" {
		t.Fatalf("garbage chunk opened session %q", id)
	}
	if _, err := replay.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestLoadHeaderReplayAfterLogout checks the revocation rule: cookies
// kept from before a Destroy open no session afterwards.
func TestLoadHeaderReplayAfterLogout(t *testing.T) {
	clk := newClock()
	var invalid []error
	opts := headerOpts(clk)
	opts.Observer = middleware.ObserverFunc(func(e middleware.Event) {
		if e.Kind != middleware.EventRejected {
			return
		}
		if e.Request.Host != "example.com" {
			t.Errorf("EventRejected request host %q", e.Request.Host)
		}
		invalid = append(invalid, e.Err)
	})
	m := newManager(t, testKeyring(t), opts)
	ctx := context.Background()
	s, _ := m.LoadHeader(ctx, "example.com")
	if err := s.SetSubject("ann"); err != nil { // an anonymous session is not revoked
		t.Fatal(err)
	}
	if err := s.Set("user", "ann"); err != nil {
		t.Fatal(err)
	}
	h, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	kept := strings.Split(h.Get("Set-Cookie"), ";")[0]
	clk.Advance(time.Second)
	s, _ = m.LoadHeader(ctx, "example.com", kept)
	if err := s.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	s, _ = m.LoadHeader(ctx, "example.com", kept)
	if _, ok, _ := s.Get("user"); ok {
		t.Fatal("a cookie replayed after Destroy still opens")
	}
	h, err = s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(invalid) != 1 || !errors.Is(invalid[0], revoke.ErrRevoked) {
		t.Fatalf("rejections %v, want one revoke.ErrRevoked", invalid)
	}
	// The response leaves it as it is: the client may hold a newer one.
	if l := h.Values("Set-Cookie"); len(l) != 0 {
		t.Fatalf("the replayed cookie's response set cookies: %q", l)
	}
}

func TestCommitMisuse(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), headerOpts(clk))
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"twice", func() error {
			s, _ := m.LoadHeader(context.Background(), "")
			if _, err := s.Commit(); err != nil {
				return err
			}
			_, err := s.Commit()
			return err
		}, middleware.ErrDone},
		{"use after commit", func() error {
			s, _ := m.LoadHeader(context.Background(), "")
			s.Commit()
			return s.Set("a", "b")
		}, middleware.ErrDone},
		{"nil session", func() error {
			var s *middleware.Session
			_, err := s.Commit()
			return err
		}, middleware.ErrNoMiddleware},
		{"handler session", func() error {
			var err error
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				_, err = s.Commit()
				if err2 := s.Set("still", "usable"); err2 != nil {
					err = err2
				}
			})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			return err
		}, middleware.ErrHandlerSession},
		{"too large", func() error {
			s, _ := m.LoadHeader(context.Background(), "")
			if err := s.Set("huge", strings.Repeat("z", 40000)); err != nil {
				return err
			}
			h, err := s.Commit()
			if h != nil {
				t.Errorf("headers returned with %v", err)
			}
			return err
		}, cookie.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	//lint:ignore SA1012 the nil context is the case under test
	if _, err := m.LoadHeader(nil, ""); err == nil { //nolint:staticcheck
		t.Fatal("LoadHeader(nil ctx) succeeded")
	}
}
