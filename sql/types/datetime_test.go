package types

import (
	"testing"
	"time"
)

func TestAddInterval(t *testing.T) {
	// Expected values from PostgreSQL 15 with TimeZone America/New_York.
	ny := mustLoc(t, "America/New_York")
	cases := []struct {
		typ, ts, iv, want string
	}{
		{"timestamp", "2024-01-31", "1 month", "2024-02-29 00:00:00"},
		{"timestamp", "2024-01-31 10:00", "1 mon 1 day 01:00", "2024-03-01 11:00:00"},
		{"timestamp", "2023-03-31", "-1 month", "2023-02-28 00:00:00"},
		{"timestamp", "2024-02-29", "1 year", "2025-02-28 00:00:00"},
		{"timestamptz", "2024-03-09 12:00-05", "1 day", "2024-03-10 12:00:00-04"},
		{"timestamptz", "2024-03-09 12:00-05", "24 hours", "2024-03-10 13:00:00-04"},
		{"timestamptz", "2024-11-02 12:00-04", "1 day", "2024-11-03 12:00:00-05"},
		{"timestamptz", "2024-01-31 00:00-05", "1 mon", "2024-02-29 00:00:00-05"},
		{"timestamp", "0001-01-31", "-1 mon", "0001-12-31 00:00:00 BC"},
		{"timestamp", "2024-01-01", "-1 day -01:00", "2023-12-30 23:00:00"},
		{"timestamp", "infinity", "1 day", "infinity"},
	}
	for _, c := range cases {
		typ := mustType(t, c.typ)
		ts, err := ParseText(c.ts, typ, ny)
		if err != nil {
			t.Fatal(err)
		}
		iv, err := ParseText(c.iv, TInterval, ny)
		if err != nil {
			t.Fatal(err)
		}
		r, err := AddInterval(ts.(Timestamp), iv.(IntervalValue), ny, typ.Kind == TimestampTZ)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if got := FormatText(r, typ, ny); got != c.want {
			t.Errorf("%s + %s: got %s, want %s", c.ts, c.iv, got, c.want)
		}
	}
	if _, err := AddInterval(Timestamp(maxTimestampUnix-1), IntervalValue{Days: 1}, nil, false); err == nil {
		t.Error("overflow not detected")
	}
}

func TestCalendarRoundTrip(t *testing.T) {
	for _, d := range []Date{minDateDays, -1, 0, 1, 10957, 19723, maxDateDays} {
		y, m, day := d.YMD()
		if got := DateFromYMD(y, m, day); got != d {
			t.Errorf("%d -> %d-%d-%d -> %d", d, y, m, day, got)
		}
	}
	if y, m, d := Date(0).YMD(); y != 1970 || m != 1 || d != 1 {
		t.Errorf("epoch is %d-%d-%d", y, m, d)
	}
	ts := Timestamp(1704164645123456) // 2024-01-02 03:04:05.123456 UTC
	if got := TimestampToTime(ts); !got.Equal(time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)) {
		t.Errorf("TimestampToTime: %v", got)
	}
	if TimeToTimestamp(TimestampToTime(-1)) != -1 {
		t.Error("negative timestamps do not round trip")
	}
	if !DateToTime(19724).Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Error("DateToTime")
	}
}

func TestJustify(t *testing.T) {
	// Expected values from PostgreSQL 15.
	cases := []struct {
		fn       func(IntervalValue) IntervalValue
		in, want string
	}{
		{JustifyHours, "1 day 25:00", "2 days 01:00:00"},
		{JustifyHours, "-25:00", "-1 days -01:00:00"},
		{JustifyDays, "1 mon 35 days", "2 mons 5 days"},
		{JustifyDays, "-35 days", "-1 mons -5 days"},
		{JustifyInterval, "1 mon -1 day -01:00", "28 days 23:00:00"},
		{JustifyInterval, "-1 mon 1 day", "-29 days"},
	}
	for _, c := range cases {
		iv, err := ParseText(c.in, TInterval, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatText(c.fn(iv.(IntervalValue)), TInterval, nil); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestCompare(t *testing.T) {
	// Each pair is ordered a < b, or equal when eq; checked in PostgreSQL 15.
	cases := []struct {
		typ  string
		a, b string
		eq   bool
	}{
		{"interval", "1 mon", "30 days", true},
		{"interval", "1 day", "24 hours", true},
		{"interval", "1 mon", "31 days", false},
		{"interval", "-1 mon", "1 day", false},
		{"float8", "Infinity", "NaN", false},
		{"float8", "-Infinity", "-1e308", false},
		{"float8", "NaN", "NaN", true},
		{"float8", "-0", "0", true},
		{"numeric", "Infinity", "NaN", false},
		{"numeric", "-Infinity", "-1e100", false},
		{"numeric", "1.0", "1.00", true},
		{"numeric", "-2", "-1.5", false},
		{"char(3)", "a ", "a", true},
		{"text", "B", "a", false},
		{"text", "a", "ab", false},
		{"text", "z", "é", false}, // C collation: bytes
		{"bytea", `\x00`, `\x0000`, false},
		{"bool", "f", "t", false},
		{"date", "-infinity", "4713-01-01 BC", false},
		{"timestamp", "2024-01-02", "infinity", false},
		{"int8", "-9223372036854775808", "9223372036854775807", false},
	}
	for _, c := range cases {
		typ := mustType(t, c.typ)
		a, err1 := ParseText(c.a, typ, nil)
		b, err2 := ParseText(c.b, typ, nil)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		want := -1
		if c.eq {
			want = 0
		}
		if got := Compare(a, b, typ); got != want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d", c.typ, c.a, c.b, got, want)
		}
		if got := Compare(b, a, typ); got != -want {
			t.Errorf("%s: compare(%q, %q) = %d, want %d", c.typ, c.b, c.a, got, -want)
		}
	}
}

func TestLoadTimeZone(t *testing.T) {
	// SET timezone = x; SELECT '2024-01-02 00:00+00'::timestamptz in PostgreSQL 15.
	for _, c := range []struct{ tz, want string }{
		{"+02", "2024-01-02 02:00:00+02"},
		{"3", "2024-01-02 03:00:00+03"},
		{"-05:30", "2024-01-02 05:30:00+05:30"},
		{"utc", "2024-01-02 00:00:00+00"},
		{"america/new_york", "2024-01-01 19:00:00-05"},
		{"Asia/Kolkata", "2024-01-02 05:30:00+05:30"},
	} {
		loc, err := LoadTimeZone(c.tz)
		if err != nil {
			t.Fatalf("%s: %v", c.tz, err)
		}
		if got := FormatText(Timestamp(1704153600*MicrosPerSecond), TTimestampTZ, loc); got != c.want {
			t.Errorf("%s: got %s, want %s", c.tz, got, c.want)
		}
	}
	if _, err := LoadTimeZone("Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}
