// Package types defines StreamSQL's SQL types: their identity (Kind plus
// modifiers), their PostgreSQL OIDs, their Arrow layout, and the Go values
// ("datums") that stand for a single SQL value outside of a column.
//
// A column of values always lives in an Arrow array; the layout for each
// kind is fixed here and nowhere else:
//
//	bool        arrow.Boolean
//	smallint    arrow.Int16
//	integer     arrow.Int32
//	bigint      arrow.Int64
//	real        arrow.Float32
//	double      arrow.Float64
//	numeric     arrow.String (canonical decimal text, exact; see decimal.go)
//	text,varchar,char arrow.String
//	bytea       arrow.Binary
//	date        arrow.Date32 (days since 1970-01-01)
//	time        arrow.Time64[us]
//	timestamp   arrow.Timestamp[us] (no zone)
//	timestamptz arrow.Timestamp[us, UTC]
//	interval    arrow.MonthDayNanoInterval (nanoseconds are always whole microseconds)
//	jsonb       arrow.String (normalized jsonb text)
//	unknown     arrow.Null or arrow.String (an untyped literal)
//
// A single value (a literal, a parameter, a row read for a point lookup) is a
// Datum, whose Go type is fixed per kind: see datum.go.
package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the family of a SQL type.
type Kind uint8

const (
	Unknown Kind = iota // an untyped NULL or string literal not yet resolved
	Bool
	Int2
	Int4
	Int8
	Float4
	Float8
	Numeric
	Text
	Varchar
	Char
	Bytea
	DateKind // date (the Kind; Date is the datum type)
	Time
	TimestampKind // timestamp without time zone (Timestamp is the datum type)
	TimestampTZ
	Interval
	JSONB
	Oid    // oid, regclass, regtype, regproc... (int64 layout as Int8, OID decides)
	Name   // the "name" type of pg_catalog, text layout
	Record // row constructors in catalog queries; text layout
	Array  // one-dimensional array of Elem, text layout for now
)

// T is a SQL type: a kind plus its modifiers.
type T struct {
	Kind Kind
	// Precision and Scale for numeric(p,s); Precision 0 means unconstrained.
	// Width for varchar(n)/char(n); 0 means unbounded.
	Precision int32
	Scale     int32
	Width     int32
	// OIDOverride distinguishes oid-like types that share a layout
	// (regclass, regtype, regproc, regnamespace) and is 0 otherwise.
	OIDOverride uint32
	// Elem is the element type of an Array.
	Elem *T
}

// Common types, for convenience.
var (
	TUnknown     = T{Kind: Unknown}
	TBool        = T{Kind: Bool}
	TInt2        = T{Kind: Int2}
	TInt4        = T{Kind: Int4}
	TInt8        = T{Kind: Int8}
	TFloat4      = T{Kind: Float4}
	TFloat8      = T{Kind: Float8}
	TNumeric     = T{Kind: Numeric}
	TText        = T{Kind: Text}
	TVarchar     = T{Kind: Varchar}
	TBytea       = T{Kind: Bytea}
	TDate        = T{Kind: DateKind}
	TTime        = T{Kind: Time}
	TTimestamp   = T{Kind: TimestampKind}
	TTimestampTZ = T{Kind: TimestampTZ}
	TInterval    = T{Kind: Interval}
	TJSONB       = T{Kind: JSONB}
	TOid         = T{Kind: Oid}
	TName        = T{Kind: Name}
	// TVoid is the result type of functions called for their effect
	// (pg_sleep): text layout, always the empty string.
	TVoid = T{Kind: Text, OIDOverride: OIDVoid}
)

