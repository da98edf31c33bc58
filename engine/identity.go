package engine

// Identity columns: GENERATED ALWAYS | BY DEFAULT AS IDENTITY, as
// PostgreSQL 15 has them. The column (catalog.Column.Identity, 'a' or
// 'd') draws its values from a sequence of its own (Column.Seq), owned by
// the column and bound to it: the sequence cannot be dropped, moved or
// given another owner by itself, and goes when the identity, the column
// or the table goes. The column has no DEFAULT expression (pg_attrdef has
// none); the planner gives it the sequence's next value where it takes
// its default, without the privilege checks nextval() makes, and refuses
// values for a GENERATED ALWAYS column unless OVERRIDING SYSTEM VALUE
// (sql/planner/dml.go).

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// identityOf returns the IDENTITY constraint of a column definition, nil
// when it has none.
func identityOf(cd *pg.ColumnDef) *pg.Constraint {
	for _, cn := range cd.Constraints {
		if c := cn.GetConstraint(); c != nil && c.Contype == pg.ConstrType_CONSTR_IDENTITY {
			return c
		}
	}
	return nil
}

// identityTypeName is the name of an identity column's integer type, ""
// for a type an identity column cannot have.
func identityTypeName(t types.T) string {
	if t.OIDOverride != 0 {
		return ""
	}
	switch t.Kind {
	case types.Int2:
		return "int2"
	case types.Int4:
		return "int4"
	case types.Int8:
		return "int8"
	}
	return ""
}

func errIdentityType() error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "identity column type must be smallint, integer, or bigint")
}

// identitySequence parses the sequence options of an identity column of
// type t: the sequence's definition, of the column's type, and the name
// SEQUENCE NAME gives it (nil for none).
func (s *Session) identitySequence(t types.T, opts []*pg.Node) (catalog.Sequence, []string, error) {
	tn := identityTypeName(t)
	if tn == "" {
		return catalog.Sequence{}, nil, errIdentityType()
	}
	// The column's type comes first as the sequence's AS, so that an AS
	// among the options conflicts, as in PostgreSQL.
	as := &pg.Node{Node: &pg.Node_DefElem{DefElem: &pg.DefElem{Defname: "as",
		Arg: &pg.Node{Node: &pg.Node_TypeName{TypeName: &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode(tn)}}}}}}}
	seqOpts := []*pg.Node{as}
	var name []string
	for _, n := range opts {
		d := n.GetDefElem()
		switch {
		case d == nil:
		case d.Defname == "sequence_name":
			if name != nil {
				return catalog.Sequence{}, nil, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
			}
			for _, it := range d.Arg.GetList().GetItems() {
				name = append(name, it.GetString_().Sval)
			}
			continue
		case d.Defname == "owned_by":
			return catalog.Sequence{}, nil, sqlerr.New(sqlerr.SyntaxError, "sequence option %q not supported here", d.Defname)
		}
		seqOpts = append(seqOpts, n)
	}
	o, err := s.parseSeqOptions(seqOpts, nil, nil)
	if err != nil {
		return catalog.Sequence{}, nil, err
	}
	return o.def, name, nil
}

// createIdentitySequence creates the sequence of identity column c of
// table t (t.OID is 0 while the table is being created; the sequence is
// then owned once it exists, ownSerialSequences) and points the column at
// it.
func (s *Session) createIdentitySequence(t *catalog.Relation, c *catalog.Column, ic *pg.Constraint) (*catalog.Relation, error) {
	def, name, err := s.identitySequence(c.Type, ic.Options)
	if err != nil {
		return nil, err
	}
	schema, seqName := t.Schema, ""
	switch len(name) {
	case 0:
		seqName = s.e.freeRelationName(t.Schema, t.Name+"_"+c.Name+"_seq")
	case 1:
		seqName = name[0]
	default:
		schema, seqName = name[len(name)-2], name[len(name)-1]
	}
	if t.OID != 0 {
		def.OwnedBy, def.OwnedCol = t.OID, c.AttNum
	}
	q, err := s.e.cat.CreateRelation(&catalog.Relation{Schema: schema, Name: seqName, Kind: catalog.KindSequence,
		Owner: t.Owner, Columns: sequenceColumns(), Sequence: &def})
	if err != nil {
		return nil, err
	}
	c.Seq, c.Identity, c.Default, c.NotNull = q.OID, ic.GeneratedWhen[0], "", true
	return q, nil
}

// identitySequenceOf returns the table and the identity column whose
// sequence q is; ok is false when q is no identity column's.
func (e *Engine) identitySequenceOf(q *catalog.Relation) (*catalog.Relation, catalog.Column, bool) {
	if q.Sequence == nil || q.Sequence.OwnedBy == 0 {
		return nil, catalog.Column{}, false
	}
	t, ok := e.cat.ByOID(q.Sequence.OwnedBy)
	if !ok {
		return nil, catalog.Column{}, false
	}
	for _, c := range t.Columns {
		if c.AttNum == q.Sequence.OwnedCol && c.Identity != 0 && c.Seq == q.OID && !c.Dropped {
			return t, c, true
		}
	}
	return nil, catalog.Column{}, false
}

