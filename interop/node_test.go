package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// requireNode is the variable CI sets so that a missing Node.js fails the
// tests instead of skipping them.
const requireNode = "COOKIESEAL_REQUIRE_NODE"

// skipOrFail skips the test with msg, or fails it when CI requires Node.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv(requireNode) == "1" {
		t.Fatalf("%s (%s=1 requires the Node interop tests)", msg, requireNode)
	}
	t.Skip(msg)
}

// needNode skips or fails the test, with a message saying what to
// install, unless node and the pinned packages are present. It returns
// node's path.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not found on PATH: install Node.js 20 or later to run the interop tests")
	}
	for _, pkg := range []string{"jose", "@auth/core"} {
		if _, err := os.Stat(filepath.Join("node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
			skipOrFail(t, "interop/node_modules/"+pkg+" is missing: run `npm ci --prefix interop` first")
		}
	}
	return node
}

// runNode runs the Node script with in as JSON on stdin and decodes its
// JSON stdout into out.
func runNode(t *testing.T, script string, in, out any) {
	t.Helper()
	node := needNode(t)
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Stdin = bytes.NewReader(js)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("node %s printed %q: %v", script, stdout.Bytes(), err)
	}
}
