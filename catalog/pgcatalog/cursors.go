package pgcatalog

import "streamsql/sql/types"

// CursorRow is one open cursor of the session, for pg_cursors.
type CursorRow struct {
	Name, Statement              string
	Holdable, Binary, Scrollable bool
	// Created in Unix microseconds.
	Created int64
}

// cursorRows are pg_cursors: the session's open cursors.
func cursorRows(s *Snapshot) []row {
	if s.Cursors == nil {
		return nil
	}
	var out []row
	for _, c := range s.Cursors() {
		out = append(out, row{"name": c.Name, "statement": c.Statement, "is_holdable": c.Holdable,
			"is_binary": c.Binary, "is_scrollable": c.Scrollable, "creation_time": types.Timestamp(c.Created)})
	}
	return out
}
