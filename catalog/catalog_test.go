package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

func openDB(t *testing.T, dir string) (*storage.DB, *Catalog) {
	t.Helper()
	db, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, c
}

func wantCode(t *testing.T, err error, code, msg string) *sqlerr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	e := sqlerr.From(err)
	if e.Code != code || e.Message != msg {
		t.Fatalf("got %s %q, want %s %q", e.Code, e.Message, code, msg)
	}
	return e
}

func mustCreate(t *testing.T, c *Catalog, r *Relation) *Relation {
	t.Helper()
	out, err := c.CreateRelation(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func table(name string, cols ...string) *Relation {
	r := &Relation{Schema: "public", Name: name, Kind: KindTable}
	for _, c := range cols {
		r.Columns = append(r.Columns, Column{Name: c, Type: types.TInt8})
	}
	return r
}

func view(name string, on ...*Relation) *Relation {
	r := &Relation{Schema: "public", Name: name, Kind: KindView, Definition: "SELECT 1", Columns: []Column{{Name: "x", Type: types.TInt4}}}
	for _, o := range on {
		r.DependsOn = append(r.DependsOn, o.OID)
	}
	return r
}

func names(rs []*Relation) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Schema+"."+r.Name)
	}
	return strings.Join(s, " ")
}

func TestBuiltinSchemasAndOIDs(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	got := c.Schemas()
	want := []Schema{{OID: 11, Name: "pg_catalog", Owner: DefaultOwner}, {OID: OIDInformationSchema, Name: "information_schema", Owner: DefaultOwner}, {OID: 2200, Name: "public", Owner: DefaultOwner}}
	want[0], want[1] = want[1], want[0] // sorted by name
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schemas = %v, want %v", got, want)
	}
	t1 := mustCreate(t, c, table("t1", "a", "b"))
	t2 := mustCreate(t, c, table("t2", "a"))
	if t1.OID != FirstUserOID || t2.OID != FirstUserOID+1 {
		t.Fatalf("OIDs %d %d", t1.OID, t2.OID)
	}
	if t1.Columns[0].AttNum != 1 || t1.Columns[1].AttNum != 2 {
		t.Fatalf("attnums %+v", t1.Columns)
	}
	_, err := c.CreateRelation(table("t1", "x"))
	wantCode(t, err, sqlerr.DuplicateTable, `relation "t1" already exists`)
	_, err = c.CreateRelation(&Relation{Schema: "nope", Name: "x", Kind: KindTable})
	wantCode(t, err, sqlerr.UndefinedSchema, `schema "nope" does not exist`)
	_, err = c.CreateRelation(table("t3", "a", "a"))
	wantCode(t, err, sqlerr.DuplicateColumn, `column "a" specified more than once`)

	r, err := c.Resolve([]string{"myschema", "public"}, "t2")
	if err != nil || r.OID != t2.OID {
		t.Fatalf("Resolve = %v %v", r, err)
	}
	_, err = c.Resolve([]string{"public"}, "missing")
	wantCode(t, err, sqlerr.UndefinedTable, `relation "missing" does not exist`)
	if r, ok := c.ByOID(t1.OID); !ok || r != t1 {
		t.Fatal("ByOID")
	}
}

