package interop

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// The Python tests run the files in interop/python under Debian's
// interpreter and packages. They skip with a message saying what to
// install unless COOKIESEAL_REQUIRE_PYTHON=1 (as CI sets), when they fail.
const (
	requirePython = "COOKIESEAL_REQUIRE_PYTHON"
	// envPython names another interpreter; default /usr/bin/python3, the
	// Debian one that sees the python3-* packages.
	envPython = "COOKIESEAL_PYTHON"
)

// pythonNeed is what one group of Python tests imports, probed once per
// test binary.
type pythonNeed struct {
	imports string   // the import statement's list: "nacl, redis"
	debs    []string // the Debian packages that provide them
	// pkg is set when the tests import the cookieseal package in
	// ../python too (the probe then runs with pythonEnv).
	pkg bool

	once sync.Once
	err  error
}

var (
	// pythonPeers: the peers of python/driver.py and the JOSE tests.
	pythonPeers = &pythonNeed{
		imports: "jwcrypto, authlib, jose, redis, fastapi, uvicorn",
		debs:    []string{"python3-jwcrypto", "python3-authlib", "python3-jose", "python3-redis", "python3-fastapi", "python3-uvicorn"},
	}
	// pythonCore: the cookieseal package's own dependencies.
	pythonCore = &pythonNeed{
		imports: "nacl, cryptography, redis",
		debs:    []string{"python3-nacl", "python3-cryptography", "python3-redis"},
	}
	// pythonFrameworks: the framework adapters and their frameworks.
	pythonFrameworks = &pythonNeed{
		imports: "django, flask, werkzeug, starlette, uvicorn, nacl, jwcrypto, redis, cookieseal, cookieseal.django, cookieseal.flask, cookieseal.starlette",
		debs:    []string{"python3-django", "python3-flask", "python3-starlette", "python3-uvicorn", "python3-nacl", "python3-jwcrypto", "python3-redis"},
		pkg:     true,
	}
)

// pythonPath is the interpreter: COOKIESEAL_PYTHON, or /usr/bin/python3.
func pythonPath() string {
	if path := os.Getenv(envPython); path != "" {
		return path
	}
	return "/usr/bin/python3"
}

// interpreter returns the interpreter's path, or skips (fails when
// COOKIESEAL_REQUIRE_PYTHON=1, as CI sets) saying what to install.
func (n *pythonNeed) interpreter(t *testing.T) string {
	t.Helper()
	path := pythonPath()
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, "-c", "import "+n.imports)
		what := n.imports
		if n.pkg {
			cmd.Env = pythonEnv()
			what += " (the cookieseal package from ../python)"
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			n.err = fmt.Errorf("%s cannot import %s: %v: %s", path, what, err, bytes.TrimSpace(out))
		}
	})
	if n.err != nil {
		msg := fmt.Sprintf("%v; install them (Debian: apt-get install %s) or set %s", n.err, strings.Join(n.debs, " "), envPython)
		if os.Getenv(requirePython) == "1" {
			t.Fatalf("%s (%s=1 requires the Python interop tests)", msg, requirePython)
		}
		t.Skip(msg)
	}
	return path
}

// pyOp is one operation of python/driver.py.
type pyOp map[string]any

type pyResult struct {
	ID      string          `json:"id"`
	Sub     string          `json:"sub"`
	D       json.RawMessage `json:"d"`
	F       json.RawMessage `json:"f"`
	KID     string          `json:"kid"`
	IatMS   int64           `json:"iat_ms"`
	RatMS   int64           `json:"rat_ms"`
	DL      int64           `json:"dl"` // the envelope's "dl", 0 if none
	P       *bool           `json:"p"`  // the envelope's "p", nil if none
	Token   string          `json:"token"`
	Cookies [][2]string     `json:"cookies"`
	Revoked *bool           `json:"revoked"`
	// Lifetime is the lifetime op's answer.
	Lifetime *pyLifetime `json:"lifetime"`
	Error    string      `json:"error"`
	Message  string      `json:"message"`
}

