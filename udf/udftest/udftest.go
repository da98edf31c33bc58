// Package udftest holds what the tests of the function runtimes
// (udf/js, udf/wasm) share: argument columns built from Go values and an
// evaluation environment with given settings.
package udftest

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Int32s returns an integer column of vals, each an int or nil (NULL).
func Int32s(vals ...any) arrow.Array {
	b := array.NewInt32Builder(types.Mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(int32(v.(int)))
		}
	}
	return b.NewArray()
}

// Env returns an evaluation environment whose session settings are
// settings (udf_timeout, udf_memory_limit, ...).
func Env(settings map[string]string) *udf.Env {
	return &udf.Env{Context: context.Background(), Settings: func(n string) (string, bool) {
		v, ok := settings[n]
		return v, ok
	}}
}

// RetractAndRestore folds the rows 1, 2, 3, 4, NULL, 10 of groups 0, 1,
// 0, 1, 0, 1 into new retracting states of agg with n groups, applies
// them again with signs (-1 takes a row back out, 1 adds it once more, 0
// leaves it), then encodes the states and decodes them into the reset
// states, as a view's checkpoint and restart do. It returns the states.
func RetractAndRestore(t testing.TB, agg *udf.Aggregate, n int, signs []int64) udf.GroupStates {
	t.Helper()
	if !agg.Retracts {
		t.Fatal("an aggregate with retract must say it retracts")
	}
	s := agg.NewRetracting(agg.Args)
	s.(udf.EnvAccumulator).SetEnv(Env(nil))
	vals := []arrow.Array{Int32s(1, 2, 3, 4, nil, 10)}
	groups := []uint32{0, 1, 0, 1, 0, 1}
	if err := s.Apply(groups, nil, n, vals, 6); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(groups, signs, n, vals, 6); err != nil {
		t.Fatal(err)
	}
	buf, err := s.Encode(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.Reset(1)
	if err := s.Decode(buf, 1); err != nil {
		t.Fatal(err)
	}
	return s
}
