package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// The hot path's own cookie handling (setcookie.go, request.go) must give exactly what
// net/http gives: the same Set-Cookie line as http.Cookie.String, and the
// same cookies as Request.Cookies.

func hotpathManager(t testing.TB, name string, opts Options) *Manager {
	t.Helper()
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	opts.InsecureNoHostPrefix = true
	m, err := New(kr, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSetCookieLineMatchesNetHTTP(t *testing.T) {
	options := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"domain and path", Options{Domain: "example.com", Path: "/app"}},
		{"leading-dot domain", Options{Domain: ".example.com"}},
		{"path needing sanitizing", Options{Path: "/a b"}},
		{"strict", Options{SameSite: http.SameSiteStrictMode}},
		{"none, partitioned", Options{SameSite: http.SameSiteNoneMode, Partitioned: true}},
		{"browser session", Options{BrowserSession: true}},
		{"insecure flags", Options{InsecureAllowHTTP: true, InsecureNoHTTPOnly: true}},
		{"chunked", Options{MaxChunks: 4, MaxResponseCookieBytes: 1 << 20}},
	}
	values := []struct{ name, value string }{
		{"empty", ""},
		{"base64url", "AQAAAAEAAAAAAAABk-uXq_8AAAGT65er_w"},
		{"jwe compact", "eyJhbGciOiJkaXIifQ..bm9uY2U.Y3Q.dGFn"},
		{"long", strings.Repeat("aZ09-_", 600)},
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.FixedZone("x", 3600))
	for _, o := range options {
		for _, cookieName := range []string{"session", "__Host-s"} {
			if cookieName == "__Host-s" && (o.opts.Domain != "" || o.opts.Path != "" || o.opts.InsecureAllowHTTP) {
				continue
			}
			m := hotpathManager(t, cookieName, o.opts)
			names := append([]string{cookieName}, m.chunkNames...)
			for _, n := range names {
				for _, v := range values {
					for _, maxAge := range []int{0, 1, 59, 86400, 400 * 86400} { // 0: a browser-session cookie
						t.Run(o.name+"/"+n+"/"+v.name, func(t *testing.T) {
							c := m.cfg.baseCookie(n, v.value)
							if maxAge > 0 {
								c.MaxAge = maxAge
								c.Expires = now.Add(time.Duration(maxAge) * time.Second).UTC()
							}
							want := c.String()
							got := m.setCookieLine(n, []byte(v.value), now, maxAge)
							if got != want {
								t.Fatalf("setCookieLine\n got %q\nwant %q", got, want)
							}
							if (maxAge > 0) != m.cfg.BrowserSession {
								if l := m.cfg.lineLen(len(n), len(v.value), maxAge); l != len(want) {
									t.Fatalf("lineLen %d, line is %d bytes", l, len(want))
								}
							}
						})
					}
				}
			}
		}
	}
}

// cookieHeaders are Cookie header lines, well and badly formed, for the
// parser comparisons.
var cookieHeaders = []struct {
	name  string
	lines []string
}{
	{"none", nil},
	{"empty", []string{""}},
	{"plain only", []string{"session=abc"}},
	{"chunks", []string{"session.0=abc; session.1=def; other=x"}},
	{"whitespace", []string{"  session.0 = abc ;\tsession.1=def\t;  other = y  "}},
	{"no space", []string{"a=1;session.0=x;session.1=y"}},
	{"quoted", []string{`session.0="abc"; session.1=""; session.2="`}},
	{"quote inside", []string{`session.0=a"b; session.1="a"b"`}},
	{"backslash", []string{`session.0=a\b; session.1=ok`}},
	{"semicolon-free comma and space", []string{"session.0=a,b; session.1=a b"}},
	{"control byte", []string{"session.0=a\x01b; session.1=ok\x7f"}},
	{"non-ASCII value", []string{"session.0=caf\xc3\xa9; session.1=ok"}},
	{"non-ASCII name", []string{"session.\xc3\xa9=x; session.1=ok"}},
	{"bad name bytes", []string{"session.0 x=1; session.(1)=2; session.1=ok"}},
	{"duplicates", []string{"session.0=a; session.0=b; session.1=c; session.0=d"}},
	{"several lines", []string{"session.0=a; x=1", "session.1=b", "session.0=c"}},
	{"empty parts", []string{";;session.0=a;; ;session.1=b;"}},
	{"no equals", []string{"session.0; session.1=b; session.2"}},
	{"empty name", []string{"=session.0; session.1=b"}},
	{"prefix only", []string{"session.=x; session.1=b"}},
	{"odd indices", []string{"session.x=1; session.01=2; session.0.1=3; session.-1=4; session.99=5"}},
	{"other case", []string{"Session.0=a; SESSION.1=b; session.2=c"}},
	{"other names", []string{"sessionx.0=a; session_0=b; sessions.1=c; xsession.0=d"}},
	{"equals in value", []string{"session.0=a=b==; session.1=="}},
	{"many cookies", []string{strings.Repeat("a=1; ", scanCookiesMax) + "session.0=a; session.1=b"}},
	{"past net/http's limit", []string{strings.Repeat("a=1; ", 3000) + "session.0=a"}},
	{"many lines", func() []string {
		l := make([]string, scanCookiesMax+1)
		for i := range l {
			l[i] = "a=1"
		}
		return append(l, "session.0=z")
	}()},
}

