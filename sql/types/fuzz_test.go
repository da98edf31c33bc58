package types

import (
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzTypes = []T{
	TBool, TInt2, TInt4, TInt8, TFloat4, TFloat8, TNumeric, {Kind: Numeric, Precision: 6, Scale: 2},
	TText, {Kind: Varchar, Width: 3}, {Kind: Char, Width: 3}, TBytea, TDate, TTime, TTimestamp,
	TTimestampTZ, TInterval, TJSONB, TOid, TName,
}

// FuzzParseText checks that whatever parses prints as text that parses
// back to the same text, and that every value survives the binary, key and
// value encodings. Plain `go test` runs the seeds.
func FuzzParseText(f *testing.F) {
	seeds := []struct {
		typ uint8
		s   string
	}{
		{0, "yes"}, {2, " -42 "}, {5, "1e-7"}, {5, "-0"}, {6, "1.50"}, {6, "NaN"}, {7, "9999.995"},
		{9, "ab  "}, {10, "x"}, {11, `\x0aff`}, {11, `a\\b\001`}, {12, "January 2, 2024"},
		{12, "0044-03-15 BC"}, {13, "12:30 pm"}, {14, "2024-01-02T03:04:05.1234567"},
		{15, "2024-11-03 01:30:00 America/New_York"}, {15, "infinity"}, {16, "1 year 2 mons 3 days 04:05:06.5"},
		{16, "@ 1.5 days ago"}, {16, "P1Y2M3DT4H5M6.5S"}, {16, "-1 days +00:00:01"}, {17, `{"b": [1, 2.50], "a": null}`},
		{18, "4294967295"}, {19, "name"},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.s)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ti uint8, s string) {
		if !utf8.ValidString(s) {
			return // the wire protocol layer rejects invalid UTF-8 first
		}
		typ := fuzzTypes[int(ti)%len(fuzzTypes)]
		d, err := ParseText(s, typ, ny)
		if err != nil {
			return
		}
		out := FormatText(d, typ, ny)
		d2, err := ParseText(out, typ, ny)
		if err != nil {
			t.Fatalf("%s %q: output %q does not parse: %v", typ, s, out, err)
		}
		if out2 := FormatText(d2, typ, ny); out2 != out {
			t.Fatalf("%s %q: %q reformats as %q", typ, s, out, out2)
		}
		if Compare(d, d2, typ) != 0 {
			t.Fatalf("%s %q: reparsed value differs", typ, s)
		}
		b, err := AppendBinary(nil, d, typ)
		if err != nil {
			t.Fatal(err)
		}
		db, err := ParseBinary(b, typ)
		if err != nil || FormatText(db, typ, ny) != out {
			t.Fatalf("%s %q: binary round trip: %v", typ, s, err)
		}
		dk, _, err := DecodeKey(AppendKey(nil, d, typ, true), typ, true)
		if err != nil || Compare(d, dk, typ) != 0 {
			t.Fatalf("%s %q: key round trip: %v", typ, s, err)
		}
		dv, _, err := DecodeValue(AppendValue(nil, d, typ), typ)
		if err != nil || FormatText(dv, typ, ny) != out {
			t.Fatalf("%s %q: value round trip: %v", typ, s, err)
		}
	})
}
