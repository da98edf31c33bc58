package plan

import (
	"fmt"

	"streamsql/sql/types"
)

// SessionWindow is SESSION(rel, ts, gap) over Input: per partition (the
// rows equal in the Partition columns, NULLs equal), the rows whose
// consecutive times in column TSCol are less than Gap apart form a
// session, and every row gets window_start (its session's first time)
// and window_end (its session's last time plus Gap), of type TSType. Rows
// with a NULL time belong to no session. Gap is an interval scalar
// without column references, evaluated when the operator opens.
//
// The partition is not an argument: the planner sets it from the GROUP BY
// of the query whose FROM holds the call, once that is bound.
type SessionWindow struct {
	Input     Rel
	TSCol     int
	TSType    types.T
	Gap       Scalar
	Partition []int
}

// OutputTypes returns Input's column types, then window_start and
// window_end.
func (s *SessionWindow) OutputTypes() []types.T {
	return append(append([]types.T{}, s.Input.OutputTypes()...), s.TSType, s.TSType)
}

// StreamProps: a row arriving between two sessions merges them, which
// changes the window columns of rows already emitted, so the output is
// not append-only and the window columns carry no watermark; a row is
// still identified by its input row.
func (s *SessionWindow) StreamProps() Props {
	in := StreamProps(s.Input)
	return Props{Key: in.Key, KeyKnown: in.KeyKnown}
}

// String renders the function for plan trees: "session window(#1, gap
// '00:00:10', partition by #0)".
func (s *SessionWindow) String() string {
	str := fmt.Sprintf("session window(#%d, gap %s", s.TSCol, s.Gap)
	if len(s.Partition) > 0 {
		str += ", partition by " + cols(s.Partition)
	}
	return str + ")"
}
