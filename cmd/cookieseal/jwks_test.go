package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/rotate"
)

// kids returns the kids of a JWK set, sorted, and fails t unless every
// key is an "oct" key for "dir" with 32 bytes.
func kids(t *testing.T, data []byte) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("not a JWK set: %v\n%s", err, data)
	}
	var out []string
	for _, k := range set.Keys {
		b, ok := k.Key.([]byte)
		if !ok || len(b) != 32 || k.Algorithm != "dir" || k.Use != "enc" {
			t.Fatalf("key %q: %T of %d bytes, alg %q, use %q; want 32 bytes for dir, enc", k.KeyID, k.Key, len(b), k.Algorithm, k.Use)
		}
		out = append(out, k.KeyID)
	}
	slices.Sort(out)
	return out
}

// threeKeys makes a key set file with a primary, a decrypt-only and a
// disabled key, and returns its path and the three IDs.
func threeKeys(t *testing.T, epoch time.Duration) (file string, primary, decryptOnly, disabled uint32) {
	t.Helper()
	return threeKeysFor(t, epoch, keyring.Lifetime{})
}

// threeKeysFor is threeKeys with a recorded lifetime policy.
func threeKeysFor(t *testing.T, epoch time.Duration, life keyring.Lifetime) (file string, primary, decryptOnly, disabled uint32) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "keys.json")
	var set keyring.Set
	for _, st := range []keyring.Status{keyring.StatusPrimary, keyring.StatusDecryptOnly, keyring.StatusDisabled} {
		k, err := keyring.GenerateKey(st, t0.Add(-48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, k)
	}
	set.EpochPeriod, set.Lifetime = epoch, life
	if err := rotate.CreateKeyFile(file, set); err != nil {
		t.Fatal(err)
	}
	return file, set.Keys[0].ID, set.Keys[1].ID, set.Keys[2].ID
}

func TestExportJWKS(t *testing.T) {
	file, primary, decryptOnly, _ := threeKeys(t, 0)
	r := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-i-know-this-prints-secrets")
	if r.code != exitOK {
		t.Fatalf("%+v", r)
	}
	want := []string{fmt.Sprint(primary), fmt.Sprint(decryptOnly)}
	slices.Sort(want)
	if got := kids(t, []byte(r.stdout)); !slices.Equal(got, want) {
		t.Fatalf("kids %v; want the enabled keys %v (not the disabled one)", got, want)
	}
	if !strings.Contains(r.stderr, "secret") || !strings.Contains(r.stderr, fmt.Sprintf("primary key %d", primary)) {
		t.Fatalf("stderr %q: want a warning and the primary's ID", r.stderr)
	}
	noSecrets(t, r, secrets(t, file)) // derived keys, never the master secrets

	// The same set from the one-line form in an environment variable.
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line, err := set.MarshalString()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_COOKIESEAL_KEYS", line)
	if r2 := runAt(t, t0, "", "keys", "export-jwks", "-env", "TEST_COOKIESEAL_KEYS", "-name", "session", "-i-know-this-prints-secrets"); r2.code != exitOK || r2.stdout != r.stdout {
		t.Fatalf("from -env: %+v; want the same set as from -file", r2)
	}
	// Another cookie name is another purpose: other keys, same kids.
	r3 := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "csrf", "-i-know-this-prints-secrets")
	if r3.code != exitOK || r3.stdout == r.stdout || !slices.Equal(kids(t, []byte(r3.stdout)), want) {
		t.Fatalf("for another name: %+v", r3)
	}
}

