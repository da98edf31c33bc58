package sqllogictest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format is the dialect of a test file.
type Format int

const (
	// FormatClassic is SQLite's sqllogictest: one value per line.
	FormatClassic Format = iota
	// FormatRS is sqllogictest-rs: one row per line.
	FormatRS
)

func (f Format) String() string {
	if f == FormatClassic {
		return "classic"
	}
	return "sqllogictest-rs"
}

// DetectFormat decides a file's dialect from its name: ".test" files are
// classic, everything else (".slt", ".slt.part") is sqllogictest-rs. A first
// line "# format: classic" or "# format: rs" overrides the name (see
// ParseFile).
func DetectFormat(path string) Format {
	if strings.HasSuffix(path, ".test") {
		return FormatClassic
	}
	return FormatRS
}

// formatMarker reads a "# format: classic|rs" first line.
func formatMarker(first string) (Format, bool) {
	s := strings.TrimSpace(first)
	if !strings.HasPrefix(s, "#") {
		return 0, false
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "#"))
	switch s {
	case "format: classic":
		return FormatClassic, true
	case "format: rs", "format: sqllogictest-rs":
		return FormatRS, true
	}
	return 0, false
}

// Kind says what a record does.
type Kind int

const (
	KindStatement     Kind = iota // statement ok | error | count N
	KindQuery                     // query <types> ... or query error
	KindHashThreshold             // hash-threshold N
	KindHalt                      // halt: stop the file here
	KindSleep                     // sleep <duration>
	KindSkipped                   // system ok, let: foreign internals, counted as skipped
	KindControl                   // control ...: settings of the runner
	KindInclude                   // include <glob>; expanded by ParseFile
)

// SortMode is how rows are ordered before comparison.
type SortMode int

const (
	NoSort SortMode = iota
	RowSort
	ValueSort
)

// sortModeNames are the words of a query line that set its SortMode.
var sortModeNames = [...]string{"nosort", "rowsort", "valuesort"}

// Condition is one skipif/onlyif line.
type Condition struct {
	Only   bool // onlyif (else skipif)
	Engine string
}

// Record is one unit of a test file.
type Record struct {
	Kind   Kind
	Format Format
	File   string
	Line   int // line of the record's first line (conditions included)

	Conditions []Condition
	Connection string // named session; "" is the default one

	SQL string

	// Statements and queries expected to fail.
	ExpectError bool
	ErrorRegex  string // empty: any error
	ErrorText   string // multi-line expected error after ----
	// statement count N
	ExpectCount int64 // -1 when not checked

	// Queries.
	Types    string
	Sort     SortMode
	Label    string
	Expected []string // result lines as written
	HasHash  bool
	HashN    int    // N of "N values hashing to H"
	Hash     string // H of the same
	// Retry: on failure run again up to Retry times, sleeping Backoff between.
	Retry   int
	Backoff time.Duration

	// Where the result block sits, for rewriting: the last SQL line and
	// the number of lines after it ("----" and the block) that belong to
	// the record.
	SQLEndLine  int
	ResultLines int

	Threshold int           // hash-threshold
	Sleep     time.Duration // sleep
	Glob      string        // include
	Control   string        // control line, e.g. "substitution on"
	LetVars   []string      // variables a skipped let record would set
}

