package kafka_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"streamsql/connector"
	"streamsql/connector/kafka"
	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// BenchmarkKafkaJSONSource reads b.N Nexmark-like bid records (JSON) from
// four partitions of an in-process broker through the source driver and
// the JSON decoder, and reports records per second and per CPU-second of
// the whole process (the broker, kfake, runs in it too).
func BenchmarkKafkaJSONSource(b *testing.B) {
	c := broker(b, 4)
	addr := c.ListenAddrs()[0]
	if err := c.CreateTopic("bids", 4, nil); err != nil {
		b.Fatal(err)
	}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Flush.Messages = 1000
	p, err := sarama.NewAsyncProducer([]string{addr}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for i := 0; i < b.N; i++ {
			p.Input() <- &sarama.ProducerMessage{Topic: "bids", Partition: int32(i % 4), Value: sarama.StringEncoder(
				`{"auction": ` + strconv.Itoa(1000+i%977) + `, "bidder": ` + strconv.Itoa(i%10007) + `, "price": ` + strconv.Itoa(100+i%5000) +
					`, "channel": "channel-` + strconv.Itoa(i%7) + `", "url": "https://www.nexmark.com/abc/item.htm?query=1", "date_time": "2015-07-15 00:00:0` + strconv.Itoa(i%10) + `", "extra": ""}`)}
		}
	}()
	for i := 0; i < b.N; i++ {
		select {
		case <-p.Successes():
		case err := <-p.Errors():
			b.Fatal(err)
		}
	}
	p.Close()
	con := kafka.Connector()
	opts, err := con.Validate(map[string]string{"connector": "kafka", "topic": "bids", "properties.bootstrap.server": addr})
	if err != nil {
		b.Fatal(err)
	}
	spec, err := con.Source(&connector.SourceConfig{Relation: "bid", Options: opts, Format: "PLAIN", Encode: "JSON", Parallelism: 2,
		Columns: []connector.Column{{Name: "auction", Type: types.TInt8}, {Name: "bidder", Type: types.TInt8}, {Name: "price", Type: types.TInt8},
			{Name: "channel", Type: types.TVarchar}, {Name: "url", Type: types.TVarchar}, {Name: "date_time", Type: types.TTimestamp}, {Name: "extra", Type: types.TVarchar}}})
	if err != nil {
		b.Fatal(err)
	}
	src, err := spec.Open(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan stream.Message, 64)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	start := time.Now()
	go src.Run(ctx, make(chan uint64), out)
	rows := 0
	for rows < b.N {
		m := <-out
		if m.Kind == stream.MsgChunk {
			rows += m.Chunk.N
			m.Chunk.Release()
		}
	}
	wall := time.Since(start)
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(rows)/wall.Seconds(), "records/s")
	b.ReportMetric(float64(rows)/cpu.Seconds(), "records/cpu-s")
}
