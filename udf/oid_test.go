package udf

import "testing"

func TestOIDs(t *testing.T) {
	want := map[string]uint32{"upper": 871, "now": 1299}
	for _, s := range Scalars() {
		if o, ok := want[s.Name]; ok && s.OID != o {
			t.Errorf("%s oid %d, want %d", s.Name, s.OID, o)
		}
	}
	seen := map[uint32]string{}
	check := func(name string, oid uint32) {
		if prev, dup := seen[oid]; dup {
			t.Errorf("oid %d used by %s and %s", oid, prev, name)
		}
		seen[oid] = name
	}
	known := 0
	for _, s := range Scalars() {
		check(s.Name, s.OID)
		if s.OID < 16384 {
			known++
		}
	}
	for _, a := range Aggregates() {
		check(a.Name, a.OID)
		if a.Name == "count" && len(a.Args) == 0 && a.OID != 2803 {
			t.Errorf("count(*) oid %d, want 2803", a.OID)
		}
	}
	for _, o := range Operators() {
		check(o.Name, o.OID)
	}
	if known < 100 {
		t.Errorf("only %d functions carry PostgreSQL's oid", known)
	}
}
