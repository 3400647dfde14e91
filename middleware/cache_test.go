package middleware_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// directives splits a header's field lines into lower-case directives,
// a comma inside quotes kept (no-cache="a, b").
func directives(lines []string) []string {
	var out []string
	for _, l := range lines {
		start, quoted := 0, false
		for i := 0; i <= len(l); i++ {
			if i < len(l) && l[i] == '"' {
				quoted = !quoted
			}
			if i == len(l) || (l[i] == ',' && !quoted) {
				if d := strings.ToLower(strings.TrimSpace(l[start:i])); d != "" {
					out = append(out, d)
				}
				start = i + 1
			}
		}
	}
	return out
}

// dname is a directive's name (before "=" or ";").
func dname(d string) string {
	if i := strings.IndexAny(d, "=;"); i >= 0 {
		return d[:i]
	}
	return d
}

// sharedCacheMayStore reports why a shared cache that reads h could store
// the response, or "": each targeted field a CDN obeys instead of
// Cache-Control (RFC 9213's CDN-Cache-Control and the vendors' own,
// Surrogate-Control, Edge-Control, nginx's X-Accel-Expires) must forbid
// storing, and Cache-Control must say private or no-store without a
// directive granting shared caches anything.
func sharedCacheMayStore(h http.Header) string {
	cc := directives(h.Values("Cache-Control"))
	if !slices.Contains(cc, "private") && !slices.Contains(cc, "no-store") {
		return "Cache-Control " + strings.Join(cc, ", ") + " lacks private/no-store"
	}
	for _, d := range cc {
		if dname(d) == "public" || dname(d) == "s-maxage" {
			return "Cache-Control keeps " + d
		}
	}
	for k, v := range h {
		lk := strings.ToLower(k)
		switch {
		case lk == "cache-control":
		case strings.HasSuffix(lk, "-cache-control"), lk == "surrogate-control":
			ds := directives(v)
			if !slices.Contains(ds, "no-store") && !slices.Contains(ds, "private") {
				return k + ": " + strings.Join(v, ", ") + " lacks no-store"
			}
			for _, d := range ds {
				switch dname(d) {
				case "public", "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error", "immutable":
					return k + " keeps " + d
				}
			}
		case lk == "edge-control":
			if strings.Join(v, ",") != "no-store" {
				return k + ": " + strings.Join(v, ", ")
			}
		case lk == "x-accel-expires":
			if strings.Join(v, ",") != "0" {
				return k + ": " + strings.Join(v, ", ")
			}
		}
	}
	return ""
}

// cacheCases are cache headers a handler may write on a page it
// personalises. raw keys are set as they are (a handler may write any
// spelling; net/http sends it as it is).
var cacheCases = []struct {
	name string
	raw  map[string][]string
	keep []string // "Field: directive" that must survive on a session page
}{
	{"CDN-Cache-Control", map[string][]string{"CDN-Cache-Control": {"max-age=600"}}, nil},
	{"Cloudflare-CDN-Cache-Control", map[string][]string{"Cloudflare-CDN-Cache-Control": {"max-age=600, stale-while-revalidate=60"}}, nil},
	{"Vercel-CDN-Cache-Control", map[string][]string{"Vercel-CDN-Cache-Control": {"s-maxage=600", "stale-if-error=60"}}, nil},
	{"Akamai-Cache-Control", map[string][]string{"Akamai-Cache-Control": {"public, max-age=600, immutable"}}, nil},
	{"lower-case cdn-cache-control", map[string][]string{"cdn-cache-control": {"max-age=600"}}, nil},
	{"Surrogate-Control with ESI", map[string][]string{"Surrogate-Control": {`max-age=600, content="ESI/1.0"`}}, []string{`Surrogate-Control: content="esi/1.0"`}},
	{"Surrogate-Control targeted", map[string][]string{"Surrogate-Control": {"max-age=600;edge1, no-store;other"}}, nil},
	{"Edge-Control", map[string][]string{"Edge-Control": {"!no-store, max-age=600"}}, nil},
	{"X-Accel-Expires", map[string][]string{"X-Accel-Expires": {"600"}}, nil},
	{"Cache-Control public s-maxage", map[string][]string{"Cache-Control": {"public, s-maxage=600"}}, nil},
	{"Cache-Control public max-age", map[string][]string{"Cache-Control": {"public", "max-age=60"}}, []string{"Cache-Control: max-age=60"}},
	{"Cache-Control private with public", map[string][]string{"Cache-Control": {"private, public, s-maxage=600"}}, nil},
	{"Cache-Control qualified private", map[string][]string{"Cache-Control": {`private="Set-Cookie", max-age=600, no-cache="X-A, X-B"`}}, []string{`Cache-Control: no-cache="x-a, x-b"`, "Cache-Control: max-age=600"}},
	{"every field at once", map[string][]string{
		"Cache-Control":                {"public, s-maxage=600"},
		"CDN-Cache-Control":            {"max-age=600"},
		"Cloudflare-CDN-Cache-Control": {"max-age=600"},
		"Surrogate-Control":            {"max-age=600"},
		"Edge-Control":                 {"max-age=600"},
		"X-Accel-Expires":              {"600"},
	}, nil},
}

