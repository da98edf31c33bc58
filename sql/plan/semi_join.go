package plan

// SemiJoinOf returns the semi join that the decorrelate rule makes of a
// filter over input by subquery sq: an uncorrelated "x = ANY (SELECT y
// ...)" (IN) or a correlated EXISTS whose correlation is in its top
// filter. The join's Left is input; its keys pair expressions over input
// with expressions over Right. It reports false for any other subquery.
//
// The stream lowering, which maintains no semi joins, uses it to turn such
// a subquery into a left join with the subquery's distinct keys and a
// test of the match (stream_subquery.go in lower).
func SemiJoinOf(input Rel, sq *Subquery) (*Join, bool) {
	return subqueryJoin(input, sq)
}
