package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// A session that ends with its transaction block open leaves none of the
// block's changes of functions behind: the function it created is gone
// and the one it dropped is back, for every other session.
func TestRoutineChangesOfAnEndedSessionAreUndone(t *testing.T) {
	srv, conn := startConn(t, engine.Options{},
		"CREATE FUNCTION kept_fn(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a + 1 $$")
	ctx := context.Background()
	for _, q := range []string{
		"BEGIN",
		"CREATE FUNCTION open_fn(a int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT a * 2 $$",
		"DROP FUNCTION kept_fn(int)",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	other := connect(t, srv, nil)
	// The server ends the session after the client goes: wait for it.
	var n, kept int
	for i := 0; i < 200; i++ {
		if err := other.QueryRow(ctx, "SELECT count(*) FILTER (WHERE proname = 'open_fn'), count(*) FILTER (WHERE proname = 'kept_fn') FROM pg_proc").Scan(&n, &kept); err != nil {
			t.Fatal(err)
		}
		if n == 0 && kept == 1 {
			break
		}
		if _, err := other.Exec(ctx, "SELECT pg_sleep(0.01)"); err != nil {
			t.Fatal(err)
		}
	}
	if n != 0 || kept != 1 {
		t.Fatalf("after the session ended: open_fn %d, kept_fn %d; want 0 and 1", n, kept)
	}
	var v int
	if err := other.QueryRow(ctx, "SELECT kept_fn(41)").Scan(&v); err != nil || v != 42 {
		t.Fatalf("kept_fn(41) = %d, %v", v, err)
	}
}
