package engine

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
	"streamsql/udf"
)

// setting is a session variable with its default and whether a change is
// reported to the client as ParameterStatus.
type setting struct {
	def      string
	reported bool
	desc     string
}

var settings = map[string]setting{
	"server_version":                      {def: Version, reported: true, desc: "Shows the server version."},
	"server_version_num":                  {def: "150000", desc: "Shows the server version as an integer."},
	"server_encoding":                     {def: "UTF8", reported: true, desc: "Shows the server (database) character set encoding."},
	"client_encoding":                     {def: "UTF8", reported: true, desc: "Sets the client's character set encoding."},
	"datestyle":                           {def: "ISO, MDY", reported: true, desc: "Sets the display format for date and time values."},
	"timezone":                            {def: "UTC", reported: true, desc: "Sets the time zone for displaying and interpreting time stamps."},
	"integer_datetimes":                   {def: "on", reported: true, desc: "Shows whether datetimes are integer based."},
	"standard_conforming_strings":         {def: "on", reported: true, desc: "Causes '...' strings to treat backslashes literally."},
	"application_name":                    {def: "", reported: true, desc: "Sets the application name to be reported in statistics and logs."},
	"intervalstyle":                       {def: "postgres", reported: true, desc: "Sets the display format for interval values."},
	"is_superuser":                        {def: "on", reported: true, desc: "Shows whether the current user is a superuser."},
	"session_authorization":               {def: "streamsql", reported: true, desc: "Sets the session user name."},
	"search_path":                         {def: `"$user", public`, desc: "Sets the schema search order for names that are not schema-qualified."},
	"extra_float_digits":                  {def: "1", desc: "Sets the number of digits displayed for floating-point values."},
	"statement_timeout":                   {def: "0", desc: "Sets the maximum allowed duration of any statement."},
	"lock_timeout":                        {def: "0", desc: "Sets the maximum allowed duration of any wait for a lock."},
	"deadlock_timeout":                    {def: "1s", desc: "Sets the time to wait on a lock before checking for deadlock."},
	"idle_in_transaction_session_timeout": {def: "0", desc: "Sets the maximum allowed idle time between queries, when in a transaction."},
	"idle_session_timeout":                {def: "0", desc: "Sets the maximum allowed idle time between queries, when not in a transaction."},
	"transaction_isolation":               {def: "read committed", desc: "Sets the current transaction's isolation level."},
	"default_transaction_isolation":       {def: "read committed", desc: "Sets the transaction isolation level of each new transaction."},
	"transaction_read_only":               {def: "off", desc: "Sets the current transaction's read-only status."},
	"max_identifier_length":               {def: "63", desc: "Shows the maximum identifier length."},
	"bytea_output":                        {def: "hex", desc: "Sets the output format for bytea."},
	"client_min_messages":                 {def: "notice", desc: "Sets the message levels that are sent to the client."},
	"lc_collate":                          {def: "C", desc: "Shows the collation order locale."},
	"lc_ctype":                            {def: "C", desc: "Shows the character classification and case conversion locale."},
	"default_transaction_read_only":       {def: "off", desc: "Sets the default read-only status of new transactions."},
	"implicit_flush":                      {def: "off", desc: "Makes every DML statement return only once its effects are visible in every view."},
	"subscribe_buffer_rows":               {def: "100000", desc: "Sets how many changes may wait for a slow SUBSCRIBE client before it is cut off."},
	"streaming_parallelism":               {def: "0", desc: "Sets the number of parallel workers of new streaming jobs (0 = the core count)."},
	"streaming_two_phase_agg":             {def: "off", desc: "Sets whether aggregations of new parallel streaming jobs run in a local and a global phase (auto, on, off)."},
	"barrier_interval":                    {def: "20ms", desc: "Sets the interval between checkpoint barriers of streaming jobs."},
	"barrier_write_delay":                 {def: "10ms", desc: "Sets the longest a table write waits for the barrier that makes it visible in views (0: the next interval)."},
	"max_recursive_iterations":            {def: "100000", desc: "Sets the maximum number of runs of the recursive term of a WITH RECURSIVE query."},
	"max_connections":                     {def: "100", desc: "Sets the maximum number of concurrent connections."},
	"authentication_timeout":              {def: "1min", desc: "Sets the maximum allowed time to complete client authentication."},
	"row_security":                        {def: "on", desc: "Enable row security."},
	"udf_timeout":                         {def: "1s", desc: "Sets the longest time one call of a JavaScript or WebAssembly function may run."},
	"udf_memory_limit":                    {def: "256MB", desc: "Sets how much one call of a JavaScript or WebAssembly function may grow the heap or its memory."},
	"query_mem":                           {desc: "Sets the memory of one query before sorts, hash aggregations and hash joins spill to disk (work_mem is an alias)."},
}

