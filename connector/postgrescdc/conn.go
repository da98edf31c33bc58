package postgrescdc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/sql/sqlerr"
)

// connect opens a connection to the upstream database; replication makes
// it a logical replication connection (replication=database). Sessions
// print times in UTC and values in the formats sql/types parses.
func (s *Spec) connect(ctx context.Context, replication bool) (*pgconn.PgConn, error) {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(s.host, strconv.Itoa(s.port)), Path: "/" + s.database,
		RawQuery: "sslmode=" + url.QueryEscape(s.sslMode)}
	if s.password != "" {
		u.User = url.UserPassword(s.user, s.password)
	} else {
		u.User = url.User(s.user)
	}
	cfg, err := pgconn.ParseConfig(u.String())
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "postgres-cdc connection options: %v", err)
	}
	cfg.RuntimeParams["application_name"] = "streamsql"
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, MDY"
	cfg.RuntimeParams["intervalstyle"] = "postgres"
	cfg.RuntimeParams["extra_float_digits"] = "3"
	cfg.RuntimeParams["bytea_output"] = "hex"
	if replication {
		cfg.RuntimeParams["replication"] = "database"
	}
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		// The server's own refusal (a wrong password, a missing database)
		// keeps its SQLSTATE; not reaching it is 08001, as libpq says.
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil, &sqlerr.Error{Code: pe.Code, Message: fmt.Sprintf("postgres-cdc: connection to server at %s:%d failed: %s", s.host, s.port, pe.Message),
				Detail: pe.Detail, Hint: pe.Hint, Cause: err}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &sqlerr.Error{Code: sqlerr.SQLClientUnableToEstablishConn,
			Message: fmt.Sprintf("postgres-cdc: could not connect to server at %s:%d: %v", s.host, s.port, unwrapConnect(err)), Cause: err}
	}
	return c, nil
}

// unwrapConnect is the innermost cause of a failed connect (pgconn wraps
// it with the whole connection string).
func unwrapConnect(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// transient reports whether err is worth a reconnect: the server went
// away, restarts, refuses connections for now, or still has the slot
// in use. Authentication failures, missing objects and the like are
// not.
func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "57", "53", "58":
			return pe.Code != "57014" // query_canceled is ours
		}
		// object_in_use: the slot is still held by the walsender of a
		// connection that just died (a restarted StreamSQL); it goes.
		return pe.Code == "55006"
	}
	var se *sqlerr.Error
	if errors.As(err, &se) {
		// Not reaching the server (08001) is worth another try.
		return strings.HasPrefix(se.Code, "08")
	}
	return true
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a PostgreSQL string literal (standard conforming).
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// qualified is the upstream table's quoted name.
func (s *Spec) qualified() string { return quoteIdent(s.schema) + "." + quoteIdent(s.table) }

// queryRows runs sql and returns its rows as text.
func queryRows(ctx context.Context, c *pgconn.PgConn, sql string) ([][]string, error) {
	res, err := c.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, r := range res {
		for _, row := range r.Rows {
			vals := make([]string, len(row))
			for i, v := range row {
				vals[i] = string(v)
			}
			out = append(out, vals)
		}
	}
	return out, nil
}

// upstreamColumn is a column of the upstream table.
type upstreamColumn struct {
	name, typ string
}

// created says which upstream objects prepare created.
type created struct {
	publication, slot bool
}

// streamsqlPublication is the comment of the publications the connector
// creates: DROP TABLE drops only those (release.go).
const streamsqlPublication = "created by StreamSQL postgres-cdc"

// prepare checks the upstream table, creates the publication and the
// slot when missing, and returns the table's columns by name.
func (s *Spec) prepare(ctx context.Context) (map[string]upstreamColumn, error) {
	cols, _, err := s.prepareCreated(ctx)
	return cols, err
}

// prepareCreated is prepare, also saying what it created.
func (s *Spec) prepareCreated(ctx context.Context) (map[string]upstreamColumn, created, error) {
	var made created
	cols, err := s.doPrepare(ctx, &made)
	return cols, made, err
}

