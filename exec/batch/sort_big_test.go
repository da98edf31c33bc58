package batch

import (
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// genSrc generates rows (random bigint key, id, 80-byte text) until
// about size bytes of Arrow data have been produced.
type genSrc struct {
	size, made int64
	rng        *rand.Rand
	id         int64
	pad        string
}

func (g *genSrc) Open(*exec.Ctx) error {
	g.made, g.id, g.rng = 0, 0, rand.New(rand.NewSource(42))
	g.pad = strings.Repeat("p", 64)
	return nil
}

func (g *genSrc) Next(*exec.Ctx) (*exec.Batch, error) {
	if g.made >= g.size {
		return nil, nil
	}
	kb := array.NewInt64Builder(types.Mem)
	ib := array.NewInt64Builder(types.Mem)
	sb := array.NewStringBuilder(types.Mem)
	defer kb.Release()
	defer ib.Release()
	defer sb.Release()
	for i := 0; i < exec.BatchSize; i++ {
		k := g.rng.Int63()
		kb.Append(k)
		ib.Append(g.id)
		sb.Append(g.pad + strconv.FormatInt(k, 16))
		g.id++
	}
	b := exec.NewBatch([]arrow.Array{kb.NewArray(), ib.NewArray(), sb.NewArray()}, exec.BatchSize)
	g.made += batchBytes(b)
	return b, nil
}

func (g *genSrc) Close()                    {}
func (g *genSrc) Types() []types.T          { return []types.T{types.TInt8, types.TInt8, types.TText} }
func (g *genSrc) Explain() string           { return "Gen" }
func (g *genSrc) Children() []exec.Operator { return nil }

// TestSortLarge sorts STREAMSQL_SORT_GB gigabytes (of Arrow data) with
// STREAMSQL_SORT_MEM of memory (default 1GB), checking the order and the
// row count, and reports time, spill and peak heap. It is a manual run:
//
//	STREAMSQL_SORT_GB=10 go test ./exec/batch -run TestSortLarge -v -timeout 2h
func TestSortLarge(t *testing.T) {
	gb, _ := strconv.ParseFloat(os.Getenv("STREAMSQL_SORT_GB"), 64)
	if gb <= 0 {
		t.Skip("set STREAMSQL_SORT_GB to run")
	}
	limit := int64(1 << 30)
	if v := os.Getenv("STREAMSQL_SORT_MEM"); v != "" {
		n, err := exec.ParseMemSize(v)
		if err != nil {
			t.Fatal(err)
		}
		limit = n
	}
	dir := os.Getenv("STREAMSQL_SORT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	ctx := spillCtx(limit, dir)
	src := &genSrc{size: int64(gb * float64(1<<30))}
	op := NewSort(src, []SortKey{{Col: 0, T: types.TInt8}})
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var p uint64
		var ms runtime.MemStats
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- p
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				p = max(p, ms.HeapInuse)
			}
		}
	}()
	start := time.Now()
	if err := op.Open(ctx); err != nil {
		t.Fatal(err)
	}
	var rows int64
	last := int64(-1)
	var first time.Duration
	eachBatch(t, ctx, op, func(b *exec.Batch) {
		if rows == 0 {
			first = time.Since(start)
		}
		for _, k := range b.Cols[0].(*array.Int64).Int64Values() {
			if k < last {
				t.Fatalf("row %d: %d after %d", rows, k, last)
			}
			last = k
			rows++
		}
	})
	op.Close()
	ctx.Mem.Close()
	took := time.Since(start)
	close(stop)
	p := <-peak
	if rows != src.id {
		t.Fatalf("%d rows out, %d in", rows, src.id)
	}
	t.Logf("sorted %.1f GB (%d rows) with query_mem %s on %d cores: %v (first row after %v), %.0f MB/s; spilled %.1f GB; account peak %d MB; Go heap peak %d MB",
		float64(src.made)/(1<<30), rows, exec.FormatMemSize(limit), runtime.NumCPU(), took.Round(time.Second), first.Round(time.Second),
		float64(src.made)/(1<<20)/took.Seconds(), float64(ctx.Mem.SpilledBytes())/(1<<30), ctx.Mem.Peak()>>20, p>>20)
	if f := spillFiles(t, dir); len(f) != 0 {
		t.Errorf("files left: %v", f)
	}
}
