package chunk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// testMaxChunks is the chunk cap of these tests: a chunked deployment's
// (cookie.DefaultMaxChunks is 1, no chunking).
const testMaxChunks = 4

// cookies builds a request's cookies from "name=value" pairs.
func cookies(pairs ...string) []*http.Cookie {
	var cs []*http.Cookie
	for _, p := range pairs {
		n, v, _ := strings.Cut(p, "=")
		cs = append(cs, &http.Cookie{Name: n, Value: v})
	}
	return cs
}

func TestJoin(t *testing.T) {
	cases := []struct {
		name      string
		cookies   []*http.Cookie
		cookie    string
		maxChunks int
		maxLen    int
		want      string
		wantN     int
		wantErr   error // nil: success
		callerBug bool
	}{
		{name: "one chunk", cookies: cookies("s.0=abc"), want: "abc", wantN: 1},
		{name: "in order", cookies: cookies("s.0=ab", "s.1=cd", "s.2=e"), want: "abcde", wantN: 3},
		{name: "out of order", cookies: cookies("s.2=e", "s.0=ab", "s.1=cd"), want: "abcde", wantN: 3},
		{name: "others ignored", cookies: cookies("t.0=zz", "s=plain", "s.0=ab", "other=1", "s.1=cd", "s0=x", "ss.1=y"), want: "abcd", wantN: 2},
		{name: "non-numeric suffix ignored", cookies: cookies("s.0=ab", "s.x=zz", "s.1=cd", "s.1x=q", "s.=q", "s.-1=q", "s.+1=q"), want: "abcd", wantN: 2},
		{name: "leading zero ignored", cookies: cookies("s.0=ab", "s.01=zz", "s.00=yy"), want: "ab", wantN: 1},
		{name: "dotted name", cookie: "a.b", cookies: cookies("a.b.0=xy", "a.b.1=z", "a.0=no", "a.b=plain"), want: "xyz", wantN: 2},
		{name: "dotted name not confused with parent", cookie: "a", cookies: cookies("a.b.0=xy", "a.0=ok"), want: "ok", wantN: 1},
		{name: "at cap", cookies: cookies("s.0=a", "s.1=b", "s.2=c", "s.3=d"), maxChunks: 4, want: "abcd", wantN: 4},
		{name: "at maxLen", cookies: cookies("s.0=ab", "s.1=cd"), maxLen: 4, want: "abcd", wantN: 2},
		{name: "empty chunk value", cookies: cookies("s.0=", "s.1=cd"), want: "cd", wantN: 2},
		{name: "no chunks", cookies: cookies("s=plain", "t.0=x"), wantErr: cookie.ErrNoChunks},
		{name: "no cookies", cookies: nil, wantErr: cookie.ErrNoChunks},
		{name: "orphan chunk without .0", cookies: cookies("s.1=x", "s.2=y"), wantErr: cookie.ErrNoChunks},
		{name: "gap", cookies: cookies("s.0=ab", "s.2=cd"), wantErr: cookie.ErrInvalid, wantN: 2},
		{name: "duplicate first", cookies: cookies("s.0=ab", "s.0=ab"), wantErr: cookie.ErrInvalid, wantN: 2},
		{name: "duplicate later", cookies: cookies("s.0=ab", "s.1=cd", "s.1=ef"), wantErr: cookie.ErrInvalid, wantN: 3},
		{name: "over cap", cookies: cookies("s.0=a", "s.1=b", "s.2=c", "s.3=d", "s.4=e"), maxChunks: 4, wantErr: cookie.ErrInvalid, wantN: 5},
		{name: "huge index", cookies: cookies("s.0=a", "s.99999999999999999999999=b"), wantErr: cookie.ErrInvalid, wantN: 2},
		{name: "huge index under a huge cap", cookies: cookies("s.0=a", "s.8589934592=b"), maxChunks: 1 << 40, wantErr: cookie.ErrInvalid, wantN: 2},
		{name: "more than the stack's worth", cookies: cookies("s.0=a", "s.1=b", "s.2=c", "s.3=d", "s.4=e", "s.5=f", "s.6=g", "s.7=h", "s.8=i",
			"s.9=j", "s.10=k", "s.11=l", "s.12=m", "s.13=n", "s.14=o", "s.15=p", "s.16=q"), maxChunks: 20, want: "abcdefghijklmnopq", wantN: 17},
		{name: "duplicates within the count", cookies: cookies("s.0=a", "s.1=b", "s.1=c", "s.0=d"), maxChunks: 10, wantErr: cookie.ErrInvalid, wantN: 4},
		{name: "over maxLen", cookies: cookies("s.0=ab", "s.1=cde"), maxLen: 4, wantErr: cookie.ErrTooLarge, wantN: 2},
		{name: "single chunk over maxLen", cookies: cookies("s.0=abcde"), maxLen: 4, wantErr: cookie.ErrTooLarge, wantN: 1},
		{name: "zero cap", cookies: cookies("s.0=a"), maxChunks: -1, callerBug: true},
		{name: "zero maxLen", cookies: cookies("s.0=a"), maxLen: -1, callerBug: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, maxChunks, maxLen := tc.cookie, tc.maxChunks, tc.maxLen
			if name == "" {
				name = "s"
			}
			if maxChunks == 0 {
				maxChunks = testMaxChunks
			}
			if maxLen == 0 {
				maxLen = 1 << 16
			}
			got, n, err := Join(tc.cookies, name, maxChunks, maxLen)
			switch {
			case tc.callerBug:
				if err == nil || errors.Is(err, cookie.ErrInvalid) || errors.Is(err, cookie.ErrTooLarge) || errors.Is(err, cookie.ErrNoChunks) || got != "" {
					t.Fatalf("Join = %q, %d, %v; want a plain error", got, n, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) || got != "" || n != tc.wantN {
					t.Fatalf("Join = %q, %d, %v; want \"\", %d, %v", got, n, err, tc.wantN, tc.wantErr)
				}
				if errors.Is(err, cookie.ErrNoChunks) && errors.Is(err, cookie.ErrInvalid) {
					t.Fatal("cookie.ErrNoChunks matches cookie.ErrInvalid")
				}
			default:
				if err != nil || got != tc.want || n != tc.wantN {
					t.Fatalf("Join = %q, %d, %v; want %q, %d", got, n, err, tc.want, tc.wantN)
				}
			}
		})
	}
}