// runPython runs ops through python/driver.py in one process.
func runPython(t *testing.T, ops ...pyOp) []pyResult {
	t.Helper()
	py := pythonPeers.interpreter(t)
	in, err := json.Marshal(map[string]any{"ops": ops})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "driver.py")
	cmd.Dir = "python"
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") // no __pycache__ in the tree
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python driver.py: %v\n%s", err, stderr.Bytes())
	}
	var out struct{ Results []pyResult }
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("python driver.py printed %q: %v", stdout.Bytes(), err)
	}
	if len(out.Results) != len(ops) {
		t.Fatalf("python driver.py: %d results for %d ops", len(out.Results), len(ops))
	}
	return out.Results
}

// sameJSON reports whether two JSON texts hold the same value, numbers
// compared by their decimal text.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	for _, x := range []struct {
		b []byte
		v *any
	}{{a, &va}, {b, &vb}} {
		d := json.NewDecoder(bytes.NewReader(x.b))
		d.UseNumber()
		if err := d.Decode(x.v); err != nil {
			t.Fatalf("not JSON: %q: %v", x.b, err)
		}
	}
	return reflect.DeepEqual(va, vb)
}

func exportJWKS(t *testing.T, c *cookie.Codec) json.RawMessage {
	t.Helper()
	jwks, err := c.InsecureExportJWKSet()
	if err != nil {
		t.Fatal(err)
	}
	return jwks
}

// sealRaw seals payload as a dir/A256GCM JWE with any header, so that
// both sides can be shown the same bad values.
func sealRaw(t *testing.T, key []byte, header, payload string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	h := enc([]byte(header))
	iv := make([]byte, 12)
	rand.Read(iv)
	ct := gcm.Seal(nil, iv, []byte(payload), []byte(h))
	return h + ".." + enc(iv) + "." + enc(ct[:len(ct)-16]) + "." + enc(ct[len(ct)-16:])
}

// kind names the error class each side reports, to compare them.
func goKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, cookie.ErrExpired):
		return "expired"
	case errors.Is(err, cookie.ErrInvalid), errors.Is(err, cookie.ErrTooLarge):
		return "invalid"
	}
	return "other: " + err.Error()
}

func pyKind(r pyResult) string {
	switch r.Error {
	case "":
		return "ok"
	case "ExpiredSession":
		return "expired"
	case "InvalidSession", "TooLarge":
		return "invalid"
	}
	return "other: " + r.Error
}

// envelope is a session payload as the middleware writes it.
func envelope(id, sub string, d string) string {
	p := `{"id":"` + id + `"`
	if sub != "" {
		p += `,"sub":` + strconv.Quote(sub)
	}
	if d != "" {
		p += `,"d":` + d
	}
	return p + `}`
}

var pythonReaders = []string{"jwcrypto", "authlib", "jose"}
var pythonWriters = []string{"jwcrypto", "authlib"}

