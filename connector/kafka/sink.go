package kafka

// The Kafka sink.
//
// A sink's changes are encoded (FORMAT PLAIN | UPSERT | DEBEZIUM ENCODE
// JSON) into the sink log, which commits with StreamSQL's epochs
// (exec/stream/sink_log.go). The log's drainer delivers it here, one
// Kafka transaction per delivery (one epoch, or several when it catches
// up on a backlog), with a transactional producer whose transactional id
// is derived from the sink's id and so is the same after every restart.
//
// The transaction also commits an offset of a consumer group named after
// the transactional id, for the sink topic's partition 0: the offset is
// the last epoch the transaction holds. The records and that offset
// become visible together or not at all. When the drainer starts, and
// after any failed delivery, Recover initialises the producer id (which
// fences an older producer with the same transactional id and makes the
// broker abort a transaction it left open: the two-phase commit's
// in-flight transaction) and reads the group's offset with
// require_stable (so a commit in progress is waited for, not missed).
// Epochs up to it are in Kafka; later ones are delivered again. A
// read_committed consumer thus sees every change exactly once, across
// crashes of StreamSQL and of the connection to the brokers.
//
// Recover also makes sure the topic exists: unless topic.create is false,
// a missing topic is created through the admin API with the sink's
// topic.partitions and topic.replication.factor (the broker's default
// replication when unset). A topic that already exists is left as it is.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"streamsql/connector"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
)

// sinkOptions is the option schema of Kafka sinks.
func sinkOptions() []connector.Option {
	return append([]connector.Option{
		{Name: optTopic, Type: connector.String, Required: true, Description: "the topic to write"},
		{Name: optBootstrap, Type: connector.HostPorts, Required: true, Description: "brokers to start from, host:port[,host:port...]"},
		{Name: connector.OptPrimaryKey, Type: connector.String, Description: "the key columns, comma-separated: the message key of FORMAT UPSERT and DEBEZIUM (default: the query's key)"},
		{Name: connector.OptForceAppendOnly, Type: connector.Bool, Default: "false",
			Description: "with FORMAT PLAIN: drop deletes and the old rows of updates instead of refusing a query that is not append-only"},
		{Name: optTransactionalID, Type: connector.String,
			Description: "the producer's transactional id (default streamsql-sink-<id>-<creation time>); unique per sink across every writer of the cluster"},
		{Name: connector.OptTombstonesOnDelete, Type: connector.Bool, Default: "true",
			Description: "with FORMAT DEBEZIUM: follow a delete's event with a tombstone of its key"},
		{Name: optTopicCreate, Type: connector.Bool, Default: "true",
			Description: "create the topic when it does not exist"},
		{Name: optTopicPartitions, Type: connector.Int, Default: "1", Min: 1, Max: 1 << 20,
			Description: "the partitions of a topic the sink creates"},
		{Name: optTopicReplicas, Type: connector.Int, Min: 1, Max: 1 << 15,
			Description: "the replication factor of a topic the sink creates (default: the brokers' default.replication.factor)"},
		{Name: optCompression, Type: connector.Enum, Values: []string{"none", "gzip", "snappy", "lz4", "zstd"}, Default: "snappy",
			Description: "the codec of the record batches the sink produces; snappy costs the producer less CPU than the bytes it saves cost to send and store"},
		{Name: optDeliveryTimeout, Type: connector.Duration, Default: "30s",
			Description: "how long one delivery to the brokers may take before it is abandoned and retried"},
	}, clientOptions()...)
}

// sinkFormats are the FORMAT ... ENCODE pairs of Kafka sinks.
var sinkFormats = []string{"PLAIN JSON", "UPSERT JSON", "DEBEZIUM JSON", "PLAIN AVRO", "UPSERT AVRO", "DEBEZIUM AVRO"}

