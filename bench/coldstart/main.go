// Command coldstart measures what cookieseal's slim codec path costs a
// process that starts, opens one cookie and exits: binary size (native,
// wasip1, gzipped) and cold start, natively and under wazero, against a
// hello-world program and a crypto floor (one AES-256-GCM open with no
// cookieseal code). Every figure is measured side by side in one run:
// the programs are built now, with the same flags, and run in a shuffled
// order each round, so machine noise hits them alike; medians are quoted.
//
//	go run ./bench/coldstart            # from the repository root
//	go run ./bench/coldstart -n 500 -wasm-n 100
//
// It needs the go command on PATH (it builds the three programs in
// progs/). Nothing here is timing-asserted; it prints a Markdown table.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

const pkg = "github.com/cookieseal/cookieseal/bench/coldstart/progs/"

var progs = []string{"hello", "floor", "codec"}

func main() {
	n := flag.Int("n", 300, "native runs per program")
	wn := flag.Int("wasm-n", 50, "wasm instantiate+run rounds per program")
	flag.Parse()
	if err := run(*n, *wn); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(n, wn int) error {
	env, err := inputs()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "coldstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	type bin struct{ native, wasm string }
	bins := map[string]bin{}
	for _, p := range progs {
		b := bin{filepath.Join(dir, p), filepath.Join(dir, p+".wasm")}
		if err := build(b.native, p, nil); err != nil {
			return err
		}
		if err := build(b.wasm, p, []string{"GOOS=wasip1", "GOARCH=wasm"}); err != nil {
			return err
		}
		bins[p] = b
	}

	fmt.Printf("%s, %s/%s, %d CPUs; built with -trimpath -ldflags='-s -w'\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Println("| program | native | wasip1 | wasip1 gzip -9 |")
	fmt.Println("|---|---:|---:|---:|")
	for _, p := range progs {
		ns, ws, gz, err := sizes(bins[p].native, bins[p].wasm)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %s | %s |\n", p, mb(ns), mb(ws), mb(gz))
	}

	// Native: exec each binary, wall time from Start to Wait.
	native := map[string][]time.Duration{}
	order := slices.Clone(progs)
	for range n {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, p := range order {
			cmd := exec.Command(bins[p].native)
			cmd.Env = env
			var out bytes.Buffer
			cmd.Stdout = &out
			t := time.Now()
			err := cmd.Run()
			d := time.Since(t)
			if err != nil || out.Len() == 0 {
				return fmt.Errorf("%s failed: %v", p, err)
			}
			native[p] = append(native[p], d)
		}
	}

	// wasip1 under wazero: compile once (what an edge runtime caches),
	// then instantiate and run to exit, each round.
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled := map[string]wazero.CompiledModule{}
	compile := map[string]time.Duration{}
	for _, p := range progs {
		code, err := os.ReadFile(bins[p].wasm)
		if err != nil {
			return err
		}
		t := time.Now()
		cm, err := rt.CompileModule(ctx, code)
		if err != nil {
			return err
		}
		compile[p] = time.Since(t)
		compiled[p] = cm
	}
	wasm := map[string][]time.Duration{}
	for range wn {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, p := range order {
			var out bytes.Buffer
			cfg := wazero.NewModuleConfig().WithName("").WithArgs(p).WithStdout(&out).WithStderr(os.Stderr).
				WithSysWalltime().WithSysNanotime().WithRandSource(cryptoReader{})
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				cfg = cfg.WithEnv(k, v)
			}
			t := time.Now()
			m, err := rt.InstantiateModule(ctx, compiled[p], cfg)
			d := time.Since(t)
			if ee := (*sys.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 0 {
				err = nil
			}
			if err != nil || out.Len() == 0 {
				return fmt.Errorf("%s.wasm failed: %v", p, err)
			}
			if m != nil {
				m.Close(ctx)
			}
			wasm[p] = append(wasm[p], d)
		}
	}

	fmt.Printf("\nCold start, median of %d native runs and %d wazero rounds, interleaved:\n\n", n, wn)
	fmt.Println("| program | native exec | vs hello | wazero compile (once) | wazero instantiate+run | vs hello |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	h, hw := median(native["hello"]), median(wasm["hello"])
	for _, p := range progs {
		m, mw := median(native[p]), median(wasm[p])
		fmt.Printf("| %s | %s | %+.2f ms | %s | %s | %+.2f ms |\n", p, ms(m), msf(m-h), ms(compile[p]), ms(mw), msf(mw-hw))
	}
	return nil
}

// inputs returns the environment the three programs read: a keyring and
// a cookie sealed under it for codec, a raw key and AES-GCM value of the
// same payload for floor.
func inputs() ([]string, error) {
	kr, err := keyring.Generate()
	if err != nil {
		return nil, err
	}
	keys, err := kr.Set().MarshalString()
	if err != nil {
		return nil, err
	}
	c, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		return nil, err
	}
	payload := []byte(`{"user_id":"4611686018427387905","role":"admin","csrf":"0123456789abcdef0123456789abcdef"}`)
	v, err := c.Seal(payload, time.Time{})
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	crand.Read(raw)
	b, _ := aes.NewCipher(raw)
	g, _ := cipher.NewGCM(b)
	nonce := make([]byte, g.NonceSize())
	crand.Read(nonce)
	rv := g.Seal(nonce, nonce, payload, nil)
	return []string{
		"PATH=/nonexistent",
		"COLDSTART_KEYS=" + keys,
		"COLDSTART_VALUE=" + v,
		"COLDSTART_RAWKEY=" + base64.RawURLEncoding.EncodeToString(raw),
		"COLDSTART_RAWVALUE=" + base64.RawURLEncoding.EncodeToString(rv),
	}, nil
}

func build(out, prog string, env []string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg+prog)
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0"}, env...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s %v: %w", prog, env, err)
	}
	return nil
}

func sizes(native, wasm string) (n, w, gz int64, err error) {
	st, err := os.Stat(native)
	if err != nil {
		return 0, 0, 0, err
	}
	code, err := os.ReadFile(wasm)
	if err != nil {
		return 0, 0, 0, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(code)
	zw.Close()
	return st.Size(), int64(len(code)), int64(buf.Len()), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func mb(n int64) string           { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }
func ms(d time.Duration) string   { return fmt.Sprintf("%.2f ms", msf(d)) }
func msf(d time.Duration) float64 { return float64(d) / 1e6 }

// cryptoReader feeds the guest crypto/rand's bytes.
type cryptoReader struct{}

func (cryptoReader) Read(p []byte) (int, error) { return crand.Read(p) }
