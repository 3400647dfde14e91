package middleware_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

func TestCookieAttributesDefault(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	w := do(t, m.Handler(app(t)), "GET", "/set?k=v")
	lines := w.Result().Header.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie: %q", lines)
	}
	line := lines[0]
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=86400"} {
		if !hasAttr(line, attr) {
			t.Errorf("Set-Cookie %q lacks %s", line, attr)
		}
	}
	if hasAttr(line, "Partitioned") || strings.Contains(line, "Domain=") {
		t.Errorf("Set-Cookie %q has unexpected attributes", line)
	}
	if want := "Expires=" + clk.Now().Add(24*time.Hour).UTC().Format(http.TimeFormat); !strings.Contains(line, want) {
		t.Errorf("Set-Cookie %q lacks %s", line, want)
	}
	if got := w.Header().Get("Vary"); got != "Cookie" {
		t.Errorf("Vary = %q", got)
	}
	if got := w.Header().Get("Cache-Control"); got != `no-cache="Set-Cookie", private` {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestCookieAttributesConfigured(t *testing.T) {
	m, err := middleware.New(testKeyring(t), "__Secure-sid", middleware.Options{InsecureNoHostPrefix: true,
		Path: "/app", Domain: "example.com", SameSite: http.SameSiteNoneMode, Partitioned: true, BrowserSession: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("a", 1)
	}))
	line := do(t, h, "GET", "/app/").Result().Header.Get("Set-Cookie")
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=None", "Path=/app", "Domain=example.com", "Partitioned"} {
		if !hasAttr(line, attr) {
			t.Errorf("Set-Cookie %q lacks %s", line, attr)
		}
	}
	if strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Errorf("browser-session cookie %q has a lifetime", line)
	}
}

func TestInsecureOptionsDropAttributes(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{InsecureAllowHTTP: true, InsecureNoHTTPOnly: true, SameSite: http.SameSiteStrictMode})
	line := do(t, m.Handler(app(t)), "GET", "/set?k=v").Result().Header.Get("Set-Cookie")
	if hasAttr(line, "Secure") || hasAttr(line, "HttpOnly") || !hasAttr(line, "SameSite=Strict") {
		t.Fatalf("Set-Cookie %q", line)
	}
}

// The handler's own Cache-Control is kept, with the Set-Cookie exclusion
// added; Vary is not duplicated.
func TestCacheHeadersMerge(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	tests := []struct {
		name, cc, vary string
		wantCC         string
		wantVary       []string
	}{
		{"none", "", "", `no-cache="Set-Cookie", private`, []string{"Cookie"}},
		{"public dropped", "public, max-age=60", "Accept-Encoding", `max-age=60, no-cache="Set-Cookie", private`, []string{"Accept-Encoding", "Cookie"}},
		{"no-store kept", "no-store", "cookie", "no-store", []string{"cookie"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.cc != "" {
					w.Header().Set("Cache-Control", tt.cc)
				}
				if tt.vary != "" {
					w.Header().Set("Vary", tt.vary)
				}
				s, _ := middleware.From(r)
				s.Set("a", 1)
				w.Write([]byte("x"))
			}))
			w := do(t, h, "GET", "/")
			if got := w.Header().Get("Cache-Control"); got != tt.wantCC {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCC)
			}
			if got := w.Header().Values("Vary"); strings.Join(got, "|") != strings.Join(tt.wantVary, "|") {
				t.Errorf("Vary = %q, want %q", got, tt.wantVary)
			}
		})
	}
}