// PostgreSQL type OIDs (src/include/catalog/pg_type.dat).
const (
	OIDBool         uint32 = 16
	OIDBytea        uint32 = 17
	OIDChar1        uint32 = 18 // "char"
	OIDVoid         uint32 = 2278
	OIDName         uint32 = 19
	OIDInt8         uint32 = 20
	OIDInt2         uint32 = 21
	OIDInt2Vector   uint32 = 22
	OIDInt4         uint32 = 23
	OIDRegproc      uint32 = 24
	OIDText         uint32 = 25
	OIDOid          uint32 = 26
	OIDOidVector    uint32 = 30
	OIDJSON         uint32 = 114
	OIDFloat4       uint32 = 700
	OIDFloat8       uint32 = 701
	OIDUnknown      uint32 = 705
	OIDBpchar       uint32 = 1042
	OIDVarchar      uint32 = 1043
	OIDDate         uint32 = 1082
	OIDTime         uint32 = 1083
	OIDTimestamp    uint32 = 1114
	OIDTimestampTZ  uint32 = 1184
	OIDInterval     uint32 = 1186
	OIDNumeric      uint32 = 1700
	OIDRegclass     uint32 = 2205
	OIDRegtype      uint32 = 2206
	OIDRecord       uint32 = 2249
	OIDRegnamespace uint32 = 4089
	OIDJSONB        uint32 = 3802
	OIDAnyArray     uint32 = 2277

	OIDBoolArray        uint32 = 1000
	OIDInt2Array        uint32 = 1005
	OIDInt4Array        uint32 = 1007
	OIDTextArray        uint32 = 1009
	OIDBpcharArray      uint32 = 1014
	OIDVarcharArray     uint32 = 1015
	OIDInt8Array        uint32 = 1016
	OIDFloat4Array      uint32 = 1021
	OIDFloat8Array      uint32 = 1022
	OIDOidArray         uint32 = 1028
	OIDNameArray        uint32 = 1003
	OIDByteaArray       uint32 = 1001
	OIDDateArray        uint32 = 1182
	OIDTimeArray        uint32 = 1183
	OIDTimestampArray   uint32 = 1115
	OIDTimestampTZArray uint32 = 1185
	OIDIntervalArray    uint32 = 1187
	OIDNumericArray     uint32 = 1231
	OIDJSONBArray       uint32 = 3807
)

// OID returns the PostgreSQL type OID of t.
func (t T) OID() uint32 {
	switch {
	case t.OIDOverride != 0:
		return t.OIDOverride
	case t.Kind == Array && t.Elem != nil:
		return ArrayOID(t.Elem.OID())
	case int(t.Kind) < len(kinds):
		return kinds[t.Kind].oid
	}
	return OIDUnknown
}

// kindInfo is what a Kind fixes, whatever its modifiers.
type kindInfo struct {
	oid      uint32         // the PostgreSQL type OID
	arrayOID uint32         // the OID of the array of it; 0 where there is none
	name     string         // the name format_type() prints without modifiers
	typLen   int16          // pg_type.typlen: the fixed byte width, or -1 for varlena
	arrow    arrow.DataType // the Arrow type of a column of it
}

