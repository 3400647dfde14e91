package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// The cookie name prefixes as browsers ship them (RFC 6265bis,
// httpwg/http-extensions#2231): matched case-insensitively, longest
// first. These tests state the rule on their own, not with the package's
// code.
var browserPrefixes = []string{"__Host-Http-", "__Http-", "__Host-", "__Secure-"}

// prefixOf is the prefix a browser sees in name ("" for none).
func prefixOf(name string) string {
	for _, p := range browserPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return p
		}
	}
	return ""
}

// browserStores reports whether a browser stores the cookie that this
// Set-Cookie line sets, as far as the name's prefix decides.
func browserStores(t *testing.T, line string) bool {
	t.Helper()
	c, err := http.ParseSetCookie(line)
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", line, err)
	}
	p := prefixOf(c.Name)
	hostOnly := p == "__Host-" || p == "__Host-Http-"
	httpOnly := p == "__Http-" || p == "__Host-Http-"
	switch {
	case p != "" && !c.Secure:
		return false
	case httpOnly && !c.HttpOnly:
		return false
	case hostOnly && (c.Domain != "" || c.Path != "/"):
		return false
	}
	return true
}

// casings spells a prefix the ways a configuration might: as the RFC
// writes it, lower case, upper case, and mixed.
func casings(p string) []string {
	mixed := []byte(strings.ToLower(p))
	for i := range mixed {
		if i%2 == 1 {
			mixed[i] = strings.ToUpper(string(mixed[i]))[0]
		}
	}
	return []string{p, strings.ToLower(p), strings.ToUpper(p), string(mixed)}
}

// A setting a prefix may forbid, with the word the error must use for it.
type prefixSetting struct {
	name    string
	opts    middleware.Options
	mention string
	refused func(prefix string) bool // what a browser refuses
}

func prefixSettings() []prefixSetting {
	anyPrefix := func(p string) bool { return p != "" }
	httpOnly := func(p string) bool { return p == "__Http-" || p == "__Host-Http-" }
	hostOnly := func(p string) bool { return p == "__Host-" || p == "__Host-Http-" }
	return []prefixSetting{
		{"InsecureAllowHTTP", middleware.Options{InsecureAllowHTTP: true}, "InsecureAllowHTTP", anyPrefix},
		{"InsecureNoHTTPOnly", middleware.Options{InsecureNoHTTPOnly: true}, "InsecureNoHTTPOnly", httpOnly},
		{"Domain", middleware.Options{Domain: "example.com"}, "Domain", hostOnly},
		{"Path", middleware.Options{Path: "/app"}, "Path", hostOnly},
		{"FormerPaths", middleware.Options{FormerPaths: []string{"/app"}}, "FormerPaths", hostOnly},
		{"FormerDomains", middleware.Options{FormerDomains: []string{"example.com"}}, "FormerDomains", hostOnly},
	}
}

// New refuses a prefix spelled in any case but the RFC's, whatever the
// settings: current browsers apply the prefix's rules to "__host-", older
// ones (matching case-sensitively, before httpwg/http-extensions#2231)
// take it as an ordinary name that a sibling host can plant, so one
// name would be protected in one browser and not in the next: the red
// team's case, "__host-session" accepted as host-only, so that a sibling
// planted it for the parent domain in a case-sensitive browser and
// nothing swept it. The error names the prefix and the spelling to write.
func TestNewRefusesAPrefixInAnotherCase(t *testing.T) {
	kr := testKeyring(t)
	settings := append([]prefixSetting{{"defaults", middleware.Options{}, "", nil}}, prefixSettings()...)
	for _, p := range browserPrefixes {
		for _, spelled := range casings(p)[1:] {
			name := spelled + "session"
			for _, s := range settings {
				for _, ack := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%s/InsecureNoHostPrefix=%v", name, s.name, ack), func(t *testing.T) {
						opts := s.opts
						opts.InsecureNoHostPrefix = ack
						_, err := middleware.New(kr, name, opts)
						if err == nil {
							t.Fatalf("New accepted %q", name)
						}
						msg := err.Error()
						for _, want := range []string{"middleware: ", fmt.Sprintf("%q", name), fmt.Sprintf("%q", p), fmt.Sprintf("%q", p+"session"), "case-insensitively"} {
							if !strings.Contains(msg, want) {
								t.Errorf("error %q does not mention %s", msg, want)
							}
						}
					})
				}
			}
		}
	}
}