func TestRoundTripTypedAndDynamic(t *testing.T) {
	type profile struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
		Meta  any      `json:"meta"`
	}
	const big = int64(1<<62 + 1) // not exact as a float64
	m := newManager(t, testKeyring(t), middleware.Options{})
	set := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		for k, v := range map[string]any{
			"user_id": big, "name": "Zoë \"q\" <b>", "ok": true, "n": 7,
			"profile": profile{Name: "a", Roles: []string{"x", "y"}, Meta: big},
			"nothing": nil,
		} {
			if err := s.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}))
	c := setCookies(do(t, set, "GET", "/"))["session"]
	if c == nil {
		t.Fatal("no cookie")
	}
	get := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if v, ok, err := middleware.Get[int64](s, "user_id"); err != nil || !ok || v != big {
			t.Errorf("user_id = %d, %v, %v", v, ok, err)
		}
		if v, ok, err := middleware.Get[string](s, "name"); err != nil || !ok || v != "Zoë \"q\" <b>" {
			t.Errorf("name = %q, %v, %v", v, ok, err)
		}
		if v, ok, err := middleware.Get[bool](s, "ok"); err != nil || !ok || !v {
			t.Errorf("ok = %v, %v, %v", v, ok, err)
		}
		if v, ok, err := middleware.Get[int](s, "n"); err != nil || !ok || v != 7 {
			t.Errorf("n = %v, %v, %v", v, ok, err)
		}
		p, ok, err := middleware.Get[profile](s, "profile")
		if err != nil || !ok || p.Name != "a" || len(p.Roles) != 2 || p.Meta != json.Number(strconv.FormatInt(big, 10)) {
			t.Errorf("profile = %#v, %v, %v", p, ok, err)
		}
		if v, ok, err := middleware.Get[*string](s, "nothing"); err != nil || !ok || v != nil {
			t.Errorf("nothing = %v, %v, %v", v, ok, err)
		}
		if _, ok, err := middleware.Get[string](s, "absent"); err != nil || ok {
			t.Errorf("absent: %v, %v", ok, err)
		}
		if _, _, err := middleware.Get[int](s, "name"); !errors.Is(err, middleware.ErrType) {
			t.Errorf("string as int: %v", err)
		}
		if _, _, err := middleware.Get[int8](s, "user_id"); !errors.Is(err, middleware.ErrType) {
			t.Errorf("int64 as int8: %v", err)
		}
		v, ok, err := s.Get("user_id")
		if err != nil || !ok || v != json.Number(strconv.FormatInt(big, 10)) {
			t.Errorf("dynamic user_id = %#v", v)
		}
		vals, err := s.Values()
		if err != nil || len(vals) != 6 || vals["name"] != "Zoë \"q\" <b>" || vals["ok"] != true {
			t.Errorf("Values = %v, %v", vals, err)
		}
		if keys := s.Keys(); strings.Join(keys, ",") != "n,name,nothing,ok,profile,user_id" {
			t.Errorf("Keys = %q", keys)
		}
		w.Write([]byte("ok"))
	}))
	w := do(t, get, "GET", "/", c)
	if len(w.Result().Cookies()) != 0 {
		t.Fatalf("a read-only request set %q", w.Header().Values("Set-Cookie"))
	}
}

func TestSetRefusesUnencodable(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Set("c", make(chan int)); !errors.Is(err, middleware.ErrValue) {
			t.Errorf("Set(chan) = %v", err)
		}
		if err := s.AddFlash(func() {}); !errors.Is(err, middleware.ErrValue) {
			t.Errorf("AddFlash(func) = %v", err)
		}
	}))
	if w := do(t, h, "GET", "/"); len(w.Result().Cookies()) != 0 {
		t.Fatal("a failed Set wrote a cookie")
	}
}

func TestDeleteAndClear(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := app(t)
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/del", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Delete(r.URL.Query().Get("k"))
	})
	mux.HandleFunc("/clear", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		id := s.ID()
		s.Clear()
		if s.ID() != id {
			t.Errorf("Clear changed the id")
		}
	})
	hh := m.Handler(mux)
	j := jar{}
	j.Update(do(t, hh, "GET", "/set?a=1&b=2&c=3"))
	j.Update(do(t, hh, "GET", "/del?k=b", j.List()...))
	for k, want := range map[string]string{"a": "1", "b": "-", "c": "3"} {
		if got := do(t, hh, "GET", "/get?k="+k, j.List()...).Body.String(); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Deleting an absent key changes nothing, so writes nothing.
	if w := do(t, hh, "GET", "/del?k=zz", j.List()...); len(w.Result().Cookies()) != 0 {
		t.Error("deleting an absent key wrote a cookie")
	}
	j.Update(do(t, hh, "GET", "/clear", j.List()...))
	if got := do(t, hh, "GET", "/get?k=a", j.List()...).Body.String(); got != "-" {
		t.Errorf("after Clear a = %q", got)
	}
}

func TestFlashesPopOnce(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		switch r.URL.Path {
		case "/add":
			s.AddFlash("Saved.")
			s.AddFlash("Again.")
		case "/pop":
			f, err := middleware.PopFlashes[string](s)
			if err != nil {
				t.Error(err)
			}
			w.Write([]byte(strings.Join(f, "|")))
		case "/bad":
			if _, err := middleware.PopFlashes[int](s); !errors.Is(err, middleware.ErrType) {
				t.Errorf("PopFlashes[int] = %v", err)
			}
			f, _ := s.Flashes()
			w.Write([]byte(strconv.Itoa(len(f))))
		}
	}))
	j := jar{}
	j.Update(do(t, h, "GET", "/add"))
	w := do(t, h, "GET", "/pop", j.List()...)
	if w.Body.String() != "Saved.|Again." {
		t.Fatalf("first pop = %q", w.Body.String())
	}
	j.Update(w)
	if w := do(t, h, "GET", "/pop", j.List()...); w.Body.String() != "" || len(w.Result().Cookies()) != 0 {
		t.Fatalf("second pop = %q, cookies %v", w.Body.String(), w.Result().Cookies())
	}
	j.Update(do(t, h, "GET", "/add", j.List()...))
	if w := do(t, h, "GET", "/bad", j.List()...); w.Body.String() != "2" {
		t.Fatalf("after a failed typed pop the dynamic pop got %q", w.Body.String())
	}
}

