// Command apicount counts a package's public surface the way the 1.0 API
// issue counts it: from the non-test files, every exported top-level
// type, func, var and const, and every exported method of an exported
// type; exported fields of exported struct types are counted apart.
//
//	go run ./internal/apicount ./keyring ./cookie ./middleware …
//
// With -v it lists the names too.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

var verbose = flag.Bool("v", false, "list the names")

func main() {
	flag.Parse()
	for _, dir := range flag.Args() {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var parsed []*ast.File
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			parsed = append(parsed, f)
		}
		var names []string
		fields := 0
		{
			for _, f := range parsed {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						if !d.Name.IsExported() {
							continue
						}
						if d.Recv != nil {
							t := d.Recv.List[0].Type
							if s, ok := t.(*ast.StarExpr); ok {
								t = s.X
							}
							if ix, ok := t.(*ast.IndexExpr); ok {
								t = ix.X
							}
							id, _ := t.(*ast.Ident)
							if id == nil || !id.IsExported() {
								continue
							}
							names = append(names, "method "+id.Name+"."+d.Name.Name)
						} else {
							names = append(names, "func "+d.Name.Name)
						}
					case *ast.GenDecl:
						for _, s := range d.Specs {
							switch s := s.(type) {
							case *ast.TypeSpec:
								if s.Name.IsExported() {
									names = append(names, "type "+s.Name.Name)
									if st, ok := s.Type.(*ast.StructType); ok {
										for _, fl := range st.Fields.List {
											for _, n := range fl.Names {
												if n.IsExported() {
													fields++
													names = append(names, "  field "+s.Name.Name+"."+n.Name)
												}
											}
										}
									}
									if it, ok := s.Type.(*ast.InterfaceType); ok {
										for _, m := range it.Methods.List {
											for _, n := range m.Names {
												names = append(names, "  imethod "+s.Name.Name+"."+n.Name)
											}
										}
									}
								}
							case *ast.ValueSpec:
								for _, n := range s.Names {
									if n.IsExported() {
										names = append(names, d.Tok.String()+" "+n.Name)
									}
								}
							}
						}
					}
				}
			}
		}
		sort.Strings(names)
		n := 0
		for _, s := range names {
			if !strings.HasPrefix(s, "  ") {
				n++
			}
		}
		fmt.Printf("## %s: %d identifiers, %d fields\n", filepath.Clean(dir), n, fields)
		if *verbose {
			for _, s := range names {
				fmt.Println("   ", s)
			}
		}
	}
}