// TestExportJWKSEpochWindow: with epoch keys, the set holds the epochs
// still accepted under the lifetime policy the key set records.
func TestExportJWKSEpochWindow(t *testing.T) {
	epochs := func(absolute time.Duration) []string {
		file, primary, _, _ := threeKeysFor(t, time.Hour, keyring.Lifetime{AbsoluteTimeout: absolute, IdleTimeout: absolute / 2})
		r := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-i-know-this-prints-secrets")
		if r.code != exitOK {
			t.Fatalf("%+v", r)
		}
		var out []string
		for _, kid := range kids(t, []byte(r.stdout)) {
			if id, e, ok := strings.Cut(kid, "."); ok && id == fmt.Sprint(primary) {
				out = append(out, e)
			}
		}
		return out
	}
	// t0 is 10:00 UTC on an hour: epoch t0/1h is current; a 2h absolute
	// timeout (plus twice the 30s default skew) reaches back into epoch
	// t0/1h-3.
	now := t0.Unix() / 3600
	want := []string{fmt.Sprint(now - 3), fmt.Sprint(now - 2), fmt.Sprint(now - 1), fmt.Sprint(now)}
	if got := epochs(2 * time.Hour); !slices.Equal(got, want) {
		t.Fatalf("epochs with a recorded 2h absolute timeout: %v; want %v", got, want)
	}
	if got := epochs(5 * time.Hour); len(got) != 7 {
		t.Fatalf("epochs with a recorded 5h absolute timeout: %v; want 7", got)
	}
}

func TestExportJWKSOut(t *testing.T) {
	file, _, _, _ := threeKeys(t, 0)
	dir := t.TempDir()
	out := filepath.Join(dir, "jwks.json")
	r := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-out", out)
	if r.code != exitOK || !strings.Contains(r.stdout, "wrote "+out) {
		t.Fatalf("%+v", r)
	}
	noSecrets(t, r, secrets(t, file))
	printed := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-i-know-this-prints-secrets")
	data, err := os.ReadFile(out)
	if err != nil || string(data) != printed.stdout || strings.Contains(r.stdout, strings.TrimSpace(printed.stdout)) {
		t.Fatalf("file %q, %v; want the printed set, and not on standard output", data, err)
	}
	mode := func() os.FileMode {
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(); m != 0o600 {
		t.Fatalf("mode %v; want 0600", m)
	}
	if r := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-out", out); r.code != exitFail || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("over an existing file: %+v", r)
	}
	// -force replaces a file, and a loose mode with it.
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runAt(t, t0, "", "keys", "export-jwks", "-file", file, "-name", "session", "-out", out, "-force"); r.code != exitOK {
		t.Fatalf("-force: %+v", r)
	}
	if data, _ := os.ReadFile(out); string(data) != printed.stdout || mode() != 0o600 {
		t.Fatalf("after -force: %q, mode %v; want the set, mode 0600", data, mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files left in the directory: %v", ents)
	}
}

func TestExportJWKSUsage(t *testing.T) {
	file, _, _, _ := threeKeys(t, 0)
	out := filepath.Join(t.TempDir(), "jwks.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no consent and no file", []string{"-file", file, "-name", "session"}, "forges"},
		{"both destinations", []string{"-file", file, "-name", "session", "-out", out, "-i-know-this-prints-secrets"}, "give one"},
		{"-force without -out", []string{"-file", file, "-name", "session", "-force", "-i-know-this-prints-secrets"}, "-force"},
		{"no name", []string{"-file", file, "-i-know-this-prints-secrets"}, "-name"},
		{"no keys", []string{"-name", "session", "-i-know-this-prints-secrets"}, "-file or -env"},
		{"a key as an argument", []string{"-file", file, "-name", "session", "-i-know-this-prints-secrets", "AAAA"}, "unexpected argument"},
		{"a removed lifetime flag", []string{"-file", file, "-name", "session", "-i-know-this-prints-secrets", "-absolute", "1h"}, "-absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAt(t, t0, "", append([]string{"keys", "export-jwks"}, tt.args...)...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("%+v; want exit 2, nothing on standard output, %q on standard error", r, tt.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused command wrote %s: %v", out, err)
	}
}

