package udf

import (
	"testing"
	"time"

	"streamsql/sql/types"
)

// The expected values below were recorded from PostgreSQL 15.

func TestSimilarToEscape(t *testing.T) {
	for _, c := range []struct{ pat, esc, want string }{
		{"a%b_c(d|e)", "\\", `^(?:a.*b.c(?:d|e))$`},
		{`a\%b`, "\\", `^(?:a\%b)$`},
		{`x#"y#"z`, "#", `^(?:x){1,1}?(y){1,1}(?:z)$`},
		{"a.b^$", "\\", `^(?:a\.b\^\$)$`},
		{"[%_]", "\\", `^(?:[%_])$`},
		{"[]a]", "\\", `^(?:[]a])$`},
		{"[^]a]%", "\\", `^(?:[^]a].*)$`},
		{"abc", "", `^(?:abc)$`},
	} {
		got, err := similarToEscape(c.pat, c.esc, true)
		if err != nil || got != c.want {
			t.Errorf("similar_to_escape(%q, %q) = %q, %v; want %q", c.pat, c.esc, got, err, c.want)
		}
	}
	if _, err := similarToEscape(`a#"b#"c#"d`, "#", true); err == nil {
		t.Error("three escape-double-quotes: want an error")
	}
	if _, err := similarToEscape("a", "xy", true); err == nil {
		t.Error("two-character escape: want an error")
	}
}

func TestIntervalTypmod(t *testing.T) {
	for _, c := range []struct {
		text      string
		rng, prec int32
		want      string
	}{
		{"5", IntervalMinute, IntervalFullPrecision, "00:05:00"},
		{"1", IntervalDay, IntervalFullPrecision, "1 day"},
		{"1:30", IntervalHour | IntervalMinute, IntervalFullPrecision, "01:30:00"},
		{"1:30", IntervalMinute | IntervalSecond, IntervalFullPrecision, "00:01:30"},
		{"-1:30", IntervalMinute | IntervalSecond, IntervalFullPrecision, "-00:01:30"},
		{"13", IntervalMonth, IntervalFullPrecision, "1 year 1 mon"},
		{"2 years 5 months", IntervalYear, IntervalFullPrecision, "2 years"},
		{"1 day 2:30:45.678", IntervalHour, IntervalFullPrecision, "1 day 02:00:00"},
		{"1 2:03", IntervalDay | IntervalHour | IntervalMinute, IntervalFullPrecision, "1 day 02:03:00"},
		{"1 day 5", IntervalHour, IntervalFullPrecision, "1 day 05:00:00"},
		{"1.5", IntervalHour, IntervalFullPrecision, "01:00:00"},
		{"2:30:45.678", IntervalSecond, 1, "02:30:45.7"},
		{"1.23456", IntervalFullRange, 2, "00:00:01.23"},
	} {
		typmod, err := IntervalTypmod(c.rng, c.prec)
		if err != nil {
			t.Fatal(err)
		}
		iv, err := ParseIntervalTypmod(c.text, typmod)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		if got := types.FormatText(iv, types.TInterval, time.UTC); got != c.want {
			t.Errorf("%q with range %#x precision %d = %q, want %q", c.text, c.rng, c.prec, got, c.want)
		}
	}
	if _, err := IntervalTypmod(IntervalSecond, -1); err == nil {
		t.Error("negative precision: want an error")
	}
}

func TestResolveZone(t *testing.T) {
	for _, c := range []struct {
		name string
		off  int64 // seconds east of UTC for fixed zones
	}{
		{"UTC", 0}, {"z", 0}, {"PST", -8 * 3600}, {"cest", 2 * 3600},
		{"+02", -2 * 3600}, {"3", -3 * 3600}, {"-02:30", 9000}, {"UTC+3", -3 * 3600},
		{"XYZ+2", -2 * 3600}, {"+02:30:15", -(2*3600 + 30*60 + 15)}, {"UTC0", 0},
	} {
		z, err := resolveZone(c.name)
		if err != nil || !z.fixed || z.off != c.off {
			t.Errorf("resolveZone(%q) = %+v, %v; want fixed %d", c.name, z, err, c.off)
		}
	}
	for _, name := range []string{"america/new_york", "EST5EDT", "Etc/GMT+3"} {
		if z, err := resolveZone(name); err != nil || z.fixed {
			t.Errorf("resolveZone(%q) = %+v, %v; want a tz database zone", name, z, err)
		}
	}
	for _, name := range []string{"foo", "", " UTC", "10.5"} {
		if _, err := resolveZone(name); err == nil {
			t.Errorf("resolveZone(%q): want an error", name)
		}
	}
}

func TestParseArrayText(t *testing.T) {
	elems, nulls, err := parseArrayText(`{a, "b c" ,NULL,"NULL",\,x}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b c", "", "NULL", ",x"}
	wantNull := []bool{false, false, true, false, false}
	if len(elems) != len(want) {
		t.Fatalf("got %q, want %q", elems, want)
	}
	for i := range want {
		if elems[i] != want[i] || nulls[i] != wantNull[i] {
			t.Errorf("element %d = %q null=%v, want %q null=%v", i, elems[i], nulls[i], want[i], wantNull[i])
		}
	}
	if e, _, err := parseArrayText("{}"); err != nil || len(e) != 0 {
		t.Errorf("{}: %q, %v", e, err)
	}
	for _, bad := range []string{"{a", "a}", "{a,,b}", `{"a"b}`, "{{a}}"} {
		if _, _, err := parseArrayText(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
