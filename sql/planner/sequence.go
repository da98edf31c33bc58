package planner

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/types"
	"streamsql/udf"
)

// planSequenceRow plans a sequence in FROM: its one row of last_value,
// log_cnt and is_called, read when the statement runs.
func (p *Planner) planSequenceRow(r *catalog.Relation, alias string, rv *pg.RangeVar) (*fromItem, error) {
	regclass := types.T{Kind: types.Oid, OIDOverride: types.OIDRegclass}
	fn, _, err := p.lookupTableFunc([]*pg.Node{pg.MakeStrNode(udf.SequenceRowFunc)}, []types.T{regclass}, p.pos(rv.Location))
	if err != nil {
		return nil, err
	}
	names, ts := fn.Cols(nil)
	cols := make([]column, len(names))
	for i := range names {
		cols[i] = column{table: alias, name: names[i], t: ts[i], tableOID: r.OID, attNum: int16(i + 1)}
		if rv.Alias != nil && i < len(rv.Alias.Colnames) {
			cols[i].name = rv.Alias.Colnames[i].GetString_().Sval
		}
	}
	node := &plan.TableFunction{Fn: fn, Args: []plan.Scalar{&plan.Const{Value: int64(r.OID), T: regclass}}}
	return &fromItem{rel: &relPlan{node: node, cols: cols}}, nil
}
