package postgrescdc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/connector"
	"streamsql/exec/stream"
	"streamsql/internal/testpg"
	"streamsql/sql/types"
)

// The tests run against a real PostgreSQL with wal_level = logical, named
// by SLT_PG_DSN (as .ci/run starts it), and skip when there is none.

// testDSN returns the upstream DSN or skips the test.
func testDSN(t *testing.T) string {
	t.Helper()
	_, cfg := testpg.ConnectLogical(t)
	return cfg.ConnString()
}

// upstream is a test's table in the upstream database, with its slot and
// publication dropped at the end.
type upstream struct {
	t     *testing.T
	dsn   string
	cfg   *pgx.ConnConfig
	conn  *pgx.Conn
	table string
	slot  string
	pub   string
}

func newUpstream(t *testing.T, ddl string) *upstream {
	return newUpstreamAt(t, testDSN(t), ddl)
}

// newUpstreamAt makes the table (ddl with %s for its name) in the
// database of dsn.
func newUpstreamAt(t *testing.T, dsn, ddl string) *upstream {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["extra_float_digits"] = "3"
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	u := &upstream{t: t, dsn: dsn, cfg: cfg, conn: c, table: "cdc_" + suffix, slot: "cdc_slot_" + suffix, pub: "cdc_pub_" + suffix}
	u.exec(fmt.Sprintf(ddl, u.table))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The walsender may still hold the slot for a moment.
		for range 50 {
			_, err := c.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", u.slot)
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+u.pub)
		c.Exec(ctx, "DROP TABLE IF EXISTS "+u.table)
		c.Close(ctx)
	})
	return u
}

func (u *upstream) exec(sql string, args ...any) {
	u.t.Helper()
	if _, err := u.conn.Exec(context.Background(), sql, args...); err != nil {
		u.t.Fatalf("%s: %v", sql, err)
	}
}

// options are the WITH options of a table that follows u.
func (u *upstream) options(extra ...string) map[string]string {
	host, port := u.cfg.Host, u.cfg.Port
	o := map[string]string{"connector": "postgres-cdc", "hostname": host, "port": fmt.Sprint(port), "username": u.cfg.User,
		"password": u.cfg.Password, "database.name": u.cfg.Database, "table.name": u.table, "slot.name": u.slot,
		"publication.name": u.pub, "ssl.mode": "disable"}
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i]] = extra[i+1]
	}
	return o
}

// spec validates the options through the registry and makes the source.
func (u *upstream) spec(cols []connector.Column, key []int, extra ...string) *Spec {
	u.t.Helper()
	c := Connector()
	reg, err := connector.NewRegistry(c)
	if err != nil {
		u.t.Fatal(err)
	}
	cn, err := reg.Lookup("source", u.options(extra...))
	if err != nil {
		u.t.Fatal(err)
	}
	opts, err := cn.Validate(u.options(extra...))
	if err != nil {
		u.t.Fatal(err)
	}
	s, err := cn.Source(&connector.SourceConfig{Relation: "t", RelationID: 1, Columns: cols, PrimaryKey: key, Options: opts, Parallelism: 1})
	if err != nil {
		u.t.Fatal(err)
	}
	return s.(*Spec)
}

// confirmedFlush is the slot's confirmed_flush_lsn.
func (u *upstream) confirmedFlush() uint64 {
	u.t.Helper()
	var s *string
	if err := u.conn.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", u.slot).Scan(&s); err != nil {
		u.t.Fatal(err)
	}
	if s == nil {
		return 0
	}
	var hi, lo uint64
	fmt.Sscanf(*s, "%X/%X", &hi, &lo)
	return hi<<32 | lo
}

// epochs plays the coordinator: it sends barriers, keeps the table's
// contents as of each barrier (what an epoch commit would persist) and
// marks the epoch committed, unless commits are held.
type epochs struct {
	mu        sync.Mutex
	cond      *sync.Cond
	committed uint64
	hold      bool
}

func newEpochs() *epochs {
	e := &epochs{}
	e.cond = sync.NewCond(&e.mu)
	return e
}

func (e *epochs) env() *stream.Env {
	return &stream.Env{
		Committed: func() uint64 { e.mu.Lock(); defer e.mu.Unlock(); return e.committed },
		WaitCommitted: func(ctx context.Context, ep uint64) error {
			stop := context.AfterFunc(ctx, func() { e.mu.Lock(); e.cond.Broadcast(); e.mu.Unlock() })
			defer stop()
			e.mu.Lock()
			defer e.mu.Unlock()
			for e.committed < ep {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				e.cond.Wait()
			}
			return nil
		},
	}
}

