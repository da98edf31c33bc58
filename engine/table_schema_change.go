package engine

import (
	"fmt"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// Upstream schema changes (auto.schema.change = 'true'). A table fed by
// Canal, Maxwell or Debezium-MySQL events from Kafka receives the MySQL
// DDL of its upstream table as column changes (format/mysql_ddl.go). With
// the option on, the Kafka reader stops decoding at such an event and
// passes its changes on with the positions before and after it; the
// ingest loop then:
//
//  1. commits every change before the event with the position before it,
//  2. applies the column changes through the same ALTER TABLE functions
//     the statement uses (addColumn, dropColumn, renameColumn in ddl.go),
//  3. commits what they did to stored rows, and the changes it refused as
//     rejects, with the position after the event,
//  4. opens the source again over the new definition, so the rows after
//     the event are decoded in the new shape.
//
// A crash between 2 and 3 resumes at the event itself; the decoder, made
// for the changed table, sees that its schema already reflects the change
// and skips it, so no change is applied twice and no row is read in the
// wrong shape.
//
// What a change may not do: drop or rename a column that a view, index,
// constraint or foreign key uses (the view would stop matching its
// definition). Such a change is refused, as ALTER TABLE without CASCADE
// refuses it, and kept as a reject with the reason (2BP01); the table
// keeps the column, which later events leave NULL. Dropping a primary key
// column is refused too (0A000): the table's updates and deletes find
// rows by key.

// autoSchemaChange is the table option that applies upstream DDL.
const autoSchemaChange = "auto.schema.change"

// applySchemaChanges applies the changes of one upstream DDL event to
// table r, putting their effect on stored rows into txn. It returns the
// changes it refused, as rejects.
func (e *Engine) applySchemaChanges(txn *storage.Txn, r *catalog.Relation, changes []stream.SchemaChange) []stream.Reject {
	var refused []stream.Reject
	for _, c := range changes {
		if cur, ok := e.cat.ByOID(r.OID); ok {
			r = cur
		}
		err := e.applySchemaChange(txn, r, c)
		if err == nil {
			e.log.Info("upstream schema change applied", "table", r.Name, "change", c.Kind, "column", c.Column, "sql", c.SQL)
			continue
		}
		e.log.Warn("upstream schema change refused", "table", r.Name, "change", c.Kind, "column", c.Column, "err", err)
		refused = append(refused, stream.Reject{Relation: r.Name, Split: c.Split, Offset: c.Offset, Raw: []byte(c.SQL),
			Error: rejectError(fmt.Errorf("upstream schema change not applied: %s: %w", describeChange(r, c), err)), Time: time.Now().UTC()})
	}
	return refused
}

func (e *Engine) applySchemaChange(txn *storage.Txn, r *catalog.Relation, c stream.SchemaChange) error {
	switch c.Kind {
	case "add column":
		col := catalog.Column{Name: strings.ToLower(c.Column), Type: c.Type}
		if r.ColumnIndex(col.Name) >= 0 {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", col.Name, r.Name)
		}
		if c.HasDefault {
			if err := e.fillUpstreamDefault(r, &col, c.Default); err != nil {
				return err
			}
		}
		_, err := e.addColumn(r, col)
		return err
	case "drop column":
		i := columnFold(r, c.Column)
		if i < 0 {
			return nil // the table never took the column
		}
		if err := e.checkColumnUnused(r, i, "drop"); err != nil {
			return err
		}
		for _, k := range r.PrimaryKey {
			if k == i {
				return sqlerr.New(sqlerr.FeatureNotSupported, "cannot drop primary key column %q of table %q: its updates and deletes find rows by key", r.Columns[i].Name, r.Name)
			}
		}
		_, err := e.dropColumn(txn, r, r.Columns[i].Name, false)
		return err
	case "rename column":
		i := columnFold(r, c.Column)
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c.Column, r.Name)
		}
		if err := e.checkColumnUnused(r, i, "rename"); err != nil {
			return err
		}
		return e.renameColumn(r, r.Columns[i].Name, strings.ToLower(c.NewName))
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported", c.Kind)
}

