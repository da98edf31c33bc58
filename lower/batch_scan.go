package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/types"
	"streamsql/storage"
)

// batchScan builds the executor of a scan: a table scan over a primary key
// range, a table scan that also outputs row ids, or an index scan, with
// their key bounds compiled to be evaluated when the scan opens.
func batchScan(s *plan.Scan, c *expr.Compiler, read func() storage.Reader) (exec.Operator, error) {
	tbl := s.Rel.Table()
	if s.RowID {
		return batch.NewTableScanRowID(tbl, read, s.Cols, s.Rel.Name), nil
	}
	if s.Index >= 0 {
		ix := s.Rel.Indexes[s.Index].Storage()
		b, err := KeyBounds(&s.Bounds, tbl, ix, c)
		if err != nil {
			return nil, err
		}
		return batch.NewIndexScanBounds(tbl, ix, read, s.Cols, b, s.Rel.Name), nil
	}
	if s.Bounds.Empty() {
		return batch.NewTableScan(tbl, read, s.Cols, storage.KeySpan{}, s.Rel.Name), nil
	}
	b, err := KeyBounds(&s.Bounds, tbl, nil, c)
	if err != nil {
		return nil, err
	}
	return batch.NewTableScanBounds(tbl, read, s.Cols, b, s.Rel.Name), nil
}

// KeyBounds compiles the key bounds of a read of tbl in the order of index
// ix (nil: the primary key), for scans and for the rows UPDATE and DELETE
// visit.
func KeyBounds(kb *plan.KeyBounds, tbl *storage.Table, ix *storage.Index, c *expr.Compiler) (*batch.KeyBounds, error) {
	b := &batch.KeyBounds{}
	if ix != nil {
		for _, col := range ix.Cols {
			b.Types = append(b.Types, tbl.Types[col])
		}
		b.Desc = ix.Desc
	} else {
		for _, col := range tbl.PK {
			b.Types = append(b.Types, tbl.Types[col])
		}
		if len(tbl.PK) == 0 {
			b.Types = []types.T{types.TInt8}
		}
	}
	var err error
	if b.Eq, err = c.CompileAll(kb.Eq); err != nil {
		return nil, err
	}
	if b.Lo, err = keyBounds(kb.Lo, c); err != nil {
		return nil, err
	}
	if b.Hi, err = keyBounds(kb.Hi, c); err != nil {
		return nil, err
	}
	return b, nil
}

func keyBounds(bs []plan.Bound, c *expr.Compiler) ([]batch.KeyBound, error) {
	out := make([]batch.KeyBound, len(bs))
	for i, x := range bs {
		e, err := c.Compile(x.Value)
		if err != nil {
			return nil, err
		}
		out[i] = batch.KeyBound{E: e, Inclusive: x.Inclusive}
	}
	return out, nil
}
