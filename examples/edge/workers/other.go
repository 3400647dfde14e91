//go:build !(js && wasm)

// Command workers is built for GOOS=js GOARCH=wasm only (see main.go);
// elsewhere it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "build with GOOS=js GOARCH=wasm and run in workerd (see worker.mjs and config.capnp)")
	os.Exit(2)
}