// TestPythonOpensOurJWE: values sealed by the Go codec open in each Python
// library, with our header times, plain and with 24h epoch keys, under
// the primary and a decrypt-only key.
func TestPythonOpensOurJWE(t *testing.T) {
	pythonPeers.interpreter(t)
	for _, tc := range []struct{ name, epoch string }{{"plain keys", ""}, {"epoch keys", ",epoch=24h"}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{time.UnixMilli(time.Now().UnixMilli()).Add(-time.Minute)}
			kr, rotated := testKeys(t, tc.epoch)
			c := newJWE(t, kr, "session", clk)
			payloads := []string{
				envelope("AAAAAAAAAAAAAAAAAAAAAA", "alice", `{"user_id":123456,"role":"admin"}`),
				envelope("BBBBBBBBBBBBBBBBBBBBBB", "Zoë {x}:%", `{"name":"Zoë 🍪","n":9007199254740993}`),
				envelope("CCCCCCCCCCCCCCCCCCCCCC", "", `{"blob":"`+strings.Repeat("x", 2500)+`"}`),
				`{"id":"DDDDDDDDDDDDDDDDDDDDDD","f":["Saved."],"future_member":1}`,
			}
			var tokens []string
			var metas []cookie.Meta
			for i, p := range payloads {
				sealer := c
				if i == 1 {
					sealer = newJWE(t, rotated, "session", clk) // key 2, decrypt-only in kr
				}
				v, err := sealer.Seal([]byte(p), clk.t.Add(-time.Hour-503*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				_, m, err := c.Open(v)
				if err != nil {
					t.Fatal(err)
				}
				tokens, metas = append(tokens, v), append(metas, m)
			}
			jwks := exportJWKS(t, c)
			var ops []pyOp
			for _, lib := range pythonReaders {
				for _, v := range tokens {
					ops = append(ops, pyOp{"op": "open", "lib": lib, "token": v, "jwks": jwks, "idle": 3600 * 2, "absolute": 86400, "now_ms": clk.t.UnixMilli()})
				}
			}
			res := runPython(t, ops...)
			for i, r := range res {
				lib, j := pythonReaders[i/len(tokens)], i%len(tokens)
				var want struct {
					ID  string          `json:"id"`
					Sub string          `json:"sub"`
					D   json.RawMessage `json:"d"`
					F   json.RawMessage `json:"f"`
				}
				if err := json.Unmarshal([]byte(payloads[j]), &want); err != nil {
					t.Fatal(err)
				}
				if want.D == nil {
					want.D = json.RawMessage(`{}`)
				}
				if want.F == nil {
					want.F = json.RawMessage(`[]`)
				}
				m := metas[j]
				if r.Error != "" || r.ID != want.ID || r.Sub != want.Sub || !sameJSON(t, r.D, want.D) || !sameJSON(t, r.F, want.F) {
					t.Errorf("%s, token %d: Python read %+v, want %s", lib, j, r, payloads[j])
					continue
				}
				if r.KID != fmtKIDBare(m) || r.IatMS != m.IssuedAt.UnixMilli() || r.RatMS != m.RefreshedAt.UnixMilli() {
					t.Errorf("%s, token %d: Python saw kid %s iat %d rat %d; Go has %s %d %d", lib, j, r.KID, r.IatMS, r.RatMS, fmtKIDBare(m), m.IssuedAt.UnixMilli(), m.RefreshedAt.UnixMilli())
				}
			}
		})
	}
}

func fmtKIDBare(m cookie.Meta) string {
	if m.Epoch == 0 {
		return strconv.FormatUint(uint64(m.KeyID), 10)
	}
	return fmt.Sprintf("%d.%d", m.KeyID, m.Epoch)
}

