package udf

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// AT TIME ZONE. The grammar turns `x AT TIME ZONE z` into timezone(z, x):
//
//	timezone(zone, timestamptz) -> timestamp    the wall clock in zone
//	timezone(zone, timestamp)   -> timestamptz  the instant whose wall clock in zone is x
//
// zone is text or an interval. Text is resolved the way PostgreSQL's
// timestamp_zone does: a time zone abbreviation (EST, CEST), then a POSIX
// offset ("+02", "UTC+3": hours WEST of Greenwich, the POSIX convention),
// then a tz database name in any case. An interval is an offset EAST of
// Greenwich, in whole seconds, without months or days.

func (r *registry) addTimezoneFuncs() {
	t, iv, tsT, tz := types.TText, types.TInterval, types.TTimestamp, types.TTimestampTZ
	r.fn(&Scalar{Name: "timezone", Args: ts(t, tz), Ret: tsT, Strict: true, Eval: zoneKernel(tsT, false)})
	r.fn(&Scalar{Name: "timezone", Args: ts(t, tsT), Ret: tz, Strict: true, Eval: zoneKernel(tz, true)})
	r.fn(&Scalar{Name: "timezone", Args: ts(iv, tz), Ret: tsT, Strict: true, Eval: zoneKernel(tsT, false)})
	r.fn(&Scalar{Name: "timezone", Args: ts(iv, tsT), Ret: tz, Strict: true, Eval: zoneKernel(tz, true)})
}

// zone is a resolved AT TIME ZONE argument: a fixed offset or a tz
// database location.
type zone struct {
	fixed bool
	off   int64 // seconds east of UTC, when fixed
	loc   *time.Location
}

// toLocal is the wall clock in z of the instant utc.
func (z zone) toLocal(utc types.Timestamp) types.Timestamp {
	if z.fixed {
		return utc + types.Timestamp(z.off*types.MicrosPerSecond)
	}
	return utcToLocal(utc, z.loc)
}

// toUTC is the instant whose wall clock in z is local.
func (z zone) toUTC(local types.Timestamp) types.Timestamp {
	if z.fixed {
		return local - types.Timestamp(z.off*types.MicrosPerSecond)
	}
	return localToUTC(local, z.loc)
}

// zoneKernel converts a timestamp column with a zone column (text or
// interval). The zone is resolved again only when it changes from one row
// to the next, so a constant zone costs one lookup per batch.
func zoneKernel(ret types.T, fromLocal bool) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		tsv := args[1].(*array.Timestamp).Values()
		valid := validity(n, args[0], args[1])
		vb := validBits(valid)
		out := make([]arrow.Timestamp, n)
		var (
			z        zone
			have     bool
			lastName string
			lastIv   arrow.MonthDayNanoInterval
		)
		names, _ := args[0].(*array.String)
		ivs, _ := args[0].(*array.MonthDayNanoInterval)
		for i := 0; i < n; i++ {
			if !rowValid(vb, i) {
				continue
			}
			v := types.Timestamp(tsv[i])
			if v == types.TimestampPosInfinity || v == types.TimestampNegInfinity {
				out[i] = tsv[i]
				continue
			}
			if names != nil {
				if name := names.Value(i); !have || name != lastName {
					var err error
					if z, err = resolveZone(name); err != nil {
						return nil, err
					}
					lastName, have = strings.Clone(name), true
				}
			} else if x := ivs.Value(i); !have || x != lastIv {
				var err error
				if z, err = intervalZone(types.IntervalValue{Months: x.Months, Days: x.Days, Micros: x.Nanoseconds / 1000}); err != nil {
					return nil, err
				}
				lastIv, have = x, true
			}
			if fromLocal {
				out[i] = arrow.Timestamp(z.toUTC(v))
			} else {
				out[i] = arrow.Timestamp(z.toLocal(v))
			}
		}
		return makeTimestamp(ret, out, valid), nil
	}
}

// intervalZone is timestamp_izone's zone: whole seconds east of UTC.
func intervalZone(iv types.IntervalValue) (zone, error) {
	if iv.Months != 0 || iv.Days != 0 {
		return zone{}, sqlerr.New(sqlerr.InvalidParameterValue, "interval time zone \"%s\" must not include months or days",
			types.FormatText(iv, types.TInterval, time.UTC))
	}
	return zone{fixed: true, off: iv.Micros / types.MicrosPerSecond}, nil
}

// resolveZone resolves a time zone name as AT TIME ZONE does.
func resolveZone(name string) (zone, error) {
	if off, ok := types.ZoneAbbrevOffset(name); ok {
		return zone{fixed: true, off: off}, nil
	}
	if off, ok := posixOffset(name); ok {
		return zone{fixed: true, off: off}, nil
	}
	if name != "" && strings.TrimSpace(name) == name && !isNumericZone(name) {
		if loc, err := types.LoadTimeZone(name); err == nil {
			return zone{loc: loc}, nil
		}
	}
	return zone{}, sqlerr.New(sqlerr.InvalidParameterValue, "time zone \"%s\" not recognized", name)
}

// isNumericZone reports whether name starts like a number; such names
// are POSIX offsets or nothing, never tz database names.
func isNumericZone(name string) bool {
	c := name[0]
	return c == '+' || c == '-' || (c >= '0' && c <= '9')
}

// posixOffset reads a POSIX TZ string without daylight rules: an optional
// zone name of three or more letters, then [+-]hh[:mm[:ss]] counting hours
// WEST of Greenwich ("+02" and "XYZ+2" are both UTC-2). It returns seconds
// east of UTC.
func posixOffset(s string) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i > 0 && i < 3 {
		return 0, false
	}
	rest := s[i:]
	if rest == "" {
		return 0, false
	}
	sign := int64(1)
	switch rest[0] {
	case '+':
		rest = rest[1:]
	case '-':
		sign, rest = -1, rest[1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return 0, false
	}
	var secs int64
	for k, p := range parts {
		if p == "" || len(p) > 3 || strings.TrimLeft(p, "0123456789") != "" {
			return 0, false
		}
		v, _ := strconv.ParseInt(p, 10, 64)
		if k > 0 && (len(p) != 2 || v > 59) {
			return 0, false
		}
		if k == 0 && v > 167 {
			return 0, false
		}
		secs = secs*60 + v
	}
	for k := len(parts); k < 3; k++ {
		secs *= 60
	}
	return -sign * secs, true
}
