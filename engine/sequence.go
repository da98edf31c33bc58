package engine

// Sequences: CREATE, ALTER and DROP SEQUENCE, the serial columns that own
// one, and nextval, currval, setval and lastval, as PostgreSQL 15 has them.
//
// A sequence is a catalog relation of kind 'S' whose parameters live in
// Relation.Sequence; its value lives in storage (storage/sqlsequence.go),
// outside every transaction: nextval is never rolled back and never hands
// out a value twice, across sessions, crashes and restarts. What nextval
// last gave this session (currval, lastval) is the session's.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// sessionSequences is what nextval gave a session: the last value per
// sequence (currval) and the sequence it drew from last (lastval).
type sessionSequences struct {
	mu   sync.Mutex
	vals map[uint32]int64
	last uint32
}

func (q *sessionSequences) set(oid uint32, v int64, used bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.vals == nil {
		q.vals = map[uint32]int64{}
	}
	q.vals[oid] = v
	if used {
		q.last = oid
	}
}

func (q *sessionSequences) get(oid uint32) (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.vals[oid]
	return v, ok
}

func (q *sessionSequences) lastUsed() uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.last
}

// seqSpec is what storage needs of sequence r.
func seqSpec(r *catalog.Relation) storage.SeqSpec {
	d := r.Sequence
	return storage.SeqSpec{Start: d.Start, Increment: d.Increment, Min: d.Min, Max: d.Max, Cycle: d.Cycle}
}

// sequence returns sequence oid, checking that the current role holds one
// of privs on it.
func (s *Session) sequence(oid uint32, privs string) (*catalog.Relation, error) {
	r, ok := s.e.cat.ByOID(oid)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "could not open relation with OID %d", oid)
	}
	if r.Kind != catalog.KindSequence {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
	}
	if s.isSuperuser() {
		return r, nil
	}
	held := r.PrivilegesOf(s.e.cat.RolesInheritedBy(s.currentUser()))
	if !strings.ContainsAny(held, privs) {
		return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for sequence %s", r.Name)
	}
	return r, nil
}

// Privileges on sequences, as PostgreSQL's ACL letters.
const (
	seqSelect = "r"
	seqUpdate = "w"
	seqUsage  = "U"
)

func (g sessionSignals) Nextval(oid uint32) (int64, error) {
	r, err := g.s.sequence(oid, seqUsage+seqUpdate)
	if err != nil {
		return 0, err
	}
	return g.s.nextval(r)
}

func (g sessionSignals) IdentityNextval(oid uint32) (int64, error) {
	r, ok := g.s.e.cat.ByOID(oid)
	if !ok || r.Kind != catalog.KindSequence {
		return 0, sqlerr.New(sqlerr.UndefinedTable, "could not open relation with OID %d", oid)
	}
	return g.s.nextval(r)
}

// nextval advances sequence r for the session.
func (s *Session) nextval(r *catalog.Relation) (int64, error) {
	oid := r.OID
	v, err := s.e.db.SeqNext(oid, seqSpec(r))
	if err != nil {
		if le, ok := err.(*storage.SeqLimitError); ok {
			word := "minimum"
			if le.Max {
				word = "maximum"
			}
			return 0, sqlerr.New(sqlerr.SequenceGeneratorLimitExceeded, "nextval: reached %s value of sequence %q (%d)", word, r.Name, le.Bound)
		}
		return 0, err
	}
	s.seqs.set(oid, v, true)
	return v, nil
}

func (g sessionSignals) Currval(oid uint32) (int64, error) {
	s := g.s
	r, err := s.sequence(oid, seqSelect+seqUsage)
	if err != nil {
		return 0, err
	}
	v, ok := s.seqs.get(oid)
	if !ok {
		return 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "currval of sequence %q is not yet defined in this session", r.Name)
	}
	return v, nil
}

