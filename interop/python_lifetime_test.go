package interop

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestPythonHonoursSessionDeadline: a session the Go middleware gave its
// own deadline (SetDeadline) and cookie kind (SetRememberMe) opens in
// every Python reader until deadline + ClockSkew and not a millisecond
// later, as in Go, and Python reports both members.
func TestPythonHonoursSessionDeadline(t *testing.T) {
	needPython(t)
	const skew = 30 * time.Second
	clk := &clock{time.UnixMilli(time.Now().UnixMilli())}
	kr, _ := testKeys(t, "")
	m, err := middleware.New(kr, "session", middleware.Options{Format: cookie.JWE, Now: clk.now, IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: skew})
	if err != nil {
		t.Fatal(err)
	}
	deadline := clk.t.Add(10 * time.Minute)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/login" {
			s.Set("k", "v")
			s.SetDeadline(deadline)
			s.SetRememberMe(false)
		}
		v, _, _ := middleware.Get[string](s, "k")
		w.Write([]byte(v))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	var token string
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no session cookie")
	}
	jwks := exportJWKS(t, newJWE(t, kr, "session", clk))
	cases := []struct {
		name string
		at   time.Time
		want string
	}{
		{"at deadline+skew", deadline.Add(skew), "ok"},
		{"1ms past", deadline.Add(skew + time.Millisecond), "expired"},
	}
	var ops []pyOp
	for _, lib := range pythonReaders {
		for _, tc := range cases {
			ops = append(ops, pyOp{"op": "open", "lib": lib, "token": token, "jwks": jwks, "idle": 3600, "absolute": 86400, "now_ms": tc.at.UnixMilli()})
		}
	}
	res := runPython(t, ops...)
	for i, r := range res {
		lib, tc := pythonReaders[i/len(cases)], cases[i%len(cases)]
		// Go, at the same instant.
		clk.t = tc.at
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/read", nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
		h.ServeHTTP(rec, req)
		goKind := "expired"
		if rec.Body.String() == "v" {
			goKind = "ok"
		}
		if got := pyKind(r); got != tc.want || goKind != tc.want {
			t.Errorf("%s %s: python %s (%s), go %s, want %s", lib, tc.name, got, r.Message, goKind, tc.want)
		}
		if tc.want == "ok" && (r.DL != deadline.UnixMilli() || r.P == nil || *r.P) {
			t.Errorf("%s: dl %d p %v, want %s false", lib, r.DL, r.P, strconv.FormatInt(deadline.UnixMilli(), 10))
		}
	}
}