func (s *Spec) doPrepare(ctx context.Context, made *created) (map[string]upstreamColumn, error) {
	c, err := s.connect(ctx, false)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	rows, err := queryRows(ctx, c, "SHOW wal_level")
	if err != nil {
		return nil, err
	}
	if len(rows) == 1 && rows[0][0] != "logical" {
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
			"logical decoding requires wal_level >= logical (the server at %s:%d has wal_level = %s)", s.host, s.port, rows[0][0])
	}
	rows, err = queryRows(ctx, c, fmt.Sprintf(
		`SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		 WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
		quoteLiteral(s.qualified())))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist in the upstream database %q",
			s.schema, s.table, s.database)
	}
	cols := map[string]upstreamColumn{}
	for _, r := range rows {
		cols[r[0]] = upstreamColumn{name: r[0], typ: r[1]}
	}
	// The user must be able to read the table (the snapshot) and to
	// start a WAL sender (the replication stream).
	rows, err = queryRows(ctx, c, fmt.Sprintf(
		`SELECT has_table_privilege(%s, 'SELECT'), (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)`,
		quoteLiteral(s.qualified())))
	if err != nil {
		return nil, err
	}
	if len(rows) == 1 && rows[0][0] != "t" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for table %s (upstream user %q)", s.table, s.user).
			WithHint("GRANT SELECT ON %s TO %s", s.qualified(), quoteIdent(s.user))
	}
	if len(rows) == 1 && rows[0][1] != "t" {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser or replication role to start walsender (upstream user %q)", s.user).
			WithHint("ALTER ROLE %s REPLICATION", quoteIdent(s.user))
	}
	for _, col := range s.cols {
		if _, ok := cols[col.Name]; !ok {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of table %q does not exist in the upstream table \"%s.%s\"",
				col.Name, s.relation, s.schema, s.table)
		}
	}

	rows, err = queryRows(ctx, c, "SELECT 1 FROM pg_publication WHERE pubname = "+quoteLiteral(s.publication))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		if !s.createPub {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "publication %q does not exist", s.publication).
				WithHint("Create it (CREATE PUBLICATION %s FOR TABLE %s) or set %s = 'true'.",
					quoteIdent(s.publication), s.qualified(), optPublicationCreate)
		}
		_, err := c.Exec(ctx, fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s; COMMENT ON PUBLICATION %s IS %s",
			quoteIdent(s.publication), s.qualified(), quoteIdent(s.publication), quoteLiteral(streamsqlPublication))).ReadAll()
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && pe.Code == "42710") { // created meanwhile
			return nil, err
		}
		made.publication = err == nil
	}
	rows, err = queryRows(ctx, c, fmt.Sprintf(
		"SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s AND tablename = %s",
		quoteLiteral(s.publication), quoteLiteral(s.schema), quoteLiteral(s.table)))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "publication %q does not publish table \"%s.%s\"",
			s.publication, s.schema, s.table).
			WithHint("ALTER PUBLICATION %s ADD TABLE %s", quoteIdent(s.publication), s.qualified())
	}

	rows, err = queryRows(ctx, c, "SELECT plugin FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(s.slot))
	if err != nil {
		return nil, err
	}
	if len(rows) == 1 {
		if rows[0][0] != "pgoutput" {
			return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
				"replication slot %q uses output plugin %q, postgres-cdc needs \"pgoutput\"", s.slot, rows[0][0])
		}
		return cols, nil
	}
	rc, err := s.connect(ctx, true)
	if err != nil {
		return nil, err
	}
	defer rc.Close(context.Background())
	_, err = pglogrepl.CreateReplicationSlot(ctx, rc, s.slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && pe.Code == "42710") {
		return nil, fmt.Errorf("postgres-cdc: create replication slot %q: %w", s.slot, err)
	}
	made.slot = err == nil
	return cols, nil
}
