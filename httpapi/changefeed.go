package httpapi

// The HTTP changefeed: GET /v1/subscribe/{view} streams a view as
// Server-Sent Events, GET /v1/query?sql= runs one statement and answers
// JSON. Both run through an engine session, as a client on the wire
// would: SUBSCRIBE with its snapshot and committed changes, a query with
// its SQLSTATE errors.
//
// A view that has a durable subscription (CREATE SUBSCRIPTION), or a
// subscription named directly, is served from the subscription's change
// log through a subscription cursor, and its stream resumes exactly:
//
//	event: reset                        data: {}   (a snapshot follows: drop what you have)
//	event: change    [id: position]     data: {"op":"insert"|"delete","change":"Insert"|"Delete"|"UpdateDelete"|"UpdateInsert","epoch":e,"ts":ms,"row":{...}}
//	event: progress  id: epoch          data: {"epoch":e}   (every change up to the end of epoch e is sent)
//
// The id of a change is its position ("epoch/seq"); the snapshot's rows
// carry none but its last one (the snapshot's epoch), since resuming in
// the middle of a snapshot would miss the rest of it. A client that
// reconnects with Last-Event-ID (the header, or the lastEventId query
// parameter) gets the changes after that position, without reset or
// snapshot; a position the log no longer holds is HTTP 410 with SQLSTATE
// 55000 (start again without it).
//
// A view without a subscription is served by SUBSCRIBE, which keeps no
// history:
//
//	event: change        id: epoch   data: {"op":"insert"|"delete","epoch":e,"row":{...}}
//	event: progress      id: epoch   data: {"epoch":e}   (every epoch is complete up to e)
//	event: reset                     data: {}            (a snapshot follows: drop what you have)
//
// and a client that reconnects with Last-Event-ID gets a reset and a
// fresh snapshot.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/engine"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// openSession opens an engine session for an HTTP request, as the role
// the request signed in as (RequestUser), or "http" when it carries none.
func openSession(ctx context.Context, e *engine.Engine) (pgwire.Session, error) {
	user := "http"
	if u, _ := ctx.Value(userKey{}).(string); u != "" {
		user = u
	}
	return e.Open(ctx, pgwire.StartupInfo{User: user, Database: "streamsql", Application: "httpapi"})
}

// runOne parses and runs one statement in a fresh session of e.
func runOne(ctx context.Context, e *engine.Engine, sql string) (pgwire.Session, pgwire.Result, error) {
	s, err := openSession(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	res, err := runIn(ctx, s, sql)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, res, nil
}

// runIn parses and runs one statement in session s.
func runIn(ctx context.Context, s pgwire.Session, sql string) (pgwire.Result, error) {
	stmts, err := s.Parse(sql)
	if err == nil && len(stmts) != 1 {
		err = sqlerr.New(sqlerr.SyntaxError, "give exactly one statement (got %d)", len(stmts))
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := stmts[0].Prepare(ctx, nil); err != nil {
		return nil, err
	}
	return stmts[0].Execute(ctx, nil)
}

// jsonValue turns column j of row i into a JSON value.
func jsonValue(rec arrow.RecordBatch, i, j int, t types.T) any {
	d := types.GetDatum(rec.Column(j), i, t)
	switch v := d.(type) {
	case nil, bool, int64, int32, int16, float64, float32, string:
		return v
	}
	return types.FormatText(d, t, time.UTC)
}

func writeJSONError(w http.ResponseWriter, err error) {
	writeJSONErrorStatus(w, http.StatusBadRequest, err)
}

func writeJSONErrorStatus(w http.ResponseWriter, status int, err error) {
	e := sqlerr.From(err)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": e.Message, "sqlstate": e.Code}
	if e.Hint != "" {
		body["hint"] = e.Hint
	}
	json.NewEncoder(w).Encode(body)
}

// query answers GET /v1/query?sql=: {"columns", "rows", "tag"}.
func query(e *engine.Engine) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sql := r.URL.Query().Get("sql")
		if strings.TrimSpace(sql) == "" {
			writeJSONError(w, sqlerr.New(sqlerr.SyntaxError, "the sql parameter is empty"))
			return
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(sql)), "subscribe") {
			writeJSONError(w, sqlerr.New(sqlerr.FeatureNotSupported, "SUBSCRIBE does not end: use /v1/subscribe/{view}"))
			return
		}
		s, res, err := runOne(r.Context(), e, sql)
		if err != nil {
			writeJSONError(w, err)
			return
		}
		defer s.Close()
		defer res.Close()
		cols := res.Columns()
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		rows := [][]any{}
		for {
			rec, err := res.Next(r.Context())
			if err != nil {
				writeJSONError(w, err)
				return
			}
			if rec == nil {
				break
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				row := make([]any, len(cols))
				for j, c := range cols {
					row[j] = jsonValue(rec, i, j, c.Type)
				}
				rows = append(rows, row)
			}
			rec.Release()
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"columns": names, "rows": rows, "tag": res.Tag()})
	}
}

