package kafka

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/exec/stream"
	"streamsql/format"
	"streamsql/sql/sqlerr"
)

// A reader fetches its partitions' records with franz-go's kgo client
// (consuming partitions directly at explicit offsets: no group, nothing
// committed to Kafka), which hands over whole fetches at once; sarama's
// per-record partition consumers cost three times as much CPU per record
// (docs/decisions/kafka-client.md). Metadata, start offsets and the
// partition list go through the runtime's kadm client (source.go).

// NewReader opens a reader with its own connection.
func (r *runtime) NewReader(instance int) (stream.SplitReader, error) {
	opts, err := kgoOptions(r.spec.opts, r.spec.brokers)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.WithPools(&r.records))...)
	if err != nil {
		return nil, sqlerr.New(sqlerr.UnableToConnect, "kafka source %s: %v", r.spec.relation, err)
	}
	dec, err := format.NewDecoder(r.spec.fmt, r.spec.schema)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &reader{rt: r, instance: instance, cl: cl, dec: dec, batch: format.NewBatch(r.spec.schema),
		next: map[int32]int64{}, hw: map[int32]int64{}}, nil
}

// reader consumes the partitions assigned to one instance.
type reader struct {
	rt       *runtime
	instance int
	cl       *kgo.Client
	dec      format.Decoder
	batch    *format.Batch

	// left holds polled records that did not fit into the last chunk.
	left []*kgo.Record
	// held are records read but not decoded: those after a DDL event the
	// decoder stopped at (auto.schema.change). halted: the reader passed
	// on a DDL event and decodes nothing more, since what follows needs
	// the changed table; it is opened again over the new definition.
	held   []*kgo.Record
	halted bool
	buf    []*kgo.Record
	fmsgs  []format.Message

	mu   sync.Mutex
	next map[int32]int64 // the next offset per partition: the position
	hw   map[int32]int64 // high watermarks seen in fetches
	lagT time.Time
}

// Assign starts consuming the partitions, each from its position or,
// for a partition without one, from where scan.startup.mode says; the
// returned positions are concrete offsets, so a restart before the first
// record still starts where this run did.
func (r *reader) Assign(splits []stream.Split) ([]stream.Split, error) {
	var out []stream.Split
	add := map[int32]kgo.Offset{}
	for _, sp := range splits {
		p64, err := strconv.ParseInt(sp.ID, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("kafka: bad partition %q", sp.ID)
		}
		p := int32(p64)
		var off int64
		if sp.Pos != nil {
			if len(sp.Pos) != 8 {
				return nil, sqlerr.New(sqlerr.DataCorrupted, "kafka: corrupt position of partition %d: %x", p, sp.Pos)
			}
			off = int64(binary.BigEndian.Uint64(sp.Pos))
		} else if off, err = r.rt.startOffset(p); err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.next[p] = off
		r.mu.Unlock()
		add[p] = kgo.NewOffset().At(off)
		out = append(out, stream.Split{ID: sp.ID, Pos: binary.BigEndian.AppendUint64(nil, uint64(off))})
	}
	if len(add) > 0 {
		r.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{r.rt.spec.topic: add})
	}
	return out, nil
}

