package console

// GET /v1/catalog: the catalog browser's data. Every schema with its
// tables, sources, views, materialized views, sinks, subscriptions and
// functions; each relation with its columns, definition (the statement
// that makes it, secrets masked, as SHOW CREATE prints it), WITH options
// (secrets masked) and the relations that depend on it. q keeps the
// objects whose name contains it (case-insensitive); the system schemas
// (pg_catalog, information_schema) are left out unless system=true.

import (
	"net/http"
	"sort"
	"strings"

	"streamsql/catalog"
	"streamsql/engine"
)

type catalogColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	NotNull bool   `json:"not_null,omitempty"`
	// Key: the column is part of the primary key.
	Key bool `json:"key,omitempty"`
}

type objectRef struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
}

type catalogObject struct {
	OID        uint32            `json:"oid"`
	Schema     string            `json:"schema"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Owner      string            `json:"owner,omitempty"`
	Columns    []catalogColumn   `json:"columns,omitempty"`
	Definition string            `json:"definition,omitempty"`
	Options    map[string]string `json:"options,omitempty"`
	DependsOn  []objectRef       `json:"depends_on,omitempty"`
	Dependents []objectRef       `json:"dependents"`
	Comment    string            `json:"comment,omitempty"`
	// Signature is a function's name with its argument types.
	Signature string `json:"signature,omitempty"`
	Returns   string `json:"returns,omitempty"`
	Language  string `json:"language,omitempty"`
}

type catalogSchema struct {
	Name    string          `json:"name"`
	Owner   string          `json:"owner,omitempty"`
	Objects []catalogObject `json:"objects"`
}

// systemSchemas are left out of the catalog unless asked for.
var systemSchemas = map[string]bool{"pg_catalog": true, "information_schema": true}

func (s *server) catalog(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	system := r.URL.Query().Get("system") == "true"
	writeJSON(w, http.StatusOK, map[string]any{"schemas": catalogSchemas(s.e, q, system)})
}

// catalogSchemas lists the schemas and their objects whose names contain
// q ("": all).
func catalogSchemas(e *engine.Engine, q string, system bool) []catalogSchema {
	cat := e.Catalog()
	bySchema := map[string]*catalogSchema{}
	var order []string
	for _, sc := range cat.Schemas() {
		if systemSchemas[sc.Name] && !system {
			continue
		}
		bySchema[sc.Name] = &catalogSchema{Name: sc.Name, Owner: sc.Owner, Objects: []catalogObject{}}
		order = append(order, sc.Name)
	}
	match := func(name string) bool { return q == "" || strings.Contains(strings.ToLower(name), q) }
	for _, rel := range cat.Relations() {
		sc := bySchema[rel.Schema]
		if sc == nil || !match(rel.Name) {
			continue
		}
		sc.Objects = append(sc.Objects, relationObject(e, rel))
	}
	for _, f := range cat.Functions() {
		sc := bySchema[f.Schema]
		if sc == nil || !match(f.Name) {
			continue
		}
		sc.Objects = append(sc.Objects, functionObject(e, f))
	}
	out := make([]catalogSchema, 0, len(order))
	for _, name := range order {
		sc := bySchema[name]
		if q != "" && len(sc.Objects) == 0 && !match(name) {
			continue
		}
		sort.SliceStable(sc.Objects, func(i, j int) bool {
			if sc.Objects[i].Kind != sc.Objects[j].Kind {
				return kindOrder(sc.Objects[i].Kind) < kindOrder(sc.Objects[j].Kind)
			}
			return sc.Objects[i].Name < sc.Objects[j].Name
		})
		out = append(out, *sc)
	}
	return out
}

// kindOrder is the order kinds are listed in: where data comes in, then
// what is computed from it, then where it goes.
func kindOrder(kind string) int {
	for i, k := range []string{"table", "source", "view", "materialized view", "sink", "subscription", "function", "aggregate"} {
		if k == kind {
			return i
		}
	}
	return 99
}

func relationObject(e *engine.Engine, rel *catalog.Relation) catalogObject {
	o := catalogObject{OID: rel.OID, Schema: rel.Schema, Name: rel.Name, Kind: rel.Kind.String(), Owner: rel.Owner,
		Options: e.MaskedOptions(rel), Comment: rel.Comment, Dependents: []objectRef{}}
	key := map[int]bool{}
	for _, k := range rel.PrimaryKey {
		key[k] = true
	}
	for i, c := range rel.Columns {
		if c.Dropped || c.Hidden {
			continue
		}
		o.Columns = append(o.Columns, catalogColumn{Name: c.Name, Type: c.Type.String(), NotNull: c.NotNull, Key: key[i]})
	}
	if rel.Kind == catalog.KindMatView {
		// A view's key (its GROUP BY columns, say) lists visible columns.
		for _, k := range rel.ViewKey {
			if k >= 0 && k < len(o.Columns) {
				o.Columns[k].Key = true
			}
		}
	}
	switch rel.Kind {
	case catalog.KindTable, catalog.KindSource, catalog.KindSink, catalog.KindView, catalog.KindMatView:
		o.Definition = e.CreateSQL(rel)
	default:
		o.Definition = rel.Definition
	}
	cat := e.Catalog()
	for _, id := range rel.DependsOn {
		if d, ok := cat.ByOID(id); ok {
			o.DependsOn = append(o.DependsOn, objectRef{Schema: d.Schema, Name: d.Name, Kind: d.Kind.String()})
		}
	}
	for _, d := range cat.Dependents(rel.OID) {
		o.Dependents = append(o.Dependents, objectRef{Schema: d.Schema, Name: d.Name, Kind: d.Kind.String()})
	}
	return o
}

func functionObject(e *engine.Engine, f *catalog.Function) catalogObject {
	o := catalogObject{OID: f.OID, Schema: f.Schema, Name: f.Name, Kind: "function", Owner: f.Owner,
		Signature: f.Signature(), Returns: f.RetType.String(), Language: f.Language, Dependents: []objectRef{}}
	if f.IsAggregate() {
		o.Kind = "aggregate"
		o.Definition = e.AggregateDef(f)
	} else {
		o.Definition = engine.FunctionDef(f)
	}
	for _, d := range e.Catalog().FunctionDependents(f.OID) {
		o.Dependents = append(o.Dependents, objectRef{Schema: d.Schema, Name: d.Name, Kind: d.Kind.String()})
	}
	return o
}