// newSink checks a Kafka sink's options and returns its writer factory.
func newSink(cfg *connector.SinkConfig) (func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error), error) {
	topic := strings.TrimSpace(cfg.Options.Get(optTopic))
	if topic == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q must not be empty", optTopic)
	}
	seeds := brokers(cfg.Options.Get(optBootstrap))
	if _, err := kgoOptions(cfg.Options, seeds); err != nil {
		return nil, err
	}
	timeout, _ := connector.ParseDuration(cfg.Options.Get(optDeliveryTimeout))
	if timeout <= 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q must be a positive duration", optDeliveryTimeout)
	}
	return func(env *stream.Env, in *stream.SinkInput) (stream.SinkWriter, error) {
		// The job's context: a job abandoned while it is built (the
		// server stops) does not wait for the registry.
		parent := context.Background()
		if env.Ctx != nil && env.Ctx.Context != nil {
			parent = env.Ctx.Context
		}
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		enc, err := connector.NewSinkChangeEncoder(ctx, cfg, in, topic)
		if err != nil {
			return nil, err
		}
		opts, err := kgoOptions(cfg.Options, seeds)
		if err != nil {
			return nil, err
		}
		txid := strings.TrimSpace(cfg.Options.Get(optTransactionalID))
		if txid == "" {
			txid = "streamsql-sink-" + cfg.Identity
		}
		t := &kafkaTarget{opts: opts, topic: topic, txid: txid, group: txid, timeout: timeout, replicas: -1, partitions: 1,
			codec: compressionCodec(cfg.Options.Get(optCompression))}
		if v, ok := connector.ParseBool(cfg.Options.Get(optTopicCreate)); ok {
			t.create = v
		}
		if v := cfg.Options.Get(optTopicPartitions); v != "" {
			n, _ := strconv.ParseInt(v, 10, 32)
			t.partitions = int32(n)
		}
		if v := cfg.Options.Get(optTopicReplicas); v != "" {
			n, _ := strconv.ParseInt(v, 10, 16)
			t.replicas = int16(n)
		}
		return stream.NewLogSinkWriter(env, in, enc, t, nil), nil
	}, nil
}

// compressionCodec is the kgo codec of a properties.compression.type
// value (checked by the option schema).
func compressionCodec(v string) kgo.CompressionCodec {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	case "none":
		return kgo.NoCompression()
	}
	return kgo.SnappyCompression()
}

// kafkaTarget delivers a sink's log into a topic in transactions.
type kafkaTarget struct {
	opts        []kgo.Opt
	topic       string
	txid, group string
	timeout     time.Duration
	cl          *kgo.Client
	// create makes Recover create a missing topic of partitions and
	// replicas (-1: the brokers' default).
	create     bool
	partitions int32
	replicas   int16
	ensured    bool
	// codec compresses the produced batches; comp is its compressor.
	codec kgo.CompressionCodec
	comp  kgo.Compressor
	// prod is the producer Recover started; topicLayout the topic's
	// partitions, read at the first delivery (produce_batches.go).
	prod        *producer
	topicLayout *topicLayout
	// The record batches being built and sent, and the partitioning of a
	// delivery's records.
	writers     [2]batchWriter
	partitioner kgo.TopicPartitioner
	nextUnkeyed int
	order       []int32
	parts       []int32
	// packer packs the sink log (sink_log_pack.go); the writer's.
	packer *batchPacker
	// unpacked and unpackedRecs hold a packed delivery's records when
	// the topic has several partitions.
	unpacked     []byte
	unpackedRecs []stream.SinkRecord
}

// ensureTopic creates the topic when it is missing and creation is on.
// A missing topic with creation off is an error naming the option.
func (t *kafkaTarget) ensureTopic(ctx context.Context, cl *kgo.Client) error {
	if t.ensured {
		return nil
	}
	adm := kadm.NewClient(cl)
	tds, err := adm.ListTopics(ctx, t.topic)
	if err != nil {
		return fmt.Errorf("kafka sink: look up topic %q: %w", t.topic, err)
	}
	if td, ok := tds[t.topic]; ok && td.Err == nil {
		t.ensured = true
		return nil
	} else if ok && !errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("kafka sink: look up topic %q: %w", t.topic, td.Err)
	}
	if !t.create {
		return sqlerr.New(sqlerr.UndefinedObject, "kafka topic %q does not exist", t.topic).
			WithHint("Create the topic, or set topic.create = 'true'.")
	}
	resp, err := adm.CreateTopic(ctx, t.partitions, t.replicas, nil, t.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafka sink: create topic %q (%d partitions): %w", t.topic, t.partitions, err)
	}
	slog.Info("kafka sink created its topic", "topic", t.topic, "partitions", t.partitions, "replication_factor", t.replicas)
	t.ensured = true
	return nil
}