// Session is one client connection.
type Session struct {
	e *Engine
	// seqs is what nextval gave this session (sequence.go).
	seqs sessionSequences
	// sqlCalls counts nested per-call SQL function evaluations
	// (sql_function_call.go).
	sqlCalls sqlCallDepth
	info     pgwire.StartupInfo
	// pendingNotices are the notices the running statement raised.
	pendingNotices []pgwire.Notice
	// sessionUser is who authenticated; role is the role chosen by SET
	// ROLE ("" for none: the current user is the session user).
	sessionUser, role string
	// authUser is who authenticated: SET SESSION AUTHORIZATION may change
	// sessionUser when authUser is a superuser. txnAuth is who the
	// session acted as when its transaction block began (role.go).
	authUser string
	txnAuth  authState

	vars    map[string]string
	changed map[string]string

	txn       *storage.Txn // open transaction block, or nil
	txnFailed bool
	txnStart  time.Time
	// txnIso names the open block's isolation level when BEGIN or SET
	// TRANSACTION chose one; txnReadOnly refuses writes in it.
	txnIso      string
	txnReadOnly bool
	// savepoints of the open block, oldest first (savepoint.go).
	savepoints []savepoint
	// cursors are the open cursors by name (cursor.go).
	cursors map[string]*sessionCursor

	// stmtStart is when the running statement's clock started, zero
	// between statements; clocks are the statement_timeout timers of
	// open statements (timeouts.go).
	stmtStart time.Time
	clocks    map[*stmtRun]struct{}

	mu      sync.Mutex
	cancel  context.CancelCauseFunc // cancels the running statement
	stmtGen uint64                  // counts statement contexts
	// parsing is set during Parse, inStatement from a statement's Prepare
	// to its end; a Cancel that finds no running context then leaves
	// cancelPending for the statement's next step.
	parsing, inStatement, cancelPending bool

	// act is what pg_stat_activity shows of the session; ended is
	// closed when the session closes (activity.go).
	act   *activity
	ended chan struct{}

	// connMem is the memory of this connection's open statements
	// together (query_mem.go).
	connMem *exec.MemPool

	// advisory are the advisory locks the session holds
	// (advisory_lock.go).
	advisory sessionAdvisory
	// tables are the relation locks of the session's transaction
	// (table_lock.go); lockTxn is the id of the transaction it runs (0:
	// none), for the wait-for graph (deadlock.go) and pg_locks.
	tables  sessionTableLocks
	lockTxn atomic.Uint64
	// temp are the session's temporary relations (temp_tables.go).
	temp sessionTemp
	// routines are the changes of routines in the open transaction
	// block (routine_txn.go).
	routines []routineChange
	// timeouts caches the timeout settings (timeouts.go).
	timeouts sessionTimeouts
	cached   sessionSettings
	// lxid counts the session's transactions (its virtual transaction
	// id, lock_view.go).
	lxid atomic.Uint64
	// txid is txid_current() of the transaction block txidTxn, or of the
	// statement txidGen outside a block (txid.go).
	txid    int64
	txidTxn *storage.Txn
	txidGen uint64
}

