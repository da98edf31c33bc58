package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Runner runs test files against a server. The zero value is not ready:
// set Engine at least.
type Runner struct {
	// Engine is the name skipif/onlyif conditions are checked against,
	// e.g. "streamsql" or "postgresql".
	Engine string
	// Log, when set, receives one line per record as it runs.
	Log io.Writer
	// MaxFailures caps the failure details kept per file (default 10);
	// the counts are always complete.
	MaxFailures int
	// RecordTimeout bounds one execution of a record (default 2 minutes).
	RecordTimeout time.Duration
	// Rewrite collects, for every query whose rows differ from the
	// expectation, the result block it actually produced (see Rewrite).
	Rewrite bool
	// Skips are records of peer files not run, each with its reason
	// (see RecordSkip).
	Skips []RecordSkip
	// LongOffsets reports whether the expected results of the file at
	// path print time zone offsets with minutes, "+00:00" (RisingWave)
	// where PostgreSQL prints "+00"; the two then compare equal.
	LongOffsets func(path string) bool
	// Restart, when set, restarts the server the file runs on, keeping
	// its data; a file's "control restart" record calls it (and fails
	// without it), and the file's sessions connect again afterwards.
	Restart func(ctx context.Context) error
}

// RecordSkip names one record that is not run: the record of a file
// whose path ends in File that starts at Line, and whose SQL contains
// SQL (so that a changed file is noticed instead of skipping another
// record). A listed skip that matches no record of a file run, or whose
// record does not contain SQL, fails the file.
type RecordSkip struct {
	File   string
	Line   int
	SQL    string
	Reason string
}

// skipsOf returns the skips listed for the file at path.
func (r *Runner) skipsOf(path string) []RecordSkip {
	var out []RecordSkip
	for _, s := range r.Skips {
		if strings.HasSuffix(filepath.ToSlash(path), "/"+s.File) || filepath.ToSlash(path) == s.File {
			out = append(out, s)
		}
	}
	return out
}

// Failure describes one failed record.
type Failure struct {
	File     string
	Line     int
	SQL      string
	Reason   string
	Expected []string
	Got      []string
}

// maxShownLines caps the expected and actual lines printed for a failure.
const maxShownLines = 20

func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s\n", f.File, f.Line, f.Reason)
	writeIndented(&b, "sql:", strings.Split(f.SQL, "\n"))
	if f.Expected != nil {
		writeIndented(&b, "expected:", f.Expected)
	}
	if f.Got != nil {
		writeIndented(&b, "got:", f.Got)
	}
	return strings.TrimRight(b.String(), "\n")
}

func writeIndented(b *strings.Builder, title string, lines []string) {
	fmt.Fprintf(b, "  %s\n", title)
	for i, l := range lines {
		if i == maxShownLines {
			fmt.Fprintf(b, "    ... (%d more lines)\n", len(lines)-i)
			break
		}
		fmt.Fprintf(b, "    %s\n", l)
	}
	if len(lines) == 0 {
		b.WriteString("    (nothing)\n")
	}
}

// FileResult counts the records of one file.
type FileResult struct {
	File                    string
	Passed, Failed, Skipped int
	// Failures holds details of the first failures (see Runner.MaxFailures).
	Failures []Failure
	// Err is set when the file could not be run at all (it then counts as
	// one failed record).
	Err error
	// Rewrites are the corrected result blocks (Runner.Rewrite only).
	Rewrites []Rewrite
}

// Rewrite replaces a query's result block with the rows it returned.
type Rewrite struct {
	File string
	// Replace Count lines after line After (1-based) with Lines.
	After, Count int
	Lines        []string
}

func (r *Runner) maxFailures() int {
	if r.MaxFailures > 0 {
		return r.MaxFailures
	}
	return 10
}

func (r *Runner) recordTimeout() time.Duration {
	if r.RecordTimeout > 0 {
		return r.RecordTimeout
	}
	return 2 * time.Minute
}

