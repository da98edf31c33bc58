package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.slt", "sub/b.slt", "sub/c.slt.part", "sub/d.test", "notes.txt"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := expand([]string{dir, filepath.Join(dir, "*.slt"), filepath.Join(dir, "sub", "c.slt.part")})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, g := range got {
		r, _ := filepath.Rel(dir, g)
		rel = append(rel, r)
	}
	if want := "a.slt sub/b.slt sub/d.test sub/c.slt.part"; strings.Join(rel, " ") != want {
		t.Errorf("expand = %v, want %s", rel, want)
	}
	if _, err := expand([]string{filepath.Join(dir, "missing*.slt")}); err == nil {
		t.Error("a glob matching nothing is not an error")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"x.slt"},
		{"-dsn", "postgres://x", "-server", "bin", "x.slt"},
		{"-dsn", "postgres://x"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

// With PostgreSQL at hand, a run prints per-file lines and the total line,
// and exits 1 only when a record failed.
func TestRunAgainstPostgres(t *testing.T) {
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN not set")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.slt")
	bad := filepath.Join(dir, "bad.slt")
	os.WriteFile(good, []byte("statement ok\nCREATE TABLE t (a int)\n\nquery I\nSELECT count(*) FROM t\n----\n0\n"), 0o644)
	os.WriteFile(bad, []byte("query I\nSELECT 1\n----\n2\n\nskipif postgresql\nstatement ok\nnonsense\n"), 0o644)

	good2 := filepath.Join(dir, "good2.slt")
	data, _ := os.ReadFile(good)
	os.WriteFile(good2, data, 0o644)

	var out bytes.Buffer
	// Each file gets a fresh database, so both CREATE TABLEs succeed; a file
	// named twice runs once.
	if code := run([]string{"-dsn", dsn, "-engine", "postgresql", good, good2, good}, &out, &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if !strings.HasSuffix(out.String(), "\n4 passed, 0 failed, 0 skipped\n") {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"-dsn", dsn, "-engine", "postgresql", good, bad}, &out, &out); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.HasSuffix(out.String(), "\n2 passed, 1 failed, 1 skipped\n") || !strings.Contains(out.String(), "bad.slt:1: result mismatch") {
		t.Errorf("output:\n%s", out.String())
	}
}
