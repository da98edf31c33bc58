package engine

import (
	"context"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/connector"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// planShowCreate is SHOW CREATE SOURCE | TABLE | SINK | VIEW |
// MATERIALIZED VIEW name: the statement that makes the object as it is
// now, secrets masked, as RisingWave shows it (columns Name and Create
// Sql).
func (s *Session) planShowCreate(sc *parser.ShowCreate) (*prepared, error) {
	cols := []pgwire.Column{{Name: "Name", Type: types.TText}, {Name: "Create Sql", Type: types.TText}}
	if sc.Kind == "function" || sc.Kind == "aggregate" {
		return s.showCreateFunction(cols, sc.Name, sc.Kind == "aggregate"), nil
	}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		r, err := s.resolve(nil, &pg.RangeVar{Schemaname: sc.Name.Schema, Relname: sc.Name.Name})
		if err != nil {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "%s %q does not exist", sc.Kind, sc.Name.Name)
		}
		want := map[string]catalog.RelKind{"source": catalog.KindSource, "table": catalog.KindTable, "sink": catalog.KindSink,
			"view": catalog.KindView, "materialized view": catalog.KindMatView}[sc.Kind]
		if r.Kind != want {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, sc.Kind)
		}
		name := udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name)
		return memResult(cols, [][]types.Datum{{name, s.e.createSQL(r)}}, "SHOW"), nil
	}}, nil
}

// showCreateFunction is SHOW CREATE FUNCTION name: one row per overload
// of the function the name finds along the search path, with the
// statement that recreates it.
// SHOW CREATE AGGREGATE (aggregate) shows the aggregates of the name only.
func (s *Session) showCreateFunction(cols []pgwire.Column, name parser.ObjectName, aggregate bool) *prepared {
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		schemas := s.searchPath()
		if name.Schema != "" {
			schemas = []string{name.Schema}
		}
		var rows [][]types.Datum
		for _, sc := range schemas {
			for _, f := range s.e.cat.FunctionsNamed(sc, name.Name) {
				switch {
				case f.IsAggregate():
					rows = append(rows, []types.Datum{f.Signature(), s.e.AggregateDef(f)})
				case !aggregate:
					rows = append(rows, []types.Datum{f.Signature(), FunctionDef(f)})
				}
			}
			if len(rows) > 0 {
				break
			}
		}
		if len(rows) == 0 {
			kind := "function"
			if aggregate {
				kind = "aggregate"
			}
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s %q does not exist", kind, name.Name)
		}
		return memResult(cols, rows, "SHOW"), nil
	}}
}

// createSQL renders the CREATE statement of r.
func (e *Engine) createSQL(r *catalog.Relation) string {
	var sb strings.Builder
	name := udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name)
	switch r.Kind {
	case catalog.KindView:
		return "CREATE VIEW " + name + " AS " + r.Definition
	case catalog.KindMatView:
		sb.WriteString("CREATE MATERIALIZED VIEW " + name)
		sb.WriteString(lateOptionsOf(r).withClause())
		sb.WriteString(" AS " + r.Definition)
		if r.EmitOnWindowClose {
			sb.WriteString(" EMIT ON WINDOW CLOSE")
		}
		return sb.String()
	case catalog.KindSink:
		sb.WriteString("CREATE SINK " + name + " AS " + r.Definition)
		e.writeWith(&sb, r)
		writeFormat(&sb, r)
		return sb.String()
	case catalog.KindSource:
		sb.WriteString("CREATE SOURCE ")
	default:
		sb.WriteString("CREATE TABLE ")
	}
	sb.WriteString(name)
	included := map[string]bool{}
	for _, inc := range r.Includes {
		included[inc.Column] = true
	}
	var parts []string
	for _, c := range r.Columns {
		if c.Dropped || c.Hidden || included[c.Name] {
			continue
		}
		p := udf.QuoteIdent(c.Name) + " " + c.Type.String()
		if c.NotNull {
			p += " NOT NULL"
		}
		if c.Default != "" {
			p += " DEFAULT " + c.Default
		}
		p += identityClause(c)
		parts = append(parts, p)
	}
	if len(r.PrimaryKey) > 0 {
		var ks []string
		for _, k := range r.PrimaryKey {
			ks = append(ks, udf.QuoteIdent(r.Columns[k].Name))
		}
		parts = append(parts, "PRIMARY KEY ("+strings.Join(ks, ", ")+")")
	}
	for _, w := range r.Watermarks {
		parts = append(parts, "WATERMARK FOR "+udf.QuoteIdent(w.Column)+" AS "+w.Expr)
	}
	sb.WriteString(" (" + strings.Join(parts, ", ") + ")")
	for _, inc := range r.Includes {
		sb.WriteString(" INCLUDE " + inc.What)
		if inc.What == "header" {
			sb.WriteString(" " + connector.QuoteLiteral(inc.Header))
		}
		sb.WriteString(" AS " + udf.QuoteIdent(inc.Column))
	}
	if r.AppendOnly && r.Kind == catalog.KindTable {
		sb.WriteString(" APPEND ONLY")
	}
	e.writeWith(&sb, r)
	writeFormat(&sb, r)
	return sb.String()
}

// writeFormat appends r's FORMAT ... ENCODE clause, if any.
func writeFormat(sb *strings.Builder, r *catalog.Relation) {
	if r.Format != "" {
		sb.WriteString(" FORMAT " + r.Format + " ENCODE " + r.Encode)
		if len(r.EncodeOptions) > 0 {
			keys := make([]string, 0, len(r.EncodeOptions))
			for k := range r.EncodeOptions {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var os []string
			for _, k := range keys {
				os = append(os, k+" = "+connector.QuoteLiteral(r.EncodeOptions[k]))
			}
			sb.WriteString(" (" + strings.Join(os, ", ") + ")")
		}
	}
}

// writeWith appends r's WITH clause, secrets masked.
func (e *Engine) writeWith(sb *strings.Builder, r *catalog.Relation) {
	if len(r.Options) == 0 {
		return
	}
	sb.WriteString(" WITH (" + e.relConnector(r).FormatWith(r.Options) + ")")
}

// relConnector returns r's connector as r uses it (a sink's options
// schema for a sink), nil if unknown.
func (e *Engine) relConnector(r *catalog.Relation) *connector.Connector {
	c := e.connectors.Get(r.Options["connector"])
	if c != nil && r.Kind == catalog.KindSink {
		c = c.ForSink()
	}
	return c
}

// maskedOptions returns r's connector options as name=value strings,
// secrets masked (pg_class.reloptions, psql's \d+).
func (e *Engine) maskedOptions(r *catalog.Relation) []string {
	if len(r.Options) == 0 {
		return nil
	}
	m := e.relConnector(r).Masked(r.Options)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}