func (g sessionSignals) Lastval() (int64, error) {
	s := g.s
	oid := s.seqs.lastUsed()
	if oid == 0 {
		return 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
	}
	if _, ok := s.e.cat.ByOID(oid); !ok {
		return 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
	}
	if _, err := s.sequence(oid, seqSelect+seqUsage); err != nil {
		return 0, err
	}
	v, _ := s.seqs.get(oid)
	return v, nil
}

func (g sessionSignals) Setval(oid uint32, v int64, called bool) (int64, error) {
	s := g.s
	r, err := s.sequence(oid, seqUpdate)
	if err != nil {
		return 0, err
	}
	d := r.Sequence
	if v < d.Min || v > d.Max {
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "setval: value %d is out of bounds for sequence %q (%d..%d)", v, r.Name, d.Min, d.Max)
	}
	if err := s.e.db.SeqSet(oid, v, called); err != nil {
		return 0, err
	}
	if called {
		s.seqs.set(oid, v, false)
	}
	return v, nil
}

func (g sessionSignals) SequenceRow(oid uint32) ([]types.Datum, error) {
	s := g.s
	r, err := s.sequence(oid, seqSelect)
	if err != nil {
		return nil, err
	}
	st, err := s.e.db.SeqGet(oid, r.Sequence.Start)
	if err != nil {
		return nil, err
	}
	return []types.Datum{st.Last, st.LogCnt, st.Called}, nil
}

// sequenceColumns are the columns of every sequence (pg_attribute).
func sequenceColumns() []catalog.Column {
	ts := []types.T{types.TInt8, types.TInt8, types.TBool}
	cols := make([]catalog.Column, len(udf.SequenceColumns))
	for i, n := range udf.SequenceColumns {
		cols[i] = catalog.Column{Name: n, Type: ts[i], NotNull: true}
	}
	return cols
}

// seqTypeRange returns the bounds of a sequence's type and its name.
func seqTypeRange(t types.T) (lo, hi int64, name string) {
	switch t.Kind {
	case types.Int2:
		return math.MinInt16, math.MaxInt16, "smallint"
	case types.Int4:
		return math.MinInt32, math.MaxInt32, "integer"
	}
	return math.MinInt64, math.MaxInt64, "bigint"
}

// seqOptions is what the options of CREATE or ALTER SEQUENCE say.
type seqOptions struct {
	def catalog.Sequence
	// restart is set by RESTART [WITH n].
	restart    bool
	restartVal int64
	// ownedBy is OWNED BY's table.column (nil for NONE), when given.
	ownedBy  []string
	ownedSet bool
}

// defInt64 is the integer value of a sequence option.
func defInt64(d *pg.DefElem) (int64, error) {
	switch {
	case d.Arg.GetInteger() != nil:
		return int64(d.Arg.GetInteger().Ival), nil
	case d.Arg.GetFloat() != nil:
		s := d.Arg.GetFloat().Fval
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "value %q is out of range for type bigint", s)
		}
		return v, nil
	}
	return 0, sqlerr.New(sqlerr.SyntaxError, "%s requires a numeric value", d.Defname)
}

