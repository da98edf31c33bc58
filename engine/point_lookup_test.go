package engine_test

import (
	"strings"
	"testing"

	"streamsql/engine"
)

// TestPointLookupKeyEqualities: a point lookup whose key equality leaves
// the filter (the lookup enforces it) answers as PostgreSQL does for every
// argument, and one whose equality the key cannot enforce exactly (another
// type, floats, numeric scales, char(n) blanks, a second equality of the
// key) keeps its filter and answers as PostgreSQL does too.
func TestPointLookupKeyEqualities(t *testing.T) {
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE pl_i (id int PRIMARY KEY, v text)",
		"INSERT INTO pl_i VALUES (1, 'one'), (2, 'two'), (-2147483648, 'min')",
		"CREATE TABLE pl_t (k text PRIMARY KEY, v int)",
		"INSERT INTO pl_t VALUES ('x', 1), ('x ', 2), ('', 3)",
		"CREATE TABLE pl_n (k numeric PRIMARY KEY, v int)",
		"INSERT INTO pl_n VALUES (1.0, 1), (2.50, 2)",
		"CREATE TABLE pl_f (k float8 PRIMARY KEY, v int)",
		"INSERT INTO pl_f VALUES (0, 1), ('NaN', 2)",
		"CREATE TABLE pl_c (k char(3) PRIMARY KEY, v int)",
		"INSERT INTO pl_c VALUES ('ab', 1)",
		"CREATE TABLE pl_2 (a int, b text, v int, PRIMARY KEY (a, b))",
		"INSERT INTO pl_2 VALUES (1, 'p', 10), (1, 'q', 11), (2, 'p', 20)",
		"CREATE TABLE pl_ts (k timestamptz PRIMARY KEY, v int)",
		"INSERT INTO pl_ts VALUES ('2026-01-01 00:00:00+00', 1)",
	)
	for _, c := range []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT v FROM pl_i WHERE id = $1", []any{1}, "one"},
		{"SELECT v FROM pl_i WHERE id = $1", []any{3}, ""},
		{"SELECT v FROM pl_i WHERE id = $1", []any{nil}, ""},
		{"SELECT v FROM pl_i WHERE id = $1", []any{int32(-2147483648)}, "min"},
		{"SELECT v FROM pl_i WHERE id = $1 % 100", []any{102}, "two"},
		{"SELECT v FROM pl_i WHERE id = $1::bigint", []any{int64(1)<<32 + 1}, ""},
		{"SELECT v FROM pl_i WHERE id = $1::bigint", []any{int64(2)}, "two"},
		{"SELECT v FROM pl_i WHERE id = 1 AND id = 2", nil, ""},
		{"SELECT v FROM pl_i WHERE id = 2 AND id = 2", nil, "two"},
		{"SELECT v FROM pl_i WHERE id = 2 AND v = 'one'", nil, ""},
		{"SELECT v FROM pl_t WHERE k = $1", []any{"x"}, "1"},
		{"SELECT v FROM pl_t WHERE k = $1", []any{"x "}, "2"},
		{"SELECT v FROM pl_t WHERE k = $1", []any{""}, "3"},
		{"SELECT v FROM pl_n WHERE k = $1", []any{"1.00"}, "1"},
		{"SELECT v FROM pl_n WHERE k = 2.5", nil, "2"},
		{"SELECT v FROM pl_f WHERE k = $1", []any{"-0"}, "1"},
		{"SELECT v FROM pl_f WHERE k = 'NaN'", nil, "2"},
		{"SELECT v FROM pl_c WHERE k = $1", []any{"ab "}, "1"},
		{"SELECT v FROM pl_c WHERE k = 'ab'", nil, "1"},
		{"SELECT v FROM pl_2 WHERE a = $1 AND b = $2", []any{1, "q"}, "11"},
		{"SELECT v FROM pl_2 WHERE a = $1 ORDER BY v", []any{1}, "10,11"},
		{"SELECT v FROM pl_2 WHERE b = $1 AND a = $2", []any{"p", 2}, "20"},
		{"SELECT v FROM pl_ts WHERE k = $1::timestamptz", []any{"2026-01-01 01:00:00+01"}, "1"},
	} {
		got := strings.Join(queryStrings(t, conn, c.q, c.args...), ",")
		if got != c.want {
			t.Errorf("%s %v: got %q, want %q", c.q, c.args, got, c.want)
		}
	}
	// The integer and text key equalities leave no filter behind.
	for _, q := range []string{"SELECT v FROM pl_i WHERE id = 1", "SELECT v FROM pl_2 WHERE a = 1 AND b = 'p'"} {
		plan := strings.Join(queryStrings(t, conn, "EXPLAIN "+q), "\n")
		if strings.Contains(plan, "Filter") || !strings.Contains(plan, "Point lookup") {
			t.Errorf("%s:\n%s", q, plan)
		}
	}
}
