package kafka

// The sink's transactional produce path.
//
// The sink writes its records as Kafka record batches (the v2 format:
// varint-framed records, compressed once per batch with the sink's
// codec, a header with the producer id, epoch, base sequence and the
// transactional flag, and a CRC-32C over the bytes after it) and sends
// them in Produce requests of its own, and runs the transaction with the
// transaction coordinator's requests: InitProducerID when it recovers
// (fencing an older producer with the transactional id, and aborting the
// transaction it left open), AddPartitionsToTxn, Produce, AddOffsetsToTxn
// and TxnOffsetCommit (sink.go), EndTxn. A producing client would handle
// each record on its own (a promise, a buffer, a partition lookup, its
// framing when the request is written); the records of a delivery are
// already in order and complete, so they are framed straight into the
// batch.
//
// One Produce request is in flight at a time, each with one batch of one
// partition; the next batch is built while the last is on its way. A
// partition's batches so reach the broker in sequence order. Any error
// fails the delivery: the drainer recovers (a new producer epoch, which
// aborts the transaction) and delivers again.
//
// Records go to the partitions as the client's default partitioner puts
// them: a keyed record to murmur2(key) mod partitions (as Kafka's
// producers do), an unkeyed one to the partition of the batch being
// filled, one partition after the other.
//
// The requests use the transaction protocol before KIP-890's second
// part (Produce up to v11, EndTxn up to v4): partitions are added to the
// transaction explicitly, and the producer epoch stays the same from one
// transaction to the next.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"streamsql/exec/stream"
)

// batchMax is about the most bytes of records (uncompressed) in one
// record batch, as the producing client's batch size was.
const batchMax = 1 << 20

// batchHeader is the size of a v2 record batch's header.
const batchHeader = 61

// crcStart is where the bytes under a batch's CRC begin (its attributes).
const crcStart = 21

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// producerVersions caps the requests of the sink's client at the
// transaction protocol it speaks (see above).
func producerVersions() *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(0, 11) // Produce
	v.SetMaxKeyVersion(24, 3) // AddPartitionsToTxn: the client's form
	v.SetMaxKeyVersion(26, 4) // EndTxn
	v.SetMaxKeyVersion(22, 4) // InitProducerID: no two-phase-commit fields
	v.SetMaxKeyVersion(28, 4) // TxnOffsetCommit
	v.SetMaxKeyVersion(25, 3) // AddOffsetsToTxn
	return v
}

// producer is the sink's producer id and epoch and, per partition, the
// sequence number of its next record.
type producer struct {
	id    int64
	epoch int16
	seq   []int32
}

// topicLayout is what the sink knows of its topic: its id and each
// partition's leader.
type topicLayout struct {
	id      [16]byte
	leaders []int32
}

// batchWriter frames one partition's records into a record batch.
type batchWriter struct {
	part    int32
	recs    []byte // the records, uncompressed
	n       int32
	out     []byte // the finished batch
	scratch bytes.Buffer
}

// add appends one record (offset delta w.n, timestamp delta 0, no
// headers).
func (w *batchWriter) add(key, value []byte) {
	klen, vlen := int64(-1), int64(-1)
	if key != nil {
		klen = int64(len(key))
	}
	if value != nil {
		vlen = int64(len(value))
	}
	body := 1 + 1 + varintLen(int64(w.n)) + varintLen(klen) + len(key) + varintLen(vlen) + len(value) + 1
	b := binary.AppendVarint(w.recs, int64(body))
	b = append(b, 0, 0) // attributes, timestamp delta
	b = binary.AppendVarint(b, int64(w.n))
	b = binary.AppendVarint(b, klen)
	b = append(b, key...)
	b = binary.AppendVarint(b, vlen)
	b = append(b, value...)
	w.recs = append(b, 0) // no headers
	w.n++
}

// full reports whether a record of key and value would take the batch
// past batchMax (a record larger than that goes in a batch of its own).
func (w *batchWriter) full(key, value []byte) bool {
	return w.n > 0 && len(w.recs)+len(key)+len(value)+recordOverhead > batchMax
}

