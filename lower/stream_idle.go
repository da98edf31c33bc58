package lower

import (
	"time"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Idle inputs in a stream plan. A watermark moves only with the rows of
// its table or source; an input that stops bringing rows would keep
// every window over it open. With an idle timeout (the view's WITH
// (idle_timeout = ...), or the table's or source's own, which wins) the
// watermark filter over the input moves the watermark on with the epoch
// time once the input has been quiet that long, and unions and joins
// leave the input out of the minimum of their inputs' watermarks until
// it brings a row again (stream.WatermarkFilterSpec).

// IdleTimeoutOption is the name of the option, on views, tables and
// sources.
const IdleTimeoutOption = "idle_timeout"

// ParseIdleTimeout reads the value of an idle_timeout option: a positive
// interval without months ('5s', '500ms', '1 minute').
func ParseIdleTimeout(v string) (time.Duration, error) {
	iv, err := types.ParseText(v, types.TInterval, nil)
	if err != nil {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"%s\": %q", IdleTimeoutOption, v).
			WithHint("Give an interval, as in idle_timeout = '5s'.")
	}
	x := iv.(types.IntervalValue)
	if x.Months != 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s must not be given in months or years", IdleTimeoutOption).
			WithHint("A month has no fixed length; give days, hours, minutes or seconds.")
	}
	us := int64(x.Days)*86_400_000_000 + x.Micros
	if us <= 0 {
		return 0, sqlerr.New(sqlerr.InvalidParameterValue, "%s must be positive: %q", IdleTimeoutOption, v)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// idleTimeout is the idle timeout of the watermark filter over column w
// of r, of type t: r's own option, else the view's.
func (sp *streamPlanner) idleTimeout(r *catalog.Relation, w catalog.Watermark, t types.T) (time.Duration, error) {
	d := sp.idle
	if v, ok := r.Options[IdleTimeoutOption]; ok {
		var err error
		if d, err = ParseIdleTimeout(v); err != nil {
			return 0, err
		}
	}
	if d > 0 && !stream.IdleTimeoutType(t) {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "%s needs a timestamp watermark column: %q of %q is %s", IdleTimeoutOption, w.Column, r.Name, t).
			WithHint("The watermark of an idle input moves on with the clock, so it must be a time; declare it on a timestamp or timestamptz column.")
	}
	return d, nil
}