// subscribe streams GET /v1/subscribe/{view} as Server-Sent Events.
func subscribe(e *engine.Engine) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		view := r.PathValue("view")
		name := view
		schema, rel, qualified := strings.Cut(view, ".")
		if qualified {
			name = udf.QuoteIdent(schema) + "." + udf.QuoteIdent(rel)
		} else {
			schema, rel = "", view
			name = udf.QuoteIdent(view)
		}
		lastID := r.Header.Get("Last-Event-ID")
		if lastID == "" {
			lastID = r.URL.Query().Get("lastEventId")
		}
		if subSchema, sub, ok := e.ChangefeedSubscription(schema, rel); ok {
			subscribeLog(w, r, e, udf.QuoteIdent(subSchema)+"."+udf.QuoteIdent(sub), lastID)
			return
		}
		s, res, err := runOne(r.Context(), e, "SUBSCRIBE "+name+" WITH (PROGRESS)")
		if err != nil {
			writeJSONError(w, err)
			return
		}
		defer s.Close()
		defer res.Close()
		fl, _ := w.(http.Flusher)
		// Dashboards served from elsewhere (docs/examples/live-view.html)
		// read the feed.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if lastID != "" {
			fmt.Fprint(w, "event: reset\ndata: {}\n\n")
		}
		cols := res.Columns()
		for {
			if fl != nil {
				fl.Flush()
			}
			rec, err := res.Next(r.Context())
			if err != nil {
				if r.Context().Err() == nil {
					b, _ := json.Marshal(map[string]string{"error": sqlerr.From(err).Message, "sqlstate": sqlerr.From(err).Code})
					fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
				}
				return
			}
			if rec == nil {
				return
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				epoch := jsonValue(rec, i, 0, cols[0].Type)
				if p, _ := jsonValue(rec, i, 2, cols[2].Type).(bool); p {
					fmt.Fprintf(w, "event: progress\nid: %v\ndata: {\"epoch\":%v}\n\n", epoch, epoch)
					continue
				}
				op := "insert"
				if d, _ := jsonValue(rec, i, 1, cols[1].Type).(int64); d < 0 {
					op = "delete"
				}
				row := map[string]any{}
				for j := 3; j < len(cols); j++ {
					row[cols[j].Name] = jsonValue(rec, i, j, cols[j].Type)
				}
				b, _ := json.Marshal(map[string]any{"op": op, "epoch": epoch, "row": row})
				fmt.Fprintf(w, "event: change\nid: %v\ndata: %s\n\n", epoch, b)
			}
			rec.Release()
		}
	}
}

// positionID is what a Last-Event-ID of the subscription stream looks
// like: a change's position, an epoch, or a snapshot row's position
// (epoch@key, the key in hex).
var positionID = regexp.MustCompile(`^[0-9]{1,20}(/[0-9]{1,10}|@[0-9a-f]{0,1000})?$`)

// positionEpoch is the epoch a position names.
func positionEpoch(pos string) string {
	if i := strings.IndexAny(pos, "/@"); i >= 0 {
		return pos[:i]
	}
	return pos
}

// feedBatch is how many changes one FETCH of the subscription stream asks
// for; feedKeepAlive how long it waits for one before the stream sends a
// comment (which also finds a client that has gone).
const (
	feedBatch     = 1000
	feedKeepAlive = 15 * time.Second
)