// kinds holds each Kind's kindInfo. Numeric, the text-like kinds, jsonb,
// record and arrays are held as text in Arrow.
var kinds = [...]kindInfo{
	Unknown:       {OIDUnknown, 0, "unknown", -1, arrow.BinaryTypes.String},
	Bool:          {OIDBool, OIDBoolArray, "boolean", 1, arrow.FixedWidthTypes.Boolean},
	Int2:          {OIDInt2, OIDInt2Array, "smallint", 2, arrow.PrimitiveTypes.Int16},
	Int4:          {OIDInt4, OIDInt4Array, "integer", 4, arrow.PrimitiveTypes.Int32},
	Int8:          {OIDInt8, OIDInt8Array, "bigint", 8, arrow.PrimitiveTypes.Int64},
	Float4:        {OIDFloat4, OIDFloat4Array, "real", 4, arrow.PrimitiveTypes.Float32},
	Float8:        {OIDFloat8, OIDFloat8Array, "double precision", 8, arrow.PrimitiveTypes.Float64},
	Numeric:       {OIDNumeric, OIDNumericArray, "numeric", -1, arrow.BinaryTypes.String},
	Text:          {OIDText, OIDTextArray, "text", -1, arrow.BinaryTypes.String},
	Varchar:       {OIDVarchar, OIDVarcharArray, "character varying", -1, arrow.BinaryTypes.String},
	Char:          {OIDBpchar, OIDBpcharArray, "character", -1, arrow.BinaryTypes.String},
	Bytea:         {OIDBytea, OIDByteaArray, "bytea", -1, arrow.BinaryTypes.Binary},
	DateKind:      {OIDDate, OIDDateArray, "date", 4, arrow.FixedWidthTypes.Date32},
	Time:          {OIDTime, OIDTimeArray, "time without time zone", 8, arrow.FixedWidthTypes.Time64us},
	TimestampKind: {OIDTimestamp, OIDTimestampArray, "timestamp without time zone", 8, &arrow.TimestampType{Unit: arrow.Microsecond}},
	TimestampTZ:   {OIDTimestampTZ, OIDTimestampTZArray, "timestamp with time zone", 8, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	Interval:      {OIDInterval, OIDIntervalArray, "interval", 16, arrow.FixedWidthTypes.MonthDayNanoInterval},
	JSONB:         {OIDJSONB, OIDJSONBArray, "jsonb", -1, arrow.BinaryTypes.String},
	Oid:           {OIDOid, OIDOidArray, "oid", 4, arrow.PrimitiveTypes.Int64},
	Name:          {OIDName, OIDNameArray, "name", 64, arrow.BinaryTypes.String},
	Record:        {OIDRecord, 0, "record", -1, arrow.BinaryTypes.String},
	Array:         {OIDTextArray, 0, "text[]", -1, arrow.BinaryTypes.String},
}

// ArrayOID returns the OID of the array type whose element has OID elem, or 0.
func ArrayOID(elem uint32) uint32 {
	for _, k := range kinds[:Record] {
		if k.oid == elem {
			return k.arrayOID
		}
	}
	return 0
}

// FromOID returns the type with the given OID, and false if StreamSQL has none.
func FromOID(oid uint32) (T, bool) {
	switch oid {
	case OIDJSON:
		return TJSONB, true
	case OIDRegclass, OIDRegtype, OIDRegproc, OIDRegnamespace:
		return T{Kind: Oid, OIDOverride: oid}, true
	}
	for k, info := range kinds[:Record] {
		switch oid {
		case info.oid:
			return T{Kind: Kind(k)}, true
		case info.arrayOID:
			if oid != 0 {
				return T{Kind: Array, Elem: &T{Kind: Kind(k)}}, true
			}
		}
	}
	return T{}, false
}

// String returns the type's name as format_type() prints it.
func (t T) String() string {
	switch t.Kind {
	case Numeric:
		if t.Precision > 0 {
			return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale)
		}
	case Text:
		if t.OIDOverride == OIDVoid {
			return "void"
		}
	case Varchar:
		if t.Width > 0 {
			return fmt.Sprintf("character varying(%d)", t.Width)
		}
	case Char:
		if t.Width > 0 {
			return fmt.Sprintf("character(%d)", t.Width)
		}
	case Oid:
		switch t.OIDOverride {
		case OIDRegclass:
			return "regclass"
		case OIDRegtype:
			return "regtype"
		case OIDRegproc:
			return "regproc"
		case OIDRegnamespace:
			return "regnamespace"
		}
	case Array:
		if t.Elem != nil {
			return t.Elem.String() + "[]"
		}
	}
	if int(t.Kind) < len(kinds) {
		return kinds[t.Kind].name
	}
	return "unknown"
}

// Equal reports whether two types are identical, modifiers included.
func (t T) Equal(o T) bool {
	if t.Kind != o.Kind || t.Precision != o.Precision || t.Scale != o.Scale || t.Width != o.Width || t.OIDOverride != o.OIDOverride {
		return false
	}
	if t.Kind == Array {
		if t.Elem == nil || o.Elem == nil {
			return t.Elem == o.Elem
		}
		return t.Elem.Equal(*o.Elem)
	}
	return true
}

// IsNumeric reports whether t is one of the number kinds.
func (t T) IsNumeric() bool {
	switch t.Kind {
	case Int2, Int4, Int8, Float4, Float8, Numeric, Oid:
		return true
	}
	return false
}

// IsInteger reports whether t is smallint, integer or bigint.
func (t T) IsInteger() bool { return t.Kind == Int2 || t.Kind == Int4 || t.Kind == Int8 }

// IsString reports whether t is text-like (text, varchar, char, name).
func (t T) IsString() bool {
	return t.Kind == Text || t.Kind == Varchar || t.Kind == Char || t.Kind == Name
}

