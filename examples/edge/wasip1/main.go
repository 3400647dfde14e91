//go:build wasip1

// Command wasip1 serves package app from WebAssembly (GOOS=wasip1) on a
// listening socket that the host pre-opens as file descriptor 3, as
// wazero does (its CLI: `wazero run -listen 127.0.0.1:8080 app.wasm`;
// its Go API: experimental/sock.WithConfig). WASI preview 1 has no way
// to open a socket, only to accept on one it was given, and no outbound
// connections at all: the Revoker here is in memory (see "Forced
// logout at the edge" in docs/edge.md).
//
//	GOOS=wasip1 GOARCH=wasm go build -o app.wasm ./examples/edge/wasip1
//
// It prints "listening on ADDR" once it accepts. COOKIESEAL_KEYS holds
// the key text (keyring.ParseString).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"

	"github.com/cookieseal/cookieseal/examples/edge/app"
)

func main() {
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "wasip1:", err)
		os.Exit(1)
	}
}

func serve() error {
	kr, err := app.Keys(os.Getenv("COOKIESEAL_KEYS"))
	if err != nil {
		return fmt.Errorf("COOKIESEAL_KEYS: %w", err)
	}
	h, _, err := app.New(kr, app.Options())
	if err != nil {
		return err
	}
	// The pre-opened socket comes blocking: Go's runtime would then park
	// in accept after the first connection and serve nothing more. Make
	// it non-blocking so the netpoller drives it.
	if err := syscall.SetNonblock(3, true); err != nil {
		return fmt.Errorf("fd 3: %w", err)
	}
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return fmt.Errorf("fd 3 is not a listening socket: %w", err)
	}
	fmt.Println("listening on", ln.Addr())
	return http.Serve(ln, h)
}