func TestSubjectAndIssuedAt(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/login" {
			if s.ID() != "" || s.Subject() != "" || !s.IssuedAt().IsZero() {
				t.Errorf("empty session: %q %q %v", s.ID(), s.Subject(), s.IssuedAt())
			}
			s.SetSubject("user-42")
		}
		w.Write([]byte(s.Subject() + " " + s.IssuedAt().UTC().Format(time.RFC3339Nano)))
	}))
	j := jar{}
	w := do(t, h, "GET", "/login")
	j.Update(w)
	want := "user-42 " + clk.Now().Format(time.RFC3339Nano)
	if w.Body.String() != want {
		t.Fatalf("login: %q, want %q", w.Body.String(), want)
	}
	clk.Advance(time.Hour)
	if got := do(t, h, "GET", "/", j.List()...).Body.String(); got != want {
		t.Fatalf("later: %q, want %q", got, want)
	}
}

func TestRenewKeepsDataChangesID(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?cart=3"))
	id1 := do(t, h, "GET", "/id", j.List()...).Body.String()
	clk.Advance(time.Minute)
	w := do(t, h, "GET", "/renew", j.List()...)
	id2 := w.Body.String()
	if id1 == "" || id2 == "" || id1 == id2 || len(id2) != 22 {
		t.Fatalf("ids %q → %q", id1, id2)
	}
	if len(w.Result().Cookies()) != 1 {
		t.Fatal("Renew wrote no cookie")
	}
	j.Update(w)
	if got := do(t, h, "GET", "/id", j.List()...).Body.String(); got != id2 {
		t.Fatalf("id after renew %q, want %q", got, id2)
	}
	if got := do(t, h, "GET", "/get?k=cart", j.List()...).Body.String(); got != "3" {
		t.Fatalf("cart after renew %q", got)
	}
}

func TestDestroyClearsCookie(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	w := do(t, h, "GET", "/destroy", j.List()...)
	c := setCookies(w)["session"]
	if c == nil || c.MaxAge != -1 || c.Value != "" || !c.Secure || !c.HttpOnly || c.Path != "/" {
		t.Fatalf("Destroy set %v", c)
	}
	j.Update(w)
	if len(j) != 0 {
		t.Fatalf("jar after destroy: %v", j)
	}
}

// Destroy then Set starts a new session with a new id in the same request.
func TestDestroyThenSetStartsNewSession(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(app(t))
	j := jar{}
	j.Update(do(t, h, "GET", "/set?k=v"))
	old := do(t, h, "GET", "/id", j.List()...).Body.String()
	hh := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Destroy()
		if s.ID() != "" {
			t.Error("id after Destroy")
		}
		s.Set("fresh", "1")
	}))
	j.Update(do(t, hh, "GET", "/", j.List()...))
	if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != "-" {
		t.Fatalf("old data survived: %q", got)
	}
	if got := do(t, h, "GET", "/id", j.List()...).Body.String(); got == old || got == "" {
		t.Fatalf("id %q (old %q)", got, old)
	}
}

func TestNoMiddleware(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	s, err := middleware.From(r)
	if !errors.Is(err, middleware.ErrNoMiddleware) || s != nil {
		t.Fatalf("From = %v, %v", s, err)
	}
	// A nil session, as a caller that ignored the error holds, never panics.
	if _, _, err := middleware.Get[int](s, "a"); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatalf("Get on nil = %v", err)
	}
	if err := s.Set("a", 1); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatalf("Set on nil = %v", err)
	}
	if s.ID() != "" || s.Subject() != "" || s.Keys() != nil {
		t.Fatal("nil session has content")
	}
	if _, err := middleware.PopFlashes[string](s); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatalf("PopFlashes on nil = %v", err)
	}
	if err := s.Renew(); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatal(err)
	}
	if err := s.Destroy(); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatal(err)
	}
	m := newManager(t, testKeyring(t), middleware.Options{})
	if _, err := m.Session(r); !errors.Is(err, middleware.ErrNoMiddleware) {
		t.Fatalf("Manager.Session = %v", err)
	}
}

