package datagen

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/stream"
)

// dgRead reads every chunk of spec's one split from pos to the end.
func dgRead(t *testing.T, spec *Spec, pos []byte) []*stream.Chunk {
	t.Helper()
	r, err := spec.NewReader(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Assign([]stream.Split{{ID: "0", Pos: pos}}); err != nil {
		t.Fatal(err)
	}
	var out []*stream.Chunk
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Chunk)
	}
}

// A pruned datagen source makes the columns no operator reads as NULLs
// and the others exactly as before; a pruned sequence still ends the
// rows where it ends.
func TestPruneColumns(t *testing.T) {
	s := dgExample(t, map[string]string{"fields.id.end": "5000"})
	used := []bool{false, true, false, true}
	ps, ok := s.PruneColumns(used)
	if !ok {
		t.Fatal("nothing pruned")
	}
	pos := encodePos(0, dgBase)
	full, part := dgRead(t, s, pos), dgRead(t, ps.(*Spec), pos)
	if len(full) != len(part) {
		t.Fatalf("%d chunks pruned, %d not", len(part), len(full))
	}
	rows := 0
	for k := range full {
		f, p := full[k], part[k]
		if f.N != p.N {
			t.Fatalf("chunk %d: %d rows pruned, %d not", k, p.N, f.N)
		}
		rows += p.N
		for i, u := range used {
			switch {
			case u && !array.Equal(f.Cols[i], p.Cols[i]):
				t.Errorf("chunk %d: column %s differs when pruned", k, s.cols[i])
			case !u && p.Cols[i].NullN() != p.N:
				t.Errorf("chunk %d: column %s: %d NULLs of %d, want all", k, s.cols[i], p.Cols[i].NullN(), p.N)
			}
		}
		f.Release()
		p.Release()
	}
	if rows != 5000 {
		t.Errorf("%d rows, want 5000 (the pruned sequence's end)", rows)
	}
	if _, ok := s.PruneColumns([]bool{true, true, true, true}); ok {
		t.Error("pruned with every column used")
	}
}