// alterIdentity runs the identity subcommands of ALTER TABLE r ... ALTER
// COLUMN: ADD GENERATED ... AS IDENTITY, SET GENERATED and the sequence
// options (SET ..., RESTART), DROP IDENTITY; and refuses the changes of
// DEFAULT and NOT NULL an identity column does not take. ok is false for
// any other subcommand.
func (s *Session) alterIdentity(r *catalog.Relation, c *pg.AlterTableCmd) (*catalog.Relation, bool, error) {
	switch c.Subtype {
	case pg.AlterTableType_AT_AddIdentity, pg.AlterTableType_AT_SetIdentity, pg.AlterTableType_AT_DropIdentity:
	case pg.AlterTableType_AT_ColumnDefault, pg.AlterTableType_AT_DropNotNull:
		if i := r.ColumnIndex(c.Name); i >= 0 && r.Columns[i].Identity != 0 {
			err := sqlerr.New(sqlerr.SyntaxError, "column %q of relation %q is an identity column", c.Name, r.Name)
			if c.Subtype == pg.AlterTableType_AT_ColumnDefault && c.Def == nil {
				err = err.WithHint("Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.")
			}
			return nil, true, err
		}
		return nil, false, nil
	default:
		return nil, false, nil
	}
	i := r.ColumnIndex(c.Name)
	if i < 0 {
		return nil, true, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c.Name, r.Name)
	}
	col := r.Columns[i]
	notIdentity := func() error {
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "column %q of relation %q is not an identity column", col.Name, r.Name)
	}
	switch c.Subtype {
	case pg.AlterTableType_AT_AddIdentity:
		if identityTypeName(col.Type) == "" {
			return nil, true, errIdentityType()
		}
		if !col.NotNull {
			return nil, true, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "column %q of relation %q must be declared NOT NULL before identity can be added", col.Name, r.Name)
		}
		if col.Identity != 0 {
			return nil, true, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "column %q of relation %q is already an identity column", col.Name, r.Name)
		}
		if col.Default != "" {
			return nil, true, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "column %q of relation %q already has a default value", col.Name, r.Name)
		}
		n := r.Clone()
		q, err := s.createIdentitySequence(n, &n.Columns[i], c.Def.GetConstraint())
		if err != nil {
			return nil, true, err
		}
		nr, err := s.e.cat.UpdateRelation(n)
		if err != nil {
			_ = s.e.dropSequences([]*catalog.Relation{q})
			return nil, true, err
		}
		return nr, true, nil
	case pg.AlterTableType_AT_DropIdentity:
		if col.Identity == 0 {
			if c.MissingOk {
				s.skipping("00000", "column %q of relation %q is not an identity column, skipping", col.Name, r.Name)
				return r, true, nil
			}
			return nil, true, notIdentity()
		}
		n := r.Clone()
		n.Columns[i].Identity, n.Columns[i].Seq = 0, 0
		nr, err := s.e.cat.UpdateRelation(n)
		if err != nil {
			return nil, true, err
		}
		if q, ok := s.e.cat.ByOID(col.Seq); ok && q.Kind == catalog.KindSequence {
			if err := s.e.dropSequences([]*catalog.Relation{q}); err != nil {
				return nil, true, err
			}
		}
		return nr, true, nil
	}
	// SET GENERATED { ALWAYS | BY DEFAULT } | SET sequence_option | RESTART
	if col.Identity == 0 {
		return nil, true, notIdentity()
	}
	var kind byte
	var opts []*pg.Node
	for _, n := range c.Def.GetList().GetItems() {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "generated":
			kind = byte(d.Arg.GetInteger().GetIval())
		case "sequence_name":
			return nil, true, sqlerr.New(sqlerr.SyntaxError, "invalid sequence option SEQUENCE NAME")
		case "as", "owned_by":
			return nil, true, sqlerr.New(sqlerr.SyntaxError, "sequence option %q not supported here", d.Defname)
		default:
			opts = append(opts, n)
		}
	}
	if len(opts) > 0 {
		q, ok := s.e.cat.ByOID(col.Seq)
		if !ok {
			return nil, true, sqlerr.New(sqlerr.UndefinedTable, "could not open relation with OID %d", col.Seq)
		}
		if _, err := s.alterSequenceOptions(q, opts); err != nil {
			return nil, true, err
		}
	}
	if kind == 0 || kind == col.Identity {
		return r, true, nil
	}
	n := r.Clone()
	n.Columns[i].Identity = kind
	nr, err := s.e.cat.UpdateRelation(n)
	return nr, true, err
}

// errIdentitySequence is the error for changing sequence q, which a
// column of table t owns, by itself (an identity sequence's OWNED BY, SET
// SCHEMA).
func errIdentitySequence(q, t *catalog.Relation, what string) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s", what).WithDetail("Sequence %q is linked to table %q.", q.Name, t.Name)
}

// identityDropError is the error for dropping the sequence of identity
// column c of table t by itself: the column requires it, CASCADE or not.
func identityDropError(q, t *catalog.Relation, c catalog.Column) error {
	return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop sequence %s because column %s of table %s requires it", q.Name, c.Name, t.Name).
		WithHint("You can drop column %s of table %s instead.", c.Name, t.Name)
}

// identityClause is an identity column's clause as CREATE TABLE writes
// it, "" for other columns.
func identityClause(c catalog.Column) string {
	switch c.Identity {
	case catalog.IdentityAlways:
		return " GENERATED ALWAYS AS IDENTITY"
	case catalog.IdentityByDefault:
		return " GENERATED BY DEFAULT AS IDENTITY"
	}
	return ""
}
