package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/exec/stream"
	"streamsql/internal/testpg"
	"streamsql/sql/types"
)

// TestTargetRecover checks the exactly-once windows against the
// PostgreSQL of SLT_PG_DSN: a delivery that committed before a crash
// (its log not yet dropped) is found in the progress table and skipped;
// one whose connection died before COMMIT left nothing behind.
func TestTargetRecover(t *testing.T) {
	dsn := testpg.DSN(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{`DROP TABLE IF EXISTS target_recover, target_recover_progress`,
		`CREATE TABLE target_recover (id int PRIMARY KEY, v text)`} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	newTarget := func() *target {
		return &target{cfg: cfg, name: "recover-1", sinkName: "recover", table: "target_recover", progress: "target_recover_progress",
			names: []string{"id", "v"}, types: []types.T{types.TInt4, types.TText}, pk: []int{0}, batch: 2, timeout: 10 * time.Second}
	}
	row := func(op byte, id, v string) stream.SinkRecord {
		var buf []byte
		for _, s := range []string{id, v} {
			buf = append(buf, byte(len(s)+1))
			buf = append(buf, s...)
		}
		return stream.SinkRecord{Key: []byte{op}, Value: buf}
	}
	a := newTarget()
	if e, err := a.Recover(ctx); err != nil || e != 0 {
		t.Fatalf("Recover = %d, %v; want 0", e, err)
	}
	// Three keys in batches of two; key 2 upserted, deleted and upserted
	// again: the last change wins.
	if err := a.Deliver(ctx, 3, []stream.SinkRecord{row('U', "1", "a"), row('U', "2", "b"), row('D', "2", "b"), row('U', "3", "c"), row('U', "2", "b2")}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := newTarget()
	if e, err := b.Recover(ctx); err != nil || e != 3 {
		t.Fatalf("Recover after a committed delivery = %d, %v; want 3", e, err)
	}
	// A delivery whose connection dies inside the transaction.
	conn, err := b.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM target_recover`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE target_recover_progress SET epoch = 4`); err != nil {
		t.Fatal(err)
	}
	conn.PgConn().Conn().Close() // the crash
	c := newTarget()
	defer c.Close()
	if e, err := c.Recover(ctx); err != nil || e != 3 {
		t.Fatalf("Recover after a lost delivery = %d, %v; want 3", e, err)
	}
	if err := c.Deliver(ctx, 4, []stream.SinkRecord{row('D', "1", "a")}); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := admin.QueryRow(ctx, `SELECT string_agg(id || '=' || v, ' ' ORDER BY id) FROM target_recover`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "2=b2 3=c" {
		t.Fatalf("target = %q, want 2=b2 3=c", got)
	}
}
