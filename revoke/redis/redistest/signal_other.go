//go:build !unix

package redistest

import "os"

// sigStop and sigCont do not exist outside Unix: Pause and Resume fail
// with the error os.Process.Signal returns. The package still builds, so
// that `go build ./...` and `go vet ./...` pass on every target (a test
// that needs redis-server skips there anyway: none runs).
var sigStop, sigCont os.Signal
