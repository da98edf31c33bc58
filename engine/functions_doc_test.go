package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"streamsql/engine"
	"streamsql/internal/doctest"
)

// TestFunctionsDocExamples runs the examples of docs/functions.md: each
// block marked <!-- functions: NAME --> runs statement by statement, and
// a query followed by a line "-- a | b" must return that one row.
func TestFunctionsDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/functions.md", "functions", 4)
}

// TestUserFunctionsDocExamples runs the examples of docs/user-functions.md
// (blocks marked <!-- user-functions: NAME -->) the same way.
func TestUserFunctionsDocExamples(t *testing.T) {
	runFunctionDocExamples(t, "docs/user-functions.md", "user-functions", 1)
}

func runFunctionDocExamples(t *testing.T, doc, marker string, min int) {
	blocks := doctest.Blocks(t, doc, "(?s)<!-- "+marker+": ([a-z-]+) -->\n```sql\n(.*?)```", min)
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	for _, b := range blocks {
		name, text := string(b[1]), string(b[2])
		// A "-- row" line after a query is its expected row.
		type step struct{ stmt, want string }
		var steps []step
		for _, part := range splitStatements(text) {
			lines := strings.Split(strings.TrimSpace(part), "\n")
			for len(lines) > 0 && strings.HasPrefix(lines[0], "-- ") {
				if len(steps) > 0 {
					steps[len(steps)-1].want = strings.TrimPrefix(lines[0], "-- ")
				}
				lines = lines[1:]
			}
			if st := strings.TrimSpace(strings.Join(lines, "\n")); st != "" {
				steps = append(steps, step{stmt: st})
			}
		}
		for _, sp := range steps {
			stmt, want := sp.stmt, sp.want
			// A CALL followed by a row returns its output parameters.
			if !strings.HasPrefix(stmt, "SELECT") && !(strings.HasPrefix(stmt, "CALL") && want != "") {
				if _, err := conn.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %s: %v", name, stmt, err)
				}
				continue
			}
			rows, err := conn.Query(ctx, stmt)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, stmt, err)
			}
			got, err := scanRows(rows, joinValues(" | ", func(v any) string {
				if m, ok := v.(map[string]any); ok {
					return jsonText(m)
				}
				return fmt.Sprint(v)
			}))
			if err != nil {
				t.Fatalf("%s: %s: %v", name, stmt, err)
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s: %s\n got %q\nwant %q", name, stmt, got, want)
			}
		}
	}
}

// jsonText renders a decoded jsonb value as the server prints it.
func jsonText(v any) string {
	var b strings.Builder
	var write func(v any)
	write = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			// jsonb orders keys by length, then bytes.
			sortJSONKeys(keys)
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%q: ", k)
				write(x[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteString(", ")
				}
				write(e)
			}
			b.WriteByte(']')
		case string:
			fmt.Fprintf(&b, "%q", x)
		default:
			fmt.Fprint(&b, x)
		}
	}
	write(v)
	return b.String()
}

func sortJSONKeys(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && (len(keys[j]) < len(keys[j-1]) || len(keys[j]) == len(keys[j-1]) && keys[j] < keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// splitStatements cuts text after each ";\n" outside $$ quotes.
func splitStatements(text string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(text); i++ {
		switch {
		case strings.HasPrefix(text[i:], "$$"):
			quoted = !quoted
			i++
		case !quoted && strings.HasPrefix(text[i:], ";\n"):
			out = append(out, text[start:i+2])
			start = i + 2
		}
	}
	return append(out, text[start:])
}
