package sqllogictest

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
)

func TestFormatValueClassic(t *testing.T) {
	null := Value(nil)
	for _, tc := range []struct {
		in   Value
		typ  byte
		want string
	}{
		{null, 'I', "NULL"},
		{null, 'R', "NULL"},
		{null, 'T', "NULL"},
		{Value("42"), 'I', "42"},
		{Value("-42"), 'I', "-42"},
		{Value("+7"), 'I', "7"},
		{Value("176.2333333333"), 'I', "176"},
		{Value("-176.9"), 'I', "-176"},
		{Value("-0.5"), 'I', "0"},
		{Value("123456789012345678901234.5"), 'I', "123456789012345678901234"},
		{Value("1e+20"), 'I', "100000000000000000000"},
		{Value("-2.5e3"), 'I', "-2500"},
		{Value("t"), 'I', "1"},
		{Value("f"), 'I', "0"},
		{Value("abc"), 'I', "0"},
		{Value("12abc"), 'I', "12"},
		{Value(""), 'I', "0"},
		{Value("1.5"), 'R', "1.500"},
		{Value("2"), 'R', "2.000"},
		{Value("-0.0004"), 'R', "-0.000"},
		{Value("3.14159"), 'R', "3.142"},
		{Value("1e3"), 'R', "1000.000"},
		{Value("hello world"), 'T', "hello world"},
		{Value(""), 'T', "(empty)"},
		{Value("a\tb\x01é"), 'T', "a@b@@@"},
	} {
		if got := formatValue(tc.in, tc.typ, FormatClassic); got != tc.want {
			t.Errorf("formatValue(%q, %c) = %q, want %q", tc.in, tc.typ, got, tc.want)
		}
	}
}

