// Package postgres is the PostgreSQL sink connector: a sink's changes are
// applied to a table of a PostgreSQL database (or of any store that speaks
// PostgreSQL's protocol and INSERT ... ON CONFLICT, such as Hologres),
// exactly once.
//
// Changes go through the sink log (exec/stream/sink_log.go), so a slow
// or unreachable database never stalls the views. Each delivery (one
// epoch, or several when catching up) is one transaction on the target:
// the changes are collapsed per primary key to the last one, the deleted
// keys are removed with batched DELETE ... WHERE (key) IN (...), the rest
// written with batched INSERT ... ON CONFLICT (key) DO UPDATE, and the
// delivered epoch is written into a progress table
// (streamsql_sink_progress, one row per sink) in the same transaction.
// After a crash or a lost connection the drainer reads that row: epochs
// up to it are in the target and are dropped from the log, later ones
// are delivered again. Each change lands exactly once.
//
// With create_table = 'true' the sink creates a missing target table
// itself (CREATE TABLE IF NOT EXISTS), with the sink's columns, their
// PostgreSQL types, and its primary key; an existing table is used as it
// is.
package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/connector"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Option names.
const (
	optHost          = "host"
	optPort          = "port"
	optUser          = "user"
	optPassword      = "password"
	optDatabase      = "database"
	optTable         = "table"
	optSSLMode       = "sslmode"
	optProgressTable = "progress_table"
	optBatchRows     = "batch.rows"
	optTimeout       = "delivery.timeout"
	optCreateTable   = "create_table"
)

// Connector is the postgres sink's registry entry.
func Connector() *connector.Connector {
	return &connector.Connector{
		Name:        "postgres",
		Description: "a sink that upserts and deletes rows of a PostgreSQL table, exactly once",
		Options: append(connector.Login{Host: optHost, Port: optPort, User: optUser, Password: optPassword, Database: optDatabase}.
			Options("the user to connect as", "the database"),
			[]connector.Option{
				{Name: optTable, Type: connector.String, Required: true, Description: "the target table, optionally schema-qualified (schema.table)"},
				{Name: connector.OptPrimaryKey, Type: connector.String,
					Description: "the target table's primary key columns, comma-separated (default: the query's key)"},
				{Name: optSSLMode, Type: connector.Enum, Values: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
					Default: "prefer", Description: "TLS to the database, as libpq's sslmode"},
				{Name: optProgressTable, Type: connector.String, Default: "streamsql_sink_progress",
					Description: "the table in the target database that records each sink's last delivered epoch"},
				{Name: optBatchRows, Type: connector.Int, Min: 1, Max: 100000, Default: "1000", Description: "most rows per INSERT or DELETE statement"},
				{Name: optTimeout, Type: connector.Duration, Default: "30s", Description: "how long one delivery may take before it is abandoned and retried"},
				{Name: optCreateTable, Type: connector.Bool, Default: "false",
					Description: "create the target table, with the sink's columns and primary key, when it does not exist"},
			}...),
		Sink: newSink,
	}
}

// newSink checks the options and returns the writer factory.
func newSink(cfg *connector.SinkConfig) (func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error), error) {
	o := cfg.Options
	schema, table, err := splitTable(o.Get(optTable))
	if err != nil {
		return nil, err
	}
	progress := strings.TrimSpace(o.Get(optProgressTable))
	if progress == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres option %q must not be empty", optProgressTable)
	}
	batch, _ := strconv.Atoi(strings.TrimSpace(o.Get(optBatchRows)))
	timeout, _ := connector.ParseDuration(o.Get(optTimeout))
	if timeout <= 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres option %q must be a positive duration", optTimeout)
	}
	connCfg, err := pgx.ParseConfig(dsn(o))
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres sink connection options: %v", err)
	}
	return func(env *stream.Env, in *stream.SinkInput) (stream.SinkWriter, error) {
		pk, err := connector.SinkPrimaryKey(o, in)
		if err != nil {
			return nil, err
		}
		if len(pk) == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres sink %q needs a primary key", in.Name).
				WithHint("Add primary_key = 'col[, ...]' naming the target table's primary key columns.")
		}
		t := &target{cfg: connCfg, name: cfg.Identity, sinkName: in.Name, schema: schema, table: table,
			progress: progress, names: in.Names, types: in.Types, pk: pk, batch: batch, timeout: timeout}
		t.createTable, _ = connector.ParseBool(o.Get(optCreateTable))
		return stream.NewLogSinkWriter(env, in, &encoder{types: in.Types, pk: pk}, t, nil), nil
	}, nil
}