// Next waits for records and decodes those at hand, up to
// max.batch.rows, into one chunk.
func (r *reader) Next(ctx context.Context) (stream.Batch, error) {
	if r.halted {
		<-ctx.Done()
		return stream.Batch{}, ctx.Err()
	}
	max := r.rt.spec.maxBatch
	buf := append(r.buf[:0], r.held...)
	r.held = r.held[:0]
	take := func(recs []*kgo.Record) {
		if room := max - len(buf); len(recs) > room {
			buf, r.left = append(buf, recs[:room]...), append(r.left[:0], recs[room:]...)
		} else {
			buf = append(buf, recs...)
		}
	}
	if len(r.left) > 0 {
		left := slices.Clone(r.left)
		r.left = r.left[:0]
		take(left)
	}
	for len(buf) == 0 {
		// A bounded wait, so that lag is reported while nothing arrives.
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := r.cl.PollRecords(pctx, max)
		cancel()
		if err := ctx.Err(); err != nil {
			return stream.Batch{}, err
		}
		if fs.IsClientClosed() {
			return stream.Batch{}, fmt.Errorf("kafka source %s: client closed", r.rt.spec.relation)
		}
		if err := r.fetchErrors(fs); err != nil {
			return stream.Batch{}, err
		}
		r.noteHighWatermarks(fs)
		take(fs.Records())
		if len(buf) == 0 {
			r.reportLag()
		}
	}
	// Each partition's records stay in order; grouping them makes the
	// chunk's rows runs of one partition each, which the per-partition
	// watermarks need.
	if !groupedByPartition(buf) {
		slices.SortStableFunc(buf, func(a, b *kgo.Record) int { return cmp.Compare(a.Partition, b.Partition) })
	}
	r.buf = buf
	fm := r.fmsgs[:0]
	for _, m := range buf {
		x := format.Message{Key: m.Key, Value: m.Value, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp}
		for _, h := range m.Headers {
			x.Headers = append(x.Headers, format.Header{Key: h.Key, Value: h.Value})
		}
		fm = append(fm, x)
	}
	r.fmsgs = fm
	if err := r.prefetch(ctx, fm); err != nil {
		return stream.Batch{}, err
	}
	r.batch.Reset()
	r.batch.Reserve(len(fm))
	var b stream.Batch
	used := buf
	for lo := 0; lo < len(fm); {
		hi := lo + 1
		for hi < len(fm) && fm[hi].Partition == fm[lo].Partition {
			hi++
		}
		n, nChanges := r.batch.Len(), len(r.batch.SchemaChanges)
		r.dec.DecodeBatch(fm[lo:hi], r.batch)
		b.Splits = append(b.Splits, stream.SplitRows{ID: strconv.Itoa(int(fm[lo].Partition)), N: r.batch.Len() - n})
		if r.batch.Stopped {
			// A DDL event to apply (auto.schema.change) travels alone: the
			// rows before it go now, it and what follows wait for the
			// next call, where it comes first.
			consumed := lo + r.batch.Consumed
			if lo > 0 && len(r.batch.SchemaChanges) > nChanges {
				r.batch.SchemaChanges = r.batch.SchemaChanges[:nChanges]
				consumed = lo
			}
			used = buf[:consumed]
			r.held = append(r.held, buf[consumed:]...)
			break
		}
		lo = hi
	}
	if r.batch.Len() > 0 {
		cols, ops := r.batch.Finish()
		sops := make([]stream.Op, len(ops))
		for i, op := range ops {
			sops[i] = stream.Op(op)
		}
		b.Chunk = stream.NewChunk(cols, sops)
	}
	if r.batch.Stopped {
		for _, sc := range r.batch.SchemaChanges {
			b.SchemaChanges = append(b.SchemaChanges, stream.SchemaChange{Kind: sc.Kind.String(), Column: sc.Column, NewName: sc.NewName,
				Type: sc.Type, Default: sc.Default, HasDefault: sc.HasDefault, SQL: sc.SQL, Split: strconv.Itoa(int(sc.Partition)), Offset: sc.Offset})
		}
		r.halted = len(b.SchemaChanges) > 0
	}
	// Without auto.schema.change upstream DDL is not applied to the
	// table: each schema change is kept as a reject, so it is not lost
	// silently.
	for _, sc := range r.batch.SchemaChanges {
		if r.batch.Stopped {
			break
		}
		b.Rejects = append(b.Rejects, stream.Reject{Relation: r.rt.spec.relation, Split: strconv.Itoa(int(sc.Partition)),
			Offset: sc.Offset, Raw: []byte(sc.SQL), Error: "0A000: upstream schema change not applied: " + sc.String(), Time: time.Now().UTC()})
	}
	for _, rj := range r.batch.Rejects {
		b.Rejects = append(b.Rejects, stream.Reject{Relation: r.rt.spec.relation, Split: strconv.Itoa(int(rj.Partition)),
			Offset: rj.Offset, Raw: rj.Raw, Error: rejectText(rj.Err), Time: time.Now().UTC()})
	}
	// used is in runs of one partition each, in offset order: the last
	// record of a run is that partition's position.
	r.mu.Lock()
	for i, m := range used {
		if i+1 == len(used) || used[i+1].Partition != m.Partition {
			r.next[m.Partition] = m.Offset + 1
		}
	}
	r.mu.Unlock()
	// The chunk holds copies of what it needs of the decoded records
	// (rejects copy their bytes too): their memory goes back to kgo.
	for _, m := range used {
		m.Recycle()
	}
	clear(buf)
	clear(fm)
	if time.Since(r.lagT) > 100*time.Millisecond {
		r.reportLag()
	}
	return b, nil
}

