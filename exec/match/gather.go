package match

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec/expr"
)

// GatherArray returns rows idx of arr, a NULL for every idx of -1.
func GatherArray(arr arrow.Array, idx []int64) arrow.Array {
	ints := make([]int, len(idx))
	missing := false
	for i, h := range idx {
		if h < 0 {
			missing = true
			continue // row 0 stands in, masked below
		}
		ints[i] = int(h)
	}
	if missing && arr.Len() == 0 {
		return array.MakeArrayOfNull(memory.DefaultAllocator, arr.DataType(), len(idx))
	}
	out := expr.TakeArray(arr, ints)
	if !missing {
		return out
	}
	defer out.Release()
	if _, ok := out.(*array.Null); ok {
		out.Retain()
		return out
	}
	d := out.Data()
	bits := make([]byte, bitutil.BytesForBits(int64(len(idx))))
	nulls := 0
	for i, h := range idx {
		if h >= 0 && out.IsValid(i) {
			bitutil.SetBit(bits, i)
		} else {
			nulls++
		}
	}
	bufs := append([]*memory.Buffer{memory.NewBufferBytes(bits)}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), d.Len(), bufs, d.Children(), nulls, d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}
