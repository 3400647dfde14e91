package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
	rredis "github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

const (
	appIdle     = time.Hour
	appAbsolute = 24 * time.Hour
	// appMaxChunks is the Go app's MaxChunks, which its Python peers are
	// configured with too (both default to cookie.DefaultMaxChunks, 1).
	appMaxChunks = 4
)

// goApp is a Go web app on the session manager, in the JWE format with up
// to 4 chunks, on a real HTTP server.
type goApp struct {
	url    string
	m      *middleware.Manager
	jwks   json.RawMessage
	offset atomic.Int64 // added to the app's clock, to order a revocation after a login
}

func startGoApp(t *testing.T, kr *keyring.Keyring, rv revoke.Revoker) *goApp {
	t.Helper()
	a := &goApp{}
	now := func() time.Time { return time.Now().Add(time.Duration(a.offset.Load())) }
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true,
		Codec: cookie.Options{Format: cookie.JWE, IdleTimeout: appIdle, AbsoluteTimeout: appAbsolute, Now: now}, MaxChunks: appMaxChunks, Revoker: rv,
		RevokeCheckTimeout: 5 * time.Second, // agreement, not latency, is under test
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{IdleTimeout: appIdle, AbsoluteTimeout: appAbsolute, Format: cookie.JWE})
	if err != nil {
		t.Fatal(err)
	}
	a.m, a.jwks = m, exportJWKS(t, c)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		size := 0
		fmt.Sscan(r.URL.Query().Get("size"), &size)
		err := errors.Join(sess.Renew(), sess.SetSubject(r.URL.Query().Get("sub")),
			sess.Set("n", int64(9007199254740993)), sess.Set("blob", strings.Repeat("x", size)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		vals, err := sess.Values()
		if err != nil || len(vals) == 0 {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": sess.ID(), "sub": sess.Subject(), "d": vals})
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if err := sess.Destroy(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// do sends a request with cookies and returns the status, the body and
// the cookies the response set (not the ones it cleared).
func do(t *testing.T, method, url string, cookies []*http.Cookie) (int, string, []*http.Cookie) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			set = append(set, c)
		}
	}
	return resp.StatusCode, string(body), set
}

func pairs(cookies []*http.Cookie) [][2]string {
	var p [][2]string
	for _, c := range cookies {
		p = append(p, [2]string{c.Name, c.Value})
	}
	return p
}

func chunkCount(cookies []*http.Cookie) int {
	n := 0
	for _, c := range cookies {
		if strings.HasPrefix(c.Name, "session.") {
			n++
		}
	}
	return n
}

// TestPythonChunkedSessions: sessions of 1, 2 and 3 cookies written by the
// session manager are joined and opened by jwcrypto and Authlib, in any
// cookie order; sessions jwcrypto and Authlib seal and split open in the
// session manager; an incomplete set is refused by both.
func TestPythonChunkedSessions(t *testing.T) {
	pythonPeers.interpreter(t)
	kr, _ := testKeys(t, "")
	app := startGoApp(t, kr, nil)
	sizes := []struct{ size, chunks int }{{0, 0}, {4000, 2}, {7000, 3}}
	logins := make([][]*http.Cookie, len(sizes))
	var ops []pyOp // one Python process for every size and library
	for i, tc := range sizes {
		status, body, cookies := do(t, "POST", app.url+"/login?sub=alice&size="+fmt.Sprint(tc.size), nil)
		if status != 200 || chunkCount(cookies) != tc.chunks {
			t.Fatalf("Go login: %d %q, %d chunk cookies of %d, want %d chunks", status, body, chunkCount(cookies), len(cookies), tc.chunks)
		}
		logins[i] = cookies
		reversed := make([][2]string, len(cookies))
		for i, p := range pairs(cookies) {
			reversed[len(cookies)-1-i] = p
		}
		for _, lib := range pythonWriters {
			open := func(set [][2]string) pyOp {
				return pyOp{"op": "open", "lib": lib, "cookies": set, "name": "session", "jwks": app.jwks, "max_chunks": appMaxChunks}
			}
			ops = append(ops, open(pairs(cookies)), open(reversed))
			if tc.chunks > 0 {
				ops = append(ops, open(pairs(cookies[1:])), open(pairs(cookies[:len(cookies)-1])), open(append(pairs(cookies), pairs(cookies[:1])...)))
			}
			ops = append(ops, pyOp{"op": "seal", "lib": lib, "jwks": app.jwks, "key_id": 1, "split": true, "name": "session", "max_chunks": appMaxChunks,
				"payload": envelope("GGGGGGGGGGGGGGGGGGGGGG", "bob", `{"blob":"`+strings.Repeat("y", tc.size)+`"}`),
				"iat":     time.Now().Unix(), "rat": time.Now().Unix()})
		}
	}
	res := runPython(t, ops...)
	for i, tc := range sizes {
		cookies := logins[i]
		t.Run(fmt.Sprintf("%d chunks", tc.chunks), func(t *testing.T) {
			if tc.chunks > 0 {
				// The session manager refuses the incomplete sets Python must refuse.
				for i, set := range [][]*http.Cookie{cookies[1:], cookies[:len(cookies)-1]} {
					if status, body, _ := do(t, "GET", app.url+"/me", set); status != http.StatusUnauthorized {
						t.Errorf("Go opened incomplete set %d: %d %q", i, status, body)
					}
				}
				// A chunk carried twice is a duplicate copy for the session
				// manager (middleware's duplicate rule: the consistent set
				// that opens is the session), where Python refuses it.
				if status, body, _ := do(t, "GET", app.url+"/me", append(cookies[:len(cookies):len(cookies)], cookies[0])); status != http.StatusOK {
					t.Errorf("Go refused its own set with a chunk repeated: %d %q", status, body)
				}
			}
			for _, lib := range pythonWriters {
				per := 3
				if tc.chunks > 0 {
					per = 6
				}
				r := res[:per]
				res = res[per:]
				for _, got := range r[:2] {
					var d struct{ Blob string }
					json.Unmarshal(got.D, &d)
					if got.Error != "" || got.Sub != "alice" || len(d.Blob) != tc.size || !strings.Contains(string(got.D), "9007199254740993") {
						t.Errorf("%s read the Go session as %s %q, sub %q, %d-byte blob", lib, got.Error, got.Message, got.Sub, len(d.Blob))
					}
				}
				if tc.chunks > 0 {
					for i, name := range []string{"without the first chunk", "without the last chunk", "with a chunk twice"} {
						if got := r[2+i]; got.Error != "InvalidSession" && got.Error != "NoSession" {
							t.Errorf("%s opened a session %s: %+v", lib, name, got)
						}
					}
				}
				sealed := r[len(r)-1]
				if sealed.Error != "" || len(sealed.Cookies) != max(tc.chunks, 1) {
					t.Fatalf("%s sealed %d cookies (%s), want %d", lib, len(sealed.Cookies), sealed.Error, max(tc.chunks, 1))
				}
				var set []*http.Cookie
				for _, p := range sealed.Cookies {
					set = append(set, &http.Cookie{Name: p[0], Value: p[1]})
				}
				status, body, _ := do(t, "GET", app.url+"/me", set)
				var me struct {
					Sub string
					D   struct{ Blob string }
				}
				json.Unmarshal([]byte(body), &me)
				if status != 200 || me.Sub != "bob" || len(me.D.Blob) != tc.size {
					t.Errorf("Go read the %s session as %d %.80q", lib, status, body)
				}
			}
		})
	}
}

// TestPythonChunkDefaults: Go and Python share one MaxChunks default
// (cookie.DefaultMaxChunks, 1: no chunking). A Python writer left at the
// default raises TooManyChunks, saying what to change, for a session that
// needs two cookies, instead of writing cookies Go refuses; a small
// session is one cookie that a default Go manager reads (in its native
// format: it opens Python's JWE too). A session Python splits over two
// cookies anyway (max_chunks=2) is no session for a default Go manager,
// and is read by one configured with MaxChunks 2, the control that the
// chunk count is the reason.
func TestPythonChunkDefaults(t *testing.T) {
	pythonPeers.interpreter(t)
	kr, _ := testKeys(t, "")
	c, err := cookie.New(kr, "session", cookie.Options{Format: cookie.JWE})
	if err != nil {
		t.Fatal(err)
	}
	jwks := exportJWKS(t, c)
	now := time.Now().Unix()
	seal := func(lib, blob string, maxChunks int) pyOp {
		op := pyOp{"op": "seal", "lib": lib, "jwks": jwks, "key_id": 1, "split": true, "name": "session",
			"payload": envelope("GGGGGGGGGGGGGGGGGGGGGG", "bob", `{"blob":"`+blob+`"}`), "iat": now, "rat": now}
		if maxChunks != 0 {
			op["max_chunks"] = maxChunks
		}
		return op
	}
	var ops []pyOp
	for _, lib := range pythonWriters {
		ops = append(ops, seal(lib, strings.Repeat("y", 5000), 0), seal(lib, "y", 0), seal(lib, strings.Repeat("y", 5000), 2))
	}
	res := runPython(t, ops...)
	whoami := func(maxChunks int, cookies [][2]string) string {
		t.Helper()
		m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, MaxChunks: maxChunks})
		if err != nil {
			t.Fatal(err)
		}
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := middleware.From(r)
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprint(w, s.Subject())
		}))
		r := httptest.NewRequest("GET", "/", nil)
		for _, p := range cookies {
			r.AddCookie(&http.Cookie{Name: p[0], Value: p[1]})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	for i, lib := range pythonWriters {
		t.Run(lib, func(t *testing.T) {
			tooMany, small, two := res[3*i], res[3*i+1], res[3*i+2]
			if tooMany.Error != "TooManyChunks" || len(tooMany.Cookies) != 0 || !strings.Contains(tooMany.Message, "MaxChunks") {
				t.Errorf("Python wrote a session of two cookies under the default: %s %q, %d cookies", tooMany.Error, tooMany.Message, len(tooMany.Cookies))
			}
			if small.Error != "" || len(small.Cookies) != 1 || small.Cookies[0][0] != "session" {
				t.Fatalf("small session: %s %q, cookies %v", small.Error, small.Message, small.Cookies)
			}
			if got := whoami(0, small.Cookies); got != "bob" {
				t.Errorf("a default Go manager read Python's one-cookie session as %q", got)
			}
			if two.Error != "" || len(two.Cookies) != 2 {
				t.Fatalf("max_chunks=2: %s %q, %d cookies", two.Error, two.Message, len(two.Cookies))
			}
			if got := whoami(0, two.Cookies); got != "" {
				t.Errorf("a default Go manager read a session of two chunks as %q", got)
			}
			if got := whoami(2, two.Cookies); got != "bob" {
				t.Errorf("a Go manager with MaxChunks 2 read it as %q", got)
			}
		})
	}
}

