package middleware_test

// The hot path keeps the opened payload and joined chunks in pooled
// buffers. Each test here can fail: session values handed out that alias
// the pooled payload (wiped at reset, refilled by the next request), a
// chunk set joined into the pooled buffer and read after the next join, a
// chunked write cut otherwise than cookie.Split or not read back.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

func bigString(seed, n int) string {
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "%d-%x.", seed, b.Len()*7919+seed)
	}
	return b.String()[:n]
}

func cookiesOf(w *httptest.ResponseRecorder) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.MaxAge >= 0 {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

func TestRetainedAcrossPool(t *testing.T) {
	for _, f := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now, Format: f}, MaxChunks: 4})
			type kept struct {
				s    string
				raw  json.RawMessage
				vals map[string]any
				fl   []json.RawMessage
				want string
			}
			var keptAll []kept
			var mu sync.Mutex
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				switch r.URL.Path {
				case "/set":
					v := r.URL.Query().Get("v")
					s.Set("big", bigString(len(v)*1000+int(v[len(v)-1]), 4000+int(v[len(v)-1])*10))
					s.Set("v", v)
					s.AddFlash("flash-" + v)
				case "/read":
					// materialize first
					s.Set("touched", true)
					v, _, _ := middleware.Get[string](s, "v")
					raw, _, _ := middleware.Get[json.RawMessage](s, "big")
					vals, _ := s.Values()
					fl, _ := middleware.PopFlashes[json.RawMessage](s)
					mu.Lock()
					keptAll = append(keptAll, kept{v, raw, vals, fl, r.URL.Query().Get("v")})
					mu.Unlock()
				}
				w.Write([]byte("ok"))
			}))
			var jars [][]*http.Cookie
			for i := range 8 {
				w := do(t, h, "GET", fmt.Sprintf("/set?v=val%d", i))
				jars = append(jars, cookiesOf(w))
				if len(jars[i]) < 2 {
					t.Fatalf("not chunked: %v", w.Header())
				}
			}
			for round := 0; round < 3; round++ {
				for i := range 8 {
					do(t, h, "GET", fmt.Sprintf("/read?v=val%d", i), jars[i]...)
				}
			}
			for _, k := range keptAll {
				if k.s != k.want {
					t.Fatalf("kept string %q want %q", k.s, k.want)
				}
				var big string
				if err := json.Unmarshal(k.raw, &big); err != nil || big != bigString(len(k.want)*1000+int(k.want[len(k.want)-1]), 4000+int(k.want[len(k.want)-1])*10) {
					t.Fatalf("kept raw changed: %v", err)
				}
				if k.vals["v"] != k.want || k.vals["big"] != bigString(len(k.want)*1000+int(k.want[len(k.want)-1]), 4000+int(k.want[len(k.want)-1])*10) {
					t.Fatalf("kept Values changed")
				}
				for _, fl := range k.fl {
					if string(fl) != `"flash-`+k.want+`"` {
						t.Fatalf("kept flash %q", fl)
					}
				}
			}
		})
	}
}

func TestConcurrentMaterialized(t *testing.T) {
	for _, f := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now, Format: f}, MaxChunks: 4, MaxFlashes: 64})
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				if r.URL.Path == "/set" {
					for i := range 10 {
						s.Set(fmt.Sprintf("k%d", i), bigString(i, 300))
						s.AddFlash(i)
					}
					return
				}
				var wg sync.WaitGroup
				for g := range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range 10 {
							key := fmt.Sprintf("k%d", i)
							v, ok, err := middleware.Get[string](s, key)
							if ok && (err != nil || v != bigString(i, 300)) && !strings.HasPrefix(v, "g") {
								t.Errorf("Get %s = %q %v", key, v, err)
							}
							if g%2 == 0 && i == g {
								s.Set(key, fmt.Sprintf("g%d", g))
							}
							if g == 3 {
								s.Delete("k9")
								s.AddFlash("x")
							}
							if g == 5 {
								middleware.PopFlashes[any](s)
							}
							s.Values()
						}
					}()
				}
				wg.Wait()
			}))
			w := do(t, h, "GET", "/set")
			c := cookiesOf(w)
			for range 5 {
				w2 := do(t, h, "GET", "/x", c...)
				if w2.Code != 200 {
					t.Fatal(w2.Code)
				}
			}
		})
	}
}

