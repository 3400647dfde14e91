package middleware_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

func TestNewRefusesUnsafeConfiguration(t *testing.T) {
	kr := testKeyring(t)
	tests := []struct {
		name   string
		cookie string
		opts   middleware.Options
		want   string // substring of the error
	}{
		{"name with space", "my session", middleware.Options{}, "token"},
		{"name with semicolon", "a;b", middleware.Options{}, "token"},
		{"name with equals", "a=b", middleware.Options{}, "token"},
		{"host prefix with domain", "__Host-s", middleware.Options{Domain: "example.com"}, "must not have a Domain"},
		{"host prefix with path", "__Host-s", middleware.Options{Path: "/app"}, "Path=/"},
		{"host prefix insecure", "__Host-s", middleware.Options{InsecureAllowHTTP: true}, "must be Secure"},
		{"secure prefix insecure", "__Secure-s", middleware.Options{InsecureAllowHTTP: true}, "must be Secure"},
		{"samesite none insecure", "s", middleware.Options{SameSite: http.SameSiteNoneMode, InsecureAllowHTTP: true}, "SameSite=None needs Secure"},
		{"samesite default mode", "s", middleware.Options{SameSite: http.SameSiteDefaultMode}, "name a mode"},
		{"samesite unknown", "s", middleware.Options{SameSite: 9}, "unknown SameSite"},
		{"partitioned insecure", "s", middleware.Options{Partitioned: true, InsecureAllowHTTP: true}, "Partitioned needs Secure"},
		{"negative idle", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: -time.Second}}, "negative"},
		{"negative refresh", "s", middleware.Options{RefreshAfter: -time.Second}, "negative"},
		{"negative revoke timeout", "s", middleware.Options{RevokeCheckTimeout: -1}, "negative"},
		{"refresh after idle", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: time.Hour}, RefreshAfter: 2 * time.Hour}, "RefreshAfter"},
		{"refresh equal idle", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: time.Hour}, RefreshAfter: time.Hour}, "RefreshAfter"},
		{"absolute shorter than idle", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: 48 * time.Hour, AbsoluteTimeout: time.Hour}}, "AbsoluteTimeout"},
		{"idle past default absolute", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: 30 * 24 * time.Hour}}, "AbsoluteTimeout"},
		{"too many chunks", "s", middleware.Options{MaxChunks: cookie.ChunkLimit + 1}, "MaxChunks"},
		{"negative chunks", "s", middleware.Options{MaxChunks: -1}, "MaxChunks"},
		{"value too large for a cookie", "s", middleware.Options{Codec: cookie.Options{MaxValueSize: 4096}}, "MaxValueSize"},
		{"value too small for a sealed value", "s", middleware.Options{Codec: cookie.Options{MaxValueSize: 10}}, "MaxValueSize"},
		{"clock skew too large", "s", middleware.Options{Codec: cookie.Options{ClockSkew: time.Hour}}, "skew"},
		{"unknown format", "s", middleware.Options{Codec: cookie.Options{Format: cookie.Format(200)}}, "format"},
		{"path without slash", "s", middleware.Options{Path: "app"}, "Path"},
		{"path with semicolon", "s", middleware.Options{Path: "/a;b"}, "path"},
		{"bad domain", "s", middleware.Options{Domain: "exa mple.com"}, "domain"},
		{"fail open without revoker", "s", middleware.Options{InsecureRevokeFailOpen: true}, "without a Revoker"},
		{"chunk-like name with chunking", "s.1", middleware.Options{MaxChunks: 2}, "collides"},
		{"absolute past 400 days", "s", middleware.Options{Codec: cookie.Options{AbsoluteTimeout: keyring.MaxTimeout + time.Second}}, "400 days"},
		{"absolute near the largest Duration", "s", middleware.Options{Codec: cookie.Options{AbsoluteTimeout: 1<<63 - 1}}, "400 days"},
		{"negative MaxFlashes", "s", middleware.Options{MaxFlashes: -1}, "MaxFlashes"},
		{"bad former domain", "s", middleware.Options{FormerDomains: []string{"exa mple.com"}}, "FormerDomains"},
		{"former domain an IP", "s", middleware.Options{FormerDomains: []string{"10.0.0.1"}}, "FormerDomains"},
		{"bad former path", "s", middleware.Options{FormerPaths: []string{"app"}}, "FormerPaths"},
		{"too many former domains", "s", middleware.Options{FormerDomains: []string{"a.com", "b.com", "c.com", "d.com", "e.com"}}, "FormerDomains"},
		{"host prefix with former values", "__Host-s", middleware.Options{FormerPaths: []string{"/app"}}, "__Host-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.InsecureNoHostPrefix = true
			m, err := middleware.New(kr, tt.cookie, tt.opts)
			if err == nil {
				t.Fatalf("New accepted it: %v", m)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "middleware: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if !errors.Is(err, middleware.ErrInvalidConfig) {
				t.Fatalf("error %q does not match ErrInvalidConfig", err)
			}
		})
	}
	if _, err := middleware.New(nil, "s", middleware.Options{InsecureNoHostPrefix: true}); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Fatalf("New with a nil keyring: %v, want ErrInvalidConfig", err)
	}
	// The codec's refusal matches both packages' sentinels.
	_, err := middleware.New(kr, "s", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: cookie.Format(200)}})
	if !errors.Is(err, middleware.ErrInvalidConfig) || !errors.Is(err, cookie.ErrInvalidConfig) {
		t.Fatalf("unknown format: %v, want ErrInvalidConfig of middleware and cookie", err)
	}
}

