package kafka

import (
	"bytes"
	"context"
	"fmt"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/exec/stream"
)

// TestKafkaTargetBatchesKeepRecords checks that the record batches the
// target builds carry each sink log record as it is: the key and the
// value byte for byte (absent and empty told apart), no headers, for
// every codec of properties.compression.type, over both delivery paths
// (a packed log's batches sent as stored, and records framed at
// delivery), into a topic of one partition and one of three (where keyed
// records go to murmur2(key) mod 3 as Kafka's producers put them, and
// each partition keeps the records' order). A read_committed consumer
// (kgo, which checks the CRCs, as the broker does) reads them back, and
// kcat, an outside client with check.crcs on, reads the same.
func TestKafkaTargetBatchesKeepRecords(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds := []string{c.ListenAddrs()[0]}
	ctx := context.Background()

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	first := []stream.SinkRecord{
		{Key: []byte("k1"), Value: []byte(`{"a":1}`)},
		{Value: []byte("no key")},
		{Key: []byte("k2")}, // a tombstone
		{Key: []byte{}, Value: []byte{}},
		{Key: binary, Value: binary},
		// Most of a batch: the batch before it ends early.
		{Key: []byte("big"), Value: bytes.Repeat([]byte("x"), batchMax*7/8)},
	}
	for i := range 3000 {
		first = append(first, stream.SinkRecord{Key: fmt.Appendf(nil, "key-%d", i%97), Value: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, strings.Repeat("p", i%300))})
	}
	second := []stream.SinkRecord{{Key: []byte("k1"), Value: []byte(`{"a":2}`)}, {Value: []byte("no key 2")}, {Key: []byte("k3"), Value: []byte("v3")}}
	want := append(append([]stream.SinkRecord(nil), first...), second...)

	for _, codec := range []string{"none", "snappy", "gzip", "lz4", "zstd"} {
		for _, parts := range []int32{1, 3} {
			topic := fmt.Sprintf("out-%s-%d", codec, parts)
			target := &kafkaTarget{opts: []kgo.Opt{kgo.SeedBrokers(seeds...)}, topic: topic, txid: "tx-" + topic, group: "tx-" + topic,
				timeout: 20 * time.Second, create: true, partitions: parts, replicas: -1, codec: compressionCodec(codec)}
			if _, err := target.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			// The first epoch as the log stores it: packed, then sent.
			var part []byte
			for _, r := range first {
				part = stream.AppendSinkRecord(part, r.Key, r.Value, r.Key != nil, r.Value != nil)
			}
			packed, err := target.PackSinkLog(nil, part)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := target.UnpackSinkLog(nil, packed); err != nil || !bytes.Equal(back, part) {
				t.Fatalf("%s: unpacking the packed log does not give its records back (%v)", topic, err)
			}
			if err := target.DeliverPacked(ctx, 1, [][]byte{packed}); err != nil {
				t.Fatal(err)
			}
			// The second framed at delivery.
			if err := target.Deliver(ctx, 2, second); err != nil {
				t.Fatal(err)
			}
			target.Close()

			got := consumeAll(t, seeds, topic, len(want))
			checkRecords(t, topic, parts, want, got)
			if parts == 1 && codec == "snappy" {
				checkKcat(t, seeds[0], topic, want)
			}
		}
	}
}

// consumeAll reads n records of topic with a read_committed consumer.
func consumeAll(t *testing.T, seeds []string, topic string, n int) []*kgo.Record {
	t.Helper()
	rc, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []*kgo.Record
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := rc.PollFetches(pctx)
		cancel()
		fs.EachError(func(_ string, _ int32, err error) {
			if err != context.DeadlineExceeded {
				t.Errorf("%s: fetch: %v", topic, err)
			}
		})
		got = append(got, fs.Records()...)
	}
	return got
}

// checkRecords compares what a consumer read with the records written:
// each partition holds its records in order, byte for byte.
func checkRecords(t *testing.T, topic string, parts int32, want []stream.SinkRecord, got []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: read %d records, want %d", topic, len(got), len(want))
	}
	byPart := map[int32][]*kgo.Record{}
	for _, r := range got {
		if len(r.Headers) != 0 {
			t.Errorf("%s: record with headers %v", topic, r.Headers)
		}
		byPart[r.Partition] = append(byPart[r.Partition], r)
	}
	hash := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	next := map[int32]int{}
	unkeyed := map[string]int32{}
	for _, w := range want {
		var p int32
		if w.Key != nil {
			p = int32(hash.Partition(&kgo.Record{Key: w.Key}, int(parts)))
		} else {
			// An unkeyed record may be in any partition: find it.
			p = -1
			for q := range parts {
				if i := next[q]; i < len(byPart[q]) && byPart[q][i].Key == nil && bytes.Equal(byPart[q][i].Value, w.Value) {
					p = q
					break
				}
			}
			unkeyed[string(w.Value)] = p
			if p < 0 {
				t.Fatalf("%s: unkeyed record %q not found at its partitions' next places", topic, w.Value)
			}
		}
		i := next[p]
		if i >= len(byPart[p]) {
			t.Fatalf("%s: partition %d ends before key %q", topic, p, w.Key)
		}
		r := byPart[p][i]
		next[p]++
		if !sameBytes(r.Key, w.Key) || !sameBytes(r.Value, w.Value) {
			t.Fatalf("%s: partition %d record %d = key %q value %.40q, want key %q value %.40q", topic, p, i, r.Key, r.Value, w.Key, w.Value)
		}
	}
}

// sameBytes is bytes.Equal that tells absent (nil) from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// checkKcat reads topic with kcat (read_committed, CRCs checked) and
// compares each record's key, value length and value with want.
func checkKcat(t *testing.T, addr, topic string, want []stream.SinkRecord) {
	t.Helper()
	kcat, err := osexec.LookPath("kcat")
	if err != nil {
		t.Log("kcat is not installed: the outside-client check is skipped")
		return
	}
	out, err := osexec.Command(kcat, "-C", "-b", addr, "-t", topic, "-e", "-q", "-X", "isolation.level=read_committed",
		"-X", "check.crcs=true", "-f", "%K:%k|%S:%s|%h\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%.2000s", err, out)
	}
	// Each record is its key's and value's length (-1 when absent) and
	// bytes, then its headers (none): the lengths delimit binary bytes.
	for i, w := range want {
		line := fmt.Appendf(nil, "%d:%s|%d:%s|\n", length(w.Key), w.Key, length(w.Value), w.Value)
		if !bytes.HasPrefix(out, line) {
			t.Fatalf("kcat record %d = %.80q, want %.80q", i, out, line)
		}
		out = out[len(line):]
	}
	if len(out) > 0 {
		t.Fatalf("kcat read more records than were written: %.80q", out)
	}
}

func length(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}