// netHTTPChunks is what scanCookies must pass on: Request.Cookies'
// cookies named session or session.N (N a decimal index without leading
// zeros), names and values, in order.
func netHTTPChunks(r *http.Request, _ string) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range r.Cookies() {
		if _, ok := cookieIndex(c.Name, "session"); ok {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

// scanChunks is what scanCookies passes on for "session", checked.
func scanChunks(r *http.Request) []*http.Cookie {
	var out []*http.Cookie
	scanCookies(r, "session", true, func(_ int, name, v string) {
		out = append(out, &http.Cookie{Name: name, Value: v})
	})
	return out
}

func TestScanCookiesMatchesNetHTTP(t *testing.T) {
	for _, tt := range cookieHeaders {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.lines != nil {
				r.Header["Cookie"] = tt.lines
			}
			want := netHTTPChunks(r, "session.")
			got := scanChunks(r)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("scanCookies\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

func dump(cs []*http.Cookie) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("[" + c.Name + "=" + c.Value)
		if c.Quoted {
			b.WriteString(" quoted")
		}
		b.WriteString("]")
	}
	return b.String()
}

// FuzzScanCookies compares scanCookies' cookies with
// Request.Cookies on any Cookie header line.
func FuzzScanCookies(f *testing.F) {
	for _, tt := range cookieHeaders {
		if len(tt.lines) == 1 && len(tt.lines[0]) < 200 {
			f.Add(tt.lines[0])
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Cookie"] = []string{line}
		want := netHTTPChunks(r, "session.")
		got := scanChunks(r)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanCookies(%q)\n got %s\nwant %s", line, dump(got), dump(want))
		}
	})
}

// TestValidCookieValueEveryByte puts every byte value at every position of
// a value long enough for two rounds of the 32-byte path and its tail,
// among the extremes of the valid range ('!' and '~'), and compares with
// net/http's reading of the same cookie.
func TestValidCookieValueEveryByte(t *testing.T) {
	for n := 1; n <= 67; n++ {
		for pos := range n {
			for c := range 256 {
				v := []byte(strings.Repeat("aZ0-_.~!", 9)[:n])
				v[pos] = byte(c)
				r := httptest.NewRequest("GET", "/", nil)
				r.Header["Cookie"] = []string{"x=" + string(v)}
				want := len(r.Cookies()) == 1 && r.Cookies()[0].Value == string(v)
				if c == '"' && (pos == 0 || pos == n-1) {
					continue // net/http unquotes; covered by cookieHeaders
				}
				if c == ';' || ((c == ' ' || c == '\t') && (pos == 0 || pos == n-1)) {
					continue // a separator, or trimmed by the header parse: not a value byte
				}
				if got := validCookieValue(string(v)); got != want {
					t.Fatalf("len %d, byte %#x at %d: validCookieValue %v, net/http %v", n, c, pos, got, want)
				}
			}
		}
	}
}

// TestSkipStringEveryByte puts every byte value at every position of a
// string member long enough for two rounds of plainRun's 32-byte test
// and its tail, among the extremes of what stands for itself (' ',
// '~' and UTF-8), and checks that the envelope is accepted exactly when
// it is valid JSON.
func TestSkipStringEveryByte(t *testing.T) {
	for n := 1; n <= 67; n++ {
		for pos := range n {
			for c := range 256 {
				v := []byte(strings.Repeat("aZ0 é~", 12)[:n])
				v[pos] = byte(c)
				b := []byte(`{"id":"a","d":{"k":"` + string(v) + `"}}`)
				_, err := parseEnvelope(b, nil)
				// Invalid UTF-8 is the scanner's to refuse or accept as it
				// did before (encoding/json accepts it); compare the rest.
				if !utf8.Valid(b) {
					continue
				}
				if valid := json.Valid(b); (err == nil) != valid {
					t.Fatalf("%q: parseEnvelope error %v, json.Valid %v", b, err, valid)
				}
			}
		}
	}
}

// TestChunkReadDependsOnlyOnNetHTTPsView: load reads chunks first without
// checking their values' bytes, and again with the check unless a regular
// set opens. Whatever the request, the outcome must be the one the
// request gets when its Cookie header holds only what Request.Cookies
// keeps: the same session or none, and the same Set-Cookie names and
// deletions. Every case plants a byte net/http refuses, or one it keeps
// that base64url does not, in a chunk: inside the set, past it, in a
// duplicate before or after, quoted.
func TestChunkReadDependsOnlyOnNetHTTPsView(t *testing.T) {
	for _, format := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(format.String(), func(t *testing.T) { chunkReadDependsOnlyOnNetHTTPsView(t, format) })
	}
}

func chunkReadDependsOnlyOnNetHTTPsView(t *testing.T, format cookie.Format) {
	m := hotpathManager(t, "session", Options{MaxChunks: 4, MaxResponseCookieBytes: 16 << 10, Codec: cookie.Options{Format: format}})
	blob := strings.Repeat("abcdefghij", 800) // three chunks once sealed
	login := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := From(r)
		if err := s.Set("user", "ada"); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("blob", blob); err != nil {
			t.Fatal(err)
		}
	}))
	w := httptest.NewRecorder()
	login.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/", nil))
	var chunks []string
	for _, c := range w.Result().Cookies() {
		if strings.HasPrefix(c.Name, "session.") && c.MaxAge >= 0 {
			chunks = append(chunks, c.Value)
		}
	}
	if len(chunks) != 3 {
		t.Fatalf("login set %d chunks, want 3", len(chunks))
	}
	read := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := From(r)
		v, ok, err := Get[string](s, "user")
		if err != nil || !ok {
			w.Write([]byte("none"))
			return
		}
		w.Write([]byte(v))
	}))
	// outcome is what the response says and deletes, values aside (a
	// re-sealed value carries a fresh nonce).
	outcome := func(header string) string {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.Header.Set("Cookie", header)
		w := httptest.NewRecorder()
		read.ServeHTTP(w, r)
		var sets []string
		for _, c := range w.Result().Cookies() {
			sets = append(sets, c.Name+" max-age="+map[bool]string{true: "delete", false: "keep"}[c.MaxAge < 0])
		}
		slices.Sort(sets)
		return w.Body.String() + " " + strings.Join(sets, ",")
	}
	// netHTTPView is header as Request.Cookies reads it, written again.
	netHTTPView := func(header string) string {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.Header.Set("Cookie", header)
		var parts []string
		for _, c := range r.Cookies() {
			v := c.Value
			if c.Quoted {
				v = `"` + v + `"`
			}
			parts = append(parts, c.Name+"="+v)
		}
		return strings.Join(parts, "; ")
	}
	c0, c1, c2 := chunks[0], chunks[1], chunks[2]
	mid := func(v, bad string) string { return v[:len(v)/2] + bad + v[len(v)/2:] }
	cases := []struct{ name, header string }{
		{"regular", "session.0=" + c0 + "; session.1=" + c1 + "; session.2=" + c2},
		{"regular, quoted", `session.0="` + c0 + `"; session.1=` + c1 + `; session.2="` + c2 + `"`},
		{"backslash in chunk 1", "session.0=" + c0 + "; session.1=" + mid(c1, `\`) + "; session.2=" + c2},
		{"quote in chunk 2", "session.0=" + c0 + "; session.1=" + c1 + "; session.2=" + mid(c2, `"`)},
		{"DEL in chunk 0", "session.0=" + mid(c0, "\x7f") + "; session.1=" + c1 + "; session.2=" + c2},
		{"high byte in chunk 1", "session.0=" + c0 + "; session.1=" + mid(c1, "\xc3\xa9") + "; session.2=" + c2},
		{"comma in chunk 1 (net/http keeps it)", "session.0=" + c0 + "; session.1=" + mid(c1, ",") + "; session.2=" + c2},
		{"space in chunk 1 (net/http keeps it)", "session.0=" + c0 + "; session.1=" + mid(c1, " ") + "; session.2=" + c2},
		{"bad extra index past the set", "session.0=" + c0 + "; session.1=" + c1 + "; session.2=" + c2 + `; session.3=x\y`},
		{"bad copy of chunk 1 before", `session.1=x\y; session.0=` + c0 + "; session.1=" + c1 + "; session.2=" + c2},
		{"bad copy of chunk 1 after", "session.0=" + c0 + "; session.1=" + c1 + `; session.1=x"y; session.2=` + c2},
		{"bad copy of chunk 0, and a good one", `session.0=a\b; session.0=` + c0 + "; session.1=" + c1 + "; session.2=" + c2},
		{"only a bad chunk 2", "session.0=" + c0 + "; session.1=" + c1 + "; session.2=" + mid(c2, "\x01")},
		{"bad chunk beyond MaxChunks", "session.0=" + c0 + "; session.1=" + c1 + "; session.2=" + c2 + `; session.9=a\b`},
		{"plain beside chunks, bad chunk", "session=" + c0 + "; session.0=" + c0 + "; session.1=" + mid(c1, `\`) + "; session.2=" + c2},
		{"chunks swapped", "session.0=" + c1 + "; session.1=" + c0 + "; session.2=" + c2},
	}
	opened := 0
	for _, tc := range cases {
		got, want := outcome(tc.header), outcome(netHTTPView(tc.header))
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s (the header as net/http reads it)", tc.name, got, want)
		}
		if strings.HasPrefix(got, "ada") {
			opened++
		}
	}
	if opened < 5 || opened == len(cases) {
		t.Fatalf("%d of %d cases have a session: the table no longer covers both outcomes", opened, len(cases))
	}
}
