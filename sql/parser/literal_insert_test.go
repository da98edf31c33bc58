package parser

import (
	"strings"
	"testing"
)

func TestScanLiteralInsert(t *testing.T) {
	rows := func(row string, n int) string { return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") }
	for _, c := range []struct {
		sql    string
		target string // "" when not recognized
		width  int
	}{
		{"INSERT INTO t VALUES " + rows("(1, 'a')", 3), "INSERT INTO t ", 2},
		{"  insert into s.\"T x\" (a, \"B\") values " + rows("(-1.5e3, 'it''s')", 3) + " ; ", "  insert into s.\"T x\" (a, \"B\") ", 2},
		{"INSERT INTO t(a)VALUES" + rows("(NULL)", 3), "INSERT INTO t(a)", 1},
		{"INSERT INTO t VALUES " + rows("(TRUE, false, +.5)", 3), "INSERT INTO t ", 3},
		// Left to the grammar.
		{"INSERT INTO t VALUES " + rows("(1, 'a')", 2), "", 0},                        // too few rows
		{"INSERT INTO t VALUES " + rows("(1 + 1)", 3), "", 0},                         // an expression
		{"INSERT INTO t VALUES " + rows("('1'::int)", 3), "", 0},                      // a cast
		{"INSERT INTO t VALUES " + rows("(E'a')", 3), "", 0},                          // an escape string
		{"INSERT INTO t VALUES " + rows("('a\\b')", 3), "", 0},                        // a backslash
		{"INSERT INTO t VALUES " + rows("(DEFAULT)", 3), "", 0},                       // DEFAULT
		{"INSERT INTO t VALUES " + rows("(1)", 3) + " ON CONFLICT DO NOTHING", "", 0}, // ON CONFLICT
		{"INSERT INTO t VALUES " + rows("(1)", 3) + " RETURNING *", "", 0},            // RETURNING
		{"INSERT INTO t VALUES " + rows("(1)", 3) + "; SELECT 1", "", 0},              // two statements
		{"INSERT INTO t VALUES " + rows("(1)", 3) + " -- c", "", 0},                   // a comment
		{"INSERT INTO t VALUES (1), (2, 3), (4)", "", 0},                              // ragged rows
		{"INSERT INTO t VALUES " + rows("(1x)", 3), "", 0},                            // junk after a number
		{"INSERT INTO t VALUES " + rows("(- 1)", 3), "", 0},                           // a spaced sign
		{"INSERT INTO t VALUES " + rows("('a'\n'b')", 3), "", 0},                      // a continued string
		{"INSERT INTO t SELECT 1", "", 0},                                             // not VALUES
		{"WITH x AS (SELECT 1) INSERT INTO t VALUES " + rows("(1)", 3), "", 0},        // WITH
		{"INSERT INTO t VALUES " + rows("(1)", 3) + "\x00", "", 0},                    // NUL
		{"INSERT INTO t VALUES " + rows("('\xff')", 3), "", 0},                        // not UTF-8
		{"INSERT INTO t OVERRIDING SYSTEM VALUE VALUES " + rows("(1)", 3), "", 0},     // OVERRIDING
		{"INSERT INTO t VALUES " + rows("(nullif)", 3), "", 0},                        // a name
		{"INSERT INTO t (a, values) VALUES " + rows("(1)", 3), "", 0},                 // a keyword as a name
		{"INSERT INTO t VALUES " + rows("(1.2.3)", 3), "", 0},                         // two points
	} {
		li := ScanLiteralInsert(c.sql, 3)
		switch {
		case c.target == "" && li != nil:
			t.Errorf("%q recognized", c.sql)
		case c.target != "" && li == nil:
			t.Errorf("%q not recognized", c.sql)
		case li != nil && (li.Target != c.target || li.Width != c.width || li.Rows() != 3):
			t.Errorf("%q: target %q width %d rows %d", c.sql, li.Target, li.Width, li.Rows())
		}
	}
	li := ScanLiteralInsert("INSERT INTO t VALUES (-1.5e3, 'it''s', NULL, true, +7)", 1)
	want := []Literal{{LitDecimal, "-1.5e3"}, {LitString, "it's"}, {LitNull, ""}, {LitTrue, ""}, {LitInteger, "7"}}
	for i, l := range li.Values {
		if l != want[i] {
			t.Errorf("value %d = %+v, want %+v", i, l, want[i])
		}
	}
}
