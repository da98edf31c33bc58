package postgrescdc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/sql/sqlerr"
)

// The upstream objects of a table's life. CREATE TABLE checks the
// upstream before the table exists (CheckUpstream): the server answers,
// the password is right, wal_level is logical, the table exists with the
// declared columns and the user may read it and start a WAL sender; the
// publication and the slot are made then, and taken away again if a
// later check fails, so a failed CREATE leaves nothing behind. DROP TABLE
// (ReleaseUpstream) drops the slot the connector made (its default name,
// streamsql_<table>_<oid>; a slot named by slot.name is the user's and
// stays), since a slot nobody reads keeps the upstream's WAL forever, and
// the publication if the connector made it (its comment says so) and it
// publishes this table only.

// CheckUpstream checks that the table can follow its upstream table and
// makes the publication and the slot; on failure it drops what it made.
func (s *Spec) CheckUpstream(ctx context.Context) error {
	_, made, err := s.prepareCreated(ctx)
	if err == nil {
		return nil
	}
	s.undo(made)
	return upstreamError(err)
}

// upstreamError gives an error of the upstream server its own SQLSTATE
// and message, as the client sees it.
func upstreamError(err error) error {
	var se *sqlerr.Error
	if errors.As(err, &se) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return &sqlerr.Error{Code: pe.Code, Message: "postgres-cdc: upstream: " + pe.Message, Detail: pe.Detail, Hint: pe.Hint, Cause: err}
	}
	return err
}

// undo drops the objects a failed prepare made.
func (s *Spec) undo(made created) {
	if !made.slot && !made.publication {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.connect(ctx, false)
	if err != nil {
		return
	}
	defer c.Close(context.Background())
	if made.slot {
		s.dropSlot(ctx, c)
	}
	if made.publication {
		c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+quoteIdent(s.publication)).ReadAll()
	}
}

// ReleaseUpstream drops the slot and publication the table's connector
// made, after the table was dropped and its ingest stopped.
func (s *Spec) ReleaseUpstream(ctx context.Context) error {
	c, err := s.connect(ctx, false)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	if !s.slotGiven {
		if err := s.dropSlot(ctx, c); err != nil {
			return err
		}
	}
	rows, err := queryRows(ctx, c, fmt.Sprintf(
		`SELECT obj_description(p.oid, 'pg_publication'), (SELECT count(*) FROM pg_publication_tables t WHERE t.pubname = p.pubname),
		        EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname = %s AND t.tablename = %s)
		 FROM pg_publication p WHERE p.pubname = %s`,
		quoteLiteral(s.schema), quoteLiteral(s.table), quoteLiteral(s.publication)))
	if err != nil {
		return err
	}
	if len(rows) == 1 && rows[0][0] == streamsqlPublication && rows[0][1] == "1" && rows[0][2] == "t" {
		if _, err := c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+quoteIdent(s.publication)).ReadAll(); err != nil {
			return fmt.Errorf("postgres-cdc: drop publication %q: %w", s.publication, err)
		}
	}
	return nil
}

// dropSlot drops the table's slot, waiting for the WAL sender of a
// connection just closed to let go of it.
func (s *Spec) dropSlot(ctx context.Context, c *pgconn.PgConn) error {
	for {
		_, err := c.Exec(ctx, fmt.Sprintf("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
			quoteLiteral(s.slot))).ReadAll()
		var pe *pgconn.PgError
		if err == nil || !(errors.As(err, &pe) && pe.Code == "55006") {
			if err != nil {
				return fmt.Errorf("postgres-cdc: drop replication slot %q: %w", s.slot, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres-cdc: drop replication slot %q: %w", s.slot, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
