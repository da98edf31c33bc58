package batch

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Project computes one output column per expression over each input batch.
type Project struct {
	in    exec.Operator
	exprs []expr.Expr
	ts    []types.T
}

// NewProject returns a projection of in to exprs.
func NewProject(in exec.Operator, exprs []expr.Expr) exec.Operator {
	ts := make([]types.T, len(exprs))
	for i, e := range exprs {
		ts[i] = e.Type()
	}
	return &Project{in: in, exprs: exprs, ts: ts}
}

func (p *Project) Open(ctx *exec.Ctx) error { return p.in.Open(ctx) }

func (p *Project) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	b, err := next(ctx, p.in)
	if err != nil || b == nil {
		return nil, err
	}
	defer b.Release()
	cols := make([]arrow.Array, len(p.exprs))
	for i, e := range p.exprs {
		// A bare column reference shares the input column.
		if c, ok := e.(*expr.ColRef); ok && c.Idx < len(b.Cols) {
			cols[i] = b.Cols[c.Idx]
			cols[i].Retain()
			continue
		}
		c, err := e.Eval(ctx, b)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols[i] = c
	}
	return exec.NewBatch(cols, b.N), nil
}

func (p *Project) Close()                    { p.in.Close() }
func (p *Project) Types() []types.T          { return p.ts }
func (p *Project) Explain() string           { return "Project " + exprList(p.exprs) }
func (p *Project) Children() []exec.Operator { return []exec.Operator{p.in} }
