package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// randomBatch fills b with n random writes over a small key space, so that
// keys repeat (sets and deletes of one key in one batch), with a range
// deletion now and then.
func randomBatch(t testing.TB, b *pebble.Batch, rng *rand.Rand, n int) {
	// Keys of 1 to 20 bytes: some differ in their first 8 bytes, some
	// in the next 8, some only after 16.
	key := func() []byte {
		switch r := rng.IntN(300); r % 3 {
		case 0:
			return fmt.Appendf(nil, "%d", r)
		case 1:
			return fmt.Appendf(nil, "prefix-%04d", r)
		default:
			return fmt.Appendf(nil, "a-longer-prefix/%04d", r)
		}
	}
	for i := range n {
		var err error
		switch r := rng.IntN(100); {
		case r < 60:
			err = b.Set(key(), fmt.Appendf(nil, "v%d", i), nil)
		case r < 95:
			err = b.Delete(key(), nil)
		case r < 97:
			err = b.LogData([]byte("log"), nil)
		default:
			lo, hi := key(), key()
			if bytes.Compare(lo, hi) > 0 {
				lo, hi = hi, lo
			}
			err = b.DeleteRange(lo, hi, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func dump(t *testing.T, db *pebble.DB) string {
	t.Helper()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var sb bytes.Buffer
	for it.First(); it.Valid(); it.Next() {
		fmt.Fprintf(&sb, "%s=%s\n", it.Key(), it.Value())
	}
	return sb.String()
}

// TestSortBatch commits the same random batches as written and sorted into
// two databases: they end with the same contents, and each run of point
// entries of a sorted batch is in key order.
func TestSortBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	plain, sorted := openTest(t, t.TempDir()), openTest(t, t.TempDir())
	defer plain.Close()
	defer sorted.Close()
	for round := range 20 {
		b1, b2 := plain.Pebble().NewBatch(), sorted.Pebble().NewBatch()
		randomBatch(t, b1, rng, 2*sortBatchMin+round*40)
		if err := b2.SetRepr(append([]byte(nil), b1.Repr()...)); err != nil {
			t.Fatal(err)
		}
		if err := SortBatch(b2); err != nil {
			t.Fatal(err)
		}
		if b1.Count() != b2.Count() || len(b1.Repr()) != len(b2.Repr()) {
			t.Fatalf("round %d: sorting changed the batch's size: %d entries, %d bytes; now %d, %d",
				round, b1.Count(), len(b1.Repr()), b2.Count(), len(b2.Repr()))
		}
		var prev []byte
		r := batchrepr.Read(b2.Repr())
		for {
			kind, key, _, ok, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			switch kind {
			case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete:
				if prev != nil && bytes.Compare(prev, key) > 0 {
					t.Fatalf("round %d: %q after %q", round, key, prev)
				}
				prev = key
			default:
				prev = nil
			}
		}
		for _, c := range []struct {
			db *DB
			b  *pebble.Batch
		}{{plain, b1}, {sorted, b2}} {
			if err := c.db.CommitBatch(c.b); err != nil {
				t.Fatal(err)
			}
			c.b.Close()
		}
		if got, want := dump(t, sorted.Pebble()), dump(t, plain.Pebble()); got != want {
			t.Fatalf("round %d: sorted batches left\n%s\nunsorted\n%s", round, got, want)
		}
	}
}

// BenchmarkCommitRandomBatch commits batches of 20,000 random keys (the
// state writes of an epoch) into a memtable that already holds 500,000,
// as written and sorted first.
func BenchmarkCommitRandomBatch(b *testing.B) {
	const preload, perBatch = 500_000, 20_000
	for _, sortFirst := range []bool{false, true} {
		b.Run(fmt.Sprintf("sorted=%v", sortFirst), func(b *testing.B) {
			db := openTest(b, b.TempDir())
			defer db.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			var k [24]byte
			k[0] = PrefixTable
			val := bytes.Repeat([]byte("v"), 16)
			fill := func(n int) *pebble.Batch {
				w := db.Pebble().NewBatch()
				for range n {
					binary.BigEndian.PutUint64(k[5:], rng.Uint64())
					binary.BigEndian.PutUint64(k[13:], rng.Uint64())
					if err := w.Set(k[:], val, nil); err != nil {
						b.Fatal(err)
					}
				}
				return w
			}
			for range preload / perBatch {
				w := fill(perBatch)
				if err := SortBatch(w); err != nil {
					b.Fatal(err)
				}
				if err := db.CommitBatch(w); err != nil {
					b.Fatal(err)
				}
				w.Close()
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				w := fill(perBatch)
				b.StartTimer()
				if sortFirst {
					if err := SortBatch(w); err != nil {
						b.Fatal(err)
					}
				}
				// Without a WAL sync: the memtable inserts are what
				// sorting changes.
				if err := w.Commit(pebble.NoSync); err != nil {
					b.Fatal(err)
				}
				w.Close()
			}
		})
	}
}