// prefetch has a decoder that looks schemas up remotely (Avro, from the
// schema registry) fetch those the records name before decoding them. An
// unreachable registry is waited for, not a reason to reject the records:
// the reader retries every second until it answers or the job stops.
func (r *reader) prefetch(ctx context.Context, fm []format.Message) error {
	pf, ok := r.dec.(format.Prefetcher)
	if !ok {
		return nil
	}
	for {
		err := pf.Prefetch(ctx, fm)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.rt.log.Warn("kafka source: schema registry unavailable, retrying", "source", r.rt.spec.relation, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// fetchErrors turns a fetch's errors into the job's error where reading
// on would lose records (offset out of range: the broker deleted records
// not yet read) or cannot succeed (authorization, TLS); transient errors
// are logged and retried by the client.
func (r *reader) fetchErrors(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		switch {
		case errors.Is(err, kerr.OffsetOutOfRange), kgoFatal(err):
			if fatal == nil {
				fatal = fmt.Errorf("kafka source %s: partition %d: %w", r.rt.spec.relation, p, err)
			}
		default:
			r.rt.log.Warn("kafka fetch", "source", r.rt.spec.relation, "partition", p, "err", err)
		}
	})
	return fatal
}

// kgoFatal tells errors that retrying does not cure: a broker's
// non-retriable error code, a certificate the CA did not sign.
func kgoFatal(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return !ke.Retriable
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	return errors.As(err, &cv) || errors.As(err, &ua)
}

// noteHighWatermarks keeps each partition's high watermark for lag.
func (r *reader) noteHighWatermarks(fs kgo.Fetches) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.HighWatermark >= 0 {
			r.hw[p.Partition] = p.HighWatermark
		}
	})
}

// groupedByPartition tells whether each partition's records in buf are
// consecutive.
func groupedByPartition(buf []*kgo.Record) bool {
	var seen [8]int32
	k := 0
	for i, m := range buf {
		if i > 0 && m.Partition == buf[i-1].Partition {
			continue
		}
		for _, p := range seen[:min(k, len(seen))] {
			if p == m.Partition {
				return false
			}
		}
		if k >= len(seen) {
			return false // many runs: let the sort decide
		}
		seen[k] = m.Partition
		k++
	}
	return true
}

// reportLag records each partition's lag: its high watermark minus the
// next offset to read.
func (r *reader) reportLag() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lagT = time.Now()
	for p, hw := range r.hw {
		if hw <= 0 {
			continue
		}
		r.rt.stats.SetLag(r.rt.spec.relation+"/"+strconv.Itoa(int(p)), max(hw-r.next[p], 0))
	}
}

// Positions returns each partition's next offset.
func (r *reader) Positions() []stream.Split {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]stream.Split, 0, len(r.next))
	for p, off := range r.next {
		out = append(out, stream.Split{ID: strconv.Itoa(int(p)), Pos: binary.BigEndian.AppendUint64(nil, uint64(off))})
	}
	return out
}

// Close stops fetching and closes the connections.
func (r *reader) Close() error {
	r.cl.Close()
	return nil
}
