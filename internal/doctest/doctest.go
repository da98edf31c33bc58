// Package doctest reads the pages under docs/ for the tests that run their
// examples. A page marks an example with an HTML comment before its code
// blocks (<!-- run -->, <!-- functions: NAME -->, ...); a test finds the
// blocks with a regular expression and runs them, so the page and the
// behaviour it shows cannot drift apart.
package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// root is the repository's folder, found from this file's own place in it
// so that tests of any package name pages the same way.
func root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("doctest: cannot tell where the repository is")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Page returns the text of the page at path, relative to the repository
// (docs/security.md), failing t when it cannot be read.
func Page(t testing.TB, path string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// Block returns the submatches of the first match of expr in the page at
// path, failing t when the page has no such block.
func Block(t testing.TB, path, expr string) [][]byte {
	t.Helper()
	m := regexp.MustCompile(expr).FindSubmatch(Page(t, path))
	if m == nil {
		t.Fatalf("%s has no block matching %q", path, expr)
	}
	return m
}

// Blocks returns the submatches of every match of expr in the page at
// path, failing t when there are fewer than least.
func Blocks(t testing.TB, path, expr string, least int) [][][]byte {
	t.Helper()
	all := regexp.MustCompile(expr).FindAllSubmatch(Page(t, path), -1)
	if len(all) < least {
		t.Fatalf("%s has %d blocks matching %q, want at least %d", path, len(all), expr, least)
	}
	return all
}