// parseSeqOptions applies the options of CREATE SEQUENCE (old nil) or
// ALTER SEQUENCE to old, with PostgreSQL's defaults and checks; last is
// the sequence's current value (ALTER), which new bounds must contain.
func (s *Session) parseSeqOptions(opts []*pg.Node, old *catalog.Sequence, last *int64) (seqOptions, error) {
	var out seqOptions
	init := old == nil
	if old != nil {
		out.def = *old
	} else {
		out.def.Type = types.TInt8
	}
	seen := map[string]*pg.DefElem{}
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		if seen[d.Defname] != nil {
			return out, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
		}
		seen[d.Defname] = d
	}
	def := &out.def
	resetMax, resetMin := false, false
	if d := seen["as"]; d != nil {
		tn := d.Arg.GetTypeName()
		var t types.T
		ok := false
		if tn != nil {
			last := tn.Names[len(tn.Names)-1].GetString_().Sval
			switch last {
			case "int2", "smallint":
				t, ok = types.TInt2, true
			case "int4", "int", "integer":
				t, ok = types.TInt4, true
			case "int8", "bigint":
				t, ok = types.TInt8, true
			}
		}
		if !ok {
			return out, sqlerr.New(sqlerr.InvalidParameterValue, "sequence type must be smallint, integer, or bigint")
		}
		if !init {
			// Bounds that were the old type's limits follow the type.
			lo, hi, _ := seqTypeRange(def.Type)
			resetMax = (def.Increment > 0 && def.Max == hi) || (def.Increment < 0 && def.Max == -1)
			resetMin = (def.Increment > 0 && def.Min == 1) || (def.Increment < 0 && def.Min == lo)
		}
		def.Type = t
	}
	lo, hi, tname := seqTypeRange(def.Type)
	if d := seen["increment"]; d != nil {
		v, err := defInt64(d)
		if err != nil {
			return out, err
		}
		if v == 0 {
			return out, sqlerr.New(sqlerr.InvalidParameterValue, "INCREMENT must not be zero")
		}
		def.Increment = v
	} else if init {
		def.Increment = 1
	}
	if d := seen["cycle"]; d != nil {
		def.Cycle = d.Arg.GetBoolean().GetBoolval()
	}
	if d := seen["maxvalue"]; d != nil && d.Arg != nil {
		v, err := defInt64(d)
		if err != nil {
			return out, err
		}
		def.Max = v
	} else if d != nil || init || resetMax {
		def.Max = -1
		if def.Increment > 0 {
			def.Max = hi
		}
	}
	if def.Max < lo || def.Max > hi {
		return out, sqlerr.New(sqlerr.InvalidParameterValue, "MAXVALUE (%d) is out of range for sequence data type %s", def.Max, tname)
	}
	if d := seen["minvalue"]; d != nil && d.Arg != nil {
		v, err := defInt64(d)
		if err != nil {
			return out, err
		}
		def.Min = v
	} else if d != nil || init || resetMin {
		def.Min = lo
		if def.Increment > 0 {
			def.Min = 1
		}
	}
	if def.Min < lo || def.Min > hi {
		return out, sqlerr.New(sqlerr.InvalidParameterValue, "MINVALUE (%d) is out of range for sequence data type %s", def.Min, tname)
	}
	if def.Min >= def.Max {
		return out, sqlerr.New(sqlerr.InvalidParameterValue, "MINVALUE (%d) must be less than MAXVALUE (%d)", def.Min, def.Max)
	}
	if d := seen["start"]; d != nil {
		v, err := defInt64(d)
		if err != nil {
			return out, err
		}
		def.Start = v
	} else if init {
		def.Start = def.Max
		if def.Increment > 0 {
			def.Start = def.Min
		}
	}
	if def.Start < def.Min {
		return out, sqlerr.New(sqlerr.InvalidParameterValue, "START value (%d) cannot be less than MINVALUE (%d)", def.Start, def.Min)
	}
	if def.Start > def.Max {
		return out, sqlerr.New(sqlerr.InvalidParameterValue, "START value (%d) cannot be greater than MAXVALUE (%d)", def.Start, def.Max)
	}
	if d := seen["restart"]; d != nil {
		out.restart, out.restartVal = true, def.Start
		if d.Arg != nil {
			v, err := defInt64(d)
			if err != nil {
				return out, err
			}
			out.restartVal = v
		}
		last = &out.restartVal
	}
	if last != nil {
		if *last < def.Min {
			return out, sqlerr.New(sqlerr.InvalidParameterValue, "RESTART value (%d) cannot be less than MINVALUE (%d)", *last, def.Min)
		}
		if *last > def.Max {
			return out, sqlerr.New(sqlerr.InvalidParameterValue, "RESTART value (%d) cannot be greater than MAXVALUE (%d)", *last, def.Max)
		}
	}
	if d := seen["cache"]; d != nil {
		v, err := defInt64(d)
		if err != nil {
			return out, err
		}
		if v <= 0 {
			return out, sqlerr.New(sqlerr.InvalidParameterValue, "CACHE (%d) must be greater than zero", v)
		}
		def.Cache = v
	} else if init {
		def.Cache = 1
	}
	if d := seen["owned_by"]; d != nil {
		out.ownedSet = true
		for _, it := range d.Arg.GetList().GetItems() {
			out.ownedBy = append(out.ownedBy, it.GetString_().Sval)
		}
		if len(out.ownedBy) == 1 && out.ownedBy[0] == "none" {
			out.ownedBy = nil
		} else if len(out.ownedBy) < 2 {
			return out, sqlerr.New(sqlerr.SyntaxError, "invalid relation name in OWNED BY option")
		}
	}
	for name := range seen {
		switch name {
		case "as", "increment", "cycle", "maxvalue", "minvalue", "start", "restart", "cache", "owned_by":
		default:
			return out, sqlerr.New(sqlerr.FeatureNotSupported, "sequence option %q is not supported", name)
		}
	}
	return out, nil
}

