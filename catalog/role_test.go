package catalog

import (
	"testing"
	"time"
)

func TestRolesPersist(t *testing.T) {
	dir := t.TempDir()
	db, c := openDB(t, dir)
	if made, err := c.BootstrapSuperuser("streamsql", "secret-1"); err != nil || !made {
		t.Fatalf("bootstrap: %v %v", made, err)
	}
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	analysts, err := c.CreateRole(&Role{Name: "analysts", Inherit: true, ConnLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(&Role{Name: "alice", Inherit: true, CanLogin: true, ConnLimit: 3, Password: "v", ValidUntil: &until}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateRole(&Role{Name: "alice"})
	wantCode(t, err, "42710", `role "alice" already exists`)
	if err := c.GrantRole("analysts", "alice", false, "streamsql"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.GrantRole("alice", "analysts", false, "streamsql"), "0LP01", `role "alice" is a member of role "analysts"`)
	wantCode(t, c.GrantRole("nobody", "alice", false, "streamsql"), "42704", `role "nobody" does not exist`)
	owned := table("owned", "a")
	owned.Owner = "analysts"
	mustCreate(t, c, owned)
	wantCode(t, c.DropRole("analysts"), "2BP01", `role "analysts" cannot be dropped because some objects depend on it`)
	db.Close()

	db, c = openDB(t, dir)
	defer db.Close()
	if made, err := c.BootstrapSuperuser("streamsql", "other"); err != nil || made {
		t.Fatalf("second bootstrap: %v %v", made, err)
	}
	su, ok := c.Role("streamsql")
	if !ok || su.OID != OIDBootstrapSuperuser || !su.Superuser || su.Password != "secret-1" {
		t.Fatalf("superuser after restart: %+v", su)
	}
	a, ok := c.Role("alice")
	if !ok || !a.CanLogin || a.ConnLimit != 3 || a.ValidUntil == nil || !a.ValidUntil.Equal(until) || !a.HasMembership("analysts") {
		t.Fatalf("alice after restart: %+v", a)
	}
	if !c.IsMemberOf("alice", "analysts", true) || c.IsMemberOf("analysts", "alice", false) {
		t.Error("membership")
	}
	if r, ok := c.RoleByOID(analysts.OID); !ok || r.Name != "analysts" {
		t.Error("RoleByOID")
	}
	// Renaming a role follows into memberships; dropping it revokes them.
	g, _ := c.Role("analysts")
	g = g.Clone()
	g.Name = "readers"
	if err := c.UpdateRole(g); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Role("alice"); !a.HasMembership("readers") {
		t.Errorf("after rename: %+v", a.MemberOf)
	}
	rel, _ := c.Relation("public", "owned")
	if _, err := c.DropRelation(rel.OID, false); err != nil {
		t.Fatal(err)
	}
	if err := c.DropRole("readers"); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Role("alice"); len(a.MemberOf) != 0 {
		t.Errorf("membership survived DROP ROLE: %+v", a.MemberOf)
	}
	if _, ok := c.Role("readers"); ok {
		t.Error("dropped role still there")
	}
}
