package stream

import (
	"sync/atomic"
	"testing"

	"streamsql/storage"
)

// closeCountTarget is a target that is never reachable and counts its
// Close calls (the drainer closes its target when it ends).
type closeCountTarget struct {
	downTarget
	closed atomic.Int32
}

func (c *closeCountTarget) Close() error { c.closed.Add(1); return nil }

// TestJobStopEndsSinkDrainer: a logged sink's drainer reads the sink log
// from the database beside the job's goroutines. A job that ends other
// than through a stop barrier (the engine closing, DROP, a failure) must
// still stop it and wait for it before the job counts as done: env.stop,
// which the job runs then, returns only after the drainer has ended.
func TestJobStopEndsSinkDrainer(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{DB: db, stops: &jobStops{}}
	target := &closeCountTarget{downTarget: downTarget{up: make(chan struct{})}}
	w := NewLogSinkWriter(env, &SinkInput{ID: 9, Name: "s"}, randomEncoder{}, target, nil)
	env.stop()
	if n := target.closed.Load(); n != 1 {
		t.Fatalf("after the job's stop the drainer still runs (target closed %d times)", n)
	}
	select {
	case <-w.done:
	default:
		t.Fatal("after the job's stop the drainer's goroutine has not returned")
	}
	// A stop barrier's Close after it is a no-op.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("database close after the job stopped: %v", err)
	}
	// Registering after the job ended stops at once.
	ran := false
	env.OnStop(func() { ran = true })
	if !ran {
		t.Fatal("OnStop after the job ended did not run its function")
	}
}
