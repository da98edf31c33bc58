package udf

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// pg_sleep, pg_sleep_for and pg_sleep_until: the statement waits, once per
// row, and a cancel or statement_timeout ends the wait at once (the
// statement then fails with 57014, as in PostgreSQL).

func (r *registry) addSleepFuncs() {
	f8, iv, tz := types.TFloat8, types.TInterval, types.TTimestampTZ
	r.fn(&Scalar{Name: "pg_sleep", Args: ts(f8), Ret: types.TVoid, Strict: true, Volatility: Volatile,
		Eval: sleepFunc(f8, func(_ time.Time, d types.Datum) time.Duration {
			return secondsDuration(d.(float64))
		})})
	r.fn(&Scalar{Name: "pg_sleep_for", Args: ts(iv), Ret: types.TVoid, Strict: true, Volatility: Volatile,
		Eval: sleepFunc(iv, func(_ time.Time, d types.Datum) time.Duration {
			v := d.(types.IntervalValue)
			// Months count as 30 days, as extract(epoch from interval) does.
			us := (int64(v.Months)*30+int64(v.Days))*types.MicrosPerDay + v.Micros
			return time.Duration(us) * time.Microsecond
		})})
	r.fn(&Scalar{Name: "pg_sleep_until", Args: ts(tz), Ret: types.TVoid, Strict: true, Volatility: Volatile,
		Eval: sleepFunc(tz, func(now time.Time, d types.Datum) time.Duration {
			return time.UnixMicro(int64(d.(types.Timestamp))).Sub(now)
		})})
}

// secondsDuration converts pg_sleep's seconds, saturating far beyond any
// statement's life; NaN and negative values wait not at all.
func secondsDuration(s float64) time.Duration {
	switch {
	case !(s > 0):
		return 0
	case s > 1e9:
		return time.Duration(1e9) * time.Second
	}
	return time.Duration(s * float64(time.Second))
}

// sleepFunc waits, for each row, the duration wait derives from the row's
// argument (NULL: no wait), and returns void.
func sleepFunc(t types.T, wait func(now time.Time, d types.Datum) time.Duration) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		ctx := context.Background()
		if env != nil && env.Context != nil {
			ctx = env.Context
		}
		for i := 0; i < n; i++ {
			if args[0].IsNull(i) {
				continue
			}
			if err := sleepCtx(ctx, wait(time.Now(), types.GetDatum(args[0], i, t))); err != nil {
				return nil, err
			}
		}
		return types.ConstArray(types.TVoid, "", n), nil
	}
}

// sleepCtx waits d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
