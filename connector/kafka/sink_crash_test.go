package kafka_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/internal/testserver"
)

// TestKafkaSinkCrashExactlyOnce kills streamsqld (a subprocess) with
// SIGKILL at random moments while a writer inserts and updates rows of a
// table that an UPSERT Kafka sink writes out, and restarts it each time.
// At the end a read_committed consumer's reconstruction equals the
// table, and no change arrived twice: every update raises v, so a
// (key, value) pair seen twice is a duplicate delivery.
//
// The normal run has 3 kills; STREAMSQL_KAFKA_CRASH=long makes it 20.
func TestKafkaSinkCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	rounds := 3
	if os.Getenv("STREAMSQL_KAFKA_CRASH") == "long" {
		rounds = 20
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "crash_out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	bin := testserver.Build(t)
	dir := t.TempDir()
	srv := testserver.StartProcess(t, bin, dir, "error")
	t.Cleanup(func() { srv.Kill() })
	conn := srv.Dial(t)
	for _, q := range []string{
		`CREATE TABLE acc (id int PRIMARY KEY, v bigint)`,
		fmt.Sprintf(`CREATE SINK acc_out FROM acc WITH (connector = 'kafka', topic = 'crash_out',
			properties.bootstrap.server = '%s', primary_key = 'id', delivery.timeout = '5s') FORMAT UPSERT ENCODE JSON`, addr),
	} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(context.Background())
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < rounds; round++ {
		// A writer inserts new keys and raises the value of old ones
		// until the server dies under it.
		var wg sync.WaitGroup
		wg.Add(1)
		go func(round int) {
			defer wg.Done()
			wc := srv.Dial(t)
			defer wc.Close(context.Background())
			for i := 0; ; i++ {
				id := round*100_000 + i
				q := fmt.Sprintf(`INSERT INTO acc VALUES (%d, 1)`, id)
				if i%3 != 0 {
					q = fmt.Sprintf(`UPDATE acc SET v = v + 1 WHERE id %% 50 = %d`, i%50)
				}
				if _, err := wc.Exec(context.Background(), q); err != nil {
					return
				}
			}
		}(round)
		time.Sleep(time.Duration(300+rng.Intn(1200)) * time.Millisecond)
		srv.Kill()
		wg.Wait()
		srv = testserver.StartProcess(t, bin, dir, "error")
	}
	conn = srv.Dial(t)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "FLUSH"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(context.Background(), `SELECT id, v FROM acc ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf(`{"id":%d,"v":%d}`, id, v))
	}
	rows.Close()
	sort.Strings(want)
	var msgs []sinkMsg
	var got []string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		msgs = consumeCommitted(t, addr, "crash_out", 1)
		got = reconstruct(msgs)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after %d kills: the topic's reconstruction has %d rows, the table %d", rounds, len(got), len(want))
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		k := m.key + " " + m.value
		if seen[k] {
			t.Fatalf("duplicate change %s", k)
		}
		seen[k] = true
	}
	t.Logf("%d kills, %d rows, %d messages, no duplicate", rounds, len(want), len(msgs))
}
