package types

import (
	"github.com/cockroachdb/apd/v3"
)

// Datum is one SQL value outside of a column. Its Go type depends on the
// kind of its SQL type, and on nothing else:
//
//	NULL                                 nil
//	bool                                 bool
//	smallint, integer, bigint, oid*      int64
//	real, double precision               float64
//	numeric                              *apd.Decimal (never mutated once built)
//	text, varchar, char, name, jsonb,
//	record, array, unknown               string (jsonb: normalized text)
//	bytea                                []byte
//	date                                 Date
//	time                                 TimeOfDay
//	timestamp, timestamptz               Timestamp
//	interval                             IntervalValue
type Datum = any

// Date is a calendar date as days since 1970-01-01.
type Date int32

// TimeOfDay is a time of day in microseconds since midnight.
type TimeOfDay int64

// Timestamp is microseconds since 1970-01-01 00:00:00 (UTC for timestamptz,
// wall clock for timestamp).
type Timestamp int64

// IntervalValue is a PostgreSQL interval: months, days and microseconds are
// kept apart, as PostgreSQL does, because their lengths vary.
type IntervalValue struct {
	Months int32
	Days   int32
	Micros int64
}

// Decimal is the exact decimal type of numeric values.
type Decimal = apd.Decimal

// Useful time constants in microseconds.
const (
	MicrosPerSecond int64 = 1_000_000
	MicrosPerMinute       = 60 * MicrosPerSecond
	MicrosPerHour         = 60 * MicrosPerMinute
	MicrosPerDay          = 24 * MicrosPerHour
)

// PGEpochDays is the number of days from 1970-01-01 to 2000-01-01, the
// epoch of PostgreSQL's binary date and timestamp formats.
const PGEpochDays = 10957

// PGEpochMicros is PGEpochDays in microseconds.
const PGEpochMicros = PGEpochDays * MicrosPerDay
