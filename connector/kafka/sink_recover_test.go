package kafka

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/exec/stream"
)

// TestKafkaTargetRecover walks the windows of the two-phase commit with a
// real (in-process) broker: a delivery that committed in Kafka but whose
// log was not dropped (a crash right after EndTxn) is found by Recover,
// so it is not delivered again; a delivery left open by a crash (records
// produced, no commit) is aborted when the next producer with the same
// transactional id starts, and a read_committed consumer never sees it;
// the old producer is fenced.
func TestKafkaTargetRecover(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds := []string{c.ListenAddrs()[0]}
	newTarget := func() *kafkaTarget {
		return &kafkaTarget{opts: []kgo.Opt{kgo.SeedBrokers(seeds...)}, topic: "out", txid: "sink-x", group: "sink-x", timeout: 10 * time.Second}
	}
	ctx := context.Background()

	a := newTarget()
	if e, err := a.Recover(ctx); err != nil || e != 0 {
		t.Fatalf("first Recover = %d, %v; want 0", e, err)
	}
	if err := a.Deliver(ctx, 5, []stream.SinkRecord{{Key: []byte("k1"), Value: []byte("v1")}}); err != nil {
		t.Fatal(err)
	}
	// "Crash" before the log is dropped: a new incarnation recovers 5.
	b := newTarget()
	if e, err := b.Recover(ctx); err != nil || e != 5 {
		t.Fatalf("Recover after a committed delivery = %d, %v; want 5", e, err)
	}

	// b starts delivering epoch 7 and dies before committing.
	cl, err := b.client()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.produce(ctx, cl, []stream.SinkRecord{{Value: []byte("uncommitted")}}); err != nil {
		t.Fatal(err)
	}
	if err := b.commitProgress(ctx, cl, 7); err != nil {
		t.Fatal(err)
	}
	// The next incarnation fences b, aborts its transaction, and finds 5.
	d := newTarget()
	if e, err := d.Recover(ctx); err != nil || e != 5 {
		t.Fatalf("Recover after an open delivery = %d, %v; want 5", e, err)
	}
	if err := b.endTxn(ctx, cl, true); err == nil {
		t.Fatal("the fenced producer committed its transaction")
	}
	b.reset()
	if err := d.Deliver(ctx, 7, []stream.SinkRecord{{Key: []byte("k2"), Value: []byte("v2")}, {Key: []byte("k3")}}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if e, err := newTarget().Recover(ctx); err != nil || e != 7 {
		t.Fatalf("Recover = %d, %v; want 7", e, err)
	}

	rc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics("out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		rc.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if r.Value == nil {
				v = "<tombstone>"
			}
			got = append(got, string(r.Key)+"="+v)
		})
		cancel()
	}
	if want := []string{"k1=v1", "k2=v2", "k3=<tombstone>"}; !slices.Equal(got, want) {
		t.Fatalf("read_committed consumer saw %q, want %q", got, want)
	}
}
