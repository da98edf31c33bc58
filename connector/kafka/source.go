package kafka

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

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
	if _, err := kgoOptions(cfg.Options, s.brokers); err != nil {
		return nil, err
	}
	// The registry subject of the values by the default (topic name)
	// strategy: its latest schema is the reader schema of ENCODE AVRO.
	s.fmt = format.Spec{Format: cfg.Format, Encode: cfg.Encode, Options: cfg.EncodeOptions, Subject: s.topic + "-value"}
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
// partitions and resolves start offsets with, and the readers' shared
// settings. The metadata client is a kgo client (no partitions consumed)
// under franz-go's admin API, kadm: the same library, options and
// connection code as the readers.
type runtime struct {
	spec  *Spec
	log   *slog.Logger
	stats *stream.Stats

	mu  sync.Mutex
	cl  *kgo.Client
	adm *kadm.Client

	// records is the readers' pool of record slices.
	records recordPool
}

func (r *runtime) Types() []types.T { return r.spec.ts }

// metadataTimeout bounds one metadata or offset request, connecting
// included.
const metadataTimeout = 30 * time.Second

// admin returns the metadata client, connecting on first use. Caller
// holds r.mu.
func (r *runtime) admin(ctx context.Context) (*kadm.Client, error) {
	if r.adm != nil {
		return r.adm, nil
	}
	opts, err := kgoOptions(r.spec.opts, r.spec.brokers)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, sqlerr.New(sqlerr.UnableToConnect, "kafka source %s: %v", r.spec.relation, err)
	}
	// kgo connects lazily: ping once so that an unreachable broker, a
	// refused certificate or failed SASL is reported as such, now.
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, r.connectError(err)
	}
	r.cl, r.adm = cl, kadm.NewClient(cl)
	return r.adm, nil
}

// connectError is the 08001 error of a failed connection, with a hint
// for the certificate errors users meet most.
func (r *runtime) connectError(err error) error {
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
	return e
}

// Splits lists the topic's partitions.
func (r *runtime) Splits(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	adm, err := r.admin(ctx)
	if err != nil {
		return nil, err
	}
	md, err := adm.Metadata(ctx, r.spec.topic)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: metadata of topic %s: %w", r.spec.relation, r.spec.topic, err)
	}
	td, ok := md.Topics[r.spec.topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "kafka topic %q does not exist", r.spec.topic)
	}
	if td.Err != nil {
		return nil, fmt.Errorf("kafka source %s: metadata of topic %s: %w", r.spec.relation, r.spec.topic, td.Err)
	}
	ps := td.Partitions.Numbers()
	slices.Sort(ps)
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = strconv.Itoa(int(p))
	}
	return ids, nil
}

// startOffset resolves scan.startup.mode for partition p: its log start
// (earliest), its end (latest), or the first record at or after
// scan.startup.timestamp.millis (the end when there is none).
func (r *runtime) startOffset(p int32) (int64, error) {
	s := r.spec
	ctx, cancel := context.WithTimeout(context.Background(), metadataTimeout)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	adm, err := r.admin(ctx)
	if err != nil {
		return 0, err
	}
	var lo kadm.ListedOffsets
	switch s.startup {
	case "latest":
		lo, err = adm.ListEndOffsets(ctx, s.topic)
	case "timestamp":
		lo, err = adm.ListOffsetsAfterMilli(ctx, s.startupMillis, s.topic)
	default:
		lo, err = adm.ListStartOffsets(ctx, s.topic)
	}
	if err == nil {
		if o, ok := lo.Lookup(s.topic, p); !ok {
			err = kerr.UnknownTopicOrPartition
		} else if err = o.Err; err == nil && o.Offset >= 0 {
			return o.Offset, nil
		} else if err == nil {
			err = fmt.Errorf("no offset listed")
		}
	}
	return 0, fmt.Errorf("kafka source %s: start offset of partition %d: %w", s.relation, p, err)
}

// Close closes the metadata client.
func (r *runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cl != nil {
		r.cl.Close()
		r.cl, r.adm = nil, nil
	}
	return nil
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