// ownedByColumn resolves OWNED BY's table.column for sequence seq: a
// table or view in the sequence's schema with the sequence's owner.
func (s *Session) ownedByColumn(seq *catalog.Relation, names []string) (uint32, int16, error) {
	rv := parser.ObjectName{Name: names[len(names)-2]}
	if len(names) > 2 {
		rv.Schema = names[len(names)-3]
	}
	t, err := s.resolveName(rv)
	if err != nil {
		return 0, 0, err
	}
	if t.Kind != catalog.KindTable && t.Kind != catalog.KindView && t.Kind != catalog.KindMatView {
		return 0, 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "sequence cannot be owned by relation %q", t.Name).
			WithDetail("This operation is not supported for %ss.", t.Kind)
	}
	if catalog.OwnerOf(t) != catalog.OwnerOf(seq) {
		return 0, 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "sequence must have same owner as table it is linked to")
	}
	if t.Schema != seq.Schema {
		return 0, 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "sequence must be in same schema as table it is linked to")
	}
	col := names[len(names)-1]
	i := t.ColumnIndex(col)
	if i < 0 {
		return 0, 0, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", col, t.Name)
	}
	return t.OID, t.Columns[i].AttNum, nil
}

func (s *Session) createSequence(cs *pg.CreateSeqStmt) (string, error) {
	schema, err := s.creationSchema(cs.Sequence)
	if err != nil {
		return "", err
	}
	if _, ok := s.e.cat.Relation(schema, cs.Sequence.Relname); ok && cs.IfNotExists {
		s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", cs.Sequence.Relname)
		return "CREATE SEQUENCE", nil
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	o, err := s.parseSeqOptions(cs.Options, nil, nil)
	if err != nil {
		return "", err
	}
	r := &catalog.Relation{Schema: schema, Name: cs.Sequence.Relname, Kind: catalog.KindSequence,
		Owner: s.currentUser(), Columns: sequenceColumns(), Sequence: &o.def}
	if o.ownedSet && o.ownedBy != nil {
		if r.Sequence.OwnedBy, r.Sequence.OwnedCol, err = s.ownedByColumn(r, o.ownedBy); err != nil {
			return "", err
		}
	}
	created, err := s.e.cat.CreateRelation(r)
	if err == nil && created.Temporary() {
		s.noteTempCreated(created, pg.OnCommitAction_ONCOMMIT_NOOP)
	}
	return "CREATE SEQUENCE", err
}

func (s *Session) alterSequence(as *pg.AlterSeqStmt) (string, error) {
	r, err := s.resolve(nil, as.Sequence)
	if err != nil {
		if as.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.skipping("00000", "relation %q does not exist", as.Sequence.Relname)
			return "ALTER SEQUENCE", nil
		}
		return "", err
	}
	if r.Kind != catalog.KindSequence {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
	}
	if err := s.checkOwner(r); err != nil {
		return "", err
	}
	_, err = s.alterSequenceOptions(r, as.Options)
	return "ALTER SEQUENCE", err
}

