package stream

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// sink is a test Operator that records everything it receives.
type sink struct {
	ts       []types.T
	rows     []string // "op v1 v2 ..." in arrival order
	wms      []Watermark
	barriers []uint64
}

func (s *sink) Chunk(side int, c *Chunk) error {
	for i := 0; i < c.N; i++ {
		parts := []string{c.Ops[i].String()}
		for j, a := range c.Cols {
			d := types.GetDatum(a, i, s.ts[j])
			if d == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, types.FormatText(d, s.ts[j], time.UTC))
			}
		}
		s.rows = append(s.rows, strings.Join(parts, " "))
	}
	c.Release()
	return nil
}

func (s *sink) Watermark(side int, w Watermark) error { s.wms = append(s.wms, w); return nil }
func (s *sink) Barrier(b *Barrier) error              { s.barriers = append(s.barriers, b.Epoch); return nil }

// take returns and clears the recorded rows.
func (s *sink) take() []string {
	r := s.rows
	s.rows = nil
	return r
}

// contents applies the recorded changes as a multiset and returns the
// live rows sorted (ops stripped).
func (s *sink) contents(t *testing.T, rows []string) []string {
	t.Helper()
	m := map[string]int{}
	for _, r := range rows {
		op, rest, _ := strings.Cut(r, " ")
		switch op {
		case "+", "U+":
			m[rest]++
		case "-", "U-":
			m[rest]--
			if m[rest] < 0 {
				t.Fatalf("delete of absent row %q", rest)
			}
		}
	}
	var out []string
	for r, n := range m {
		for i := 0; i < n; i++ {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// chunkOf builds a chunk from rows of datums; ops[i] is row i's op.
func chunkOf(ts []types.T, ops []Op, rows ...[]types.Datum) *Chunk {
	cols := make([]arrow.Array, len(ts))
	for j, t := range ts {
		ds := make([]types.Datum, len(rows))
		for i, r := range rows {
			ds[i] = r[j]
		}
		cols[j] = types.ArrayFromDatums(t, ds)
	}
	return NewChunk(cols, ops)
}

// row is shorthand for a datum row.
func row(vs ...types.Datum) []types.Datum { return vs }

// testEnv returns an Env over a pebble database in a temporary directory
// and a fresh Stats. Reopen with reopenEnv to test recovery.
func testEnv(t *testing.T) (*Env, *pebble.DB) {
	t.Helper()
	return reopenEnv(t, t.TempDir())
}

// reopenEnv opens (or reopens) the database in dir; Fresh is true only if
// dir held nothing.
func reopenEnv(t *testing.T, dir string) (*Env, *pebble.DB) {
	t.Helper()
	sdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	db := sdb.Pebble()
	env := &Env{
		Ctx:   &exec.Ctx{Env: udf.Env{Location: time.UTC}},
		State: sdb.Latest(),
		Fresh: true,
		Stats: &Stats{},
	}
	return env, db
}

// buildCtx returns a BuildCtx handing out state ids 1, 2, 3, ...
func buildCtx(env *Env, node *Node, inputs ...*Node) *BuildCtx {
	return &BuildCtx{Env: env, Node: node, Inputs: inputs, stateIDs: []uint32{1, 2, 3, 4, 5, 6, 7, 8}}
}

// barrier passes a checkpoint barrier through op and commits its writes
// to db, as the coordinator would.
func barrier(t *testing.T, op Operator, db *pebble.DB, epoch uint64) {
	t.Helper()
	b := &Barrier{Epoch: epoch, Writes: db.NewBatch()}
	if err := op.Barrier(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Writes.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}