// revocationCase is one question put to Go's Direct and to Python.
type revocationCase struct {
	name, id, sub string
	iatMS         int64
	want          bool
}

// agree asks Go's d and python/revocation.py (with the same prefix and
// v1 compatibility) about each case: both must give the wanted answer.
func agree(t *testing.T, d *rredis.Direct, port int, prefix string, v1Compat bool, cases []revocationCase) {
	t.Helper()
	var ops []pyOp
	for _, tc := range cases {
		ops = append(ops, pyOp{"op": "revoked", "host": "127.0.0.1", "port": port, "prefix": prefix, "v1_compat": v1Compat,
			"id": tc.id, "sub": tc.sub, "iat_ms": tc.iatMS})
	}
	res := runPython(t, ops...)
	for i, tc := range cases {
		err := d.Check(context.Background(), revoke.SessionRef{ID: tc.id, Subject: tc.sub, IssuedAt: time.UnixMilli(tc.iatMS)})
		if err != nil && !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("%s: Go Check: %v", tc.name, err)
		}
		goRevoked := errors.Is(err, revoke.ErrRevoked)
		r := res[i]
		if r.Error != "" || r.Revoked == nil {
			t.Errorf("%s: Python: %s %s", tc.name, r.Error, r.Message)
			continue
		}
		if goRevoked != tc.want || *r.Revoked != tc.want {
			t.Errorf("%s: Go revoked=%v, Python revoked=%v, want %v", tc.name, goRevoked, *r.Revoked, tc.want)
		}
	}
}