// Every response that depends on a session is uncacheable by every shared
// cache, whatever cache headers the handler wrote: targeted fields (which
// a CDN obeys instead of Cache-Control) forbid storing, Cache-Control
// grants shared caches nothing. Checked on a read of a session, a write
// and a clear of a bad cookie; a page that looked for a session and found
// none keeps the handler's headers.
func TestSessionPageUncacheableByEveryCache(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	login := do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.Set("user", "alice")
	})), "GET", "/")
	alice := cookiesOf(login)
	bad := []*http.Cookie{{Name: alice[0].Name, Value: alice[0].Value[:20] + "x" + alice[0].Value[21:]}}
	for _, tc := range cacheCases {
		for _, mode := range []string{"read", "write", "bad cookie", "anonymous"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.raw {
						w.Header()[k] = slices.Clone(v)
					}
					s, _ := middleware.From(r)
					if mode == "write" {
						if err := s.Set("k", 1); err != nil {
							t.Error(err)
						}
					} else {
						middleware.Get[string](s, "user")
					}
					w.Write([]byte("page"))
				}))
				var cookies []*http.Cookie
				switch mode {
				case "read":
					cookies = alice
				case "bad cookie":
					cookies = bad
				}
				hdr := do(t, h, "GET", "/", cookies...).Result().Header
				if !slices.ContainsFunc(hdr.Values("Vary"), func(v string) bool { return strings.EqualFold(v, "cookie") }) {
					t.Errorf("Vary = %q", hdr.Values("Vary"))
				}
				if mode == "anonymous" {
					for k, v := range tc.raw {
						if got := hdr[k]; !slices.Equal(got, v) {
							t.Errorf("anonymous page: %s = %q, the handler wrote %q", k, got, v)
						}
					}
					return
				}
				if why := sharedCacheMayStore(hdr); why != "" {
					t.Errorf("a shared cache may store this %s response: %s (header %v)", mode, why, hdr)
				}
				for _, kv := range tc.keep {
					k, d, _ := strings.Cut(kv, ": ")
					if !slices.Contains(directives(hdr.Values(k)), d) {
						t.Errorf("%s lost %q: %q", k, d, hdr.Values(k))
					}
				}
			})
		}
	}
}

// Vary: the handler's fields are kept beside Cookie, on any number of
// lines; "*" and an existing cookie (any case) are not added to.
func TestVaryMerging(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	for _, tc := range []struct {
		vary, want []string
	}{
		{nil, []string{"Cookie"}},
		{[]string{"Accept-Encoding, Origin"}, []string{"Accept-Encoding, Origin", "Cookie"}},
		{[]string{"Accept-Encoding", "Origin"}, []string{"Accept-Encoding", "Origin", "Cookie"}},
		{[]string{"Origin, cookie"}, []string{"Origin, cookie"}},
		{[]string{"*"}, []string{"*"}},
	} {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Vary"] = slices.Clone(tc.vary)
			w.Header().Set("CDN-Cache-Control", "max-age=600")
			s, _ := middleware.From(r)
			s.Set("k", 1)
		}))
		hdr := do(t, h, "GET", "/").Result().Header
		if got := hdr.Values("Vary"); !slices.Equal(got, tc.want) {
			t.Errorf("handler Vary %q: sent %q, want %q", tc.vary, got, tc.want)
		}
		if why := sharedCacheMayStore(hdr); why != "" {
			t.Errorf("handler Vary %q: %s", tc.vary, why)
		}
	}
}

// A session first read after the response started cannot personalise a
// response a shared cache may store: the read fails with
// ErrResponseStarted (and the accessors without an error find no
// session) unless the response as sent keeps every shared cache out
// (Cache-Control private or no-store, no targeted field allowing
// storage). A session touched before the response started may be read
// after it: its Vary and Cache-Control went out.
func TestLateReadOnlyOnPrivateResponse(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	alice := cookiesOf(do(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		s.SetSubject("alice")
		s.Set("user", "alice")
	})), "GET", "/"))
	for _, tc := range []struct {
		name   string
		header map[string]string
		early  bool // touch the session before writing
		ok     bool
	}{
		{"no cache headers", nil, false, false},
		{"public", map[string]string{"Cache-Control": "public, max-age=600"}, false, false},
		{"no-cache", map[string]string{"Cache-Control": "no-cache"}, false, false},
		{"qualified private", map[string]string{"Cache-Control": `private="Set-Cookie"`}, false, false},
		{"private but CDN-Cache-Control", map[string]string{"Cache-Control": "private", "CDN-Cache-Control": "max-age=600"}, false, false},
		{"private but X-Accel-Expires", map[string]string{"Cache-Control": "private", "X-Accel-Expires": "60"}, false, false},
		{"private", map[string]string{"Cache-Control": "private"}, false, true},
		{"no-store", map[string]string{"Cache-Control": "max-age=0, no-store"}, false, true},
		{"private and CDN no-store", map[string]string{"Cache-Control": "private", "CDN-Cache-Control": "no-store"}, false, true},
		{"touched before", nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			var getErr error
			var id string
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				if tc.early {
					s.ID()
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusOK)
				got, _, getErr = middleware.Get[string](s, "user")
				id = s.Subject()
				if err := s.Set("x", 1); !errors.Is(err, middleware.ErrResponseStarted) {
					t.Errorf("Set after the header = %v", err)
				}
			}))
			do(t, h, "GET", "/", alice...)
			if tc.ok {
				if getErr != nil || got != "alice" || id != "alice" {
					t.Fatalf("late read of a private response: %q %q %v", got, id, getErr)
				}
				return
			}
			if !errors.Is(getErr, middleware.ErrResponseStarted) || got != "" || id != "" {
				t.Fatalf("late read of a cacheable response: %q, subject %q, %v; want ErrResponseStarted and no session", got, id, getErr)
			}
		})
	}
}

// The header that decides a late read is the one that went out: a
// Cache-Control private written into the header map after WriteHeader
// is not sent, so it does not let the read through.
func TestLateReadJudgesTheSentHeader(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.Header().Set("Cache-Control", "private")
		s, _ := middleware.From(r)
		if _, _, err := s.Get("user"); !errors.Is(err, middleware.ErrResponseStarted) {
			t.Errorf("late read after a private header added too late = %v", err)
		}
	}))
	do(t, h, "GET", "/")
}
