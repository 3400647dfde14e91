package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sock"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/cookieseal/cookieseal/examples/edge/internal/flow"
	"github.com/cookieseal/cookieseal/keyring"
)

// TestServeUnderWazero builds this command for wasip1, runs it in
// wazero (the Go library, as an embedding host would) on a pre-opened
// loopback listener, and runs the login → read → logout flow over real
// HTTP connections, one per request, so a listener that stops after its
// first connection fails the test.
func TestServeUnderWazero(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; it builds the wasm")
	}
	wasmPath := filepath.Join(t.TempDir(), "app.wasm")
	build := exec.Command(goCmd, "build", "-o", wasmPath, ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	code, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kr.Set().MarshalString()
	if err != nil {
		t.Fatal(err)
	}

	// wazero opens the listener itself and does not tell the guest's port
	// back for port 0, so take a free loopback port from the OS first.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(os.TempDir(), "cookieseal-wazero-cache"))
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
	defer rt.Close(context.Background())
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled, err := rt.CompileModule(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stdoutW := io.Pipe()
	cfg := wazero.NewModuleConfig().WithArgs("app").WithEnv("COOKIESEAL_KEYS", keys).
		WithStdout(stdoutW).WithStderr(os.Stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
	sctx := sock.WithConfig(ctx, sock.NewConfig().WithTCPListener("127.0.0.1", port))
	done := make(chan error, 1)
	go func() {
		_, err := rt.InstantiateModule(sctx, compiled, cfg)
		stdoutW.CloseWithError(err)
		done <- err
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on") {
		t.Fatalf("guest said %q, %v", line, err)
	}
	go io.Copy(io.Discard, stdout)

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	flow.Run(t, flow.HTTP(client, base))
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the guest did not stop after its context was cancelled")
	}
}
