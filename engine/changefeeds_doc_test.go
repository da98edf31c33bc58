package engine_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestChangefeedsDocExample runs the setup and the cursor example of
// docs/changefeeds.md: its FETCH must return the rows below it (ss_diff
// and the view's columns, in any order).
func TestChangefeedsDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/changefeeds.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(name, lang string) string {
		m := regexp.MustCompile("(?s)<!-- changefeeds: " + name + " -->\n```" + lang + "\n(.*?)```").FindSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/changefeeds.md lacks the %s block", name)
		}
		return string(m[1])
	}
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ts.URL("doc", "streamsql"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var got []string
	for _, part := range []string{block("setup", "sql"), block("cursor", "sql")} {
		for _, stmt := range strings.Split(part, ";\n") {
			if stmt = strings.TrimSpace(stmt); stmt == "" {
				continue
			}
			if !strings.HasPrefix(stmt, "FETCH") {
				execAll(t, conn, stmt)
				continue
			}
			rows, err := conn.Query(ctx, stmt)
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
		}
	}
	want := strings.Split(strings.TrimSpace(block("cursor rows", "text")), "\n")
	if g, w := strings.Join(sortedStrings(got), "\n"), strings.Join(sortedStrings(want), "\n"); g != w {
		t.Fatalf("FETCH returned\n%s\nthe doc says\n%s", g, w)
	}
}

// TestChangefeedsDocSubscription runs the setup and the subscription
// example of docs/changefeeds.md: its FETCH must return the rows below it
// (the view's columns and op, in order).
func TestChangefeedsDocSubscription(t *testing.T) {
	doc, err := os.ReadFile("../docs/changefeeds.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(name, lang string) string {
		m := regexp.MustCompile("(?s)<!-- changefeeds: " + name + " -->\n```" + lang + "\n(.*?)```").FindSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/changefeeds.md lacks the %s block", name)
		}
		return string(m[1])
	}
	ts := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ts.URL("doc", "streamsql"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var got []string
	for _, part := range []string{block("setup", "sql") + "FLUSH;\n", block("subscription", "sql")} {
		for _, stmt := range strings.Split(part, ";\n") {
			if stmt = strings.TrimSpace(stmt); stmt == "" {
				continue
			}
			if !strings.HasPrefix(stmt, "FETCH") {
				execAll(t, conn, stmt)
				continue
			}
			for _, c := range fetchSub(t, conn, stmt) {
				got = append(got, strings.ReplaceAll(c.row, ",", " ")+" "+c.op)
			}
		}
	}
	want := strings.TrimSpace(block("subscription rows", "text"))
	if g := strings.Join(got, "\n"); g != want {
		t.Fatalf("FETCH returned\n%s\nthe doc says\n%s", g, want)
	}
}
