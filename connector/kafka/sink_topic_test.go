package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/internal/sqltest"
)

// TestKafkaSinkCreatesTopic starts a sink on a cluster without its topic:
// the sink creates it with topic.partitions and delivers into it. With
// topic.create = 'false' the topic is not created and the changes wait in
// the sink's log.
func TestKafkaSinkCreatesTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, v int)`,
		`INSERT INTO ev VALUES (1, 10), (2, 20)`,
		kafkaSink("ev_out", "ev", "made_by_sink", addr, "topic.partitions = '3'", "UPSERT ENCODE JSON"),
		kafkaSink("ev_none", "ev", "not_made", addr, "topic.create = 'false'", "UPSERT ENCODE JSON"),
		`FLUSH`)
	msgs := consumeCommitted(t, addr, "made_by_sink", 2)
	if len(msgs) != 2 || msgs[0].key != `{"id":1}` || msgs[1].value != `{"id":2,"v":20}` {
		t.Fatalf("records in the created topic: %+v", msgs)
	}
	adm := kadm.NewClient(mustKgo(t, addr))
	tds, err := adm.ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if td, ok := tds["made_by_sink"]; !ok || len(td.Partitions) != 3 {
		t.Errorf("made_by_sink: %+v, want 3 partitions", td)
	}
	deadline := time.Now().Add(5 * time.Second)
	for showSinkLag(t, conn, "ev_none") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("ev_none lag = %d, want 2 waiting for its topic", showSinkLag(t, conn, "ev_none"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tds, err = adm.ListTopics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := tds["not_made"]; ok {
		t.Errorf("topic not_made was created with topic.create = 'false'")
	}
}
