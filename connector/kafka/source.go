package kafka

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"streamsql/connector"
	"streamsql/exec/stream"
	"streamsql/format"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Spec is a validated Kafka source.
type Spec struct {
	relation      string
	relationID    uint32
	opts          connector.Options
	topic         string
	brokers       []string
	startup       string
	startupMillis int64
	discover      time.Duration
	maxBatch      int
	idle          time.Duration
	parallelism   int
	watermarks    []stream.SourceWatermark
	fmt           format.Spec
	schema        format.Schema
	ts            []types.T
}

var _ stream.SplitWatermarker = (*Spec)(nil)

// includeMeta maps INCLUDE kinds to format's metadata columns.
var includeMeta = map[string]format.Meta{
	"partition": format.MetaPartition, "offset": format.MetaOffset, "timestamp": format.MetaTimestamp,
	"key": format.MetaKey, "header": format.MetaHeader,
}

// newSpec checks a source's options, format and columns.
func newSpec(cfg *connector.SourceConfig) (stream.SourceSpec, error) {
	s := &Spec{relation: cfg.Relation, relationID: cfg.RelationID, opts: cfg.Options, topic: cfg.Options.Get(optTopic),
		brokers: brokers(cfg.Options.Get(optBootstrap)), startup: strings.ToLower(cfg.Options.Get(optStartupMode)),
		parallelism: max(cfg.Parallelism, 1), ts: cfg.Types()}
	if strings.TrimSpace(s.topic) == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q must not be empty", optTopic)
	}
	if s.startup == "timestamp" {
		if !cfg.Options.Has(optStartupMillis) {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q is needed with %s = 'timestamp'", optStartupMillis, optStartupMode)
		}
		s.startupMillis, _ = strconv.ParseInt(strings.TrimSpace(cfg.Options.Get(optStartupMillis)), 10, 64)
	} else if cfg.Options.Has(optStartupMillis) {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q applies only with %s = 'timestamp'", optStartupMillis, optStartupMode)
	}
	s.discover, _ = connector.ParseDuration(cfg.Options.Get(optDiscovery))
	if s.discover <= 0 {
		s.discover = 10 * time.Second
	}
	if cfg.Options.Has(optIdleTimeout) {
		s.idle, _ = connector.ParseDuration(cfg.Options.Get(optIdleTimeout))
		if s.idle <= 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q must be a positive duration, got %q", optIdleTimeout, cfg.Options.Get(optIdleTimeout))
		}
	}
	s.maxBatch, _ = strconv.Atoi(strings.TrimSpace(cfg.Options.Get(optMaxBatch)))
	if _, err := saramaConfig(cfg.Options); err != nil {
		return nil, err
	}
	s.fmt = format.Spec{Format: cfg.Format, Encode: cfg.Encode, Options: cfg.EncodeOptions}
	meta := map[string]connector.Include{}
	for _, inc := range cfg.Includes {
		meta[inc.Column] = inc
	}
	for _, c := range cfg.Columns {
		col := format.Column{Name: c.Name, Type: c.Type}
		if inc, ok := meta[c.Name]; ok {
			col.Meta, col.Header = includeMeta[inc.What], inc.Header
		}
		s.schema.Columns = append(s.schema.Columns, col)
	}
	s.schema.PrimaryKey = cfg.PrimaryKey
	if _, err := format.NewDecoder(s.fmt, s.schema); err != nil {
		return nil, err
	}
	return s, nil
}

// Explain describes the source for EXPLAIN.
func (s *Spec) Explain() string {
	return fmt.Sprintf("Kafka topic=%s %s startup=%s", s.topic, s.fmt, s.startup)
}

// WithSplitWatermarks returns the spec with its watermarks generated per
// partition.
func (s *Spec) WithSplitWatermarks(ws []stream.SourceWatermark) stream.SourceSpec {
	c := *s
	c.watermarks = ws
	return &c
}

