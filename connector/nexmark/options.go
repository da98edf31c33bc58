package nexmark

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"streamsql/connector"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Option names. They follow RisingWave's nexmark connector where it has
// one, so its CREATE SOURCE statements work here.
const (
	optConnector = "connector"
	optTableType = "nexmark.table.type"
	optEventNum  = "nexmark.event.num"
	optEventRate = "nexmark.event.rate"
	optBaseTime  = "nexmark.base.time"
	optSplitNum  = "nexmark.split.num"
	optSeed      = "nexmark.seed"
	optWallRate  = "nexmark.events.per.second"
	optChunkSize = "nexmark.max.chunk.size"
)

// Defaults: the classic suite's event rate and a fixed base time
// (2015-07-15 00:00:00 UTC), so a run is reproducible unless asked
// otherwise.
const (
	defaultEventRate = 10_000_000
	defaultBaseTime  = int64(1436918400) * 1_000_000
	defaultChunkSize = 4096
	maxChunkSize     = 1 << 16
	maxSplits        = 64
	// unboundedEvents stands for "no event.num": far beyond any run (and
	// lowered further by maxEvents where event times would overflow).
	unboundedEvents = int64(1) << 50
)

// Table is one of the three Nexmark event tables.
type Table uint8

const (
	Person Table = iota
	Auction
	Bid
)

// tableNames are the values of option nexmark.table.type, by Table.
var tableNames = [...]string{"person", "auction", "bid"}

func (t Table) String() string { return tableNames[t] }

// colKind is the SQL type class of a Nexmark column.
type colKind uint8

const (
	kindInt colKind = iota // BIGINT
	kindStr                // VARCHAR
	kindTS                 // TIMESTAMP
)

func (k colKind) String() string { return [...]string{"BIGINT", "VARCHAR", "TIMESTAMP"}[k] }

// schemaCol is one column of a table's schema. field is its generator
// (see generate.go).
type schemaCol struct {
	name  string
	kind  colKind
	field field
}

// schemas lists each table's columns in the order of the SPEC's DDL.
var schemas = [...][]schemaCol{
	Person: {
		{"id", kindInt, fPersonID}, {"name", kindStr, fPersonName}, {"email_address", kindStr, fPersonEmail},
		{"credit_card", kindStr, fPersonCard}, {"city", kindStr, fPersonCity}, {"state", kindStr, fPersonState},
		{"date_time", kindTS, fDateTime}, {"extra", kindStr, fPersonExtra},
	},
	Auction: {
		{"id", kindInt, fAuctionID}, {"item_name", kindStr, fAuctionItem}, {"description", kindStr, fAuctionDesc},
		{"initial_bid", kindInt, fAuctionInitial}, {"reserve", kindInt, fAuctionReserve}, {"date_time", kindTS, fDateTime},
		{"expires", kindTS, fAuctionExpires}, {"seller", kindInt, fAuctionSeller}, {"category", kindInt, fAuctionCategory},
		{"extra", kindStr, fAuctionExtra},
	},
	Bid: {
		{"auction", kindInt, fBidAuction}, {"bidder", kindInt, fBidBidder}, {"price", kindInt, fBidPrice},
		{"channel", kindStr, fBidChannel}, {"url", kindStr, fBidURL}, {"date_time", kindTS, fDateTime},
		{"extra", kindStr, fBidExtra},
	},
}

// Spec is a validated Nexmark source: the table it serves, the declared
// columns (a subset of the table's, in any order) and the generator
// options.
type Spec struct {
	table Table
	cols  []string
	ts    []types.T
	// fields[i] generates declared column i; pruned[i] leaves it NULL
	// (no operator reads it: PruneColumns).
	fields []field
	pruned []bool
	// wmCols are the declared columns with a WATERMARK FOR: a bounded
	// source ends with a watermark of +infinity on each.
	wmCols []int

	events    int64 // last event id; unboundedEvents when event.num is not set
	bounded   bool
	eventRate int64  // events per second of event time
	baseTime  int64  // Unix microseconds of event 0
	seed      uint64 // picks the random stream
	splits    int    // generator goroutines
	wallRate  int64  // events per second of wall time; 0: unlimited
	chunkRows int    // rows per chunk
}