func TestDupChunkSets(t *testing.T) {
	for _, f := range []cookie.Format{cookie.Native, cookie.JWE} {
		t.Run(f.String(), func(t *testing.T) {
			clk := newClock()
			m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now, Format: f}, MaxChunks: 4})
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := middleware.From(r)
				switch r.URL.Path {
				case "/set":
					s.Set("big", bigString(1, 5000))
					s.Set("n", r.URL.Query().Get("n"))
				case "/read":
					n, ok, err := middleware.Get[string](s, "n")
					s.Set("extra", "e")
					big, _, _ := middleware.Get[string](s, "big")
					n2, _, _ := middleware.Get[string](s, "n")
					fmt.Fprintf(w, "%s|%v|%v|%v|%s", n, ok, err, big == bigString(1, 5000), n2)
				}
			}))
			w := do(t, h, "GET", "/set?n=1")
			old := cookiesOf(w)
			clk.Advance(2 * time.Hour)
			w = do(t, h, "GET", "/read", old...) // refresh -> newer copy
			if got := w.Body.String(); got != "1|true|<nil>|true|1" {
				t.Fatalf("first read %q", got)
			}
			newer := cookiesOf(w)
			if len(newer) < 2 {
				t.Fatalf("newer %v", newer)
			}
			// Both copies (an older and a newer chunk set of the same
			// session), interleaved in both orders: they disagree, so no
			// session (never a pick); the response clears both.
			for _, order := range [][]*http.Cookie{append(append([]*http.Cookie{}, old...), newer...), append(append([]*http.Cookie{}, newer...), old...)} {
				w = do(t, h, "GET", "/read", order...)
				if got := w.Body.String(); got != "|false|<nil>|false|" {
					t.Fatalf("dup read %q; set %v", got, w.Header()["Set-Cookie"])
				}
			}
			// Identical copies read as one.
			w = do(t, h, "GET", "/read", append(append([]*http.Cookie{}, newer...), newer...)...)
			if got := w.Body.String(); got != "1|true|<nil>|true|1" {
				t.Fatalf("identical copies %q", got)
			}
			// A stranger's extra index beyond the user's set: no session.
			extra := append(append([]*http.Cookie{}, newer...), &http.Cookie{Name: fmt.Sprintf("session.%d", len(newer)), Value: "AAAA"})
			w = do(t, h, "GET", "/read", extra...)
			if got := w.Body.String(); got != "|false|<nil>|false|" {
				t.Fatalf("extra index %q", got)
			}
			// A different session's chunks beside: ambiguous, no session.
			w3 := do(t, h, "GET", "/set?n=2")
			other := cookiesOf(w3)
			w = do(t, h, "GET", "/read", append(append([]*http.Cookie{}, newer...), other...)...)
			if got := w.Body.String(); got != "|false|<nil>|false|" {
				t.Fatalf("ambiguous %q", got)
			}
		})
	}
}

func TestChunkShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	refused, tooLarge, chunked := 0, 0, 0
	defer func() { t.Logf("refused %d tooLarge %d chunked %d", refused, tooLarge, chunked) }()
	for iter := 0; iter < 80; iter++ {
		clk := newClock()
		opts := middleware.Options{Codec: cookie.Options{Now: clk.Now, MaxValueSize: 500 + rng.IntN(3400)}, MaxChunks: 2 + rng.IntN(6)}
		if rng.IntN(2) == 0 {
			opts.Domain = strings.Repeat("a", 1+rng.IntN(60)) + ".example.com"
		}
		if rng.IntN(2) == 0 {
			opts.Path = "/" + strings.Repeat("p", rng.IntN(200))
		}
		if rng.IntN(3) == 0 {
			opts.Codec.Format = cookie.JWE
		}
		opts.BrowserSession = rng.IntN(2) == 0
		opts.InsecureNoHostPrefix = true
		m, err := middleware.New(testKeyring(t), "session", opts)
		if err != nil {
			refused++
			continue
		}
		size := rng.IntN(opts.Codec.MaxValueSize * opts.MaxChunks)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := middleware.From(r)
			if r.URL.Path == "/set" {
				s.Set("b", bigString(size, size))
				return
			}
			v, _, _ := middleware.Get[string](s, "b")
			fmt.Fprint(w, v == bigString(size, size))
		}))
		w := do(t, h, "GET", "/set")
		if w.Code != 200 {
			tooLarge++
			continue // too large
		}
		var chunks []string
		for _, line := range w.Header()["Set-Cookie"] {
			if len(line) > 4096 {
				t.Fatalf("line of %d bytes", len(line))
			}
		}
		byName := map[string]string{}
		for _, c := range w.Result().Cookies() {
			if c.MaxAge >= 0 {
				byName[c.Name] = c.Value
			}
		}
		if v, ok := byName["session"]; ok {
			chunks = []string{v}
		} else {
			for i := 0; ; i++ {
				v, ok := byName[fmt.Sprintf("session.%d", i)]
				if !ok {
					break
				}
				chunks = append(chunks, v)
			}
			if len(chunks) != len(byName) || len(chunks) > opts.MaxChunks {
				t.Fatalf("chunks %d names %v", len(chunks), len(byName))
			}
			for i, c := range chunks {
				if len(c) > opts.Codec.MaxValueSize || (i < len(chunks)-1 && len(c) != len(chunks[0])) || len(c) > len(chunks[0]) || len(c) == 0 {
					t.Fatalf("chunk %d of %d bytes (first %d, max %d)", i, len(c), len(chunks[0]), opts.Codec.MaxValueSize)
				}
			}
			chunked++
			joined := strings.Join(chunks, "")
			pieces, err := cookie.Split(joined, len(chunks[0]), opts.MaxChunks)
			if err != nil || strings.Join(pieces, "|") != strings.Join(chunks, "|") {
				t.Fatalf("differs from Split: %v", err)
			}
		}
		var cs []*http.Cookie
		for n, v := range byName {
			cs = append(cs, &http.Cookie{Name: n, Value: v})
		}
		w2 := do(t, h, "GET", "/get", cs...)
		if w2.Body.String() != "true" {
			t.Fatalf("read back %q (%d chunks, opts %+v)", w2.Body.String(), len(chunks), opts)
		}
	}
}

func TestLoadHeaderConcurrentCommit(t *testing.T) {
	clk := newClock()
	m := newManager(t, testKeyring(t), middleware.Options{Codec: cookie.Options{Now: clk.Now}, MaxChunks: 4})
	s, _ := m.LoadHeader(context.Background(), "example.com")
	s.Set("big", bigString(9, 6000))
	hdr, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, sc := range hdr["Set-Cookie"] {
		c, err := http.ParseSetCookie(sc)
		if err == nil && c.MaxAge >= 0 {
			if line != "" {
				line += "; "
			}
			line += c.Name + "=" + c.Value
		}
	}
	for round := 0; round < 30; round++ {
		s, _ := m.LoadHeader(context.Background(), "example.com", line)
		var wg sync.WaitGroup
		var kept []string
		var mu sync.Mutex
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					v, ok, err := middleware.Get[string](s, "big")
					if err != nil {
						return
					}
					if !ok || v != bigString(9, 6000) {
						t.Errorf("Get: %v %v", ok, len(v))
						return
					}
					s.Set("x", round)
					vals, err := s.Values()
					if err == nil {
						mu.Lock()
						kept = append(kept, vals["big"].(string))
						mu.Unlock()
					}
				}
			}()
		}
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for _, k := range kept {
			if k != bigString(9, 6000) {
				t.Fatal("kept value changed")
			}
		}
	}
}