// Open returns the source positioned at pos (nil: where
// scan.startup.mode says).
func (s *Spec) Open(b *stream.BuildCtx, pos []byte) (stream.Source, error) {
	rt := &runtime{spec: s, log: slog.Default()}
	if b != nil && b.Env != nil {
		rt.stats = b.Env.Stats
	}
	if rt.stats == nil {
		rt.stats = &stream.Stats{}
	}
	opts := stream.DriverOptions{Parallelism: s.parallelism, Discover: s.discover,
		OnError: func(err error) {
			rt.log.Warn("kafka partition discovery failed", "source", s.relation, "topic", s.topic, "err", err)
		},
		Watermarks: s.watermarks, IdleTimeout: s.idle,
	}
	if b != nil && b.Env != nil {
		opts.ExprCtx = b.Env.Ctx
	}
	return stream.DriveSource(rt, opts, pos)
}

// runtime is an opened source: the metadata client the driver lists
// partitions with, and the readers' shared settings.
type runtime struct {
	spec  *Spec
	log   *slog.Logger
	stats *stream.Stats

	mu     sync.Mutex
	client sarama.Client
}

func (r *runtime) Types() []types.T { return r.spec.ts }

// newClient connects to the brokers.
func (r *runtime) newClient() (sarama.Client, error) {
	cfg, err := saramaConfig(r.spec.opts)
	if err != nil {
		return nil, err
	}
	c, err := sarama.NewClient(r.spec.brokers, cfg)
	if err != nil {
		e := &sqlerr.Error{Code: sqlerr.UnableToConnect, Cause: err,
			Message: fmt.Sprintf("kafka source %s: could not connect to %s: %v", r.spec.relation, strings.Join(r.spec.brokers, ","), err)}
		var uae x509.UnknownAuthorityError
		var hne x509.HostnameError
		switch {
		case errors.As(err, &uae):
			e.Hint = fmt.Sprintf("The broker's certificate is not signed by a CA in %s.", optSSLCA)
		case errors.As(err, &hne):
			e.Hint = fmt.Sprintf("The broker's certificate does not name the address connected to; %s = 'none' skips this check.", optSSLSkipVerify)
		}
		return nil, e
	}
	return c, nil
}

// Splits lists the topic's partitions.
func (r *runtime) Splits(ctx context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		c, err := r.newClient()
		if err != nil {
			return nil, err
		}
		r.client = c
	}
	if err := r.client.RefreshMetadata(r.spec.topic); err != nil {
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "kafka topic %q does not exist", r.spec.topic)
		}
		return nil, fmt.Errorf("kafka source %s: metadata of topic %s: %w", r.spec.relation, r.spec.topic, err)
	}
	ps, err := r.client.Partitions(r.spec.topic)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: partitions of topic %s: %w", r.spec.relation, r.spec.topic, err)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = strconv.Itoa(int(p))
	}
	return ids, nil
}

// Close closes the metadata client.
func (r *runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		err := r.client.Close()
		r.client = nil
		return err
	}
	return nil
}

// NewReader opens a reader with its own connection.
func (r *runtime) NewReader(instance int) (stream.SplitReader, error) {
	c, err := r.newClient()
	if err != nil {
		return nil, err
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	dec, err := format.NewDecoder(r.spec.fmt, r.spec.schema)
	if err != nil {
		cons.Close()
		c.Close()
		return nil, err
	}
	rd := &reader{rt: r, instance: instance, client: c, consumer: cons, dec: dec, batch: format.NewBatch(r.spec.schema),
		msgs: make(chan []*sarama.ConsumerMessage, 16), stop: make(chan struct{}), next: map[int32]int64{}}
	return rd, nil
}

// reader consumes the partitions assigned to one instance.
type reader struct {
	rt       *runtime
	instance int
	client   sarama.Client
	consumer sarama.Consumer
	dec      format.Decoder
	batch    *format.Batch

	// msgs merges the partition consumers' records, in runs of one
	// partition's consecutive records; left is the rest of a run that did
	// not fit into the last chunk.
	msgs chan []*sarama.ConsumerMessage
	left []*sarama.ConsumerMessage
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	pcs   map[int32]sarama.PartitionConsumer
	next  map[int32]int64 // the next offset per partition: the position
	err   error           // a partition consumer's fatal error
	buf   []*sarama.ConsumerMessage
	fmsgs []format.Message
}

// Assign starts consuming the partitions, each from its position or,
// for a partition without one, from where scan.startup.mode says; the
// returned positions are concrete offsets, so a restart before the first
// record still starts where this run did.
func (r *reader) Assign(splits []stream.Split) ([]stream.Split, error) {
	var out []stream.Split
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
		} else if off, err = r.startOffset(p); err != nil {
			return nil, err
		}
		pc, err := r.consumer.ConsumePartition(r.rt.spec.topic, p, off)
		if err != nil {
			return nil, fmt.Errorf("kafka source %s: consume partition %d of %s at offset %d: %w", r.rt.spec.relation, p, r.rt.spec.topic, off, err)
		}
		r.mu.Lock()
		if r.pcs == nil {
			r.pcs = map[int32]sarama.PartitionConsumer{}
		}
		r.pcs[p] = pc
		r.next[p] = off
		r.mu.Unlock()
		r.wg.Add(2)
		go r.forward(pc)
		go r.errors(p, pc)
		out = append(out, stream.Split{ID: sp.ID, Pos: binary.BigEndian.AppendUint64(nil, uint64(off))})
	}
	return out, nil
}