func (e *epochs) holding() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hold
}

func (e *epochs) commit(ep uint64) {
	e.mu.Lock()
	if !e.hold && ep > e.committed {
		e.committed = ep
	}
	e.cond.Broadcast()
	e.mu.Unlock()
}

// table applies a changelog strictly: an insert of a present key, or a
// delete of an absent or different row, fails the test, so a doubled or
// lost change shows.
type table struct {
	ts   []types.T
	key  []int
	rows map[string][]string
}

func newTable(ts []types.T, key []int) *table {
	return &table{ts: ts, key: key, rows: map[string][]string{}}
}

func (tb *table) clone() *table {
	c := newTable(tb.ts, tb.key)
	for k, v := range tb.rows {
		c.rows[k] = v
	}
	return c
}

func (tb *table) text(row []types.Datum) []string {
	out := make([]string, len(row))
	for i, d := range row {
		if d == nil {
			out[i] = "NULL"
		} else {
			out[i] = types.FormatText(d, tb.ts[i], time.UTC)
		}
	}
	return out
}

func (tb *table) keyOf(row []string) string {
	var ks []string
	for _, k := range tb.key {
		ks = append(ks, row[k])
	}
	return strings.Join(ks, "|")
}

// change is a chunk row as text.
type change struct {
	op  stream.Op
	row []string
}

func (tb *table) changes(c *stream.Chunk) []change {
	out := make([]change, c.N)
	for i := range out {
		out[i] = change{op: c.Ops[i], row: tb.text(c.Row(i, tb.ts))}
	}
	return out
}

func (tb *table) apply(cs []change) error {
	for _, ch := range cs {
		row := ch.row
		k := tb.keyOf(row)
		old, has := tb.rows[k]
		switch ch.op {
		case stream.Insert, stream.UpdateInsert:
			if has {
				return fmt.Errorf("%v of key %s that is present (%v): a doubled change", ch.op, k, old)
			}
			tb.rows[k] = row
		case stream.Delete, stream.UpdateDelete:
			if !has {
				return fmt.Errorf("%v of key %s that is absent: a lost or doubled change", ch.op, k)
			}
			for j, v := range row {
				if v != "NULL" && v != old[j] {
					return fmt.Errorf("%v of key %s: column %d is %s, the row has %s", ch.op, k, j, v, old[j])
				}
			}
			delete(tb.rows, k)
		}
	}
	return nil
}

func (tb *table) sorted() []string {
	var out []string
	for _, r := range tb.rows {
		out = append(out, strings.Join(r, ","))
	}
	sort.Strings(out)
	return out
}

// selectCols reads cols of the upstream table, in text (the simple
// protocol).
func (u *upstream) selectCols(cols []connector.Column) pgx.Rows {
	u.t.Helper()
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c.Name
	}
	rs, err := u.conn.Query(context.Background(), "SELECT "+strings.Join(sel, ", ")+" FROM "+u.table, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		u.t.Fatal(err)
	}
	return rs
}

// upstreamRows reads the upstream table's rows as the table holds them.
func (u *upstream) rows(cols []connector.Column) []string {
	u.t.Helper()
	rs := u.selectCols(cols)
	ts := make([]types.T, len(cols))
	for i, c := range cols {
		ts[i] = c.Type
	}
	tb := newTable(ts, nil)
	var out []string
	for rs.Next() {
		vals := rs.RawValues()
		row := make([]types.Datum, len(vals))
		for i, v := range vals {
			if v != nil {
				d, err := types.ParseText(string(v), ts[i], time.UTC)
				if err != nil {
					u.t.Fatal(err)
				}
				row[i] = d
			}
		}
		out = append(out, strings.Join(tb.text(row), ","))
	}
	if rs.Err() != nil {
		u.t.Fatal(rs.Err())
	}
	sort.Strings(out)
	return out
}

// run is a source running in the harness: it applies every chunk to
// live, and at each barrier saves live and the position as the committed
// state of that epoch.
type run struct {
	cancel context.CancelFunc
	done   chan error

	mu        sync.Mutex
	live      *table
	committed *table
	pos       []byte
	// journal are the changes since the last barrier.
	journal []change
	rejects []stream.Reject
	// truncates counts the upstream TRUNCATEs passed on.
	truncates int
	batches   int
	err       error
}

