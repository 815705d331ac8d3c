package app_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/jellyguard/jellyguard/"

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func short(path string) string { return strings.TrimPrefix(path, module) }

// TestImportsPointDown checks DESIGN §4's order, cmd → cli → app →
// gateway/web → signin → factor/device/shield → jellyfin/store/secret/
// audit/config: no arrow points up.
func TestImportsPointDown(t *testing.T) {
	// forbidden lists, per package prefix, what it must never import.
	forbidden := map[string][]string{
		"internal/gateway": {"internal/app", "internal/cli"},
		"internal/web":     {"internal/app", "internal/cli", "internal/gateway"},
		"internal/signin":  {"internal/app", "internal/cli", "internal/gateway", "internal/web"},
		"internal/shield":  {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin"},
		"internal/factor":  {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield"},
		"internal/device":  {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield"},
		"internal/tokens":  {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield"},
		"internal/store":   {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield", "internal/tokens", "net/http"},
		"internal/audit":   {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield", "internal/tokens"},
		"internal/config":  {"internal/app", "internal/cli", "internal/gateway", "internal/web", "internal/signin", "internal/shield", "internal/tokens", "internal/store"},
	}
	for _, p := range listPackages(t) {
		name := short(p.ImportPath)
		for prefix, bad := range forbidden {
			if name != prefix && !strings.HasPrefix(name, prefix+"/") {
				continue
			}
			for _, imp := range p.Imports {
				for _, b := range bad {
					if short(imp) == b || strings.HasPrefix(short(imp), b+"/") {
						t.Errorf("%s imports %s: the arrow points up", name, imp)
					}
				}
			}
		}
		if name == "internal/jellyfin" {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, module) {
					t.Errorf("internal/jellyfin imports %s: it speaks Jellyfin and imports nothing of ours", imp)
				}
			}
		}
	}
}

// TestOnlyAppConstructsTheParts: the parts' constructors are called from
// package app alone (tests aside), so serve, demo and the admin commands
// share one object graph.
func TestOnlyAppConstructsTheParts(t *testing.T) {
	constructors := map[string][]string{
		"tokens": {"New"}, "shield": {"New", "LoadBlockLists"}, "signin": {"New"}, "gateway": {"New"},
		"sqlite": {"Open"}, "secret": {"LoadOrCreate"}, "web": {"Handler"}, "geo": {"OpenPolicy"},
	}
	checked := 0
	for _, p := range listPackages(t) {
		if short(p.ImportPath) == "internal/app" {
			continue
		}
		for _, file := range p.GoFiles {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, file), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if ok && slices.Contains(constructors[x.Name], sel.Sel.Name) {
					t.Errorf("%s/%s calls %s.%s: only package app constructs the parts", short(p.ImportPath), file, x.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d files", checked)
	}
}
