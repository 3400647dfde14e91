package sessiontest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// seen is what a handler behind the manager saw of its session.
type seen struct {
	subject, id string
	issuedAt    time.Time
	values      map[string]any
}

// serve runs r through m.Handler and returns what the handler saw.
func serve(t *testing.T, m *middleware.Manager, r *http.Request) (seen, *httptest.ResponseRecorder) {
	t.Helper()
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r)
		if err != nil {
			t.Errorf("Session: %v", err)
			return
		}
		values, err := s.Values()
		if err != nil {
			t.Errorf("Values: %v", err)
		}
		got = seen{subject: s.Subject(), id: s.ID(), issuedAt: s.IssuedAt(), values: values}
	})
	w := httptest.NewRecorder()
	m.Handler(h).ServeHTTP(w, r)
	return got, w
}

func TestNewRequest(t *testing.T) {
	clk := sessiontest.NewClock()
	m := sessiontest.NewManager(t, middleware.Options{Codec: cookie.Options{Now: clk.Now}})
	tests := []struct {
		name, subject string
		cookies       int
	}{
		{"logged in", "user-42", 1},
		{"anonymous", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sessiontest.NewRequest(t, m, "POST", "/account", tt.subject)
			if r.Method != "POST" || r.URL.Path != "/account" {
				t.Fatalf("request %s %s", r.Method, r.URL)
			}
			if n := len(r.CookiesNamed(m.Name())); n != tt.cookies {
				t.Fatalf("%d cookies named %q; want %d", n, m.Name(), tt.cookies)
			}
			got, _ := serve(t, m, r)
			if got.subject != tt.subject {
				t.Fatalf("handler saw subject %q; want %q", got.subject, tt.subject)
			}
			if tt.subject != "" && !got.issuedAt.Equal(clk.Now()) {
				t.Fatalf("issued at %v; want the manager's clock, %v", got.issuedAt, clk.Now())
			}
		})
	}
}

// TestNewManagerFreshKeys: each manager has keys of its own, so a cookie
// of one does not open in another.
func TestNewManagerFreshKeys(t *testing.T) {
	a := sessiontest.NewManager(t, middleware.Options{})
	b := sessiontest.NewManager(t, middleware.Options{})
	r := sessiontest.NewRequest(t, a, "GET", "/", "user-42")
	if got, _ := serve(t, b, r); got.subject != "" {
		t.Fatalf("another manager opened the cookie as %q", got.subject)
	}
	if got, _ := serve(t, a, r); got.subject != "user-42" {
		t.Fatalf("its own manager saw %q", got.subject)
	}
}

func TestLoginCookiesValues(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 400) // 6.4 kB: more than one cookie
	tests := []struct {
		name    string
		opts    middleware.Options
		subject string
		values  map[string]any
		cookies int
	}{
		{"values", middleware.Options{}, "user-42", map[string]any{"cart": 3, "theme": "dark"}, 1},
		{"no subject", middleware.Options{}, "", map[string]any{"cart": 1}, 1},
		{"chunked", middleware.Options{MaxChunks: 4}, "user-42", map[string]any{"big": big}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sessiontest.NewManager(t, tt.opts)
			cookies := sessiontest.LoginCookies(t, m, tt.subject, tt.values)
			if len(cookies) < tt.cookies {
				t.Fatalf("%d cookies; want at least %d", len(cookies), tt.cookies)
			}
			r := httptest.NewRequest("GET", "/", nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			got, _ := serve(t, m, r)
			if got.subject != tt.subject || got.id == "" {
				t.Fatalf("handler saw subject %q id %q; want %q and an id", got.subject, got.id, tt.subject)
			}
			gotJSON, _ := json.Marshal(got.values)
			wantJSON, _ := json.Marshal(tt.values)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("handler saw values %s; want %s", gotJSON, wantJSON)
			}
		})
	}
}

// fatalTB records the message of a Fatalf and ends the goroutine, as
// testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB and returns what it failed with ("" if
// it did not).
func fatalOf(fn func(testing.TB)) string {
	tb := &fatalTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}

// TestHelpersFailTheTest: what cannot be done fails the test with the
// reason, never a panic or a request without the session asked for.
func TestHelpersFailTheTest(t *testing.T) {
	m := sessiontest.NewManager(t, middleware.Options{})
	tests := []struct {
		name string
		fn   func(testing.TB)
		want string
	}{
		{"bad options", func(tb testing.TB) {
			sessiontest.NewManager(tb, middleware.Options{Codec: cookie.Options{IdleTimeout: -time.Hour}})
		}, "negative duration"},
		{"value that does not encode", func(tb testing.TB) {
			sessiontest.LoginCookies(tb, m, "user-42", map[string]any{"f": func() {}})
		}, `set "f"`},
		{"session over the budget", func(tb testing.TB) {
			sessiontest.LoginCookies(tb, m, "user-42", map[string]any{"big": strings.Repeat("x", 8000)})
		}, "save the session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := fatalOf(tt.fn); !strings.Contains(msg, tt.want) {
				t.Fatalf("failed with %q; want a message containing %q", msg, tt.want)
			}
		})
	}
}

func TestClock(t *testing.T) {
	clk := sessiontest.NewClock()
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if !clk.Now().Equal(start) {
		t.Fatalf("NewClock at %v; want %v", clk.Now(), start)
	}
	clk.Advance(90 * time.Minute)
	if got := clk.Now().Sub(start); got != 90*time.Minute {
		t.Fatalf("after Advance: %v past the start", got)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	clk.Set(at)
	if !clk.Now().Equal(at) {
		t.Fatalf("after Set: %v", clk.Now())
	}
	// Safe for concurrent use (the race detector checks).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				clk.Advance(time.Millisecond)
				clk.Now()
			}
		})
	}
	wg.Wait()
	if got := clk.Now().Sub(at); got != 400*time.Millisecond {
		t.Fatalf("after concurrent Advances: %v; want 400ms", got)
	}
}

func TestFailingRevoker(t *testing.T) {
	ctx := context.Background()
	var rv sessiontest.FailingRevoker
	now := time.Now()
	for name, err := range map[string]error{
		"Check":         rv.Check(ctx, revoke.SessionRef{ID: "id", Subject: "u", IssuedAt: now}),
		"RevokeSession": rv.RevokeSession(ctx, "id", "u", now.Add(time.Hour)),
		"RevokeSubject": rv.RevokeSubject(ctx, "u", now, now.Add(time.Hour)),
	} {
		if !errors.Is(err, sessiontest.ErrStoreDown) || errors.Is(err, revoke.ErrRevoked) {
			t.Errorf("%s = %v; want ErrStoreDown, not ErrRevoked", name, err)
		}
	}

	// Behind a manager: fail closed refuses the session and keeps the
	// cookie; fail open lets it through.
	tests := []struct {
		name    string
		open    bool
		subject string
	}{
		{"fail closed", false, ""},
		{"fail open", true, "user-42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sessiontest.NewManager(t, middleware.Options{Revoker: rv, InsecureRevokeFailOpen: tt.open})
			got, w := serve(t, m, sessiontest.NewRequest(t, m, "GET", "/", "user-42"))
			if got.subject != tt.subject {
				t.Fatalf("handler saw subject %q; want %q", got.subject, tt.subject)
			}
			if c := w.Result().Cookies(); !tt.open && len(c) != 0 {
				t.Fatalf("fail closed wrote %d Set-Cookie lines; want the cookie left alone", len(c))
			}
		})
	}
}
