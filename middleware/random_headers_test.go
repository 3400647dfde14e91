package middleware_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// TestRandomCookieHeadersNeverSwap throws 3,000 random Cookie headers
// (seeded, so a failure repeats) at each of four configurations: case
// variants of the name, other prefixes, chunk names (beyond MaxChunks,
// with 20 digits, with a leading zero), quoted, truncated and invalid
// values, 9 KB values, the victim's and an attacker's valid values and
// chunk sets, one to three header lines, deep paths. It checks the
// properties that hold whatever a request carries: no panic, no 5xx, the
// response's Set-Cookie bytes bounded (the budget plus 4 KB of clearing
// lines), and never the attacker's session while the victim's own copy is
// in the request. Written by the red team of issue 24's follow-up, which
// found no failure with the default name.
func TestRandomCookieHeadersNeverSwap(t *testing.T) {
	for _, tc := range []struct {
		label string
		name  string
		opts  middleware.Options
	}{
		{"host default", "", middleware.Options{}},
		{"host chunks", "", middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 16000}},
		{"plain domain partitioned", "session", middleware.Options{InsecureNoHostPrefix: true, Domain: "example.com", Partitioned: true, SameSite: http.SameSiteNoneMode, FormerDomains: []string{"old.example.com"}, FormerPaths: []string{"/old"}}},
		{"plain chunks", "session", middleware.Options{InsecureNoHostPrefix: true, MaxChunks: 16}},
	} {
		t.Run(tc.label, func(t *testing.T) {
			m, err := middleware.New(testKeyring(t), tc.name, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			name := tc.name
			if name == "" {
				name = middleware.DefaultName
			}
			h := m.Handler(plantApp(m))
			login := func(u string, big int) []*http.Cookie {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", fmt.Sprintf("https://app.example.com/login?user=%s&big=%d", u, big), nil))
				return w.Result().Cookies()
			}
			victim := login("alice", 0)
			attacker := login("mallory", 0)
			attackerBig := login("mallory", 6000)
			if len(attackerBig) == 0 {
				attackerBig = attacker
			}
			rng := rand.New(rand.NewPCG(1, 2))
			names := []string{name, strings.ToLower(name), strings.ToUpper(name), "__Secure-session", "session", "__host-session", name + ".0", name + ".1", name + ".2", name + ".15", name + ".16", name + ".99999999999999999999", name + ".00", name + ".", " " + name, name + " ", "\t" + name}
			vals := func() string {
				switch rng.IntN(9) {
				case 0:
					return victim[0].Value
				case 1:
					return attacker[0].Value
				case 2:
					c := attackerBig[rng.IntN(len(attackerBig))]
					return c.Value
				case 3:
					return `"` + victim[0].Value + `"`
				case 4:
					return victim[0].Value + "\x7f"
				case 5:
					return strings.Repeat("A", rng.IntN(9000))
				case 6:
					return ""
				case 7:
					return "a b\\c\"d"
				default:
					return victim[0].Value[:rng.IntN(len(victim[0].Value))]
				}
			}
			for iter := range 3000 {
				var lines []string
				nl := 1 + rng.IntN(3)
				for range nl {
					var parts []string
					for range rng.IntN(12) {
						n := names[rng.IntN(len(names))]
						parts = append(parts, n+"="+vals())
					}
					if rng.IntN(4) == 0 {
						parts = append(parts, victim[0].Name+"="+victim[0].Value)
					}
					lines = append(lines, strings.Join(parts, "; "))
				}
				path := "/" + strings.Repeat("p/", rng.IntN(300))
				if rng.IntN(2) == 0 {
					path += "login?user=eve"
				}
				r := httptest.NewRequest("GET", "https://a.b.app.example.com"+path, nil)
				r.Header["Cookie"] = lines
				w := httptest.NewRecorder()
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("iter %d: panic %v; cookies %.2000q", iter, p, lines)
						}
					}()
					h.ServeHTTP(w, r)
				}()
				if w.Code >= 500 {
					t.Errorf("iter %d: status %d; cookies %.2000q", iter, w.Code, lines)
				}
				all, clears := setCookieBytes(w)
				limit := 3072 + 4096
				if tc.opts.MaxResponseCookieBytes > 0 {
					limit = tc.opts.MaxResponseCookieBytes + 4096
				}
				if tc.opts.MaxChunks == 16 {
					limit = 16*4200 + 4096
				}
				if all > limit || clears > 4096+16*300 {
					t.Errorf("iter %d: %d Set-Cookie bytes (%d clearing); cookies %.2000q", iter, all, clears, lines)
				}
				body := w.Body.String()
				if strings.HasPrefix(body, "mallory") {
					for _, c := range r.Cookies() {
						if c.Name == victim[0].Name && c.Value == victim[0].Value {
							t.Errorf("iter %d: attacker's session despite victim's copy: %.2000q", iter, lines)
						}
					}
				}
			}
		})
	}
}