var hashLineRE = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-fA-F]{32})$`)

// ParseFile reads a file and the files it includes, in order.
func ParseFile(path string) ([]Record, error) {
	return parseFile(path, DetectFormat(path), 0)
}

func parseFile(path string, format Format, depth int) ([]Record, error) {
	if depth > 16 {
		return nil, fmt.Errorf("%s: includes nested too deep", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if f, ok := formatMarker(first); ok {
		format = f
	}
	recs, err := Parse(path, strings.NewReader(string(data)), format)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, r := range recs {
		if r.Kind != KindInclude {
			out = append(out, r)
			continue
		}
		pattern := r.Glob
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(path), pattern)
		}
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: include %q: %w", path, r.Line, r.Glob, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s:%d: include %q matches no file", path, r.Line, r.Glob)
		}
		sort.Strings(matches)
		for _, m := range matches {
			sub, err := parseFile(m, DetectFormat(m), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// lineReader yields lines with their numbers and allows one step back.
type lineReader struct {
	lines []string
	pos   int
}

func (l *lineReader) next() (string, int, bool) {
	if l.pos >= len(l.lines) {
		return "", 0, false
	}
	l.pos++
	return l.lines[l.pos-1], l.pos, true
}

func (l *lineReader) peek() (string, bool) {
	if l.pos >= len(l.lines) {
		return "", false
	}
	return l.lines[l.pos], true
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// Parse reads records from r. Include records are returned as they are.
func Parse(name string, r io.Reader, format Format) ([]Record, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lr := &lineReader{lines: lines}
	var recs []Record
	var conds []Condition
	conn := ""
	startLine := 0
	for {
		line, n, ok := lr.next()
		if !ok {
			break
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			// A blank line between conditions and their record is tolerated.
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		fields := strings.Fields(trimmed)
		if len(conds) == 0 && conn == "" {
			startLine = n
		}
		rec := Record{Format: format, File: name, Line: startLine, ExpectCount: -1}
		errf := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		switch fields[0] {
		case "skipif", "onlyif":
			if len(fields) < 2 {
				return nil, errf("%s needs an engine name", fields[0])
			}
			conds = append(conds, Condition{Only: fields[0] == "onlyif", Engine: fields[1]})
			continue
		case "connection":
			if len(fields) < 2 {
				return nil, errf("connection needs a name")
			}
			conn = fields[1]
			if conn == "default" {
				conn = ""
			}
			continue
		case "statement":
			rec.Kind = KindStatement
			if len(fields) < 2 {
				return nil, errf("statement needs ok, error or count")
			}
			switch fields[1] {
			case "ok":
			case "error":
				rec.ExpectError = true
				rec.ErrorRegex = restAfter(trimmed, 2)
			case "count":
				if len(fields) < 3 {
					return nil, errf("statement count needs a number")
				}
				c, err := strconv.ParseInt(fields[2], 10, 64)
				if err != nil {
					return nil, errf("statement count: %v", err)
				}
				rec.ExpectCount = c
			default:
				return nil, errf("unknown statement kind %q", fields[1])
			}
			if !rec.ExpectError {
				if err := parseRetry(&rec, fields[2:]); err != nil {
					return nil, errf("%v", err)
				}
			}
			rec.SQL = readSQL(lr)
			if l, ok := lr.peek(); ok && strings.TrimSpace(l) == "----" {
				lr.next()
				block := readBlock(lr)
				if rec.ExpectError {
					rec.ErrorText = strings.Join(block, "\n")
				}
			}
		case "query":
			rec.Kind = KindQuery
			if len(fields) >= 2 && fields[1] == "error" {
				rec.ExpectError = true
				rec.ErrorRegex = restAfter(trimmed, 2)
			} else {
				if len(fields) >= 2 {
					rec.Types = fields[1]
				}
				rest := []string{}
				if len(fields) > 2 {
					rest = fields[2:]
				}
				for i := 0; i < len(rest); i++ {
					if m := slices.Index(sortModeNames[:], rest[i]); m >= 0 {
						rec.Sort = SortMode(m)
					} else if rest[i] == "retry" {
						if err := parseRetry(&rec, rest[i:]); err != nil {
							return nil, errf("%v", err)
						}
						i = len(rest)
					} else {
						rec.Label = rest[i]
					}
				}
			}
			rec.SQL = readSQL(lr)
			rec.SQLEndLine = lr.pos
			if l, ok := lr.peek(); ok && strings.TrimSpace(l) == "----" {
				lr.next()
				block := readBlock(lr)
				rec.ResultLines = lr.pos - rec.SQLEndLine
				if rec.ExpectError {
					rec.ErrorText = strings.Join(block, "\n")
				} else {
					rec.Expected = block
					if len(block) == 1 {
						if m := hashLineRE.FindStringSubmatch(strings.TrimSpace(block[0])); m != nil {
							rec.HasHash = true
							rec.HashN, _ = strconv.Atoi(m[1])
							rec.Hash = strings.ToLower(m[2])
						}
					}
				}
			}
		case "hash-threshold":
			rec.Kind = KindHashThreshold
			t, err := argument(fields, "a number", strconv.Atoi)
			if err != nil {
				return nil, errf("%v", err)
			}
			rec.Threshold = t
		case "halt":
			rec.Kind = KindHalt
		case "sleep":
			rec.Kind = KindSleep
			d, err := argument(fields, "a duration", time.ParseDuration)
			if err != nil {
				return nil, errf("%v", err)
			}
			rec.Sleep = d
		case "include":
			rec.Kind = KindInclude
			rec.Glob = restAfter(trimmed, 1)
		case "control":
			rec.Kind = KindControl
			rec.Control = restAfter(trimmed, 1)
		case "system":
			// A shell command of the peer's test setup, with optional output.
			rec.Kind = KindSkipped
			rec.SQL = strings.Join(readBlock(lr), "\n")
		case "let":
			rec.Kind = KindSkipped
			for _, v := range strings.Split(restAfter(trimmed, 1), ",") {
				if v = strings.TrimSpace(v); v != "" {
					rec.LetVars = append(rec.LetVars, v)
				}
			}
			rec.SQL = strings.Join(readBlock(lr), "\n")
		default:
			return nil, errf("unknown record %q", fields[0])
		}
		rec.Conditions = conds
		rec.Connection = conn
		conds, conn = nil, ""
		recs = append(recs, rec)
	}
	return recs, nil
}

// restAfter returns the text of line after its first n whitespace-separated
// fields, trimmed.
func restAfter(line string, n int) string {
	s := strings.TrimSpace(line)
	for i := 0; i < n; i++ {
		s = strings.TrimLeft(s, " \t")
		j := strings.IndexAny(s, " \t")
		if j < 0 {
			return ""
		}
		s = s[j:]
	}
	return strings.TrimSpace(s)
}

func parseRetry(rec *Record, f []string) error {
	if len(f) == 0 || f[0] != "retry" {
		return nil
	}
	if len(f) < 4 || f[2] != "backoff" {
		return fmt.Errorf("want retry N backoff <duration>")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return fmt.Errorf("retry: %v", err)
	}
	d, err := time.ParseDuration(f[3])
	if err != nil {
		return fmt.Errorf("backoff: %v", err)
	}
	rec.Retry, rec.Backoff = n, d
	return nil
}

// readSQL reads SQL lines up to a blank line or "----" (left unread).
// Lines starting with '#' are comments.
func readSQL(lr *lineReader) string {
	var sql []string
	for {
		l, ok := lr.peek()
		if !ok || isBlank(l) || strings.TrimSpace(l) == "----" {
			break
		}
		lr.next()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		sql = append(sql, l)
	}
	return strings.Join(sql, "\n")
}

// readBlock reads lines up to a blank line or the end of the file.
func readBlock(lr *lineReader) []string {
	var out []string
	for {
		l, ok := lr.peek()
		if !ok || isBlank(l) {
			break
		}
		lr.next()
		out = append(out, l)
	}
	return out
}

// argument parses the argument of the one-argument directive fields[0]
// (what says what it takes).
func argument[T any](fields []string, what string, parse func(string) (T, error)) (T, error) {
	var v T
	if len(fields) < 2 {
		return v, fmt.Errorf("%s needs %s", fields[0], what)
	}
	v, err := parse(fields[1])
	if err != nil {
		return v, fmt.Errorf("%s: %v", fields[0], err)
	}
	return v, nil
}
