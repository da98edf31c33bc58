// Package console is the web console of streamsqld, served on its HTTP
// listener: a catalog browser, a SQL editor, live view pages drawn from a
// view's changefeed (GET /v1/subscribe/{view}) and a jobs page with each
// job's operator graph and counters.
//
// The console is two halves. The front-end (web/src, plain JavaScript
// modules bundled by esbuild into dist/) is embedded into the binary and
// served under /console/. It reads small JSON APIs that this package
// registers under /v1/:
//
//	GET  /v1/console/whoami          the role the request is signed in as
//	GET  /v1/catalog?q=name          schemas, relations and functions, with columns,
//	                                 definitions, options (secrets masked) and dependents
//	POST /v1/statement               {"sql","offset","limit"}: one statement, its rows paged,
//	                                 or its error with SQLSTATE and position
//	GET  /v1/explain?sql=            EXPLAIN of a statement as a tree
//	GET  /v1/jobs                    every job with its counters, and the epoch coordinator's
//	GET  /v1/jobs/{id}               one job: its operator graph (fragments, exchanges,
//	                                 instances), counters and error
//
// Statements run in an engine session of the role the request signed in
// as (HTTP basic auth checked by httpapi.RequireAuth), so privileges apply
// as they do on the wire. The static assets need no sign-in: they hold no
// data, and the console's sign-in form is one of them.
package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"streamsql/engine"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
)

// Options configure the console's handlers.
type Options struct {
	Log *slog.Logger
	// User returns the role a request signed in as ("" when the request
	// carries none, as with trust authentication).
	User func(r *http.Request) string
}

// DefaultUser is the role of requests that carry none: the one the
// server's other HTTP endpoints run their statements as.
const DefaultUser = "http"

// server holds what the handlers share.
type server struct {
	e    *engine.Engine
	log  *slog.Logger
	user func(r *http.Request) string
}

// Register adds the console's pages and APIs to mux.
func Register(mux *http.ServeMux, e *engine.Engine, o Options) {
	s := &server{e: e, log: o.Log, user: o.User}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux.Handle("GET /console/", assetHandler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/console/whoami", s.whoami)
	mux.HandleFunc("GET /v1/catalog", s.catalog)
	mux.HandleFunc("POST /v1/statement", s.statement)
	mux.HandleFunc("GET /v1/explain", s.explain)
	mux.HandleFunc("GET /v1/jobs", s.jobs)
	mux.HandleFunc("GET /v1/jobs/{id}", s.job)
}

// role is the role a request's statements run as.
func (s *server) role(r *http.Request) string {
	if s.user != nil {
		if u := s.user(r); u != "" {
			return u
		}
	}
	return DefaultUser
}

// open opens an engine session as the request's role.
func (s *server) open(ctx context.Context, r *http.Request) (pgwire.Session, error) {
	return s.e.Open(ctx, pgwire.StartupInfo{User: s.role(r), Database: "streamsql", Application: "console"})
}

func (s *server) whoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"user": s.role(r)})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorBody is how an error reaches the console: PostgreSQL's fields.
type errorBody struct {
	Error    string `json:"error"`
	SQLState string `json:"sqlstate"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	// Position is the 1-based character position in the statement the
	// error is at (0: none).
	Position int `json:"position,omitempty"`
}

func errorOf(err error) errorBody {
	e := sqlerr.From(err)
	return errorBody{Error: e.Message, SQLState: e.Code, Detail: e.Detail, Hint: e.Hint, Position: e.Position}
}

// writeError answers err with status.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorOf(err))
}
