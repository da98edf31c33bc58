package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// View options: CREATE MATERIALIZED VIEW v WITH (name = value, ...) AS
// query. The one option today is late_rows, what the view does with rows
// that arrive behind their watermark:
//
//	keep  (the default) drop them from the results but keep them in the
//	      late_rows relation, with the watermark they missed
//	drop  drop them, counted in SHOW JOBS only

// Late row modes of a view (catalog.Relation.LateRows).
const (
	lateRowsKeep = "keep"
	lateRowsDrop = "drop"
)

// viewOptions reads the WITH options of CREATE MATERIALIZED VIEW and
// returns the late_rows mode.
func viewOptions(into *pg.IntoClause) (lateRows string, err error) {
	lateRows = lateRowsKeep
	for _, o := range into.GetOptions() {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		name := strings.ToLower(d.Defname)
		if name != "late_rows" {
			return "", sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized parameter %q", d.Defname).
				WithHint("A materialized view takes the option late_rows = 'keep' | 'drop'.")
		}
		v := ""
		switch {
		case d.Arg.GetString_() != nil:
			v = d.Arg.GetString_().Sval
		case d.Arg.GetTypeName() != nil && len(d.Arg.GetTypeName().Names) == 1:
			v = d.Arg.GetTypeName().Names[0].GetString_().Sval
		}
		switch strings.ToLower(v) {
		case lateRowsKeep, lateRowsDrop:
			lateRows = strings.ToLower(v)
		case "reopen":
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "late_rows = 'reopen' is not supported yet").
				WithHint("Use 'keep' to keep late rows in the late_rows relation, or 'drop'.")
		default:
			return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"late_rows\": %q", v).
				WithHint("Valid values are 'keep' and 'drop'.")
		}
	}
	return lateRows, nil
}