func newSession(e *Engine, info pgwire.StartupInfo) (*Session, error) {
	s := &Session{e: e, info: info, sessionUser: info.User, authUser: info.User, vars: map[string]string{}, changed: map[string]string{}, clocks: map[*stmtRun]struct{}{}}
	s.startActivity()
	if info.Application != "" {
		s.vars["application_name"] = info.Application
	}
	if info.User != "" {
		s.vars["session_authorization"] = info.User
	}
	// ALTER ROLE ... SET settings first: the client's parameters win.
	if err := s.applyRoleSettings(); err != nil {
		return nil, err
	}
	for k, v := range info.Params {
		lk := strings.ToLower(k)
		if st, ok := settings[lk]; ok && lk != "server_version" && lk != "server_encoding" && lk != "integer_datetimes" {
			_ = st
			s.vars[lk] = v
		}
	}
	// "options" carries -c name=value (PGOPTIONS); those and the timeouts
	// are checked as SET checks them, and a bad one refuses the connection.
	opts, err := parseStartupOptions(info.Params["options"])
	if err != nil {
		return nil, err
	}
	for k, v := range info.Params {
		if timeoutSettings[strings.ToLower(k)] {
			opts = append([][2]string{{k, v}}, opts...)
		}
	}
	for _, kv := range opts {
		if err := s.set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	s.reportSuperuser()
	clear(s.changed)
	return s, nil
}

func (s *Session) get(name string) (string, bool) {
	name = settingAlias(strings.ToLower(name))
	if v, ok := s.e.server[name]; ok {
		return v, true
	}
	if v, ok := s.vars[name]; ok {
		return v, true
	}
	if v, ok := s.e.defaults[name]; ok {
		return v, true
	}
	if name == "query_mem" {
		return s.e.queryMemSetting(), true
	}
	if st, ok := settings[name]; ok {
		return st.def, true
	}
	return "", false
}

// displayName maps a lower-case setting to the spelling PostgreSQL reports.
func displayName(name string) string {
	switch name {
	case "datestyle":
		return "DateStyle"
	case "timezone":
		return "TimeZone"
	case "intervalstyle":
		return "IntervalStyle"
	}
	return name
}

// ParameterStatus implements pgwire.Session.
func (s *Session) ParameterStatus() map[string]string {
	out := map[string]string{}
	for name, st := range settings {
		if st.reported {
			v, _ := s.get(name)
			out[displayName(name)] = v
		}
	}
	return out
}

// ChangedParameters implements pgwire.Session.
func (s *Session) ChangedParameters() map[string]string {
	if len(s.changed) == 0 {
		return nil
	}
	out := s.changed
	s.changed = map[string]string{}
	return out
}

func (s *Session) set(name, value string) error {
	name = settingAlias(strings.ToLower(name))
	st, known := settings[name]
	if !known {
		if !strings.Contains(name, ".") {
			return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
		}
	}
	switch name {
	case "timezone":
		if _, err := loadLocation(value); err != nil {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", value)
		}
	case "server_version", "server_encoding", "integer_datetimes", "max_identifier_length", "lc_collate", "lc_ctype", "server_version_num",
		"max_connections", "authentication_timeout", "is_superuser", "session_authorization":
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "parameter %q cannot be changed", name)
	case "client_encoding":
		u := strings.ToUpper(strings.ReplaceAll(value, "-", ""))
		if u != "UTF8" && u != "UNICODE" && u != "SQL_ASCII" {
			return sqlerr.New(sqlerr.FeatureNotSupported, "conversion between %s and UTF8 is not supported", value)
		}
		value = "UTF8"
	case "standard_conforming_strings":
		if strings.ToLower(value) != "on" && strings.ToLower(value) != "true" {
			return sqlerr.New(sqlerr.FeatureNotSupported, "standard_conforming_strings cannot be turned off")
		}
		value = "on"
	case "datestyle":
		value = normalizeDateStyle(value)
	case "row_security":
		switch strings.ToLower(strings.Trim(value, "'\" ")) {
		case "on", "true", "yes", "1", "t", "y":
			value = "on"
		case "off", "false", "no", "0", "f", "n":
			value = "off"
		default:
			return sqlerr.New(sqlerr.InvalidParameterValue, "parameter \"row_security\" requires a Boolean value")
		}
	case "barrier_interval":
		// The interval is the database's: one coordinator cuts every job.
		d, err := parseBarrierDuration(value)
		if err != nil || d < time.Millisecond || d > time.Hour {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"barrier_interval\": %q (a duration such as 100ms, or milliseconds)", value)
		}
		s.e.coord.SetInterval(d)
	case "barrier_write_delay":
		d, err := parseBarrierDuration(value)
		if err != nil || d < 0 || d > time.Hour {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"barrier_write_delay\": %q (a duration such as 10ms, or milliseconds; 0 for none)", value)
		}
		s.e.coord.SetWriteDelay(d)
	case "client_min_messages":
		v := strings.ToLower(strings.Trim(value, "'\" "))
		if _, ok := messageLevels[v]; !ok || v == "info" {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"client_min_messages\": %q", value).
				WithHint("Available values: debug5, debug4, debug3, debug2, debug1, log, notice, warning, error.")
		}
		value = v
	case "max_recursive_iterations":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"max_recursive_iterations\": %q", value)
		}
	case "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout":
		_, norm, err := parseTimeout(name, value)
		if err != nil {
			return err
		}
		value = norm
	case "deadlock_timeout":
		v, err := s.checkDeadlockTimeout(value)
		if err != nil {
			return err
		}
		value = v
	case "subscribe_buffer_rows":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"subscribe_buffer_rows\": %q", value)
		}
	case "streaming_parallelism":
		if n, err := strconv.Atoi(value); err != nil || n < 0 {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"streaming_parallelism\": %q", value)
		}
	case "streaming_two_phase_agg":
		v, err := lower.CheckTwoPhaseAgg(strings.ToLower(strings.Trim(value, "'\" ")))
		if err != nil {
			return err
		}
		value = v
	case "udf_timeout":
		if d, err := udf.ParseDurationSetting(value); err != nil || d < time.Millisecond || d > time.Hour {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"udf_timeout\": %q (a duration from 1ms to 1h, such as 500ms or 2s)", value)
		}
		value = strings.Trim(value, "'\" ")
	case "udf_memory_limit":
		if n, err := udf.ParseBytesSetting(value); err != nil || n < 1<<20 {
			return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"udf_memory_limit\": %q (a size of at least 1MB, such as 64MB)", value)
		}
		value = strings.Trim(value, "'\" ")
	case "query_mem":
		v, err := checkQueryMem(name, value)
		if err != nil {
			return err
		}
		value = v
	}
	s.vars[name] = value
	s.settingsChanged()
	if st.reported {
		s.changed[displayName(name)] = value
	}
	return nil
}

