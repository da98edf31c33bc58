package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/internal/cputime"
)

// The client's share of the Kafka source's cost: consuming the same
// records from kfake with sarama's partition consumers (what the source
// uses) and with franz-go's kgo, nothing decoded. The broker runs in the
// same process, so each result includes its serving cost; the difference
// between the two is the clients'. Run with
//
//	go test ./connector/kafka -run '^$' -bench Consume -benchtime 1x
func benchTopic(b *testing.B, records, parts int) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(parts))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	if err := c.CreateTopic("bench", int32(parts), nil); err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()[0]), kgo.DefaultProduceTopic("bench"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	val := []byte(fmt.Sprintf(`{"auction":1000,"bidder":2001,"price":12345,"channel":"Google","url":"https://www.nexmark.com/abcd/efgh/item.htm?query=1","date_time":"2015-07-15 00:00:00.001","extra":"%0100d"}`, 0))
	for i := 0; i < records; i++ {
		cl.Produce(context.Background(), &kgo.Record{Partition: int32(i % parts), Value: val}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

const benchRecords, benchParts = 400_000, 4

func BenchmarkConsumeSarama(b *testing.B) {
	c := benchTopic(b, benchRecords, benchParts)
	for b.Loop() {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V2_1_0_0
		cfg.Consumer.Fetch.Default = 4 << 20
		cfg.ChannelBufferSize = 4096
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
		cons, err := sarama.NewConsumer(c.ListenAddrs(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		t0 := cputime.Used()
		done := make(chan int, benchParts)
		for p := int32(0); p < benchParts; p++ {
			pc, err := cons.ConsumePartition("bench", p, 0)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				n := 0
				for range pc.Messages() {
					if n++; n == benchRecords/benchParts {
						break
					}
				}
				done <- n
			}()
		}
		for range benchParts {
			<-done
		}
		b.ReportMetric(float64(benchRecords)/(cputime.Used()-t0).Seconds(), "records/cpu-s")
		cons.Close()
	}
}

func BenchmarkConsumeFranz(b *testing.B) {
	c := benchTopic(b, benchRecords, benchParts)
	for b.Loop() {
		offs := map[int32]kgo.Offset{}
		for p := int32(0); p < benchParts; p++ {
			offs[p] = kgo.NewOffset().At(0)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()[0]), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"bench": offs}),
			kgo.FetchMaxBytes(16<<20), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		if err != nil {
			b.Fatal(err)
		}
		t0 := cputime.Used()
		n := 0
		for n < benchRecords {
			fs := cl.PollRecords(context.Background(), 4096)
			if err := fs.Err0(); err != nil {
				b.Fatal(err)
			}
			n += fs.NumRecords()
		}
		b.ReportMetric(float64(benchRecords)/(cputime.Used()-t0).Seconds(), "records/cpu-s")
		cl.Close()
	}
}