// RunFile parses a file (with its includes) and runs it on dsn.
func (r *Runner) RunFile(ctx context.Context, dsn, path string) *FileResult {
	recs, err := ParseFile(path)
	if err != nil {
		return &FileResult{File: path, Failed: 1, Err: err}
	}
	return r.Run(ctx, dsn, path, recs)
}

// implicitFlushRE matches RisingWave's spelling of our implicit_flush setting.
var implicitFlushRE = regexp.MustCompile(`(?i)^(\s*SET\s+)RW_IMPLICIT_FLUSH(\s)`)

// translate rewrites peer spellings into ours.
func translate(sql string) string {
	return implicitFlushRE.ReplaceAllString(sql, "${1}implicit_flush${2}")
}

// fileRun is the state of one file's run.
type fileRun struct {
	r       *Runner
	ctx     context.Context
	dsn     string
	res     *FileResult
	conns   map[string]*pgx.Conn
	subst   bool            // control substitution on
	unknown map[string]bool // variables set by skipped let records
}

// Run executes parsed records on dsn. name labels the result.
func (r *Runner) Run(ctx context.Context, dsn, name string, recs []Record) *FileResult {
	fr := &fileRun{r: r, ctx: ctx, dsn: dsn, res: &FileResult{File: name},
		conns: map[string]*pgx.Conn{}, unknown: map[string]bool{}}
	defer fr.closeAll()
	skips := map[string]RecordSkip{}
	for _, s := range r.skipsOf(name) {
		skips[fmt.Sprint(s.File, ":", s.Line)] = s
	}
	defer func() {
		for _, s := range skips {
			fr.fail(&Record{File: name, Line: s.Line, SQL: s.SQL},
				"a listed skip matches no record of the file (was the file changed?)", nil, nil)
		}
	}()
	for i := range recs {
		rec := &recs[i]
		if ctx.Err() != nil {
			fr.fail(rec, "run cancelled: "+ctx.Err().Error(), nil, nil)
			break
		}
		if !r.applies(rec) {
			if rec.Kind == KindStatement || rec.Kind == KindQuery {
				fr.skip(rec, "condition")
			}
			continue
		}
		switch rec.Kind {
		case KindHalt:
			fr.logf("%s:%d: halt", rec.File, rec.Line)
			return fr.res
		case KindHashThreshold, KindInclude:
			// Results are compared in the notation the file uses.
		case KindControl:
			switch collapse(rec.Control) {
			case "substitution on":
				fr.subst = true
			case "substitution off":
				fr.subst = false
			case "restart":
				fr.restart(rec)
			}
		case KindSleep:
			select {
			case <-time.After(rec.Sleep):
			case <-ctx.Done():
			}
		case KindSkipped:
			for _, v := range rec.LetVars {
				fr.unknown[v] = true
			}
			fr.skip(rec, "peer internals")
		case KindStatement, KindQuery:
			if s, ok := fr.listedSkip(rec, skips); ok {
				delete(skips, fmt.Sprint(s.File, ":", s.Line))
				if !strings.Contains(rec.SQL, s.SQL) {
					fr.fail(rec, fmt.Sprintf("the listed skip of this record expects SQL containing %q (was the file changed?)", s.SQL), nil, nil)
					continue
				}
				fr.skip(rec, s.Reason)
				continue
			}
			if fr.refersToUnknown(rec.SQL) {
				fr.skip(rec, "uses a variable of a skipped let")
				continue
			}
			fr.runWithRetry(rec)
		}
	}
	return fr.res
}

// listedSkip finds the listed skip of rec (which may come from an
// included file).
func (fr *fileRun) listedSkip(rec *Record, skips map[string]RecordSkip) (RecordSkip, bool) {
	mine := fr.r.skipsOf(rec.File)
	for _, s := range skips {
		if s.Line == rec.Line && slices.Contains(mine, s) {
			return s, true
		}
	}
	return RecordSkip{}, false
}

