package postgrescdc

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"streamsql/connector"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Spec is a validated postgres-cdc source.
type Spec struct {
	relation    string
	opts        connector.Options
	host        string
	port        int
	user        string
	password    string
	database    string
	schema      string
	table       string
	slot        string
	publication string
	// slotGiven: slot.name was set; the slot is the user's, never dropped.
	slotGiven bool
	createPub bool
	sslMode   string
	maxBatch  int
	cols      []connector.Column
	ts        []types.T
	// key are the indexes of the primary key columns in cols.
	key     []int
	keyType []types.T
}

var _ stream.SourceSpec = (*Spec)(nil)

var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// newSpec checks a table's options and columns.
func newSpec(cfg *connector.SourceConfig) (stream.SourceSpec, error) {
	o := cfg.Options
	s := &Spec{relation: cfg.Relation, opts: o, host: strings.TrimSpace(o.Get(optHostname)), user: o.Get(optUsername),
		password: o.Get(optPassword), database: o.Get(optDatabase), schema: o.Get(optSchema), table: o.Get(optTable),
		slot: o.Get(optSlot), publication: o.Get(optPublication), sslMode: sslModes[strings.ToLower(o.Get(optSSLMode))],
		cols: cfg.Columns, ts: cfg.Types(), key: cfg.PrimaryKey}
	s.port, _ = strconv.Atoi(strings.TrimSpace(o.Get(optPort)))
	s.maxBatch, _ = strconv.Atoi(strings.TrimSpace(o.Get(optMaxBatch)))
	s.createPub = parseBool(o.Get(optPublicationCreate))
	for _, n := range []string{optHostname, optUsername, optDatabase, optTable, optPublication} {
		if strings.TrimSpace(o.Get(n)) == "" {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres-cdc option %q must not be empty", n)
		}
	}
	s.slotGiven = s.slot != ""
	if s.slot == "" {
		s.slot = defaultSlotName(cfg.Relation, cfg.RelationID)
	}
	if !slotNameRE.MatchString(s.slot) {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for postgres-cdc option %q: %q", optSlot, s.slot).
			WithHint("Replication slot names may only contain lower case letters, numbers, and the underscore character, at most 63.")
	}
	if len(cfg.PrimaryKey) == 0 {
		return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "a table with connector 'postgres-cdc' needs a PRIMARY KEY").
			WithHint("Declare the upstream table's primary key: changes are matched to rows by it.")
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 4096
	}
	for _, k := range s.key {
		s.keyType = append(s.keyType, s.ts[k])
	}
	return s, nil
}

func parseBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1":
		return true
	}
	return false
}

// defaultSlotName is streamsql_<relation>_<oid>, cut to a valid slot name.
func defaultSlotName(rel string, oid uint32) string {
	var b strings.Builder
	for _, r := range strings.ToLower(rel) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	suffix := "_" + strconv.FormatUint(uint64(oid), 10)
	if n := 63 - len("streamsql_") - len(suffix); len(name) > n {
		name = name[:n]
	}
	return "streamsql_" + name + suffix
}

// Explain describes the source for EXPLAIN.
func (s *Spec) Explain() string {
	return fmt.Sprintf("PostgresCDC %s:%d/%s table=%s.%s slot=%s publication=%s",
		s.host, s.port, s.database, s.schema, s.table, s.slot, s.publication)
}

// Open returns the source positioned at pos (nil: a fresh start, with a
// snapshot of the table).
func (s *Spec) Open(b *stream.BuildCtx, pos []byte) (stream.Source, error) {
	rt := &runtime{spec: s, log: slog.Default().With("table", s.relation, "upstream", s.schema+"."+s.table)}
	var env *stream.Env
	if b != nil {
		env = b.Env
	}
	if env != nil {
		rt.stats = env.Stats
	}
	if pos != nil {
		if _, err := decodePosition(pos); err != nil {
			return nil, err
		}
	}
	inner, err := stream.DriveSource(rt, stream.DriverOptions{Parallelism: 1}, pos)
	if err != nil {
		return nil, err
	}
	return &source{inner: inner, rt: rt, env: env}, nil
}

// runtime is an opened source; the driver makes its one reader from it.
type runtime struct {
	spec *Spec
	log  *slog.Logger
	// confirmed is the LSN of the last epoch commit seen: what the reader
	// may confirm to PostgreSQL as flushed.
	confirmed atomic.Uint64
	// stats, if set, shows a reconnect in progress (SHOW JOBS).
	stats *stream.Stats
}

// setRetrying records that the reader is reconnecting after err (nil:
// it reads again).
func (r *runtime) setRetrying(err error) {
	if r.stats != nil {
		r.stats.SetSourceError(err)
	}
}

// splitID names the source's one split.
const splitID = "replication"

func (r *runtime) Types() []types.T { return r.spec.ts }

func (r *runtime) Splits(context.Context) ([]string, error) { return []string{splitID}, nil }

func (r *runtime) NewReader(int) (stream.SplitReader, error) { return newReader(r), nil }

// source runs the driven source and, beside it, confirms to PostgreSQL
// the position of each epoch once that epoch has committed.
type source struct {
	inner stream.Source
	rt    *runtime
	env   *stream.Env
}

func (s *source) Types() []types.T { return s.inner.Types() }

// pendingEpoch is a barrier the source sent and the LSN it carried.
type pendingEpoch struct {
	epoch uint64
	lsn   uint64
}

func (s *source) Run(ctx context.Context, barriers <-chan uint64, out chan<- stream.Message) error {
	if s.env == nil || s.env.WaitCommitted == nil {
		// No epoch commits to wait for (a bare source): nothing is ever
		// confirmed.
		return s.inner.Run(ctx, barriers, out)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		pending []pendingEpoch
		wake    = make(chan struct{}, 1)
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			mu.Lock()
			var next *pendingEpoch
			if len(pending) > 0 {
				next = &pending[0]
			}
			mu.Unlock()
			if next == nil {
				select {
				case <-ctx.Done():
					return
				case <-wake:
				}
				continue
			}
			if err := s.env.WaitCommitted(ctx, next.epoch); err != nil {
				return
			}
			committed := s.env.Committed()
			var lsn uint64
			mu.Lock()
			for len(pending) > 0 && pending[0].epoch <= committed {
				lsn = max(lsn, pending[0].lsn)
				pending = pending[1:]
			}
			mu.Unlock()
			if lsn > s.rt.confirmed.Load() {
				s.rt.confirmed.Store(lsn)
			}
		}
	}()
	defer func() {
		cancel() // before the wait: the confirming goroutine ends with ctx
		wg.Wait()
	}()

	mid := make(chan stream.Message)
	errc := make(chan error, 1)
	go func() { errc <- s.inner.Run(ctx, barriers, mid) }()
	for {
		select {
		case err := <-errc:
			return err
		case m := <-mid:
			if m.Kind == stream.MsgBarrier && m.Pos != nil {
				if p, err := decodePosition(m.Pos); err == nil && p.lsn > 0 {
					mu.Lock()
					pending = append(pending, pendingEpoch{epoch: m.Epoch, lsn: p.lsn})
					mu.Unlock()
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}
			if err := stream.Send(ctx, out, m); err != nil {
				cancel()
				<-errc
				return err
			}
		}
	}
}
