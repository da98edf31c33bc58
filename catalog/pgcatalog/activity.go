package pgcatalog

import "streamsql/sql/types"

// ActivityRow is one session as pg_stat_activity shows it. Times are Unix
// microseconds, 0 for NULL.
type ActivityRow struct {
	PID                                          int32
	User, Database, Application                  string
	ClientAddr                                   string // "" for NULL
	ClientPort                                   int32  // -1 for a Unix socket, 0 for NULL
	BackendStart, XactStart, QueryStart, Changed int64
	State, Query                                 string
	// Hidden shows the session to a role without the privileges of its
	// role: the query is "<insufficient privilege>", the rest NULL.
	Hidden bool
}

// activityRows are pg_stat_activity: one row per client session. The
// producer (Snapshot.Activity) has already hidden what the user may not
// see, as PostgreSQL hides other roles' queries.
func activityRows(s *Snapshot) []row {
	if s.Activity == nil {
		return nil
	}
	ts := func(us int64) types.Datum {
		if us == 0 {
			return nil
		}
		return types.Timestamp(us)
	}
	var out []row
	for _, a := range s.Activity() {
		r := row{"datid": int64(OIDDatabase), "datname": a.Database, "pid": int64(a.PID),
			"usesysid": int64(s.RoleOID(a.User)), "usename": a.User, "application_name": a.Application,
			"backend_type": "client backend"}
		if a.Hidden {
			r["query"] = "<insufficient privilege>"
			out = append(out, r)
			continue
		}
		r["backend_start"], r["xact_start"] = ts(a.BackendStart), ts(a.XactStart)
		r["query_start"], r["state_change"] = ts(a.QueryStart), ts(a.Changed)
		if a.ClientAddr != "" {
			r["client_addr"] = a.ClientAddr
		}
		if a.ClientPort != 0 {
			r["client_port"] = int64(a.ClientPort)
		}
		if a.State != "" {
			r["state"] = a.State
			r["query"] = a.Query
		}
		if a.State == "active" {
			r["wait_event_type"], r["wait_event"] = nil, nil
		} else if a.State != "" {
			r["wait_event_type"], r["wait_event"] = "Client", "ClientRead"
		}
		out = append(out, r)
	}
	return out
}
