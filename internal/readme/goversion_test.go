package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README names the minimum Go that release/modules.txt gives every
// public module (and that `go run ./release check` holds each go.mod and
// go.work to): a user with that Go can use every public module.
func TestREADMEGoVersion(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(root, "release", "modules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(1\.\d+)(\.\d+)?\s*(#.*)?$`).FindStringSubmatch(string(manifest))
	if m == nil {
		t.Fatal("release/modules.txt has no go line")
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	claim := "Go " + m[1] + " or later"
	if !strings.Contains(string(readme), claim) {
		t.Errorf("README.md does not say %q, the minimum Go of every public module (release/modules.txt)", claim)
	}
	for _, other := range regexp.MustCompile(`Go 1\.\d+ or later`).FindAllString(string(readme), -1) {
		if other != claim {
			t.Errorf("README.md says %q; the public modules need %s", other, claim)
		}
	}
}
