package batch

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// Keys for hashing and grouping: each row's values are appended to a
// byte string with types.AppendKeys, in which two rows encode equal
// exactly when PostgreSQL's "=" (with NULL equal to NULL, IS NOT DISTINCT
// FROM) says they are equal: 1.0 and 1.00, -0 and 0, every NaN, '1 mon'
// and '30 days', any integer width. Every value starts with a marker
// byte, so a NULL never collides with a value.

// rowKeys holds one key per row of a batch, reusing its buffers across
// batches.
type rowKeys struct {
	keys    [][]byte
	hasNull []bool // some key column is NULL in this row
}

// encode computes the keys of rows 0..n-1 over cols.
func (k *rowKeys) encode(cols []arrow.Array, ts []types.T, n int) {
	if cap(k.keys) < n {
		k.keys = append(k.keys[:cap(k.keys)], make([][]byte, n-cap(k.keys))...)
	}
	if cap(k.hasNull) < n {
		k.hasNull = make([]bool, n)
	}
	k.keys = k.keys[:n]
	k.hasNull = k.hasNull[:n]
	for i := range k.keys {
		k.keys[i] = k.keys[i][:0]
		k.hasNull[i] = false
	}
	for j, c := range cols {
		types.AppendKeys(k.keys, c, ts[j], false, false)
		if c.NullN() > 0 {
			for i := range k.hasNull {
				if c.IsNull(i) {
					k.hasNull[i] = true
				}
			}
		}
	}
}
