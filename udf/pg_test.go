package udf

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// pgCase is one operator or function call with PostgreSQL 15's result
// (text output) or error SQLSTATE; pg_cases_test.go holds the table.
type pgCase struct {
	kind string // "op", "unop", "fn"
	name string
	args []pgArg
	want string // text output, "<NULL>" for NULL
	code string // SQLSTATE when PostgreSQL raised an error
}

type pgArg struct{ lit, typ string }

func testEnv() *Env {
	return &Env{Location: time.UTC, TxnTime: time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC), StmtTime: time.Date(2024, 5, 17, 12, 0, 0, 0, time.UTC)}
}

// callCase resolves and evaluates c over a 3-row column [v, NULL, v] and
// returns row 0 as text, checking that row 2 agrees and, for strict
// functions, that row 1 is NULL.
func callCase(t *testing.T, c pgCase) (string, error) {
	t.Helper()
	env := testEnv()
	argTs := make([]types.T, len(c.args))
	vals := make([]types.Datum, len(c.args))
	for i, a := range c.args {
		typ, err := types.ParseTypeName(a.typ, nil, 0)
		if err != nil {
			t.Fatalf("type %s: %v", a.typ, err)
		}
		argTs[i] = typ
		v, err := types.ParseText(a.lit, typ, time.UTC)
		if err != nil {
			t.Fatalf("parse %q as %s: %v", a.lit, a.typ, err)
		}
		vals[i] = v
	}
	var s *Scalar
	var casts []types.T
	var err error
	switch c.kind {
	case "op":
		s, casts, err = LookupOperator(c.name, argTs[0], argTs[1])
	case "unop":
		s, casts, err = LookupUnaryOperator(c.name, argTs[0])
	default:
		s, casts, err = LookupScalar(c.name, argTs)
	}
	if err != nil {
		return "", err
	}
	const n = 3
	cols := make([]arrow.Array, len(vals))
	for i, v := range vals {
		if !casts[i].Equal(argTs[i]) {
			v, err = types.Cast(v, argTs[i], casts[i], time.UTC)
			if err != nil {
				t.Fatalf("cast %v to %s: %v", vals[i], casts[i], err)
			}
		}
		cols[i] = types.ArrayFromDatums(casts[i], []types.Datum{v, nil, v})
		defer cols[i].Release()
	}
	out, err := s.Call(env, casts, cols, n)
	if err != nil {
		return "", err
	}
	defer out.Release()
	if out.Len() != n {
		t.Fatalf("%s: result has %d rows, want %d", c.name, out.Len(), n)
	}
	rt := s.ResultType(casts)
	get := func(i int) string {
		d := types.GetDatum(out, i, rt)
		if d == nil {
			return "<NULL>"
		}
		return types.FormatText(d, rt, time.UTC)
	}
	// Row 1 holds NULL arguments: a strict function may return anything
	// there (the caller masks it) but must not fail; row 2 equals row 0.
	_ = get(1)
	if r0, r2 := get(0), get(2); r0 != r2 {
		t.Errorf("%s: row 0 %q differs from row 2 %q", c.name, r0, r2)
	}
	return get(0), nil
}

// expectPG checks a result against PostgreSQL's for the case desc: the
// text want, or an error with SQLSTATE code when code is set.
func expectPG(t *testing.T, desc, got string, err error, want, code string) {
	t.Helper()
	switch {
	case code != "":
		if err == nil {
			t.Errorf("%s: got %q, want error %s", desc, got, code)
		} else if c := sqlerr.Code(err); c != code {
			t.Errorf("%s: error %s (%v), want %s", desc, c, err, code)
		}
	case err != nil:
		t.Errorf("%s: error %v, want %q", desc, err, want)
	case got != want:
		t.Errorf("%s: got %q, want %q", desc, got, want)
	}
}

func TestAgainstPostgres(t *testing.T) {
	for _, c := range pgCases {
		got, err := callCase(t, c)
		desc := c.kind + " " + c.name
		for _, a := range c.args {
			desc += " " + a.lit + "::" + a.typ
		}
		expectPG(t, desc, got, err, c.want, c.code)
	}
}
