package interop

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// pyLifetime is the lifetime op's answer: seconds, defaults filled in,
// and the fields the key set records.
type pyLifetime struct {
	Idle     int64    `json:"idle"`
	Absolute int64    `json:"absolute"`
	Skew     int64    `json:"skew"`
	Rollout  int64    `json:"rollout"`
	Recorded []string `json:"recorded"`
}

// TestPythonHonoursSessionDeadline: a session the Go middleware gave its
// own deadline (SetDeadline) and cookie kind (SetRememberMe) opens in
// every Python reader until deadline + ClockSkew and not a millisecond
// later, as in Go, and Python reports both members.
func TestPythonHonoursSessionDeadline(t *testing.T) {
	pythonPeers.interpreter(t)
	const skew = 30 * time.Second
	clk := &clock{time.UnixMilli(time.Now().UnixMilli())}
	kr, _ := testKeys(t, "")
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: cookie.JWE, Now: clk.now, IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour, ClockSkew: skew}})
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

// TestPythonReadsRecordedLifetime: the Python readers take the expiry
// rule from the key set the Go side reads (lifetime_of, in the file form
// and the compact form) and agree with a Go manager whose Options leave
// the timeouts zero, to the millisecond: the session opens up to the
// recorded idle timeout + clock skew after its refresh and not after,
// where the defaults would keep it open for a day.
func TestPythonReadsRecordedLifetime(t *testing.T) {
	pythonPeers.interpreter(t)
	const idle, skew = 10 * time.Minute, 5 * time.Second
	kr, _ := testKeys(t, "")
	set := kr.Set()
	set.Lifetime = keyring.Lifetime{IdleTimeout: idle, AbsoluteTimeout: 2 * idle, ClockSkew: skew}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	file, err := set.MarshalKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	compact, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{time.UnixMilli(time.Now().UnixMilli())}
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: cookie.JWE, Now: clk.now}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if r.URL.Path == "/login" {
			s.Set("k", "v")
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
	c, err := cookie.New(kr, "session", cookie.Options{Now: clk.now, Format: cookie.JWE})
	if err != nil {
		t.Fatal(err)
	}
	jwks := exportJWKS(t, c)
	login := clk.t
	cases := []struct {
		name string
		at   time.Time
		want string
	}{
		{"last instant of idle + skew", login.Add(idle + skew), "ok"},
		{"1ms past", login.Add(idle + skew + time.Millisecond), "expired"},
	}
	forms := []struct{ name, keyset string }{{"file", string(file)}, {"compact", compact}}
	var ops []pyOp
	for _, form := range forms {
		for _, lib := range pythonReaders {
			for _, tc := range cases {
				ops = append(ops, pyOp{"op": "open", "lib": lib, "token": token, "jwks": jwks, "keyset": form.keyset, "now_ms": tc.at.UnixMilli()})
			}
		}
	}
	res := runPython(t, ops...)
	for i, r := range res {
		form := forms[i/(len(pythonReaders)*len(cases))]
		lib, tc := pythonReaders[i/len(cases)%len(pythonReaders)], cases[i%len(cases)]
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
			t.Errorf("%s %s %s: python %s (%s), go %s, want %s", form.name, lib, tc.name, got, r.Message, goKind, tc.want)
		}
	}
}

