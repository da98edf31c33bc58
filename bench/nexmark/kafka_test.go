package nexmark

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestKafkaMode runs the Kafka mode small: the bids of 20,000 events
// produced as JSON and as Avro, q0 read back through a Kafka source into
// a view. The view equals the view of the same q0 over the generator (the
// encodings lose nothing), and every run ends within its time limit with
// the broker closed.
func TestKafkaMode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three engines")
	}
	const events, rate = 20_000, 10_000_000
	qs, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	q0 := qs[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := StreamOptions{Events: events, EventRate: rate, Keep: 100_000, Timeout: time.Minute}
	gen, err := RunStream(ctx, q0, o, filepath.Join(t.TempDir(), "gen.lines"))
	if err != nil || gen.Error != "" {
		t.Fatalf("generator run: %v %s", err, gen.Error)
	}
	for _, enc := range []string{"json", "avro"} {
		feed, err := ProduceBids(ctx, enc, events, rate, 3)
		if err != nil {
			t.Fatal(err)
		}
		ko := o
		ko.Kafka = &feed.Source
		res, err := RunStream(ctx, q0, ko, filepath.Join(t.TempDir(), enc+".lines"))
		if cerr := feed.Close(); cerr != nil {
			t.Errorf("%s: closing the broker: %v", enc, cerr)
		}
		if err != nil || res.Error != "" {
			t.Fatalf("%s run: %v %s", enc, err, res.Error)
		}
		if res.Rows != feed.Messages || res.Digest != gen.Digest {
			t.Errorf("%s: %d rows (digest %s), generator %d rows (digest %s), %d records produced",
				enc, res.Rows, res.Digest, gen.Rows, gen.Digest, feed.Messages)
		}
	}
}