// alterSequenceOptions applies the options of ALTER SEQUENCE (or of ALTER
// TABLE ... ALTER COLUMN ... SET for an identity column's sequence) to
// sequence r.
func (s *Session) alterSequenceOptions(r *catalog.Relation, opts []*pg.Node) (*catalog.Relation, error) {
	st, err := s.e.db.SeqGet(r.OID, r.Sequence.Start)
	if err != nil {
		return nil, err
	}
	o, err := s.parseSeqOptions(opts, r.Sequence, &st.Last)
	if err != nil {
		return nil, err
	}
	n := r.Clone()
	n.Sequence = &o.def
	if o.ownedSet {
		if t, _, ok := s.e.identitySequenceOf(r); ok {
			return nil, errIdentitySequence(r, t, "cannot change ownership of identity sequence")
		}
		n.Sequence.OwnedBy, n.Sequence.OwnedCol = 0, 0
		if o.ownedBy != nil {
			if n.Sequence.OwnedBy, n.Sequence.OwnedCol, err = s.ownedByColumn(n, o.ownedBy); err != nil {
				return nil, err
			}
		}
	}
	nr, err := s.e.cat.UpdateRelation(n)
	if err != nil {
		return nil, err
	}
	if o.restart {
		err = s.e.db.SeqSet(r.OID, o.restartVal, false)
	} else {
		err = s.e.db.SeqChanged(r.OID, r.Sequence.Start)
	}
	return nr, err
}

// seqUsers returns the columns of other relations whose defaults draw
// from sequence oid, as PostgreSQL names them in messages.
func (e *Engine) seqUsers(oid uint32) (names []string, cols []catalog.ColumnRef) {
	for _, t := range e.cat.Relations() {
		for _, c := range t.Columns {
			if c.Seq == oid && !c.Dropped {
				names = append(names, fmt.Sprintf("default value for column %s of table %s", c.Name, t.Name))
				cols = append(cols, catalog.ColumnRef{Rel: t.OID, AttNum: c.AttNum})
			}
		}
	}
	return names, cols
}

