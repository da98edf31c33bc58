package catalog

import (
	"errors"
	"testing"

	"streamsql/sql/sqlerr"
)

// Indexes get OIDs, default names and a place in the relation namespace;
// they persist with their table and go with the columns they cover.
func TestIndexes(t *testing.T) {
	dir := t.TempDir()
	db, c := openDB(t, dir)
	r := table("t", "id", "a", "b")
	r.PrimaryKey = []int{0}
	r.Indexes = []Index{{Name: "t_a_key", Columns: []int{1}, Unique: true, Constraint: true}, {Name: "t_a_key", Columns: []int{2}}}
	if _, err := c.CreateRelation(r); err == nil {
		t.Fatal("two indexes named t_a_key were accepted")
	}
	r.Indexes[0].Name, r.Indexes[1].Name = "", ""
	c.NameIndexes(r)
	if r.Indexes[0].Name != "t_a_key" || r.Indexes[1].Name != "t_b_idx" {
		t.Fatalf("default names %q %q", r.Indexes[0].Name, r.Indexes[1].Name)
	}
	tr := mustCreate(t, c, r)
	if tr.Indexes[0].OID != tr.OID+1 || tr.Indexes[1].OID != tr.OID+2 {
		t.Fatalf("index OIDs %d %d for table %d", tr.Indexes[0].OID, tr.Indexes[1].OID, tr.OID)
	}
	_, err := c.CreateRelation(table("t_b_idx", "x"))
	wantCode(t, err, sqlerr.DuplicateTable, `relation "t_b_idx" already exists`)
	if got := c.ChooseIndexName("public", "t", []string{"a"}, "key"); got != "t_a_key1" {
		t.Errorf("next name for t(a): %q", got)
	}
	if got := c.ChooseIndexName("public", "t", nil, "pkey"); got != "t_pkey1" {
		t.Errorf("a name past t_pkey: %q", got)
	}
	built := false
	nr, err := c.AddIndex(tr.OID, Index{Name: "t_ab", Columns: []int{1, 2}, Desc: []bool{false, true}}, func(ix Index) error {
		built = ix.OID == tr.OID+3
		return nil
	})
	if err != nil || !built || len(nr.Indexes) != 3 {
		t.Fatalf("AddIndex: %v, built with the next OID: %v", err, built)
	}
	if _, err := c.AddIndex(tr.OID, Index{Name: "t", Columns: []int{1}}, func(Index) error { return nil }); err == nil {
		t.Error("an index named like its table was accepted")
	}
	failed := errors.New("build failed")
	if _, err := c.AddIndex(tr.OID, Index{Name: "t_x", Columns: []int{1}}, func(Index) error { return failed }); !errors.Is(err, failed) {
		t.Errorf("failing build: %v", err)
	}
	if _, _, ok := c.IndexByName("public", "t_x"); ok {
		t.Error("an index whose build failed exists")
	}
	db.Close()

	db, c = openDB(t, dir)
	defer db.Close()
	rel, ix, ok := c.IndexByName("public", "t_ab")
	if !ok || rel.Name != "t" || len(ix.Desc) != 2 || !ix.Desc[1] {
		t.Fatalf("after reopening: %v %+v", ok, ix)
	}
	if _, ix, ok := c.IndexByOID(tr.OID + 1); !ok || ix.Name != "t_a_key" || !ix.Constraint {
		t.Fatalf("by OID after reopening: %+v", ix)
	}
	nr, _, err = c.DropColumn(tr.OID, "b", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(nr.Indexes) != 1 || nr.Indexes[0].Name != "t_a_key" {
		t.Errorf("after dropping b: %+v", nr.Indexes)
	}
	if _, err := c.DropIndex(tr.OID, "t_a_key"); err != nil {
		t.Fatal(err)
	}
	_, err = c.DropIndex(tr.OID, "t_a_key")
	wantCode(t, err, sqlerr.UndefinedObject, `index "t_a_key" does not exist`)
}