// Two managers (two cookies) on one handler: Manager.Session picks each.
func TestTwoManagers(t *testing.T) {
	kr := testKeyring(t)
	a, err := middleware.New(kr, "a", middleware.Options{InsecureNoHostPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := middleware.New(kr, "b", middleware.Options{InsecureNoHostPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sa, err := a.Session(r)
		if err != nil {
			t.Fatal(err)
		}
		sb, _ := b.Session(r)
		inner, _ := middleware.From(r)
		if sa == sb || inner != sb {
			t.Error("sessions mixed up")
		}
		sa.Set("x", "A")
		sb.Set("x", "B")
	})))
	cs := setCookies(do(t, h, "GET", "/"))
	if cs["a"] == nil || cs["b"] == nil {
		t.Fatalf("cookies %v", cs)
	}
}

func TestSessionAfterHandlerReturns(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	var kept *middleware.Session
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept, _ = middleware.From(r)
		kept.Set("a", 1)
	}))
	do(t, h, "GET", "/")
	// The next request reuses pooled state; the old handle must not see it.
	do(t, h, "GET", "/")
	if err := kept.Set("a", 2); !errors.Is(err, middleware.ErrDone) {
		t.Fatalf("Set after return = %v", err)
	}
	if _, _, err := middleware.Get[int](kept, "a"); !errors.Is(err, middleware.ErrDone) {
		t.Fatalf("Get after return = %v", err)
	}
	if kept.ID() != "" {
		t.Fatal("ID after return")
	}
}

func TestChangeAfterResponseStarted(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("before", 1)
		w.Write([]byte("body"))
		if err := s.Set("after", 2); !errors.Is(err, middleware.ErrResponseStarted) {
			t.Errorf("Set after Write = %v", err)
		}
		if err := s.Renew(); !errors.Is(err, middleware.ErrResponseStarted) {
			t.Errorf("Renew after Write = %v", err)
		}
		if v, ok, _ := middleware.Get[int](s, "before"); !ok || v != 1 {
			t.Errorf("read after Write: %v %v", v, ok)
		}
	}))
	if w := do(t, h, "GET", "/"); len(w.Result().Cookies()) != 1 {
		t.Fatalf("cookies %v", w.Result().Cookies())
	}
}

// A request that never touches the session costs no cookie work: even a
// garbage cookie is left alone, and nothing is written.
func TestLazyOpen(t *testing.T) {
	var invalid int
	m := newManager(t, testKeyring(t), middleware.Options{Observer: observeKind(middleware.EventRejected, func(error) { invalid++ })})
	h := m.Handler(app(t))
	w := do(t, h, "GET", "/none", &http.Cookie{Name: "session", Value: "garbage"})
	if len(w.Result().Cookies()) != 0 || invalid != 0 || w.Header().Get("Vary") != "" {
		t.Fatalf("untouched request: cookies %v, rejections %d, Vary %q", w.Result().Cookies(), invalid, w.Header().Get("Vary"))
	}
	w = do(t, h, "GET", "/touch", &http.Cookie{Name: "session", Value: "garbage"})
	if c := setCookies(w)["session"]; c == nil || c.MaxAge != -1 || invalid != 1 {
		t.Fatalf("touched request: cookie %v, rejections %d", c, invalid)
	}
}

// Several goroutines of one request share its session.
func TestSessionConcurrentInOneRequest(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s.Set("k"+strconv.Itoa(i), i)
				middleware.Get[int](s, "k0")
				s.ID()
				s.Keys()
			})
		}
		wg.Wait()
		if n := len(s.Keys()); n != 16 {
			t.Errorf("%d keys", n)
		}
	}))
	j := jar{}
	j.Update(do(t, h, "GET", "/"))
	if len(j) != 1 {
		t.Fatal("no cookie")
	}
}

// A handler that looked at the session varies by Cookie even when it
// writes no cookie; one that did not, does not.
func TestVaryCookieOnRead(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(app(t))
	c := setCookies(do(t, h, "GET", "/set?k=v"))["session"]
	tests := []struct {
		name, path string
		cookies    []*http.Cookie
		want, cc   string
	}{
		{"read with session", "/get?k=k", []*http.Cookie{c}, "Cookie", "private"},
		{"read without session", "/get?k=k", nil, "Cookie", ""},
		{"untouched", "/none", []*http.Cookie{c}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, "GET", tt.path, tt.cookies...)
			if got := strings.Join(w.Header().Values("Vary"), ","); got != tt.want {
				t.Fatalf("Vary %q, want %q", got, tt.want)
			}
			if len(w.Result().Cookies()) != 0 || w.Header().Get("Cache-Control") != tt.cc {
				t.Fatalf("cookie headers on a read: %v", w.Header())
			}
		})
	}
}
