package readme

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// goRedis is the import path of the Redis client revoke/redis takes.
const goRedis = "github.com/redis/go-redis/v9"

// clientOptions are go-redis's client option types. revoke/redis
// (NewDirect, NewCached) refuses a client built from one without
// ContextTimeoutEnabled: true, at startup: without it go-redis ignores
// context deadlines on the socket.
var clientOptions = map[string]bool{
	"Options": true, "FailoverOptions": true, "ClusterOptions": true,
	"UniversalOptions": true, "RingOptions": true,
}

// TestDocRedisClientsBoundCalls checks rule 3 of docs_test.go: every
// go-redis client options literal of a ```go block in README.md and
// docs/*.md sets ContextTimeoutEnabled: true, so that no guide shows a
// program that stops at startup with "client options must set
// ContextTimeoutEnabled: true". The literal is found through the
// block's own import name for go-redis (goredis, redis, …).
func TestDocRedisClientsBoundCalls(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var literals int
	for _, b := range goBlocks(t, root) {
		for _, bad := range unboundedRedisOptions(t, b, &literals) {
			t.Errorf("%s:%d: %s literal without ContextTimeoutEnabled: true (revoke/redis refuses the client at startup; go-redis would ignore context deadlines)",
				b.doc, b.line+bad.line, bad.typ)
		}
	}
	if literals == 0 {
		t.Fatal("no go-redis options literal in README.md or docs/*.md: the check found nothing to check (docs/revocation.md has some)")
	}
}

type redisLiteral struct {
	typ  string // e.g. goredis.Options
	line int    // line within the block, 1-based
}

// unboundedRedisOptions returns the go-redis options literals of b that
// do not set ContextTimeoutEnabled to true, and counts every one in n.
func unboundedRedisOptions(t *testing.T, b block, n *int) []redisLiteral {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", b.code, 0)
	if err != nil {
		return nil // TestDocSnippetsCompile reports it
	}
	var names []string // the block's names for go-redis
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == goRedis {
			name := "redis"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	var bad []redisLiteral
	ast.Inspect(f, func(node ast.Node) bool {
		lit, ok := node.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := lit.Type.(*ast.SelectorExpr)
		if !ok || !clientOptions[sel.Sel.Name] {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok || !slices.Contains(names, pkg.Name) {
			return true
		}
		*n++
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			val, isIdent := kv.Value.(*ast.Ident)
			if ok && key.Name == "ContextTimeoutEnabled" && isIdent && val.Name == "true" {
				return true
			}
		}
		bad = append(bad, redisLiteral{typ: pkg.Name + "." + sel.Sel.Name, line: fset.Position(lit.Pos()).Line})
		return true
	})
	return bad
}
