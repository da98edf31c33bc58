package nexmark

// The Kafka mode: the Nexmark bids are first produced into an in-process
// Kafka broker (franz-go's kfake) as JSON or as Avro in the Confluent wire
// format (with a schema registry stand-in over HTTP), untimed; a query
// then reads them through a Kafka source and is measured like a generator
// run. The broker and the producer live in the harness process, the
// engine in a child process, so the child's CPU time is the engine's
// alone, as it would be with a broker on another machine.

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/connector/kafka"
	"streamsql/connector/nexmark"
	"streamsql/engine"
	"streamsql/sql/types"
)

// KafkaSource is where a streaming run reads the bids from.
type KafkaSource struct {
	Addr     string // broker host:port
	Topic    string
	Encode   string // JSON or AVRO
	Registry string // schema registry URL (AVRO)
	// Offsets are each partition's end offset: the run is done when the
	// committed positions reach them.
	Offsets map[int32]int64
}

// bidAvroSchema is the bid as Avro: the columns of sources.sql.
const bidAvroSchema = `{"type": "record", "name": "Bid", "namespace": "nexmark", "fields": [
 {"name": "auction", "type": "long"}, {"name": "bidder", "type": "long"}, {"name": "price", "type": "long"},
 {"name": "channel", "type": "string"}, {"name": "url", "type": "string"},
 {"name": "date_time", "type": {"type": "long", "logicalType": "timestamp-micros"}},
 {"name": "extra", "type": "string"}]}`

// KafkaFeed is a broker holding the bids of a Nexmark run.
type KafkaFeed struct {
	Source     KafkaSource
	Messages   int64
	Bytes      int64
	ProduceSec float64

	cluster  *kfake.Cluster
	registry *http.Server
}

// Close stops the registry and the broker.
func (f *KafkaFeed) Close() error {
	var err error
	if f.registry != nil {
		// Close, not Shutdown: a client's connection that never sent a
		// request counts as busy for five seconds, and nothing here needs
		// to finish gracefully.
		err = f.registry.Close()
	}
	if f.cluster != nil {
		f.cluster.Close()
	}
	return err
}

// ProduceBids starts a broker and produces the bids of a Nexmark stream
// of events events into a topic of partitions partitions, round robin,
// encoded as encode (JSON or AVRO). It gives up when ctx ends.
func ProduceBids(ctx context.Context, encode string, events, eventRate int64, partitions int32) (_ *KafkaFeed, err error) {
	encode = strings.ToUpper(encode)
	if encode != "JSON" && encode != "AVRO" {
		return nil, fmt.Errorf("kafka mode: no encoding %q (json or avro)", encode)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(partitions)))
	if err != nil {
		return nil, err
	}
	f := &KafkaFeed{cluster: c}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	f.Source = KafkaSource{Addr: c.ListenAddrs()[0], Topic: "bid_" + strings.ToLower(encode), Encode: encode,
		Offsets: map[int32]int64{}}
	if err := c.CreateTopic(f.Source.Topic, partitions, nil); err != nil {
		return nil, err
	}
	if encode == "AVRO" {
		if f.Source.Registry, err = f.serveRegistry(); err != nil {
			return nil, err
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(f.Source.Addr), kgo.DefaultProduceTopic(f.Source.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()

	cols := tableColumns["bid"]
	ts := make([]types.T, len(cols))
	for i, name := range cols {
		ts[i] = columnType(name)
	}
	spec, err := nexmark.New(cols, ts, nil, map[string]string{
		"connector": "nexmark", "nexmark.table.type": "bid",
		"nexmark.event.num": fmt.Sprint(events), "nexmark.event.rate": fmt.Sprint(eventRate),
	})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var failedMu sync.Mutex
	var failed error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			failedMu.Lock()
			failed = cmp.Or(failed, err)
			failedMu.Unlock()
		}
	}
	failure := func() error {
		failedMu.Lock()
		defer failedMu.Unlock()
		return failed
	}
	var buf []byte
	n := int64(0)
	err = spec.Generate(func(a []arrow.Array, rows int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := failure(); err != nil {
			return err
		}
		for i := 0; i < rows; i++ {
			if encode == "JSON" {
				buf = appendBidJSON(buf[:0], a, i)
			} else {
				buf = appendBidAvro(buf[:0], a, i)
			}
			p := int32(n % int64(partitions))
			f.Source.Offsets[p]++
			n++
			f.Bytes += int64(len(buf))
			cl.Produce(ctx, &kgo.Record{Partition: p, Value: append([]byte(nil), buf...)}, promise)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kafka mode: producing: %w", err)
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("kafka mode: producing: %w", err)
	}
	if err := failure(); err != nil {
		return nil, fmt.Errorf("kafka mode: producing: %w", err)
	}
	f.Messages, f.ProduceSec = n, time.Since(t0).Seconds()
	return f, nil
}

// serveRegistry serves the bid schema as id 1, the way a Confluent
// schema registry answers GET /schemas/ids/{id}, and as the latest (and
// only) version of the topic's value subject, which the source reads as
// its reader schema.
func (f *KafkaFeed) serveRegistry() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"schema": bidAvroSchema})
	latest, _ := json.Marshal(map[string]any{"subject": f.Source.Topic + "-value", "version": 1, "id": 1, "schema": bidAvroSchema})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /schemas/ids/1", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.Write(body)
	})
	mux.HandleFunc("GET /subjects/"+f.Source.Topic+"-value/versions/latest", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.Write(latest)
	})
	f.registry = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go f.registry.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// appendBidJSON writes row i of the bid columns (auction, bidder, price,
