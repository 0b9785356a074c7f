// Package archtest checks the import rules of the layout with `go list`, so
// that an import running the wrong way fails the build's tests instead of
// waiting for a reviewer: the vocabulary depends on the standard library
// only, domains and stores never depend on HTTP (echo, validator, the routes
// and middleware packages, the assembly), domains never depend on a store,
// and nothing under gateway/ but the assembly and the CLI imports routes/.
package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/leadlex/api-gateway"

// pkg is what go list says about one package of the module.
type pkg struct {
	ImportPath   string
	Standard     bool
	Deps         []string
	TestImports  []string
	XTestImports []string
}

// rel is a package's path inside the module ("gateway/store/memory").
func (p pkg) rel() string { return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/") }

// listPackages runs go list once over the whole module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	// go test puts its own GOROOT/bin first on the PATH of the tests it runs.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go binary: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Standard,Deps,TestImports,XTestImports", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the pattern or the working directory is wrong", len(pkgs))
	}
	return pkgs
}

// under reports whether a module-relative path is dir or inside it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// httpDep reports whether an import path is HTTP-layer code: echo, the
// validator, or the module's routes, middleware, assembly or CLI.
func httpDep(path string) bool {
	rel, ours := strings.CutPrefix(path, module+"/")
	if !ours {
		return strings.HasPrefix(path, "github.com/labstack/echo") || strings.HasPrefix(path, "github.com/go-playground/validator")
	}
	return under(rel, "routes") || under(rel, "middleware") || under(rel, "gateway/server") || under(rel, "gateway/cli")
}

// storeDep reports whether an import path is one of the module's stores.
func storeDep(path string) bool {
	rel, ours := strings.CutPrefix(path, module+"/")
	return ours && under(rel, "gateway/store")
}

// routesDep reports whether an import path is under routes/.
func routesDep(path string) bool {
	rel, ours := strings.CutPrefix(path, module+"/")
	return ours && under(rel, "routes")
}

// domain reports whether a package is domain or infrastructure code under
// gateway/ that must know nothing of HTTP: everything there but the
// assembly, the CLI and the end-to-end tests. Stores are included.
func domain(rel string) bool {
	return under(rel, "gateway") && rel != "gateway" &&
		!under(rel, "gateway/server") && !under(rel, "gateway/cli") && !under(rel, "gateway/e2e")
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	rules := []struct {
		name string
		// applies selects the packages the rule is about.
		applies func(rel string) bool
		// bad lists what a package must not depend on, and why.
		bad func(p pkg) []string
	}{
		{
			name:    "vocabulary imports only the standard library",
			applies: func(rel string) bool { return rel == "gateway" },
			bad: func(p pkg) []string {
				var out []string
				for _, d := range p.Deps {
					if strings.Contains(strings.Split(d, "/")[0], ".") {
						out = append(out, d)
					}
				}
				return out
			},
		},
		{
			name:    "domains and stores depend on no HTTP package",
			applies: domain,
			bad:     func(p pkg) []string { return filter(p.Deps, httpDep) },
		},
		{
			name:    "domains depend on no store",
			applies: func(rel string) bool { return domain(rel) && !under(rel, "gateway/store") },
			bad:     func(p pkg) []string { return filter(p.Deps, storeDep) },
		},
		{
			name: "nothing under gateway/ but the assembly and the CLI imports routes/, tests included",
			applies: func(rel string) bool {
				return under(rel, "gateway") && !under(rel, "gateway/server") && !under(rel, "gateway/cli")
			},
			bad: func(p pkg) []string {
				all := slices.Concat(p.Deps, p.TestImports, p.XTestImports)
				return filter(all, routesDep)
			},
		},
		{
			name:    "config depends on no store and no HTTP package",
			applies: func(rel string) bool { return under(rel, "config") },
			bad:     func(p pkg) []string { return filter(p.Deps, func(d string) bool { return httpDep(d) || storeDep(d) }) },
		},
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for _, p := range pkgs {
				if !r.applies(p.rel()) {
					continue
				}
				checked++
				if bad := r.bad(p); len(bad) > 0 {
					slices.Sort(bad)
					t.Errorf("%s depends on %s", p.rel(), strings.Join(slices.Compact(bad), ", "))
				}
			}
			if checked == 0 {
				t.Error("the rule applies to no package: its selection is wrong")
			}
		})
	}
}

// filter returns the paths for which keep is true.
func filter(paths []string, keep func(string) bool) []string {
	var out []string
	for _, p := range paths {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}