// TestPythonRevocationAgreesWithGo revokes through revoke/redis on a real
// redis-server, then asks revoke/redis's Direct and python/revocation.py
// about the same sessions: they must agree, case by case, in layout v2
// and in the v1 upgrade window.
func TestPythonRevocationAgreesWithGo(t *testing.T) {
	pythonPeers.interpreter(t)
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	now := time.Now()
	before := time.UnixMilli(now.UnixMilli()).Add(-time.Minute) // T, a whole ms
	until := now.Add(time.Hour)
	T := before.UnixMilli()

	t.Run("layout v2", func(t *testing.T) {
		d, err := rredis.NewDirect(client, rredis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []error{
			d.RevokeSession(ctx, "bare-id", "", until),
			d.RevokeSession(ctx, "alice-1", "alice", until),
			d.RevokeSubject(ctx, "bob", before, until),
			d.RevokeSubject(ctx, "Zoë {x}", before, until),
			d.RevokeSession(ctx, "id:with:colons", "carol:x%3A", until),
		} {
			if call != nil {
				t.Fatal(call)
			}
		}
		// Values no Go writer produces, as a damaged or hand-edited list has.
		far := fmt.Sprint(until.UnixMilli())
		for _, e := range [][3]string{
			{"", "bad-1", "soon"}, {"", "bad-2", "+" + far}, {"", "bad-3", "000" + far}, {"", "bad-4", "99999999999999999999"},
			{"mallory", "", "12:"}, {"oscar", "", fmt.Sprintf("%d:%s", T, " "+far)},
		} {
			kind := "s"
			if e[1] == "" {
				kind = "u"
			}
			if err := client.HSet(ctx, v2Bucket(e[0], e[1]), v2Field(kind, e[0], e[1]), e[2]).Err(); err != nil {
				t.Fatal(err)
			}
		}
		agree(t, d, srv.Port, rredis.DefaultPrefix, false, []revocationCase{
			{"session without subject", "bare-id", "", T - 1000, true},
			{"another session without subject", "other-id", "", T - 1000, false},
			{"the bare id under a subject", "bare-id", "alice", T - 1000, false},
			{"session of a subject", "alice-1", "alice", T - 1000, true},
			{"another session of that subject", "alice-2", "alice", T - 1000, false},
			{"that id without its subject", "alice-1", "", T - 1000, false},
			{"subject: issued 1 ms before", "b-1", "bob", T - 1, true},
			{"subject: issued in the same ms", "b-2", "bob", T, false},
			{"subject: issued 1 ms after", "b-3", "bob", T + 1, false},
			{"subject: issued long before", "b-4", "bob", T - 3600_000, true},
			{"another subject", "b-1", "bobby", T - 1, false},
			{"non-ASCII subject, 1 ms before", "z-1", "Zoë {x}", T - 1, true},
			{"non-ASCII subject, same ms", "z-1", "Zoë {x}", T, false},
			{"subject with ':' and '%'", "id:with:colons", "carol:x%3A", T, true},
			{"a look-alike split of that subject and id", "x%3A:id:with:colons", "carol", T, false},
			{"malformed session value", "bad-1", "", T, true},
			{"session value with a '+'", "bad-2", "", T, true},
			{"session value with leading zeros", "bad-3", "", T, true},
			{"session value past int64", "bad-4", "", T, true},
			{"malformed subject value", "m-1", "mallory", now.UnixMilli(), true},
			{"subject value with a space", "o-1", "oscar", now.UnixMilli(), true},
		})
	})

	t.Run("v1 upgrade window", func(t *testing.T) {
		const prefix = "compat:"
		d, err := rredis.NewDirect(client, rredis.Options{Prefix: prefix, V1Compat: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.RevokeSubject(ctx, "dan", before, until); err != nil { // both layouts
			t.Fatal(err)
		}
		// Entries only an instance still on v1 wrote: one string key each.
		for k, v := range map[string]string{
			prefix + "s:v1-bare":     fmt.Sprint(until.UnixMilli()),
			prefix + "{eve}:s:v1-e":  fmt.Sprint(until.UnixMilli()),
			prefix + "{fay%7B%7D}:u": fmt.Sprintf("%d:%d", T, until.UnixMilli()),
			prefix + "{gus}:u":       "garbage",
		} {
			if err := client.Set(ctx, k, v, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		cases := []revocationCase{
			{"written by this version", "d-1", "dan", T - 1, true},
			{"written by this version, same ms", "d-1", "dan", T, false},
			{"v1 session without subject", "v1-bare", "", T, true},
			{"v1 session of a subject", "v1-e", "eve", T, true},
			{"v1 subject with braces, 1 ms before", "f-1", "fay{}", T - 1, true},
			{"v1 subject with braces, same ms", "f-1", "fay{}", T, false},
			{"malformed v1 subject value", "g-1", "gus", T, true},
			{"not revoked anywhere", "h-1", "hal", T, false},
		}
		agree(t, d, srv.Port, prefix, true, cases)
		// Without V1Compat, neither side reads the v1 entries.
		d2, err := rredis.NewDirect(client, rredis.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		for i := range cases {
			cases[i].want = cases[i].name == "written by this version"
		}
		agree(t, d2, srv.Port, prefix, false, cases)
	})
}

// uvicorn runs python/fastapi_app.py on a loopback listener the test
// opens (port chosen by the OS, handed over as fd 3) until the test ends.
func uvicorn(t *testing.T, env ...string) string {
	t.Helper()
	py := pythonPeers.interpreter(t)
	cmd := exec.Command(py, "-m", "uvicorn", "--fd", "3", "--log-level", "warning", "fastapi_app:app")
	cmd.Dir = "python"
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), env...) // key set in the environment, never in argv
	return "http://" + serveOnLoopback(t, "uvicorn", cmd)
}

// TestFastAPIReadsGoSession: a FastAPI page, served by uvicorn over real
// HTTP, reads the sessions a Go app logs in (plain and chunked), refuses
// tampered and revoked ones as the Go app does, and logs users in with
// sessions the Go app reads.
func TestFastAPIReadsGoSession(t *testing.T) {
	pythonPeers.interpreter(t)
	srv := redistest.Start(t)
	// Generous store timeouts: this test is about agreement between Go and
	// Python, and a loaded CI machine can take more than the 100ms default.
	rv, err := rredis.NewDirect(srv.Client(t), rredis.Options{CheckTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := testKeys(t, "")
	// The app's timeouts, recorded once in the key set that both sides read.
	set := kr.Set()
	set.Lifetime = keyring.Lifetime{IdleTimeout: appIdle, AbsoluteTimeout: appAbsolute}
	kr, err = keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	app := startGoApp(t, kr, rv)
	py := uvicorn(t,
		"COOKIESEAL_JWKS="+string(app.jwks),
		"COOKIESEAL_COOKIE=session",
		"COOKIESEAL_WRITE_KEY_ID=1",
		"COOKIESEAL_KEYS="+keys,
		fmt.Sprintf("COOKIESEAL_MAX_CHUNKS=%d", appMaxChunks),
		"COOKIESEAL_REDIS_URL=redis://"+srv.Addr+"/0",
	)
	type me struct {
		ID, Sub string
		D       struct {
			N    json.Number
			Blob string
			From string
		}
	}
	read := func(t *testing.T, base string, cookies []*http.Cookie) (int, me, string) {
		t.Helper()
		status, body, _ := do(t, "GET", base+"/me", cookies)
		var m me
		if status == 200 {
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("%s/me: %q: %v", base, body, err)
			}
		}
		return status, m, body
	}
	login := func(t *testing.T, sub string, size int) []*http.Cookie {
		t.Helper()
		status, body, cookies := do(t, "POST", fmt.Sprintf("%s/login?sub=%s&size=%d", app.url, sub, size), nil)
		if status != 200 {
			t.Fatalf("Go login: %d %q", status, body)
		}
		return cookies
	}

	for _, tc := range []struct{ size, chunks int }{{0, 0}, {4000, 2}, {7000, 3}} {
		t.Run(fmt.Sprintf("Go login, %d chunks", tc.chunks), func(t *testing.T) {
			cookies := login(t, "alice", tc.size)
			if chunkCount(cookies) != tc.chunks {
				t.Fatalf("%d chunk cookies, want %d", chunkCount(cookies), tc.chunks)
			}
			goStatus, goMe, _ := read(t, app.url, cookies)
			status, m, body := read(t, py, cookies)
			if status != 200 || m.Sub != "alice" || m.ID != goMe.ID || m.D.N != "9007199254740993" || len(m.D.Blob) != tc.size || goStatus != 200 {
				t.Fatalf("FastAPI read %d %.120q; Go read %d %+v", status, body, goStatus, goMe.ID)
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		cookies := login(t, "alice", 0)
		bad := []*http.Cookie{{Name: "session", Value: tamper(cookies[0].Value)}}
		if status, _, body := read(t, py, bad); status != 401 || !strings.Contains(body, "InvalidSession") {
			t.Errorf("FastAPI: %d %q", status, body)
		}
		if status, _, body := read(t, app.url, bad); status != 401 {
			t.Errorf("Go: %d %q", status, body)
		}
	})
	t.Run("Go logout is refused on both sides", func(t *testing.T) {
		cookies := login(t, "dave", 4000)
		if status, _, body := read(t, py, cookies); status != 200 {
			t.Fatalf("before logout, FastAPI: %d %q", status, body)
		}
		if status, body, _ := do(t, "POST", app.url+"/logout", cookies); status != 200 {
			t.Fatalf("logout: %d %q", status, body)
		}
		if status, _, body := read(t, app.url, cookies); status != 401 {
			t.Errorf("Go still reads the logged-out session: %d %q", status, body)
		}
		if status, _, body := read(t, py, cookies); status != 401 || !strings.Contains(body, "RevokedSession") {
			t.Errorf("FastAPI still reads the logged-out session: %d %.120q", status, body)
		}
	})
	t.Run("Go logout everywhere is refused on both sides", func(t *testing.T) {
		cookies := login(t, "erin", 0)
		if status, _, body := read(t, py, cookies); status != 200 {
			t.Fatalf("before revocation, FastAPI: %d %q", status, body)
		}
		// Revoke a second later than the login on the app's clock (within
		// ClockSkew), so the login is strictly before the revocation.
		app.offset.Store(int64(time.Second))
		defer app.offset.Store(0)
		if err := app.m.RevokeSubject(context.Background(), "erin"); err != nil {
			t.Fatal(err)
		}
		app.offset.Store(0)
		if status, _, body := read(t, app.url, cookies); status != 401 {
			t.Errorf("Go still reads the revoked session: %d %q", status, body)
		}
		if status, _, body := read(t, py, cookies); status != 401 || !strings.Contains(body, "RevokedSession") {
			t.Errorf("FastAPI still reads the revoked session: %d %.120q", status, body)
		}
	})
	for _, tc := range []struct{ size, chunks int }{{0, 1}, {5000, 2}, {8000, 3}} {
		t.Run(fmt.Sprintf("FastAPI login read by Go, %d cookies", tc.chunks), func(t *testing.T) {
			status, body, cookies := do(t, "POST", fmt.Sprintf("%s/login?sub=frank&size=%d", py, tc.size), nil)
			if status != 204 || len(cookies) != tc.chunks {
				t.Fatalf("FastAPI login: %d %q, %d cookies, want %d", status, body, len(cookies), tc.chunks)
			}
			goStatus, m, goBody := read(t, app.url, cookies)
			if goStatus != 200 || m.Sub != "frank" || m.D.From != "fastapi" || len(m.D.Blob) != tc.size {
				t.Errorf("Go read the FastAPI session as %d %.120q", goStatus, goBody)
			}
			if status, _, body := read(t, py, cookies); status != 200 {
				t.Errorf("FastAPI: %d %q", status, body)
			}
		})
	}
}

// v2Bucket and v2Field follow the key layout v2 of revoke/redis/doc.go,
// written here from the specification, independently of the Python code.
func v2Bucket(subject, id string) string {
	src := subject
	if src == "" {
		src = id
	}
	return fmt.Sprintf("%sv2:{%03x}", rredis.DefaultPrefix, crc32.ChecksumIEEE([]byte(src))&1023)
}

func v2Field(kind, subject, id string) string {
	esub := strings.NewReplacer("%", "%25", ":", "%3A").Replace(subject)
	if kind == "u" {
		return "u:" + esub
	}
	return "s:" + esub + ":" + id
}

// TestPythonRevocationV2Layout writes entries into a real redis-server as
// the v2 layout specifies and checks what python/revocation.py makes of
// them: until in the past, the millisecond boundary of a subject entry,
// escaping, and malformed values (which revoke what they name).
func TestPythonRevocationV2Layout(t *testing.T) {
	pythonPeers.interpreter(t)
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	T := now - 60_000
	set := func(kind, subject, id, value string) {
		t.Helper()
		if err := client.HSet(ctx, v2Bucket(subject, id), v2Field(kind, subject, id), value).Err(); err != nil {
			t.Fatal(err)
		}
	}
	later, earlier := fmt.Sprint(now+3600_000), fmt.Sprint(now-1)
	set("s", "", "bare", later)
	set("s", "", "bare-over", earlier)
	set("s", "alice", "a-1", later)
	set("u", "bob", "", fmt.Sprintf("%d:%s", T, later))
	set("u", "old", "", fmt.Sprintf("%d:%s", T, earlier))
	set("u", "Zoë:50%", "", fmt.Sprintf("%d:%s", T, later))
	set("s", "carol:x%3A", "id:with:colons", later)
	set("s", "", "bad-value", "soon")
	set("u", "mallory", "", "12:")
	cases := []struct {
		name, id, sub string
		iatMS         int64
		want          bool
	}{
		{"session without subject", "bare", "", T, true},
		{"its until has passed", "bare-over", "", T, false},
		{"unknown session", "nobody", "", T, false},
		{"session of a subject", "a-1", "alice", T, true},
		{"that id with no subject", "a-1", "", T, false},
		{"subject: 1 ms before", "b", "bob", T - 1, true},
		{"subject: same ms", "b", "bob", T, false},
		{"subject: 1 ms after", "b", "bob", T + 1, false},
		{"subject entry past its until", "o", "old", T - 1, false},
		{"subject with ':' and '%', 1 ms before", "z", "Zoë:50%", T - 1, true},
		{"subject with ':' and '%', same ms", "z", "Zoë:50%", T, false},
		{"session of a subject with ':' and '%'", "id:with:colons", "carol:x%3A", T, true},
		{"a look-alike split of it", "x%3A:id:with:colons", "carol", T, false},
		{"malformed session value", "bad-value", "", T, true},
		{"malformed subject value", "m", "mallory", now, true},
	}
	var ops []pyOp
	for _, tc := range cases {
		ops = append(ops, pyOp{"op": "revoked", "host": "127.0.0.1", "port": srv.Port, "id": tc.id, "sub": tc.sub, "iat_ms": tc.iatMS, "now_ms": now})
	}
	for i, r := range runPython(t, ops...) {
		if r.Error != "" || r.Revoked == nil || *r.Revoked != cases[i].want {
			t.Errorf("%s: Python revoked=%v %s %s, want %v", cases[i].name, r.Revoked != nil && *r.Revoked, r.Error, r.Message, cases[i].want)
		}
	}
}
