package format

import (
	"context"

	"github.com/hamba/avro/v2"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// AvroColumns returns the columns of the latest Avro schema registered
// under subject in the schema registry of spec (the schema.registry
// options), so that CREATE SOURCE ... FORMAT ... ENCODE AVRO may leave out
// the column list, as in RisingWave. With the topic name strategy the
// subject is "<topic>-value". Each top-level field is a column; its type is
// mapped as ENCODE AVRO decodes it back:
//
//	boolean, int, long, float, double   boolean, integer, bigint, real, double precision
//	string, enum, uuid                  character varying
//	bytes, fixed                        bytea
//	decimal(p,s)                        numeric(p,s)
//	date, time-millis/micros            date, time
//	timestamp-millis/micros             timestamp with time zone
//	local-timestamp-millis/micros       timestamp
//	duration                            interval
//	array of a scalar                   an array of it
//	record, map, other arrays/unions    jsonb
//	["null", T]                         T (every column is nullable)
func AvroColumns(ctx context.Context, spec Spec, subject string) ([]Column, error) {
	reg, err := newSchemaRegistry(spec)
	if err != nil {
		return nil, err
	}
	_, text, err := reg.latest(ctx, subject)
	if err != nil {
		return nil, err
	}
	sch, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "subject %q holds an invalid Avro schema: %v", subject, err)
	}
	rec, ok := sch.(*avro.RecordSchema)
	if !ok {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "subject %q holds an Avro %s, a source needs a record", subject, sch.Type())
	}
	cols := make([]Column, 0, len(rec.Fields()))
	for _, f := range rec.Fields() {
		cols = append(cols, Column{Name: f.Name(), Type: avroColumnType(f.Type())})
	}
	return cols, nil
}

func avroColumnType(s avro.Schema) types.T {
	switch t := s.(type) {
	case *avro.RefSchema:
		return avroColumnType(t.Schema())
	case *avro.UnionSchema:
		var nonNull []avro.Schema
		for _, b := range t.Types() {
			if b.Type() != avro.Null {
				nonNull = append(nonNull, b)
			}
		}
		if len(nonNull) == 1 {
			return avroColumnType(nonNull[0])
		}
		return types.TJSONB
	case *avro.EnumSchema:
		return types.TVarchar
	case *avro.FixedSchema:
		// ENCODE AVRO reads decimal and duration on a fixed; any other
		// logical type there comes as its bytes.
		if lt, ok := avroLogicalColumnType(t.Logical()); ok && (lt.Kind == types.Numeric || lt.Kind == types.Interval) {
			return lt
		}
		return types.TBytea
	case *avro.ArraySchema:
		e := avroColumnType(t.Items())
		if e.Kind == types.JSONB || e.Kind == types.Array {
			return types.TJSONB
		}
		return types.T{Kind: types.Array, Elem: &e}
	case *avro.PrimitiveSchema:
		if lt, ok := avroLogicalColumnType(t.Logical()); ok {
			return lt
		}
		if pt, ok := avroPrimitiveColumnTypes[t.Type()]; ok {
			return pt
		}
	}
	return types.TJSONB
}

// avroPrimitiveColumnTypes are the column types of the Avro primitives
// (null has none: a column of it is jsonb).
var avroPrimitiveColumnTypes = map[avro.Type]types.T{
	avro.Boolean: types.TBool,
	avro.Int:     types.TInt4,
	avro.Long:    types.TInt8,
	avro.Float:   types.TFloat4,
	avro.Double:  types.TFloat8,
	avro.String:  types.TVarchar,
	avro.Bytes:   types.TBytea,
}

// avroLogicalColumnType is the column type of an Avro logical type, on a
// primitive or a fixed schema; ok is false for none or one it does not map.
func avroLogicalColumnType(l avro.LogicalSchema) (t types.T, ok bool) {
	if l == nil {
		return types.T{}, false
	}
	switch l.Type() {
	case avro.Decimal:
		d := l.(*avro.DecimalLogicalSchema)
		return types.T{Kind: types.Numeric, Precision: int32(d.Precision()), Scale: int32(d.Scale())}, true
	case avro.Duration:
		return types.TInterval, true
	case avro.Date:
		return types.TDate, true
	case avro.TimeMillis, avro.TimeMicros:
		return types.TTime, true
	case avro.TimestampMillis, avro.TimestampMicros:
		return types.TTimestampTZ, true
	case avro.LocalTimestampMillis, avro.LocalTimestampMicros:
		return types.TTimestamp, true
	case avro.UUID:
		return types.TVarchar, true
	}
	return types.T{}, false
}
