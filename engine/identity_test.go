package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// COPY writes the identity columns it names, GENERATED ALWAYS included,
// and draws the others from their sequences, as PostgreSQL's COPY does.
func TestIdentityCopy(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	execAll(t, conn, "CREATE TABLE ic (id int GENERATED ALWAYS AS IDENTITY, v text)")
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"ic"}, []string{"id", "v"}, pgx.CopyFromRows([][]any{{int32(100), "x"}, {int32(101), "y"}}))
	if err != nil || n != 2 {
		t.Fatalf("COPY with id: %d rows, %v", n, err)
	}
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"ic"}, []string{"v"}, pgx.CopyFromRows([][]any{{"z"}, {"w"}}))
	if err != nil || n != 2 {
		t.Fatalf("COPY without id: %d rows, %v", n, err)
	}
	if got, want := strings.Join(queryStrings(t, conn, "SELECT id, v FROM ic ORDER BY id"), ","), "1 z,2 w,100 x,101 y"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}
