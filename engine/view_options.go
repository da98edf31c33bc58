package engine

import (
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/lower"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// View options: CREATE MATERIALIZED VIEW v WITH (name = value, ...) AS
// query. They say what the view does with rows that arrive behind their
// watermark:
//
//	late_rows         keep (the default): leave them out of the results
//	                  but keep them in the late_rows relation, with the
//	                  watermark they missed; drop: count them in SHOW
//	                  JOBS only; reopen: rows up to allowed_lateness
//	                  behind the watermark still update their window's
//	                  result (the old row retracted, the corrected one
//	                  inserted), later ones are kept as with keep
//	allowed_lateness  an interval, with late_rows = 'reopen' only
//	late_rows_max     how many late rows the view keeps, newest first
//	                  (1 to stream.MaxLateRowsMax, default
//	                  stream.DefaultLateRowsMax)
//
// and what it does when an input stops bringing rows:
//
//	idle_timeout      an interval: a table or source the view reads
//	                  that brought no row for this long moves its
//	                  watermark on with the clock (lower/stream_idle.go)

// Late row modes of a view (catalog.Relation.LateRows).
const (
	lateRowsKeep   = "keep"
	lateRowsDrop   = "drop"
	lateRowsReopen = "reopen"
)

// lateOptions are a view's late row options.
type lateOptions struct {
	// mode is lateRowsKeep, lateRowsDrop or lateRowsReopen.
	mode string
	// lateness is the allowed lateness in microseconds (reopen only).
	lateness int64
	// max is late_rows_max (0: the default).
	max int
	// idle is idle_timeout (0: none).
	idle time.Duration
}

// viewOptionsHint lists the options in errors.
const viewOptionsHint = "A materialized view takes the options late_rows = 'keep' | 'drop' | 'reopen', allowed_lateness = '<interval>' (with 'reopen') and late_rows_max = <count> and idle_timeout = '<interval>'."

// viewOptions reads the WITH options of CREATE MATERIALIZED VIEW.
// late_rows = 'reopen' with EMIT ON WINDOW CLOSE is planned by lower: an
// aggregation over windows emits each window when the watermark passes
// it and corrects its row while the allowed lateness keeps it open.
func viewOptions(into *pg.IntoClause) (lateOptions, error) {
	o := lateOptions{mode: lateRowsKeep}
	for _, opt := range into.GetOptions() {
		d := opt.GetDefElem()
		if d == nil {
			continue
		}
		v := defElemText(d)
		switch strings.ToLower(d.Defname) {
		case "late_rows":
			switch strings.ToLower(v) {
			case lateRowsKeep, lateRowsDrop, lateRowsReopen:
				o.mode = strings.ToLower(v)
			default:
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"late_rows\": %q", v).
					WithHint("Valid values are 'keep', 'drop' and 'reopen'.")
			}
		case "allowed_lateness":
			iv, err := types.ParseText(v, types.TInterval, nil)
			if err != nil {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"allowed_lateness\": %q", v).
					WithHint("Give an interval, as in allowed_lateness = '1 minute'.")
			}
			x := iv.(types.IntervalValue)
			if x.Months != 0 {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "allowed_lateness must not be given in months or years").
					WithHint("A month has no fixed length; give days, hours, minutes or seconds.")
			}
			us := int64(x.Days)*86_400_000_000 + x.Micros
			if us <= 0 {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "allowed_lateness must be positive: %q", v)
			}
			o.lateness = us
		case lower.IdleTimeoutOption:
			d, err := lower.ParseIdleTimeout(v)
			if err != nil {
				return o, err
			}
			o.idle = d
		case "late_rows_max":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for integer option \"late_rows_max\": %s", v)
			}
			if n < 1 || n > stream.MaxLateRowsMax {
				return o, sqlerr.New(sqlerr.InvalidParameterValue, "value %s out of bounds for option \"late_rows_max\"", v).
					WithDetail("Valid values are between \"1\" and \"%d\".", stream.MaxLateRowsMax)
			}
			o.max = int(n)
		default:
			return o, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized parameter %q", d.Defname).WithHint(viewOptionsHint)
		}
	}
	switch {
	case o.mode == lateRowsReopen && o.lateness == 0:
		return o, sqlerr.New(sqlerr.InvalidParameterValue, "late_rows = 'reopen' needs allowed_lateness").
			WithHint("Say how long after the watermark a row may still update its window, as in allowed_lateness = '1 minute'.")
	case o.mode != lateRowsReopen && o.lateness != 0:
		return o, sqlerr.New(sqlerr.InvalidParameterValue, "allowed_lateness needs late_rows = 'reopen'")
	case o.mode == lateRowsDrop && o.max != 0:
		return o, sqlerr.New(sqlerr.InvalidParameterValue, "late_rows_max needs late_rows = 'keep' or 'reopen'").
			WithHint("A view WITH (late_rows = 'drop') keeps no late rows.")
	}
	return o, nil
}

// defElemText is the value of an option as text: a string, a number or
// a bare word.
func defElemText(d *pg.DefElem) string {
	switch {
	case d.Arg == nil:
		return ""
	case d.Arg.GetString_() != nil:
		return d.Arg.GetString_().Sval
	case d.Arg.GetInteger() != nil:
		return strconv.FormatInt(int64(d.Arg.GetInteger().Ival), 10)
	case d.Arg.GetFloat() != nil:
		return d.Arg.GetFloat().Fval
	case d.Arg.GetTypeName() != nil && len(d.Arg.GetTypeName().Names) == 1:
		return d.Arg.GetTypeName().Names[0].GetString_().Sval
	}
	return ""
}

// lateOptionsOf returns the late row options stored with view r.
func lateOptionsOf(r *catalog.Relation) lateOptions {
	o := lateOptions{mode: r.LateRows, lateness: r.AllowedLateness, max: r.LateRowsMax, idle: r.IdleTimeout}
	if o.mode == "" {
		o.mode = lateRowsKeep
	}
	return o
}

// store records o in view r.
func (o lateOptions) store(r *catalog.Relation) {
	if o.mode != lateRowsKeep {
		r.LateRows = o.mode
	}
	r.AllowedLateness, r.LateRowsMax, r.IdleTimeout = o.lateness, o.max, o.idle
}

// streamOptions sets o's part of a view's stream planning options.
func (o lateOptions) streamOptions(so *lower.StreamOptions) {
	so.DropLate = o.mode == lateRowsDrop
	so.AllowedLateness = o.lateness
	so.IdleTimeout = o.idle
}

// withClause renders the options of o as CREATE MATERIALIZED VIEW's WITH
// clause ("" for the defaults).
func (o lateOptions) withClause() string {
	var parts []string
	if o.mode != lateRowsKeep && o.mode != "" {
		parts = append(parts, "late_rows = '"+o.mode+"'")
	}
	if o.lateness != 0 {
		parts = append(parts, "allowed_lateness = '"+types.FormatText(types.IntervalValue{Micros: o.lateness}, types.TInterval, nil)+"'")
	}
	if o.max != 0 {
		parts = append(parts, "late_rows_max = "+strconv.Itoa(o.max))
	}
	if o.idle != 0 {
		parts = append(parts, lower.IdleTimeoutOption+" = '"+types.FormatText(types.IntervalValue{Micros: o.idle.Microseconds()}, types.TInterval, nil)+"'")
	}
	if len(parts) == 0 {
		return ""
	}
	return " WITH (" + strings.Join(parts, ", ") + ")"
}
