package postgrescdc

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/connector"
	"streamsql/sql/parser"
	"streamsql/sql/types"
)

// TestDocExample runs the example of docs/connectors/postgres-cdc.md: the
// upstream statements on the PostgreSQL of SLT_PG_DSN, the CREATE TABLE
// parsed by StreamSQL's parser and its options validated by the
// connector, then the upstream changes; the table must end up with the
// rows the page shows. Names starting with shop_orders get a unique
// suffix, and the connection options point at SLT_PG_DSN.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/connectors/postgres-cdc.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- example: postgres-cdc -->\n```sql\n(.*?)```.*?```sql\n(.*?)```.*?```sql\n(.*?)```.*?```text\n(.*?)```")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatal("no example in docs/connectors/postgres-cdc.md")
	}
	setup, create, changes, want := string(m[1]), string(m[2]), string(m[3]), strings.TrimSpace(string(m[4]))

	u := newUpstream(t, "SELECT 1 AS %s")
	rename := func(s string) string { return strings.ReplaceAll(s, "shop_orders", u.table) }
	u.slot, u.pub = u.table+"_slot", u.table+"_pub" // what the renamed options say, for the cleanup
	u.exec(rename(setup))

	stmts, err := parser.Parse(rename(create))
	if err != nil {
		t.Fatal(err)
	}
	cs := stmts[0].AST.GetCreateStmt()
	ext, ok := stmts[0].Ext.(*parser.CreateTableExt)
	if cs == nil || !ok {
		t.Fatalf("the example's first statement is not CREATE TABLE ... WITH (connector = ...): %s", stmts[0].SQL)
	}
	var cols []connector.Column
	var key []int
	for _, el := range cs.TableElts {
		if cd := el.GetColumnDef(); cd != nil {
			names := cd.TypeName.Names
			var mods []int32
			for _, tm := range cd.TypeName.Typmods {
				mods = append(mods, tm.GetAConst().GetIval().Ival)
			}
			typ, err := types.ParseTypeName(names[len(names)-1].GetString_().Sval, mods, len(cd.TypeName.ArrayBounds))
			if err != nil {
				t.Fatal(err)
			}
			cols = append(cols, connector.Column{Name: cd.Colname, Type: typ})
		}
		if c := el.GetConstraint(); c != nil && c.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			for _, k := range c.Keys {
				for i, col := range cols {
					if col.Name == k.GetString_().Sval {
						key = append(key, i)
					}
				}
			}
		}
	}
	opts := map[string]string{}
	for _, o := range ext.Options {
		opts[o.Key] = o.Value
	}
	// The connection is the test's.
	for k, v := range u.options() {
		switch k {
		case "hostname", "port", "username", "password", "database.name", "ssl.mode":
			opts[k] = v
		}
	}
	c := Connector()
	vopts, err := c.Validate(opts)
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Source(&connector.SourceConfig{Relation: cs.Relation.Relname, RelationID: 1, Columns: cols, PrimaryKey: key,
		Options: vopts, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := src.(*Spec)
	ep := newEpochs()
	r := start(t, spec, ep, newTable(spec.ts, key), nil, 20*time.Millisecond)
	defer r.crash()
	r.waitPos(t, func(p *position) bool { return p.snapshotDone })
	for _, s := range strings.Split(rename(changes), ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			u.exec(s)
		}
	}
	wantRows := strings.Split(want, "\n")
	sort.Strings(wantRows)
	r.waitEqual(t, func() []string { return wantRows }, 10*time.Second)
	var n int
	if err := u.conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_publication_tables WHERE pubname = $1", u.pub).Scan(&n); err != nil || n != 1 {
		t.Fatalf("publication %s publishes %d tables (%v)", u.pub, n, err)
	}
}