// fillUpstreamDefault gives the rows stored before an upstream ADD
// COLUMN ... DEFAULT the default they hold upstream, and makes it the
// column's default. The rows are written, under the table's definition
// with the column, in a commit of their own before the column is added to
// the catalog: after a crash in between the event is read again and the
// rows written again, and after a crash later the catalog has the column
// and the rows have their values.
func (e *Engine) fillUpstreamDefault(r *catalog.Relation, col *catalog.Column, text string) error {
	v, err := types.ParseText(text, col.Type, time.UTC)
	if err != nil {
		return err
	}
	col.Default = udf.QuoteLiteral(text)
	nr := r.Clone()
	c := *col
	c.AttNum = int16(len(nr.Columns) + 1)
	nr.Columns = append(nr.Columns, c)
	txn := e.db.Begin()
	if err := fillRows(txn, nr, func() (types.Datum, error) { return v, nil }); err != nil {
		txn.Rollback()
		return err
	}
	return txn.Commit()
}

// checkColumnUnused refuses to drop or rename column i of r while views
// read it, as ALTER TABLE DROP COLUMN without CASCADE refuses (a renamed
// column would no longer match the definitions of the views that name it).
func (e *Engine) checkColumnUnused(r *catalog.Relation, i int, what string) error {
	var lines []string
	for _, d := range e.cat.Dependents(r.OID) {
		if d.UsesColumn(r.OID, r.Columns[i].AttNum) {
			lines = append(lines, fmt.Sprintf("%s %s depends on column %s of table %s", d.Kind, d.Name, r.Columns[i].Name, r.Name))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot %s column %s of table %s because other objects depend on it", what, r.Columns[i].Name, r.Name).
		WithDetail("%s", strings.Join(lines, "\n"))
}

// columnFold finds a column as MySQL names it: case-insensitively.
func columnFold(r *catalog.Relation, name string) int {
	if i := r.ColumnIndex(name); i >= 0 {
		return i
	}
	for i, c := range r.Columns {
		if !c.Dropped && strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func describeChange(r *catalog.Relation, c stream.SchemaChange) string {
	switch c.Kind {
	case "add column":
		return fmt.Sprintf("%s %s.%s %s", c.Kind, r.Name, c.Column, c.Type)
	case "rename column":
		return fmt.Sprintf("%s %s.%s to %s", c.Kind, r.Name, c.Column, c.NewName)
	}
	return fmt.Sprintf("%s %s.%s", c.Kind, r.Name, c.Column)
}

// rejectError spells an error as a reject does: SQLSTATE, message and
// detail.
func rejectError(err error) string {
	e := sqlerr.From(err)
	msg := err.Error()
	if e.Detail != "" {
		msg += " (" + strings.ReplaceAll(e.Detail, "\n", "; ") + ")"
	}
	return e.Code + ": " + msg
}

// columnDeps lists the columns of its tables that a view or sink reads,
// for catalog.Relation.ColumnDeps (what keeps DROP COLUMN, and upstream
// schema changes, from taking a column it needs): the columns its query
// names (by name, whatever the qualifier: a superset), the primary key
// (its stream key) and the watermark columns. A table it reads with * or
// through a NATURAL join is not listed, and so counts as read whole.
func (e *Engine) columnDeps(deps []uint32, query proto.Message) []catalog.ColumnRef {
	names := map[string]bool{}
	whole := false
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		switch n := m.Interface().(type) {
		case *pg.ColumnRef:
			if len(n.Fields) > 0 {
				last := n.Fields[len(n.Fields)-1]
				if last.GetAStar() != nil {
					whole = true
				} else if s := last.GetString_(); s != nil {
					names[s.Sval] = true
				}
			}
			return
		case *pg.JoinExpr:
			if n.IsNatural {
				whole = true
			}
			for _, u := range n.UsingClause {
				if s := u.GetString_(); s != nil {
					names[s.Sval] = true
				}
			}
		}
		eachChild(m, func(c protoreflect.Message) bool {
			walk(c)
			return true
		})
	}
	walk(query.ProtoReflect())
	if whole {
		return nil
	}
	var out []catalog.ColumnRef
	for _, oid := range deps {
		r, ok := e.cat.ByOID(oid)
		if !ok || r.Kind != catalog.KindTable {
			continue
		}
		used := map[int]bool{}
		for _, k := range r.PrimaryKey {
			used[k] = true
		}
		for _, w := range r.Watermarks {
			if i := r.ColumnIndex(w.Column); i >= 0 {
				used[i] = true
			}
		}
		for i, c := range r.Columns {
			if !c.Dropped && names[c.Name] {
				used[i] = true
			}
		}
		for i, c := range r.Columns {
			if used[i] {
				out = append(out, catalog.ColumnRef{Rel: oid, AttNum: c.AttNum})
			}
		}
	}
	return out
}
