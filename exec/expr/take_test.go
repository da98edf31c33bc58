package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// TakeArray copies the chosen rows, NULLs included, of every column type
// it has a typed path for, also from an array that is a slice of another
// (values at an offset into their buffers).
func TestTakeArrayTypes(t *testing.T) {
	for _, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Date32,
		arrow.FixedWidthTypes.Time64us, arrow.FixedWidthTypes.Timestamp_us,
		arrow.FixedWidthTypes.MonthDayNanoInterval, arrow.FixedWidthTypes.Boolean,
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary,
	} {
		t.Run(dt.String(), func(t *testing.T) {
			b := array.NewBuilder(types.Mem, dt)
			defer b.Release()
			strs := map[arrow.Type][]string{
				arrow.INT16: {"1", "-2", "3", "4", "5", "6"}, arrow.INT32: {"1", "-2", "3", "4", "5", "6"},
				arrow.INT64: {"1", "-2", "3", "4", "5", "6"}, arrow.FLOAT32: {"1.5", "-2", "3", "4", "5", "6.25"},
				arrow.FLOAT64: {"1.5", "-2", "3", "4", "5", "6.25"},
				arrow.DATE32:  {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"},
				arrow.TIME64:  {"01:00:00", "02:00:00", "03:00:00", "04:00:00", "05:00:00", "06:00:00"},
				arrow.TIMESTAMP: {"2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z", "2024-01-01T00:00:03Z",
					"2024-01-01T00:00:04Z", "2024-01-01T00:00:05Z", "2024-01-01T00:00:06Z"},
				arrow.INTERVAL_MONTH_DAY_NANO: {`{"months":1,"days":2,"nanoseconds":3000}`, `{"months":2,"days":0,"nanoseconds":0}`,
					`{"months":0,"days":3,"nanoseconds":0}`, `{"months":4,"days":4,"nanoseconds":4000}`,
					`{"months":5,"days":0,"nanoseconds":5}`, `{"months":6,"days":6,"nanoseconds":6}`},
				arrow.BOOL:   {"true", "false", "true", "true", "false", "true"},
				arrow.STRING: {"a", "bb", "", "dddd", "e", "ff"},
				arrow.BINARY: {"YQ==", "YmI=", "", "ZGRkZA==", "ZQ==", "ZmY="},
			}[dt.ID()]
			for i, s := range strs {
				if i == 2 {
					b.AppendNull()
					continue
				}
				if err := b.AppendValueFromString(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			whole := b.NewArray()
			defer whole.Release()
			arr := array.NewSlice(whole, 1, 6) // rows 1..5: an offset of 1
			defer arr.Release()
			idx := []int{4, 1, 1, 0, 3}
			got := TakeArray(arr, idx)
			defer got.Release()
			if !arrow.TypeEqual(got.DataType(), dt) || got.Len() != len(idx) {
				t.Fatalf("took %s of %d rows", got.DataType(), got.Len())
			}
			for k, i := range idx {
				if got.IsNull(k) != arr.IsNull(i) || got.ValueStr(k) != arr.ValueStr(i) {
					t.Errorf("row %d: %q (null %v), want row %d: %q (null %v)", k, got.ValueStr(k), got.IsNull(k), i, arr.ValueStr(i), arr.IsNull(i))
				}
			}
			if got.NullN() != 2 {
				t.Errorf("%d NULLs, want 2", got.NullN())
			}
		})
	}
}
