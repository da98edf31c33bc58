package kafka_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"streamsql/internal/crashtest"
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
	rounds := crashtest.Rounds(t)
	_, addr := sinkBroker(t, "crash_out")
	rows := crashtest.KillLoop(t, rounds, kafkaSink("acc_out", "acc", "crash_out", addr, "primary_key = 'id', delivery.timeout = '5s'", "UPSERT ENCODE JSON"))
	var want []string
	for _, r := range rows {
		want = append(want, fmt.Sprintf(`{"id":%d,"v":%d}`, r.ID, r.V))
	}
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
