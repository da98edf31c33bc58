package stream

import (
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/sql/types"
)

// Keys that compare equal must route alike whatever their integer width,
// and the routing must not depend on the process (no random seed).
func TestExchangeHashStable(t *testing.T) {
	b64 := array.NewInt64Builder(memory.DefaultAllocator)
	b32 := array.NewInt32Builder(memory.DefaultAllocator)
	for _, v := range []int64{0, 1, -7, 1 << 40} {
		b64.Append(v)
		b32.Append(int32(v))
	}
	a64, a32 := b64.NewArray(), b32.NewArray()
	defer a64.Release()
	defer a32.Release()
	var buf [][]byte
	h64 := exchangeHash(nil, &buf, []arrow.Array{a64}, []types.T{types.TInt8}, 3)
	h32 := exchangeHash(nil, &buf, []arrow.Array{a32}, []types.T{types.TInt4}, 3)
	for i := range h64 {
		if h64[i] != h32[i] {
			t.Errorf("row %d: int8 hash %x, int4 hash %x", i, h64[i], h32[i])
		}
	}
	// Routing is part of the stored state layout: a change would send
	// keys to instances that do not hold their state.
	if got := h64[0]; got != 0xe220a8397b1dcdaf {
		t.Errorf("hash of 0 changed: %x", got)
	}
}

// An update whose old and new rows go to different instances arrives as
// a delete at one and an insert at the other; a pair that stays together
// keeps its update ops.
func TestExchangeSplitsUpdates(t *testing.T) {
	ex := &exchangeRT{}
	var recv []*fragment
	for i := 0; i < 2; i++ {
		f := &fragment{inbox: make(chan srcMsg, 8)}
		recv = append(recv, f)
		ex.receivers = append(ex.receivers, exchangeReceiver{f: f})
	}
	spec := &ExchangeSpec{Keys: []int{0}, Types: []types.T{types.TInt8}}
	s := &exchangeSender{ctx: t.Context(), ex: ex, spec: spec}
	// Find two keys that route to different instances and one pair that
	// routes together.
	var buf [][]byte
	route := func(v int64) int {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.Append(v)
		a := b.NewArray()
		defer a.Release()
		return int(exchangeHash(nil, &buf, []arrow.Array{a}, spec.Types, 1)[0] % 2)
	}
	x, y := int64(1), int64(2)
	for route(y) == route(x) {
		y++
	}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendValues([]int64{x, y, x, x}, nil)
	c := NewChunk([]arrow.Array{b.NewArray()}, []Op{UpdateDelete, UpdateInsert, UpdateDelete, UpdateInsert})
	if err := s.Chunk(0, c); err != nil {
		t.Fatal(err)
	}
	got := map[int][]Op{}
	for i, f := range recv {
		for len(f.inbox) > 0 {
			m := (<-f.inbox).m
			got[i] = append(got[i], m.Chunk.Ops...)
			m.Chunk.Release()
		}
	}
	if want := []Op{Delete, UpdateDelete, UpdateInsert}; !slices.Equal(got[route(x)], want) {
		t.Errorf("instance of %d got %v, want %v", x, got[route(x)], want)
	}
	if want := []Op{Insert}; !slices.Equal(got[route(y)], want) {
		t.Errorf("instance of %d got %v, want %v", y, got[route(y)], want)
	}
}

// TestExchangeHashFrozen pins the routing of the layouts hashed through
// their bytes (bool, float4, bytea, interval, NULL): stored state is
// split by this routing, so data directories of earlier versions must
// route every key as they did.
func TestExchangeHashFrozen(t *testing.T) {
	cols, ts := exchangeGoldenInput()
	var buf [][]byte
	h := exchangeHash(nil, &buf, cols, ts, 4)
	want := []uint64{0x1bcfd555fea1f8f1, 0xedffade199a08d3c, 0x8186ec1b6fe34f79, 0x8454c55cdcf5eb8c}
	for i := range want {
		if h[i] != want[i] {
			t.Errorf("row %d: hash %#x, want %#x", i, h[i], want[i])
		}
	}
}

func exchangeGoldenInput() ([]arrow.Array, []types.T) {
	ts := []types.T{types.TBool, types.TFloat4, types.TBytea, types.TInterval}
	rows := [][]types.Datum{
		{true, 1.5, []byte("ab\x00c"), types.IntervalValue{Months: 1}},
		{false, math.Copysign(0, -1), []byte{}, types.IntervalValue{Days: 30}},
		{nil, math.NaN(), nil, nil},
		{true, nil, []byte("x"), types.IntervalValue{Micros: -5}},
	}
	cols := make([]arrow.Array, len(ts))
	for j, t := range ts {
		ds := make([]types.Datum, len(rows))
		for i := range rows {
			ds[i] = rows[i][j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return cols, ts
}

// Keys equal under SQL "=" but spelled differently route alike: numeric
// 1.5 and 1.50, bpchar with and without trailing spaces.
func TestExchangeHashEqualKeys(t *testing.T) {
	for _, tc := range []struct {
		typ  types.T
		a, b types.Datum
	}{
		{types.TNumeric, "1.5", "1.50"},
		{types.TNumeric, "0", "-0.000"},
		{types.TNumeric, "100", "100.0"},
		{types.T{Kind: types.Char}, "a", "a   "},
		{types.TInterval, types.IntervalValue{Days: 1}, types.IntervalValue{Micros: 24 * 3600 * 1000000}},
		{types.TFloat8, 0.0, math.Copysign(0, -1)},
	} {
		col := types.ArrayFromDatums(tc.typ, []types.Datum{tc.a, tc.b})
		var buf [][]byte
		h := exchangeHash(nil, &buf, []arrow.Array{col}, []types.T{tc.typ}, 2)
		if h[0] != h[1] {
			t.Errorf("%s: %v and %v route apart (%#x, %#x)", tc.typ, tc.a, tc.b, h[0], h[1])
		}
		col.Release()
	}
}
