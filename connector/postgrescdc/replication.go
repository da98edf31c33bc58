package postgrescdc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// replication is the stream from the connector's slot.
type replication struct {
	conn *pgconn.PgConn
	// relID is the upstream table's relation id once a Relation message
	// named it; colMap maps its columns (in the message's order) to the
	// table's columns, -1 for columns the table does not have.
	relID  uint32
	colMap []int
	// The transaction being received.
	inTxn     bool
	txnLSN    uint64 // its commit LSN
	skipTxn   bool   // handed on completely before
	seen      uint64 // changes of the table seen in it
	skipRows  uint64 // the first changes already handed on
	received  uint64 // the latest WAL position received
	sentFlush uint64 // the flush position last sent
	lastSent  time.Time
}

func (p *replication) close() {
	if p.conn != nil {
		p.conn.Close(context.Background())
	}
}

// statusInterval is how often the reader tells the server where it is
// even when nothing changed (well within wal_sender_timeout).
const statusInterval = 10 * time.Second

// startReplication starts streaming from the slot at cur.lsn (0: where
// the slot's confirmed position is).
func (r *reader) startReplication(ctx context.Context) (*replication, error) {
	c, err := r.spec.connect(ctx, true)
	if err != nil {
		return nil, err
	}
	pub := strings.ReplaceAll(quoteIdent(r.spec.publication), `'`, `''`)
	err = pglogrepl.StartReplication(ctx, c, r.spec.slot, pglogrepl.LSN(r.cur.lsn), pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names '" + pub + "'"}})
	if err != nil {
		c.Close(context.Background())
		return nil, fmt.Errorf("postgres-cdc: start replication from slot %q: %w", r.spec.slot, err)
	}
	r.rt.log.Info("postgres-cdc streaming", "slot", r.spec.slot, "from", pglogrepl.LSN(r.cur.lsn).String())
	return &replication{conn: c, lastSent: time.Time{}}, nil
}

// sendStatus tells the server the position StreamSQL has committed: the
// slot may release WAL before it.
func (r *reader) sendStatus(force bool) error {
	p := r.repl
	flush := r.rt.confirmed.Load()
	if !force && flush == p.sentFlush && time.Since(p.lastSent) < statusInterval {
		return nil
	}
	// A zero flush position confirms nothing; a write position must then
	// be zero too, as pglogrepl would copy it into flush.
	st := pglogrepl.StandbyStatusUpdate{WALWritePosition: pglogrepl.LSN(flush), WALFlushPosition: pglogrepl.LSN(flush),
		WALApplyPosition: pglogrepl.LSN(flush)}
	if flush > 0 {
		st.WALWritePosition = pglogrepl.LSN(max(p.received, flush))
	}
	if err := pglogrepl.SendStandbyStatusUpdate(context.Background(), p.conn, st); err != nil {
		return err
	}
	p.sentFlush, p.lastSent = flush, time.Now()
	return nil
}

// Waits of the stream loop: idle, and with a batch begun (how long rows
// may wait for more before they go).
const (
	idleWait    = time.Second
	pendingWait = 20 * time.Millisecond
	maxHold     = 200 * time.Millisecond
)

// stream reads the replication stream until a batch is ready.
func (r *reader) stream(ctx context.Context) (stream.Batch, error) {
	p := r.repl
	began := time.Now()
	// Reads wait under a deadline on the connection rather than a
	// context per message (pgconn watches each context in a goroutine of
	// its own); ctx's end cuts the wait short.
	nc := p.conn.Conn()
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		if r.truncAt != nil {
			// A TRUNCATE of the upstream table: the rows before it, then
			// the TRUNCATE alone, which empties the table.
			if len(r.ops) > 0 || len(r.rejects) > 0 {
				return r.emit(), nil
			}
			r.cur, r.truncAt = r.truncAt, nil
			b := r.emit()
			b.SchemaChanges = []stream.SchemaChange{{Kind: stream.TruncateTable, SQL: "TRUNCATE " + r.spec.qualified(),
				Split: splitID, Offset: int64(r.truncLSN)}}
			return b, nil
		}
		if err := r.sendStatus(false); err != nil {
			return stream.Batch{}, err
		}
		if len(r.ops) >= r.spec.maxBatch || (r.pending() && time.Since(began) > maxHold) {
			return r.emit(), nil
		}
		wait := idleWait
		if r.pending() {
			wait = pendingWait
		}
		if err := nc.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return stream.Batch{}, err
		}
		if ctx.Err() != nil {
			return stream.Batch{}, ctx.Err()
		}
		msg, err := p.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return stream.Batch{}, ctx.Err()
			}
			if pgconn.Timeout(err) {
				if r.pending() {
					return r.emit(), nil
				}
				continue
			}
			return stream.Batch{}, err
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return stream.Batch{}, pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return stream.Batch{}, err
				}
				p.received = max(p.received, uint64(ka.ServerWALEnd))
				// Everything before the server's WAL end was sent: with no
				// transaction open, the position may move there, so the
				// slot advances even when the table does not change.
				if !p.inTxn && uint64(ka.ServerWALEnd) > r.cur.lsn && r.cur.txnLSN == 0 {
					r.cur.lsn = uint64(ka.ServerWALEnd)
				}
				if ka.ReplyRequested {
					if err := r.sendStatus(true); err != nil {
						return stream.Batch{}, err
					}
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return stream.Batch{}, err
				}
				p.received = max(p.received, uint64(x.WALStart)+uint64(len(x.WALData)))
				if err := r.decode(x.WALData); err != nil {
					return stream.Batch{}, err
				}
			}
		}
	}
}

