package lower

import (
	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// batchVirtualScan builds the scan of a pg_catalog or information_schema
// table: its rows are computed when it opens, from the catalog and from
// what the session tells the functions through udf.Env.
func batchVirtualScan(s *plan.VirtualScan) exec.Operator {
	t, cat, path := s.Table, s.Catalog, s.SearchPath
	idx := make([]int, len(t.Columns))
	for i := range idx {
		idx[i] = i
	}
	rows := func(ctx *exec.Ctx) ([][]types.Datum, error) {
		if t.Schema == "pg_catalog" && t.Name == "pg_authid" {
			// Password secrets: superusers only, as in PostgreSQL.
			if su, ok := ctx.Env.Catalog.(interface{ IsSuperuser() bool }); ok && !su.IsSuperuser() {
				return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for table pg_authid")
			}
		}
		return t.Rows(snapshotFor(cat, path, &ctx.Env)), nil
	}
	return batch.NewVirtualScan(t.Schema+"."+t.Name, s.OutputTypes(), idx, rows)
}

// snapshotFor gathers what the virtual tables are computed from.
func snapshotFor(cat *catalog.Catalog, path []string, env *udf.Env) *pgcatalog.Snapshot {
	s := &pgcatalog.Snapshot{Catalog: cat, SearchPath: path, User: catalog.DefaultOwner, Database: "streamsql"}
	if env.Catalog != nil {
		s.User, s.Database = env.Catalog.CurrentUser(), env.Catalog.CurrentDatabase()
	}
	if ro, ok := env.Catalog.(interface {
		RelOptions(r *catalog.Relation) []string
	}); ok {
		s.RelOptions = ro.RelOptions
	}
	if rr, ok := env.Catalog.(interface{ Rejects() []pgcatalog.RejectRow }); ok {
		s.Rejects = rr.Rejects
	}
	if lr, ok := env.Catalog.(interface{ LateRows() []pgcatalog.LateRow }); ok {
		s.LateRows = lr.LateRows
	}
	if or, ok := env.Catalog.(interface {
		OperatorStats() []pgcatalog.OperatorStatRow
	}); ok {
		s.OperatorStats = or.OperatorStats
	}
	if cr, ok := env.Catalog.(interface{ Cursors() []pgcatalog.CursorRow }); ok {
		s.Cursors = cr.Cursors
	}
	if ar, ok := env.Catalog.(interface {
		Activity() []pgcatalog.ActivityRow
	}); ok {
		s.Activity = ar.Activity
	}
	if lr, ok := env.Catalog.(interface{ Locks() []pgcatalog.LockRow }); ok {
		s.Locks = lr.Locks
	}
	if et, ok := env.Catalog.(interface {
		ExprText(r *catalog.Relation, text string, want types.T) string
	}); ok {
		s.ExprText = et.ExprText
	}
	if vt, ok := env.Catalog.(interface {
		ViewText(r *catalog.Relation) string
	}); ok {
		s.ViewText = vt.ViewText
	}
	if sl, ok := env.Catalog.(interface {
		SequenceLast(r *catalog.Relation) (int64, bool)
	}); ok {
		s.SequenceLast = sl.SequenceLast
	}
	if ci, ok := env.Catalog.(udf.CatalogInfo); ok {
		s.SearchPath = ci.SearchPath()
		for _, st := range ci.Settings() {
			s.Settings = append(s.Settings, pgcatalog.Setting{Name: st.Name, Value: st.Value, Description: st.Description})
		}
	}
	for _, f := range udf.Procs() {
		args := make([]uint32, len(f.Args))
		for i, a := range f.Args {
			args[i] = udf.ProcTypeOID(a)
		}
		s.Procs = append(s.Procs, pgcatalog.Proc{OID: f.OID, Name: f.Name, ArgTypes: args, RetType: udf.ProcTypeOID(f.Ret),
			Kind: f.Kind, Variadic: f.Variadic, RetSet: f.RetSet, Strict: f.Strict, Volatility: byte(f.Volatility)})
	}
	return s
}
