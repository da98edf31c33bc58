package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/doctest"
)

// TestMatchRecognizeDocSurveillance runs the trade-surveillance example of
// docs/match-recognize.md (layering and wash trades as views) over the
// wire and checks that the views hold the rows the page shows.
func TestMatchRecognizeDocSurveillance(t *testing.T) {
	m := doctest.Block(t, "docs/match-recognize.md", "(?s)<!-- run: surveillance -->\n```sql\n(.*?)```\n\n```\n(.*?)```")
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	var got []string
	for _, st := range strings.Split(string(m[1]), ";\n") {
		var lines []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		st = strings.TrimSpace(strings.Join(lines, "\n"))
		if st == "" {
			continue
		}
		if !strings.HasPrefix(st, "SELECT") {
			execAll(t, conn, st)
			continue
		}
		rows, err := conn.Query(ctx, st, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		for rows.Next() {
			var vals []string
			for _, v := range rows.RawValues() {
				vals = append(vals, string(v))
			}
			got = append(got, strings.Join(vals, " | "))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	want := strings.TrimSpace(string(m[2]))
	if g := strings.Join(got, "\n"); g != want {
		t.Fatalf("the views hold\n%s\nthe page shows\n%s", g, want)
	}
}