func TestFormatValueRS(t *testing.T) {
	for _, tc := range []struct {
		in   Value
		want string
	}{
		{nil, "NULL"},
		{Value(""), "(empty)"},
		{Value("1.50"), "1.50"},
		{Value("2020-01-01 00:00:00"), "2020-01-01 00:00:00"},
		{Value("t"), "t"},
	} {
		if got := formatValue(tc.in, 'I', FormatRS); got != tc.want {
			t.Errorf("formatValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHashValues(t *testing.T) {
	sum := md5.Sum([]byte("1\n2\nNULL\n"))
	if got, want := hashValues([]string{"1", "2", "NULL"}), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("hashValues = %s, want %s", got, want)
	}
	// md5 of the empty input.
	if got := hashValues(nil); got != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("hash of nothing = %s", got)
	}
}

func vals(rows ...string) [][]Value {
	var out [][]Value
	for _, r := range rows {
		var row []Value
		for _, c := range strings.Split(r, "|") {
			if c == "<null>" {
				row = append(row, nil)
			} else {
				row = append(row, Value(c))
			}
		}
		out = append(out, row)
	}
	return out
}

func TestCheckResult(t *testing.T) {
	hash := func(vs ...string) string { return hashValues(vs) }
	for _, tc := range []struct {
		name string
		rec  Record
		rows [][]Value
		ok   bool
	}{
		{"classic row-major", Record{Format: FormatClassic, Types: "IT", Expected: []string{"1", "a", "2", "NULL"}},
			vals("1|a", "2|<null>"), true},
		{"classic wrong order", Record{Format: FormatClassic, Types: "IT", Expected: []string{"2", "NULL", "1", "a"}},
			vals("1|a", "2|<null>"), false},
		{"classic rowsort", Record{Format: FormatClassic, Types: "IT", Sort: RowSort, Expected: []string{"1", "a", "2", "NULL"}},
			vals("2|<null>", "1|a"), true},
		// Rows sort by their formatted text, so "10" comes before "9".
		{"classic rowsort is textual", Record{Format: FormatClassic, Types: "I", Sort: RowSort, Expected: []string{"10", "9"}},
			vals("9", "10"), true},
		{"classic valuesort", Record{Format: FormatClassic, Types: "II", Sort: ValueSort, Expected: []string{"1", "2", "3", "4"}},
			vals("4|2", "3|1"), true},
		{"classic column count", Record{Format: FormatClassic, Types: "I", Expected: []string{"1", "2"}},
			vals("1|2"), false},
		{"classic truncates I", Record{Format: FormatClassic, Types: "IR", Expected: []string{"176", "2.500"}},
			vals("176.8|2.5"), true},
		{"classic hash", Record{Format: FormatClassic, Types: "I", Sort: RowSort, HasHash: true, HashN: 3, Hash: hash("1", "2", "3")},
			vals("3", "1", "2"), true},
		{"classic hash count", Record{Format: FormatClassic, Types: "I", HasHash: true, HashN: 4, Hash: hash("1", "2", "3")},
			vals("1", "2", "3"), false},
		{"classic hash differs", Record{Format: FormatClassic, Types: "I", HasHash: true, HashN: 3, Hash: hash("1", "2", "3")},
			vals("1", "2", "4"), false},
		{"classic row per line", Record{Format: FormatClassic, Types: "IT", Expected: []string{"1 a", "2 NULL"}},
			vals("1|a", "2|<null>"), true},
		{"classic empty result", Record{Format: FormatClassic, Types: "I"}, nil, true},
		{"classic unexpected rows", Record{Format: FormatClassic, Types: "I"}, vals("1"), false},
		{"rs rows", Record{Format: FormatRS, Types: "IT", Expected: []string{"1   a", "2\tNULL"}},
			vals("1|a", "2|<null>"), true},
		{"rs spaces in values", Record{Format: FormatRS, Types: "TI", Expected: []string{"2020-01-01 00:00:00 5"}},
			vals("2020-01-01 00:00:00|5"), true},
		{"rs nosort order matters", Record{Format: FormatRS, Types: "I", Expected: []string{"2", "1"}},
			vals("1", "2"), false},
		{"rs rowsort", Record{Format: FormatRS, Types: "I", Sort: RowSort, Expected: []string{"2", "1"}},
			vals("1", "2"), true},
		{"rs rowsort still checks", Record{Format: FormatRS, Types: "I", Sort: RowSort, Expected: []string{"2", "1"}},
			vals("1", "3"), false},
		{"rs empty string", Record{Format: FormatRS, Types: "TT", Expected: []string{"(empty) x"}},
			vals("|x"), true},
		{"rs valuesort", Record{Format: FormatRS, Types: "II", Sort: ValueSort, Expected: []string{"1 2", "3 4"}},
			vals("4|3", "2|1"), true},
		{"rs hash", Record{Format: FormatRS, Types: "II", HasHash: true, HashN: 4, Hash: hash("1", "2", "3", "4")},
			vals("1|2", "3|4"), true},
		{"rs no rows expected", Record{Format: FormatRS, Types: "I"}, vals("1"), false},
		{"rs extra row", Record{Format: FormatRS, Types: "I", Expected: []string{"1"}}, vals("1", "1"), false},
	} {
		ncols := 0
		if len(tc.rows) > 0 {
			ncols = len(tc.rows[0])
		}
		m, got := checkResult(&tc.rec, tc.rows, ncols)
		if (m == "") != tc.ok {
			t.Errorf("%s: mismatch=%q got=%q, want ok=%v", tc.name, m, got, tc.ok)
		}
	}
}

func TestCheckError(t *testing.T) {
	const text = "ERROR: duplicate key value violates unique constraint \"t_pkey\" (SQLSTATE 23505)\nDETAIL: Key (a)=(1) already exists."
	for _, tc := range []struct {
		rec Record
		ok  bool
	}{
		{Record{}, true},
		{Record{ErrorRegex: "23505"}, true},
		{Record{ErrorRegex: "duplicate key"}, true},
		{Record{ErrorRegex: `Key \(a\)=\(1\)`}, true},
		{Record{ErrorRegex: "23502"}, false},
		{Record{ErrorRegex: "(unbalanced"}, false},
		{Record{ErrorText: "duplicate   key value\nviolates unique"}, true},
		{Record{ErrorText: "something else"}, false},
	} {
		if m := checkError(&tc.rec, text); (m == "") != tc.ok {
			t.Errorf("%+v: %q, want ok=%v", tc.rec, m, tc.ok)
		}
	}
}

func TestTranslate(t *testing.T) {
	for in, want := range map[string]string{
		"SET RW_IMPLICIT_FLUSH TO true;":  "SET implicit_flush TO true;",
		"set rw_implicit_flush = false":   "set implicit_flush = false",
		"SET streaming_parallelism = 1;":  "SET streaming_parallelism = 1;",
		"SELECT 'SET RW_IMPLICIT_FLUSH '": "SELECT 'SET RW_IMPLICIT_FLUSH '",
	} {
		if got := translate(in); got != want {
			t.Errorf("translate(%q) = %q, want %q", in, got, want)
		}
	}
}