// TypLen returns pg_type.typlen: the fixed byte width, or -1 for varlena.
func (t T) TypLen() int16 {
	if int(t.Kind) < len(kinds) {
		return kinds[t.Kind].typLen
	}
	return -1
}

// TypMod returns the atttypmod PostgreSQL would report for t, or -1.
func (t T) TypMod() int32 {
	switch t.Kind {
	case Numeric:
		if t.Precision > 0 {
			return ((t.Precision << 16) | t.Scale) + 4
		}
	case Varchar, Char:
		if t.Width > 0 {
			return t.Width + 4
		}
	}
	return -1
}

// ArrowType returns the Arrow data type that holds a column of t.
func (t T) ArrowType() arrow.DataType {
	if int(t.Kind) < len(kinds) {
		return kinds[t.Kind].arrow
	}
	return arrow.BinaryTypes.String
}

// ParseTypeName resolves a PostgreSQL type name (as the grammar gives it,
// lower case, possibly qualified with pg_catalog) and its modifiers. The
// type names of Flink SQL and RisingWave that PostgreSQL lacks are
// aliases of the PostgreSQL types that hold the same values: STRING
// (text), DOUBLE (double precision), TINYINT (smallint, the smallest
// integer type), BYTES (bytea), TIMESTAMP_LTZ (timestamp with time zone).
func ParseTypeName(name string, mods []int32, arrayBounds int) (T, error) {
	name = strings.TrimPrefix(strings.ToLower(name), "pg_catalog.")
	var t T
	switch name {
	case "bool", "boolean":
		t = TBool
	case "int2", "smallint", "smallserial", "serial2", "tinyint":
		t = TInt2
	case "int4", "int", "integer", "serial", "serial4":
		t = TInt4
	case "int8", "bigint", "bigserial", "serial8":
		t = TInt8
	case "float4", "real":
		t = TFloat4
	case "float8", "double precision", "float", "double":
		t = TFloat8
		if name == "float" && len(mods) == 1 && mods[0] <= 24 {
			t = TFloat4
		}
	case "numeric", "decimal":
		t = TNumeric
		if len(mods) >= 1 {
			if mods[0] < 1 || mods[0] > 1000 {
				return T{}, fmt.Errorf("NUMERIC precision %d must be between 1 and 1000", mods[0])
			}
			t.Precision = mods[0]
			if len(mods) >= 2 {
				if mods[1] < 0 || mods[1] > mods[0] {
					return T{}, fmt.Errorf("NUMERIC scale %d must be between 0 and precision %d", mods[1], mods[0])
				}
				t.Scale = mods[1]
			}
		}
	case "text", "string":
		t = TText
	case "varchar", "character varying":
		t = TVarchar
		if len(mods) == 1 {
			t.Width = mods[0]
		}
	case "bpchar", "char", "character":
		t = T{Kind: Char, Width: 1}
		if len(mods) == 1 {
			t.Width = mods[0]
		}
		if name == "bpchar" && len(mods) == 0 {
			t.Width = 0
		}
	case "name":
		t = TName
	case "bytea", "bytes":
		t = TBytea
	case "date":
		t = TDate
	case "time", "time without time zone":
		t = TTime
	case "timestamp", "timestamp without time zone":
		t = TTimestamp
	case "timestamptz", "timestamp with time zone", "timestamp_ltz":
		t = TTimestampTZ
	case "interval":
		t = TInterval
	case "jsonb", "json":
		t = TJSONB
	case "oid":
		t = TOid
	case "regclass":
		t = T{Kind: Oid, OIDOverride: OIDRegclass}
	case "regtype":
		t = T{Kind: Oid, OIDOverride: OIDRegtype}
	case "regproc", "regprocedure":
		t = T{Kind: Oid, OIDOverride: OIDRegproc}
	case "regnamespace":
		t = T{Kind: Oid, OIDOverride: OIDRegnamespace}
	case "record":
		t = T{Kind: Record}
	case "unknown":
		t = TUnknown
	default:
		return T{}, fmt.Errorf("type %q does not exist", name)
	}
	if arrayBounds > 0 {
		e := t
		t = T{Kind: Array, Elem: &e}
	}
	return t, nil
}
