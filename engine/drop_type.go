package engine

// DROP TYPE and DROP DOMAIN. StreamSQL has no user-defined types or
// domains (CREATE TYPE and CREATE DOMAIN answer 0A000), so a name in
// DROP TYPE finds a built-in type, the row type of a relation, or
// nothing, and the statement answers as PostgreSQL does for each: a
// built-in type is required by the database system, a relation's row
// type goes only with its relation (2BP01 naming it, CASCADE or not), a
// missing type is 42704 or, with IF EXISTS, a NOTICE ending in
// "skipping". As in PostgreSQL every name is looked up before any of
// them is refused for what depends on it.

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
)

// dropTypes runs DROP TYPE or DROP DOMAIN.
func (s *Session) dropTypes(p *planner.Planner, ds *pg.DropStmt) (string, error) {
	domain := ds.RemoveType == pg.ObjectType_OBJECT_DOMAIN
	tag := "DROP TYPE"
	if domain {
		tag = "DROP DOMAIN"
	}
	type found struct {
		written string            // the name as written, arrays included
		builtin string            // the built-in type's name, "" for none
		rel     *catalog.Relation // the relation whose row type it is
		tn      *pg.TypeName
	}
	var targets []found
	for _, o := range ds.Objects {
		tn := o.GetTypeName()
		if tn == nil {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "%s of this object is not supported", tag)
		}
		var parts []string
		for _, n := range tn.Names {
			parts = append(parts, n.GetString_().GetSval())
		}
		name, schema := parts[len(parts)-1], ""
		if len(parts) > 1 {
			schema = parts[len(parts)-2]
		}
		f := found{written: strings.Join(parts, ".") + strings.Repeat("[]", len(tn.ArrayBounds)), tn: tn}
		if schema != "" && schema != "pg_catalog" && schema != "information_schema" {
			if _, ok := s.e.cat.SchemaByName(schema); !ok {
				if ds.MissingOk {
					s.skipping("00000", "schema %q does not exist", schema)
					continue
				}
				return "", sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", schema)
			}
		}
		// pg_catalog comes first on the search path.
		if schema == "" || schema == "pg_catalog" {
			if t, err := p.TypeName(&pg.TypeName{Names: tn.Names[len(tn.Names)-1:], ArrayBounds: tn.ArrayBounds}); err == nil {
				f.builtin = t.String()
			}
		}
		if f.builtin == "" && schema != "pg_catalog" {
			if r, err := s.resolve(nil, &pg.RangeVar{Schemaname: schema, Relname: name, Inh: true}); err == nil && r.Kind != catalog.KindSink && r.Kind != catalog.KindSubscription {
				f.rel = r
			}
		}
		if f.builtin == "" && f.rel == nil {
			if ds.MissingOk {
				s.skipping("00000", "type %q does not exist", f.written)
				continue
			}
			return "", sqlerr.New(sqlerr.UndefinedObject, "type %q does not exist", f.written)
		}
		targets = append(targets, f)
	}
	for _, f := range targets {
		switch {
		case domain:
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a domain", f.written)
		case f.builtin != "":
			return "", sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop type %s because it is required by the database system", f.builtin)
		case len(f.tn.ArrayBounds) > 0:
			return "", sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop type %s[] because type %s requires it", f.rel.Name, f.rel.Name).
				WithHint("You can drop type %s instead.", f.rel.Name)
		default:
			return "", sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop type %s because %s requires it", f.rel.Name, f.rel.Description()).
				WithHint("You can drop %s instead.", f.rel.Description())
		}
	}
	return tag, nil
}
