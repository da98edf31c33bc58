package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"streamsql/internal/testserver"
)

// TestSchemaChangeKill9 kills streamsqld (a subprocess) with SIGKILL at
// random moments while a Canal stream of rows and ADD COLUMN ... DEFAULT
// events is produced, and restarts it each time. At the end every column
// was added once, in order, and every row holds what upstream holds: the
// values its event carried, and the DEFAULT of each column added after it.
func TestSchemaChangeKill9(t *testing.T) {
	const rows, ddlEvery, rounds = 3000, 300, 3
	addr, _ := ddlBroker(t, "acc")
	srv := testserver.StartBuilt(t, "warn")

	// The producer paces the stream over about the rounds' time.
	prodDone := make(chan error, 1)
	go func() {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V2_1_0_0
		cfg.Producer.Return.Successes = true
		p, err := sarama.NewSyncProducer([]string{addr}, cfg)
		if err != nil {
			prodDone <- err
			return
		}
		defer p.Close()
		added := 0
		for i := 1; i <= rows; i++ {
			if i%ddlEvery == 0 {
				added++
				ddl := canalDDL(fmt.Sprintf("ALTER TABLE acc ADD COLUMN c%d int NOT NULL DEFAULT %d", added, 100+added))
				if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "acc", Value: sarama.StringEncoder(ddl)}); err != nil {
					prodDone <- err
					return
				}
			}
			fields := []string{fmt.Sprintf(`"id": "%d", "v": "%d"`, i, i*3)}
			for j := 1; j <= added; j++ {
				fields = append(fields, fmt.Sprintf(`"c%d": "%d"`, j, i%7+j))
			}
			ev := canal("INSERT", "{"+strings.Join(fields, ", ")+"}")
			if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "acc", Value: sarama.StringEncoder(ev)}); err != nil {
				prodDone <- err
				return
			}
			if i%50 == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		prodDone <- nil
	}()

	conn := srv.Dial(t)
	execAll(t, conn, fmt.Sprintf(`CREATE TABLE acc (id int PRIMARY KEY, v int)
		WITH (connector = 'kafka', topic = 'acc', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT CANAL ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW acc_sum AS SELECT count(id) AS n, sum(v) AS s FROM acc")
	conn.Close(context.Background())
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < rounds; round++ {
		time.Sleep(time.Duration(100+rng.Intn(500)) * time.Millisecond)
		srv = srv.Restart(t)
	}
	if err := <-prodDone; err != nil {
		t.Fatal(err)
	}
	conn = srv.Dial(t)
	defer conn.Close(context.Background())
	added := rows / ddlEvery
	var cols []string
	for j := 1; j <= added; j++ {
		cols = append(cols, fmt.Sprintf("c%d integer", j))
	}
	ddlEventually(t, conn, fmt.Sprintf(columnsOf, "acc"), "id integer\nv integer\n"+strings.Join(cols, "\n"))
	ddlEventually(t, conn, "SELECT n, s FROM acc_sum", fmt.Sprintf("%d %d", rows, 3*rows*(rows+1)/2))
	// Each row as upstream has it: c_j is what the row's event carried
	// if the column existed then, else the column's DEFAULT.
	var sel, want []string
	for j := 1; j <= added; j++ {
		sel = append(sel, fmt.Sprintf("sum(c%d)::bigint", j))
		var s int64
		for i := 1; i <= rows; i++ {
			if i/ddlEvery >= j {
				s += int64(i%7 + j)
			} else {
				s += int64(100 + j)
			}
		}
		want = append(want, fmt.Sprint(s))
	}
	ddlEventually(t, conn, "SELECT "+strings.Join(sel, ", ")+" FROM acc", strings.Join(want, " "))
	ddlEventually(t, conn, "SELECT count(*) FROM rejects", "0")
}