func normalizeDateStyle(v string) string {
	out := "ISO, MDY"
	if strings.Contains(strings.ToUpper(v), "DMY") {
		out = "ISO, DMY"
	}
	return out
}

func loadLocation(name string) (*time.Location, error) {
	n := strings.Trim(name, "'\" ")
	switch strings.ToUpper(n) {
	case "UTC", "GMT", "Z", "ZULU", "UCT":
		return time.UTC, nil
	case "LOCAL", "DEFAULT":
		return time.UTC, nil
	}
	return time.LoadLocation(n)
}

func (s *Session) location() *time.Location { return s.settings().loc }

// searchPathUncached computes the effective search path for relation
// names and how many of its first schemas are searched without
// search_path naming them: the temporary schema and pg_catalog, as
// PostgreSQL searches its temporary schema first (before pg_catalog)
// unless the path places pg_temp. A path without the temporary schema
// leaves pg_catalog implicit as before: whoever searches it searches
// pg_catalog first unless the path names it. Another session's temporary
// schema is never on the path. searchPathImplicit caches it.
func (s *Session) searchPathUncached() ([]string, int) {
	temp := s.temp.schema
	var out []string
	explicitTemp := false
	for _, p := range splitSearchPath(s.getSearchPath()) {
		switch {
		case p == "$user":
			if user := s.expandUser(p); user != "" {
				out = append(out, user)
			}
		case p == catalog.TempAlias || p == temp && p != "":
			explicitTemp = true
			if temp != "" && !slices.Contains(out, temp) {
				out = append(out, temp)
			}
		case catalog.IsTempSchema(p):
		default:
			out = append(out, p)
		}
	}
	// Schemas the current role may not use are left out, as PostgreSQL
	// leaves them out of the effective search path.
	out = slices.DeleteFunc(out, func(name string) bool {
		return !s.hasSchemaPrivilege(s.currentUser(), name, 'U')
	})
	if temp == "" || explicitTemp {
		return out, 0
	}
	implicit := []string{temp}
	if !slices.Contains(out, "pg_catalog") {
		implicit = append(implicit, "pg_catalog")
	}
	return append(implicit, out...), len(implicit)
}

