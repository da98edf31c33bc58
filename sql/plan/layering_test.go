package plan

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// forbiddenInSQL are the packages nothing under sql/ may import: sql/
// binds and plans; lower/ turns plans into executors and stream jobs,
// and only it reaches into exec/ and storage/.
var forbiddenInSQL = []string{"streamsql/exec", "streamsql/storage", "streamsql/engine", "streamsql/connector", "streamsql/lower"}

// pendingImports are the forbidden imports that are still there, until
// the planner emits logical relational plans and the lowerings move to
// lower/. The list may only shrink: a new forbidden import fails the test,
// and so does one that is gone but still listed.
var pendingImports = map[string][]string{}

// pendingTestImports are the forbidden imports of test files (internal
// and external test packages) still there: the planner's plan tests
// open a real pebble store for their catalog (storage), and lower and run
// the plans they print (exec, lower). Like pendingImports, the list may
// only shrink.
var pendingTestImports = map[string][]string{
	"streamsql/sql/planner": {"streamsql/exec", "streamsql/exec/batch", "streamsql/exec/expr", "streamsql/lower", "streamsql/storage"},
}

// forbidden returns the imports of imps that sql/ must not have, sorted
// and without duplicates.
func forbidden(imps ...[]string) []string {
	var bad []string
	for _, list := range imps {
		for _, imp := range list {
			for _, f := range forbiddenInSQL {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					bad = append(bad, imp)
				}
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func TestSQLLayering(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(root, "sql"), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() == "testdata" {
			return err
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := "streamsql/" + filepath.ToSlash(rel)
		seen[name] = true
		if bad, want := forbidden(pkg.Imports), pendingImports[name]; !slices.Equal(bad, want) {
			t.Errorf("%s imports %v, which sql/ must not (lower/ does); still allowed: %v", name, bad, want)
		}
		if bad, want := forbidden(pkg.TestImports, pkg.XTestImports), pendingTestImports[name]; !slices.Equal(bad, want) {
			t.Errorf("tests of %s import %v, which sql/ must not (lower/ does); still allowed: %v", name, bad, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pending := range []map[string][]string{pendingImports, pendingTestImports} {
		for name := range pending {
			if !seen[name] {
				t.Errorf("%s is listed as pending but was not found", name)
			}
		}
	}
	if !seen["streamsql/sql/plan"] {
		t.Fatal("the walk did not find sql/plan")
	}
}