// applies evaluates skipif/onlyif.
func (r *Runner) applies(rec *Record) bool {
	for _, c := range rec.Conditions {
		same := strings.EqualFold(c.Engine, r.Engine)
		if c.Only != same {
			return false
		}
	}
	return true
}

func (fr *fileRun) refersToUnknown(sql string) bool {
	if !fr.subst || len(fr.unknown) == 0 || !strings.Contains(sql, "$") {
		return false
	}
	for v := range fr.unknown {
		if strings.Contains(sql, "${"+v+"}") {
			return true
		}
		re := regexp.MustCompile(`\$` + regexp.QuoteMeta(v) + `\b`)
		if re.MatchString(sql) {
			return true
		}
	}
	return false
}

func (fr *fileRun) logf(format string, args ...any) {
	if fr.r.Log != nil {
		fmt.Fprintf(fr.r.Log, format+"\n", args...)
	}
}

func (fr *fileRun) skip(rec *Record, why string) {
	fr.res.Skipped++
	fr.logf("%s:%d: skipped (%s)", rec.File, rec.Line, why)
}

func (fr *fileRun) pass(rec *Record) {
	fr.res.Passed++
	fr.logf("%s:%d: ok", rec.File, rec.Line)
}

func (fr *fileRun) fail(rec *Record, reason string, expected, got []string) {
	fr.res.Failed++
	f := Failure{File: rec.File, Line: rec.Line, SQL: rec.SQL, Reason: reason, Expected: expected, Got: got}
	if len(fr.res.Failures) < fr.r.maxFailures() {
		fr.res.Failures = append(fr.res.Failures, f)
	}
	fr.logf("%s", f)
}

// restart restarts the server through the runner's hook; the sessions
// of the file are gone with it and connect again on their next record.
func (fr *fileRun) restart(rec *Record) {
	if fr.r.Restart == nil {
		fr.fail(rec, "control restart: this runner cannot restart its server", nil, nil)
		return
	}
	fr.closeAll()
	clear(fr.conns)
	ctx, cancel := context.WithTimeout(fr.ctx, fr.r.recordTimeout())
	defer cancel()
	if err := fr.r.Restart(ctx); err != nil {
		fr.fail(rec, "control restart: "+err.Error(), nil, nil)
		return
	}
	fr.logf("%s:%d: restarted", rec.File, rec.Line)
}

func (fr *fileRun) closeAll() {
	for _, c := range fr.conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Close(ctx)
		cancel()
	}
}

// conn returns the named session, connecting on first use and again after
// the server closed it.
func (fr *fileRun) conn(name string) (*pgx.Conn, error) {
	if c, ok := fr.conns[name]; ok && !c.IsClosed() {
		return c, nil
	}
	cfg, err := pgx.ParseConfig(fr.dsn)
	if err != nil {
		return nil, err
	}
	// Simple protocol: results come back in the server's text format.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	ctx, cancel := context.WithTimeout(fr.ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fr.conns[name] = c
	return c, nil
}

// outcome of one execution of a record.
type outcome struct {
	reason   string // "" when the record passed
	expected []string
	got      []string
	rewrite  []string // the result block the query produced, on a row mismatch
}

func (fr *fileRun) runWithRetry(rec *Record) {
	var o outcome
	for attempt := 0; ; attempt++ {
		o = fr.runOnce(rec)
		if o.reason == "" || attempt >= rec.Retry || fr.ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(rec.Backoff):
		case <-fr.ctx.Done():
		}
	}
	if o.reason == "" {
		fr.pass(rec)
	} else {
		fr.fail(rec, o.reason, o.expected, o.got)
		if fr.r.Rewrite && o.rewrite != nil && rec.SQLEndLine > 0 {
			fr.res.Rewrites = append(fr.res.Rewrites, Rewrite{File: rec.File,
				After: rec.SQLEndLine, Count: rec.ResultLines, Lines: o.rewrite})
		}
	}
}

