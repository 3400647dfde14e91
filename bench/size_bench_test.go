package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cookieseal/cookieseal/middleware"
)

// The session-size benchmark: one GET through each library's middleware
// with a session of the four values of BenchmarkRequest plus a "blob"
// string sized so that cookieseal's cookie value (every chunk together)
// is about the size named: small (no blob), 1KB, 3.8KB (the largest
// single cookie) and 10KB (three chunks). Every library stores the same
// values. "read" reads user_id; "write" reads it and sets last_page, so
// every response re-encodes and sends the whole session (cookieseal
// seals and sets the cookie, scs encodes and stores it, gorilla/sessions
// encodes, seals and sets its cookie). bare is net/http alone, receiving
// cookieseal's request: the floor every overhead is measured from.
// gorilla/sessions is left out of a size whose cookie exceeds its
// 4096-byte limit (securecookie's default MaxLength, a browser's too).

// sessionSize is one row of the benchmark.
type sessionSize struct {
	name   string
	target int // cookieseal's cookie value bytes, all chunks; 0: no blob
}

var sessionSizes = []sessionSize{{"small", 0}, {"1KB", 1024}, {"3.8KB", 3800}, {"10KB", 10240}}

// sizedOptions are cookieseal's options for every size: room for a
// 10 KB session in chunks, and a response budget that holds it.
var sizedOptions = middleware.Options{MaxChunks: 4, MaxResponseCookieBytes: 16 << 10}

// sizedValues returns the benchmark's session values with a blob of n
// bytes (none for n = 0).
func sizedValues(n int) map[string]any {
	v := make(map[string]any, len(reqValues)+1)
	for k, x := range reqValues {
		v[k] = x
	}
	if n > 0 {
		v["blob"] = strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", n/36+1)[:n]
	}
	return v
}

// cookieBytes is the total length of the request's cookie values.
func cookieBytes(r *http.Request) int {
	n := 0
	for _, c := range r.Cookies() {
		n += len(c.Value)
	}
	return n
}

// cookiesealLogin returns a handler that stores vals in the session.
func cookiesealLogin(tb testing.TB, m *middleware.Manager, vals map[string]any) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		for k, v := range vals {
			if err := s.Set(k, v); err != nil {
				tb.Error(err)
			}
		}
	}))
}

// blobFor returns the blob length that makes cookieseal's cookie value
// about target bytes.
func blobFor(tb testing.TB, m *middleware.Manager, target int) int {
	if target == 0 {
		return 0
	}
	n := target * 3 / 4
	for range 4 {
		got := cookieBytes(login(tb, cookiesealLogin(tb, m, sizedValues(n))))
		n += (target - got) * 3 / 4
	}
	return n
}

// sizedImpl is one library at one size: its read and write handlers and
// a request carrying its session cookie.
type sizedImpl struct {
	name        string
	read, write http.Handler
	req         *http.Request
}

func sizedImpls(tb testing.TB, size sessionSize) (impls []sizedImpl, blob int) {
	m := cookiesealManager(tb, sizedOptions)
	blob = blobFor(tb, m, size.target)
	vals := sizedValues(blob)
	csReq := login(tb, cookiesealLogin(tb, m, vals))

	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeUID(w, 123456) })
	impls = append(impls, sizedImpl{"bare", bare, bare, csReq})

	csRead, csWrite := cookiesealHandlers(m)
	impls = append(impls, sizedImpl{"cookieseal", csRead, csWrite, csReq})

	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	sLogin := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range vals {
			sm.Put(r.Context(), k, v)
		}
	}))
	sRead, sWrite := scsHandlers(sm)
	impls = append(impls, sizedImpl{"scs", sRead, sWrite, login(tb, sLogin)})

	if store, gLogin, fits := gorillaStore("session", vals); fits {
		gRead, gWrite := gorillaHandlers(store, "session")
		impls = append(impls, sizedImpl{"gorilla-sessions", gRead, gWrite, login(tb, gLogin)})
	}
	return impls, blob
}

