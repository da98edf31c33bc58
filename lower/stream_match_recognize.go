package lower

import (
	"slices"

	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

// matchRecognize checks that a view's MATCH_RECOGNIZE reads what an
// incremental matcher needs: an append-only input (a match, once found,
// is never retracted) with a watermark on its first ORDER BY column
// (rows are matched in event-time order once the watermark has passed
// them). The stream operator itself is not built yet, so an input that
// qualifies gets the error that says so.
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
	return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain MATCH_RECOGNIZE").
		WithHint("Run the query ad hoc; incremental matching in views is not built yet.")
}
