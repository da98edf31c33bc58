package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestChangefeedsDocExample runs the setup and the cursor example of
// docs/changefeeds.md: its FETCH must return the rows below it (ss_diff
// and the view's columns, in any order).
func TestChangefeedsDocExample(t *testing.T) {
	_, conn := startWithConn(t, "doc")
	var got []string
	runDocStatements(t, conn, func(stmt string) {
		rows, err := conn.Query(context.Background(), stmt)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			v, _ := rows.Values()
			var parts []string
			for _, x := range v[1:] {
				parts = append(parts, fmt.Sprint(x))
			}
			got = append(got, strings.Join(parts, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}, docBlock(t, "setup", "sql"), docBlock(t, "cursor", "sql"))
	want := strings.Split(strings.TrimSpace(docBlock(t, "cursor rows", "text")), "\n")
	if g, w := strings.Join(sortedStrings(got), "\n"), strings.Join(sortedStrings(want), "\n"); g != w {
		t.Fatalf("FETCH returned\n%s\nthe doc says\n%s", g, w)
	}
}

// TestChangefeedsDocSubscription runs the setup and the subscription
// example of docs/changefeeds.md: its FETCH must return the rows below it
// (the view's columns and op, in order).
func TestChangefeedsDocSubscription(t *testing.T) {
	_, conn := startWithConn(t, "doc")
	var got []string
	runDocStatements(t, conn, func(stmt string) {
		for _, c := range fetchSub(t, conn, stmt) {
			got = append(got, strings.ReplaceAll(c.row, ",", " ")+" "+c.op)
		}
	}, docBlock(t, "setup", "sql")+"FLUSH;\n", docBlock(t, "subscription", "sql"))
	want := strings.TrimSpace(docBlock(t, "subscription rows", "text"))
	if g := strings.Join(got, "\n"); g != want {
		t.Fatalf("FETCH returned\n%s\nthe doc says\n%s", g, want)
	}
}