// TestExportJWKSOpensManagerSessions is the peer's view: with only the
// exported JWK set and go-jose, a service reads a JWE session that the
// session manager sealed, and writes one back (sealed under the primary
// the command names) that the manager opens.
func TestExportJWKSOpensManagerSessions(t *testing.T) {
	file, _, _, _ := threeKeys(t, time.Hour)
	now := time.Now()
	set, err := rotate.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		t.Fatal(err)
	}
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, Codec: cookie.Options{Format: cookie.JWE}})
	if err != nil {
		t.Fatal(err)
	}
	// The manager seals a session (a login, then a value).
	login := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.SetSubject("ada"); err != nil {
			t.Error(err)
		}
		if err := s.Set("cart", 3); err != nil {
			t.Error(err)
		}
	})
	w := httptest.NewRecorder()
	m.Handler(login).ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
	var value string
	for _, c := range w.Result().Cookies() {
		if c.Name == m.Name() {
			value = c.Value
		}
	}
	if value == "" {
		t.Fatalf("the manager wrote no session cookie: %v", w.Header())
	}

	// The peer's key set, from the command.
	r := runAt(t, now, "", "keys", "export-jwks", "-file", file, "-name", m.Name(), "-i-know-this-prints-secrets")
	if r.code != exitOK {
		t.Fatalf("%+v", r)
	}
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.stdout), &jwks); err != nil {
		t.Fatal(err)
	}

	// Read: pick the key by the token's kid, decrypt.
	obj, err := jose.ParseEncryptedCompact(value, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	keys := jwks.Key(obj.Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("%d keys in the set for kid %q", len(keys), obj.Header.KeyID)
	}
	plain, err := obj.Decrypt(keys[0].Key)
	if err != nil {
		t.Fatalf("go-jose cannot open the manager's session with the exported set: %v", err)
	}
	var env struct {
		ID  string                     `json:"id"`
		Sub string                     `json:"sub"`
		D   map[string]json.RawMessage `json:"d"`
	}
	if err := json.Unmarshal(plain, &env); err != nil || env.Sub != "ada" || string(env.D["cart"]) != "3" {
		t.Fatalf("payload %s (%v); want subject ada, cart 3", plain, err)
	}
	// iat and rat are NumericDates without an exponent (seconds, with
	// the milliseconds as a fraction).
	f, ok := obj.Header.ExtraHeaders["iat"].(float64)
	if !ok {
		t.Fatalf("no iat in the header %v", obj.Header.ExtraHeaders)
	}
	iat := json.RawMessage(strconv.FormatFloat(f, 'f', -1, 64))

	// Write: the same session with cart 4, sealed under the primary's
	// newest epoch, as issued and refreshed then.
	var primaryKID string
	for _, k := range jwks.Keys {
		if id, _, _ := strings.Cut(k.KeyID, "."); strings.Contains(r.stderr, "primary key "+id+"\n") && k.KeyID > primaryKID {
			primaryKID = k.KeyID
		}
	}
	env.D["cart"] = json.RawMessage("4")
	payload, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.EncrypterOptions{}).WithHeader("iat", iat).WithHeader("rat", iat)
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: jwks.Key(primaryKID)[0].Key, KeyID: primaryKID}, opts)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := enc.Encrypt(payload)
	if err != nil {
		t.Fatal(err)
	}
	back, err := sealed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	var sub string
	var cart int
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		sub = s.Subject()
		cart, _, _ = middleware.Get[int](s, "cart")
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: m.Name(), Value: back})
	m.Handler(read).ServeHTTP(httptest.NewRecorder(), req)
	if sub != "ada" || cart != 4 {
		t.Fatalf("the manager read subject %q, cart %d from the peer's session; want ada, 4", sub, cart)
	}
}

// TestBinaryExportJWKS runs the built command: without a destination it
// refuses and prints nothing; -out writes a file of mode 0600, and the
// key material appears nowhere on the command line or in the output.
func TestBinaryExportJWKS(t *testing.T) {
	bin := buildBinary(t)
	file, _, _, _ := threeKeys(t, 0)
	if r := execBin(t, bin, "", "keys", "export-jwks", "-file", file, "-name", "session"); r.code != exitUsage || r.stdout != "" {
		t.Fatalf("without a destination: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "jwks.json")
	r := execBin(t, bin, "", "keys", "export-jwks", "-file", file, "-name", "session", "-out", out)
	if r.code != exitOK {
		t.Fatalf("%+v", r)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v; want mode 0600", out, fi.Mode(), err)
	}
	data, _ := os.ReadFile(out)
	kids(t, data)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		secret := base64.RawURLEncoding.EncodeToString(k.Key.([]byte))
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("the output shows key %s: %+v", k.KeyID, r)
		}
	}
}
