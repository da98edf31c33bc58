package postgrescdc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// snapshotRead is one run of the snapshot: a temporary slot on its own
// replication connection exports a snapshot with consistent point point,
// and a transaction on a second connection reads the table under it
// through a cursor in primary-key order.
type snapshotRead struct {
	export, conn *pgconn.PgConn
	point        uint64
	// rng is the index in cur.ranges of this run's range, -1 before its
	// first row.
	rng int
}

func (s *snapshotRead) close() {
	if s.conn != nil {
		s.conn.Close(context.Background())
	}
	if s.export != nil {
		// Closing the connection drops the temporary slot.
		s.export.Close(context.Background())
	}
}

// startSnapshot exports a snapshot and opens a cursor over the rows of
// the table not read yet (those above the last range's upper key).
func (r *reader) startSnapshot(ctx context.Context) (*snapshotRead, error) {
	s := &snapshotRead{rng: -1}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	var err error
	if s.export, err = r.spec.connect(ctx, true); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s_snap_%d", trimSlot(r.spec.slot, 40), time.Now().UnixNano()%1e12)
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.export, tmp, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		return nil, fmt.Errorf("postgres-cdc: export a snapshot: %w", err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return nil, err
	}
	s.point = uint64(lsn)
	if s.conn, err = r.spec.connect(ctx, false); err != nil {
		return nil, err
	}
	sel := make([]string, len(r.spec.cols))
	for i, c := range r.spec.cols {
		sel[i] = quoteIdent(c.Name)
	}
	keys := make([]string, len(r.spec.key))
	for i, k := range r.spec.key {
		keys[i] = quoteIdent(r.spec.cols[k].Name)
		if collatable(r.spec.ts[k]) {
			keys[i] += ` COLLATE "C"`
		}
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), r.spec.qualified())
	if n := len(r.cur.ranges); n > 0 {
		last := r.cur.ranges[n-1].upper
		vals := make([]string, len(last))
		for i, v := range last {
			k := r.spec.key[i]
			vals[i] = quoteLiteral(v) + "::" + r.upstream[r.spec.cols[k].Name].typ
			if collatable(r.spec.ts[k]) {
				vals[i] += ` COLLATE "C"`
			}
		}
		q += fmt.Sprintf(" WHERE (%s) > (%s)", rowExpr(keys), rowExpr(vals))
	}
	q += " ORDER BY " + strings.Join(keys, ", ")
	script := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT " + quoteLiteral(res.SnapshotName) +
		"; DECLARE streamsql_snapshot NO SCROLL CURSOR FOR " + q
	if _, err := s.conn.Exec(ctx, script).ReadAll(); err != nil {
		return nil, fmt.Errorf("postgres-cdc: snapshot of %s: %w", r.spec.qualified(), err)
	}
	r.rt.log.Info("postgres-cdc snapshot started", "consistent_point", res.ConsistentPoint, "after_ranges", len(r.cur.ranges))
	ok = true
	return s, nil
}

// rowExpr is a row constructor of xs (ROW() so one column works too).
func rowExpr(xs []string) string { return "ROW(" + strings.Join(xs, ", ") + ")" }

func collatable(t types.T) bool {
	return t.Kind == types.Text || t.Kind == types.Varchar || t.Kind == types.Char
}

func trimSlot(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// fetchSnapshot reads the next rows of the snapshot into the batch and
// advances cur: the run's range grows to the last key read; at the end
// of the table the range becomes unbounded and the snapshot is done.
func (r *reader) fetchSnapshot(ctx context.Context) error {
	s := r.snap
	res, err := s.conn.Exec(ctx, "FETCH FORWARD "+strconv.Itoa(r.spec.maxBatch)+" FROM streamsql_snapshot").ReadAll()
	if err != nil {
		return fmt.Errorf("postgres-cdc: snapshot of %s: %w", r.spec.qualified(), err)
	}
	var rows [][][]byte
	for _, rs := range res {
		rows = append(rows, rs.Rows...)
	}
	row := make([]types.Datum, len(r.spec.cols))
	var lastKey []string
	for _, vals := range rows {
		lastKey = lastKey[:0]
		for _, k := range r.spec.key {
			lastKey = append(lastKey, string(vals[k]))
		}
		bad := error(nil)
		for i, v := range vals {
			if v == nil {
				row[i] = nil
				continue
			}
			d, err := r.parseValue(i, v)
			if err != nil {
				bad = err
				break
			}
			row[i] = d
		}
		if bad != nil {
			r.reject(0, "snapshot row with key ("+strings.Join(lastKey, ", ")+")", bad)
			continue
		}
		r.appendRow(row, stream.Insert)
	}
	if len(rows) > 0 {
		if s.rng < 0 {
			r.cur.ranges = append(r.cur.ranges, keyRange{point: s.point})
			s.rng = len(r.cur.ranges) - 1
		}
		rg := &r.cur.ranges[s.rng]
		rg.upper = append([]string(nil), lastKey...)
		rg.upperD = nil
		if err := r.cur.parseRanges(r.spec.keyType); err != nil {
			return err
		}
	}
	if len(rows) < r.spec.maxBatch {
		// The end of the table: this run's range takes every key above.
		if s.rng < 0 {
			r.cur.ranges = append(r.cur.ranges, keyRange{point: s.point})
			s.rng = len(r.cur.ranges) - 1
		}
		r.cur.ranges[s.rng].upper, r.cur.ranges[s.rng].upperD = nil, nil
		r.cur.snapshotDone = true
		if _, err := s.conn.Exec(ctx, "COMMIT").ReadAll(); err != nil {
			return err
		}
		s.close()
		r.snap = nil
		r.rt.log.Info("postgres-cdc snapshot done", "ranges", len(r.cur.ranges))
	}
	return nil
}
