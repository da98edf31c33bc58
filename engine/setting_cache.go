package engine

import (
	"slices"
	"strings"
	"time"

	"streamsql/storage"
)

// sessionSettings holds settings every statement reads, parsed once per
// change of the session's settings instead of looked up by name (three
// map reads) and parsed again at each statement. Session.settingsChanged
// drops it, with the timeouts.
type sessionSettings struct {
	valid         bool
	implicitFlush bool
	readOnly      bool
	rowSecurity   string
	minMessages   string
	application   string
	isolation     storage.Isolation
	loc           *time.Location

	// The effective search path also depends on the catalog (schemas
	// and privileges) and on the current role.
	pathValid   bool
	pathVersion uint64
	pathUser    string
	pathTemp    string
	path        []string
	// pathImplicit: how many of path's first schemas search_path does
	// not name (the temporary schema, pg_catalog).
	pathImplicit int
	pathKey      string // path joined with commas, for plan cache keys
}

// settingsChanged is called whenever the session's settings change.
func (s *Session) settingsChanged() {
	s.timeouts.valid = false
	s.cached.valid = false
	s.cached.pathValid = false
}

// settings returns the session's parsed settings.
func (s *Session) settings() *sessionSettings {
	c := &s.cached
	if c.valid {
		return c
	}
	v, _ := s.get("implicit_flush")
	c.implicitFlush = isTrue(v)
	v, _ = s.get("default_transaction_read_only")
	c.readOnly = isTrue(v)
	c.rowSecurity, _ = s.get("row_security")
	c.minMessages, _ = s.get("client_min_messages")
	c.application, _ = s.get("application_name")
	v, _ = s.get("default_transaction_isolation")
	c.isolation = storage.ReadCommitted
	if iso, _, err := parseIsolation(v); err == nil {
		c.isolation = iso
	}
	v, _ = s.get("timezone")
	c.loc = time.UTC
	if loc, err := loadLocation(v); err == nil {
		c.loc = loc
	}
	c.valid = true
	return c
}

// searchPath is the effective search path for relation names (see
// searchPathUncached). Callers must not change the slice.
func (s *Session) searchPath() []string {
	path, _ := s.searchPathImplicit()
	return path
}

// searchPathImplicit is searchPath and how many of its first schemas are
// searched without search_path naming them (searchPathUncached), kept
// while the settings, the catalog version, the current role and the
// session's temporary schema stay the same.
func (s *Session) searchPathImplicit() ([]string, int) {
	c := &s.cached
	user := s.currentUser()
	version := s.e.cat.Version()
	if c.pathValid && c.pathVersion == version && c.pathUser == user && c.pathTemp == s.temp.schema {
		return c.path, c.pathImplicit
	}
	path, implicit := s.searchPathUncached()
	c.path, c.pathImplicit = slices.Clip(path), implicit
	c.pathKey = strings.Join(c.path, ",")
	c.pathValid, c.pathVersion, c.pathUser, c.pathTemp = true, version, user, s.temp.schema
	return c.path, c.pathImplicit
}

// searchPathKey is searchPath joined with commas.
func (s *Session) searchPathKey() string {
	s.searchPath()
	return s.cached.pathKey
}
