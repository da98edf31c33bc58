package planner

import (
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// column is one column visible to name resolution.
type column struct {
	table string // relation name or alias ("" for computed or merged columns)
	name  string
	t     types.T
	// hidden columns are not expanded by * (sort keys, USING duplicates).
	hidden bool
	// qualifiedOnly columns resolve only with a qualifier (the two sides
	// of a USING/NATURAL join column, which also has a merged column).
	qualifiedOnly bool
	// tableOID and attNum identify a base table column for RowDescription.
	tableOID uint32
	attNum   int16
	// privOID and privAtt name the relation column a reference to this
	// column reads, for column privileges (Planner.ColDeps): set where a
	// table, source or view is scanned, zero for computed columns.
	privOID uint32
	privAtt int16
}

// scope is the set of columns an expression may name, in input batch order,
// plus the scope of the enclosing query for correlated references.
type scope struct {
	cols   []column
	parent *scope
	// correlated is set when an expression bound in a child scope
	// referenced this scope's columns (or beyond).
	correlated bool
	// ctes visible in this query level.
	ctes map[string]*cteDef
	// lateral holds, while a FROM item is planned, the columns of the
	// items before it, which a LATERAL item may name (lateral.go).
	lateral []column
	// bodyCaller counts the SQL function query bodies being bound whose
	// caller this scope is (sqlfunc_query.go): names in a body do not
	// reach the caller's columns.
	bodyCaller int
}

// resolve finds a column by optional qualifier and name. It returns the
// depth (0 = this scope) and index.
func (s *scope) resolve(qual, name string, pos int) (depth, idx int, col column, err error) {
	for d, sc := 0, s; sc != nil; d, sc = d+1, sc.parent {
		found := -1
		for i, c := range sc.cols {
			if c.name != name {
				continue
			}
			if qual != "" {
				if c.table != qual {
					continue
				}
			} else if c.qualifiedOnly {
				continue
			}
			if found >= 0 {
				return 0, 0, column{}, sqlerr.New(sqlerr.AmbiguousColumn, "column reference %q is ambiguous", name).WithPosition(pos)
			}
			found = i
		}
		if found >= 0 {
			// Mark every scope crossed as correlated.
			for m, x := 0, s; m < d; m, x = m+1, x.parent {
				x.correlated = true
			}
			return d, found, sc.cols[found], nil
		}
		if sc.parent != nil && sc.parent.bodyCaller > 0 {
			break
		}
	}
	if qual != "" {
		if !s.hasTable(qual) {
			return 0, 0, column{}, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", qual).WithPosition(pos)
		}
		return 0, 0, column{}, sqlerr.New(sqlerr.UndefinedColumn, "column %s.%s does not exist", qual, name).WithPosition(pos)
	}
	return 0, 0, column{}, sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", name).WithPosition(pos)
}

func (s *scope) hasTable(qual string) bool {
	for sc := s; sc != nil; sc = sc.parent {
		for _, c := range sc.cols {
			if c.table == qual {
				return true
			}
		}
		if sc.parent != nil && sc.parent.bodyCaller > 0 {
			break
		}
	}
	return false
}

// cte looks up a common table expression by name in this or an enclosing level.
func (s *scope) cte(name string) *cteDef {
	for sc := s; sc != nil; sc = sc.parent {
		if d, ok := sc.ctes[name]; ok {
			return d
		}
	}
	return nil
}

func typesOf(cols []column) []types.T {
	ts := make([]types.T, len(cols))
	for i, c := range cols {
		ts[i] = c.t
	}
	return ts
}
