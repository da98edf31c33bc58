package pgcatalog

import (
	"testing"

	"streamsql/catalog"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Every producer fills only columns its table has: a misspelt column name
// would silently leave PostgreSQL's column at its zero value.
func TestProducersUseDeclaredColumns(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat, err := catalog.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateRelation(&catalog.Relation{Schema: "public", Name: "t", Kind: catalog.KindTable,
		Columns:    []catalog.Column{{Name: "a", Type: types.TInt4, AttNum: 1}, {Name: "b", Type: types.TText, AttNum: 2, Default: "'x'"}},
		PrimaryKey: []int{0}, Definition: ""}); err != nil {
		t.Fatal(err)
	}
	s := &Snapshot{Catalog: cat, User: "u", Database: "d", SearchPath: []string{"public"},
		Settings: []Setting{{Name: "search_path", Value: "public"}},
		Procs:    []Proc{{OID: 1, Name: "f", ArgTypes: []uint32{23}, RetType: 23, Kind: 'a', Volatility: 'i'}}}
	for key, produce := range producers {
		tbl, ok := registry[key]
		if !ok {
			t.Errorf("producer for unknown table %s", key)
			continue
		}
		cols := map[string]bool{}
		for _, c := range tbl.Columns {
			cols[c.Name] = true
		}
		rows := produce(s)
		for _, r := range rows {
			for name := range r {
				if !cols[name] {
					t.Errorf("%s: row sets column %q the table does not have", key, name)
				}
			}
		}
		for _, r := range tbl.Rows(s) {
			if len(r) != len(tbl.Columns) {
				t.Fatalf("%s: row of %d values for %d columns", key, len(r), len(tbl.Columns))
			}
		}
	}
}

func TestEveryTableHasColumns(t *testing.T) {
	for _, tbl := range Tables() {
		if len(tbl.Columns) == 0 {
			t.Errorf("%s.%s has no columns", tbl.Schema, tbl.Name)
		}
	}
	if _, ok := Lookup("pg_catalog", "pg_class"); !ok {
		t.Fatal("pg_class missing")
	}
}

func TestDerivedOIDs(t *testing.T) {
	for _, rel := range []uint32{catalog.FirstUserOID, catalog.FirstUserOID + 12345} {
		for _, c := range []struct {
			oid  uint32
			kind ObjectKind
		}{{rel, ObjRelation}, {IndexOID(rel), ObjIndex}, {ConstraintOID(rel), ObjConstraint}, {RuleOID(rel), ObjRule}} {
			k, r := Decode(c.oid)
			if k != c.kind || r != rel {
				t.Errorf("Decode(%d) = %v, %d; want %v, %d", c.oid, k, r, c.kind, rel)
			}
		}
	}
}