// subscribeLog streams a durable subscription's log through a
// subscription cursor: FULL (reset, the view's contents, then its
// changes) or, with lastID, the changes after that position.
func subscribeLog(w http.ResponseWriter, r *http.Request, e *engine.Engine, sub, lastID string) {
	ctx := r.Context()
	decl := "DECLARE feed SUBSCRIPTION CURSOR FOR " + sub + " FULL"
	if lastID != "" {
		if !positionID.MatchString(lastID) {
			writeJSONError(w, sqlerr.New(sqlerr.InvalidParameterValue, "invalid Last-Event-ID %q: not a position of this changefeed", lastID).
				WithHint("Reconnect without Last-Event-ID to start from the current contents."))
			return
		}
		decl = "DECLARE feed SUBSCRIPTION CURSOR FOR " + sub + " SINCE '" + lastID + "'"
	}
	s, err := openSession(ctx, e)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	defer s.Close()
	res, err := runIn(ctx, s, decl)
	if err != nil {
		status := http.StatusBadRequest
		if lastID != "" && sqlerr.From(err).Code == sqlerr.ObjectNotInPrerequisiteState {
			// The position is older than the log keeps: gone for good.
			status = http.StatusGone
		}
		writeJSONErrorStatus(w, status, err)
		return
	}
	res.Close()
	fl, _ := w.(http.Flusher)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if lastID == "" {
		fmt.Fprint(w, "event: reset\ndata: {}\n\n")
	}
	fetch := fmt.Sprintf("FETCH %d FROM feed WITH (timeout = '%ds')", feedBatch, int(feedKeepAlive/time.Second))
	var progressed string
	for {
		if fl != nil {
			fl.Flush()
		}
		res, err := runIn(ctx, s, fetch)
		n, last := 0, ""
		if err == nil {
			n, last, err = writeLogChanges(ctx, w, res)
			res.Close()
		}
		if err != nil {
			if ctx.Err() == nil {
				b, _ := json.Marshal(map[string]string{"error": sqlerr.From(err).Message, "sqlstate": sqlerr.From(err).Code})
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			}
			return
		}
		if n == 0 {
			fmt.Fprint(w, ": keep-alive\n\n")
			continue
		}
		// Fewer changes than asked for: every committed one is sent, so
		// the epoch of the last is complete (a snapshot's is already).
		epoch := positionEpoch(last)
		if n < feedBatch && !strings.Contains(last, "@") && epoch != progressed {
			fmt.Fprintf(w, "event: progress\nid: %s\ndata: {\"epoch\":%s}\n\n", epoch, epoch)
			progressed = epoch
		}
	}
}

// writeLogChanges writes the rows of a FETCH from a subscription cursor
// (the view's columns, op, rw_timestamp, _position) as change events and
// returns how many there were and the last position.
func writeLogChanges(ctx context.Context, w io.Writer, res pgwire.Result) (n int, last string, err error) {
	cols := res.Columns()
	k := len(cols) - 3
	for {
		rec, err := res.Next(ctx)
		if err != nil || rec == nil {
			return n, last, err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			n++
			change, _ := jsonValue(rec, i, k, cols[k].Type).(string)
			op := "insert"
			if change == "Delete" || change == "UpdateDelete" {
				op = "delete"
			}
			row := make(map[string]any, k)
			for j := 0; j < k; j++ {
				row[cols[j].Name] = jsonValue(rec, i, j, cols[j].Type)
			}
			ev := map[string]any{"op": op, "change": change, "row": row}
			if ts := jsonValue(rec, i, k+1, cols[k+1].Type); ts != nil {
				ev["ts"] = ts
			}
			pos, _ := jsonValue(rec, i, k+2, cols[k+2].Type).(string)
			id := ""
			if pos != "" {
				if e, perr := strconv.ParseUint(positionEpoch(pos), 10, 64); perr == nil {
					ev["epoch"] = e
				}
				id = "id: " + pos + "\n"
				last = pos
			}
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: change\n%sdata: %s\n\n", id, b)
		}
		rec.Release()
	}
}
