package engine_test

import (
	"context"
	"testing"
)

// A blackhole sink counts what its query sends it: SHOW JOBS reports the
// rows out, the backfill and the later changes, deletes included.
func TestBlackholeSinkRowsOut(t *testing.T) {
	s := sharedStack(t)
	conn := s.connect(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE sink_trades (id int PRIMARY KEY, sym varchar, qty int)",
		"INSERT INTO sink_trades VALUES (1, 'A', 10), (2, 'B', 20), (3, 'A', 5)",
		"CREATE SINK sink_big AS SELECT id, sym FROM sink_trades WHERE qty >= 10 WITH (connector = 'blackhole')",
		"INSERT INTO sink_trades VALUES (4, 'C', 30)",
		"UPDATE sink_trades SET qty = 1 WHERE id = 1",
		"FLUSH",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows, err := conn.Query(ctx, "SHOW JOBS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if v[1] != "sink_big" {
			continue
		}
		found = true
		// Backfill 1 and 2, then the insert of 4, then the delete of 1
		// (its new version fails the filter).
		if out := v[4].(int64); out != 4 {
			t.Errorf("rows out = %d, want 4", out)
		}
		if status := v[2].(string); status != "running" {
			t.Errorf("status = %q", status)
		}
	}
	if !found {
		t.Fatal("SHOW JOBS has no sink_big")
	}
	if _, err := conn.Exec(ctx, "DROP SINK sink_big"); err != nil {
		t.Fatal(err)
	}
}