func TestStale(t *testing.T) {
	cases := []struct {
		name    string
		cookies []*http.Cookie
		cookie  string
		keep    int
		want    []string
	}{
		{name: "none", cookies: cookies("s=plain"), keep: 0, want: nil},
		{name: "all when value fits plain", cookies: cookies("s=plain", "s.1=b", "s.0=a"), keep: 0, want: []string{"s.0", "s.1"}},
		{name: "shrunk from three to two", cookies: cookies("s.0=a", "s.1=b", "s.2=c"), keep: 2, want: []string{"s.2"}},
		{name: "same count", cookies: cookies("s.0=a", "s.1=b"), keep: 2, want: nil},
		{name: "grown", cookies: cookies("s.0=a"), keep: 3, want: nil},
		{name: "beyond a gap", cookies: cookies("s.0=a", "s.7=z"), keep: 1, want: []string{"s.7"}},
		{name: "duplicates once", cookies: cookies("s.3=a", "s.3=b", "s.2=c"), keep: 1, want: []string{"s.2", "s.3"}},
		{name: "strict parsing", cookies: cookies("s.01=a", "s.x=b", "s.-1=c", "s.+2=d", "s.=e", "s.2=f", "t.5=g"), keep: 0, want: []string{"s.2"}},
		{name: "numeric order", cookies: cookies("s.10=a", "s.9=b"), keep: 0, want: []string{"s.9", "s.10"}},
		{name: "huge index is stale", cookies: cookies("s.99999999999999999999999=a"), keep: 5, want: []string{"s.99999999999999999999999"}},
		{name: "dotted name", cookie: "a.b", cookies: cookies("a.b.0=x", "a.0=y", "a.b.c.1=z"), keep: 0, want: []string{"a.b.0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.cookie
			if name == "" {
				name = "s"
			}
			if got := Stale(tc.cookies, name, tc.keep); !slices.Equal(got, tc.want) {
				t.Fatalf("Stale = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestChunkRoundTrip seals payloads of several sizes, splits the values
// over cookies, joins them back through a real request and opens them.
func TestChunkRoundTrip(t *testing.T) {
	const size = 3800
	const maxLen = testMaxChunks * size
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{MaxValueSize: maxLen})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{64, 1024, 3800, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			payload := make([]byte, n)
			rand.Read(payload)
			v, err := c.Seal(payload, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			pieces, err := cookie.Split(v, size, testMaxChunks)
			if err != nil {
				t.Fatal(err)
			}
			if want := (len(v) + size - 1) / size; len(pieces) != want {
				t.Fatalf("%d-byte value gave %d pieces, want %d", len(v), len(pieces), want)
			}
			r, _ := http.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "other", Value: "x"})
			for i, p := range slices.Backward(pieces) {
				if len(p) > size {
					t.Fatalf("piece %d is %d bytes", i, len(p))
				}
				r.AddCookie(&http.Cookie{Name: cookie.ChunkName("session", i), Value: p})
			}
			joined, got, err := Join(r.Cookies(), "session", testMaxChunks, maxLen)
			if err != nil || joined != v || got != len(pieces) {
				t.Fatalf("Join: %d chunks, %v", got, err)
			}
			p, _, err := c.Open(joined)
			if err != nil || string(p) != string(payload) {
				t.Fatalf("Open: %v", err)
			}
			if stale := Stale(r.Cookies(), "session", len(pieces)); stale != nil {
				t.Fatalf("stale after a full write: %q", stale)
			}
			// A missing middle or last chunk never opens.
			if len(pieces) > 1 {
				short := slices.DeleteFunc(r.Cookies(), func(ck *http.Cookie) bool { return ck.Name == cookie.ChunkName("session", len(pieces)-1) })
				if len(pieces) > 2 {
					short = slices.DeleteFunc(r.Cookies(), func(ck *http.Cookie) bool { return ck.Name == cookie.ChunkName("session", 1) })
				}
				joined, _, err := Join(short, "session", testMaxChunks, maxLen)
				if err == nil {
					if _, _, err := c.Open(joined); !errors.Is(err, cookie.ErrInvalid) {
						t.Fatalf("opened a value with a chunk missing: %v", err)
					}
				} else if !errors.Is(err, cookie.ErrInvalid) {
					t.Fatalf("Join with a chunk missing: %v", err)
				}
			}
		})
	}
	// A value that needs more chunks than allowed is refused at cookie.Split.
	v, err := c.Seal(make([]byte, 10000), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cookie.Split(v, size, 3); !errors.Is(err, cookie.ErrTooLarge) {
		t.Fatalf("cookie.Split over the cap: %v", err)
	}
}
