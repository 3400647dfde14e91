//go:build !wasip1

// Command wasip1 is built for GOOS=wasip1 only (see main.go); elsewhere
// it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "build with GOOS=wasip1 GOARCH=wasm and run under a WASI host such as wazero")
	os.Exit(2)
}
