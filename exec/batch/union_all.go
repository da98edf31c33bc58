package batch

import (
	"fmt"

	"streamsql/exec"
	"streamsql/sql/types"
)

// UnionAll concatenates its inputs, one after another.
type UnionAll struct {
	inputs []exec.Operator
	cur    int
	opened int // inputs opened so far, closed at Close
}

// NewUnionAll returns the concatenation of inputs (same column types).
func NewUnionAll(inputs ...exec.Operator) exec.Operator {
	return &UnionAll{inputs: inputs}
}

// Inputs are opened lazily, one at a time, so an outer LIMIT that stops
// early never runs the later ones.
func (u *UnionAll) Open(ctx *exec.Ctx) error {
	u.cur, u.opened = 0, 0
	if len(u.inputs) == 0 {
		return nil
	}
	u.opened = 1
	return u.inputs[0].Open(ctx)
}

func (u *UnionAll) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for u.cur < len(u.inputs) {
		b, err := next(ctx, u.inputs[u.cur])
		if err != nil {
			return nil, err
		}
		if b != nil {
			return b, nil
		}
		u.cur++
		if u.cur < len(u.inputs) {
			u.opened++
			if err := u.inputs[u.cur].Open(ctx); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

func (u *UnionAll) Close() {
	for i := 0; i < u.opened; i++ {
		u.inputs[i].Close()
	}
	u.opened = 0
}

func (u *UnionAll) Types() []types.T {
	if len(u.inputs) == 0 {
		return nil
	}
	return u.inputs[0].Types()
}
func (u *UnionAll) Explain() string           { return fmt.Sprintf("UnionAll %d inputs", len(u.inputs)) }
func (u *UnionAll) Children() []exec.Operator { return u.inputs }