// recordOverhead is the most bytes a record takes besides its key and
// value.
const recordOverhead = 1 + 1 + 5 + 5 + 5 + 5 + 1

// varintLen is the length of v as a zigzag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// finish compresses the records and writes the batch into w.out for
// producer p at the partition's next sequence (which it advances), with
// timestamp ts (milliseconds).
func (w *batchWriter) finish(comp kgo.Compressor, p *producer, ts int64) error {
	out, err := w.appendBatch(w.out[:0], comp)
	if err != nil {
		return err
	}
	stampBatch(out, p, w.part, ts)
	w.out = out
	return nil
}

// appendBatch appends w's records to dst as a transactional record batch
// compressed with comp (nil: uncompressed), its producer, sequence and timestamps left for
// stampBatch.
func (w *batchWriter) appendBatch(dst []byte, comp kgo.Compressor) ([]byte, error) {
	// (kgo has no compressor for no compression.)
	body, codec := w.recs, kgo.CodecNone
	if comp != nil {
		w.scratch.Reset()
		body, codec = comp.Compress(&w.scratch, w.recs)
	}
	if codec < 0 {
		return nil, errors.New("kafka sink: compressing a record batch failed")
	}
	out := binary.BigEndian.AppendUint64(dst, 0)                               // base offset
	out = binary.BigEndian.AppendUint32(out, uint32(batchHeader-12+len(body))) // length
	out = binary.BigEndian.AppendUint32(out, 0xffffffff)                       // partition leader epoch
	out = append(out, 2)                                                       // magic
	out = binary.BigEndian.AppendUint32(out, 0)                                // crc
	out = binary.BigEndian.AppendUint16(out, uint16(codec)|0x10)               // attributes: codec, transactional
	out = binary.BigEndian.AppendUint32(out, uint32(w.n-1))                    // last offset delta
	out = append(out, make([]byte, 8+8+8+2+4)...)                              // timestamps, producer, sequence
	out = binary.BigEndian.AppendUint32(out, uint32(w.n))
	return append(out, body...), nil
}

// stampBatch writes producer p, the partition's next sequence (which it
// advances) and timestamp ts into a batch appendBatch made, and its CRC.
func stampBatch(b []byte, p *producer, part int32, ts int64) {
	binary.BigEndian.PutUint64(b[27:], uint64(ts)) // first timestamp
	binary.BigEndian.PutUint64(b[35:], uint64(ts)) // max timestamp
	binary.BigEndian.PutUint64(b[43:], uint64(p.id))
	binary.BigEndian.PutUint16(b[51:], uint16(p.epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(p.seq[part]))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[crcStart:], castagnoli))
	// The next batch follows this one: a failed send fails the delivery,
	// and the next starts a new producer epoch, from sequence 0.
	p.seq[part] += int32(binary.BigEndian.Uint32(b[57:]))
}

// nextBatch splits the first record batch off b.
func nextBatch(b []byte) (batch, rest []byte, err error) {
	if len(b) < batchHeader {
		return nil, nil, errors.New("kafka sink: truncated record batch")
	}
	n := 12 + int(binary.BigEndian.Uint32(b[8:12]))
	if n < batchHeader || n > len(b) {
		return nil, nil, errors.New("kafka sink: corrupt record batch length")
	}
	return b[:n], b[n:], nil
}

func (w *batchWriter) reset(part int32) {
	w.part, w.recs, w.n = part, w.recs[:0], 0
}

// initProducer starts a new producer epoch for the transactional id,
// retrying while the coordinator finishes an earlier transaction.
func (t *kafkaTarget) initProducer(ctx context.Context, cl *kgo.Client) error {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID = &t.txid
	req.TransactionTimeoutMillis = int32(time.Minute / time.Millisecond)
	req.ProducerID, req.ProducerEpoch = -1, -1
	return retryCoordinator(ctx, func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return err
		}
		t.prod = &producer{id: resp.ProducerID, epoch: resp.ProducerEpoch}
		return nil
	})
}