// TestPythonLifetimeAgreesWithGo: for key sets in both forms, with and
// without a lifetime, and with every malformed lifetime the Go side
// refuses, Python's lifetime_of refuses exactly what keyring.ParseString
// refuses and otherwise reads the same values, defaults included.
func TestPythonLifetimeAgreesWithGo(t *testing.T) {
	pythonPeers.interpreter(t)
	v1, err := os.ReadFile("../keyring/testdata/keyset-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := os.ReadFile("../keyring/testdata/keyset-v2-lifetime.json")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)"lifetime": \{.*?\},`)
	if !section.Match(v2) {
		t.Fatal("vector changed: no lifetime section")
	}
	withSection := func(s string) string { return section.ReplaceAllLiteralString(string(v2), s) }
	const compact = "7:primary:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"
	inputs := []string{
		string(v1),
		string(v2),
		strings.Replace(string(v2), `"cookieseal_keyset": 2`, `"cookieseal_keyset": 1`, 1),
		strings.Replace(string(v2), `"cookieseal_keyset": 2`, `"cookieseal_keyset": 3`, 1),
		withSection(`"lifetime": {},`),
		withSection(`"lifetime": null,`),
		withSection(`"lifetime": {"absolute_timeout": "720h"},`),
		withSection(`"lifetime": {"absolute_timeout": "+720h", "idle_timeout": "90m", "rollout_delay": "0.5h"},`),
		withSection(`"Lifetime": {"ABSOLUTE_TIMEOUT": "720h"},`),
		withSection(`"lifetime": {"idle_timeout": "2h"}, "lifetime": {"clock_skew": "10s"},`),
		withSection(`"lifetime": {"idle_timeout": "2h", "idle_timeout": "3h"},`),
		withSection(`"lifetime": {"idle_timeout": null, "clock_skew": "1m"},`),
		withSection(`"lifetime": {"absolute_timeout": "7d"},`),
		withSection(`"lifetime": {"absolute_timeout": 604800},`),
		withSection(`"lifetime": {"clock_skew": "1.5s"},`),
		withSection(`"lifetime": {"clock_skew": "61s"},`),
		withSection(`"lifetime": {"clock_skew": "0s"},`),
		withSection(`"lifetime": {"rollout_delay": "-1h"},`),
		withSection(`"lifetime": {"absolute_timeout": "9601h"},`),
		withSection(`"lifetime": {"absolute_timeout": "1h"},`),
		withSection(`"lifetime": {"max_session_age": "1h"},`),
		withSection(`"lifetime": "168h",`),
		compact,
		compact + ",epoch=24h,idle_timeout=1h,absolute_timeout=720h,clock_skew=10s,rollout_delay=5m",
		" " + compact + ", absolute_timeout=720h \n",
		compact + ",clock_skew=10s,clock_skew=10s",
		compact + ",max_session_age=720h",
		compact + ",Absolute_timeout=720h",
		compact + ",absolute_timeout=7d",
		compact + ",clock_skew=2m",
		compact + ",idle_timeout=2h,absolute_timeout=1h",
		compact + ",rollout_delay=",
	}
	var ops []pyOp
	for _, in := range inputs {
		ops = append(ops, pyOp{"op": "lifetime", "keyset": in})
	}
	res := runPython(t, ops...)
	for i, r := range res {
		set, goErr := keyring.ParseString(inputs[i])
		if goErr != nil || r.Error != "" {
			if (goErr != nil) != (r.Error != "") {
				t.Errorf("input %d: Go %v, Python %s %s\n%s", i, goErr, r.Error, r.Message, inputs[i])
			}
			continue
		}
		l := set.Lifetime.WithDefaults()
		want := pyLifetime{Idle: int64(l.IdleTimeout / time.Second), Absolute: int64(l.AbsoluteTimeout / time.Second), Skew: int64(l.ClockSkew / time.Second), Rollout: int64(l.RolloutDelay / time.Second), Recorded: []string{}}
		for _, f := range []struct {
			name string
			d    time.Duration
		}{{"absolute_timeout", set.Lifetime.AbsoluteTimeout}, {"clock_skew", set.Lifetime.ClockSkew}, {"idle_timeout", set.Lifetime.IdleTimeout}, {"rollout_delay", set.Lifetime.RolloutDelay}} {
			if f.d != 0 {
				want.Recorded = append(want.Recorded, f.name)
			}
		}
		if r.Lifetime == nil || !reflect.DeepEqual(*r.Lifetime, want) {
			t.Errorf("input %d: Python %+v, Go %+v\n%s", i, r.Lifetime, want, inputs[i])
		}
	}
}