// New validates the WITH options of a Nexmark source with columns cols of
// types ts, whose columns watermarks carry a WATERMARK FOR, and returns
// its Spec.
func New(cols []string, ts []types.T, watermarks []string, options map[string]string) (*Spec, error) {
	if len(cols) != len(ts) {
		return nil, fmt.Errorf("nexmark: %d column names for %d types", len(cols), len(ts))
	}
	s := &Spec{cols: cols, ts: ts, events: unboundedEvents, eventRate: defaultEventRate,
		baseTime: defaultBaseTime, splits: 1, chunkRows: defaultChunkSize}
	hasTable := false
	for _, key := range connector.SortedKeys(options) {
		val := strings.TrimSpace(options[key])
		var err error
		switch strings.ToLower(key) {
		case optConnector:
			if !strings.EqualFold(val, "nexmark") {
				err = badValue(key, val, `the connector must be "nexmark"`)
			}
		case optTableType:
			hasTable = true
			if i := slices.Index(tableNames[:], strings.ToLower(val)); i >= 0 {
				s.table = Table(i)
			} else {
				err = badValue(key, val, "must be person, auction or bid")
			}
		case optEventNum:
			s.events, err = parseInt(key, val, 0, unboundedEvents-1)
			s.bounded = true
		case optEventRate:
			s.eventRate, err = parseInt(key, val, 1, 1_000_000_000_000)
		case optBaseTime:
			s.baseTime, err = parseBaseTime(key, val)
		case optSplitNum:
			var n int64
			n, err = parseInt(key, val, 1, maxSplits)
			s.splits = int(n)
		case optSeed:
			s.seed, err = strconv.ParseUint(val, 10, 64)
			if err != nil {
				err = badValue(key, val, "must be an unsigned 64-bit integer")
			}
		case optWallRate:
			s.wallRate, err = parseInt(key, val, 0, math.MaxInt64)
		case optChunkSize:
			var n int64
			n, err = parseInt(key, val, 1, maxChunkSize)
			s.chunkRows = int(n)
		default:
			err = sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized nexmark option %q", key).
				WithHint("Valid options are %s.", strings.Join([]string{optTableType, optEventNum, optEventRate,
					optBaseTime, optSplitNum, optSeed, optWallRate, optChunkSize}, ", "))
		}
		if err != nil {
			return nil, err
		}
	}
	// Event times (and auction expiry, some events ahead) must stay finite
	// timestamps, well inside the range window arithmetic works in.
	if maxN := maxEvents(s.baseTime, s.eventRate); !s.bounded {
		s.events = min(s.events, maxN)
	} else if s.events > maxN {
		return nil, badValue(optEventNum, strconv.FormatInt(s.events, 10),
			fmt.Sprintf("the last event's time would be out of range at %s %d (at most %d events)", optEventRate, s.eventRate, maxN))
	}
	if !hasTable {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "nexmark source needs option %s ('person', 'auction' or 'bid')", optTableType)
	}
	if err := s.bindColumns(); err != nil {
		return nil, err
	}
	for _, w := range watermarks {
		i := connector.ColumnIndex(cols, w)
		if i < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "watermark column %q does not exist", w)
		}
		s.wmCols = append(s.wmCols, i)
	}
	return s, nil
}

// bindColumns checks the declared columns against the table's schema:
// each must be one of its columns (any order, any subset) with the
// schema's type.
func (s *Spec) bindColumns() error {
	schema := schemas[s.table]
	s.fields = make([]field, len(s.cols))
	for i, name := range s.cols {
		j := -1
		for k, c := range schema {
			if strings.EqualFold(c.name, name) {
				j = k
				break
			}
		}
		if j < 0 {
			names := make([]string, len(schema))
			for k, c := range schema {
				names[k] = c.name
			}
			return sqlerr.New(sqlerr.UndefinedColumn, "nexmark table %s has no column %q", s.table, name).
				WithHint("The columns of %s are %s.", s.table, strings.Join(names, ", "))
		}
		for k := 0; k < i; k++ {
			if strings.EqualFold(s.cols[k], name) {
				return sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", name)
			}
		}
		c := schema[j]
		if !kindAccepts(c.kind, s.ts[i]) {
			return sqlerr.New(sqlerr.DatatypeMismatch, "column %q of nexmark table %s must be %s, not %s",
				name, s.table, c.kind, s.ts[i].String())
		}
		s.fields[i] = c.field
	}
	return nil
}

func kindAccepts(k colKind, t types.T) bool {
	switch k {
	case kindInt:
		return t.Kind == types.Int8
	case kindStr:
		return (t.Kind == types.Varchar || t.Kind == types.Text) && t.Width == 0
	default:
		return t.Kind == types.TimestampKind || t.Kind == types.TimestampTZ
	}
}

func badValue(key, val, why string) *sqlerr.Error {
	return connector.BadValue("nexmark", key, val, why)
}

// parseInt parses an integer option in [lo, hi].
func parseInt(key, val string, lo, hi int64) (int64, error) {
	return connector.ParseInt("nexmark", key, val, lo, hi)
}

// parseBaseTime reads the base time: milliseconds since the Unix epoch
// (as RisingWave and the Flink generator take it) or a timestamp literal
// in UTC.
func parseBaseTime(key, val string) (int64, error) {
	if ms, err := strconv.ParseInt(val, 10, 64); err == nil {
		if ms < 0 || ms > math.MaxInt64/4000 {
			return 0, badValue(key, val, "is out of range")
		}
		return ms * 1000, nil
	}
	d, err := types.ParseText(val, types.TTimestamp, time.UTC)
	if err != nil {
		return 0, badValue(key, val, "must be milliseconds since 1970-01-01 or a timestamp such as '2015-07-15 00:00:00'")
	}
	ts := int64(d.(types.Timestamp))
	if ts < 0 || ts > math.MaxInt64/4 {
		return 0, badValue(key, val, "is out of range")
	}
	return ts, nil
}

// maxEvents is the largest event id whose time, and the expiry horizon
// after it, stays below half the int64 microsecond range.
func maxEvents(base, rate int64) int64 {
	secs := (math.MaxInt64/2 - base) / 1_000_000
	n := int64(math.MaxInt64)
	if secs < math.MaxInt64/rate {
		n = secs * rate
	}
	return n - auctionLengthEvents - 1
}
