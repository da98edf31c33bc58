package plan

import "streamsql/sql/types"

// WITH RECURSIVE: a RecursiveUnion runs Anchor once, then Recursive again
// and again over the rows of the previous run until a run gives no rows
// (with UNION, no rows not seen before). The recursive term reads the
// previous run through a WorkTableScan of the union's Work; the two nodes
// share that WorkTable, and the batch lowering gives each WorkTable one
// executor work table, so the scan reads what its union wrote.

// WorkTable identifies the working table of one recursive union; Types
// are its columns' types (the anchor's).
type WorkTable struct {
	Name  string
	Types []types.T
}

// RecursiveUnion is "Anchor UNION [ALL] Recursive" of a recursive WITH
// query; its columns are Anchor's.
type RecursiveUnion struct {
	Anchor, Recursive Rel
	Work              *WorkTable
	All               bool
}

// OutputTypes returns the anchor's column types.
func (r *RecursiveUnion) OutputTypes() []types.T { return r.Anchor.OutputTypes() }

// String renders the node for plan trees.
func (r *RecursiveUnion) String() string {
	s := "recursive union"
	if r.All {
		s += " all"
	}
	return s + " " + r.Work.Name
}

// WorkTableScan reads the rows the previous run of a recursive union's
// recursive term produced.
type WorkTableScan struct {
	Work *WorkTable
}

// OutputTypes returns the work table's column types.
func (s *WorkTableScan) OutputTypes() []types.T { return s.Work.Types }

// String renders the node for plan trees.
func (s *WorkTableScan) String() string { return "work table scan " + s.Work.Name }
