package plan

import (
	"testing"

	"streamsql/sql/types"
)

// sourceLeaf is a leaf that states its own stream properties, as the
// planner's scan of a source with a watermark will.
type sourceLeaf struct {
	ts    []types.T
	props Props
}

func (s *sourceLeaf) OutputTypes() []types.T { return s.ts }
func (s *sourceLeaf) StreamProps() Props     { return s.props }
func (s *sourceLeaf) String() string         { return "source" }

// TestStreamPropsWatermarks follows watermark and monotonic columns of a
// leaf (id int8 key, ts timestamptz with a watermark, seq monotonic)
// through projections, filters, joins, set operations and window table
// functions.
func TestStreamPropsWatermarks(t *testing.T) {
	ts := []types.T{types.TInt8, types.TTimestampTZ, types.TInt8}
	leaf := func() Rel {
		return &sourceLeaf{ts: ts, props: Props{Key: []int{0}, KeyKnown: true, AppendOnly: true,
			Watermarks: []int{1}, Monotonic: []int{2}}}
	}
	col := func(i int) *ColRef { return &ColRef{Idx: i, T: ts[i%3]} }
	gt := call(t, ">", col(0), &Const{Value: int64(1), T: types.TInt8})
	hour := &Const{Value: types.IntervalValue{Micros: 3_600_000_000}, T: types.TInterval}
	cases := []struct {
		name string
		rel  Rel
		want string
	}{
		{"leaf", leaf(), "key=[0] append-only watermarks=[1] monotonic=[2]"},
		{"filter", &Filter{Input: leaf(), Pred: gt}, "key=[0] append-only watermarks=[1] monotonic=[2]"},
		{"project reorders", &Project{Input: leaf(), Exprs: []Scalar{col(2), col(1), col(0)}},
			"key=[2] append-only watermarks=[1] monotonic=[0]"},
		{"project drops the key", &Project{Input: leaf(), Exprs: []Scalar{col(1)}},
			"key=? append-only watermarks=[0]"},
		{"limit", &Limit{Input: leaf(), Count: &Const{Value: int64(1), T: types.TInt8}}, "key=[0]"},
		{"union all", &SetOp{Kind: Union, All: true, Left: leaf(), Right: leaf()}, "key=? append-only watermarks=[1]"},
		{"except", &SetOp{Kind: Except, Left: leaf(), Right: leaf()}, "key=[0 1 2] watermarks=[1]"},
		{"inner join on keys", &Join{Kind: InnerJoin, Left: leaf(), Right: leaf(),
			Keys: EquiKeys{Left: []Scalar{col(0)}, Right: []Scalar{col(0)}}}, "key=[0] append-only"},
		{"inner join on watermark columns", &Join{Kind: InnerJoin, Left: leaf(), Right: leaf(),
			Keys: EquiKeys{Left: []Scalar{col(1)}, Right: []Scalar{col(1)}}}, "key=[0 3] append-only watermarks=[1 4]"},
		{"left join", &Join{Kind: LeftJoin, Left: leaf(), Right: leaf(),
			Keys: EquiKeys{Left: []Scalar{col(1)}, Right: []Scalar{col(1)}}}, "key=[0 3]"},
		{"semi join", &Join{Kind: SemiJoin, Left: leaf(), Right: leaf(),
			Keys: EquiKeys{Left: []Scalar{col(1)}, Right: []Scalar{col(1)}}}, "key=[0] append-only watermarks=[1] monotonic=[2]"},
		{"anti join", &Join{Kind: AntiJoin, Left: leaf(), Right: leaf(),
			Keys: EquiKeys{Left: []Scalar{col(1)}, Right: []Scalar{col(1)}}}, "key=[0] watermarks=[1] monotonic=[2]"},
		{"tumble", &WindowTVF{Input: leaf(), Kind: TumbleWindow, TSCol: 1, TSType: ts[1], Slide: hour, Size: hour},
			"key=[0] append-only watermarks=[1 3 4] monotonic=[2]"},
		{"tumble on a monotonic column", &WindowTVF{Input: leaf(), Kind: TumbleWindow, TSCol: 2, TSType: ts[1], Slide: hour, Size: hour},
			"key=[0] append-only watermarks=[1] monotonic=[2 3 4]"},
		{"hop", &WindowTVF{Input: leaf(), Kind: HopWindow, TSCol: 1, TSType: ts[1], Slide: hour, Size: hour},
			"key=[0 3] append-only watermarks=[1 3 4] monotonic=[2]"},
		{"cumulate", &WindowTVF{Input: leaf(), Kind: CumulateWindow, TSCol: 2, TSType: ts[1], Slide: hour, Size: hour},
			"key=[0 4] append-only watermarks=[1] monotonic=[2]"},
		{"session", &SessionWindow{Input: leaf(), TSCol: 1, TSType: ts[1], Gap: hour}, "key=[0]"},
		{"opaque", &opaqueLeaf{ts: ts}, "key=?"},
	}
	for _, c := range cases {
		if got := StreamProps(c.rel).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// opaqueLeaf is a leaf that says nothing about itself.
type opaqueLeaf struct{ ts []types.T }

func (o *opaqueLeaf) OutputTypes() []types.T { return o.ts }
