package engine_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// buildWasmFuncs compiles udf/wasm/testdata/funcs (Go, //go:wasmexport)
// into a WebAssembly module with the Go toolchain, as a user would.
func buildWasmFuncs(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "funcs.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "udf", "wasm", "testdata", "funcs")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the module: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// WebAssembly functions given as USING BASE64: ad hoc, in a materialized
// view (rows that fail go to rejects), a runaway module stopped by
// udf_timeout, and all of it again after a restart.
func TestUDFWasm(t *testing.T) {
	mod := buildWasmFuncs(t)
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_memory_limit": "64MB"}})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE pairs (id int PRIMARY KEY, a int, b int)",
		"INSERT INTO pairs VALUES (1, 12, 18), (2, 7, 5), (3, NULL, 4)",
		"CREATE FUNCTION wgcd(a int, b int) RETURNS int LANGUAGE wasm RETURNS NULL ON NULL INPUT USING BASE64 '"+mod+"'",
		"CREATE FUNCTION wcheck(x int) RETURNS int LANGUAGE wasm STRICT USING BASE64 '"+mod+"'",
		"CREATE FUNCTION wspin(x int) RETURNS int LANGUAGE wasm USING BASE64 '"+mod+"'",
		"CREATE MATERIALIZED VIEW g AS SELECT id, wgcd(a, b) AS g, wcheck(a - b) AS c FROM pairs")

	conn := s.connect(t)
	var g int
	if err := conn.QueryRow(ctx, "SELECT wgcd(84, 36)").Scan(&g); err != nil || g != 12 {
		t.Fatalf("wgcd(84, 36) = %d, %v", g, err)
	}
	var pe *pgconn.PgError
	_, err := conn.Exec(ctx, "SELECT wcheck(-1)")
	if !errors.As(err, &pe) || pe.Code != "38000" || pe.Message != "negative input" {
		t.Errorf("wcheck(-1): %v", err)
	}
	execAll(t, conn, "SET udf_timeout = '200ms'")
	_, err = conn.Exec(ctx, "SELECT wspin(1)")
	if !errors.As(err, &pe) || pe.Code != "38000" || !strings.Contains(pe.Message, "timed out after 200ms") {
		t.Errorf("wspin(1): %v", err)
	}
	var def string
	if err := conn.QueryRow(ctx, "SELECT pg_get_functiondef('wgcd'::regproc)").Scan(&def); err != nil || !strings.Contains(def, "LANGUAGE wasm") {
		t.Errorf("pg_get_functiondef: %q, %v", def, err)
	}
	conn.Close(ctx)

	s.execAll(t, "INSERT INTO pairs VALUES (4, 9, 6)", "FLUSH")
	checkRows(t, s, "SELECT id, g, c FROM g ORDER BY id", "1 6 <nil>|2 1 2|3 <nil> <nil>|4 3 3")
	s.restart(t)
	s.execAll(t, "INSERT INTO pairs VALUES (5, 100, 75)", "UPDATE pairs SET a = 30 WHERE id = 1", "FLUSH")
	checkRows(t, s, "SELECT id, g, c FROM g ORDER BY id", "1 6 12|2 1 2|3 <nil> <nil>|4 3 3|5 25 25")
	checkRows(t, s, "SELECT raw = '(-6)'::bytea, error FROM rejects WHERE job = 'g' AND partition = 'function wcheck(integer)'", "true negative input|true negative input")
}

func checkRows(t *testing.T, s *benchStack, q, want string) {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := scanRows(rows, joinValues(" ", func(v any) string {
		return strings.TrimSpace(strings.ReplaceAll(strings.Trim(fmtVal(v), "[]"), "\n", " "))
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, "|"); got != want {
		t.Errorf("%s:\n got %s\nwant %s", q, got, want)
	}
}

func fmtVal(v any) string {
	if v == nil {
		return "<nil>"
	}
	return strings.TrimSpace(strings.Trim(strings.ReplaceAll(fmtAny(v), "\n", " "), " "))
}

func fmtAny(v any) string { return fmt.Sprint(v) }
