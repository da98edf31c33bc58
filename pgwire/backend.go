package pgwire

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// The interfaces below are everything the protocol layer needs from the
// database. The engine implements them; pgwire never reaches past them.

// Backend opens sessions.
type Backend interface {
	// Open starts a session for a client that completed startup. An error
	// (with a SQLSTATE, e.g. 3D000 for an unknown database or 28000) is
	// sent to the client as a FATAL ErrorResponse.
	Open(ctx context.Context, info StartupInfo) (Session, error)
}

// StartupInfo is what the client said in its StartupMessage.
type StartupInfo struct {
	User        string
	Database    string
	Application string
	RemoteAddr  string
	Params      map[string]string // every startup parameter, options included
	// AuthMethod is how the client authenticated (an hba method name such
	// as "trust" or "scram-sha-256").
	AuthMethod string
	// PID is the connection's process id, the one BackendKeyData gives
	// the client (0 for sessions opened without a connection).
	PID uint32
	// Terminate ends the connection from any goroutine, as
	// pg_terminate_backend does: the running statement is cancelled and
	// the client gets FATAL 57P01. Nil without a connection.
	Terminate func()
}

// Session is one client connection's view of the database. Calls on a
// session come from one goroutine, except Cancel.
type Session interface {
	// ParameterStatus returns the parameters reported to the client at
	// startup (server_version, server_encoding, client_encoding, DateStyle,
	// TimeZone, integer_datetimes, standard_conforming_strings,
	// application_name, IntervalStyle, is_superuser, session_authorization).
	ParameterStatus() map[string]string
	// ChangedParameters returns reported parameters whose value changed
	// since the last call (after SET), to be sent as ParameterStatus.
	ChangedParameters() map[string]string

	// Parse splits a query string into statements. An empty or
	// comment-only string gives zero statements (EmptyQueryResponse).
	// Syntax errors carry SQLSTATE 42601 and a 1-based position.
	Parse(sql string) ([]Statement, error)

	// TxStatus returns 'I' (idle), 'T' (in a transaction block) or 'E'
	// (in a failed transaction block) for ReadyForQuery.
	TxStatus() byte

	// Cancel cancels the statement running now, if any. It may be called
	// from any goroutine; the running statement returns SQLSTATE 57014.
	Cancel()

	// Idle is called each time the connection has said ReadyForQuery and
	// waits for the client's next message. It returns how long that wait
	// may last (0: without limit) and the error the connection is then
	// ended with as FATAL (idle_session_timeout,
	// idle_in_transaction_session_timeout).
	Idle() (time.Duration, error)

	// Close ends the session (rolls back an open transaction).
	Close()
}

// Statement is one parsed SQL statement.
type Statement interface {
	// SQL returns the statement's text.
	SQL() string
	// Prepare resolves names and types. hints holds the parameter type
	// OIDs the client gave (0 = infer); params returns the type of every
	// $n parameter (length = highest n used, at least len(hints)). cols is
	// nil for a statement that returns no rows.
	Prepare(ctx context.Context, hints []uint32) (params []types.T, cols []Column, err error)
	// Execute runs the statement. args are the decoded parameters, one per
	// type returned by Prepare (nil for NULL). Prepare has been called first.
	Execute(ctx context.Context, args []types.Datum) (Result, error)
}

// Column describes one result column (RowDescription).
type Column struct {
	Name     string
	Type     types.T
	TableOID uint32 // 0 if not a plain column of a table
	ColumnNo int16  // attnum in that table, or 0
}

// Result is the output of one executed statement. Rows come in Arrow
// batches whose columns match Columns() one to one.
type Result interface {
	// Columns returns the result's columns; nil for a statement without rows.
	Columns() []Column
	// Next returns the next batch of rows, or nil when there are no more.
	// A streaming result (SUBSCRIBE) may block until rows arrive or ctx ends.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	// Tag returns the command tag (e.g. "SELECT 3", "INSERT 0 1",
	// "CREATE TABLE"); it is called after Next returned nil.
	Tag() string
	// Close releases the result; it may be called before the rows end.
	Close()
}

// BinaryResult is a Result whose rows go out in the binary format when
// the client named no formats (the simple query protocol), as FETCH from
// a cursor declared BINARY does in PostgreSQL. Under the extended
// protocol the formats of Bind decide, as there.
type BinaryResult interface {
	Result
	Binary() bool
}

// BlockingResult is a Result whose Next may wait for rows indefinitely
// (SUBSCRIBE): the rows sent so far are flushed to the client before each
// Next. Other results are flushed when the output buffer grows large and
// at the end of the statement's exchange.
type BlockingResult interface {
	Result
	Blocking() bool
}

// NoticeResult is a Result that carries notices for the client: each goes
// out as a NoticeResponse (severity NOTICE unless it says) before the statement's
// CommandComplete, as PostgreSQL sends the notices a statement raises.
type NoticeResult interface {
	Result
	Notices() []Notice
}

// Notice is one notice: its severity (NOTICE when empty; WARNING,
// INFO, ...), a SQLSTATE (00000 for a plain notice), the message and an
// optional hint.
type Notice struct {
	Severity, Code, Message, Detail, Hint string
}

// CopyInResult is a Result for COPY ... FROM STDIN: the protocol layer
// sends CopyInResponse and feeds the client's data to it.
type CopyInResult interface {
	Result
	// CopyFormat returns 0 for text/csv, 1 for binary, and the number of columns.
	CopyFormat() (format int8, columns int)
	// Write consumes one CopyData payload; it may keep data only until it
	// returns. Rows may be parsed and written as the data arrives, so an
	// error here (a malformed row, a constraint) ends the COPY at once.
	Write(ctx context.Context, data []byte) error
	// Finish is called at CopyDone; it returns the command tag ("COPY n").
	Finish(ctx context.Context) (string, error)
	// Abort is called at CopyFail with the client's message.
	Abort(msg string)
}

// CopyOutResult is a Result for COPY ... TO STDOUT: the protocol layer sends
// CopyOutResponse, then every chunk from NextData, then CopyDone.
type CopyOutResult interface {
	Result
	CopyFormat() (format int8, columns int)
	// NextData returns the next CopyData payload, or nil at the end.
	NextData(ctx context.Context) ([]byte, error)
}
