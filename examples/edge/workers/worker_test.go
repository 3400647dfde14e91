package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/examples/edge/internal/flow"
	"github.com/cookieseal/cookieseal/keyring"
)

// TestServeInWorkerd builds this command for js/wasm, serves it from
// workerd (the Cloudflare Workers runtime, from npm: run `npm ci` in
// this directory) through worker.mjs, and runs the login → read →
// logout flow against it over HTTP. Without workerd it skips, unless
// COOKIESEAL_REQUIRE_WORKERD=1, when it fails.
func TestServeInWorkerd(t *testing.T) {
	workerd, err := filepath.Abs(filepath.Join("node_modules", ".bin", "workerd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(workerd); err != nil {
		msg := "workerd not installed: run `npm ci` in examples/edge/workers"
		if os.Getenv("COOKIESEAL_REQUIRE_WORKERD") == "1" {
			t.Fatal(msg + " (COOKIESEAL_REQUIRE_WORKERD=1)")
		}
		t.Skip(msg)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH; it builds the wasm")
	}
	goroot, err := exec.Command(goCmd, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	dir := t.TempDir()
	build := exec.Command(goCmd, "build", "-o", filepath.Join(dir, "app.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for src, dst := range map[string]string{
		"worker.mjs":   "worker.mjs",
		"config.capnp": "config.capnp",
		filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"): "wasm_exec.js",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kr.Set().MarshalString()
	if err != nil {
		t.Fatal(err)
	}

	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()

	var log strings.Builder
	cmd := exec.Command(workerd, "serve", "config.capnp", "--socket-addr", "http="+addr)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COOKIESEAL_KEYS="+keys)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("workerd output:\n%s", log.String())
		}
	})
	// Wait for the socket: bounded, on loopback.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	client := &http.Client{Timeout: 60 * time.Second}
	flow.Run(t, flow.HTTP(client, "http://"+addr))
}
