package expr

// String renderings for EXPLAIN come from the logical form (sql/plan), so
// that every plan prints an expression the same way.

func (e *ColRef) String() string         { return Logical(e).String() }
func (e *OuterRef) String() string       { return Logical(e).String() }
func (e *Const) String() string          { return Logical(e).String() }
func (e *Param) String() string          { return Logical(e).String() }
func (e *Cast) String() string           { return Logical(e).String() }
func (e *Call) String() string           { return Logical(e).String() }
func (e *And) String() string            { return Logical(e).String() }
func (e *Or) String() string             { return Logical(e).String() }
func (e *Not) String() string            { return Logical(e).String() }
func (e *IsNull) String() string         { return Logical(e).String() }
func (e *BoolTest) String() string       { return Logical(e).String() }
func (e *IsDistinct) String() string     { return Logical(e).String() }
func (e *Case) String() string           { return Logical(e).String() }
func (e *Coalesce) String() string       { return Logical(e).String() }
func (e *NullIf) String() string         { return Logical(e).String() }
func (e *MinMax) String() string         { return Logical(e).String() }
func (e *InList) String() string         { return Logical(e).String() }
func (e *ArrayCompare) String() string   { return Logical(e).String() }
func (e *ArraySubscript) String() string { return Logical(e).String() }
func (e *RecordField) String() string    { return Logical(e).String() }
func (e *ArrayCtor) String() string      { return Logical(e).String() }
func (ProcTime) String() string          { return Logical(ProcTime{}).String() }
func (e *Subquery) String() string       { return Logical(e).String() }