// start opens spec at the committed position of prev (nil: fresh) and
// runs it with barriers every interval.
func start(t *testing.T, spec *Spec, ep *epochs, st *table, pos []byte, interval time.Duration) *run {
	t.Helper()
	src, err := spec.Open(&stream.BuildCtx{Env: ep.env()}, pos)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, done: make(chan error, 1), live: st.clone(), committed: st.clone(), pos: pos}
	barriers := make(chan uint64)
	out := make(chan stream.Message, 4)
	go func() { r.done <- src.Run(ctx, barriers, out) }()
	go func() {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		ep.mu.Lock()
		e := ep.committed
		ep.mu.Unlock()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				e++
				select {
				case barriers <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-out:
				r.mu.Lock()
				switch m.Kind {
				case stream.MsgChunk:
					cs := r.live.changes(m.Chunk)
					if err := r.live.apply(cs); err != nil && r.err == nil {
						r.err = err
					}
					r.journal = append(r.journal, cs...)
					r.batches++
					m.Chunk.Release()
				case stream.MsgRejects:
					r.rejects = append(r.rejects, m.Rejects...)
				case stream.MsgSchemaChange:
					// An upstream TRUNCATE: every live row goes, in order.
					r.truncates++
					var cs []change
					for _, row := range r.live.rows {
						cs = append(cs, change{op: stream.Delete, row: row})
					}
					r.live.apply(cs)
					r.journal = append(r.journal, cs...)
				case stream.MsgBarrier:
					if !ep.holding() {
						// What the epoch commit persists: the changes
						// before the barrier, and its position.
						r.committed.apply(r.journal)
						r.journal, r.pos = nil, m.Pos
					}
				}
				r.mu.Unlock()
				if m.Kind == stream.MsgBarrier {
					ep.commit(m.Epoch)
				}
			}
		}
	}()
	return r
}

// crash stops the source as a kill would: what was not committed is
// lost. It returns the committed table and position.
func (r *run) crash() (*table, []byte, error) {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.committed, r.pos, r.err
}

// waitPos waits until the committed position satisfies ok.
func (r *run) waitPos(t *testing.T, ok func(*position) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		r.mu.Lock()
		p, _ := decodePosition(r.pos)
		r.mu.Unlock()
		if p != nil && ok(p) {
			return
		}
	}
	t.Fatal("the committed position never got where the test waits for")
}

// waitEqual waits until the live table equals want.
func (r *run) waitEqual(t *testing.T, want func() []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got, w []string
	for time.Now().Before(deadline) {
		w = want()
		r.mu.Lock()
		got = r.live.sorted()
		err := r.err
		r.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") == strings.Join(w, "\n") {
			return
		}
		select {
		case err := <-r.done:
			t.Fatalf("source stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("table has %d rows, upstream %d; first differences:\n%s", len(got), len(w), diff(got, w))
}

func diff(got, want []string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		w[s] = true
	}
	var out []string
	for _, s := range got {
		if !w[s] && len(out) < 10 {
			out = append(out, "  extra   "+s)
		}
	}
	for _, s := range want {
		if !g[s] && len(out) < 20 {
			out = append(out, "  missing "+s)
		}
	}
	return strings.Join(out, "\n")
}

// randomDML runs n clients of random inserts, updates (some of the key)
// and deletes over keys [0, keys) until ctx is done.
func randomDML(ctx context.Context, t *testing.T, u *upstream, clients, keys int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.ConnectConfig(context.Background(), u.cfg)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				k := rng.IntN(keys)
				var sql string
				var args []any
				switch rng.IntN(7) {
				case 6:
					// A transaction larger than a batch.
					sql, args = "UPDATE "+u.table+" SET v = v + 1 WHERE id BETWEEN $1 AND $1 + 300", []any{k}
				case 0, 1:
					sql, args = "INSERT INTO "+u.table+" (id, v, s) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
						[]any{k, rng.IntN(1000), fmt.Sprintf("s%d", rng.IntN(100))}
				case 2, 3:
					sql, args = "UPDATE "+u.table+" SET v = v + 1, s = $2 WHERE id = $1", []any{k, fmt.Sprintf("u%d", rng.IntN(100))}
				case 4:
					sql, args = "UPDATE "+u.table+" SET id = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM "+u.table+" WHERE id = $2)",
						[]any{k, rng.IntN(keys)}
				case 5:
					sql, args = "DELETE FROM "+u.table+" WHERE id = $1", []any{k}
				}
				// A transaction of a few statements now and then.
				if rng.IntN(4) == 0 {
					tx, err := conn.Begin(context.Background())
					if err != nil {
						return
					}
					tx.Exec(context.Background(), sql, args...)
					tx.Exec(context.Background(), "UPDATE "+u.table+" SET v = v - 1 WHERE id = $1", rng.IntN(keys))
					tx.Commit(context.Background())
				} else {
					conn.Exec(context.Background(), sql, args...)
				}
			}
		}()
	}
	return &wg
}
