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
		if bad := forbidden(pkg.Imports); len(bad) > 0 {
			t.Errorf("%s imports %v, which sql/ must not (lower/ does)", name, bad)
		}
		if bad := forbidden(pkg.TestImports, pkg.XTestImports); len(bad) > 0 {
			t.Errorf("tests of %s import %v, which sql/ must not: tests that lower or run plans live in lower/", name, bad)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen["streamsql/sql/plan"] {
		t.Fatal("the walk did not find sql/plan")
	}
}
