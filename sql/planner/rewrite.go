package planner

import "streamsql/sql/plan"

// The logical rewrites (sql/plan's rules) the planner runs on a plan
// before lowering it into batch executors. A stream plan is left as
// bound here: the stream lowering runs the rules that hold for streams
// itself (lower/stream_rules.go), on the whole plan and on the logical
// plans below the executors the planner builds.

// batchRules are the rules run for batch execution: all of them, except
// that column pruning adds no projection under a join input that cannot
// drop columns itself. Such inputs are executor leaves (scans) that read
// every column anyway; a projection over them would add an operator and
// change physical plans for no saving until scans are logical nodes that
// implement plan.ColumnPruner.
func batchRules() []plan.Rule {
	rules := plan.DefaultRules()
	for i := range rules {
		if rules[i].Name == "prune-columns" {
			rules[i].Apply = plan.PruneColumns(false)
		}
	}
	return rules
}

// rewrite runs the batch rules on r, unless the plan is for a stream or
// rewrites are off.
func (p *Planner) rewrite(r plan.Rel) plan.Rel {
	if p.Stream || p.NoRewrites {
		return r
	}
	out, _ := plan.Optimize(r, batchRules())
	return out
}

// Rewrite runs on r the rewrites the planner runs on the plans it returns.
// A subquery's plan gets them when it is lowered, as its expression is
// compiled (lower.Statement).
func (p *Planner) Rewrite(r plan.Rel) plan.Rel { return p.rewrite(r) }
