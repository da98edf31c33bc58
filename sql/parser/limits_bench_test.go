package parser

import (
	"strings"
	"testing"
)

// BenchmarkParseThread compares a statement parsed on the caller's thread
// with the same statement parsed on a thread of its own (cstack.go), and
// shows the cost of the shape measure.
func BenchmarkParseThread(b *testing.B) {
	sql := "SELECT a, b, c FROM t WHERE a = $1 AND b IN (1, 2, 3) ORDER BY c LIMIT 10"
	toks, err := scan(sql)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("caller", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			t := newPGText(sql, 0, len(sql))
			t.shallow = true
			if _, err := t.parse(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own-thread", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := newPGText(sql, 0, len(sql)).parse(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("measure", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := DefaultLimits().checkShape(sql, toks); err != nil {
				b.Fatal(err)
			}
		}
	})
	long := "SELECT * FROM t WHERE " + strings.Repeat("a = 1 AND ", 10000) + "true"
	ltoks, err := scan(long)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("measure-40k-tokens", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := DefaultLimits().checkShape(long, ltoks); err != nil {
				b.Fatal(err)
			}
		}
	})
}
