package streamtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"streamsql/exec/stream"
)

// SourceRun is a source running in a goroutine, as the source driver runs
// it: the test sends barriers and reads what the source emits.
type SourceRun struct {
	T        testing.TB
	Out      chan stream.Message
	Barriers chan uint64
	cancel   context.CancelFunc
	done     chan error
}

// StartSource runs src until the test ends (or Stop).
func StartSource(t testing.TB, src stream.Source) *SourceRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &SourceRun{T: t, Out: make(chan stream.Message, 4), Barriers: make(chan uint64, 1), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- src.Run(ctx, r.Barriers, r.Out) }()
	t.Cleanup(r.Stop)
	return r
}

// Stop cancels the source, dropping what it still sends, and checks that
// Run returns promptly with the context's error. It may be called again.
func (r *SourceRun) Stop() {
	r.cancel()
	for {
		select {
		case m := <-r.Out:
			if m.Chunk != nil {
				m.Chunk.Release()
			}
		case err := <-r.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				r.T.Errorf("Run returned %v, want context.Canceled", err)
			}
			r.done <- nil // let a second Stop return
			return
		case <-time.After(5 * time.Second):
			r.T.Errorf("Run did not return within 5s of cancellation")
			return
		}
	}
}

// Next returns the next message, failing after timeout or when Run ends.
func (r *SourceRun) Next(timeout time.Duration) stream.Message {
	r.T.Helper()
	select {
	case m := <-r.Out:
		return m
	case err := <-r.done:
		r.T.Fatalf("Run ended early: %v", err)
	case <-time.After(timeout):
		r.T.Fatalf("no message within %v", timeout)
	}
	return stream.Message{}
}

// Cancel cancels the source's context without reading what it sends
// (to test that a blocked source stops).
func (r *SourceRun) Cancel() { r.cancel() }

// Done receives Run's error once it returned; send nil back after
// receiving so that Stop still returns.
func (r *SourceRun) Done() chan error { return r.done }
