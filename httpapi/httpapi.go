// Package httpapi serves the database's HTTP endpoints: Prometheus
// metrics at /metrics, a health check at /health, a view's changefeed as
// Server-Sent Events at /v1/subscribe/{view} and one-shot queries at
// /v1/query (changefeed.go), and Go's runtime
// profiles at /debug/pprof/ (CPU, heap, goroutines, mutex and block
// contention) for diagnosing a slow or stuck server. The web console
// (package console) is served at /console/ with its JSON APIs under /v1/.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"

	"streamsql/console"
	"streamsql/engine"
	"streamsql/sql/sqlerr"
)

// New returns the handler of every endpoint.
func New(e *engine.Engine, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := e.WriteMetrics(w); err != nil {
			log.Warn("write metrics", "err", err)
		}
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := e.Health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(err.Error() + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /v1/subscribe/{view}", subscribe(e))
	mux.HandleFunc("GET /v1/query", query(e))
	console.Register(mux, e, console.Options{Log: log, User: RequestUser})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return requireRole(mux, e)
}

// requireRole refuses the /v1/ endpoints to a request whose role cannot
// log in: the role it signed in as, or "http" for a request that carries
// none (trust without a user name). Such a request would fail anyway when
// its session opens; refused here, it gets 401, and the console asks for
// a role to sign in with.
func requireRole(h http.Handler, e *engine.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			user := RequestUser(r)
			if user == "" {
				user = "http"
			}
			if !e.CanLogin(user) {
				if r.Header.Get("X-Requested-With") != consoleClient {
					w.Header().Set("WWW-Authenticate", `Basic realm="streamsql", charset="UTF-8"`)
				}
				writeJSONErrorStatus(w, http.StatusUnauthorized, sqlerr.New(sqlerr.InvalidAuthorizationSpec, "role %q does not exist or may not log in", user).
					WithHint("Sign in with a database role (HTTP basic auth)."))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
