package lower

import "streamsql/sql/plan"

// The logical rewrites (sql/plan's rules) run on a view's plan before the
// stream lowering. Each keeps the rows of the result, and so the changes
// of a changelog: a filter moved below a projection, a sort, a DISTINCT,
// a set operation or into a join's inputs drops the same changes earlier
// (and keeps join and aggregation state smaller); constant folding and
// merged filters and projections leave fewer operators. Projection
// pruning drops only columns nothing above reads; the stream key columns
// of every input survive it, since the stream lowering of a projection
// keeps its input's key columns as hidden columns, and a watermark is
// dropped only with a column nothing reads.
//
// Left out: decorrelation, which turns IN and EXISTS subqueries into semi
// and anti joins. The stream engine maintains neither; the stream
// lowering turns the subqueries it can into left joins and a test of the
// match instead (stream_subquery.go), and refuses the others as
// subqueries, the clearer reason.

// streamRules are the rules Optimize runs on view plans.
func streamRules() []plan.Rule {
	var out []plan.Rule
	for _, r := range plan.DefaultRules() {
		if r.Name == "decorrelate" {
			continue
		}
		out = append(out, r)
	}
	return out
}

// optimize runs the stream rules on r.
func (sp *streamPlanner) optimize(r plan.Rel) plan.Rel {
	out, _ := plan.Optimize(r, streamRules())
	return out
}

// mergeProjects runs the merge-projects rule on r.
func mergeProjects(r plan.Rel) plan.Rel {
	rule, _ := plan.RuleByName("merge-projects")
	out, _ := plan.Optimize(r, []plan.Rule{rule})
	return out
}
