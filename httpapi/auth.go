package httpapi

import (
	"log/slog"
	"net"
	"net/http"

	"streamsql/auth"
)

// Access control of the HTTP endpoints mirrors the PostgreSQL listener's
// hba rules: the rule matching the request's address (database "http",
// the basic-auth user) decides. trust lets the request through, reject
// refuses it, and every password method (scram-sha-256, md5, password)
// checks HTTP basic auth against the role's stored secret (a SCRAM
// verifier checks a cleartext password without revealing it). cert checks
// the TLS client certificate's common name. /health is always open, so
// that load balancers and orchestrators can probe it. Successful password
// checks are cached for a short time (auth_cache.go).

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
		if r.URL.Path == "/health" {
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
			w.Header().Set("WWW-Authenticate", `Basic realm="streamsql", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
