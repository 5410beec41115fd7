package main

import (
	"os/exec"
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
}
