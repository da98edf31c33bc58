package catalog

import (
	"testing"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

func sqlFunc(name string, args ...types.T) *Function {
	names := make([]string, len(args))
	return &Function{Schema: "public", Name: name, ArgNames: names, ArgTypes: args, RetType: types.TInt4,
		Language: "sql", Body: "SELECT 1", Volatility: Immutable}
}

// Functions are overloaded by argument types (modifiers do not count),
// persist across a reopen, keep their OID when replaced, and are found
// by exact signature.
func TestFunctionsOverloadPersistReplace(t *testing.T) {
	dir := t.TempDir()
	db, c := openDB(t, dir)
	f1, err := c.CreateFunction(sqlFunc("f", types.TInt4), false, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if f1.OID != 20000 {
		t.Errorf("first function OID %d, want the minimum 20000", f1.OID)
	}
	f2, err := c.CreateFunction(sqlFunc("f", types.TText), false, 20000)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateFunction(sqlFunc("f", types.TInt4), false, 20000)
	wantCode(t, err, sqlerr.DuplicateFunction, `function "f" already exists with same argument types`)
	// varchar(5) is varchar: a different signature from text, the same as varchar.
	if _, err := c.CreateFunction(sqlFunc("g", types.T{Kind: types.Varchar, Width: 5}), false, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.LookupFunction("public", "g", []types.T{types.TVarchar}); !ok {
		t.Error("g(varchar) not found by g(varchar(5))'s base type")
	}
	r := sqlFunc("f", types.TInt4)
	r.Body = "SELECT 2"
	r3, err := c.CreateFunction(r, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r3.OID != f1.OID {
		t.Errorf("replaced function has OID %d, want %d", r3.OID, f1.OID)
	}
	r.RetType = types.TInt8
	_, err = c.CreateFunction(r, true, 0)
	wantCode(t, err, "42P13", "cannot change return type of existing function")
	db.Close()

	db, c = openDB(t, dir)
	defer db.Close()
	got := c.FunctionsNamed("public", "f")
	if len(got) != 2 || got[0].OID != f1.OID || got[1].OID != f2.OID || got[0].Body != "SELECT 2" {
		t.Fatalf("after reopen: %+v", got)
	}
	// A relation created later gets an OID past the functions'.
	v := mustCreate(t, c, table("t", "a"))
	if v.OID <= f2.OID {
		t.Errorf("relation OID %d reuses the function range (f2 %d)", v.OID, f2.OID)
	}
}

// Relations list the functions they call (the planner reports them among
// the relation dependencies); DROP FUNCTION refuses while they exist and
// CASCADE drops them and what depends on them. DROP SCHEMA takes the
// schema's functions along.
func TestFunctionDependencies(t *testing.T) {
	db, c := openDB(t, t.TempDir())
	defer db.Close()
	f, err := c.CreateFunction(sqlFunc("f", types.TInt4), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	tbl := mustCreate(t, c, table("t", "a"))
	v := mustCreate(t, c, &Relation{Schema: "public", Name: "v", Kind: KindView, Definition: "SELECT f(a) FROM t",
		Columns: []Column{{Name: "f", Type: types.TInt4}}, DependsOn: []uint32{tbl.OID, f.OID}})
	if len(v.DependsOn) != 1 || v.DependsOn[0] != tbl.OID || len(v.FuncDeps) != 1 || v.FuncDeps[0] != f.OID {
		t.Fatalf("dependencies not split: DependsOn %v FuncDeps %v", v.DependsOn, v.FuncDeps)
	}
	w := mustCreate(t, c, &Relation{Schema: "public", Name: "w", Kind: KindView, Definition: "SELECT * FROM v",
		Columns: []Column{{Name: "f", Type: types.TInt4}}, DependsOn: []uint32{v.OID}})
	_, _, err = c.DropFunction(f.OID, false)
	e := wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop function f(integer) because other objects depend on it")
	if want := "view v depends on function f(integer)\nview w depends on view v"; e.Detail != want {
		t.Errorf("detail %q, want %q", e.Detail, want)
	}
	dropped, _, err := c.DropFunction(f.OID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 2 || dropped[0].OID != w.OID || dropped[1].OID != v.OID {
		t.Errorf("cascade dropped %v, want w then v", dropped)
	}
	if _, ok := c.Function(f.OID); ok {
		t.Error("function still there")
	}

	if err := c.CreateSchema("s", false); err != nil {
		t.Fatal(err)
	}
	g := sqlFunc("g")
	g.Schema = "s"
	if _, err := c.CreateFunction(g, false, 0); err != nil {
		t.Fatal(err)
	}
	_, err = c.DropSchema("s", false)
	wantCode(t, err, sqlerr.DependentObjectsStillExist, "cannot drop schema s because other objects depend on it")
	if _, err := c.DropSchema("s", true); err != nil {
		t.Fatal(err)
	}
	if c.HasFunctionNamed("g") {
		t.Error("function g survived DROP SCHEMA s CASCADE")
	}
}
