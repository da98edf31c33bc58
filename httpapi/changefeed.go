package httpapi

// The HTTP changefeed: GET /v1/subscribe/{view} streams a view as
// Server-Sent Events, GET /v1/query?sql= runs one statement and answers
// JSON. Both run through an engine session, as a client on the wire
// would: SUBSCRIBE with its snapshot and committed changes, a query with
// its SQLSTATE errors.
//
// Events of /v1/subscribe/{view}:
//
//	event: change        id: epoch   data: {"op":"insert"|"delete","epoch":e,"row":{...}}
//	event: progress      id: epoch   data: {"epoch":e}   (every epoch is complete up to e)
//	event: reset                     data: {}            (a snapshot follows: drop what you have)
//
// A client that reconnects with Last-Event-ID gets a reset and a fresh
// snapshot: no history of a view's changes is kept for SUBSCRIBE, so an
// older epoch cannot be resumed from.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/catalog/pgcatalog"
	"streamsql/engine"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// runOne parses and runs one statement in a fresh session of e.
func runOne(ctx context.Context, e *engine.Engine, sql string) (pgwire.Session, pgwire.Result, error) {
	s, err := e.Open(ctx, pgwire.StartupInfo{User: "http", Database: "streamsql", Application: "httpapi"})
	if err != nil {
		return nil, nil, err
	}
	stmts, err := s.Parse(sql)
	if err == nil && len(stmts) != 1 {
		err = sqlerr.New(sqlerr.SyntaxError, "give exactly one statement (got %d)", len(stmts))
	}
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	if _, _, err := stmts[0].Prepare(ctx, nil); err != nil {
		s.Close()
		return nil, nil, err
	}
	res, err := stmts[0].Execute(ctx, nil)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, res, nil
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
	e := sqlerr.From(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": e.Message, "sqlstate": e.Code})
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
		if schema, rel, ok := strings.Cut(view, "."); ok {
			name = pgcatalog.QuoteIdent(schema) + "." + pgcatalog.QuoteIdent(rel)
		} else {
			name = pgcatalog.QuoteIdent(view)
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
		if r.Header.Get("Last-Event-ID") != "" {
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
