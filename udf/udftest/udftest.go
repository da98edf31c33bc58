// Package udftest holds what the tests of the function runtimes
// (udf/js, udf/wasm) share: argument columns built from Go values and an
// evaluation environment with given settings.
package udftest

import (
	"context"

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
