package udf

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// proctime() is processing time: the wall-clock time at which a row is
// processed. A query run once (SELECT) processes every row at the
// statement's time, so there it is statement_timestamp(). A streaming job
// evaluates it per chunk as the chunk passes (the stream planner swaps in
// its own expression); the planner allows it only where each row's value
// is computed once, on append-only input, since a delete could not
// retract the row its insert produced. It is volatile: it must not be
// moved or folded.
func init() { builtins.addProcTime() }

// ProcTimeName is the name of the processing-time function.
const ProcTimeName = "proctime"

func (r *registry) addProcTime() {
	ret := types.TTimestampTZ
	r.fn(&Scalar{Name: ProcTimeName, Ret: ret, Volatility: Volatile, Eval: func(env *Env, _ []arrow.Array, n int) (arrow.Array, error) {
		t := env.StmtTime
		if t.IsZero() {
			t = time.Now()
		}
		return types.ConstArray(ret, types.TimeToTimestamp(t), n), nil
	}})
}
