package middleware_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// Bad cookies: the request goes on with no session, every bad cookie is
// cleared, the Observer hears why (EventRejected, its error carrying the
// typed reason), and nothing answers 500 or panics.
func TestBadCookies(t *testing.T) {
	clk := newClock()
	kr := testKeyring(t)
	opts := middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4}
	codec, err := cookie.New(kr, "session", cookie.Options{Now: clk.Now, MaxValueSize: 4 * cookie.DefaultMaxValueSize})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(c *cookie.Codec, payload string, issued time.Time) string {
		t.Helper()
		v, err := c.Seal([]byte(payload), issued)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	valid := seal(codec, `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":"v"}}`, time.Time{})
	other, err := cookie.New(kr, "other", cookie.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := cookie.New(testKeyring(t), "session", cookie.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pastClock := func() time.Time { return clk.Now().Add(-30 * 24 * time.Hour) }
	old, err := cookie.New(kr, "session", cookie.Options{Now: pastClock})
	if err != nil {
		t.Fatal(err)
	}
	// Another base64url letter in the middle: authentic no more, still
	// well-formed (a flipped bit could leave the alphabet: malformed).
	tampered := []byte(valid)
	if tampered[len(tampered)/2] == 'A' {
		tampered[len(tampered)/2] = 'B'
	} else {
		tampered[len(tampered)/2] = 'A'
	}
	ck := func(name, value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }

	tests := []struct {
		name      string
		cookies   []*http.Cookie
		want      error         // what EventRejected's Err matches
		wantClear []string      // cookies cleared at the configured place
		reason    cookie.Reason // cookie.ReasonOf(Err)
	}{
		{"tampered", []*http.Cookie{ck("session", string(tampered))}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonTampered},
		// Authentic but expired: left as it is (a newer cookie may be on
		// its way from another tab; see renewrace_test.go).
		{"expired", []*http.Cookie{ck("session", seal(old, `{"id":"AAAAAAAAAAAAAAAAAAAAAA"}`, time.Time{}))}, cookie.ErrExpired, nil, cookie.ReasonAbsoluteExpired},
		{"wrong purpose", []*http.Cookie{ck("session", seal(other, `{"id":"AAAAAAAAAAAAAAAAAAAAAA"}`, time.Time{}))}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonTampered},
		{"unknown key", []*http.Cookie{ck("session", seal(foreign, `{"id":"AAAAAAAAAAAAAAAAAAAAAA"}`, time.Time{}))}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonUnknownKey},
		{"garbage", []*http.Cookie{ck("session", "garbage!")}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonMalformed},
		{"empty", []*http.Cookie{ck("session", "")}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonMalformed},
		{"oversized", []*http.Cookie{ck("session", strings.Repeat("A", 3801))}, cookie.ErrTooLarge, []string{"session"}, cookie.ReasonTooLarge},
		{"duplicated, neither opens", []*http.Cookie{ck("session", string(tampered)), ck("session", "garbage!")}, middleware.ErrDuplicateCookie, []string{"session"}, cookie.ReasonDuplicate},
		{"duplicated, identical", []*http.Cookie{ck("session", string(tampered)), ck("session", string(tampered))}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonTampered},
		{"plain and chunks, neither opens", []*http.Cookie{ck("session", string(tampered)), ck("session.0", string(tampered))}, middleware.ErrDuplicateCookie, []string{"session", "session.0"}, cookie.ReasonDuplicate},
		{"chunk gap", []*http.Cookie{ck("session.0", valid[:20]), ck("session.2", valid[20:])}, middleware.ErrDuplicateCookie, []string{"session.0", "session.2"}, cookie.ReasonDuplicate},
		{"duplicate chunk, no set opens", []*http.Cookie{ck("session.0", valid[:19]), ck("session.0", valid[:21]), ck("session.1", valid[20:])}, middleware.ErrDuplicateCookie, []string{"session.0", "session.1"}, cookie.ReasonDuplicate},
		{"too many chunks", []*http.Cookie{ck("session.0", "a"), ck("session.1", "b"), ck("session.2", "c"), ck("session.3", "d"), ck("session.4", "e")}, cookie.ErrInvalid, []string{"session.0", "session.1", "session.2", "session.3", "session.4"}, cookie.ReasonMalformed}, // session.4: past MaxChunks, not a copy, cleared
		{"truncated chunks", []*http.Cookie{ck("session.0", valid[:30])}, cookie.ErrInvalid, []string{"session.0"}, cookie.ReasonMalformed},
		{"not an envelope", []*http.Cookie{ck("session", seal(codec, `[1,2]`, time.Time{}))}, middleware.ErrPayload, []string{"session"}, cookie.ReasonPayload},
		{"envelope without id", []*http.Cookie{ck("session", seal(codec, `{"d":{"k":"v"}}`, time.Time{}))}, cookie.ErrInvalid, []string{"session"}, cookie.ReasonPayload},
		{"id not a string", []*http.Cookie{ck("session", seal(codec, `{"id":7}`, time.Time{}))}, middleware.ErrPayload, []string{"session"}, cookie.ReasonPayload},
		{"bad JSON in data", []*http.Cookie{ck("session", seal(codec, `{"id":"AAAAAAAAAAAAAAAAAAAAAA","d":{"k":tru}}`, time.Time{}))}, middleware.ErrPayload, []string{"session"}, cookie.ReasonPayload},
		{"trailing bytes", []*http.Cookie{ck("session", seal(codec, `{"id":"AAAAAAAAAAAAAAAAAAAAAA"}x`, time.Time{}))}, middleware.ErrPayload, []string{"session"}, cookie.ReasonPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var told []error
			o := opts
			o.Observer = observeKind(middleware.EventRejected, func(err error) { told = append(told, err) })
			m := newManager(t, kr, o)
			w := do(t, m.Handler(app(t)), "GET", "/get?k=k", tt.cookies...)
			if w.Code != http.StatusOK || w.Body.String() != "-" {
				t.Fatalf("status %d, body %q", w.Code, w.Body.String())
			}
			if len(told) != 1 || !errors.Is(told[0], tt.want) {
				t.Fatalf("rejections %v, want %v", told, tt.want)
			}
			if got := cookie.ReasonOf(told[0]); got != tt.reason {
				t.Fatalf("cookie.ReasonOf(%v) = %v, want %v", told[0], got, tt.reason)
			}
			// A cookie that does not authenticate (or copies that
			// disagree) is cleared wherever it can be (it may be a planted
			// piece); an authentic but expired or revoked one is left as
			// it is (see invalid).
			var cleared []string
			for _, c := range w.Result().Cookies() {
				if c.MaxAge != -1 || c.Value != "" {
					t.Fatalf("Set-Cookie %v is not a deletion", c)
				}
				if c.Domain == "" && c.Path == "/" { // duplicates also clear copies at other places: see planted_test.go
					cleared = append(cleared, c.Name)
				}
			}
			slices.Sort(cleared)
			if !slices.Equal(cleared, tt.wantClear) {
				t.Fatalf("cleared %q, want %q", cleared, tt.wantClear)
			}
		})
	}

	// The valid value itself opens, so the cases above fail for their own
	// reason.
	m := newManager(t, kr, opts)
	if w := do(t, m.Handler(app(t)), "GET", "/get?k=k", ck("session", valid)); w.Body.String() != "v" {
		t.Fatalf("valid cookie: %q", w.Body.String())
	}
}

// A bad cookie followed by a login in the same request: the new session
// replaces it and no clearing line contradicts the new cookie.
func TestBadCookieThenSet(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	w := do(t, m.Handler(app(t)), "GET", "/set?k=v", &http.Cookie{Name: "session", Value: "junk"})
	lines := w.Header().Values("Set-Cookie")
	cs := w.Result().Cookies()
	if len(cs) == 0 || cs[len(cs)-1].MaxAge <= 0 {
		t.Fatalf("the new session is not the last line: %q", lines)
	}
	for _, c := range cs[:len(cs)-1] {
		// The junk is cleared at every other place a copy can be, before
		// the new cookie; never where the new cookie goes.
		if c.Name == "session" && c.Domain == "" && c.Path == "/" {
			t.Fatalf("a line contradicts the new cookie: %q", lines)
		}
	}
}

// Quoted cookie values, as some clients send them, are unquoted as
// net/http does.
func TestQuotedCookieValue(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	h := m.Handler(app(t))
	c := setCookies(do(t, h, "GET", "/set?k=v"))["session"]
	r, _ := http.NewRequest("GET", "/get?k=k", nil)
	r.Header.Set("Cookie", `other=1; session="`+c.Value+`"; x=2`)
	w := newRecorder()
	h.ServeHTTP(w, r)
	if w.Body.String() != "v" {
		t.Fatalf("quoted value: %q", w.Body.String())
	}
}

func TestChunkedSession(t *testing.T) {
	clk := newClock()
	var saveErr error
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 3,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			saveErr = err
			http.Error(w, "session too large", http.StatusInternalServerError)
		}})
	h := m.Handler(app(t))
	big := strings.Repeat("0123456789abcdef", 400) // 6400 bytes
	j := jar{}

	// Small first: the plain cookie.
	w := do(t, h, "GET", "/set?k=small")
	j.Update(w)
	if _, ok := j["session"]; !ok || len(j) != 1 {
		t.Fatalf("jar %v", j)
	}
	// Grows past one cookie: chunks, and the plain cookie is cleared.
	w = do(t, h, "GET", "/set?k="+big, j.List()...)
	cs := setCookies(w)
	if cs["session"] == nil || cs["session"].MaxAge != -1 || cs["session.0"] == nil || cs["session.1"] == nil || cs["session.2"] == nil {
		t.Fatalf("growing: %q", w.Header().Values("Set-Cookie"))
	}
	for _, c := range []*http.Cookie{cs["session.0"], cs["session.1"]} {
		if len(c.Value) != 3800 || !c.Secure || !c.HttpOnly || c.MaxAge != 86400 {
			t.Fatalf("chunk %s: %d bytes, %v", c.Name, len(c.Value), c)
		}
	}
	j.Update(w)
	if got := do(t, h, "GET", "/get?k=k", j.List()...).Body.String(); got != big {
		t.Fatalf("joined value: %d bytes", len(got))
	}
	// Shrinks: back to the plain cookie, every chunk cleared.
	w = do(t, h, "GET", "/set?k=small", j.List()...)
	cs = setCookies(w)
	if cs["session"] == nil || cs["session"].MaxAge <= 0 {
		t.Fatalf("shrinking: %q", w.Header().Values("Set-Cookie"))
	}
	for _, n := range []string{"session.0", "session.1"} {
		if cs[n] == nil || cs[n].MaxAge != -1 {
			t.Fatalf("shrinking left %s: %q", n, w.Header().Values("Set-Cookie"))
		}
	}
	j.Update(w)
	if len(j) != 1 {
		t.Fatalf("jar %v", j)
	}
	// Destroy of a chunked session clears every chunk.
	j = jar{}
	j.Update(do(t, h, "GET", "/set?k="+big))
	w = do(t, h, "GET", "/destroy", j.List()...)
	j.Update(w)
	if len(j) != 0 {
		t.Fatalf("after destroy: %q", w.Header().Values("Set-Cookie"))
	}
	// Too large even for three chunks: the ErrorHandler's 500, no cookie.
	w = do(t, h, "GET", "/set?k="+strings.Repeat(big, 2))
	if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 || w.Body.String() != "session too large\n" {
		t.Fatalf("too large: %d %q %q", w.Code, w.Body.String(), w.Header().Values("Set-Cookie"))
	}
	if !errors.Is(saveErr, cookie.ErrTooLarge) {
		t.Fatalf("ErrorHandler told %v", saveErr)
	}
}

// A stray chunk next to a valid plain cookie is a second copy that
// disagrees: no session, and both are cleared, so the next session
// sticks.
func TestStrayChunksCleared(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{MaxChunks: 2})
	h := m.Handler(app(t))
	c := setCookies(do(t, h, "GET", "/set?k=v"))["session"]
	stray := &http.Cookie{Name: "session.1", Value: "zzz"}
	w := do(t, h, "GET", "/get?k=k", c, stray)
	if got := w.Body.String(); got != "-" {
		t.Fatalf("plain with stray chunk: %q", got)
	}
	cs := setCookies(w)
	for _, n := range []string{"session", "session.1"} {
		if cs[n] == nil || cs[n].MaxAge != -1 {
			t.Fatalf("%s not cleared: %q", n, w.Header().Values("Set-Cookie"))
		}
	}
	c = setCookies(do(t, h, "GET", "/set?k=w"))["session"]
	if got := do(t, h, "GET", "/get?k=k", c).Body.String(); got != "w" {
		t.Fatalf("next session: %q", got)
	}
}