// New refuses every setting that a browser rejects for the name's prefix,
// and the error names the prefix and the setting.
func TestNewRefusesWhatThePrefixForbids(t *testing.T) {
	kr := testKeyring(t)
	for _, p := range browserPrefixes {
		for _, spelled := range casings(p)[:1] {
			name := spelled + "session"
			for _, s := range prefixSettings() {
				if !s.refused(p) {
					continue
				}
				for _, chunks := range []int{1, 4} {
					opts := s.opts
					opts.MaxChunks = chunks
					t.Run(fmt.Sprintf("%s/%s/chunks=%d", name, s.name, chunks), func(t *testing.T) {
						opts.InsecureNoHostPrefix = true
						_, err := middleware.New(kr, name, opts)
						if err == nil {
							t.Fatalf("New accepted %q with %s: a browser refuses that cookie", name, s.name)
						}
						msg := err.Error()
						for _, want := range []string{"middleware: ", fmt.Sprintf("%q", name), p, s.mention} {
							if !strings.Contains(msg, want) {
								t.Errorf("error %q does not mention %q", msg, want)
							}
						}
					})
				}
			}
		}
	}
}

// Over every name (each prefix in several casings, and none) and every
// setting, New accepts exactly what every browser stores alike (a browser
// stores it, and the prefix, if any, is spelled as the RFC does, so that
// browsers that match prefixes case-sensitively see the same name), and every
// Set-Cookie line an accepted manager writes (the plain cookie, its
// chunks name.0…, and the lines that clear them) is one a browser stores.
func TestNewAcceptsExactlyWhatBrowsersStore(t *testing.T) {
	kr := testKeyring(t)
	names := []string{"session", "_Host-session", "__Hostsession", "Host-session"}
	for _, p := range browserPrefixes {
		for _, spelled := range casings(p) {
			names = append(names, spelled+"session")
		}
	}
	settings := append([]prefixSetting{{"defaults", middleware.Options{}, "", func(string) bool { return false }}}, prefixSettings()...)
	settings = append(settings, prefixSetting{"Domain and InsecureNoHTTPOnly",
		middleware.Options{Domain: "example.com", InsecureNoHTTPOnly: true}, "", func(p string) bool { return p != "" && p != "__Secure-" }})
	big := strings.Repeat("0123456789abcdef", 400) // 6400 bytes: several chunks
	for _, name := range names {
		for _, s := range settings {
			for _, chunks := range []int{1, 4} {
				opts := s.opts
				opts.MaxChunks = chunks
				t.Run(fmt.Sprintf("%s/%s/chunks=%d", name, s.name, chunks), func(t *testing.T) {
					p := prefixOf(name)
					stores := !s.refused(p) && name[:len(p)] == p
					opts.InsecureNoHostPrefix = true
					m, err := middleware.New(kr, name, opts)
					if (err == nil) != stores {
						t.Fatalf("New(%q, %s): err %v; a browser stores it: %v", name, s.name, err, stores)
					}
					if err != nil {
						return
					}
					value := "small"
					if chunks > 1 {
						value = big
					}
					lines := prefixLines(t, m, value)
					if chunks > 1 && !strings.Contains(strings.Join(lines, "\n"), name+".1=") {
						t.Fatalf("no chunks written: %q", lines)
					}
					for _, line := range lines {
						if !browserStores(t, line) {
							t.Errorf("a browser refuses %q", line)
						}
					}
				})
			}
		}
	}
}

// prefixLines sets value in a new session, then sets "small" in it, and
// returns every Set-Cookie line of both responses.
func prefixLines(t *testing.T, m *middleware.Manager, value string) []string {
	t.Helper()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := middleware.From(r)
		if err == nil {
			err = s.Set("k", r.URL.Query().Get("v"))
		}
		if err != nil {
			t.Errorf("set: %v", err)
		}
	}))
	var lines []string
	var cookies []*http.Cookie
	for _, v := range []string{value, "small"} {
		r := httptest.NewRequest("GET", "https://app.example.com/app/page?v="+v, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		got := w.Header().Values("Set-Cookie")
		if len(got) == 0 {
			t.Fatal("no Set-Cookie")
		}
		lines = append(lines, got...)
		cookies = nil
		for _, c := range w.Result().Cookies() {
			if c.MaxAge >= 0 {
				cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
			}
		}
	}
	return lines
}