func dsn(o connector.Options) string {
	q := func(s string) string {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
	}
	s := "host=" + q(o.Get(optHost)) + " port=" + q(o.Get(optPort)) + " user=" + q(o.Get(optUser)) +
		" dbname=" + q(o.Get(optDatabase)) + " sslmode=" + q(o.Get(optSSLMode)) + " application_name='streamsql sink'"
	if p := o.Get(optPassword); p != "" {
		s += " password=" + q(p)
	}
	return s
}

// splitTable splits "schema.table" (either part may be double-quoted).
func splitTable(v string) (schema, table string, err error) {
	v = strings.TrimSpace(v)
	parts := strings.Split(v, ".")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
			p = strings.ReplaceAll(p[1:len(p)-1], `""`, `"`)
		}
		parts[i] = p
	}
	switch {
	case len(parts) == 1 && parts[0] != "":
		return "", parts[0], nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], nil
	}
	return "", "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid postgres sink table %q: want table or schema.table", v)
}

// Record layout in the sink log: the key is one byte, 'U' (upsert) or
// 'D' (delete); the value is the row, each column a uvarint of its text
// length plus one (0 for NULL) and PostgreSQL's text output of the value.

// encoder encodes changes as upserts and deletes.
type encoder struct {
	types []types.T
	pk    []int
	row   []byte
	key   []byte
	next  []byte
}

var (
	upsertKey = []byte{'U'}
	deleteKey = []byte{'D'}
)

func (e *encoder) appendRow(buf []byte, c *stream.Chunk, i int, cols []int) []byte {
	var text []byte
	for j := range cols {
		col := c.Cols[cols[j]]
		if col.IsNull(i) {
			buf = binary.AppendUvarint(buf, 0)
			continue
		}
		text = types.AppendText(text[:0], types.GetDatum(col, i, e.types[cols[j]]), e.types[cols[j]], time.UTC)
		buf = binary.AppendUvarint(buf, uint64(len(text))+1)
		buf = append(buf, text...)
	}
	return buf
}

func (e *encoder) Encode(buf []byte, c *stream.Chunk) ([]byte, int, error) {
	all := make([]int, len(e.types))
	for i := range all {
		all[i] = i
	}
	n := 0
	for i := 0; i < c.N; i++ {
		op := c.Ops[i]
		switch op {
		case stream.Insert, stream.UpdateInsert:
			e.row = e.appendRow(e.row[:0], c, i, all)
			buf = stream.AppendSinkRecord(buf, upsertKey, e.row, true, true)
		case stream.Delete, stream.UpdateDelete:
			if op == stream.UpdateDelete && i+1 < c.N && c.Ops[i+1] == stream.UpdateInsert {
				e.key = e.appendRow(e.key[:0], c, i, e.pk)
				e.next = e.appendRow(e.next[:0], c, i+1, e.pk)
				if string(e.key) == string(e.next) {
					continue // the upsert that follows replaces the row
				}
			}
			e.row = e.appendRow(e.row[:0], c, i, all)
			buf = stream.AppendSinkRecord(buf, deleteKey, e.row, true, true)
		}
		n++
	}
	return buf, n, nil
}