// channel, url, date_time, extra) as a JSON object.
func appendBidJSON(b []byte, a []arrow.Array, i int) []byte {
	b = append(b, `{"auction":`...)
	b = strconv.AppendInt(b, a[0].(*array.Int64).Value(i), 10)
	b = append(b, `,"bidder":`...)
	b = strconv.AppendInt(b, a[1].(*array.Int64).Value(i), 10)
	b = append(b, `,"price":`...)
	b = strconv.AppendInt(b, a[2].(*array.Int64).Value(i), 10)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, a[3].(*array.String).Value(i))
	b = append(b, `,"url":`...)
	b = appendJSONString(b, a[4].(*array.String).Value(i))
	b = append(b, `,"date_time":"`...)
	b = time.UnixMicro(int64(a[5].(*array.Timestamp).Value(i))).UTC().AppendFormat(b, "2006-01-02 15:04:05.999999")
	b = append(b, `","extra":`...)
	b = appendJSONString(b, a[6].(*array.String).Value(i))
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendBidAvro writes row i as a Bid datum in the Confluent wire format
// (schema id 1).
func appendBidAvro(b []byte, a []arrow.Array, i int) []byte {
	b = append(b, 0, 0, 0, 0, 1)
	b = binary.AppendVarint(b, a[0].(*array.Int64).Value(i))
	b = binary.AppendVarint(b, a[1].(*array.Int64).Value(i))
	b = binary.AppendVarint(b, a[2].(*array.Int64).Value(i))
	for _, s := range []string{a[3].(*array.String).Value(i), a[4].(*array.String).Value(i)} {
		b = binary.AppendVarint(b, int64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, int64(a[5].(*array.Timestamp).Value(i)))
	s := a[6].(*array.String).Value(i)
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

// kafkaSourceSQL is the bid source over the topic (sources.sql's bid with
// the kafka connector).
func kafkaSourceSQL(k *KafkaSource) string {
	enc := "JSON"
	if k.Encode == "AVRO" {
		enc = fmt.Sprintf("AVRO (schema.registry = '%s')", k.Registry)
	}
	return fmt.Sprintf(`CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
                   date_time TIMESTAMP, extra VARCHAR,
                   WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'kafka', topic = '%s', properties.bootstrap.server = '%s', scan.startup.mode = 'earliest')
FORMAT PLAIN ENCODE %s`, k.Topic, k.Addr, enc)
}

// waitKafka waits until the job has committed every record of the topic.
func waitKafka(ctx context.Context, eng *engine.Engine, object string, k *KafkaSource) error {
	var total int64
	for _, n := range k.Offsets {
		total += n
	}
	return waitCommitted(ctx, eng, object, func(positions [][]byte) (bool, string) {
		covered, left := int64(0), int64(0)
		for _, pos := range positions {
			if pos == nil {
				continue
			}
			offs, err := kafka.Offsets(pos)
			if err != nil {
				continue
			}
			for part, end := range k.Offsets {
				c := min(offs[part], end)
				covered += c
				left += end - c
			}
		}
		if covered == total && left == 0 && total > 0 {
			return true, ""
		}
		return false, fmt.Sprintf("waiting for the Kafka source to finish (%d of %d records committed)", covered, total)
	})
}

// EncodeKafkaOffsets and DecodeKafkaOffsets carry a feed's end offsets
// to the child process on its command line ("0:123,1:456").
func EncodeKafkaOffsets(m map[int32]int64) string {
	var parts []string
	for p := int32(0); p < int32(len(m)); p++ {
		parts = append(parts, fmt.Sprintf("%d:%d", p, m[p]))
	}
	return strings.Join(parts, ",")
}

func DecodeKafkaOffsets(s string) (map[int32]int64, error) {
	m := map[int32]int64{}
	for _, kv := range strings.Split(s, ",") {
		p, n, ok := strings.Cut(kv, ":")
		pi, err1 := strconv.ParseInt(p, 10, 32)
		ni, err2 := strconv.ParseInt(n, 10, 64)
		if !ok || err1 != nil || err2 != nil || ni < 0 || ni > math.MaxInt64/2 {
			return nil, errors.New("bad kafka offsets " + strconv.Quote(s))
		}
		m[int32(pi)] = ni
	}
	return m, nil
}
