package stream

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// randomEncoder encodes each row as a record of 64 random bytes, which
// do not compress: the log grows by about 64 bytes a row.
type randomEncoder struct{ r *rand.Rand }

func (e randomEncoder) Encode(buf []byte, c *Chunk) ([]byte, int, error) {
	v := make([]byte, 64)
	for i := 0; i < c.N; i++ {
		for j := range v {
			v[j] = byte(e.r.UintN(256))
		}
		buf = AppendSinkRecord(buf, nil, v, false, true)
	}
	return buf, c.N, nil
}

// downTarget is a target that cannot be reached until up is closed;
// then it accepts every delivery.
type downTarget struct {
	up        chan struct{}
	delivered uint64
}

func (d *downTarget) reachable() bool {
	select {
	case <-d.up:
		return true
	default:
		return false
	}
}

func (d *downTarget) Recover(ctx context.Context) (uint64, error) {
	if !d.reachable() {
		return 0, errors.New("connection refused")
	}
	return d.delivered, nil
}

func (d *downTarget) Deliver(ctx context.Context, upTo uint64, recs []SinkRecord) error {
	if !d.reachable() {
		return errors.New("connection refused")
	}
	d.delivered = upTo
	return nil
}

func (d *downTarget) Close() error { return nil }

// The sink log's bound: barriers add the epoch's stored bytes, one that
// would pass LogMaxBytes fails with 53400 and writes nothing; a writer
// opened on the same log counts what it holds; delivery subtracts.
func TestSinkLogMaxBytes(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	env := &Env{DB: db}
	in := &SinkInput{ID: 7, Name: "s", LogMaxBytes: 3000, LogMaxSetting: "sink.log.max_bytes"}
	target := &downTarget{up: make(chan struct{})}
	enc := randomEncoder{rand.New(rand.NewPCG(1, 2))}
	w := NewLogSinkWriter(env, in, enc, target, nil)
	barrier := func(w *LogSinkWriter, epoch uint64) error {
		if err := w.Write(NewChunk(nil, make([]Op, 10))); err != nil {
			t.Fatal(err)
		}
		b := db.Pebble().NewBatch()
		defer b.Close()
		if err := w.Barrier(&Barrier{Epoch: epoch, Writes: b}); err != nil {
			return err
		}
		return b.Commit(pebble.NoSync)
	}
	var epoch uint64
	var failed error
	for epoch = 1; epoch < 20; epoch++ {
		if failed = barrier(w, epoch); failed != nil {
			break
		}
	}
	if sqlerr.Code(failed) != sqlerr.ConfigurationLimitExceeded {
		t.Fatalf("epoch %d: error %v, want 53400", epoch, failed)
	}
	held := w.LagBytes()
	if held <= 0 || held > 3000 || held+700 <= 3000 {
		t.Fatalf("log holds %d bytes at the bound 3000 (an epoch adds about 650)", held)
	}
	if epochs, rows := w.Lag(); epochs != int64(epoch-1) || rows != int64(10*(epoch-1)) {
		t.Errorf("lag %d epochs %d rows, want %d and %d", epochs, rows, epoch-1, 10*(epoch-1))
	}
	w.Close()

	// A writer opened later (the job resumed) counts the log it finds.
	w = NewLogSinkWriter(env, in, enc, target, nil)
	defer w.Close()
	if got := w.LagBytes(); got != held {
		t.Fatalf("resumed writer counts %d bytes, want %d", got, held)
	}
	if err := barrier(w, epoch); sqlerr.Code(err) != sqlerr.ConfigurationLimitExceeded {
		t.Fatalf("resumed writer at the bound: %v", err)
	}
	// With the target back the log drains and the epoch goes in.
	close(target.up)
	deadline := time.Now().Add(5 * time.Second)
	for w.LagBytes() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("log still holds %d bytes", w.LagBytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w.Delivered() != epoch-1 {
		t.Errorf("delivered up to %d, want %d", w.Delivered(), epoch-1)
	}
	if err := barrier(w, epoch); err != nil {
		t.Fatal(err)
	}
	if w.LagBytes() <= 0 {
		t.Errorf("the new epoch adds no bytes")
	}
}

// SinkRecordFrame writes what AppendSinkRecord writes, read back by
// DecodeSinkRecords the same: with and without key and value, and a
// value too long for the room left for its length, which is moved.
func TestSinkRecordFrame(t *testing.T) {
	long := make([]byte, 20_000)
	for i := range long {
		long[i] = byte(i % 251)
	}
	type rec struct {
		key, value       []byte
		hasKey, hasValue bool
	}
	recs := []rec{
		{nil, []byte(`{"a":1}`), false, true},
		{[]byte(`{"id":7}`), nil, true, false},
		{[]byte(`{"id":8}`), long, true, true},
		{nil, []byte{}, false, true},
		{[]byte("k"), long[:16383], true, true},
		{[]byte("k"), long[:16384], true, true},
	}
	var framed, plain []byte
	var f SinkRecordFrame
	for _, r := range recs {
		plain = AppendSinkRecord(plain, r.key, r.value, r.hasKey, r.hasValue)
		framed = f.Open(framed, r.key, r.hasKey, r.hasValue)
		start := len(framed)
		framed = f.Close(append(framed, r.value...), start)
	}
	got, err := DecodeSinkRecords(nil, framed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeSinkRecords(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) || len(want) != len(recs) || countSinkRecords(framed) != len(recs) {
		t.Fatalf("decoded %d framed and %d plain records (counted %d), want %d", len(got), len(want), countSinkRecords(framed), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) ||
			(got[i].Key == nil) != (want[i].Key == nil) || (got[i].Value == nil) != (want[i].Value == nil) {
			t.Errorf("record %d: framed %q / %q, plain %q / %q", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
}