// decode handles one pgoutput message.
func (r *reader) decode(data []byte) error {
	p := r.repl
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return fmt.Errorf("postgres-cdc: pgoutput message: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		if m.Namespace != r.spec.schema || m.RelationName != r.spec.table {
			return nil
		}
		p.relID = m.RelationID
		p.colMap = make([]int, len(m.Columns))
		byName := map[string]int{}
		for i, c := range r.spec.cols {
			byName[c.Name] = i
		}
		found := 0
		for i, c := range m.Columns {
			p.colMap[i] = -1
			if j, ok := byName[c.Name]; ok {
				p.colMap[i] = j
				found++
			}
		}
		if found < len(r.spec.cols) {
			return fmt.Errorf("postgres-cdc: the upstream table %s no longer has every column of table %q", r.spec.qualified(), r.spec.relation)
		}
	case *pglogrepl.BeginMessage:
		p.inTxn, p.txnLSN, p.seen, p.skipRows = true, uint64(m.FinalLSN), 0, 0
		// A transaction whose commit lies before the position was handed
		// on before (PostgreSQL sends from the slot's restart point).
		p.skipTxn = p.txnLSN < r.cur.lsn
		if !p.skipTxn {
			if r.cur.txnLSN == p.txnLSN {
				p.skipRows = r.cur.txnRows
			} else {
				r.cur.txnLSN, r.cur.txnRows = p.txnLSN, 0
			}
		}
	case *pglogrepl.CommitMessage:
		p.inTxn = false
		if p.skipTxn {
			return nil
		}
		r.cur.lsn = uint64(m.TransactionEndLSN)
		r.cur.txnLSN, r.cur.txnRows = 0, 0
		if len(r.cur.ranges) > 0 && uint64(m.CommitLSN) >= r.cur.maxPoint() {
			// Every later transaction commits after every snapshot: no
			// key needs its snapshot's point any more.
			r.cur.ranges = nil
		}
	case *pglogrepl.InsertMessage:
		if r.change(m.RelationID) {
			r.applyRow("INSERT", m.Tuple, stream.Insert)
		}
	case *pglogrepl.UpdateMessage:
		if r.change(m.RelationID) {
			r.applyUpdate(m)
		}
	case *pglogrepl.DeleteMessage:
		if r.change(m.RelationID) {
			r.applyRow("DELETE", m.OldTuple, stream.Delete)
		}
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if r.change(id) {
				// The table empties here: the rows before go first, with
				// the position before the TRUNCATE (stream).
				r.truncAt = r.cur.clone()
				r.cur.txnRows--
				r.truncLSN = p.txnLSN
			}
		}
	}
	return nil
}

