package storage

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkConcurrentCommits commits one small synced transaction per
// operation from several goroutines: with the WAL sync outside the commit
// lock, concurrent commits share syncs, so commits per second grow with the
// number of committers instead of staying at one sync each.
func BenchmarkConcurrentCommits(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db := openTest(b, b.TempDir())
			defer db.Close()
			var next atomic.Uint64
			var wg sync.WaitGroup
			per := b.N/writers + 1
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var k [13]byte
					k[0] = PrefixTable
					for i := 0; i < per; i++ {
						binary.BigEndian.PutUint64(k[5:], next.Add(1))
						t := db.Begin()
						t.Set(k[:], []byte("value"))
						if err := t.Commit(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(per*writers)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