// BenchmarkSession measures read and write requests at every session
// size (see sessionSizes), each library in the same run; report
// overheads over bare of the same size and operation.
//
//	go test ./bench -run '^$' -bench '^BenchmarkSession$' -benchmem -count 10
func BenchmarkSession(b *testing.B) {
	for _, size := range sessionSizes {
		impls, blob := sizedImpls(b, size)
		b.Run("size="+size.name, func(b *testing.B) {
			for _, op := range []string{"read", "write"} {
				b.Run(op, func(b *testing.B) {
					for _, im := range impls {
						h := im.read
						if op == "write" {
							h = im.write
						}
						b.Run(im.name, func(b *testing.B) {
							w := httptest.NewRecorder()
							rq := *im.req
							h.ServeHTTP(w, &rq)
							if w.Code != http.StatusOK || w.Body.String() != "123456" {
								b.Fatalf("%s: %d %q", im.name, w.Code, w.Body.String())
							}
							wantCookie := op == "write" && im.name != "bare"
							if n := len(w.Result().Header.Values("Set-Cookie")); (n != 0) != wantCookie {
								b.Fatalf("%s %s: %d Set-Cookie lines", im.name, op, n)
							}
							b.ReportMetric(float64(cookieBytes(im.req)), "cookie-B")
							b.ReportMetric(float64(blob), "blob-B")
							b.ReportAllocs()
							cpuLoop(b, func() {
								resetRecorder(w)
								rq := *im.req
								h.ServeHTTP(w, &rq)
							})
						})
					}
				})
			}
		})
	}
}

// BenchmarkWriteParts measures, at every session size, the work a
// session write cannot avoid, each part alone with its inputs ready:
// open the request's cookie (base64url decode and XChaCha20-Poly1305
// open: also the whole of what a read cannot avoid), encode the session
// as JSON (encoding/json, the values as a map), seal it
// (XChaCha20-Poly1305 with the cipher built once), base64url it, and
// format its Set-Cookie lines (one per chunk of at most 3800 bytes) by
// appending their parts (the cheapest way; http.Cookie.String also
// re-validates the value). Run it beside BenchmarkSession, in the same
// command, to compare a write's overhead with the sum of its parts, and a
// read's with open.
//
//	go test ./bench -run '^$' -bench '^Benchmark(Session|WriteParts)$' -benchmem -cpu 1 -count 10
func BenchmarkWriteParts(b *testing.B) {
	for _, size := range sessionSizes {
		b.Run("size="+size.name, func(b *testing.B) { benchParts(b, size.target) })
	}
}

// partsChunk is the largest piece BenchmarkWriteParts puts in one
// Set-Cookie line, as the middleware cuts a value (MaxValueSize).
const partsChunk = 3800

func benchParts(b *testing.B, target int) {
	m := cookiesealManager(b, sizedOptions)
	vals := sizedValues(blobFor(b, m, target))
	payload, err := json.Marshal(vals)
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	sealed := aead.Seal(nil, nonce, payload, nil)
	value := base64.RawURLEncoding.EncodeToString(sealed)
	raw := make([]byte, len(sealed))
	plain := make([]byte, 0, len(payload))
	ct := make([]byte, 0, len(sealed))
	enc := make([]byte, 0, len(value))
	expires := time.Now().Add(24 * time.Hour)
	h := http.Header{}
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		cpuLoop(b, func() {
			n, err := base64.RawURLEncoding.Decode(raw, []byte(value))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aead.Open(plain[:0], nonce, raw[:n], nil); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		cpuLoop(b, func() {
			if _, err := json.Marshal(vals); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("seal", func(b *testing.B) {
		b.ReportAllocs()
		cpuLoop(b, func() {
			rand.Read(nonce)
			ct = aead.Seal(ct[:0], nonce, payload, nil)
		})
	})
	b.Run("base64", func(b *testing.B) {
		b.ReportAllocs()
		cpuLoop(b, func() {
			enc = base64.RawURLEncoding.AppendEncode(enc[:0], sealed)
		})
	})
	b.Run("line", func(b *testing.B) {
		b.ReportAllocs()
		line := make([]byte, 0, partsChunk+128)
		cpuLoop(b, func() {
			clear(h)
			for i, rest := 0, value; len(rest) > 0; i++ {
				piece := rest[:min(partsChunk, len(rest))]
				rest = rest[len(piece):]
				line = append(line[:0], "session"...)
				if len(value) > partsChunk {
					line = append(line, '.')
					line = strconv.AppendInt(line, int64(i), 10)
				}
				line = append(line, '=')
				line = append(line, piece...)
				line = append(line, "; Path=/; Expires="...)
				line = expires.UTC().AppendFormat(line, http.TimeFormat)
				line = append(line, "; Max-Age="...)
				line = strconv.AppendInt(line, 86400, 10)
				line = append(line, "; HttpOnly; Secure; SameSite=Lax"...)
				h["Set-Cookie"] = append(h["Set-Cookie"], string(line))
			}
		})
	})
}

// cpuLoop runs body in b.Loop and reports, besides the wall time, the
// process's CPU time (user + system, getrusage) per iteration as
// cpu-ns/op: on a shared machine, time spent waiting for a core does not
// count. Run with -cpu 1 so that only one thread runs Go code and the
// figure is the work of one request, garbage collection included.
func cpuLoop(b *testing.B, body func()) {
	start := cpuTime()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}

// cpuTime is the process's user + system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