func (s *Session) getSearchPath() string {
	v, _ := s.get("search_path")
	return v
}

// splitSearchPath splits a search_path value into its schema names.
func splitSearchPath(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.Trim(strings.TrimSpace(p), `"`); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// expandUser is search path entry p with $user standing for the session
// user's schema ("" when it has none).
func (s *Session) expandUser(p string) string {
	if p != "$user" {
		return p
	}
	if _, ok := s.e.cat.SchemaByName(s.info.User); ok {
		return s.info.User
	}
	return ""
}

func (s *Session) currentSchema() string {
	path, implicit := s.searchPathImplicit()
	for _, p := range path[implicit:] {
		if _, ok := s.e.cat.SchemaByName(p); ok {
			return p
		}
	}
	return "public"
}

// schemaOrCurrent is schema, or the current schema when schema is empty
// (a SHOW ... without FROM schema).
func (s *Session) schemaOrCurrent(schema string) string {
	if schema == "" {
		return s.currentSchema()
	}
	return schema
}

// Parse implements pgwire.Session.
func (s *Session) Parse(sql string) ([]pgwire.Statement, error) {
	// The grammar cannot be interrupted; a cancel that arrives meanwhile
	// cancels the statement as soon as it starts.
	s.mu.Lock()
	s.parsing = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.parsing = false
		s.mu.Unlock()
	}()
	if st := s.literalInsertStatement(sql); st != nil {
		return []pgwire.Statement{st}, nil
	}
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	out := make([]pgwire.Statement, len(stmts))
	for i, st := range stmts {
		out[i] = &statement{s: s, st: st, whole: sql}
	}
	return out, nil
}

// TxStatus implements pgwire.Session.
func (s *Session) TxStatus() byte {
	switch {
	case s.txn == nil:
		return 'I'
	case s.txnFailed:
		return 'E'
	}
	return 'T'
}

// Cancel implements pgwire.Session.
func (s *Session) Cancel() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel(errCanceledByUser)
	} else if s.parsing || s.inStatement {
		s.cancelPending = true
	}
	s.mu.Unlock()
}

// Close implements pgwire.Session.
func (s *Session) Close() {
	s.closeCursors(true)
	if s.txn != nil {
		s.txn.Rollback()
		s.txn = nil
	}
	s.routinesTxnEnd(false)
	s.closeTemp()
	s.releaseAdvisory(&s.advisory.xact)
	s.releaseAdvisory(&s.advisory.session)
	s.releaseTableLocks(0)
	s.lockTxn.Store(0)
	s.e.forget(s)
	select {
	case <-s.ended:
	default:
		close(s.ended)
	}
}

func sortedSettingNames() []string {
	names := make([]string, 0, len(settings))
	for n := range settings {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// settingAlias maps other streaming databases' names of our settings.
func settingAlias(name string) string {
	switch name {
	case "rw_implicit_flush":
		return "implicit_flush"
	case "work_mem":
		return "query_mem"
	}
	return name
}

// parseBarrierDuration reads a duration setting of the coordinator: Go's
// duration syntax (100ms, 1s) or a number of milliseconds.
func parseBarrierDuration(value string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.Trim(value, "'\" "))
	if err != nil {
		if ms, aerr := strconv.Atoi(value); aerr == nil {
			d, err = time.Duration(ms)*time.Millisecond, nil
		}
	}
	return d, err
}
