package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"streamsql/auth"
	"streamsql/sql/sqlerr"
)

// Access control of the HTTP endpoints mirrors the PostgreSQL listener's
// hba rules: the rule matching the request's address (database "http",
// the basic-auth user) decides. trust lets the request through, reject
// refuses it, and every password method (scram-sha-256, md5, password)
// checks HTTP basic auth against the role's stored secret (a SCRAM
// verifier checks a cleartext password without revealing it). cert checks
// the TLS client certificate's common name. /health is always open, so
// that load balancers and orchestrators can probe it, and so are the web
// console's static files (/console/ and the redirect to it at /): they
// hold no data, and the console's sign-in form is among them. A request
// from the console (header X-Requested-With: streamsql-console) that
// fails gets its 401 without the Basic challenge, so that the browser
// leaves the sign-in to the console's form instead of its own dialog.
// Successful password checks are cached for a short time (auth_cache.go).
//
// The role a request signed in as is in its context (RequestUser):
// the console runs its statements as that role.

// consoleClient is the X-Requested-With value of the console's requests.
const consoleClient = "streamsql-console"

type userKey struct{}

// RequestUser returns the role r signed in as (basic auth or a client
// certificate's common name), "" when it carries none.
func RequestUser(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// openPath reports whether path is served without sign-in.
func openPath(path string) bool {
	return path == "/health" || path == "/" || path == "/favicon.ico" || path == "/console" || strings.HasPrefix(path, "/console/")
}

// Roles is what the access check needs from the database.
type Roles interface {
	RoleSecret(user string) (string, bool)
	IsMemberOf(user, role string) bool
	// CanLogin reports whether user is a role with LOGIN (or, on a server
	// that admits undeclared users, any name).
	CanLogin(user string) bool
}

// RequireAuth wraps h with the access check of hba against roles.
func RequireAuth(h http.Handler, hba *auth.HBA, roles Roles, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	cache := newBasicAuthCache()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if openPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		user, pass, hasBasic := r.BasicAuth()
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		c := auth.Conn{Addr: net.ParseIP(host), SSL: r.TLS != nil, Database: "http", User: user, MemberOf: roles.IsMemberOf}
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && !hasBasic {
			c.User = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		rule, ok := hba.Match(c)
		allowed := false
		switch {
		case !ok || rule.Method == auth.Reject:
		case rule.Method == auth.Trust:
			allowed = true
		case rule.Method == auth.Cert:
			allowed = r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName == c.User && roles.CanLogin(c.User)
		default:
			if hasBasic {
				secret, known := roles.RoleSecret(user)
				if known && roles.CanLogin(user) {
					k := cache.entry(user, secret, pass)
					if allowed = cache.ok(k); !allowed && auth.CheckPassword(secret, user, pass) {
						cache.remember(k)
						allowed = true
					}
				}
			}
		}
		if !allowed {
			log.Info("http: authentication failed", "user", c.User, "remote", r.RemoteAddr, "path", r.URL.Path)
			if r.Header.Get("X-Requested-With") != consoleClient {
				w.Header().Set("WWW-Authenticate", `Basic realm="streamsql", charset="UTF-8"`)
			}
			if strings.HasPrefix(r.URL.Path, "/v1/") {
				writeJSONErrorStatus(w, http.StatusUnauthorized, sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user %q", c.User))
				return
			}
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if c.User != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, c.User))
		}
		h.ServeHTTP(w, r)
	})
}
