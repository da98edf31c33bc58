package format

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	ptypes "github.com/pingcap/tidb/pkg/parser/types"

	// The parser needs a value driver for literals; test_driver is the
	// standalone one (TiDB itself plugs in its executor's).
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// mysqlDDL reads the MySQL DDL that Canal, Maxwell and Debezium (MySQL)
// carry in their schema change events, with TiDB's MySQL parser, into
// column changes. Statements that change no column of an existing table
// (CREATE TABLE, DROP TABLE, CREATE INDEX, TRUNCATE ...) yield no change;
// a statement that does not parse is an error, and the event is rejected.
type mysqlDDL struct {
	p *parser.Parser // not safe for concurrent use; one per decoder
}

func (m *mysqlDDL) parse(sql, database string) ([]SchemaChange, error) {
	if m.p == nil {
		m.p = parser.New()
	}
	stmts, _, err := m.p.Parse(sql, "", "")
	if err != nil {
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot parse MySQL DDL: %s", strings.TrimSpace(err.Error()))
	}
	var out []SchemaChange
	for _, st := range stmts {
		alter, ok := st.(*ast.AlterTableStmt)
		if !ok {
			continue
		}
		db, table := database, alter.Table.Name.O
		if alter.Table.Schema.O != "" {
			db = alter.Table.Schema.O
		}
		add := func(c SchemaChange) {
			c.Database, c.Table, c.SQL = db, table, sql
			out = append(out, c)
		}
		for _, spec := range alter.Specs {
			switch spec.Tp {
			case ast.AlterTableAddColumns:
				for _, col := range spec.NewColumns {
					t, err := mysqlType(col.Tp)
					if err != nil {
						return nil, fmt.Errorf("column %s: %w", col.Name.Name.O, err)
					}
					def, has := mysqlDefault(col)
					add(SchemaChange{Kind: AddColumn, Column: col.Name.Name.O, Type: t, Default: def, HasDefault: has})
				}
			case ast.AlterTableDropColumn:
				add(SchemaChange{Kind: DropColumn, Column: spec.OldColumnName.Name.O})
			case ast.AlterTableRenameColumn:
				add(SchemaChange{Kind: RenameColumn, Column: spec.OldColumnName.Name.O, NewName: spec.NewColumnName.Name.O})
			case ast.AlterTableModifyColumn:
				col := spec.NewColumns[0]
				t, err := mysqlType(col.Tp)
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", col.Name.Name.O, err)
				}
				add(SchemaChange{Kind: ModifyColumn, Column: col.Name.Name.O, Type: t})
			case ast.AlterTableChangeColumn:
				// CHANGE old new type: a rename (when the name differs) and
				// the column's type, which may be unchanged.
				col := spec.NewColumns[0]
				t, err := mysqlType(col.Tp)
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", col.Name.Name.O, err)
				}
				name := spec.OldColumnName.Name.O
				if col.Name.Name.O != name {
					add(SchemaChange{Kind: RenameColumn, Column: name, NewName: col.Name.Name.O})
					name = col.Name.Name.O
				}
				add(SchemaChange{Kind: ModifyColumn, Column: name, Type: t})
			}
		}
	}
	return out, nil
}

// mysqlDefault is the DEFAULT of a column definition when it is a
// constant (a number or a string, possibly negated), as text: what rows
// stored before the column was added hold upstream. Expressions
// (CURRENT_TIMESTAMP ...) and DEFAULT NULL give none.
func mysqlDefault(col *ast.ColumnDef) (string, bool) {
	for _, o := range col.Options {
		if o.Tp != ast.ColumnOptionDefaultValue {
			continue
		}
		e, neg := o.Expr, false
		if u, ok := e.(*ast.UnaryOperationExpr); ok && u.Op == opcode.Minus {
			e, neg = u.V, true
		}
		v, ok := e.(ast.ValueExpr)
		if !ok || v.GetValue() == nil {
			return "", false
		}
		text := fmt.Sprint(v.GetValue())
		if neg {
			text = "-" + text
		}
		return text, true
	}
	return "", false
}

// mysqlType maps a MySQL column type to StreamSQL's, as Debezium maps them
// to Kafka Connect types: integers by width (unsigned ones one size up),
// DECIMAL(p,s) to numeric(p,s), DATETIME to timestamp, TIMESTAMP (stored
// in UTC) to timestamptz, binary strings to bytea, JSON to jsonb, ENUM and
// SET to text.
func mysqlType(ft *ptypes.FieldType) (types.T, error) {
	unsigned := mysql.HasUnsignedFlag(ft.GetFlag())
	binary := ft.GetCharset() == "binary"
	switch ft.GetType() {
	case mysql.TypeTiny, mysql.TypeShort:
		if unsigned && ft.GetType() == mysql.TypeShort {
			return types.TInt4, nil
		}
		return types.TInt2, nil
	case mysql.TypeInt24:
		return types.TInt4, nil
	case mysql.TypeLong:
		if unsigned {
			return types.TInt8, nil
		}
		return types.TInt4, nil
	case mysql.TypeLonglong:
		if unsigned {
			return types.T{Kind: types.Numeric, Precision: 20}, nil
		}
		return types.TInt8, nil
	case mysql.TypeYear:
		return types.TInt2, nil
	case mysql.TypeFloat:
		return types.TFloat4, nil
	case mysql.TypeDouble:
		return types.TFloat8, nil
	case mysql.TypeNewDecimal:
		p, s := ft.GetFlen(), ft.GetDecimal()
		if p <= 0 {
			p = 10 // MySQL's default DECIMAL is DECIMAL(10,0)
		}
		if s < 0 {
			s = 0
		}
		return types.T{Kind: types.Numeric, Precision: int32(p), Scale: int32(s)}, nil
	case mysql.TypeVarchar, mysql.TypeVarString:
		if binary {
			return types.TBytea, nil
		}
		if ft.GetFlen() > 0 {
			return types.T{Kind: types.Varchar, Width: int32(ft.GetFlen())}, nil
		}
		return types.TVarchar, nil
	case mysql.TypeString:
		if binary {
			return types.TBytea, nil
		}
		if ft.GetFlen() > 0 {
			return types.T{Kind: types.Char, Width: int32(ft.GetFlen())}, nil
		}
		return types.T{Kind: types.Char, Width: 1}, nil
	case mysql.TypeTinyBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob, mysql.TypeBlob:
		if binary {
			return types.TBytea, nil
		}
		return types.TText, nil
	case mysql.TypeEnum, mysql.TypeSet:
		return types.TText, nil
	case mysql.TypeBit:
		if ft.GetFlen() == 1 {
			return types.TBool, nil
		}
		return types.TBytea, nil
	case mysql.TypeDate, mysql.TypeNewDate:
		return types.TDate, nil
	case mysql.TypeDuration:
		return types.TTime, nil
	case mysql.TypeDatetime:
		return types.TTimestamp, nil
	case mysql.TypeTimestamp:
		return types.TTimestampTZ, nil
	case mysql.TypeJSON:
		return types.TJSONB, nil
	}
	return types.T{}, sqlerr.New(sqlerr.FeatureNotSupported, "MySQL type %s has no StreamSQL equivalent", ft.String())
}
