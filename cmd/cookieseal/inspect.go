package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// maxInput bounds what inspect reads from standard input: a Cookie header
// line, chunk cookies included, is at most a few tens of kilobytes.
const maxInput = 256 << 10

// maxChunks and maxValue bound a value inspect joins from chunk cookies:
// generous, since inspect debugs whatever a client sent.
const (
	maxChunks = 64
	maxValue  = 1 << 20
)

// inspected is inspect's JSON output. The header appears only for an
// authentic value.
type inspected struct {
	Status        string          `json:"status"` // valid, expired or invalid
	Reason        string          `json:"reason,omitempty"`
	Format        string          `json:"format,omitempty"` // native or jwe, for an authentic value
	KeyID         uint32          `json:"key_id,omitempty"`
	KeyStatus     string          `json:"key_status,omitempty"`
	Epoch         *uint32         `json:"epoch,omitempty"`
	IssuedAt      *time.Time      `json:"issued_at,omitempty"`
	RefreshedAt   *time.Time      `json:"refreshed_at,omitempty"`
	ExpiresAt     *time.Time      `json:"expires_at,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	PayloadBase64 []byte          `json:"payload_base64,omitempty"`
}

func (e *env) inspect(args []string) error {
	fs := e.newFlags("inspect", "inspect (-file FILE | -env NAME) [-name COOKIE] < VALUE\n\nThe value may be in either format (native or JWE). The expiry rule is the one a\nsession manager with zero timeouts applies: the lifetime policy the key set\nrecords, else the defaults.")
	var ks keySource
	ks.add(fs, "the keys to open the value with")
	name := fs.String("name", middleware.DefaultName, "the cookie's name, which is its purpose (the name given to middleware.New; its default, "+middleware.DefaultName+", when New was given \"\")")
	value := fs.String("value", "", "the cookie value, refused without -insecure-value-in-argv; by default inspect reads from standard input a value or a Cookie header (chunk cookies NAME.0, NAME.1, … are joined)")
	insecure := fs.Bool("insecure-value-in-argv", false, "accept -value, though every user of this host can read the command line in the process list, and the shell keeps it in its history: the value is a live session")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := ks.check(); err != nil {
		return err
	}
	if *name == "" {
		return usagef("-name is empty: give the cookie's name (middleware.New's default is %s)", middleware.DefaultName)
	}
	if *value != "" && !*insecure {
		return usagef("-value puts a live session on the command line, where other users see it in the process list; write the value to standard input instead (or accept the risk with -insecure-value-in-argv)")
	}
	fmt.Fprintln(e.stderr, "cookieseal inspect: warning: this decrypts with the secret keys of "+ks.name()+" and prints the session's contents; treat the output as secret")

	v := *value
	if v != "" {
		fmt.Fprintln(e.stderr, "cookieseal inspect: warning: -value: the session cookie is visible in the process list and shell history; consider it leaked and revoke the session if this host is shared")
	} else {
		if f, ok := e.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintln(e.stderr, "cookieseal inspect: paste the cookie value or Cookie header, then press Ctrl-D")
			}
		}
		var err error
		if v, err = readValue(e.stdin, *name); err != nil {
			return err
		}
	}
	set, err := e.readKeys(ks)
	if err != nil {
		return err
	}
	kr, err := keyring.New(set)
	if err != nil {
		return err
	}
	// The timeouts and skew are the key set's recorded lifetime (the
	// codec takes them from kr), as for a manager that leaves them zero.
	opts := cookie.Options{Now: e.now}
	if len(v) > cookie.DefaultMaxValueSize && len(v) <= maxValue {
		opts.MaxValueSize = len(v) // a value joined from chunks
	}
	// The codec opens both formats (native and JWE), telling them apart
	// by the value's first bytes.
	codec, err := cookie.New(kr, *name, opts)
	if err != nil {
		return usageError{msg: err.Error()}
	}
	var out inspected
	payload, m, err := codec.Open(v)
	if err != nil {
		// Open it again with no deadline: if it opens, it is authentic
		// but expired (past a deadline, or from an epoch older than any
		// valid value's), and its header and payload are shown.
		// The longest timeouts a codec accepts: 400 days, and with epoch
		// keys no more epochs than the keyring caches.
		// It is built on the same keys with no recorded lifetime, which
		// would refuse timeouts longer than its own, and with the
		// recorded skew.
		lenient := opts
		longest := keyring.MaxTimeout
		if p := kr.EpochPeriod(); p != 0 {
			longest = min(longest, p*(keyring.MaxEpochWindow-2)-3*keyring.MaxClockSkew)
		}
		lenient.IdleTimeout, lenient.AbsoluteTimeout = longest, longest
		lenient.ClockSkew = set.Lifetime.WithDefaults().ClockSkew
		unrecorded := set.Clone()
		unrecorded.Lifetime = keyring.Lifetime{}
		lkr, lerr := keyring.New(unrecorded)
		if lerr != nil {
			return lerr
		}
		ls, lerr := cookie.New(lkr, *name, lenient)
		if lerr != nil {
			return lerr
		}
		var lm cookie.Meta
		if payload, lm, lerr = ls.Open(v); lerr != nil {
			out.Status, out.Reason = "invalid", err.Error()
			if werr := writeJSON(e.stdout, out); werr != nil {
				return werr
			}
			return fmt.Errorf("the value does not open with the keys of %s as cookie %q: %w", ks.name(), *name, err)
		}
		m = lm
		out.Status = "expired"
		out.Reason = strings.TrimPrefix(strings.TrimPrefix(err.Error(), cookie.ErrExpired.Error()+": "), cookie.ErrInvalid.Error()+": ")
	} else {
		out.Status = "valid"
	}
	k, _ := kr.Lookup(m.KeyID)
	deadline := codec.Deadline(m).UTC()
	out.Format = m.Format.String()
	out.KeyID, out.KeyStatus = m.KeyID, k.Status.String()
	out.Epoch, out.IssuedAt, out.RefreshedAt, out.ExpiresAt = &m.Epoch, opt(m.IssuedAt), opt(m.RefreshedAt), &deadline
	if json.Valid(payload) {
		out.Payload = payload
	} else {
		out.PayloadBase64 = payload
	}
	if err := writeJSON(e.stdout, out); err != nil {
		return err
	}
	if out.Status == "expired" {
		return exitError{exitExpired, fmt.Errorf("the value is authentic but expired (%s)", out.Reason)}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readValue reads a cookie value from r: either the bare value, or a
// Cookie header ("Cookie: a=1; name=VALUE") holding exactly one cookie
// called name.
func readValue(r io.Reader, name string) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	if len(data) > maxInput {
		return "", usagef("standard input is over %d bytes", maxInput)
	}
	s := string(bytes.TrimSpace(data))
	if s == "" {
		return "", usagef("no cookie value on standard input: write the value or a Cookie header to it, e.g. cookieseal inspect -file keys.json -name session < cookie.txt")
	}
	// A native value is unpadded base64url and a JWE one is dot-separated
	// base64url: neither holds '=' or ';', which a Cookie header does.
	if !strings.ContainsAny(s, "=; ") {
		return s, nil
	}
	if h, ok := strings.CutPrefix(s, "Cookie:"); ok {
		s = strings.TrimSpace(h)
	} else if h, ok := strings.CutPrefix(s, "cookie:"); ok {
		s = strings.TrimSpace(h)
	}
	cs, err := http.ParseCookie(s)
	if err != nil {
		return "", usagef("standard input is neither a cookie value nor a Cookie header")
	}
	// As the session manager reads: chunks name.0, name.1, … first, then
	// the plain cookie.
	joined, n, err := chunk.Join(cs, name, maxChunks, maxValue)
	switch {
	case err == nil:
		return joined, nil
	case !errors.Is(err, cookie.ErrNoChunks):
		return "", fmt.Errorf("the %d chunk cookies of %q do not join: %w", n, name, err)
	}
	var found []string
	for _, c := range cs {
		if c.Name == name {
			found = append(found, c.Value)
		}
	}
	switch len(found) {
	case 0:
		return "", usagef("no cookie named %q in the Cookie header", name)
	case 1:
		return found[0], nil
	}
	return "", usagef("%d cookies named %q in the Cookie header; write only the one to open to standard input", len(found), name)
}
