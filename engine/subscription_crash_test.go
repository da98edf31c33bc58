package engine_test

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	"streamsql/internal/testserver"
)

// TestSubscriptionKill9 kills streamsqld (a subprocess) with SIGKILL while
// rows are inserted into a table whose view has a subscription, and
// restarts it. At the end the subscription's log, replayed from begin(),
// rebuilds exactly the view: no committed change is missing and none is
// logged twice.
func TestSubscriptionKill9(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	ctx := context.Background()
	conn := srv.Dial(t)
	execAll(t, conn,
		"CREATE TABLE ev (id int PRIMARY KEY, v int)",
		"CREATE MATERIALIZED VIEW evs AS SELECT id, v FROM ev WHERE v % 3 <> 0",
		"CREATE SUBSCRIPTION sub FROM evs WITH (retention = '1 hour')")
	conn.Close(ctx)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	next := 1
	for round := 0; round < 4; round++ {
		c := srv.Dial(t)
		stop := time.After(time.Duration(150+rng.Intn(300)) * time.Millisecond)
	insert:
		for {
			select {
			case <-stop:
				break insert
			default:
			}
			// Inserts and updates: updates log UpdateDelete/UpdateInsert
			// pairs, and those whose new v is a multiple of 3 deletes.
			if _, err := c.Exec(ctx, "INSERT INTO ev VALUES ($1, $1)", next); err != nil {
				t.Fatal(err)
			}
			if next%4 == 0 {
				if _, err := c.Exec(ctx, "UPDATE ev SET v = v + 1 WHERE id = $1", next-2); err != nil {
					t.Fatal(err)
				}
			}
			next++
		}
		srv = srv.Restart(t)
	}
	c := srv.Dial(t)
	defer c.Close(ctx)
	execAll(t, c, "FLUSH")
	view := idValues(t, c, "SELECT id, v FROM evs") // id -> v
	execAll(t, c, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	log := map[string]string{}
	changes := 0
	for {
		cs := fetchSub(t, c, "FETCH 1000 FROM cur WITH (timeout = '0s')")
		if len(cs) == 0 {
			break
		}
		for _, c := range cs {
			changes++
			var ch struct{ id, v, op string }
			ch.id, ch.v, _ = strings.Cut(c.row, ",")
			ch.op = c.op
			switch ch.op {
			case "Insert", "UpdateInsert":
				if _, dup := log[ch.id]; dup {
					t.Fatalf("change %d: %s of id %s that is already there", changes, ch.op, ch.id)
				}
				log[ch.id] = ch.v
			default:
				if old, ok := log[ch.id]; !ok || old != ch.v {
					t.Fatalf("change %d: %s of id %s v %s, log has %s (%v)", changes, ch.op, ch.id, ch.v, old, ok)
				}
				delete(log, ch.id)
			}
		}
	}
	if len(view) == 0 || len(log) != len(view) {
		t.Fatalf("log rebuilds %d rows, the view has %d (%d inserted)", len(log), len(view), next-1)
	}
	for id, v := range view {
		if log[id] != v {
			t.Fatalf("id %s: log %s, view %s", id, log[id], v)
		}
	}
	t.Logf("%d rows inserted over 4 kills, %d changes logged", next-1, changes)
}