// decodeRow splits an encoded row into its values (nil for NULL).
func decodeRow(v []byte, n int) ([]*string, error) {
	out := make([]*string, n)
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(v)
		if k <= 0 || uint64(len(v)-k)+1 < l {
			return nil, errors.New("corrupt postgres sink record")
		}
		v = v[k:]
		if l == 0 {
			continue
		}
		s := string(v[:l-1])
		out[i] = &s
		v = v[l-1:]
	}
	return out, nil
}

// target applies delivered records to the table.
type target struct {
	cfg                   *pgx.ConnConfig
	name, sinkName        string
	schema, table         string
	progress              string
	names                 []string
	types                 []types.T
	pk                    []int
	batch                 int
	timeout               time.Duration
	conn                  *pgx.Conn
	qtable, qprog, insert string
	// createTable makes Recover create a missing target table.
	createTable bool
}

// columnType is the PostgreSQL type of a target column of type t.
func columnType(t types.T) string {
	switch t.Kind {
	case types.Unknown, types.Record:
		return "text"
	case types.Array:
		if t.Elem == nil || t.Elem.Kind == types.Unknown || t.Elem.Kind == types.Record {
			return "text[]"
		}
	}
	return t.String()
}

// createTableSQL is the CREATE TABLE of the target: the sink's columns
// and its primary key.
func (t *target) createTableSQL() string {
	var sb strings.Builder
	sb.WriteString("CREATE TABLE IF NOT EXISTS " + t.qtable + " (")
	for i, n := range t.names {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(n) + " " + columnType(t.types[i]))
	}
	sb.WriteString(", PRIMARY KEY (")
	for i, k := range t.pk {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(t.names[k]))
	}
	sb.WriteString("))")
	return sb.String()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (t *target) qualified(name string) string {
	if t.schema != "" {
		return quoteIdent(t.schema) + "." + quoteIdent(name)
	}
	return quoteIdent(name)
}

func (t *target) connect(ctx context.Context) (*pgx.Conn, error) {
	if t.conn != nil {
		return t.conn, nil
	}
	conn, err := pgx.ConnectConfig(ctx, t.cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres sink: connect: %w", err)
	}
	t.conn = conn
	t.qtable, t.qprog = t.qualified(t.table), t.qualified(t.progress)
	return conn, nil
}

func (t *target) reset() {
	if t.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t.conn.Close(ctx)
		cancel()
		t.conn = nil
	}
}

