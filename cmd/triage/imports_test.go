package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goList runs go list in the module and returns one line per package:
// its import path, then the paths it imports (not its tests').
func goList(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-f", `{{.ImportPath}} {{join .Imports " "}}`}, args...)...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %v: %v\n%s", args, err, stderr)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[f[0]] = f[1:]
	}
	return pkgs
}

func inSlack(pkg string) bool {
	return pkg == "triage/internal/slack" || strings.HasPrefix(pkg, "triage/internal/slack/")
}

// TestImportRules keeps the boundaries of the layout in README.md true:
// only internal/slack and its subpackages speak slack-go; alerts reach
// Slack through their own interface; message building does no I/O.
func TestImportRules(t *testing.T) {
	t.Parallel()
	for pkg, imports := range goList(t, "triage/...") {
		for _, imp := range imports {
			if (imp == "github.com/slack-go/slack" || strings.HasPrefix(imp, "github.com/slack-go/")) && !inSlack(pkg) {
				t.Errorf("%s imports %s: only internal/slack and its subpackages may", pkg, imp)
			}
		}
	}
	// Message building is pure: no HTTP, no database, no files, nothing of
	// Triage's but the root package.
	for _, imp := range goList(t, "triage/internal/slack/message")["triage/internal/slack/message"] {
		switch {
		case imp == "net/http", imp == "database/sql", imp == "os", imp == "net",
			strings.HasPrefix(imp, "triage/internal/"):
			t.Errorf("internal/slack/message imports %s: it builds and parses messages, and does no I/O", imp)
		}
	}
	for pkg := range goList(t, "-deps", "triage/internal/alert") {
		if inSlack(pkg) || strings.HasPrefix(pkg, "github.com/slack-go/") {
			t.Errorf("internal/alert depends on %s: it reaches Slack only through its Slack interface", pkg)
		}
	}
	// The web layer reads and writes through the services and the narrow
	// store interfaces of the root package, never the store itself.
	for _, imp := range goList(t, "triage/internal/web")["triage/internal/web"] {
		if imp == "triage/internal/store" {
			t.Errorf("internal/web imports internal/store: it talks to the interfaces in stores.go and the services")
		}
	}
}

// TestNoExportedVariableIsAssigned keeps package-level state out of
// Triage: an exported package-level variable is never assigned, changed
// through a field or an index, incremented or lent by address outside its
// declaration, so what a reader sees declared is what runs, and no
// package configures another through a global. (Tests may; they are not
// read here.)
func TestNoExportedVariableIsAssigned(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{.Dir}}|{{join .GoFiles ","}}`, "triage/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkgFiles struct {
		path  string
		files []*ast.File
	}
	fset := token.NewFileSet()
	var pkgs []pkgFiles
	exported := map[string]map[string]bool{} // import path -> variable names
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) < 3 || f[2] == "" {
			continue
		}
		p := pkgFiles{path: f[0]}
		exported[p.path] = map[string]bool{}
		for _, name := range strings.Split(f[2], ",") {
			file, err := parser.ParseFile(fset, filepath.Join(f[1], name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			p.files = append(p.files, file)
			for _, d := range file.Decls {
				if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
					for _, spec := range g.Specs {
						for _, n := range spec.(*ast.ValueSpec).Names {
							if n.IsExported() {
								exported[p.path][n.Name] = true
							}
						}
					}
				}
			}
		}
		pkgs = append(pkgs, p)
	}
	for _, p := range pkgs {
		for _, file := range p.files {
			imports := map[string]string{} // name in the file -> import path
			for _, im := range file.Imports {
				path := strings.Trim(im.Path.Value, `"`)
				name := path[strings.LastIndex(path, "/")+1:]
				if im.Name != nil {
					name = im.Name.Name
				}
				imports[name] = path
			}
			// target names the package-level variable that e changes, if any.
			target := func(e ast.Expr) (string, string, bool) {
				for {
					switch x := e.(type) {
					case *ast.ParenExpr:
						e = x.X
					case *ast.StarExpr:
						e = x.X
					case *ast.IndexExpr:
						e = x.X
					case *ast.SelectorExpr:
						if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil && imports[id.Name] != "" {
							return imports[id.Name], x.Sel.Name, exported[imports[id.Name]][x.Sel.Name]
						}
						e = x.X
					case *ast.Ident:
						// Obj is set for names declared in this file; a
						// local one is declared inside a function.
						local := x.Obj != nil && x.Obj.Pos() > 0 && !topLevel(file, x.Obj.Pos())
						return p.path, x.Name, !local && exported[p.path][x.Name]
					default:
						return "", "", false
					}
				}
			}
			report := func(e ast.Expr, how string) {
				if pkg, name, ok := target(e); ok {
					t.Errorf("%s: %s %s.%s: exported package-level variables are never changed after start",
						fset.Position(e.Pos()), how, pkg, name)
				}
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.AssignStmt:
					if x.Tok != token.DEFINE {
						for _, lhs := range x.Lhs {
							report(lhs, "assigns")
						}
					}
				case *ast.IncDecStmt:
					report(x.X, "changes")
				case *ast.UnaryExpr:
					if x.Op == token.AND {
						report(x.X, "takes the address of")
					}
				}
				return true
			})
		}
	}
}

// topLevel reports whether pos is in one of the file's package-level
// declarations rather than inside a function.
func topLevel(file *ast.File, pos token.Pos) bool {
	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Pos() <= pos && pos < g.End() {
			return true
		}
	}
	return false
}
