package lower

import (
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/match"
	"streamsql/sql/plan"
)

// matchRecognize builds the batch operator of MATCH_RECOGNIZE.
func (l *batchLowering) matchRecognize(x *plan.MatchRecognize) (exec.Operator, error) {
	in, err := l.lower(x.Input)
	if err != nil {
		return nil, err
	}
	spec, err := matchSpec(l.c, x)
	if err != nil {
		return nil, err
	}
	var within expr.Expr
	if x.Within != nil {
		if within, err = l.c.Compile(x.Within); err != nil {
			return nil, err
		}
	}
	return batch.NewMatchRecognize(in, spec, x.Order, within, x.OutputTypes(), x.String()), nil
}

// matchSpec compiles the pattern, conditions and measures of x.
func matchSpec(c *expr.Compiler, x *plan.MatchRecognize) (match.Spec, error) {
	prog, err := match.Compile(x.Pattern)
	if err != nil {
		return match.Spec{}, err
	}
	spec := match.Spec{Program: prog, Vars: x.Vars, Defines: make([]match.Define, len(x.Defines)),
		MeasureNavs: x.MeasureNavs, Partition: x.Partition, Skip: x.Skip, SkipVar: x.SkipVar,
		InputTypes: x.Input.OutputTypes()}
	for v, d := range x.Defines {
		if d.Cond == nil {
			continue
		}
		e, err := c.Compile(d.Cond)
		if err != nil {
			return match.Spec{}, err
		}
		spec.Defines[v] = match.Define{Cond: e, Navs: d.Navs}
	}
	if spec.Measures, err = c.CompileAll(x.Measures); err != nil {
		return match.Spec{}, err
	}
	return spec, nil
}
