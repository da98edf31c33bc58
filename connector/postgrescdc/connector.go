// Package postgrescdc is the PostgreSQL change data capture connector
// (connector = 'postgres-cdc'): a table of StreamSQL follows a table of a
// PostgreSQL database, first by an initial snapshot of its rows and then by
// logical replication (the pgoutput plugin, read with jackc/pglogrepl).
//
// Hand-over. The connector owns a logical replication slot (slot.name)
// that it streams from, and a publication (publication.name) that names
// the table; both are created when missing. The snapshot is read under a
// snapshot exported by a temporary slot, whose consistent point P says
// exactly which transactions the snapshot holds: those whose commit
// record lies before P. Streaming from the connector's slot then applies a
// change only when its transaction commits at or after P, so no change is
// lost or applied twice. The snapshot is read in primary-key order in
// batches, and its progress (the last key read and P) is part of the
// position: after a crash mid-snapshot the rest of the table is read
// under a new exported snapshot P', and the key ranges read under each
// snapshot keep their own P (a change to a key is applied only from the
// point of the snapshot that read it), so the hand-over stays exact.
//
// Exactly once. The source is one split whose position is the replication
// progress: the end LSN of the last transaction handed on, plus how many
// changes of a transaction in progress were handed on already. It is
// committed with StreamSQL's epoch; the LSN is confirmed to PostgreSQL
// (standby status update, flush and apply positions) only after the epoch
// that carries it has committed, so the slot keeps every change StreamSQL
// may still need and releases the rest. After a restart the source resumes
// from the committed position and skips what PostgreSQL sends again.
//
// Changes. Inserts, updates and deletes become Insert,
// UpdateDelete+UpdateInsert and Delete rows, in commit order. With REPLICA
// IDENTITY DEFAULT an update or delete carries only the old key (the other
// columns of the old row are NULL; a table keyed by the primary key needs
// no more); REPLICA IDENTITY FULL gives whole old rows. A TRUNCATE of the
// upstream table, a value that does not parse, or an unchanged TOASTed
// value the change does not carry is a reject (kept in the rejects
// relation, counted), never a stopped job.
package postgrescdc

import (
	"streamsql/connector"
)

// Option names, in RisingWave's spelling.
const (
	optHostname          = "hostname"
	optPort              = "port"
	optUsername          = "username"
	optPassword          = "password"
	optDatabase          = "database.name"
	optSchema            = "schema.name"
	optTable             = "table.name"
	optSlot              = "slot.name"
	optPublication       = "publication.name"
	optPublicationCreate = "publication.create.enable"
	optSSLMode           = "ssl.mode"
	optMaxBatch          = "max.batch.rows"
)

// sslModes maps ssl.mode's values (PostgreSQL's and RisingWave's
// spellings) to libpq's sslmode.
var sslModes = map[string]string{
	"disable": "disable", "disabled": "disable",
	"prefer": "prefer", "preferred": "prefer",
	"require": "require", "required": "require",
	"verify-ca": "verify-ca", "verify-full": "verify-full",
}

// Connector is postgres-cdc's registry entry.
func Connector() *connector.Connector {
	return &connector.Connector{
		Name:        "postgres-cdc",
		Description: "a PostgreSQL table: its snapshot, then its changes by logical replication, exactly once",
		Options: append(connector.Login{Host: optHostname, Port: optPort, User: optUsername, Password: optPassword, Database: optDatabase}.
			Options("user with the REPLICATION attribute and SELECT on the table", "database of the table"),
			[]connector.Option{
				{Name: optSchema, Type: connector.String, Default: "public", Description: "schema of the table"},
				{Name: optTable, Type: connector.String, Required: true, Description: "the table to follow"},
				{Name: optSlot, Type: connector.String,
					Description: "logical replication slot to stream from, created when missing (default: streamsql_<table>_<oid>)"},
				{Name: optPublication, Type: connector.String, Default: "streamsql_publication",
					Description: "publication that names the table"},
				{Name: optPublicationCreate, Type: connector.Bool, Default: "true",
					Description: "create the publication (FOR TABLE the table) when it does not exist"},
				{Name: optSSLMode, Type: connector.Enum,
					Values:  []string{"disable", "disabled", "prefer", "preferred", "require", "required", "verify-ca", "verify-full"},
					Default: "prefer", Description: "TLS to the server, as libpq's sslmode"},
				{Name: optMaxBatch, Type: connector.Int, Min: 1, Max: 1 << 16, Default: "4096",
					Description: "most rows per chunk (and per snapshot fetch)"},
			}...),
		ChangeTables: true,
		Source:       newSpec,
	}
}
