package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// CALL over the extended protocol: its arguments may be parameters, whose
// types follow the procedure's, and its output parameters are described
// before it runs, as with PostgreSQL.
func TestCallProcedureExtendedProtocol(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE book (id int, qty int)",
		`CREATE PROCEDURE add_qty(i int, q int, OUT total bigint) LANGUAGE sql AS $$
		   INSERT INTO book VALUES (i, q);
		   SELECT sum(qty) FROM book WHERE id = i
		 $$`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var total int64
	for _, q := range []int{5, 7} {
		if err := conn.QueryRow(ctx, "CALL add_qty($1, $2, NULL)", 1, q).Scan(&total); err != nil {
			t.Fatal(err)
		}
	}
	if total != 12 {
		t.Fatalf("total = %d, want 12", total)
	}
	sd, err := conn.Prepare(ctx, "call", "CALL add_qty($1, 1, NULL)")
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.Fields) != 1 || string(sd.Fields[0].Name) != "total" {
		t.Fatalf("described columns %v, want one named total", sd.Fields)
	}
}