// startOffset resolves scan.startup.mode for partition p.
func (r *reader) startOffset(p int32) (int64, error) {
	s := r.rt.spec
	var at int64
	switch s.startup {
	case "latest":
		at = sarama.OffsetNewest
	case "timestamp":
		at = s.startupMillis
	default:
		at = sarama.OffsetOldest
	}
	off, err := r.client.GetOffset(s.topic, p, at)
	if err != nil {
		return 0, fmt.Errorf("kafka source %s: start offset of partition %d: %w", s.relation, p, err)
	}
	if off < 0 { // no record at or after the timestamp: the end
		if off, err = r.client.GetOffset(s.topic, p, sarama.OffsetNewest); err != nil {
			return 0, err
		}
	}
	return off, nil
}

// forwardRun is the most records forward sends at once.
const forwardRun = 1024

// forward moves a partition's records into the reader's channel, those
// at hand together: one channel operation per run, not per record.
func (r *reader) forward(pc sarama.PartitionConsumer) {
	defer r.wg.Done()
	in := pc.Messages()
	for m := range in {
		run := make([]*sarama.ConsumerMessage, 1, min(r.rt.spec.maxBatch, forwardRun))
		run[0] = m
	more:
		for len(run) < cap(run) {
			select {
			case m, ok := <-in:
				if !ok {
					break more
				}
				run = append(run, m)
			default:
				break more
			}
		}
		select {
		case r.msgs <- run:
		case <-r.stop:
			return
		}
	}
}

// errors logs a partition consumer's errors; offset out of range (the
// records were deleted by retention) stops the job, since continuing
// would silently skip records.
func (r *reader) errors(p int32, pc sarama.PartitionConsumer) {
	defer r.wg.Done()
	for e := range pc.Errors() {
		if errors.Is(e.Err, sarama.ErrOffsetOutOfRange) {
			r.mu.Lock()
			if r.err == nil {
				r.err = fmt.Errorf("kafka source %s: partition %d: %w", r.rt.spec.relation, p, e.Err)
			}
			r.mu.Unlock()
			continue
		}
		r.rt.log.Warn("kafka partition consumer", "source", r.rt.spec.relation, "partition", p, "err", e.Err)
	}
}

