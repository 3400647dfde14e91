package cookie

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestCodecStaysSlim checks, with `go list -deps`, that a program which
// only seals and opens values links none of the heavy packages that the
// rest of the module uses: net/http and net (chunk.Join lives in
// cookie/chunk), encoding/gob and gorilla/securecookie (cookie/gorilla),
// go-jose (the JWK set is written with encoding/json). Each of them costs
// binary size and start-up time at the edge. It checks every target the
// project ships for, since build tags can pull different files in.
func TestCodecStaysSlim(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no go command under wasm; the native run checks every target")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	forbidden := []string{"net", "net/http", "encoding/gob", "github.com/gorilla/securecookie", "github.com/go-jose/go-jose/v4"}
	for _, target := range []string{"linux/amd64", "darwin/arm64", "windows/amd64", "js/wasm", "wasip1/wasm"} {
		t.Run(strings.ReplaceAll(target, "/", "_"), func(t *testing.T) {
			goos, goarch, _ := strings.Cut(target, "/")
			cmd := exec.Command(goCmd, "list", "-deps", "github.com/cookieseal/cookieseal/cookie")
			cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list named %d packages; expected the codec's dependencies", len(deps))
			}
			for _, d := range deps {
				for _, f := range forbidden {
					if d == f || strings.HasPrefix(d, f+"/") && f != "net" {
						t.Errorf("package cookie links %s", d)
					}
				}
			}
		})
	}
}
