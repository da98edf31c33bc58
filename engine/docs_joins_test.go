package engine_test

import (
	"os"
	"strings"
	"testing"

	"streamsql/engine"
)

// docExample is a fenced ```sql block of a docs page and the ```text block
// right after it, if any: the rows its last statement returns, one a
// line, columns separated by " | ", NULL for NULL.
type docExample struct {
	sql  string
	want []string
	has  bool
}

// docExampleBlocks returns the sql blocks of a markdown page that are
// meant to run: those after the text marker up to the next heading, in
// order.
func docExampleBlocks(t *testing.T, path, marker string) []docExample {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	at := strings.Index(text, marker)
	if at < 0 {
		t.Fatalf("%s: no %q", path, marker)
	}
	var out []docExample
	lines := strings.Split(text[at:], "\n")
	for i := 1; i < len(lines); i++ {
		switch strings.TrimSpace(lines[i]) {
		case "```sql":
			var sb strings.Builder
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				sb.WriteString(lines[i] + "\n")
			}
			out = append(out, docExample{sql: sb.String()})
		case "```text":
			if len(out) == 0 {
				t.Fatalf("%s: a result block before any sql block", path)
			}
			blk := &out[len(out)-1]
			blk.has = true
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				blk.want = append(blk.want, strings.TrimSpace(lines[i]))
			}
		default:
			if strings.HasPrefix(lines[i], "#") {
				return out
			}
		}
	}
	return out
}

// runDocBlocks runs the blocks against a fresh server and compares each
// block's result with the text below it.
func runDocBlocks(t *testing.T, path, marker string) {
	runDocBlocksWith(t, path, marker, engine.Options{})
}

// runDocBlocksWith is runDocBlocks on an engine opened with opts.
func runDocBlocksWith(t *testing.T, path, marker string, opts engine.Options) {
	blocks := docExampleBlocks(t, path, marker)
	if len(blocks) == 0 {
		t.Fatalf("%s: no sql blocks", path)
	}
	_, conn := startConn(t, opts)
	ctx := t.Context()
	for bi, blk := range blocks {
		stmts := strings.Split(strings.TrimSpace(blk.sql), ";\n")
		for si, st := range stmts {
			st = strings.TrimSuffix(strings.TrimSpace(st), ";")
			res, err := conn.PgConn().Exec(ctx, st).ReadAll()
			if err != nil {
				t.Fatalf("%s block %d: %s: %v", path, bi+1, st, err)
			}
			if si != len(stmts)-1 || !blk.has {
				continue
			}
			var got []string
			for _, row := range res[len(res)-1].Rows {
				cells := make([]string, len(row))
				for c, v := range row {
					if v == nil {
						cells[c] = "NULL"
					} else {
						cells[c] = string(v)
					}
				}
				got = append(got, strings.TrimSpace(strings.Join(cells, " | ")))
			}
			if strings.Join(got, "\n") != strings.Join(blk.want, "\n") {
				t.Fatalf("%s block %d: %s\ngot:\n%s\nwant:\n%s", path, bi+1, st, strings.Join(got, "\n"), strings.Join(blk.want, "\n"))
			}
		}
	}
}

// The best-execution example of docs/joins.md gives the results shown.
func TestDocsJoinsExample(t *testing.T) {
	runDocBlocks(t, "../docs/joins.md", "Best execution: the quote in force")
}

// The unbounded-state example of docs/streaming.md explains as shown.
func TestDocsStateWarningsExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Unbounded state warnings")
}

// The late rows example of docs/streaming.md shows the row kept.
func TestDocsLateRowsExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Late rows")
}

// The two-phase aggregation example of docs/streaming.md gives the
// results and the plan shown.
func TestDocsTwoPhaseAggExample(t *testing.T) {
	runDocBlocks(t, "../docs/streaming.md", "### Two-phase aggregation")
}
