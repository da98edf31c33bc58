package udf

import (
	"cmp"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Tests of the vectorized date/time and numeric kernels: PostgreSQL 15's
// answers on edge cases, and agreement with the row-at-a-time path
// (rowFunc over types.AddInterval, NumericOp, types.Cast) on random
// columns with NULLs.

// vecCase is "(l1::t1) op (l2::t2)" in time zone tz with PostgreSQL 15's
// text result or SQLSTATE.
type vecCase struct {
	tz, op, l1, t1, l2, t2, want, code string
}

var vecCases = []vecCase{
	{"UTC", "+", "2024-01-31 10:00", "timestamp", "1 month", "interval", "2024-02-29 10:00:00", ""},
	{"UTC", "+", "2024-02-29", "date", "1 year", "interval", "2025-02-28 00:00:00", ""},
	{"UTC", "-", "2024-03-31 00:00:01", "timestamp", "1 mon 1 day 2 sec", "interval", "2024-02-27 23:59:59", ""},
	{"UTC", "+", "1 day 01:00:00", "interval", "2023-12-31 23:00", "timestamp", "2024-01-02 00:00:00", ""},
	{"UTC", "-", "2024-01-01 00:00:00", "timestamp", "4 seconds", "interval", "2023-12-31 23:59:56", ""},
	{"UTC", "+", "infinity", "timestamp", "1 month", "interval", "infinity", ""},
	{"UTC", "-", "-infinity", "timestamp", "4 seconds", "interval", "-infinity", ""},
	{"UTC", "-", "4714-11-24 00:00:00 BC", "timestamp", "1 microsecond", "interval", "", "22008"},
	{"UTC", "+", "infinity", "date", "1 day", "interval", "infinity", ""},
	{"UTC", "-", "2000-01-01", "date", "1 mon", "interval", "1999-12-01 00:00:00", ""},
	{"UTC", "+", "294277-01-01", "date", "1 second", "interval", "", "22008"},
	{"UTC", "+", "2024-01-31", "date", "30", "int4", "2024-03-01", ""},
	{"UTC", "-", "4714-11-24 BC", "date", "1", "int4", "", "22008"},
	{"UTC", "+", "5874897-12-31", "date", "1", "int4", "", "22008"},
	{"UTC", "+", "infinity", "date", "1", "int4", "infinity", ""},
	{"UTC", "-", "2024-03-01", "date", "2024-02-01", "date", "29", ""},
	{"UTC", "-", "infinity", "date", "2024-02-01", "date", "", "22008"},
	{"UTC", "-", "2000-01-01", "timestamp", "1999-01-01 00:00:01", "timestamp", "364 days 23:59:59", ""},
	{"UTC", "-", "1999-01-01", "timestamp", "2000-01-01 00:00:01", "timestamp", "-365 days -00:00:01", ""},
	{"UTC", "-", "infinity", "timestamp", "2000-01-01", "timestamp", "", "22008"},
	{"UTC", "+", "2147483647 months", "interval", "1 month", "interval", "", "22008"},
	{"UTC", "-", "1 mon 2 days 03:00", "interval", "3 days 04:00", "interval", "1 mon -1 days -01:00:00", ""},
	{"America/New_York", "+", "2024-03-09 02:30:00-05", "timestamptz", "1 day", "interval", "2024-03-10 03:30:00-04", ""},
	{"America/New_York", "+", "2024-03-09 12:00:00-05", "timestamptz", "24 hours", "interval", "2024-03-10 13:00:00-04", ""},
	{"America/New_York", "+", "2024-11-02 01:30:00-04", "timestamptz", "1 day", "interval", "2024-11-03 01:30:00-05", ""},
	{"America/New_York", "-", "2024-03-10 12:00:00-04", "timestamptz", "1 day 1 hour", "interval", "2024-03-09 11:00:00-05", ""},
	{"America/New_York", "+", "2024-01-31 23:30:00-05", "timestamptz", "1 month", "interval", "2024-02-29 23:30:00-05", ""},
	{"Europe/Berlin", "-", "2024-10-27 02:30:00+01", "timestamptz", "4 seconds", "interval", "2024-10-27 02:29:56+01", ""},
	{"Europe/Berlin", "+", "2024-03-30 02:30:00+01", "timestamptz", "1 day", "interval", "2024-03-31 03:30:00+02", ""},
	{"America/New_York", "-", "2024-03-10 12:00:00-04", "timestamptz", "2024-03-09 12:00:00-05", "timestamptz", "23:00:00", ""},
	{"UTC", "+", "0.908", "numeric", "12345", "numeric", "12345.908", ""},
	{"UTC", "*", "0.908", "numeric", "12345", "numeric", "11209.260", ""},
	{"UTC", "*", "-0.001", "numeric", "0", "numeric", "0.000", ""},
	{"UTC", "-", "1.00", "numeric", "1", "numeric", "0.00", ""},
	{"UTC", "/", "99.995", "numeric", "7", "numeric", "14.2850000000000000", ""},
	{"UTC", "/", "2.5", "numeric", "1000000", "numeric", "0.000002500000000000000000", ""},
	{"UTC", "/", "-1", "numeric", "3", "numeric", "-0.33333333333333333333", ""},
	{"UTC", "/", "5", "numeric", "-0.000000003", "numeric", "-1666666666.666666667", ""},
	{"UTC", "/", "0.5", "numeric", "0", "numeric", "", "22012"},
	{"UTC", "%", "-7.5", "numeric", "2", "numeric", "-1.5", ""},
	{"UTC", "%", "7.5", "numeric", "0.000", "numeric", "", "22012"},
	{"UTC", "*", "999999999999999999", "numeric", "999999999999999999", "numeric", "999999999999999998000000000000000001", ""},
	{"UTC", "+", "999999999999999999", "numeric", "0.000000000000000001", "numeric", "999999999999999999.000000000000000001", ""},
	{"UTC", "/", "1", "numeric", "0.999999999999999999", "numeric", "1.000000000000000001", ""},
	{"UTC", "/", "123456789012345678", "numeric", "0.000001", "numeric", "123456789012345678000000.000000", ""},
	{"UTC", "/", "0.0000000001", "numeric", "12345678901234567", "numeric", "0.00000000000000000000000000810000007290000125", ""},
	{"UTC", "*", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "<", "1.10", "numeric", "1.1", "numeric", "f", ""},
	{"UTC", "=", "1.10", "numeric", "1.1", "numeric", "t", ""},
	{"UTC", ">", "-0.5", "numeric", "-0.49", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "<", "123456789012345678901234", "numeric", "1", "numeric", "f", ""},
	// NaN and infinities (numeric_add/sub/mul/div/mod, cmp_numerics).
	{"UTC", "+", "NaN", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "NaN", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "+", "NaN", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "+", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "+", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "+", "NaN", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "+", "Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "Infinity", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "+", "Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "+", "Infinity", "numeric", "2", "numeric", "Infinity", ""},
	{"UTC", "+", "Infinity", "numeric", "0", "numeric", "Infinity", ""},
	{"UTC", "+", "Infinity", "numeric", "-2", "numeric", "Infinity", ""},
	{"UTC", "+", "-Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "-Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "+", "-Infinity", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "+", "-Infinity", "numeric", "2", "numeric", "-Infinity", ""},
	{"UTC", "+", "-Infinity", "numeric", "0", "numeric", "-Infinity", ""},
	{"UTC", "+", "-Infinity", "numeric", "-2", "numeric", "-Infinity", ""},
	{"UTC", "+", "2.50", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "2.50", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "+", "2.50", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "+", "0", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "0", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "+", "0", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "+", "-2", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "+", "-2", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "+", "-2", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "-", "NaN", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "NaN", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "-", "NaN", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "-", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "-", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "-", "NaN", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "-", "Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "-", "Infinity", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "-", "Infinity", "numeric", "2", "numeric", "Infinity", ""},
	{"UTC", "-", "Infinity", "numeric", "0", "numeric", "Infinity", ""},
	{"UTC", "-", "Infinity", "numeric", "-2", "numeric", "Infinity", ""},
	{"UTC", "-", "-Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "-Infinity", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "-", "-Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "-", "-Infinity", "numeric", "2", "numeric", "-Infinity", ""},
	{"UTC", "-", "-Infinity", "numeric", "0", "numeric", "-Infinity", ""},
	{"UTC", "-", "-Infinity", "numeric", "-2", "numeric", "-Infinity", ""},
	{"UTC", "-", "2.50", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "2.50", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "-", "2.50", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "-", "0", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "0", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "-", "0", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "-", "-2", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "-", "-2", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "-", "-2", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "*", "NaN", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "NaN", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "*", "NaN", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "*", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "*", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "*", "NaN", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "*", "Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "Infinity", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "*", "Infinity", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "*", "Infinity", "numeric", "2", "numeric", "Infinity", ""},
	{"UTC", "*", "Infinity", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "*", "Infinity", "numeric", "-2", "numeric", "-Infinity", ""},
	{"UTC", "*", "-Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "-Infinity", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "*", "-Infinity", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "*", "-Infinity", "numeric", "2", "numeric", "-Infinity", ""},
	{"UTC", "*", "-Infinity", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "*", "-Infinity", "numeric", "-2", "numeric", "Infinity", ""},
	{"UTC", "*", "2.50", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "2.50", "numeric", "Infinity", "numeric", "Infinity", ""},
	{"UTC", "*", "2.50", "numeric", "-Infinity", "numeric", "-Infinity", ""},
	{"UTC", "*", "0", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "0", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "*", "0", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "*", "-2", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "*", "-2", "numeric", "Infinity", "numeric", "-Infinity", ""},
	{"UTC", "*", "-2", "numeric", "-Infinity", "numeric", "Infinity", ""},
	{"UTC", "/", "NaN", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "/", "NaN", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "/", "Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "Infinity", "numeric", "2", "numeric", "Infinity", ""},
	{"UTC", "/", "Infinity", "numeric", "0", "numeric", "", "22012"},
	{"UTC", "/", "Infinity", "numeric", "-2", "numeric", "-Infinity", ""},
	{"UTC", "/", "-Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "-Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "-Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "/", "-Infinity", "numeric", "2", "numeric", "-Infinity", ""},
	{"UTC", "/", "-Infinity", "numeric", "0", "numeric", "", "22012"},
	{"UTC", "/", "-Infinity", "numeric", "-2", "numeric", "Infinity", ""},
	{"UTC", "/", "2.50", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "2.50", "numeric", "Infinity", "numeric", "0", ""},
	{"UTC", "/", "2.50", "numeric", "-Infinity", "numeric", "0", ""},
	{"UTC", "/", "0", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "0", "numeric", "Infinity", "numeric", "0", ""},
	{"UTC", "/", "0", "numeric", "-Infinity", "numeric", "0", ""},
	{"UTC", "/", "-2", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "/", "-2", "numeric", "Infinity", "numeric", "0", ""},
	{"UTC", "/", "-2", "numeric", "-Infinity", "numeric", "0", ""},
	{"UTC", "%", "NaN", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "NaN", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "NaN", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "NaN", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "%", "NaN", "numeric", "0", "numeric", "NaN", ""},
	{"UTC", "%", "NaN", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "%", "Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "Infinity", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "%", "Infinity", "numeric", "0", "numeric", "", "22012"},
	{"UTC", "%", "Infinity", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "%", "-Infinity", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "-Infinity", "numeric", "Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "-Infinity", "numeric", "-Infinity", "numeric", "NaN", ""},
	{"UTC", "%", "-Infinity", "numeric", "2", "numeric", "NaN", ""},
	{"UTC", "%", "-Infinity", "numeric", "0", "numeric", "", "22012"},
	{"UTC", "%", "-Infinity", "numeric", "-2", "numeric", "NaN", ""},
	{"UTC", "%", "2.50", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "2.50", "numeric", "Infinity", "numeric", "2.50", ""},
	{"UTC", "%", "2.50", "numeric", "-Infinity", "numeric", "2.50", ""},
	{"UTC", "%", "0", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "0", "numeric", "Infinity", "numeric", "0", ""},
	{"UTC", "%", "0", "numeric", "-Infinity", "numeric", "0", ""},
	{"UTC", "%", "-2", "numeric", "NaN", "numeric", "NaN", ""},
	{"UTC", "%", "-2", "numeric", "Infinity", "numeric", "-2", ""},
	{"UTC", "%", "-2", "numeric", "-Infinity", "numeric", "-2", ""},
	{"UTC", "<", "NaN", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "2", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "0", "numeric", "f", ""},
	{"UTC", "<", "NaN", "numeric", "-2", "numeric", "f", ""},
	{"UTC", "<", "Infinity", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "<", "Infinity", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "<", "Infinity", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "<", "Infinity", "numeric", "2", "numeric", "f", ""},
	{"UTC", "<", "Infinity", "numeric", "0", "numeric", "f", ""},
	{"UTC", "<", "Infinity", "numeric", "-2", "numeric", "f", ""},
	{"UTC", "<", "-Infinity", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "<", "-Infinity", "numeric", "Infinity", "numeric", "t", ""},
	{"UTC", "<", "-Infinity", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "<", "-Infinity", "numeric", "2", "numeric", "t", ""},
	{"UTC", "<", "-Infinity", "numeric", "0", "numeric", "t", ""},
	{"UTC", "<", "-Infinity", "numeric", "-2", "numeric", "t", ""},
	{"UTC", "<", "2.50", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "<", "2.50", "numeric", "Infinity", "numeric", "t", ""},
	{"UTC", "<", "2.50", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "<", "0", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "<", "0", "numeric", "Infinity", "numeric", "t", ""},
	{"UTC", "<", "0", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "<", "-2", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "<", "-2", "numeric", "Infinity", "numeric", "t", ""},
	{"UTC", "<", "-2", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "=", "NaN", "numeric", "NaN", "numeric", "t", ""},
	{"UTC", "=", "NaN", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "=", "NaN", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "=", "NaN", "numeric", "2", "numeric", "f", ""},
	{"UTC", "=", "NaN", "numeric", "0", "numeric", "f", ""},
	{"UTC", "=", "NaN", "numeric", "-2", "numeric", "f", ""},
	{"UTC", "=", "Infinity", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "=", "Infinity", "numeric", "Infinity", "numeric", "t", ""},
	{"UTC", "=", "Infinity", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "=", "Infinity", "numeric", "2", "numeric", "f", ""},
	{"UTC", "=", "Infinity", "numeric", "0", "numeric", "f", ""},
	{"UTC", "=", "Infinity", "numeric", "-2", "numeric", "f", ""},
	{"UTC", "=", "-Infinity", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "=", "-Infinity", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "=", "-Infinity", "numeric", "-Infinity", "numeric", "t", ""},
	{"UTC", "=", "-Infinity", "numeric", "2", "numeric", "f", ""},
	{"UTC", "=", "-Infinity", "numeric", "0", "numeric", "f", ""},
	{"UTC", "=", "-Infinity", "numeric", "-2", "numeric", "f", ""},
	{"UTC", "=", "2.50", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "=", "2.50", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "=", "2.50", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "=", "0", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "=", "0", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "=", "0", "numeric", "-Infinity", "numeric", "f", ""},
	{"UTC", "=", "-2", "numeric", "NaN", "numeric", "f", ""},
	{"UTC", "=", "-2", "numeric", "Infinity", "numeric", "f", ""},
	{"UTC", "=", "-2", "numeric", "-Infinity", "numeric", "f", ""},
}

func TestVecKernelsAgainstPostgres(t *testing.T) {
	for _, c := range vecCases {
		desc := fmt.Sprintf("[%s] ('%s'::%s) %s ('%s'::%s)", c.tz, c.l1, c.t1, c.op, c.l2, c.t2)
		got, err := evalOpText(t, c)
		expectPG(t, desc, got, err, c.want, c.code)
	}
}

// evalOpText evaluates c over the column [v, NULL, v] and returns row 0 as
// text, checking that row 1 is NULL and row 2 equals row 0.
func evalOpText(t *testing.T, c vecCase) (string, error) {
	t.Helper()
	loc, err := time.LoadLocation(c.tz)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Location: loc}
	var argTs [2]types.T
	var vals [2]types.Datum
	for i, a := range [][2]string{{c.l1, c.t1}, {c.l2, c.t2}} {
		typ, err := types.ParseTypeName(a[1], nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		v, err := types.ParseText(a[0], typ, loc)
		if err != nil {
			t.Fatalf("parse %q as %s: %v", a[0], a[1], err)
		}
		argTs[i], vals[i] = typ, v
	}
	s, casts, err := LookupOperator(c.op, argTs[0], argTs[1])
	if err != nil {
		t.Fatalf("%s %s %s: %v", argTs[0], c.op, argTs[1], err)
	}
	cols := make([]arrow.Array, 2)
	for i := range cols {
		v := vals[i]
		if !casts[i].Equal(argTs[i]) {
			if v, err = types.Cast(v, argTs[i], casts[i], loc); err != nil {
				t.Fatal(err)
			}
		}
		cols[i] = types.ArrayFromDatums(casts[i], []types.Datum{v, nil, v})
		defer cols[i].Release()
	}
	out, err := s.Call(env, casts, cols, 3)
	if err != nil {
		return "", err
	}
	defer out.Release()
	rt := s.ResultType(casts)
	if !out.IsNull(1) {
		t.Errorf("%v: row with NULL arguments is not NULL", c)
	}
	r0 := types.FormatText(types.GetDatum(out, 0, rt), rt, loc)
	if r2 := types.FormatText(types.GetDatum(out, 2, rt), rt, loc); r0 != r2 {
		t.Errorf("%v: row 0 %q, row 2 %q", c, r0, r2)
	}
	return r0, nil
}

// sameColumn fails at the first row where two result columns differ.
func sameColumn(t *testing.T, what string, got, want arrow.Array, typ types.T, loc *time.Location) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%s: %d rows, want %d", what, got.Len(), want.Len())
	}
	for i := 0; i < got.Len(); i++ {
		g, w := types.GetDatum(got, i, typ), types.GetDatum(want, i, typ)
		if (g == nil) != (w == nil) {
			t.Fatalf("%s row %d: NULL mismatch: got %v, want %v", what, i, g, w)
		}
		if g == nil {
			continue
		}
		gs, ws := types.FormatText(g, typ, loc), types.FormatText(w, typ, loc)
		if gs != ws {
			t.Fatalf("%s row %d: got %s, want %s", what, i, gs, ws)
		}
	}
}

// compareKernels runs the vector and row kernels over the same columns:
// both must fail with the same SQLSTATE or agree on every row.
func compareKernels(t *testing.T, what string, vec, row ScalarFunc, env *Env, cols []arrow.Array, ret types.T) {
	t.Helper()
	n := cols[0].Len()
	got, gerr := vec(env, cols, n)
	want, werr := row(env, cols, n)
	if gerr != nil || werr != nil {
		if gerr == nil || werr == nil || sqlerr.Code(gerr) != sqlerr.Code(werr) {
			t.Fatalf("%s: vector error %v, row error %v", what, gerr, werr)
		}
		return
	}
	defer got.Release()
	defer want.Release()
	sameColumn(t, what, got, want, ret, env.loc())
}

// randNumericText returns canonical numeric text: mostly values the fast
// path takes, some it must hand to apd.
func randNumericText(r *rand.Rand) string {
	switch r.Intn(20) {
	case 0:
		return "NaN"
	case 1:
		return []string{"Infinity", "-Infinity"}[r.Intn(2)]
	case 2: // more digits than the fast path holds
		return "123456789012345678901234567.89"[:r.Intn(11)+20]
	case 3:
		return "0." + "000000000000000000000000"[:r.Intn(24)] + "1"
	case 4:
		return "0"
	}
	mag := uint64(r.Int63n(int64(pow10[r.Intn(19)]) + 1))
	scale := int32(r.Intn(9))
	if r.Intn(8) == 0 {
		scale = int32(r.Intn(19))
	}
	return string(appendFixed(nil, r.Intn(3) == 0, mag, scale))
}

func numericColumn(r *rand.Rand, n int, nonZero bool) arrow.Array {
	ds := make([]types.Datum, n)
	for i := range ds {
		if r.Intn(10) == 0 {
			continue // NULL
		}
		d, err := types.ParseDecimal(randNumericText(r))
		for err == nil && nonZero && d.IsZero() {
			d, err = types.ParseDecimal(randNumericText(r))
		}
		if err != nil {
			panic(err)
		}
		ds[i] = d
	}
	return types.ArrayFromDatums(types.TNumeric, ds)
}

func TestNumericVecMatchesRowPath(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	env := testEnv()
	for iter := 0; iter < 200; iter++ {
		n := 1 + r.Intn(300)
		for _, op := range []byte{'+', '-', '*', '/', '%'} {
			x := numericColumn(r, n, false)
			y := numericColumn(r, n, op == '/' || op == '%')
			what := fmt.Sprintf("iter %d op %c", iter, op)
			compareKernels(t, what, numericVecArith(op), numArith(op), env, []arrow.Array{x, y}, types.TNumeric)
			// A broadcast constant operand (0.908 * price).
			var d types.Datum
			for d == nil {
				d = types.GetDatum(y, r.Intn(n), types.TNumeric)
			}
			c := ConstColumn(types.TNumeric, d, n)
			compareKernels(t, what+" const", numericVecArith(op), numArith(op), env, []arrow.Array{c, x}, types.TNumeric)
			if op != '/' && op != '%' {
				compareKernels(t, what+" const", numericVecArith(op), numArith(op), env, []arrow.Array{x, c}, types.TNumeric)
			}
			x.Release()
			y.Release()
			c.Release()
		}
	}
}

// TestNumericFixedExact checks the fast path's own arithmetic against apd
// at full precision, so a wrong kernel cannot hide behind the fallback.
func TestNumericFixedExact(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	randFixed := func() fixedDec {
		d, ok := parseFixed(appendFixed(nil, r.Intn(2) == 0, uint64(r.Int63n(int64(pow10[r.Intn(19)])+1)), int32(r.Intn(12))))
		if !ok {
			t.Fatal("parseFixed rejected appendFixed's output")
		}
		return d
	}
	toApd := func(d fixedDec) *apd.Decimal {
		v, err := types.ParseDecimal(string(appendFixed(nil, d.neg, d.mag, d.scale)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fast := 0
	for i := 0; i < 100000; i++ {
		a, b := randFixed(), randFixed()
		da, db := toApd(a), toApd(b)
		for _, op := range []byte{'+', '-', '*', '/', '%'} {
			if (op == '/' || op == '%') && b.mag == 0 {
				continue
			}
			var res fixedDec
			var ok bool
			switch op {
			case '+':
				res, ok = fixedAdd(a, b)
			case '-':
				nb := b
				nb.neg = !nb.neg
				res, ok = fixedAdd(a, nb)
			case '*':
				res, ok = fixedMul(a, b)
			case '/':
				res, ok = fixedDiv(a, b)
			case '%':
				res, ok = fixedMod(a, b)
			}
			if !ok {
				continue
			}
			fast++
			want, err := NumericOp(op, da, db)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(appendFixed(nil, res.neg, res.mag, res.scale)); got != numText(want) {
				t.Fatalf("%s %c %s: fast %s, apd %s", da.Text('f'), op, db.Text('f'), got, numText(want))
			}
		}
		if c, ok := fixedCmp(a, b); ok {
			fast++
			if want := da.Cmp(db); c != want {
				t.Fatalf("cmp(%s, %s) = %d, want %d", da.Text('f'), db.Text('f'), c, want)
			}
		}
	}
	if fast < 300000 {
		t.Fatalf("only %d operations took the fast path", fast)
	}
}

func TestNumericCompareMatchesRowPath(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	env := testEnv()
	for iter := 0; iter < 100; iter++ {
		n := 1 + r.Intn(300)
		x := numericColumn(r, n, false)
		var y arrow.Array
		if iter%3 == 0 {
			// Equal values written with different scales (1.5, 1.50).
			ds := make([]types.Datum, n)
			for i := range ds {
				if d, ok := types.GetDatum(x, i, types.TNumeric).(*apd.Decimal); ok && d.Form == apd.Finite {
					e := new(apd.Decimal)
					if _, err := types.DecimalCtx.Quantize(e, d, d.Exponent-int32(r.Intn(3))); err != nil {
						t.Fatal(err)
					}
					ds[i] = e
				}
			}
			y = types.ArrayFromDatums(types.TNumeric, ds)
		} else {
			y = numericColumn(r, n, false)
		}
		for _, c := range cmpOps {
			compareKernels(t, fmt.Sprintf("iter %d %s", iter, c.sym), numericVecCompare(c.op), genericCompare(c.op, types.TNumeric),
				env, []arrow.Array{x, y}, types.TBool)
		}
		x.Release()
		y.Release()
	}
}

func TestIntToNumericMatchesCast(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	targets := []types.T{types.TNumeric, {Kind: types.Numeric, Precision: 10, Scale: 2},
		{Kind: types.Numeric, Precision: 20, Scale: 0}, {Kind: types.Numeric, Precision: 3, Scale: 3},
		{Kind: types.Numeric, Precision: 5, Scale: -2}, {Kind: types.Numeric, Precision: 19, Scale: 1}}
	errs := 0
	for iter := 0; iter < 300; iter++ {
		from := intKinds[r.Intn(len(intKinds))]
		to := targets[r.Intn(len(targets))]
		n := 1 + r.Intn(50)
		ds := make([]types.Datum, n)
		lo, hi := types.IntRange(from.Kind)
		for i := range ds {
			switch r.Intn(10) {
			case 0:
			case 1:
				ds[i] = []int64{lo, hi, 0, -1}[r.Intn(4)]
			default:
				v := r.Int63n(int64(pow10[r.Intn(19)])) - r.Int63n(int64(pow10[r.Intn(19)]))
				ds[i] = min(max(v, lo), hi)
			}
		}
		in := types.ArrayFromDatums(from, ds)
		got, gerr := IntToNumeric(in, to, n)
		var werr error
		want := make([]types.Datum, n)
		for i, d := range ds {
			if d == nil {
				continue
			}
			if want[i], werr = types.Cast(d, from, to, time.UTC); werr != nil {
				break
			}
		}
		in.Release()
		if gerr != nil || werr != nil {
			if gerr == nil || werr == nil || sqlerr.Code(gerr) != sqlerr.Code(werr) || gerr.Error() != werr.Error() {
				t.Fatalf("%s -> %s: vector error %v, cast error %v", from, to, gerr, werr)
			}
			errs++
			continue
		}
		w := types.ArrayFromDatums(to, want)
		// The same text, not only the same value: columns compare as text.
		for i := 0; i < n; i++ {
			if got.IsValid(i) != w.IsValid(i) || got.IsValid(i) && got.(*array.String).Value(i) != w.(*array.String).Value(i) {
				t.Fatalf("%s -> %s row %d: %q, want %q", from, to, i, got.(*array.String).Value(i), w.(*array.String).Value(i))
			}
		}
		got.Release()
		w.Release()
	}
	if errs == 0 || errs > 250 {
		t.Fatalf("%d of 300 batches overflowed: the inputs do not exercise both paths", errs)
	}
}

// rowAddInterval is the row path for timestamp ± interval: rowFunc over
// types.AddInterval.
func rowAddInterval(argTs []types.T, tsArg int, sub, tz bool, ret types.T) ScalarFunc {
	return rowFunc(argTs, ret, true, func(env *Env, a []types.Datum) (types.Datum, error) {
		var t types.Timestamp
		switch v := a[tsArg].(type) {
		case types.Timestamp:
			t = v
		case types.Date:
			var err error
			if t, err = dateToTimestamp(v); err != nil {
				return nil, err
			}
		}
		iv := a[1-tsArg].(types.IntervalValue)
		if sub {
			iv = types.IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
		}
		return types.AddInterval(t, iv, env.loc(), tz)
	})
}

func randInterval(r *rand.Rand) types.IntervalValue {
	switch r.Intn(6) {
	case 0:
		return types.IntervalValue{Months: int32(r.Intn(41) - 20)}
	case 1:
		return types.IntervalValue{Days: int32(r.Intn(801) - 400), Micros: r.Int63n(2e11) - 1e11}
	case 2:
		return types.IntervalValue{Months: int32(r.Intn(3)), Days: int32(r.Intn(3)), Micros: r.Int63n(1e10)}
	case 3: // huge: out of range near either end
		return types.IntervalValue{Micros: (2*r.Int63n(2) - 1) * (math.MaxInt64 / 1000)}
	}
	return types.IntervalValue{Micros: r.Int63n(1e13) - 5e12}
}

func randTimestamp(r *rand.Rand) types.Timestamp {
	switch r.Intn(20) {
	case 0:
		return types.TimestampPosInfinity
	case 1:
		return types.TimestampNegInfinity
	case 2:
		return types.Timestamp(minTimestamp + r.Int63n(1e12))
	case 3:
		return types.Timestamp(math.MaxInt64 - 1 - r.Int63n(1e12))
	case 4: // around the 2024 DST changes in New York
		return types.Timestamp([]int64{1710054000, 1730613600}[r.Intn(2)]*types.MicrosPerSecond + r.Int63n(4e10) - 2e10)
	}
	return types.Timestamp(r.Int63n(4e18) - 2e18)
}

func TestTimestampIntervalMatchesRowPath(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tsT, tz, iv, d := types.TTimestamp, types.TTimestampTZ, types.TInterval, types.TDate
	for iter := 0; iter < 300; iter++ {
		n := 1 + r.Intn(100)
		env := &Env{Location: []*time.Location{time.UTC, ny}[r.Intn(2)]}
		tss, dates, ivs := make([]types.Datum, n), make([]types.Datum, n), make([]types.Datum, n)
		constIv := randInterval(r)
		for i := range tss {
			if r.Intn(10) > 0 {
				tss[i] = randTimestamp(r)
			}
			if r.Intn(10) > 0 {
				dates[i] = types.Date(r.Int63n(2*106751991) - 106751991)
				if r.Intn(20) == 0 {
					dates[i] = []types.Date{types.DateNegInfinity, types.DatePosInfinity, 106751990, 106751991}[r.Intn(4)]
				}
			}
			if r.Intn(10) > 0 {
				ivs[i] = randInterval(r)
				if iter%2 == 0 {
					ivs[i] = constIv // the watermark's shape: one interval for the batch
				}
			}
		}
		ivCol := types.ArrayFromDatums(iv, ivs)
		for _, tt := range []types.T{tsT, tz, d} {
			ret, vals := tt, tss
			if tt == d {
				ret, vals = tsT, dates
			}
			col := types.ArrayFromDatums(tt, vals)
			aware := tt == tz
			for _, c := range []struct {
				tsArg int
				sub   bool
			}{{0, false}, {1, false}, {0, true}} {
				args, argTs := []arrow.Array{col, ivCol}, []types.T{tt, iv}
				if c.tsArg == 1 {
					args, argTs = []arrow.Array{ivCol, col}, []types.T{iv, tt}
				}
				what := fmt.Sprintf("iter %d %s tsArg %d sub %v in %s", iter, tt, c.tsArg, c.sub, env.loc())
				compareKernels(t, what, tsIntervalKernel(c.tsArg, c.sub, aware, ret), rowAddInterval(argTs, c.tsArg, c.sub, aware, ret), env, args, ret)
			}
			col.Release()
		}
		ivCol.Release()
	}
}

func TestDateAndIntervalKernelsMatchRowPath(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	env := testEnv()
	d, i4, iv, tsT := types.TDate, types.TInt4, types.TInterval, types.TTimestamp
	dateRow := func(dateArg int, sub bool) ScalarFunc {
		return rowFunc(ts(d, i4), d, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
			x, k := a[dateArg].(types.Date), a[1-dateArg].(int64)
			if !x.IsFinite() {
				return x, nil
			}
			if sub {
				k = -k
			}
			v := int64(x) + k
			if v < minDate || v > maxDate {
				return nil, errDateRange()
			}
			return types.Date(v), nil
		})
	}
	for iter := 0; iter < 200; iter++ {
		n := 1 + r.Intn(100)
		// dates, dates, days, timestamps, timestamps, intervals, intervals
		cols := make([][]types.Datum, 7)
		for k := range cols {
			cols[k] = make([]types.Datum, n)
		}
		for i := 0; i < n; i++ {
			if r.Intn(10) > 0 {
				cols[0][i] = types.Date(r.Int63n(maxDate-minDate+1) + minDate)
				if r.Intn(10) == 0 {
					cols[0][i] = []types.Date{types.DateNegInfinity, types.DatePosInfinity, minDate, maxDate}[r.Intn(4)]
				}
			}
			if r.Intn(10) > 0 {
				cols[1][i] = types.Date(r.Int63n(1e6) - 5e5)
			}
			if r.Intn(10) > 0 {
				cols[2][i] = r.Int63n(1<<32) - 1<<31
				if r.Intn(2) == 0 {
					cols[2][i] = r.Int63n(2000) - 1000
				}
			}
			if r.Intn(10) > 0 {
				cols[3][i] = types.Timestamp(r.Int63n(8e18) - 4e18)
				if r.Intn(20) == 0 {
					cols[3][i] = types.TimestampPosInfinity
				}
			}
			if r.Intn(10) > 0 {
				cols[4][i] = types.Timestamp(r.Int63n(8e18) - 4e18)
			}
			if r.Intn(10) > 0 {
				cols[5][i] = randInterval(r)
			}
			if r.Intn(10) > 0 {
				cols[6][i] = randInterval(r)
				if r.Intn(10) == 0 {
					cols[6][i] = types.IntervalValue{Months: math.MaxInt32}
				}
			}
		}
		colTs := []types.T{d, d, i4, tsT, tsT, iv, iv}
		arrs := make([]arrow.Array, len(cols))
		for k := range cols {
			arrs[k] = types.ArrayFromDatums(colTs[k], cols[k])
		}
		cd, cd2, ck, c1, c2, i1, i2 := arrs[0], arrs[1], arrs[2], arrs[3], arrs[4], arrs[5], arrs[6]
		compareKernels(t, "date + int", dateIntKernel(0, false), dateRow(0, false), env, []arrow.Array{cd, ck}, d)
		compareKernels(t, "int + date", dateIntKernel(1, false), dateRow(1, false), env, []arrow.Array{ck, cd}, d)
		compareKernels(t, "date - int", dateIntKernel(0, true), dateRow(0, true), env, []arrow.Array{cd, ck}, d)
		compareKernels(t, "date - date", dateDiffKernel, rowFunc(ts(d, d), i4, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
			x, y := a[0].(types.Date), a[1].(types.Date)
			if !x.IsFinite() || !y.IsFinite() {
				return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite dates")
			}
			return int64(x) - int64(y), nil
		}), env, []arrow.Array{cd, cd2}, i4)
		compareKernels(t, "ts - ts", tsDiffKernel, rowFunc(ts(tsT, tsT), iv, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
			x, y := a[0].(types.Timestamp), a[1].(types.Timestamp)
			if !x.IsFinite() || !y.IsFinite() {
				return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
			}
			return types.JustifyHours(types.IntervalValue{Micros: int64(x - y)}), nil
		}), env, []arrow.Array{c1, c2}, iv)
		for _, sub := range []bool{false, true} {
			compareKernels(t, fmt.Sprintf("interval ± interval sub %v", sub), intervalAddKernel(sub), rowFunc(ts(iv, iv), iv, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
				x, y := a[0].(types.IntervalValue), a[1].(types.IntervalValue)
				if sub {
					y = types.IntervalValue{Months: -y.Months, Days: -y.Days, Micros: -y.Micros}
				}
				m, dd, us := int64(x.Months)+int64(y.Months), int64(x.Days)+int64(y.Days), x.Micros+y.Micros
				if m != int64(int32(m)) || dd != int64(int32(dd)) || (x.Micros^us)&(y.Micros^us) < 0 ||
					us > math.MaxInt64/1000 || us < math.MinInt64/1000 {
					return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "interval out of range")
				}
				return types.IntervalValue{Months: int32(m), Days: int32(dd), Micros: us}, nil
			}), env, []arrow.Array{i1, i2}, iv)
		}
		for _, a := range arrs {
			a.Release()
		}
	}
}

// TestMinTimestampBound pins the kernels' copy of the lower timestamp
// bound to types.AddInterval's.
func TestMinTimestampBound(t *testing.T) {
	if _, err := types.AddInterval(types.Timestamp(minTimestamp), types.IntervalValue{}, time.UTC, false); err != nil {
		t.Fatalf("minTimestamp is out of range: %v", err)
	}
	if _, err := types.AddInterval(types.Timestamp(minTimestamp), types.IntervalValue{Micros: -1}, time.UTC, false); err == nil {
		t.Fatal("one microsecond before minTimestamp is in range")
	}
}

func TestConstColumnMatchesConstArray(t *testing.T) {
	dec, _ := types.ParseDecimal("-0.908")
	cases := []struct {
		t types.T
		d types.Datum
	}{
		{types.TInt2, int64(-7)}, {types.TInt4, int64(123)}, {types.TInt8, int64(math.MinInt64)},
		{types.TFloat4, 1.5}, {types.TFloat8, math.Inf(-1)}, {types.TBool, true},
		{types.TDate, types.Date(19000)}, {types.TTimestamp, types.Timestamp(1)}, {types.TTimestampTZ, types.Timestamp(-5)},
		{types.TInterval, types.IntervalValue{Months: 1, Days: -2, Micros: 4_000_000}},
		{types.TText, "héllo"}, {types.TText, ""}, {types.TNumeric, dec}, {types.TInt8, nil}, {types.TText, nil},
	}
	for _, c := range cases {
		for _, n := range []int{0, 1, 1000} {
			got := ConstColumn(c.t, c.d, n)
			want := types.ConstArray(c.t, c.d, n)
			if !arrow.TypeEqual(got.DataType(), want.DataType()) || !array.Equal(got, want) {
				t.Errorf("ConstColumn(%s, %v, %d) = %v, want %v", c.t, c.d, n, got, want)
			}
			got.Release()
			want.Release()
		}
	}
}

func TestParseFixed(t *testing.T) {
	for s, want := range map[string]string{
		"0": "0", "-0.50": "-0.50", "123.456": "123.456", ".5": "0.5", "999999999999999999": "999999999999999999",
		"0.000000000000000000000001": "0.000000000000000000000001", "000123": "123",
	} {
		d, ok := parseFixed([]byte(s))
		if !ok {
			t.Errorf("parseFixed(%q) failed", s)
			continue
		}
		if got := string(appendFixed(nil, d.neg, d.mag, d.scale)); got != want {
			t.Errorf("parseFixed(%q) -> %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{"", "-", ".", "NaN", "Infinity", "1e5", "1.2.3", "1234567890123456789", "12a", "+1"} {
		if _, ok := parseFixed([]byte(s)); ok {
			t.Errorf("parseFixed(%q) accepted", s)
		}
	}
}

func TestAppendFixed(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for i := 0; i < 100000; i++ {
		mag := uint64(r.Int63n(int64(pow10[r.Intn(19)]) + 1))
		if i%10 == 0 {
			mag = math.MaxUint64 - uint64(r.Intn(1000))
		}
		scale, neg := int32(r.Intn(40)), r.Intn(2) == 0
		got, want := string(appendFixed(nil, neg, mag, scale)), string(appendFixedLong(nil, neg, mag, scale))
		d := new(apd.Decimal)
		d.Coeff.SetUint64(mag)
		d.Exponent, d.Negative = -scale, neg
		if ref := numText(d); got != want || got != ref {
			t.Fatalf("appendFixed(%v, %d, %d) = %q, long form %q, apd %q", neg, mag, scale, got, want, ref)
		}
	}
}

func TestMixedIntCompare(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	env := testEnv()
	n := 500
	a8, a4 := make([]types.Datum, n), make([]types.Datum, n)
	for i := 0; i < n; i++ {
		if r.Intn(10) > 0 {
			a8[i] = r.Int63n(1<<40) - 1<<39
			if r.Intn(3) == 0 {
				a8[i] = r.Int63n(5) - 2
			}
		}
		if r.Intn(10) > 0 {
			a4[i] = r.Int63n(5) - 2
		}
	}
	x, y := types.ArrayFromDatums(types.TInt8, a8), types.ArrayFromDatums(types.TInt4, a4)
	defer x.Release()
	defer y.Release()
	for _, c := range cmpOps {
		for _, args := range [][]arrow.Array{{x, y}, {y, x}} {
			got, err := intCompare(c.op)(env, args, n)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				l, rr := types.GetDatum(args[0], i, types.TInt8), types.GetDatum(args[1], i, types.TInt8)
				if (l == nil || rr == nil) != got.IsNull(i) {
					t.Fatalf("%s row %d: NULL mismatch", c.sym, i)
				}
				if l != nil && rr != nil {
					if want := c.op.test(cmp.Compare(l.(int64), rr.(int64))); got.(*array.Boolean).Value(i) != want {
						t.Fatalf("%d %s %d = %v, want %v", l, c.sym, rr, !want, want)
					}
				}
			}
			got.Release()
		}
	}
}

// TestTimestampIntervalEnds: a sum landing exactly on the infinity
// sentinels is out of range, not infinity.
func TestTimestampIntervalEnds(t *testing.T) {
	env := testEnv()
	cases := []struct {
		ts  types.Timestamp
		us  int64
		bad bool
	}{
		{math.MaxInt64 - 1, 1, true}, {math.MaxInt64 - 2, 1, false}, {math.MinInt64 + 1, -1, true},
		{types.Timestamp(minTimestamp), 0, false}, {types.Timestamp(minTimestamp), -1, true},
		{types.TimestampPosInfinity, -5, false}, {0, math.MaxInt64 / 1000, false},
	}
	for _, c := range cases {
		tsCol := types.ArrayFromDatums(types.TTimestamp, []types.Datum{c.ts})
		ivCol := types.ArrayFromDatums(types.TInterval, []types.Datum{types.IntervalValue{Micros: c.us}})
		out, err := tsIntervalKernel(0, false, false, types.TTimestamp)(env, []arrow.Array{tsCol, ivCol}, 1)
		if (err != nil) != c.bad {
			t.Errorf("%d + %dus: error %v, want error %v", c.ts, c.us, err, c.bad)
		}
		if err == nil {
			want, _ := types.AddInterval(c.ts, types.IntervalValue{Micros: c.us}, time.UTC, false)
			if got := types.GetDatum(out, 0, types.TTimestamp); got != want {
				t.Errorf("%d + %dus = %v, want %v", c.ts, c.us, got, want)
			}
			out.Release()
		}
		tsCol.Release()
		ivCol.Release()
	}
}
