package lower

import (
	"slices"
	"strings"

	"streamsql/exec"
	"streamsql/exec/match"
	"streamsql/sql/types"

	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// matchRecognize checks that a view's MATCH_RECOGNIZE reads what an
// incremental matcher needs: an append-only input (a match, once found,
// is never retracted) with a watermark on its first ORDER BY column
// (rows are matched in event-time order once the watermark has passed
// them). The operator is StreamMatchRecognize (exec/stream), keyed by the
// PARTITION BY columns.
func (sp *streamPlanner) matchRecognize(x *plan.MatchRecognize) (*stream.Node, []int, error) {
	child, cm, err := sp.convert(x.Input)
	if err != nil {
		return nil, nil, err
	}
	if !child.AppendOnly {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH_RECOGNIZE in a materialized view needs an append-only input").
			WithHint("Read from a source or an APPEND ONLY table; run the query ad hoc to match over a table that takes updates and deletes.")
	}
	if len(x.Order) == 0 {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH_RECOGNIZE in a materialized view needs ORDER BY an event-time column").
			WithHint("ORDER BY the column of the input's WATERMARK FOR clause.")
	}
	col := cm[x.Order[0]]
	if !slices.Contains(child.Watermarks, col) {
		name := "the ORDER BY column"
		if col >= 0 && col < len(child.Names) {
			name = `column "` + child.Names[col] + `"`
		}
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH_RECOGNIZE in a materialized view needs a watermark on its ORDER BY %s", name).
			WithHint("Declare WATERMARK FOR the column on the source or APPEND ONLY table (WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) and ORDER BY it first.")
	}
	if t := child.Types[col]; t.Kind != types.TimestampKind && t.Kind != types.TimestampTZ {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH_RECOGNIZE in a materialized view needs ORDER BY a timestamp column, not %s", t).
			WithHint("ORDER BY the event-time column of the input's WATERMARK FOR clause.")
	}
	// NEXT is refused by the planner in views: a match is emitted
	// before the rows after it arrive.
	spec, err := matchSpec(sp.compiler, x)
	if err != nil {
		return nil, nil, err
	}
	if x.Within != nil {
		// A view's WITHIN is fixed when it is created: it is evaluated
		// here, without statement arguments.
		w, err := sp.compiler.Compile(x.Within)
		if err != nil {
			return nil, nil, err
		}
		if spec.Within, err = match.WithinMicros(&exec.Ctx{}, w); err != nil {
			return nil, nil, err
		}
	}
	// Below the operator: the input's columns first, in order (hidden
	// key columns may follow).
	in := x.Input.OutputTypes()
	below := child
	for i := range in {
		if cm[i] != i {
			refs := make([]plan.Scalar, len(in))
			for i, t := range in {
				refs[i] = &plan.ColRef{Idx: i, T: t, Name: child.Names[cm[i]]}
			}
			if below, _, err = sp.project(child, cm, refs); err != nil {
				return nil, nil, err
			}
			break
		}
	}
	ms := &stream.MatchRecognizeSpec{Match: spec, TimeCol: x.Order[0], OrderCols: x.Order[1:], Types: below.Types, Desc: strings.TrimPrefix(x.String(), "match recognize"),
		LateSpec: stream.LateSpec{KeepLate: !sp.dropLate}}
	n := &stream.Node{Spec: ms, Inputs: []*stream.Node{below}, AppendOnly: true}
	for _, c := range x.Partition {
		n.Types = append(n.Types, in[c])
		n.Names = append(n.Names, below.Names[c])
		n.StreamKey = append(n.StreamKey, len(n.StreamKey))
	}
	for i, e := range x.Measures {
		n.Types = append(n.Types, e.Type())
		n.Names = append(n.Names, x.MeasureNames[i])
	}
	m := identity(len(n.Types))
	n.StreamKey = append(n.StreamKey, len(n.Types))
	n.Types = append(n.Types, types.TInt8)
	n.Names = append(n.Names, "_match_number")
	n.StateTables = []string{"rows: block -> the rows of one epoch that wait for the watermark or that a partial match can read (deleted once all are trimmed)",
		"partitions: partition key -> the matcher's state (partial matches, kept rows, match count)",
		"the last watermark"}
	return n, m, nil
}
