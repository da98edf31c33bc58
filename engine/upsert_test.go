package engine_test

import (
	"context"
	"sync"
	"testing"

	"streamsql/engine"
)

// TestUpsertRacesPlainInsert: INSERT ... ON CONFLICT DO NOTHING reads each
// key once; a plain INSERT of the same keys from other sessions must still
// meet it at commit, so that every key is written exactly once: the
// upserts' and the inserts' successes add up to the number of keys.
func TestUpsertRacesPlainInsert(t *testing.T) {
	ts, setup := startConn(t, engine.Options{}, "CREATE TABLE race (id bigint PRIMARY KEY, who text)")
	const keys, workers = 300, 4
	var mu sync.Mutex
	written := 0
	var wg sync.WaitGroup
	for w := range workers {
		conn := connect(t, ts, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for id := range keys {
				sql := "INSERT INTO race VALUES ($1, 'plain')"
				if w%2 == 0 {
					sql = "INSERT INTO race VALUES ($1, 'upsert') ON CONFLICT DO NOTHING"
				}
				tag, err := conn.Exec(ctx, sql, id)
				if err != nil {
					if pe := pgErr(err); pe == nil || pe.Code != "23505" {
						t.Errorf("%s (%d): %v", sql, id, err)
						return
					}
					continue
				}
				mu.Lock()
				written += int(tag.RowsAffected())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n := queryInt(t, setup, "SELECT count(*) FROM race"); n != keys || written != keys {
		t.Fatalf("%d rows, %d reported written; want %d and %d", n, written, keys, keys)
	}
}
