package stream

import (
	"fmt"
	"testing"
	"time"

	"streamsql/sql/types"
	"streamsql/storage"
)

// BenchmarkChangeLogEpoch is the change log's write path for one epoch of
// 1,024 changes of a view with two subscriptions: the materialize
// operator adds each change, then writes the epoch into its batch.
// Updates (a delete and an insert of one key) make a quarter of them.
func BenchmarkChangeLogEpoch(b *testing.B) {
	db, err := storage.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 1024
	keys := make([][]byte, n)
	vals := make([][]byte, n)
	ops := make([]Op, n)
	ts := []types.T{types.TInt8, types.TText}
	for i := range keys {
		k := i
		if i%4 == 1 {
			k = i - 1 // the insert of an update of key i-1
		}
		keys[i] = []byte(fmt.Sprintf("key-%06d", k))
		vals[i] = types.EncodeRow(nil, []types.Datum{int64(i), fmt.Sprintf("value %d", i)}, ts)
		ops[i] = Insert
		if i%4 == 0 {
			ops[i] = Delete
		}
	}
	l := changeLogs{active: []ChangeLog{{ID: 70001, Retention: time.Hour}, {ID: 70002, Retention: time.Hour}}}
	b.ReportAllocs()
	b.ResetTimer()
	for e := 0; e < b.N; e++ {
		w := db.Pebble().NewBatch()
		for i := range keys {
			l.add(ops[i], keys[i], vals[i])
		}
		if err := l.flush(w, uint64(e+1), db.Latest()); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
	b.ReportMetric(float64(n), "changes/op")
}
