package udf

import (
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// GoFunctions holds functions written in Go by a program that embeds the
// server (engine.Options.Functions). They are called like built-ins, by
// name and argument types, ahead of the built-ins of the same name, in
// ad-hoc queries and in views; they are not in the catalog, so the
// program registers them again at every start, before it opens the
// engine. Register them with RegisterScalar, RegisterScalar2 and
// RegisterTable, whose Go types give the SQL signature:
//
//	int32 integer, int64 bigint, float64 double precision, string text,
//	bool boolean, time.Time timestamptz
//
// Scalar functions are strict (a NULL argument gives NULL without a call)
// and immutable: a view may call them, and must get the same answer for
// the same arguments. An error they return fails the statement with
// 38000, or in a view sends the row to rejects.
type GoFunctions struct {
	mu     sync.RWMutex
	scalar map[string][]*Scalar
	table  map[string][]*TableFunc
	agg    map[string][]*Aggregate
}

// NewGoFunctions returns an empty set of Go functions.
func NewGoFunctions() *GoFunctions {
	return &GoFunctions{scalar: map[string][]*Scalar{}, table: map[string][]*TableFunc{}, agg: map[string][]*Aggregate{}}
}

// GoValue are the Go types a Go function's arguments and results may have.
type GoValue interface {
	int32 | int64 | float64 | string | bool | time.Time
}

func sqlType[V GoValue]() types.T {
	var v V
	switch any(v).(type) {
	case int32:
		return types.TInt4
	case int64:
		return types.TInt8
	case float64:
		return types.TFloat8
	case string:
		return types.TText
	case bool:
		return types.TBool
	}
	return types.TTimestampTZ
}

func toDatum[V GoValue](v V) types.Datum {
	switch x := any(v).(type) {
	case int32:
		return int64(x)
	case time.Time:
		return types.TimeToTimestamp(x)
	case int64, float64, string, bool:
		return x
	}
	return nil
}

func fromDatum[V GoValue](d types.Datum) V {
	var v V
	switch p := any(&v).(type) {
	case *int32:
		*p = int32(d.(int64))
	case *int64:
		*p = d.(int64)
	case *float64:
		*p = d.(float64)
	case *string:
		*p = d.(string)
	case *bool:
		*p = d.(bool)
	case *time.Time:
		*p = types.TimestampToTime(d.(types.Timestamp))
	}
	return v
}

func goError(name string, err error) error {
	if e := sqlerr.From(err); e.Code != sqlerr.InternalError {
		return err
	}
	return sqlerr.New(sqlerr.ExternalRoutineException, "%v", err).WithDetail("In Go function %s.", name)
}

// goScalar makes the Scalar of a Go function of datums, run row by row.
func goScalar(name string, args []types.T, ret types.T, fn func([]types.Datum) (types.Datum, error)) *Scalar {
	sig := name + "(" + goTypeList(args) + ")"
	return &Scalar{Name: name, Args: args, Ret: ret, Strict: true, Volatility: Immutable,
		Eval: func(env *Env, cols []arrow.Array, n int) (arrow.Array, error) {
			b := types.NewBuilder(ret)
			defer b.Release()
			b.Reserve(n)
			row := make([]types.Datum, len(cols))
		rows:
			for i := 0; i < n; i++ {
				for j, c := range cols {
					if c.IsNull(i) {
						b.AppendNull()
						continue rows
					}
					row[j] = types.GetDatum(c, i, args[j])
				}
				d, err := fn(row)
				if err != nil {
					err = goError(sig, err)
					if RowError(env, sig, err, append([]types.Datum(nil), row...), args) {
						b.AppendNull()
						continue
					}
					return nil, err
				}
				types.AppendDatum(b, d)
			}
			return b.NewArray(), nil
		}}
}

func goTypeList(ts []types.T) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.String()
	}
	return s
}

func (g *GoFunctions) addScalar(s *Scalar) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.scalar[s.Name] {
		if sameTypes(o.Args, s.Args) {
			return fmt.Errorf("udf: Go function %s(%s) is registered twice", s.Name, goTypeList(s.Args))
		}
	}
	g.scalar[s.Name] = append(g.scalar[s.Name], s)
	return nil
}

func sameTypes(a, b []types.T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].OID() != b[i].OID() {
			return false
		}
	}
	return true
}

// RegisterScalar registers fn as the SQL function name(A) returning R.
func RegisterScalar[A, R GoValue](g *GoFunctions, name string, fn func(A) (R, error)) error {
	return g.addScalar(goScalar(name, []types.T{sqlType[A]()}, sqlType[R](), func(a []types.Datum) (types.Datum, error) {
		r, err := fn(fromDatum[A](a[0]))
		if err != nil {
			return nil, err
		}
		return toDatum(r), nil
	}))
}

// RegisterScalar2 registers fn as the SQL function name(A, B) returning R.
func RegisterScalar2[A, B, R GoValue](g *GoFunctions, name string, fn func(A, B) (R, error)) error {
	return g.addScalar(goScalar(name, []types.T{sqlType[A](), sqlType[B]()}, sqlType[R](), func(a []types.Datum) (types.Datum, error) {
		r, err := fn(fromDatum[A](a[0]), fromDatum[B](a[1]))
		if err != nil {
			return nil, err
		}
		return toDatum(r), nil
	}))
}

// RegisterTable registers fn as the table function name(A) returning SETOF
// R, one column named col: fn calls yield for each row and stops when
// yield returns false.
func RegisterTable[A, R GoValue](g *GoFunctions, name, col string, fn func(a A, yield func(R) bool) error) error {
	argT, retT := sqlType[A](), sqlType[R]()
	f := &TableFunc{Name: name, Args: []types.T{argT},
		Cols: func([]types.T) ([]string, []types.T) { return []string{col}, []types.T{retT} },
		Eval: func(env *Env, args []types.Datum, _ []types.T) (RowIter, error) {
			if args[0] == nil {
				return &datumIter{}, nil
			}
			var rows []types.Datum
			err := fn(fromDatum[A](args[0]), func(r R) bool {
				rows = append(rows, toDatum(r))
				return true
			})
			if err != nil {
				return nil, goError(name+"("+argT.String()+")", err)
			}
			return &datumIter{t: retT, rows: rows}, nil
		}}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.table[name] {
		if sameTypes(o.Args, f.Args) {
			return fmt.Errorf("udf: Go table function %s(%s) is registered twice", name, argT)
		}
	}
	g.table[name] = append(g.table[name], f)
	return nil
}

// datumIter hands out rows collected in memory.
type datumIter struct {
	t    types.T
	rows []types.Datum
}

func (it *datumIter) Next(max int) ([]arrow.Array, int, error) {
	if len(it.rows) == 0 {
		return nil, 0, nil
	}
	n := min(max, len(it.rows))
	col := types.ArrayFromDatums(it.t, it.rows[:n])
	it.rows = it.rows[n:]
	return []arrow.Array{col}, n, nil
}

func (it *datumIter) Close() { it.rows = nil }

// Scalars returns the overloads of the scalar Go function name.
func (g *GoFunctions) Scalars(name string) []*Scalar {
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.scalar[name]
}

// Tables returns the overloads of the Go table function name.
func (g *GoFunctions) Tables(name string) []*TableFunc {
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.table[name]
}