// Recover reconnects (a transaction of a lost connection is rolled back
// by the server) and reads the sink's progress row.
func (t *target) Recover(ctx context.Context) (uint64, error) {
	t.reset()
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	conn, err := t.connect(ctx)
	if err != nil {
		return 0, err
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS ` + t.qprog + ` (sink text PRIMARY KEY, name text, epoch bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now())`,
		`ALTER TABLE ` + t.qprog + ` ADD COLUMN IF NOT EXISTS name text`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.reset()
			return 0, fmt.Errorf("postgres sink: create progress table: %w", err)
		}
	}
	if t.createTable {
		if _, err := conn.Exec(ctx, t.createTableSQL()); err != nil {
			t.reset()
			return 0, fmt.Errorf("postgres sink: create table %s: %w", t.qtable, err)
		}
	}
	var e int64
	err = conn.QueryRow(ctx, `SELECT epoch FROM `+t.qprog+` WHERE sink = $1`, t.name).Scan(&e)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		t.reset()
		return 0, fmt.Errorf("postgres sink: read progress: %w", err)
	}
	return uint64(e), nil
}

// Deliver applies recs and records upTo in one transaction.
func (t *target) Deliver(ctx context.Context, upTo uint64, recs []stream.SinkRecord) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	conn, err := t.connect(ctx)
	if err != nil {
		return err
	}
	if err := t.deliver(ctx, conn, upTo, recs); err != nil {
		t.reset()
		return fmt.Errorf("postgres sink: deliver up to epoch %d: %w", upTo, err)
	}
	return nil
}

func (t *target) deliver(ctx context.Context, conn *pgx.Conn, upTo uint64, recs []stream.SinkRecord) error {
	// The last change of each key decides.
	type change struct {
		del bool
		row []*string
	}
	last := map[string]int{}
	changes := make([]change, 0, len(recs))
	var kb strings.Builder
	for _, r := range recs {
		row, err := decodeRow(r.Value, len(t.names))
		if err != nil {
			return err
		}
		kb.Reset()
		for _, k := range t.pk {
			if row[k] == nil {
				kb.WriteString("\x00N")
			} else {
				kb.WriteString(strconv.Itoa(len(*row[k])))
				kb.WriteByte(':')
				kb.WriteString(*row[k])
			}
		}
		c := change{del: len(r.Key) == 1 && r.Key[0] == 'D', row: row}
		if i, ok := last[kb.String()]; ok {
			changes[i] = c
			continue
		}
		last[kb.String()] = len(changes)
		changes = append(changes, c)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var dels, ups [][]*string
	for _, c := range changes {
		if c.del {
			dels = append(dels, c.row)
		} else {
			ups = append(ups, c.row)
		}
	}
	for len(dels) > 0 {
		n := min(len(dels), t.batch)
		if _, err := tx.Exec(ctx, t.deleteSQL(dels[:n]), pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		dels = dels[n:]
	}
	for len(ups) > 0 {
		n := min(len(ups), t.batch)
		if _, err := tx.Exec(ctx, t.upsertSQL(ups[:n]), pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		ups = ups[n:]
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+t.qprog+` (sink, name, epoch, updated) VALUES ($1, $2, $3, now())
		ON CONFLICT (sink) DO UPDATE SET name = EXCLUDED.name, epoch = EXCLUDED.epoch, updated = EXCLUDED.updated`, t.name, t.sinkName, int64(upTo)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func appendValue(sb *strings.Builder, v *string) {
	if v == nil {
		sb.WriteString("NULL")
		return
	}
	sb.WriteString(quoteLiteral(*v))
}

func (t *target) deleteSQL(rows [][]*string) string {
	var sb strings.Builder
	sb.WriteString("DELETE FROM " + t.qtable + " WHERE (")
	for i, k := range t.pk {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(t.names[k]))
	}
	sb.WriteString(") IN (")
	for r, row := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for i, k := range t.pk {
			if i > 0 {
				sb.WriteString(", ")
			}
			appendValue(&sb, row[k])
		}
		sb.WriteByte(')')
	}
	sb.WriteByte(')')
	return sb.String()
}

func (t *target) upsertSQL(rows [][]*string) string {
	if t.insert == "" {
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + t.qtable + " (")
		for i, n := range t.names {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(quoteIdent(n))
		}
		sb.WriteString(") VALUES ")
		t.insert = sb.String()
	}
	var sb strings.Builder
	sb.WriteString(t.insert)
	for r, row := range rows {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for i, v := range row {
			if i > 0 {
				sb.WriteString(", ")
			}
			appendValue(&sb, v)
		}
		sb.WriteByte(')')
	}
	sb.WriteString(" ON CONFLICT (")
	isKey := map[int]bool{}
	for i, k := range t.pk {
		isKey[k] = true
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(t.names[k]))
	}
	sb.WriteString(") DO ")
	var sets []string
	for i, n := range t.names {
		if !isKey[i] {
			sets = append(sets, quoteIdent(n)+" = EXCLUDED."+quoteIdent(n))
		}
	}
	if len(sets) == 0 {
		sb.WriteString("NOTHING")
	} else {
		sb.WriteString("UPDATE SET " + strings.Join(sets, ", "))
	}
	return sb.String()
}

// Close closes the connection.
func (t *target) Close() error {
	t.reset()
	return nil
}
