package types

// IsRegType reports whether oid is one of the reg* types (regclass,
// regtype, regproc, regnamespace): OIDs whose text form is a name.
func IsRegType(oid uint32) bool {
	switch oid {
	case OIDRegclass, OIDRegtype, OIDRegproc, OIDRegnamespace:
		return true
	}
	return false
}