// change counts a change of relation id in the current transaction and
// reports whether it is to be applied: it is of the table, and neither
// its transaction nor the change itself was handed on before.
func (r *reader) change(id uint32) bool {
	p := r.repl
	if id != p.relID || p.relID == 0 || p.skipTxn {
		return false
	}
	p.seen++
	if p.seen <= p.skipRows {
		return false
	}
	r.cur.txnRows = p.seen
	return true
}

// applies reports whether a change of the row with key, committed at the
// current transaction's commit LSN, is new to the rows the snapshot read.
func (r *reader) applies(key []types.Datum) bool {
	if len(r.cur.ranges) == 0 {
		return true
	}
	point, ok := r.cur.pointOf(key, r.spec.keyType)
	return !ok || r.repl.txnLSN >= point
}

// tuple turns tuple data into a row. base fills unchanged TOASTed values
// (nil: none available). keyOnly tuples (REPLICA IDENTITY DEFAULT old
// keys) carry NULL for other columns.
func (r *reader) tuple(t *pglogrepl.TupleData, base []types.Datum) ([]types.Datum, error) {
	row := make([]types.Datum, len(r.spec.cols))
	if t == nil {
		return nil, fmt.Errorf("change without a tuple")
	}
	for i, c := range t.Columns {
		if i >= len(r.repl.colMap) || r.repl.colMap[i] < 0 {
			continue
		}
		j := r.repl.colMap[i]
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
		case pglogrepl.TupleDataTypeToast:
			if base == nil {
				return nil, fmt.Errorf("column %q: the change does not carry its unchanged TOASTed value (set REPLICA IDENTITY FULL upstream)",
					r.spec.cols[j].Name)
			}
			row[j] = base[j]
		case pglogrepl.TupleDataTypeText:
			d, err := r.parseValue(j, c.Data)
			if err != nil {
				return nil, err
			}
			row[j] = d
		default:
			return nil, fmt.Errorf("column %q: tuple data of kind %q", r.spec.cols[j].Name, c.DataType)
		}
	}
	return row, nil
}

func (r *reader) rejectTuple(what string, t *pglogrepl.TupleData, err error) {
	var vals []string
	if t != nil {
		for _, c := range t.Columns {
			switch c.DataType {
			case pglogrepl.TupleDataTypeText:
				vals = append(vals, string(c.Data))
			case pglogrepl.TupleDataTypeNull:
				vals = append(vals, "NULL")
			default:
				vals = append(vals, "?")
			}
		}
	}
	r.reject(r.repl.txnLSN, what+" "+r.spec.qualified()+" ("+strings.Join(vals, ", ")+")", err)
}

// applyRow applies an INSERT's new row or a DELETE's old one as op.
func (r *reader) applyRow(what string, t *pglogrepl.TupleData, op stream.Op) {
	row, err := r.tuple(t, nil)
	if err != nil {
		r.rejectTuple(what, t, err)
		return
	}
	if r.applies(r.keyOf(row)) {
		r.appendRow(row, op)
	}
}

func (r *reader) applyUpdate(m *pglogrepl.UpdateMessage) {
	var old []types.Datum
	var err error
	if m.OldTuple != nil {
		if old, err = r.tuple(m.OldTuple, nil); err != nil {
			r.rejectTuple("UPDATE", m.OldTuple, err)
			return
		}
	}
	full := m.OldTupleType == pglogrepl.UpdateMessageTupleTypeOld
	var base []types.Datum
	if full {
		base = old
	}
	row, err := r.tuple(m.NewTuple, base)
	if err != nil {
		r.rejectTuple("UPDATE", m.NewTuple, err)
		return
	}
	if old == nil {
		// The key did not change and the old row was not sent: the old
		// row is known by its key.
		old = make([]types.Datum, len(row))
		for _, k := range r.spec.key {
			old[k] = row[k]
		}
	}
	del, ins := r.applies(r.keyOf(old)), r.applies(r.keyOf(row))
	switch {
	case del && ins:
		r.appendRow(old, stream.UpdateDelete)
		r.appendRow(row, stream.UpdateInsert)
	case del:
		r.appendRow(old, stream.Delete)
	case ins:
		r.appendRow(row, stream.Insert)
	}
}
