package kafka

// The sink log as record batches.
//
// The Kafka target packs the sink's log (stream.SinkLogPacker): each part
// of an epoch's log is stored as the record batches it will be sent as,
// compressed with the sink's codec when the epoch is logged, the
// producer, sequence, timestamps and CRC left for the delivery. A
// delivery to a topic of one partition stamps them (stampBatch) and sends
// them as they are: the records are framed and compressed once, where
// they used to be compressed for the log (S2), read back and compressed
// again by the producer. A topic of several partitions has the records
// of a part spread over its partitions: those deliveries unpack the
// batches and build the partitions' batches from the records (produce).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/exec/stream"
)

// batchPacker is the writer's side of the packing: its state is apart
// from the delivery's, which runs on the drainer's goroutine.
type batchPacker struct {
	comp kgo.Compressor
	recs []stream.SinkRecord
	w    batchWriter
}

// PackSinkLog implements stream.SinkLogPacker: part's records as record
// batches of about batchMax bytes each, appended to dst.
func (t *kafkaTarget) PackSinkLog(dst, part []byte) ([]byte, error) {
	pk := t.packer
	if pk == nil {
		comp, err := kgo.DefaultCompressor(t.codec)
		if err != nil {
			return nil, err
		}
		pk = &batchPacker{comp: comp}
		t.packer = pk
	}
	var err error
	if pk.recs, err = stream.DecodeSinkRecords(pk.recs[:0], part); err != nil {
		return nil, err
	}
	w := &pk.w
	w.reset(0)
	for i := range pk.recs {
		if w.full(pk.recs[i].Key, pk.recs[i].Value) {
			if dst, err = w.appendBatch(dst, pk.comp); err != nil {
				return nil, err
			}
			w.reset(0)
		}
		w.add(pk.recs[i].Key, pk.recs[i].Value)
	}
	clear(pk.recs)
	if w.n > 0 {
		return w.appendBatch(dst, pk.comp)
	}
	return dst, nil
}

// UnpackSinkLog implements stream.SinkLogPacker: the records of packed
// record batches, in the sink log's layout, appended to dst.
func (t *kafkaTarget) UnpackSinkLog(dst, packed []byte) ([]byte, error) {
	for len(packed) > 0 {
		batch, rest, err := nextBatch(packed)
		if err != nil {
			return nil, err
		}
		packed = rest
		codec := kgo.CompressionCodecType(binary.BigEndian.Uint16(batch[21:23]) & 7)
		n := int(binary.BigEndian.Uint32(batch[57:61]))
		body := batch[batchHeader:]
		if codec != kgo.CodecNone {
			if body, err = decompressor.Decompress(body, codec); err != nil {
				return nil, fmt.Errorf("kafka sink: sink log batch: %w", err)
			}
		}
		for ; n > 0; n-- {
			var key, value []byte
			if body, key, value, err = nextRecord(body); err != nil {
				return nil, err
			}
			dst = stream.AppendSinkRecord(dst, key, value, key != nil, value != nil)
		}
	}
	return dst, nil
}

// decompressor reads the batches of a packed sink log.
var decompressor = kgo.DefaultDecompressor()

var errCorruptRecord = errors.New("kafka sink: corrupt record in the sink log")

// nextRecord reads the first record of b (as batchWriter.add writes it).
func nextRecord(b []byte) (rest, key, value []byte, err error) {
	size, k := binary.Varint(b)
	if k <= 0 || size < 0 || int64(len(b)-k) < size {
		return nil, nil, nil, errCorruptRecord
	}
	rec, rest := b[k:k+int(size)], b[k+int(size):]
	if len(rec) < 1 {
		return nil, nil, nil, errCorruptRecord
	}
	rec = rec[1:] // attributes
	for range 2 { // timestamp delta, offset delta
		if _, k = binary.Varint(rec); k <= 0 {
			return nil, nil, nil, errCorruptRecord
		}
		rec = rec[k:]
	}
	var parts [2][]byte
	for i := range parts {
		l, k := binary.Varint(rec)
		if k <= 0 || int64(len(rec)-k) < l {
			return nil, nil, nil, errCorruptRecord
		}
		rec = rec[k:]
		if l >= 0 {
			parts[i] = rec[:l:l]
			rec = rec[l:]
		}
	}
	return rest, parts[0], parts[1], nil
}

// DeliverPacked implements stream.SinkLogPacker: Deliver of packed
// parts, sent as they are to a topic of one partition.
func (t *kafkaTarget) DeliverPacked(ctx context.Context, upTo uint64, parts [][]byte) error {
	return t.transaction(ctx, upTo, func(ctx context.Context, cl *kgo.Client) error {
		return t.deliverPacked(ctx, cl, upTo, parts)
	})
}

func (t *kafkaTarget) deliverPacked(ctx context.Context, cl *kgo.Client, upTo uint64, parts [][]byte) error {
	if t.prod == nil {
		return errors.New("no producer: the target was not recovered")
	}
	l, err := t.layout(ctx, cl)
	if err != nil {
		return err
	}
	if len(l.leaders) > 1 {
		buf := t.unpacked[:0]
		for _, p := range parts {
			if buf, err = t.UnpackSinkLog(buf, p); err != nil {
				return err
			}
		}
		t.unpacked = buf
		if t.unpackedRecs, err = stream.DecodeSinkRecords(t.unpackedRecs[:0], buf); err != nil {
			return err
		}
		defer clear(t.unpackedRecs)
		return t.deliver(ctx, cl, upTo, t.unpackedRecs)
	}
	if err := t.addPartitions(ctx, cl, []bool{true}); err != nil {
		return err
	}
	ts := time.Now().UnixMilli()
	for _, p := range parts {
		for len(p) > 0 {
			batch, rest, err := nextBatch(p)
			if err != nil {
				return err
			}
			p = rest
			stampBatch(batch, t.prod, 0, ts)
			if err := t.send(ctx, cl, l, 0, batch); err != nil {
				return err
			}
		}
	}
	if err := t.commitProgress(ctx, cl, upTo); err != nil {
		return err
	}
	return t.endTxn(ctx, cl, true)
}
