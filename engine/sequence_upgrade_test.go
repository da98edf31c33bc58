package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// TestSerialColumnsUpgraded: a serial column of an older data directory
// (its default nextval('t_c_seq') drew from an internal counter, with no
// sequence relation) gets an owned sequence at the next start, and its
// values go on above every value the counter handed out.
func TestSerialColumnsUpgraded(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t, "CREATE TABLE old_t (id serial PRIMARY KEY, v text)", "INSERT INTO old_t (v) VALUES ('a'), ('b')")
	if err := s.Engine.DowngradeSerialColumn("old_t", "id", 500); err != nil {
		t.Fatal(err)
	}
	s.restart(t)
	conn := s.connect(t)
	defer conn.Close(context.Background())
	execAll(t, conn, "INSERT INTO old_t (v) VALUES ('c')")
	if got := queryInt(t, conn, "SELECT id FROM old_t WHERE v = 'c'"); got <= 500 {
		t.Fatalf("id after the upgrade %d, want above 500 (the values the old counter handed out)", got)
	}
	var def, seq string
	if err := conn.QueryRow(context.Background(), `SELECT column_default, pg_get_serial_sequence('old_t', 'id')
		FROM information_schema.columns WHERE table_name = 'old_t' AND column_name = 'id'`).Scan(&def, &seq); err != nil {
		t.Fatal(err)
	}
	if def != "nextval('old_t_id_seq'::regclass)" || seq != "public.old_t_id_seq" {
		t.Fatalf("default %q, serial sequence %q", def, seq)
	}
	// The sequence is the column's: it goes with the table.
	execAll(t, conn, "DROP TABLE old_t")
	if got := queryInt(t, conn, "SELECT count(*) FROM pg_class WHERE relname = 'old_t_id_seq'"); got != 0 {
		t.Fatalf("%d sequences left after DROP TABLE", got)
	}
}
