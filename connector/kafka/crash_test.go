package kafka_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"streamsql/internal/testserver"
)

// TestKafkaCrashExactlyOnce kills streamsqld (a subprocess) with SIGKILL
// at random moments while records are produced into four partitions, and
// restarts it each time. At the end the view counts every record exactly
// once: the partitions' offsets are part of the epoch commit.
//
// The normal run is short (3 rounds, 20,000 records); set
// STREAMSQL_KAFKA_CRASH=long for 20 rounds and 1,000,000 records.
func TestKafkaCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	rounds, total := 3, 20_000
	if os.Getenv("STREAMSQL_KAFKA_CRASH") == "long" {
		rounds, total = 20, 1_000_000
	}
	const parts = 4
	c, addr := brokerTopics(t, parts, "events")
	// Beside the records, a Debezium change stream of 50 accounts
	// (creates, updates, deletes) feeds a table.
	if err := c.CreateTopic("accounts", 1, nil); err != nil {
		t.Fatal(err)
	}
	const cdcEvery = 4
	cdc := &accounts{state: map[int]int{}}
	bin := testserver.Build(t)
	dir := t.TempDir()

	// The producer runs through every round, at about total/(rounds*1.5 s).
	var produced atomic.Int64
	prodDone := make(chan error, 1)
	go func() {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V2_1_0_0
		cfg.Producer.Return.Successes = true
		cfg.Producer.Partitioner = sarama.NewManualPartitioner
		cfg.Producer.Flush.Messages = 500
		cfg.Producer.Flush.Frequency = 5 * time.Millisecond
		p, err := sarama.NewAsyncProducer([]string{addr}, cfg)
		if err != nil {
			prodDone <- err
			return
		}
		acks := make(chan error, 1)
		go func() {
			// Successes and errors are drained beside the sends, or the
			// producer blocks once its result buffers fill.
			for produced.Load() < int64(total+total/cdcEvery) {
				select {
				case <-p.Successes():
					produced.Add(1)
				case err := <-p.Errors():
					acks <- err
					return
				}
			}
			acks <- nil
		}()
		perRound := total / rounds
		pace := time.Duration(float64(1500*time.Millisecond) / float64(perRound))
		start := time.Now()
		for i := 1; i <= total; i++ {
			p.Input() <- &sarama.ProducerMessage{Topic: "events", Partition: int32(i % parts),
				Value: sarama.StringEncoder(`{"id": ` + strconv.Itoa(i) + `, "grp": ` + strconv.Itoa(i%10) + `}`)}
			if i%cdcEvery == 0 {
				p.Input() <- &sarama.ProducerMessage{Topic: "accounts", Partition: 0, Value: sarama.StringEncoder(cdc.next())}
			}
			if d := time.Until(start.Add(time.Duration(i) * pace)); d > time.Millisecond {
				time.Sleep(d)
			}
		}
		err = <-acks
		p.Close()
		prodDone <- err
	}()

	srv := testserver.StartProcess(t, bin, dir, "warn")
	t.Cleanup(func() { srv.Kill() })
	conn := srv.Dial(t)
	for _, q := range []string{
		fmt.Sprintf(`CREATE SOURCE events (id bigint, grp int) INCLUDE partition AS part
			WITH (connector = 'kafka', topic = 'events', properties.bootstrap.server = '%s') FORMAT PLAIN ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(id) AS s FROM events",
		"CREATE MATERIALIZED VIEW by_part AS SELECT part, count(*) AS n, sum(id) AS s FROM events GROUP BY part",
		fmt.Sprintf(`CREATE TABLE accounts (id int PRIMARY KEY, v bigint)
			WITH (connector = 'kafka', topic = 'accounts', properties.bootstrap.server = '%s') FORMAT DEBEZIUM ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW account_totals AS SELECT count(*) AS n, sum(v) AS s FROM accounts",
	} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(context.Background())
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < rounds; round++ {
		time.Sleep(time.Duration(200+rng.Intn(1300)) * time.Millisecond)
		srv.Kill()
		srv = testserver.StartProcess(t, bin, dir, "warn")
		// Never more than produced, after any restart.
		conn = srv.Dial(t)
		var n int64
		if err := conn.QueryRow(context.Background(), "SELECT n FROM totals").Scan(&n); err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if p := produced.Load(); n > int64(total) {
			t.Fatalf("round %d: view counts %d records, only %d produced", round, n, p)
		}
		conn.Close(context.Background())
	}
	select {
	case err := <-prodDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("producer stuck at %d of %d records", produced.Load(), total)
	}
	conn = srv.Dial(t)
	defer conn.Close(context.Background())
	want := fmt.Sprintf("%d %d", total, int64(total)*int64(total+1)/2)
	deadline := time.Now().Add(120 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		var n, s int64
		if err := conn.QueryRow(context.Background(), "SELECT n, s FROM totals").Scan(&n, &s); err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if got = fmt.Sprintf("%d %d", n, s); got == want || n > int64(total) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("after %d kills: totals = %s, want %s", rounds, got, want)
	}
	// Each view reads the topic on its own: by_part may still be behind.
	deadline = time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		var n, s int64
		if err := conn.QueryRow(context.Background(), "SELECT sum(n), sum(s) FROM by_part").Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		if got = fmt.Sprintf("%d %d", n, s); got == want || n > int64(total) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("by_part sums to %s, want %s", got, want)
	}
	wantAcc := cdc.totals()
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var n, s int64
		if err := conn.QueryRow(context.Background(), "SELECT n, coalesce(s, 0) FROM account_totals").Scan(&n, &s); err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if got = fmt.Sprintf("%d %d", n, s); got == wantAcc {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != wantAcc {
		var direct string
		var n, s int64
		if err := conn.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(v), 0) FROM accounts").Scan(&n, &s); err == nil {
			direct = fmt.Sprintf("%d %d", n, s)
		}
		var jobs []string
		if rows, err := conn.Query(context.Background(), "SHOW JOBS"); err == nil {
			for rows.Next() {
				vals, _ := rows.Values()
				jobs = append(jobs, fmt.Sprint(vals))
			}
			rows.Close()
		}
		t.Fatalf("after %d kills: the Debezium table's view = %s, the table = %s, upstream's final state %s; jobs:\n%s",
			rounds, got, direct, wantAcc, strings.Join(jobs, "\n"))
	}
	t.Logf("%d records over %d partitions and %d change events, %d kills: each applied once", total, parts, total/cdcEvery, rounds)
}

// accounts generates Debezium events over 50 accounts: a create for an
// account that does not exist, else a delete every seventh event, else an
// update; state is the upstream's rows after the events so far.
type accounts struct {
	i     int
	state map[int]int
}

func (a *accounts) next() string {
	a.i++
	id := a.i % 50
	row := func(v int) string { return fmt.Sprintf(`{"id": %d, "v": %d}`, id, v) }
	old, ok := a.state[id]
	var op, before, after string
	switch {
	case !ok:
		op, before, after = "c", "null", row(a.i)
		a.state[id] = a.i
	case a.i%7 == 0:
		op, before, after = "d", row(old), "null"
		delete(a.state, id)
	default:
		op, before, after = "u", row(old), row(a.i)
		a.state[id] = a.i
	}
	return fmt.Sprintf(`{"before": %s, "after": %s, "op": "%s", "source": {"connector": "postgresql", "table": "accounts"}}`, before, after, op)
}

// totals is count and sum of v over the upstream rows, as the view prints.
func (a *accounts) totals() string {
	s := 0
	for _, v := range a.state {
		s += v
	}
	return fmt.Sprintf("%d %d", len(a.state), s)
}
