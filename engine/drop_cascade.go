package engine

// What DROP ... CASCADE reports. PostgreSQL (reportDependentObjects)
// sends one NOTICE naming the objects a drop takes along besides the ones
// it names: "drop cascades to view v" for a single one, "drop cascades to
// N other objects" with a DETAIL line "drop cascades to ..." for each
// (at most 100, then "and N other objects (see server log for list)")
// for more. The objects are listed in dependency order: each dependent,
// oldest first, followed by what depends on it in turn.

import (
	"fmt"
	"sort"
	"strings"

	"streamsql/catalog"
	"streamsql/pgwire"
)

// maxReportedDeps is how many objects the DETAIL names (MAX_REPORTED_DEPS).
const maxReportedDeps = 100

// cascadeNotice queues the NOTICE of a DROP ... CASCADE that also dropped
// objects (their descriptions, in report order).
func (s *Session) cascadeNotice(objects []string) {
	switch len(objects) {
	case 0:
		return
	case 1:
		s.notice("00000", "drop cascades to %s", objects[0])
		return
	}
	lines := make([]string, 0, min(len(objects), maxReportedDeps)+1)
	for i, o := range objects {
		if i == maxReportedDeps {
			lines = append(lines, fmt.Sprintf("and %d other objects (see server log for list)", len(objects)-maxReportedDeps))
			s.e.log.Info("drop cascades", "objects", objects)
			break
		}
		lines = append(lines, "drop cascades to "+o)
	}
	s.pendingNotices = append(s.pendingNotices, pgwire.Notice{Code: "00000",
		Message: fmt.Sprintf("drop cascades to %d other objects", len(objects)), Detail: strings.Join(lines, "\n")})
}

// cascadeFrom appends to out the relations that depend on relation oid,
// directly or not: each dependent (oldest first) followed by its own
// dependents. seen holds the relations already listed and the drop's
// targets, which are not reported.
func (e *Engine) cascadeFrom(oid uint32, seen map[uint32]bool, out []string) []string {
	deps := e.cat.Dependents(oid)
	sort.Slice(deps, func(i, j int) bool { return deps[i].OID < deps[j].OID })
	for _, d := range deps {
		if seen[d.OID] {
			continue
		}
		seen[d.OID] = true
		out = append(out, d.Description())
		out = e.cascadeFrom(d.OID, seen, out)
	}
	return out
}

// referencingConstraints appends the foreign keys of other tables that
// reference r, which DROP TABLE ... CASCADE drops; tables in seen are
// dropped themselves and not reported.
func (e *Engine) referencingConstraints(r *catalog.Relation, seen map[uint32]bool, out []string) []string {
	rels := e.cat.Relations()
	sort.Slice(rels, func(i, j int) bool { return rels[i].OID < rels[j].OID })
	for _, c := range rels {
		if c.OID == r.OID || seen[c.OID] {
			continue
		}
		for _, fk := range c.ForeignKeys {
			if fk.RefRel == r.OID {
				out = append(out, fmt.Sprintf("constraint %s on %s", fk.Name, c.Description()))
			}
		}
	}
	return out
}

// relationCascade lists what dropping relation r with CASCADE takes
// along: its dependents and the foreign keys that reference it.
func (e *Engine) relationCascade(r *catalog.Relation, seen map[uint32]bool, out []string) []string {
	out = e.cascadeFrom(r.OID, seen, out)
	return e.referencingConstraints(r, seen, out)
}

// schemaCascade lists what DROP SCHEMA name CASCADE drops: the schema's
// relations and functions, oldest first, each followed by what depends
// on it.
func (e *Engine) schemaCascade(name string) []string {
	type member struct {
		oid  uint32
		desc string
		rel  *catalog.Relation
	}
	var members []member
	seen := map[uint32]bool{}
	for _, r := range e.cat.Relations() {
		if r.Schema == name {
			members = append(members, member{r.OID, r.Description(), r})
			seen[r.OID] = true
		}
	}
	for _, f := range e.cat.Functions() {
		if f.Schema == name {
			qual := f.Name
			if f.Schema != "public" {
				qual = f.Schema + "." + f.Name
			}
			members = append(members, member{oid: f.OID, desc: "function " + qual + "(" + catalog.TypeList(f.ArgTypes) + ")"})
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].oid < members[j].oid })
	var out []string
	for _, m := range members {
		out = append(out, m.desc)
		if m.rel != nil {
			out = e.relationCascade(m.rel, seen, out)
		}
	}
	return out
}
