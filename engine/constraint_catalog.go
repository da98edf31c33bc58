package engine

import (
	"streamsql/catalog/pgcatalog"
	"streamsql/sql/types"
	"streamsql/udf"
)

// checkFKObject describes a CHECK or FOREIGN KEY constraint for
// pg_get_constraintdef (psql's \d "Check constraints:" and "Foreign-key
// constraints:").
func (c catalogReader) checkFKObject(oid uint32) (udf.ObjectInfo, bool) {
	relOID, k, ok := pgcatalog.DecodeCheckFK(oid)
	if !ok {
		return udf.ObjectInfo{}, false
	}
	r, ok := c.s.e.cat.ByOID(relOID)
	if !ok || k >= len(r.Checks)+len(r.ForeignKeys) {
		return udf.ObjectInfo{}, false
	}
	o := udf.ObjectInfo{Schema: r.Schema, Kind: 'c', Visible: c.snapshot().Visible(r.Schema, r.Name)}
	if k < len(r.Checks) {
		ck := r.Checks[k]
		o.Name = ck.Name
		o.Definition = "CHECK (" + c.exprText(r, ck.Expr, types.TBool, false) + ")"
		o.PrettyDefinition = "CHECK (" + c.exprText(r, ck.Expr, types.TBool, true) + ")"
		return o, true
	}
	fk := r.ForeignKeys[k-len(r.Checks)]
	parent, ok := c.s.e.cat.ByOID(fk.RefRel)
	if !ok {
		return udf.ObjectInfo{}, false
	}
	o.Name, o.Definition = fk.Name, pgcatalog.ForeignKeyDef(r, parent, fk)
	return o, true
}
