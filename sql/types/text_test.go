package types

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamsql/sql/sqlerr"
)

// The expectations in testdata/*.jsonl were recorded from PostgreSQL 15
// (testdata/gen_expected.py); the tests need no server.

type pgCase struct {
	Type string `json:"type"`
	From string `json:"from"`
	To   string `json:"to"`
	In   string `json:"in"`
	TZ   string `json:"tz"`
	Out  string `json:"out"`
	Err  string `json:"err"`
	Msg  string `json:"msg"`
}

func loadCases(t *testing.T, path string) []pgCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs []pgCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c pgCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

// mustType parses a type name such as "numeric(5,2)" or "timestamptz".
func mustType(t testing.TB, s string) T {
	t.Helper()
	name, mods := s, []int32(nil)
	if i := strings.IndexByte(s, '('); i >= 0 {
		name = s[:i]
		for _, m := range strings.Split(strings.TrimSuffix(s[i+1:], ")"), ",") {
			v, err := strconv.Atoi(m)
			if err != nil {
				t.Fatal(err)
			}
			mods = append(mods, int32(v))
		}
	}
	typ, err := ParseTypeName(name, mods, 0)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func mustLoc(t testing.TB, tz string) *time.Location {
	t.Helper()
	if tz == "" {
		return time.UTC
	}
	loc, err := LoadTimeZone(tz)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// checkResult compares a result with a recorded PostgreSQL outcome.
func checkResult(t *testing.T, c pgCase, got string, err error) {
	t.Helper()
	if c.Err != "" {
		if err == nil {
			t.Errorf("%+v: got %q, want error %s %s", c, got, c.Err, c.Msg)
			return
		}
		e := sqlerr.From(err)
		if e.Code != c.Err || e.Message != c.Msg {
			t.Errorf("%+v: got error %s %q, want %s %q", c, e.Code, e.Message, c.Err, c.Msg)
		}
		return
	}
	if err != nil {
		t.Errorf("%+v: unexpected error %v", c, err)
		return
	}
	if got != c.Out {
		t.Errorf("%+v: got %q, want %q", c, got, c.Out)
	}
}

// TestTextIO checks input and output of every type against PostgreSQL.
// A literal cast ('x'::varchar(2)) truncates like an explicit cast, so
// length-limited string types go through Cast.
func TestTextIO(t *testing.T) {
	for _, c := range loadCases(t, "testdata/text_io.jsonl") {
		typ := mustType(t, c.Type)
		loc := mustLoc(t, c.TZ)
		var d Datum
		var err error
		if (typ.Kind == Varchar || typ.Kind == Char) && typ.Width > 0 {
			d, err = Cast(c.In, TUnknown, typ, loc)
		} else {
			d, err = ParseText(c.In, typ, loc)
		}
		got := ""
		if err == nil {
			got = FormatText(d, typ, loc)
			// The output reads back as the same value.
			if d2, err2 := ParseText(got, typ, loc); err2 != nil {
				t.Errorf("%+v: output %q does not parse: %v", c, got, err2)
			} else if typ.Kind != Interval && Compare(d, d2, typ) != 0 {
				t.Errorf("%+v: output %q parses to a different value", c, got)
			} else if got2 := FormatText(d2, typ, loc); got2 != got {
				t.Errorf("%+v: output %q reformats as %q", c, got, got2)
			}
		}
		checkResult(t, c, got, err)
	}
}

func TestCastsAgainstPG(t *testing.T) {
	for _, c := range loadCases(t, "testdata/casts.jsonl") {
		from, to := mustType(t, c.From), mustType(t, c.To)
		loc := mustLoc(t, c.TZ)
		d, err := ParseText(c.In, from, loc)
		if err != nil {
			checkResult(t, c, "", err)
			continue
		}
		r, err := Cast(d, from, to, loc)
		got := ""
		if err == nil {
			if r == nil {
				got = ""
			} else {
				got = FormatText(r, to, loc)
			}
		}
		checkResult(t, c, got, err)
	}
}