// dropSequenceUsers makes dropping sequence r possible: with cascade the
// defaults that draw from it are dropped (and listed in the notice),
// without it they fail the statement with 2BP01. Defaults on the table
// that owns the sequence go along with the table and are no obstacle
// when that table goes too (gone).
func (s *Session) dropSequenceUsers(r *catalog.Relation, cascade bool, gone map[uint32]bool) ([]string, error) {
	names, cols := s.e.seqUsers(r.OID)
	var keepNames []string
	var keep []catalog.ColumnRef
	for i, c := range cols {
		if !gone[c.Rel] {
			keepNames, keep = append(keepNames, names[i]), append(keep, c)
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	if t, c, ok := s.e.identitySequenceOf(r); ok && !gone[t.OID] {
		return nil, identityDropError(r, t, c)
	}
	if !cascade {
		return nil, sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop sequence %s because other objects depend on it", r.Name).
			WithDetail("%s depends on sequence %s", strings.Join(keepNames, " depends on sequence "+r.Name+"\n"), r.Name).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	for _, c := range keep {
		t, ok := s.e.cat.ByOID(c.Rel)
		if !ok {
			continue
		}
		n := t.Clone()
		for i := range n.Columns {
			if n.Columns[i].AttNum == c.AttNum {
				n.Columns[i].Default, n.Columns[i].Seq, n.Columns[i].Identity = "", 0, 0
			}
		}
		if _, err := s.e.cat.UpdateRelation(n); err != nil {
			return nil, err
		}
	}
	return keepNames, nil
}

// ownedSequences returns the sequences that columns of the relations
// dropped own, which go with them.
func (e *Engine) ownedSequences(dropped []*catalog.Relation) []*catalog.Relation {
	gone := map[uint32]bool{}
	for _, r := range dropped {
		gone[r.OID] = true
	}
	var out []*catalog.Relation
	for _, r := range e.cat.Relations() {
		if r.Kind == catalog.KindSequence && r.Sequence.OwnedBy != 0 && gone[r.Sequence.OwnedBy] && !gone[r.OID] {
			out = append(out, r)
		}
	}
	return out
}

// columnSequences returns the sequences column attnum of table rel owns.
func (e *Engine) columnSequences(rel uint32, attnum int16) []*catalog.Relation {
	var out []*catalog.Relation
	for _, r := range e.cat.Relations() {
		if r.Kind == catalog.KindSequence && r.Sequence.OwnedBy == rel && r.Sequence.OwnedCol == attnum {
			out = append(out, r)
		}
	}
	return out
}

// dropSequences removes sequences from the catalog and their values
// from storage.
func (e *Engine) dropSequences(seqs []*catalog.Relation) error {
	for _, q := range seqs {
		if _, err := e.cat.DropRelation(q.OID, false); err != nil {
			return err
		}
	}
	return e.dropSequenceValues(seqs)
}

// dropSequenceValues deletes the stored values of the dropped sequences.
func (e *Engine) dropSequenceValues(dropped []*catalog.Relation) error {
	for _, r := range dropped {
		if r.Kind == catalog.KindSequence {
			if err := e.db.SeqDrop(r.OID); err != nil {
				return err
			}
		}
	}
	return nil
}

// serialType returns the integer type of a serial column type name, ""
// for any other type.
func serialType(tn *pg.TypeName) string {
	if len(tn.Names) == 0 || len(tn.ArrayBounds) > 0 {
		return ""
	}
	switch tn.Names[len(tn.Names)-1].GetString_().Sval {
	case "serial", "serial4":
		return "int4"
	case "bigserial", "serial8":
		return "int8"
	case "smallserial", "serial2":
		return "int2"
	}
	return ""
}

// freeRelationName is base, or base with a number appended, whichever is
// first not taken in schema (PostgreSQL's ChooseRelationName).
func (e *Engine) freeRelationName(schema, base string) string {
	name := base
	for i := 1; ; i++ {
		if _, ok := e.cat.Relation(schema, name); !ok {
			return name
		}
		name = base + strconv.Itoa(i)
	}
}

// seqDefault is the default expression that draws from sequence seq, as
// PostgreSQL prints it: qualified only where the search path would not
// find it.
func (s *Session) seqDefault(seq *catalog.Relation) string {
	name := udf.QuoteIdent(seq.Name)
	if seq.Schema != s.currentSchema() && seq.Schema != s.temp.schema {
		name = udf.QuoteIdent(seq.Schema) + "." + name
	}
	return "nextval('" + strings.ReplaceAll(name, "'", "''") + "'::regclass)"
}

// createSerialSequences creates the sequences of r's serial and identity
// columns (serials: their indexes in r.Columns; idents: the IDENTITY
// clauses by index) and points the columns at them: a serial column's
// default draws from its sequence. The sequences are owned by the
// columns once the table exists (ownSerialSequences).
func (s *Session) createSerialSequences(r *catalog.Relation, serials []int, idents map[int]*pg.Constraint) ([]*catalog.Relation, error) {
	var made []*catalog.Relation
	for i := range r.Columns {
		ic := idents[i]
		if ic == nil && !slices.Contains(serials, i) {
			continue
		}
		c := &r.Columns[i]
		if ic != nil {
			q, err := s.createIdentitySequence(r, c, ic)
			if err != nil {
				_ = s.e.dropSequences(made)
				return nil, err
			}
			made = append(made, q)
			continue
		}
		_, hi, _ := seqTypeRange(c.Type)
		def := catalog.Sequence{Type: c.Type, Start: 1, Increment: 1, Min: 1, Max: hi, Cache: 1}
		name := s.e.freeRelationName(r.Schema, r.Name+"_"+c.Name+"_seq")
		q, err := s.e.cat.CreateRelation(&catalog.Relation{Schema: r.Schema, Name: name, Kind: catalog.KindSequence,
			Owner: r.Owner, Columns: sequenceColumns(), Sequence: &def})
		if err != nil {
			_ = s.e.dropSequences(made)
			return nil, err
		}
		made = append(made, q)
		c.Default, c.Seq = s.seqDefault(q), q.OID
	}
	return made, nil
}

// ownSerialSequences makes table t's columns own the sequences made for
// them.
func (s *Session) ownSerialSequences(t *catalog.Relation, seqs []*catalog.Relation) error {
	for _, q := range seqs {
		n := q.Clone()
		n.Sequence.OwnedBy = t.OID
		for _, c := range t.Columns {
			if c.Seq == q.OID {
				n.Sequence.OwnedCol = c.AttNum
			}
		}
		if _, err := s.e.cat.UpdateRelation(n); err != nil {
			return err
		}
	}
	return nil
}

// defaultSequence returns the sequence a default expression's nextval()
// draws from, when it is nextval of a constant name.
func (s *Session) defaultSequence(n *pg.Node) (*catalog.Relation, bool) {
	fc := n.GetFuncCall()
	if fc == nil || len(fc.Args) != 1 {
		return nil, false
	}
	fn := fc.Funcname[len(fc.Funcname)-1].GetString_().Sval
	if fn != "nextval" {
		return nil, false
	}
	arg := fc.Args[0]
	if tc := arg.GetTypeCast(); tc != nil {
		arg = tc.Arg
	}
	c := arg.GetAConst()
	if c == nil || c.GetSval() == nil {
		return nil, false
	}
	oid, ok := catalogReader{s}.LookupRelation(c.GetSval().Sval)
	if !ok {
		return nil, false
	}
	r, ok := s.e.cat.ByOID(oid)
	return r, ok && r.Kind == catalog.KindSequence
}

// renameSequence is ALTER SEQUENCE ... RENAME TO: the defaults that draw
// from it name it anew.
func (s *Session) renameSequence(rs *pg.RenameStmt) error {
	r, err := s.resolve(nil, rs.Relation)
	if err != nil {
		if rs.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.skipping("00000", "relation %q does not exist", rs.Relation.Relname)
			return nil
		}
		return err
	}
	if r.Kind != catalog.KindSequence {
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
	}
	if err := s.checkOwner(r); err != nil {
		return err
	}
	n, err := s.e.cat.RenameRelation(r.OID, rs.Newname)
	if err != nil {
		return err
	}
	return s.e.seqMoved(s, n)
}

// setRelationSchema is ALTER TABLE|VIEW|MATERIALIZED VIEW|SEQUENCE [IF
// EXISTS] r SET SCHEMA x, as PostgreSQL has it: the owner moves r (with
// CREATE on x) unless x holds a relation of that name (42P07); a table's
// owned sequences (serial, identity, OWNED BY) move with it, and the
// defaults that draw from a moved sequence name it anew. A sequence a
// column owns moves only with its table. Temporary relations stay in
// their schema (0A000).
func (s *Session) setRelationSchema(st *pg.AlterObjectSchemaStmt) (string, error) {
	var want catalog.RelKind
	switch st.ObjectType {
	case pg.ObjectType_OBJECT_TABLE:
		want = catalog.KindTable
	case pg.ObjectType_OBJECT_VIEW:
		want = catalog.KindView
	case pg.ObjectType_OBJECT_MATVIEW:
		want = catalog.KindMatView
	default:
		want = catalog.KindSequence
	}
	tag := alterTag(st.ObjectType)
	r, err := s.resolve(nil, st.Relation)
	if err != nil {
		if st.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.skipping("00000", "relation %q does not exist", st.Relation.Relname)
			return tag, nil
		}
		return "", err
	}
	if r.Kind != want {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, want.String())
	}
	if err := s.checkOwner(r); err != nil {
		return "", err
	}
	if _, ok := s.e.cat.SchemaByName(st.Newschema); !ok && st.Newschema != catalog.TempAlias {
		return "", sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", st.Newschema)
	}
	if st.Newschema == r.Schema {
		return tag, nil
	}
	if r.Temporary() || catalog.IsTempSchema(st.Newschema) || st.Newschema == catalog.TempAlias {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "cannot move objects into or out of temporary schemas")
	}
	if r.Kind == catalog.KindSequence && r.Sequence.OwnedBy != 0 {
		if t, ok := s.e.cat.ByOID(r.Sequence.OwnedBy); ok {
			return "", errIdentitySequence(r, t, "cannot move an owned sequence into another schema")
		}
	}
	if err := s.checkCreateIn(st.Newschema); err != nil {
		return "", err
	}
	if deps := s.e.cat.Dependents(r.OID); len(deps) > 0 {
		// Views and streaming jobs bind the names in their stored
		// query again when planned, so they would lose r.
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "cannot move %s because %s depends on it", r.Description(), deps[0].Description()).
			WithHint("Drop the dependent objects, move it, and create them again.")
	}
	moving := []*catalog.Relation{r}
	if r.Kind == catalog.KindTable {
		moving = append(moving, s.e.ownedSequences([]*catalog.Relation{r})...)
	}
	for _, m := range moving {
		if _, ok := s.e.cat.Relation(st.Newschema, m.Name); ok {
			return "", sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists in schema %q", m.Name, st.Newschema)
		}
	}
	for _, m := range moving {
		n := m.Clone()
		n.Schema = st.Newschema
		if n, err = s.e.cat.UpdateRelation(n); err != nil {
			return "", err
		}
		if n.Kind == catalog.KindSequence {
			if err := s.e.seqMoved(s, n); err != nil {
				return "", err
			}
		}
	}
	return tag, nil
}