// Next waits for records and decodes those at hand, up to
// max.batch.rows, into one chunk.
func (r *reader) Next(ctx context.Context) (stream.Batch, error) {
	buf := r.buf[:0]
	take := func(run []*sarama.ConsumerMessage) {
		if room := r.rt.spec.maxBatch - len(buf); len(run) > room {
			buf, r.left = append(buf, run[:room]...), run[room:]
		} else {
			buf = append(buf, run...)
		}
	}
	if left := r.left; len(left) > 0 {
		r.left = nil
		take(left)
	}
	var tick *time.Ticker
	for len(buf) == 0 {
		if tick == nil {
			tick = time.NewTicker(time.Second)
			defer tick.Stop()
		}
		select {
		case run := <-r.msgs:
			take(run)
		case <-ctx.Done():
			return stream.Batch{}, ctx.Err()
		case <-tick.C:
			r.mu.Lock()
			err := r.err
			r.mu.Unlock()
			if err != nil {
				return stream.Batch{}, err
			}
			r.reportLag()
		}
	}
more:
	for len(buf) < r.rt.spec.maxBatch && len(r.left) == 0 {
		select {
		case run := <-r.msgs:
			take(run)
		default:
			break more
		}
	}
	// Each partition's records stay in order; grouping them makes the
	// chunk's rows runs of one partition each, which the per-partition
	// watermarks need.
	if !groupedByPartition(buf) {
		slices.SortStableFunc(buf, func(a, b *sarama.ConsumerMessage) int { return cmp.Compare(a.Partition, b.Partition) })
	}
	r.buf = buf
	fm := r.fmsgs[:0]
	for _, m := range buf {
		x := format.Message{Key: m.Key, Value: m.Value, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp}
		for _, h := range m.Headers {
			x.Headers = append(x.Headers, format.Header{Key: string(h.Key), Value: h.Value})
		}
		fm = append(fm, x)
	}
	r.fmsgs = fm
	r.batch.Reset()
	var b stream.Batch
	for lo := 0; lo < len(fm); {
		hi := lo + 1
		for hi < len(fm) && fm[hi].Partition == fm[lo].Partition {
			hi++
		}
		n := r.batch.Len()
		r.dec.DecodeBatch(fm[lo:hi], r.batch)
		b.Splits = append(b.Splits, stream.SplitRows{ID: strconv.Itoa(int(fm[lo].Partition)), N: r.batch.Len() - n})
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
	// Upstream DDL is not applied to the relation (yet): each schema
	// change is kept as a reject, so it is not lost silently.
	for _, sc := range r.batch.SchemaChanges {
		b.Rejects = append(b.Rejects, stream.Reject{Relation: r.rt.spec.relation, Split: strconv.Itoa(int(sc.Partition)),
			Offset: sc.Offset, Raw: []byte(sc.SQL), Error: "0A000: upstream schema change not applied: " + sc.String(), Time: time.Now().UTC()})
	}
	for _, rj := range r.batch.Rejects {
		b.Rejects = append(b.Rejects, stream.Reject{Relation: r.rt.spec.relation, Split: strconv.Itoa(int(rj.Partition)),
			Offset: rj.Offset, Raw: rj.Raw, Error: rejectText(rj.Err), Time: time.Now().UTC()})
	}
	r.mu.Lock()
	for _, m := range buf {
		r.next[m.Partition] = m.Offset + 1
	}
	r.mu.Unlock()
	for i := range buf {
		buf[i] = nil
	}
	r.reportLag()
	return b, nil
}

// groupedByPartition tells whether each partition's records in buf are
// consecutive.
func groupedByPartition(buf []*sarama.ConsumerMessage) bool {
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
	for p, pc := range r.pcs {
		hw := pc.HighWaterMarkOffset()
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

// Close stops the partition consumers and the connection.
func (r *reader) Close() error {
	close(r.stop)
	r.mu.Lock()
	pcs := r.pcs
	r.mu.Unlock()
	for _, pc := range pcs {
		pc.AsyncClose()
	}
	r.wg.Wait()
	err := r.consumer.Close()
	if e := r.client.Close(); err == nil {
		err = e
	}
	return err
}

// rejectText is a reject's error with its SQLSTATE.
func rejectText(err error) string {
	if e, ok := err.(*sqlerr.Error); ok && e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return err.Error()
}

// Offsets reads a Kafka source's position (as a job's progress reports
// it): the next offset of each partition.
func Offsets(pos []byte) (map[int32]int64, error) {
	splits, err := stream.SplitPositions(pos)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64, len(splits))
	for _, s := range splits {
		p, err := strconv.ParseInt(s.ID, 10, 32)
		if err != nil || len(s.Pos) != 8 {
			return nil, fmt.Errorf("kafka: not a partition position: %q %x", s.ID, s.Pos)
		}
		out[int32(p)] = int64(binary.BigEndian.Uint64(s.Pos))
	}
	return out, nil
}