func (t *kafkaTarget) client() (*kgo.Client, error) {
	if t.cl != nil {
		return t.cl, nil
	}
	o := append([]kgo.Opt{}, t.opts...)
	o = append(o, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MaxVersions(producerVersions()))
	cl, err := kgo.NewClient(o...)
	if err != nil {
		return nil, err
	}
	if t.comp == nil {
		if t.comp, err = kgo.DefaultCompressor(t.codec); err != nil {
			cl.Close()
			return nil, err
		}
		t.partitioner = kgo.StickyKeyPartitioner(nil).ForTopic(t.topic)
	}
	t.cl = cl
	return cl, nil
}

func (t *kafkaTarget) reset() {
	if t.cl != nil {
		t.cl.Close()
		t.cl = nil
	}
	t.prod = nil
	// A topic recreated (or a new cluster) has a new id and leaders, and
	// may be gone.
	t.topicLayout = nil
	t.ensured = false
}

// Recover starts a fresh producer (fencing any older one with the id and
// aborting its open transaction) and returns the last epoch Kafka holds.
func (t *kafkaTarget) Recover(ctx context.Context) (uint64, error) {
	t.reset()
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cl, err := t.client()
	if err != nil {
		return 0, err
	}
	if err := t.ensureTopic(ctx, cl); err != nil {
		t.reset()
		return 0, err
	}
	if err := t.initProducer(ctx, cl); err != nil {
		t.reset()
		return 0, fmt.Errorf("kafka sink: init producer %q: %w", t.txid, err)
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(kadm.RequireStable(ctx), t.group)
	if err == nil {
		err = offs.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		// Nothing was ever committed.
		return 0, nil
	}
	if err != nil {
		t.reset()
		return 0, fmt.Errorf("kafka sink: read progress of group %q: %w", t.group, err)
	}
	if o, ok := offs.Lookup(t.topic, 0); ok && o.Err == nil && o.At > 0 {
		return uint64(o.At), nil
	}
	return 0, nil
}

// Deliver writes recs and the progress offset upTo in one transaction.
func (t *kafkaTarget) Deliver(ctx context.Context, upTo uint64, recs []stream.SinkRecord) error {
	return t.transaction(ctx, upTo, func(ctx context.Context, cl *kgo.Client) error {
		return t.deliver(ctx, cl, upTo, recs)
	})
}

// transaction runs one delivery (fn) up to epoch upTo within the
// delivery timeout.
func (t *kafkaTarget) transaction(ctx context.Context, upTo uint64, fn func(context.Context, *kgo.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cl, err := t.client()
	if err != nil {
		return err
	}
	if err := fn(ctx, cl); err != nil {
		// Leave nothing half-done in this client: Recover starts a new
		// producer, which aborts the transaction on the broker.
		t.reset()
		return fmt.Errorf("kafka sink: deliver up to epoch %d: %w", upTo, err)
	}
	return nil
}

func (t *kafkaTarget) deliver(ctx context.Context, cl *kgo.Client, upTo uint64, recs []stream.SinkRecord) error {
	if t.prod == nil {
		return errors.New("no producer: the target was not recovered")
	}
	if err := t.produce(ctx, cl, recs); err != nil {
		return err
	}
	if err := t.commitProgress(ctx, cl, upTo); err != nil {
		return err
	}
	return t.endTxn(ctx, cl, true)
}

// commitProgress adds the group's progress offset (upTo) to the open
// transaction.
func (t *kafkaTarget) commitProgress(ctx context.Context, cl *kgo.Client, upTo uint64) error {
	l, err := t.layout(ctx, cl)
	if err != nil {
		return err
	}
	id, epoch := t.prod.id, t.prod.epoch
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = t.txid, id, epoch, t.group
	err = retryCoordinator(ctx, func() error {
		resp, err := add.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	if err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = t.txid, t.group, id, epoch
	req.Generation, req.MemberID = -1, ""
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = t.topic, l.id
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, int64(upTo), -1
	meta := "streamsql sink progress"
	rp.Metadata = &meta
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return partitionsError(resp.Topics, func(t kmsg.TxnOffsetCommitResponseTopic) []kmsg.TxnOffsetCommitResponseTopicPartition {
		return t.Partitions
	},
		func(p kmsg.TxnOffsetCommitResponseTopicPartition) (int32, int16) { return p.Partition, p.ErrorCode },
		"commit the progress offset of partition %d")
}

// Close closes the producer.
func (t *kafkaTarget) Close() error {
	t.reset()
	return nil
}