// seqMoved rewrites the defaults that draw from sequence q after it was
// renamed or moved.
func (e *Engine) seqMoved(s *Session, q *catalog.Relation) error {
	_, cols := e.seqUsers(q.OID)
	for _, c := range cols {
		t, ok := e.cat.ByOID(c.Rel)
		if !ok {
			continue
		}
		n := t.Clone()
		for i := range n.Columns {
			if n.Columns[i].AttNum == c.AttNum && n.Columns[i].Identity == 0 {
				n.Columns[i].Default = s.seqDefault(q)
			}
		}
		if _, err := e.cat.UpdateRelation(n); err != nil {
			return err
		}
	}
	return nil
}

// SerialSequence implements udf.SerialSequences: the sequence that column
// of table owns (a serial or identity column's), schema-qualified.
func (c catalogReader) SerialSequence(table, column string) (string, bool, error) {
	oid, ok := c.LookupRelation(table)
	t, found := c.s.e.cat.ByOID(oid)
	if !ok || !found {
		return "", false, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", table)
	}
	i := t.ColumnIndex(column)
	if i < 0 {
		return "", false, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", column, t.Name)
	}
	att := t.Columns[i].AttNum
	for _, r := range c.s.e.cat.Relations() {
		if r.Kind == catalog.KindSequence && r.Sequence.OwnedBy == t.OID && r.Sequence.OwnedCol == att {
			return udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name), true, nil
		}
	}
	return "", false, nil
}