// TestPythonAndGoAgreeOnHeaders shows Go and each Python reader the same
// hand-made values: both must accept the same ones, with the same
// times, and refuse the rest with the same kind of error.
func TestPythonAndGoAgreeOnHeaders(t *testing.T) {
	pythonPeers.interpreter(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	clk := &clock{now}
	kr, _ := testKeys(t, "")
	c := newJWE(t, kr, "session", clk) // idle 1h, absolute 24h, skew 30s
	key, err := kr.InsecureExportDerivedKey(keyring.A256GCM, "session", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := bytes.Repeat([]byte{7}, 32)
	sec := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	hdr := func(iat, rat string) string {
		return `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + iat + `,"rat":` + rat + `}`
	}
	payload := envelope("EEEEEEEEEEEEEEEEEEEEEE", "alice", `{"k":1}`)
	cases := headerCases(now, sec, hdr)
	jwks := exportJWKS(t, c)
	tokens := make([]string, len(cases))
	var ops []pyOp // one Python process for every case and library
	for i, tc := range cases {
		k := key
		if tc.otherKey {
			k = otherKey
		}
		tokens[i] = sealRaw(t, k, tc.header, payload)
		if tc.tamper {
			tokens[i] = tamper(tokens[i])
		}
		for _, lib := range pythonReaders {
			ops = append(ops, pyOp{"op": "open", "lib": lib, "token": tokens[i], "jwks": jwks, "idle": 3600, "absolute": 86400, "now_ms": now.UnixMilli()})
		}
	}
	res := runPython(t, ops...)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, m, goErr := c.Open(tokens[i])
			if got := goKind(goErr); got != tc.want {
				t.Errorf("Go: %v (%s), want %s", goErr, got, tc.want)
			}
			for j, lib := range pythonReaders {
				r := res[i*len(pythonReaders)+j]
				if got := pyKind(r); got != tc.want {
					t.Errorf("%s: %s %q (%s), want %s", lib, r.Error, r.Message, got, tc.want)
				}
				if tc.want == "ok" && (r.IatMS != m.IssuedAt.UnixMilli() || r.RatMS != m.RefreshedAt.UnixMilli()) {
					t.Errorf("%s: iat %d rat %d ms; Go read %d %d", lib, r.IatMS, r.RatMS, m.IssuedAt.UnixMilli(), m.RefreshedAt.UnixMilli())
				}
			}
		})
	}
}

type headerCase struct {
	name     string
	header   string
	otherKey bool
	tamper   bool
	want     string // ok, invalid, expired
}

func headerCases(now time.Time, sec func(time.Duration) string, hdr func(iat, rat string) string) []headerCase {
	frac := func(d time.Duration, decimals string) string { return sec(d) + "." + decimals }
	return []headerCase{
		{"integer times", hdr(sec(-time.Hour), sec(-time.Minute)), false, false, "ok"},
		{"members in another order", `{"rat":` + sec(0) + `,"kid":"1","iat":` + sec(0) + `,"enc":"A256GCM","alg":"dir"}`, false, false, "ok"},
		{"millisecond times", hdr(frac(-time.Hour, "503"), frac(-time.Minute, "001")), false, false, "ok"},
		{"time.time() times, cut to the ms", hdr(frac(-time.Hour, "5038871"), frac(-time.Minute, "9999999")), false, false, "ok"},
		{"tampered", hdr(sec(-time.Hour), sec(-time.Minute)), false, true, "invalid"},
		{"another key under kid 1", hdr(sec(-time.Hour), sec(-time.Minute)), true, false, "invalid"},
		{"kid of an unknown key", `{"alg":"dir","enc":"A256GCM","kid":"9","iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
		{"kid as a number", `{"alg":"dir","enc":"A256GCM","kid":1,"iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
		{"kid with a leading zero", `{"alg":"dir","enc":"A256GCM","kid":"01","iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
		{"no kid", `{"alg":"dir","enc":"A256GCM","iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
		{"no rat", `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + sec(0) + `}`, false, false, "invalid"},
		{"extra typ", `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + sec(0) + `,"rat":` + sec(0) + `,"typ":"JWT"}`, false, false, "invalid"},
		{"zip", `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + sec(0) + `,"rat":` + sec(0) + `,"zip":"DEF"}`, false, false, "invalid"},
		{"iat twice", `{"alg":"dir","enc":"A256GCM","kid":"1","iat":` + sec(0) + `,"iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
		{"iat as a string", hdr(`"`+sec(0)+`"`, sec(0)), false, false, "invalid"},
		{"iat true", hdr(`true`, sec(0)), false, false, "invalid"},
		{"iat null", hdr(`null`, sec(0)), false, false, "invalid"},
		{"negative iat", hdr(`-1`, sec(0)), false, false, "invalid"},
		{"iat with an exponent", hdr(`1.7e9`, sec(0)), false, false, "invalid"},
		{"iat with a leading zero", hdr(`0`+sec(0), sec(0)), false, false, "invalid"},
		{"iat ending in a dot", hdr(sec(0)+`.`, sec(0)), false, false, "invalid"},
		{"iat in the future", hdr(sec(time.Hour), sec(time.Hour)), false, false, "invalid"},
		{"rat before iat", hdr(sec(-time.Minute), sec(-time.Hour)), false, false, "invalid"},
		{"rat before iat within ClockSkew", hdr(frac(-time.Minute, "501"), frac(-time.Minute-30*time.Second, "501")), false, false, "ok"},
		{"rat before iat by ClockSkew and 1 ms", hdr(frac(-time.Minute, "501"), frac(-time.Minute-30*time.Second, "5")), false, false, "invalid"},
		{"iat with 32 decimals", hdr(frac(-time.Hour, strings.Repeat("9", 32)), sec(0)), false, false, "ok"},
		{"iat with 33 decimals", hdr(frac(-time.Hour, strings.Repeat("9", 33)), sec(0)), false, false, "invalid"},
		{"idle expired", hdr(sec(-3*time.Hour), sec(-2*time.Hour)), false, false, "expired"},
		{"absolute expired", hdr(sec(-25*time.Hour), sec(-time.Minute)), false, false, "expired"},
		{"alg A256KW", `{"alg":"A256KW","enc":"A256GCM","kid":"1","iat":` + sec(0) + `,"rat":` + sec(0) + `}`, false, false, "invalid"},
	}
}

// TestOurJWEOpensPython: values sealed by jwcrypto and Authlib open in Go,
// through the codec and through the session manager, plain and with 24h
// epoch keys; the ones Go must refuse are refused.
func TestOurJWEOpensPython(t *testing.T) {
	pythonPeers.interpreter(t)
	for _, tc := range []struct{ name, epoch string }{{"plain keys", ""}, {"epoch keys", ",epoch=24h"}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.UnixMilli(time.Now().UnixMilli())
			clk := &clock{now}
			kr, _ := testKeys(t, tc.epoch)
			c := newJWE(t, kr, "session", clk)
			jwks := exportJWKS(t, c)
			// A key set of other secrets under the same kids.
			strangerKR := mustKeyring(t, "1:primary:"+strings.Repeat("B", 42)+"A"+tc.epoch)
			stranger := exportJWKS(t, newJWE(t, strangerKR, "session", clk))
			payload := envelope("FFFFFFFFFFFFFFFFFFFFFF", "alice", `{"n":9007199254740993,"name":"Zoë 🍪"}`)
			ms := func(d time.Duration) float64 { return float64(now.Add(d).UnixMilli()) / 1000 }
			type sealCase struct {
				name   string
				op     pyOp
				tamper bool
				want   string
				iatMS  int64 // for ok: the issued-at Go must read; 0 means check against Python's clock
			}
			var cases []sealCase
			for _, lib := range pythonWriters {
				base := func(extra pyOp) pyOp {
					op := pyOp{"op": "seal", "lib": lib, "jwks": jwks, "key_id": 1, "payload": payload, "iat": now.Add(-time.Hour).Unix(), "rat": now.Add(-time.Minute).Unix()}
					for k, v := range extra {
						op[k] = v
					}
					return op
				}
				cases = append(cases,
					sealCase{lib + ": integer times", base(nil), false, "ok", now.Add(-time.Hour).Unix() * 1000},
					sealCase{lib + ": millisecond times", base(pyOp{"iat": ms(-time.Hour - 497*time.Millisecond), "rat": ms(-time.Second)}), false, "ok", now.Add(-time.Hour - 497*time.Millisecond).UnixMilli()},
					sealCase{lib + ": time.time()", base(pyOp{"float_now": true}), false, "ok", 0},
					sealCase{lib + ": under decrypt-only key 2", base(pyOp{"key_id": 2}), false, "ok", now.Add(-time.Hour).Unix() * 1000},
					sealCase{lib + ": tampered", base(nil), true, "invalid", 0},
					sealCase{lib + ": another key under our kid", base(pyOp{"jwks": stranger}), false, "invalid", 0},
					sealCase{lib + ": idle expired", base(pyOp{"iat": now.Add(-3 * time.Hour).Unix(), "rat": now.Add(-2 * time.Hour).Unix()}), false, "expired", 0},
					sealCase{lib + ": absolute expired", base(pyOp{"iat": now.Add(-25 * time.Hour).Unix()}), false, "expired", 0},
					sealCase{lib + ": iat as a string", base(pyOp{"iat": strconv.FormatInt(now.Unix(), 10)}), false, "invalid", 0},
					sealCase{lib + ": negative iat", base(pyOp{"iat": -1}), false, "invalid", 0},
					sealCase{lib + ": iat in the future", base(pyOp{"iat": now.Add(time.Hour).Unix(), "rat": now.Add(time.Hour).Unix()}), false, "invalid", 0},
				)
			}
			// python-jose writes no iat/rat and a 16-byte IV: refused.
			cases = append(cases, sealCase{"jose: what python-jose writes", pyOp{"op": "seal", "lib": "jose", "jwks": jwks, "key_id": 1, "payload": payload}, false, "invalid", 0})
			ops := make([]pyOp, len(cases))
			for i, sc := range cases {
				ops[i] = sc.op
			}
			before := time.Now()
			res := runPython(t, ops...)
			after := time.Now()
			for i, sc := range cases {
				r := res[i]
				if r.Error != "" || r.Token == "" {
					t.Errorf("%s: Python did not seal: %s %s", sc.name, r.Error, r.Message)
					continue
				}
				v := r.Token
				if sc.tamper {
					v = tamper(v)
				}
				if sc.iatMS == 0 && sc.want == "ok" {
					clk.t = after // time.time() was read between before and after
				} else {
					clk.t = now
				}
				p, m, err := c.Open(v)
				if got := goKind(err); got != sc.want {
					t.Errorf("%s: Go Open = %v (%s), want %s", sc.name, err, got, sc.want)
					continue
				}
				if sc.want != "ok" {
					continue
				}
				if string(p) != payload {
					t.Errorf("%s: Go opened %q", sc.name, p)
				}
				if wantKID := r.KID; fmtKIDBare(m) != wantKID {
					t.Errorf("%s: Go read kid %s, Python wrote %s", sc.name, fmtKIDBare(m), wantKID)
				}
				if tc.epoch != "" && m.Epoch != kr.Epoch(now) && m.Epoch != kr.Epoch(now.Add(30*time.Second)) {
					t.Errorf("%s: Python sealed under epoch %d, current is %d", sc.name, m.Epoch, kr.Epoch(now))
				}
				if sc.iatMS != 0 && m.IssuedAt.UnixMilli() != sc.iatMS {
					t.Errorf("%s: Go read iat %d ms, want %d", sc.name, m.IssuedAt.UnixMilli(), sc.iatMS)
				}
				if sc.iatMS == 0 {
					lo, hi := before.UnixMilli(), after.UnixMilli()
					if got := m.IssuedAt.UnixMilli(); got < lo || got > hi || m.IssuedAt.Nanosecond()%int(time.Millisecond) != 0 {
						t.Errorf("%s: Go read time.time() as %v, want a whole ms in [%d, %d]", sc.name, m.IssuedAt, lo, hi)
					}
				}
			}
		})
	}
}

func mustKeyring(t *testing.T, s string) *keyring.Keyring {
	t.Helper()
	set, err := keyring.ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// tamper changes one character of a value's ciphertext to another
// base64url character.
func tamper(v string) string {
	b := []byte(v)
	i := len(b) - 30
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestPythonDocExamplesAreTested: every python block of the Python guide
// (docs/python.md) is copied from a file in interop/python (which the
// tests above run), python/examples (which python/tests and
// TestPythonFrameworksShareLogin run) or python/cookieseal, line for line,
// up to a common indentation.
func TestPythonDocExamplesAreTested(t *testing.T) {
	section, err := os.ReadFile("../docs/python.md")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pattern := range []string{"python/*.py", "../python/examples/*.py", "../python/cookieseal/*.py"} {
		f, err := filepath.Glob(pattern)
		if err != nil || len(f) == 0 {
			t.Fatalf("no %s files: %v", pattern, err)
		}
		files = append(files, f...)
	}
	var sources [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, strings.Split(string(b), "\n"))
	}
	blocks := 0
	for rest := string(section); ; {
		_, after, ok := strings.Cut(rest, "```python\n")
		if !ok {
			break
		}
		block, tail, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatal("unterminated python block")
		}
		rest = tail
		blocks++
		lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
		if !copiedFrom(lines, sources) {
			t.Errorf("docs/python.md python block %d is not in any of %s:\n%s", blocks, strings.Join(files, ", "), block)
		}
	}
	if blocks < 5 {
		t.Errorf("found %d python blocks in docs/python.md, want at least 5 (one complete example per framework)", blocks)
	}
}

// copiedFrom reports whether lines appear as consecutive lines of one of
// the sources, each source line being the doc line with the same
// indentation added in front (blank lines match blank lines).
func copiedFrom(lines []string, sources [][]string) bool {
	for _, src := range sources {
		for start := range src {
			indent, ok := "", true
			if start+len(lines) > len(src) {
				break
			}
			if l := src[start]; strings.HasSuffix(l, lines[0]) {
				indent = l[:len(l)-len(lines[0])]
				if strings.TrimSpace(indent) != "" {
					continue
				}
			} else {
				continue
			}
			for i, l := range lines {
				if s := src[start+i]; !(l == "" && strings.TrimSpace(s) == "") && s != indent+l {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}
