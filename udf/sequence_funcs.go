package udf

import (
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Sequence functions: nextval, currval, setval and lastval, answered by
// the server through Env.Sessions (the sequence's state is the server's,
// the values last seen the session's), and pg_sequence_row, the row that
// SELECT * FROM a sequence reads.

// SequenceRowFunc names the table function that reads a sequence's row.
const SequenceRowFunc = "pg_sequence_row"

// SequenceColumns are a sequence's columns, as SELECT * shows them.
var SequenceColumns = []string{"last_value", "log_cnt", "is_called"}

// SerialSequences is implemented by catalog readers that know which
// sequence a column owns (pg_get_serial_sequence).
type SerialSequences interface {
	// SerialSequence returns the qualified name of the sequence that
	// column of table (a name as SQL writes it) owns; found is false
	// when it owns none.
	SerialSequence(table, column string) (name string, found bool, err error)
}

// IsSequenceFunc reports whether name is one of the sequence functions,
// which read or change a sequence's state and so are never the same twice.
func IsSequenceFunc(name string) bool {
	switch name {
	case "nextval", "currval", "setval", "lastval":
		return true
	}
	return false
}

// IdentityNextval is the value an identity column's default draws:
// nextval of the column's sequence (given as a regclass) without the
// check of privileges on the sequence. It is not registered, so no SQL
// text can call it; the planner puts it where an identity column takes
// its default.
var IdentityNextval = &Scalar{Name: "nextval", Args: ts(regclassType), Ret: types.TInt8, Strict: true, Volatility: Volatile,
	Eval: rowFunc(ts(regclassType), types.TInt8, true, func(env *Env, a []types.Datum) (types.Datum, error) {
		if env == nil || env.Sessions == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "nextval() is not available in this context")
		}
		return env.Sessions.IdentityNextval(uint32(a[0].(int64)))
	})}

var regclassType = types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}

func (r *registry) addSequenceFuncs() {
	i8, b := types.TInt8, types.TBool
	regclass := types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}
	sessions := func(env *Env, fn string) (Sessions, error) {
		if env == nil || env.Sessions == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s() is not available in this context", fn)
		}
		return env.Sessions, nil
	}
	oid := func(d types.Datum) uint32 { return uint32(d.(int64)) }
	r.fn(&Scalar{Name: "nextval", Args: ts(regclass), Ret: i8, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(regclass), i8, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			ss, err := sessions(env, "nextval")
			if err != nil {
				return nil, err
			}
			return ss.Nextval(oid(a[0]))
		})})
	r.fn(&Scalar{Name: "currval", Args: ts(regclass), Ret: i8, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(regclass), i8, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			ss, err := sessions(env, "currval")
			if err != nil {
				return nil, err
			}
			return ss.Currval(oid(a[0]))
		})})
	r.fn(&Scalar{Name: "lastval", Ret: i8, Volatility: Volatile,
		Eval: rowFunc(nil, i8, false, func(env *Env, _ []types.Datum) (types.Datum, error) {
			ss, err := sessions(env, "lastval")
			if err != nil {
				return nil, err
			}
			return ss.Lastval()
		})})
	for _, args := range [][]types.T{ts(regclass, i8), ts(regclass, i8, b)} {
		r.fn(&Scalar{Name: "setval", Args: args, Ret: i8, Strict: true, Volatility: Volatile,
			Eval: rowFunc(args, i8, true, func(env *Env, a []types.Datum) (types.Datum, error) {
				ss, err := sessions(env, "setval")
				if err != nil {
					return nil, err
				}
				called := true
				if len(a) == 3 {
					called = a[2].(bool)
				}
				return ss.Setval(oid(a[0]), a[1].(int64), called)
			})})
	}
	r.fn(&Scalar{Name: "pg_get_serial_sequence", Args: ts(types.TText, types.TText), Ret: types.TText, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(types.TText, types.TText), types.TText, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			var ss SerialSequences
			ok := false
			if env != nil {
				ss, ok = env.Catalog.(SerialSequences)
			}
			if !ok {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "pg_get_serial_sequence() is not available in this context")
			}
			name, found, err := ss.SerialSequence(a[0].(string), a[1].(string))
			if err != nil || !found {
				return nil, err
			}
			return name, nil
		})})
	rowTypes := []types.T{i8, i8, b}
	r.tfunc(&TableFunc{Name: SequenceRowFunc, Args: ts(regclass),
		Cols: func([]types.T) ([]string, []types.T) { return SequenceColumns, rowTypes },
		Eval: func(env *Env, args []types.Datum, _ []types.T) (RowIter, error) {
			if anyNull(args) {
				return emptyIter{}, nil
			}
			ss, err := sessions(env, SequenceRowFunc)
			if err != nil {
				return nil, err
			}
			row, err := ss.SequenceRow(oid(args[0]))
			if err != nil {
				return nil, err
			}
			return &rowsIter{ts: rowTypes, rows: [][]types.Datum{row}}, nil
		}})
}