func (fr *fileRun) runOnce(rec *Record) outcome {
	c, err := fr.conn(rec.Connection)
	if err != nil {
		return outcome{reason: "connect: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(fr.ctx, fr.r.recordTimeout())
	defer cancel()
	res, err := execute(ctx, c, translate(rec.SQL))
	if rec.ExpectError {
		if err == nil {
			return outcome{reason: "expected an error, statement succeeded", expected: errorExpectation(rec)}
		}
		text := errorText(err)
		if m := checkError(rec, text); m != "" {
			return outcome{reason: m, expected: errorExpectation(rec), got: strings.Split(text, "\n")}
		}
		return outcome{}
	}
	if err != nil {
		return outcome{reason: "unexpected error: " + errorText(err)}
	}
	if rec.Kind == KindStatement {
		if rec.ExpectCount >= 0 && res.tag.RowsAffected() != rec.ExpectCount {
			return outcome{reason: fmt.Sprintf("statement affected %d rows, expected %d",
				res.tag.RowsAffected(), rec.ExpectCount)}
		}
		return outcome{}
	}
	if fr.r.LongOffsets != nil && fr.r.LongOffsets(fr.res.File) {
		rec = shortOffsets(rec)
	}
	if m, got := checkResult(rec, res.rows, res.ncols); m != "" {
		exp := rec.Expected
		if exp == nil {
			exp = []string{}
		}
		if got == nil {
			got = []string{}
		}
		rw := []string{}
		switch {
		case rec.HasHash:
			rw = []string{"----", got[0]}
		case len(got) > 0:
			rw = append([]string{"----"}, got...)
		}
		return outcome{reason: m, expected: exp, got: got, rewrite: rw}
	}
	return outcome{}
}

// longOffsetRE matches a time of day followed by a whole-hour offset
// written with minutes.
var longOffsetRE = regexp.MustCompile(`(\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d):00\b`)

// shortOffsets returns rec with its expected offsets written as
// PostgreSQL prints them ("+00:00" becomes "+00").
func shortOffsets(rec *Record) *Record {
	c := *rec
	c.Expected = make([]string, len(rec.Expected))
	for i, e := range rec.Expected {
		c.Expected[i] = longOffsetRE.ReplaceAllString(e, "$1")
	}
	return &c
}

func errorExpectation(rec *Record) []string {
	var out []string
	if rec.ErrorRegex != "" {
		out = append(out, "error matching /"+rec.ErrorRegex+"/")
	}
	if rec.ErrorText != "" {
		out = append(out, strings.Split(rec.ErrorText, "\n")...)
	}
	if out == nil {
		out = []string{"any error"}
	}
	return out
}

// errorText is what error regexes are matched against: the server's
// "ERROR: message (SQLSTATE code)" plus detail and hint lines.
func errorText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := pe.Error()
		if pe.Detail != "" {
			s += "\nDETAIL: " + pe.Detail
		}
		if pe.Hint != "" {
			s += "\nHINT: " + pe.Hint
		}
		return s
	}
	return err.Error()
}

type execResult struct {
	rows  [][]Value
	ncols int
	tag   pgconn.CommandTag
}

// execute sends sql as one simple Query message and collects the rows of
// every result set that has columns.
func execute(ctx context.Context, c *pgx.Conn, sql string) (execResult, error) {
	var out execResult
	mrr := c.PgConn().Exec(ctx, sql)
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		if fds := rr.FieldDescriptions(); len(fds) > 0 {
			out.ncols = len(fds)
		}
		for rr.NextRow() {
			vals := rr.Values()
			row := make([]Value, len(vals))
			for i, v := range vals {
				if v != nil {
					row[i] = append(make(Value, 0, len(v)), v...)
				}
			}
			out.rows = append(out.rows, row)
		}
		tag, err := rr.Close()
		if err != nil {
			_ = mrr.Close()
			return out, err
		}
		out.tag = tag
	}
	return out, mrr.Close()
}