// retryCoordinator runs fn again while the transaction coordinator says
// it is busy (an earlier transaction's end still being written) or
// loading.
func retryCoordinator(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, kerr.ConcurrentTransactions) && !errors.Is(err, kerr.CoordinatorLoadInProgress) {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// layout returns the topic's id and partition leaders, from the
// brokers' metadata the first time. A topic just created may take a
// moment to show, or its partitions to have leaders: layout asks again
// until the delivery's time is up.
func (t *kafkaTarget) layout(ctx context.Context, cl *kgo.Client) (*topicLayout, error) {
	if t.topicLayout != nil {
		return t.topicLayout, nil
	}
	for {
		l, err := t.readLayout(ctx, cl)
		if err == nil {
			t.topicLayout = l
			if len(t.prod.seq) != len(l.leaders) {
				t.prod.seq = make([]int32, len(l.leaders))
			}
			return l, nil
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) && !errors.Is(err, kerr.LeaderNotAvailable) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readLayout asks the brokers for the topic's metadata (not the
// client's cached copy).
func (t *kafkaTarget) readLayout(ctx context.Context, cl *kgo.Client) (*topicLayout, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(t.topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 {
		return nil, fmt.Errorf("topic %q: %d topics in the metadata", t.topic, len(resp.Topics))
	}
	td := resp.Topics[0]
	if err := kerr.ErrorForCode(td.ErrorCode); err != nil {
		return nil, fmt.Errorf("topic %q: %w", t.topic, err)
	}
	l := &topicLayout{id: td.TopicID, leaders: make([]int32, len(td.Partitions))}
	if len(l.leaders) == 0 {
		return nil, fmt.Errorf("topic %q has no partitions: %w", t.topic, kerr.UnknownTopicOrPartition)
	}
	for _, pd := range td.Partitions {
		if pd.Partition < 0 || int(pd.Partition) >= len(l.leaders) {
			return nil, fmt.Errorf("topic %q: partition %d of %d", t.topic, pd.Partition, len(l.leaders))
		}
		if err := kerr.ErrorForCode(pd.ErrorCode); err != nil {
			return nil, fmt.Errorf("topic %q partition %d: %w", t.topic, pd.Partition, err)
		}
		if pd.Leader < 0 {
			return nil, fmt.Errorf("topic %q partition %d: %w", t.topic, pd.Partition, kerr.LeaderNotAvailable)
		}
		l.leaders[pd.Partition] = pd.Leader
	}
	return l, nil
}

// partitionRecords returns, for a topic of n partitions, each record's
// partition in the order the records are to be sent (the records of one
// partition in their order); nil when n is 1.
func (t *kafkaTarget) partitionRecords(recs []stream.SinkRecord, n int) (order []int32, parts []int32) {
	if n == 1 {
		return nil, nil
	}
	parts = t.parts[:0]
	counts := make([]int32, n+1)
	var scratch kgo.Record
	unkeyed, filled := t.nextUnkeyed%n, 0
	for i := range recs {
		var p int
		if recs[i].Key != nil {
			scratch.Key = recs[i].Key
			p = t.partitioner.Partition(&scratch, n)
		} else {
			// The batch being filled takes unkeyed records until it is
			// full; the next one goes to the next partition.
			p = unkeyed
			filled += len(recs[i].Value) + 8
			if filled >= batchMax {
				unkeyed, filled = (unkeyed+1)%n, 0
			}
		}
		parts = append(parts, int32(p))
		counts[p+1]++
	}
	t.nextUnkeyed = unkeyed + 1
	for p := 1; p <= n; p++ {
		counts[p] += counts[p-1]
	}
	order = t.order[:0]
	order = append(order, make([]int32, len(recs))...)
	for i, p := range parts {
		order[counts[p]] = int32(i)
		counts[p]++
	}
	t.parts, t.order = parts, order
	return order, parts
}

// addPartitions adds the partitions the delivery writes to the open
// transaction.
func (t *kafkaTarget) addPartitions(ctx context.Context, cl *kgo.Client, used []bool) error {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = t.txid, t.prod.id, t.prod.epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic = t.topic
	for p, u := range used {
		if u {
			rt.Partitions = append(rt.Partitions, int32(p))
		}
	}
	req.Topics = append(req.Topics, rt)
	return retryCoordinator(ctx, func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return partitionsError(resp.Topics, func(t kmsg.AddPartitionsToTxnResponseTopic) []kmsg.AddPartitionsToTxnResponseTopicPartition {
			return t.Partitions
		},
			func(p kmsg.AddPartitionsToTxnResponseTopicPartition) (int32, int16) { return p.Partition, p.ErrorCode },
			"add partition %d to the transaction")
	})
}

// partitionsError returns the error of the first partition of topics
// whose code (with its partition number) is an error, as what (which
// formats the partition number) failed.
func partitionsError[T, P any](topics []T, partitions func(T) []P, code func(P) (int32, int16), what string) error {
	for _, t := range topics {
		for _, p := range partitions(t) {
			part, c := code(p)
			if err := kerr.ErrorForCode(c); err != nil {
				return fmt.Errorf(what+": %w", part, err)
			}
		}
	}
	return nil
}

// produce writes recs into the open transaction as record batches.
func (t *kafkaTarget) produce(ctx context.Context, cl *kgo.Client, recs []stream.SinkRecord) error {
	if len(recs) == 0 {
		return nil
	}
	l, err := t.layout(ctx, cl)
	if err != nil {
		return err
	}
	n := len(l.leaders)
	order, parts := t.partitionRecords(recs, n)
	used := make([]bool, n)
	if order == nil {
		used[0] = true
	} else {
		for _, p := range parts {
			used[p] = true
		}
	}
	if err := t.addPartitions(ctx, cl, used); err != nil {
		return err
	}
	// One create time for the delivery's records.
	ts := time.Now().UnixMilli()
	inflight := make(chan error, 1)
	var sent *batchWriter
	wait := func() error {
		if sent == nil {
			return nil
		}
		sent = nil
		return <-inflight
	}
	t.writers[0].reset(0)
	t.writers[1].reset(0)
	w := &t.writers[0]
	send := func() error {
		if w.n == 0 {
			return nil
		}
		if err := w.finish(t.comp, t.prod, ts); err != nil {
			return err
		}
		if err := wait(); err != nil {
			return err
		}
		sent = w
		go func(w *batchWriter) { inflight <- t.send(ctx, cl, l, w.part, w.out) }(w)
		// Build the next batch in the other writer.
		if w == &t.writers[0] {
			w = &t.writers[1]
		} else {
			w = &t.writers[0]
		}
		return nil
	}
	part := int32(-1)
	for i := range recs {
		r := &recs[i]
		p := int32(0)
		if order != nil {
			r = &recs[order[i]]
			p = parts[order[i]]
		}
		if p != part || w.full(r.Key, r.Value) {
			if err := send(); err != nil {
				wait()
				return err
			}
			w.reset(p)
			part = p
		}
		w.add(r.Key, r.Value)
	}
	if err := send(); err != nil {
		wait()
		return err
	}
	return wait()
}

// send produces a batch to partition part's leader.
func (t *kafkaTarget) send(ctx context.Context, cl *kgo.Client, l *topicLayout, part int32, batch []byte) error {
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID = &t.txid
	req.Acks = -1
	req.TimeoutMillis = int32(t.timeout / time.Millisecond)
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = t.topic, l.id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = part, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(int(l.leaders[part])))
	if err != nil {
		return err
	}
	return partitionsError(resp.Topics, func(t kmsg.ProduceResponseTopic) []kmsg.ProduceResponseTopicPartition { return t.Partitions },
		func(p kmsg.ProduceResponseTopicPartition) (int32, int16) { return p.Partition, p.ErrorCode },
		"produce to partition %d")
}

// endTxn commits (or aborts) the open transaction.
func (t *kafkaTarget) endTxn(ctx context.Context, cl *kgo.Client, commit bool) error {
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = t.txid, t.prod.id, t.prod.epoch, commit
	return retryCoordinator(ctx, func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
}