func TestRestartFindsEverything(t *testing.T) {
	dir := t.TempDir()
	db, c := openDB(t, dir)
	if err := c.CreateSchema("sales", false); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateSchema("sales", true); err != nil {
		t.Fatalf("IF NOT EXISTS: %v", err)
	}
	wantCode(t, c.CreateSchema("sales", false), sqlerr.DuplicateSchema, `schema "sales" already exists`)
	src := mustCreate(t, c, &Relation{
		Schema: "sales", Name: "orders", Kind: KindSource, AppendOnly: true,
		Columns: []Column{
			{Name: "id", Type: types.TInt8, NotNull: true},
			{Name: "amount", Type: types.T{Kind: types.Numeric, Precision: 10, Scale: 2}, Default: "0"},
			{Name: "ts", Type: types.TTimestampTZ},
			{Name: "tags", Type: types.T{Kind: types.Array, Elem: &types.TText}},
		},
		PrimaryKey: []int{0},
		Options:    map[string]string{"connector": "kafka", "topic": "orders"},
		Format:     "PLAIN", Encode: "JSON",
		Watermarks: []Watermark{{Column: "ts", Expr: "ts - INTERVAL '5' SECOND"}},
	})
	mv := mustCreate(t, c, &Relation{Schema: "public", Name: "totals", Kind: KindMatView, Definition: "SELECT sum(amount) FROM sales.orders",
		Columns: []Column{{Name: "sum", Type: types.TNumeric}}, DependsOn: []uint32{src.OID}})
	if _, err := c.AddColumn(src.OID, Column{Name: "note", Type: types.TText}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.DropColumn(src.OID, "tags", true); err != nil {
		t.Fatal(err)
	}
	// mv depended on the whole relation, so cascade dropped it.
	if _, ok := c.ByOID(mv.OID); ok {
		t.Fatal("dependent matview survived DROP COLUMN CASCADE")
	}
	mv = mustCreate(t, c, &Relation{Schema: "public", Name: "totals", Kind: KindMatView, Definition: "SELECT sum(amount) FROM sales.orders",
		Columns: []Column{{Name: "sum", Type: types.TNumeric}}, DependsOn: []uint32{src.OID}, ColumnDeps: []ColumnRef{{src.OID, 2}}})
	if _, err := c.SetComment(mv.OID, "running total"); err != nil {
		t.Fatal(err)
	}
	beforeRels, beforeSchemas := c.Relations(), c.Schemas()
	db.Close()

	db, c = openDB(t, dir)
	defer db.Close()
	afterRels, afterSchemas := c.Relations(), c.Schemas()
	if !reflect.DeepEqual(beforeSchemas, afterSchemas) {
		t.Fatalf("schemas\nbefore %v\nafter  %v", beforeSchemas, afterSchemas)
	}
	if len(beforeRels) != len(afterRels) {
		t.Fatalf("relations: before %s, after %s", names(beforeRels), names(afterRels))
	}
	for i := range beforeRels {
		b, a := beforeRels[i], afterRels[i]
		if !b.Created.Equal(a.Created) {
			t.Fatalf("%s created %v, after restart %v", b.Name, b.Created, a.Created)
		}
		bc, ac := *b, *a
		bc.Created, ac.Created = a.Created, a.Created
		if !reflect.DeepEqual(bc, ac) {
			t.Fatalf("relation changed across restart\nbefore %+v\nafter  %+v", bc, ac)
		}
	}
	r, _ := c.Relation("sales", "orders")
	if got := len(r.VisibleColumns()); got != 4 || r.ColumnIndex("tags") != -1 || r.ColumnIndex("note") != 4 || r.Columns[4].AttNum != 5 {
		t.Fatalf("columns after restart: %+v", r.Columns)
	}
	// The OID counter survived: new objects do not reuse OIDs.
	n := mustCreate(t, c, table("later", "a"))
	for _, old := range beforeRels {
		if n.OID <= old.OID {
			t.Fatalf("new OID %d not above %d", n.OID, old.OID)
		}
	}
}

func TestDropCascadeRules(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	tb := mustCreate(t, c, table("t", "a"))
	v := mustCreate(t, c, view("v", tb))
	w := mustCreate(t, c, view("w", v))
	other := mustCreate(t, c, table("other", "a"))
	both := mustCreate(t, c, view("both", tb, other))

	if got := names(c.Dependents(tb.OID)); got != "public.both public.v" {
		t.Fatalf("Dependents(t) = %s", got)
	}
	_, err := c.DropRelation(tb.OID, false)
	e := wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop table t because other objects depend on it")
	if e.Detail != "view both depends on table t\nview v depends on table t\nview w depends on view v" {
		t.Fatalf("detail %q", e.Detail)
	}
	if e.Hint != "Use DROP ... CASCADE to drop the dependent objects too." {
		t.Fatalf("hint %q", e.Hint)
	}
	if _, ok := c.ByOID(v.OID); !ok {
		t.Fatal("refused drop removed something")
	}
	// A leaf drops without cascade.
	dropped, err := c.DropRelation(w.OID, false)
	if err != nil || names(dropped) != "public.w" {
		t.Fatalf("drop w = %s, %v", names(dropped), err)
	}
	mustCreate(t, c, view("w", v))
	dropped, err = c.DropRelation(tb.OID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(dropped); got != "public.both public.w public.v public.t" {
		t.Fatalf("cascade dropped %s", got)
	}
	if got := names(c.Relations()); got != "public.other" {
		t.Fatalf("left %s", got)
	}
	_ = both
}

func TestSchemaDrop(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	if err := c.CreateSchema("s", false); err != nil {
		t.Fatal(err)
	}
	st := mustCreate(t, c, &Relation{Schema: "s", Name: "t", Kind: KindTable, Columns: []Column{{Name: "a", Type: types.TInt4}}})
	pv := mustCreate(t, c, view("pv", st))
	mustCreate(t, c, view("pv2", pv))
	_, err := c.DropSchema("s", false)
	e := wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop schema s because other objects depend on it")
	if e.Detail != "table s.t depends on schema s\nview pv depends on table s.t\nview pv2 depends on view pv" {
		t.Fatalf("detail %q", e.Detail)
	}
	dropped, err := c.DropSchema("s", true)
	if err != nil || names(dropped) != "public.pv2 public.pv s.t" {
		t.Fatalf("drop schema cascade = %s, %v", names(dropped), err)
	}
	if _, ok := c.ByOID(pv.OID); ok {
		t.Fatal("view on a dropped schema's table survived")
	}
	if _, ok := c.SchemaByName("s"); ok {
		t.Fatal("schema survived")
	}
	_, err = c.DropSchema("s", false)
	wantCode(t, err, sqlerr.UndefinedSchema, `schema "s" does not exist`)
	_, err = c.DropSchema("pg_catalog", true)
	wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop schema pg_catalog because it is required by the database system")
}

func TestAlterColumns(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	tb := mustCreate(t, c, &Relation{Schema: "public", Name: "t", Kind: KindTable, PrimaryKey: []int{0},
		Columns: []Column{{Name: "id", Type: types.TInt8, NotNull: true}, {Name: "v", Type: types.TText}, {Name: "w", Type: types.TText}}})
	// A view reading only column w.
	vw := mustCreate(t, c, &Relation{Schema: "public", Name: "vw", Kind: KindView, Columns: []Column{{Name: "w", Type: types.TText}},
		DependsOn: []uint32{tb.OID}, ColumnDeps: []ColumnRef{{tb.OID, 3}}})
	mustCreate(t, c, view("vw2", vw))

	_, err := c.AddColumn(tb.OID, Column{Name: "v", Type: types.TInt4})
	wantCode(t, err, sqlerr.DuplicateColumn, `column "v" of relation "t" already exists`)

	// Dropping v does not touch vw; dropping w needs cascade.
	r, deps, err := c.DropColumn(tb.OID, "v", false)
	if err != nil || len(deps) != 0 {
		t.Fatalf("drop v: %v %v", deps, err)
	}
	if !r.Columns[1].Dropped || r.ColumnIndex("v") != -1 || len(r.VisibleColumns()) != 2 {
		t.Fatalf("after drop: %+v", r.Columns)
	}
	if tb2, _ := c.ByOID(tb.OID); tb2 != r || tb.Columns[1].Dropped {
		t.Fatal("published relation was mutated in place or not replaced")
	}
	_, _, err = c.DropColumn(tb.OID, "w", false)
	e := wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop column w of table t because other objects depend on it")
	if e.Detail != "view vw depends on column w of table t\nview vw2 depends on view vw" {
		t.Fatalf("detail %q", e.Detail)
	}
	_, _, err = c.DropColumn(tb.OID, "v", false)
	wantCode(t, err, sqlerr.UndefinedColumn, `column "v" of relation "t" does not exist`)

	// Re-adding v gets a new slot after the dropped one.
	r, err = c.AddColumn(tb.OID, Column{Name: "v", Type: types.TBool})
	if err != nil || r.ColumnIndex("v") != 3 || r.Columns[3].AttNum != 4 {
		t.Fatalf("re-add v: %+v %v", r.Columns, err)
	}
	st := r.Table()
	if len(st.Types) != 4 || st.ID != tb.OID || !reflect.DeepEqual(st.PK, []int{0}) || st.Types[3] != types.TBool {
		t.Fatalf("storage table %+v", st)
	}

	if _, err := c.RenameColumn(tb.OID, "w", "v"); err == nil {
		t.Fatal("rename onto an existing column")
	}
	r, err = c.RenameColumn(tb.OID, "w", "ww")
	if err != nil || r.ColumnIndex("ww") != 2 {
		t.Fatalf("rename column: %v", err)
	}
	_, err = c.RenameRelation(tb.OID, "vw")
	wantCode(t, err, sqlerr.DuplicateTable, `relation "vw" already exists`)
	r, err = c.RenameRelation(tb.OID, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Relation("public", "t"); ok {
		t.Fatal("old name still resolves")
	}
	if got, ok := c.Relation("public", "t2"); !ok || got != r {
		t.Fatal("new name does not resolve")
	}
	// Dropping the key column drops the primary key.
	r, _, err = c.DropColumn(tb.OID, "id", false)
	if err != nil || len(r.PrimaryKey) != 0 {
		t.Fatalf("drop key column: %v %v", r.PrimaryKey, err)
	}
	_ = vw
}

// TestConcurrentReadsAndDDL runs readers against a stream of DDL; with
// -race it checks that published relations are never written.
func TestConcurrentReadsAndDDL(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	base := mustCreate(t, c, table("base", "a"))
	done := make(chan struct{})
	var readers sync.WaitGroup
	for g := 0; g < 4; g++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, r := range c.Relations() {
					_ = r.VisibleColumns()
					_ = r.ColumnIndex("a")
				}
				if r, err := c.Resolve([]string{"public"}, "base"); err == nil {
					_ = r.Table()
				}
				_ = c.Dependents(base.OID)
			}
		}()
	}
	for i := 0; i < 50; i++ {
		v := mustCreate(t, c, view(fmt.Sprint("v", i), base))
		if _, err := c.AddColumn(base.OID, Column{Name: fmt.Sprint("c", i), Type: types.TText}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := c.DropRelation(v.OID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	readers.Wait()
	if got := len(c.Dependents(base.OID)); got != 25 {
		t.Fatalf("%d dependents, want 25", got)
	}
	if r, _ := c.ByOID(base.OID); len(r.Columns) != 51 {
		t.Fatalf("%d columns", len(r.Columns))
	}
}