func TestNewAcceptsValidConfiguration(t *testing.T) {
	kr := testKeyring(t)
	tests := []struct {
		name   string
		cookie string
		opts   middleware.Options
	}{
		{"zero options", "session", middleware.Options{}},
		{"host prefix", "__Host-session", middleware.Options{}},
		{"secure prefix with domain", "__Secure-session", middleware.Options{Domain: "example.com", Path: "/app"}},
		{"samesite none", "s", middleware.Options{SameSite: http.SameSiteNoneMode, Partitioned: true}},
		{"strict", "s", middleware.Options{SameSite: http.SameSiteStrictMode}},
		{"local development", "s", middleware.Options{InsecureAllowHTTP: true}},
		{"browser session", "s", middleware.Options{BrowserSession: true}},
		{"chunks", "s", middleware.Options{MaxChunks: 4}},
		{"revoker fail open", "s", middleware.Options{Revoker: revoke.NewMemory(revoke.MemoryOptions{}), InsecureRevokeFailOpen: true}},
		{"short timeouts", "s", middleware.Options{Codec: cookie.Options{IdleTimeout: time.Minute, AbsoluteTimeout: time.Hour}, RefreshAfter: time.Second}},
		{"chunk-like name without chunking", "s.1", middleware.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.InsecureNoHostPrefix = true
			m, err := middleware.New(kr, tt.cookie, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name() != tt.cookie {
				t.Fatalf("Name() = %q", m.Name())
			}
		})
	}
}

// The options are copied at construction: editing them afterwards changes
// nothing.
func TestOptionsCopied(t *testing.T) {
	opts := middleware.Options{Path: "/a"}
	m := newManager(t, testKeyring(t), opts)
	opts.Path = "/b"
	w := do(t, m.Handler(app(t)), "GET", "/set?k=v")
	c := setCookies(w)["session"]
	if c == nil || c.Path != "/a" {
		t.Fatalf("cookie %v, want Path=/a", c)
	}
}

// TestDefaultMaxChunks: a manager left at the default MaxChunks
// (cookie.DefaultMaxChunks, the default of every reader and writer, the
// Python peer's too) neither writes nor reads chunks. A session a manager
// configured for four chunks wrote over two cookies is no session for it
// (read by the chunked manager itself as a control), and one that
// outgrows a cookie fails to save, with cookie.ErrTooLarge, instead of
// being written in pieces. Every MaxChunks up to cookie.ChunkLimit is
// accepted.
func TestDefaultMaxChunks(t *testing.T) {
	clk := newClock()
	kr := testKeyring(t)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			chunked := newManager(t, kr, middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now}, MaxChunks: 4}).Handler(app(t))
			var saveErr error
			plain := newManager(t, kr, captureErrors(middleware.Options{Codec: cookie.Options{Format: f, Now: clk.Now}}, &saveErr)).Handler(app(t))
			big := strings.Repeat("v", 5000)
			j := jar{}
			j.Update(do(t, chunked, "GET", "/set?k="+big))
			if j["session.0"] == nil || j["session.1"] == nil || j["session"] != nil {
				t.Fatalf("the chunked manager wrote %v", j.List())
			}
			if got := do(t, chunked, "GET", "/get?k=k", j.List()...).Body.String(); got != big {
				t.Fatalf("the chunked manager reads back %d bytes", len(got))
			}
			if got := do(t, plain, "GET", "/get?k=k", j.List()...).Body.String(); got != "-" {
				t.Fatalf("a default manager read a session of two chunks: %d bytes", len(got))
			}
			w := do(t, plain, "GET", "/set?k="+big)
			if !errors.Is(saveErr, cookie.ErrTooLarge) || len(w.Result().Cookies()) != 0 {
				t.Fatalf("a default manager saved a two-chunk session: %v, %v", saveErr, w.Header().Values("Set-Cookie"))
			}
		})
	}
	for n := 1; n <= cookie.ChunkLimit; n++ {
		if _, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, MaxChunks: n}); err != nil {
			t.Fatalf("MaxChunks %d refused: %v", n, err)
		}
	}
}
