package console

// The SQL editor's APIs: POST /v1/statement runs one statement and
// answers a page of its rows, GET /v1/explain answers a statement's plan
// as a tree.
//
// Paging: a statement runs once per request; offset skips rows of its
// result and limit bounds the rows answered, with "more" telling whether
// rows follow. The editor asks for the next page by running a read-only
// statement (SELECT, SHOW, EXPLAIN, VALUES, TABLE) again with a larger
// offset; each page then reads the last committed epoch at its own time,
// as a new SELECT in psql would.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Page bounds of /v1/statement.
const (
	defaultLimit = 100
	maxLimit     = 10000
	maxSQLBytes  = 1 << 20
)

type statementRequest struct {
	SQL    string `json:"sql"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

// column is a result column: its name and SQL type.
type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type statementResponse struct {
	Columns []column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	Offset  int      `json:"offset"`
	// More: rows follow this page.
	More bool   `json:"more"`
	Tag  string `json:"tag"`
	// Pageable: the statement only reads, so running it again for the
	// next page changes nothing.
	Pageable bool    `json:"pageable"`
	Millis   float64 `json:"ms"`
}

func (s *server) statement(w http.ResponseWriter, r *http.Request) {
	// A JSON body cannot come from another site's form or a simple
	// cross-site request (those are text/plain or form-encoded), so a
	// page elsewhere cannot make the browser run statements here.
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, sqlerr.New(sqlerr.InvalidParameterValue, "the statement must come as a JSON body (Content-Type: application/json)"))
		return
	}
	var req statementRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSQLBytes))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, sqlerr.New(sqlerr.InvalidParameterValue, "invalid request body: %v", err))
		return
	}
	if req.Limit <= 0 {
		req.Limit = defaultLimit
	}
	if req.Limit > maxLimit {
		req.Limit = maxLimit
	}
	if req.Offset < 0 {
		req.Offset = 0
	}
	if strings.TrimSpace(req.SQL) == "" {
		writeError(w, http.StatusBadRequest, sqlerr.New(sqlerr.SyntaxError, "the statement is empty"))
		return
	}
	start := time.Now()
	sess, err := s.open(r.Context(), r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer sess.Close()
	res, err := runIn(r.Context(), sess, req.SQL)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer res.Close()
	out := statementResponse{Rows: [][]any{}, Offset: req.Offset, Pageable: readOnly(req.SQL)}
	cols := res.Columns()
	for _, c := range cols {
		out.Columns = append(out.Columns, column{Name: c.Name, Type: c.Type.String()})
	}
	seen := 0
	err = eachRecord(r.Context(), res, func(rec arrow.RecordBatch) bool {
		n := int(rec.NumRows())
		for i := 0; i < n; i++ {
			if seen >= req.Offset && len(out.Rows) < req.Limit {
				out.Rows = append(out.Rows, rowValues(rec, i, cols))
			} else if len(out.Rows) == req.Limit {
				out.More = true
			}
			seen++
		}
		// The rest of a read-only statement's rows are not needed.
		return !out.More || !out.Pageable
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !out.More || !out.Pageable {
		out.Tag = res.Tag()
	}
	out.Millis = float64(time.Since(start).Microseconds()) / 1000
	writeJSON(w, http.StatusOK, out)
}

// eachRecord passes the records of res to fn, releasing each after it,
// until there are no more or fn returns false.
func eachRecord(ctx context.Context, res pgwire.Result, fn func(arrow.RecordBatch) bool) error {
	for {
		rec, err := res.Next(ctx)
		if err != nil || rec == nil {
			return err
		}
		more := fn(rec)
		rec.Release()
		if !more {
			return nil
		}
	}
}

// runIn parses, prepares and runs exactly one statement in sess.
func runIn(ctx context.Context, sess pgwire.Session, sql string) (pgwire.Result, error) {
	stmts, err := sess.Parse(sql)
	if err == nil && len(stmts) != 1 {
		err = sqlerr.New(sqlerr.SyntaxError, "give exactly one statement (got %d)", len(stmts))
	}
	if err != nil {
		return nil, err
	}
	if lead := strings.ToLower(firstWord(sql)); lead == "subscribe" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SUBSCRIBE does not end: open the view's live page, or GET /v1/subscribe/{view}")
	}
	if _, _, err := stmts[0].Prepare(ctx, nil); err != nil {
		return nil, err
	}
	return stmts[0].Execute(ctx, nil)
}

// firstWord returns the first keyword of sql, after blanks, comments and
// opening parentheses.
func firstWord(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				s = s[i+1:]
				continue
			}
			return ""
		case strings.HasPrefix(s, "/*"):
			if i := strings.Index(s, "*/"); i >= 0 {
				s = s[i+2:]
				continue
			}
			return ""
		}
		break
	}
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		end = len(s)
	}
	return s[:end]
}

// readOnly reports whether sql is a statement that only reads, so that
// running it again for another page has no effect.
func readOnly(sql string) bool {
	switch strings.ToLower(firstWord(sql)) {
	case "select", "show", "explain", "values", "table":
		return !strings.Contains(strings.ToLower(sql), " into ")
	}
	return false
}

// rowValues turns row i of rec into JSON values: numbers, booleans and
// strings as themselves, every other type in its PostgreSQL text form.
func rowValues(rec arrow.RecordBatch, i int, cols []pgwire.Column) []any {
	row := make([]any, len(cols))
	for j, c := range cols {
		row[j] = jsonValue(rec, i, j, c.Type)
	}
	return row
}

func jsonValue(rec arrow.RecordBatch, i, j int, t types.T) any {
	d := types.GetDatum(rec.Column(j), i, t)
	switch v := d.(type) {
	case int64:
		// JavaScript's numbers hold integers exactly up to 2^53: larger
		// ones go as text, as they would lose digits.
		if v > 1<<53 || v < -(1<<53) {
			return types.FormatText(d, t, time.UTC)
		}
		return v
	case nil, bool, int32, int16, string:
		return v
	case float64, float32:
		// JSON has no NaN or infinities: those go as PostgreSQL's text.
		f := toFloat(v)
		if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
			return types.FormatText(d, t, time.UTC)
		}
		return v
	}
	return types.FormatText(d, t, time.UTC)
}

func toFloat(v any) float64 {
	switch f := v.(type) {
	case float64:
		return f
	case float32:
		return float64(f)
	}
	return 0
}

// planNode is one line of EXPLAIN's output as a tree node: the operator
// and its details (the lines below it that describe it, such as its
// state tables).
type planNode struct {
	Operator string      `json:"operator"`
	Details  []string    `json:"details,omitempty"`
	Children []*planNode `json:"children"`
}

// explain answers GET /v1/explain?sql=: {"plan": tree, "text": lines}.
func (s *server) explain(w http.ResponseWriter, r *http.Request) {
	sql := r.URL.Query().Get("sql")
	if strings.TrimSpace(sql) == "" {
		writeError(w, http.StatusBadRequest, sqlerr.New(sqlerr.SyntaxError, "the sql parameter is empty"))
		return
	}
	switch lead := strings.ToLower(firstWord(sql)); {
	case lead == "explain":
		writeError(w, http.StatusBadRequest, sqlerr.New(sqlerr.SyntaxError, "give the statement to explain without EXPLAIN"))
		return
	case lead == "analyze" || lead == "analyse" || strings.HasPrefix(strings.TrimSpace(sql), "("):
		// EXPLAIN ANALYZE runs the statement: this GET only plans.
		writeError(w, http.StatusBadRequest, sqlerr.New(sqlerr.FeatureNotSupported, "EXPLAIN options are not taken here: give the statement alone"))
		return
	}
	sess, err := s.open(r.Context(), r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer sess.Close()
	const prefix = "EXPLAIN "
	res, err := runIn(r.Context(), sess, prefix+sql)
	if err != nil {
		// Positions point into the statement as the user wrote it.
		if e := sqlerr.From(err); e.Position > len(prefix) {
			c := *e
			c.Position -= len(prefix)
			err = &c
		}
		writeError(w, http.StatusBadRequest, err)
		return
	}
	defer res.Close()
	var lines []string
	err = eachRecord(r.Context(), res, func(rec arrow.RecordBatch) bool {
		for i := 0; i < int(rec.NumRows()); i++ {
			if v, ok := jsonValue(rec, i, 0, res.Columns()[0].Type).(string); ok {
				lines = append(lines, strings.Split(v, "\n")...)
			}
		}
		return true
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"plan": parsePlan(lines), "text": lines})
}

// parsePlan reads EXPLAIN's lines into a tree. A line's depth is the
// column its text starts at, after the indentation and the tree's
// drawing characters (└─, │); a line that starts with "word:" deeper
// than the operator above it (state: ..., a batch plan's details) is a
// detail of that operator. Several roots (a plan with init plans) come
// back as the children of a node without an operator.
func parsePlan(lines []string) *planNode {
	root := &planNode{Children: []*planNode{}}
	type open struct {
		col  int
		node *planNode
	}
	stack := []open{{-1, root}}
	for _, line := range lines {
		col, text := planIndent(line)
		if text == "" {
			continue
		}
		for len(stack) > 1 && stack[len(stack)-1].col >= col {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1]
		if parent.node != root && isDetail(text) && !strings.ContainsAny(line[:strings.Index(line, text)], "└├") {
			parent.node.Details = append(parent.node.Details, text)
			continue
		}
		n := &planNode{Operator: text, Children: []*planNode{}}
		parent.node.Children = append(parent.node.Children, n)
		stack = append(stack, open{col, n})
	}
	if len(root.Children) == 1 {
		return root.Children[0]
	}
	return root
}

// planIndent returns the column (in characters) where the text of an
// EXPLAIN line starts, and the text.
func planIndent(line string) (int, string) {
	col := 0
	rest := line
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "->"):
			rest, col = rest[2:], col+2
		case strings.HasPrefix(rest, " "), strings.HasPrefix(rest, "\t"):
			rest, col = rest[1:], col+1
		case strings.HasPrefix(rest, "└"), strings.HasPrefix(rest, "├"), strings.HasPrefix(rest, "─"), strings.HasPrefix(rest, "│"):
			rest, col = rest[len("└"):], col+1
		default:
			return col, strings.TrimSpace(rest)
		}
	}
	return col, ""
}

// isDetail reports whether an EXPLAIN line describes the operator above
// it rather than being an operator: it starts with a lower-case word and
// a colon ("state: ...", "filter: ...").
func isDetail(text string) bool {
	i := strings.IndexByte(text, ':')
	if i <= 0 {
		return false
	}
	for _, r := range text[:i] {
		if !(r >= 'a' && r <= 'z' || r == ' ' || r == '_') {
			return false
		}
	}
	return true
}
