// Package datagen is the built-in load generator: a source that makes rows
// from per-column generators (random values or sequences), at a given rate,
// optionally up to a row limit.
//
// Every value of row i is a pure function of (column seed, column index,
// i): a SplitMix64 hash of the three, or start + i*step for a sequence.
// Random timestamps and dates are taken back from a base time, fixed when
// the source first starts. The source's position is the next row index and
// that base time, so a job that restarts from a committed epoch generates
// exactly the rows it generated before, and an exactly-once pipeline over
// datagen produces the same results however often it crashes.
//
// Generation is columnar: each chunk column is filled in one loop over a
// typed slice, which then becomes the Arrow buffer without a copy.
package datagen

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// maxChunk is the largest chunk the source sends.
const maxChunk = 4096

// Spec is a validated datagen source: the columns and their generators.
type Spec struct {
	cols   []string
	ts     []types.T
	fields []field
	// rate is the target rows per second; 0 means as fast as possible.
	rate int64
	// limit is the total number of rows, -1 for none.
	limit int64
	// pruned[i] leaves column i NULL: no operator reads it
	// (PruneColumns). Its generator still bounds the row count.
	pruned []bool
}

var _ stream.SourceSpec = (*Spec)(nil)

// Explain describes the source for EXPLAIN.
func (s *Spec) Explain() string {
	var sb strings.Builder
	sb.WriteString("Datagen")
	if s.rate > 0 {
		fmt.Fprintf(&sb, " rows.per.second=%d", s.rate)
	}
	if s.limit >= 0 {
		fmt.Fprintf(&sb, " rows.limit=%d", s.limit)
	}
	sb.WriteString(" fields:")
	for _, f := range s.fields {
		fmt.Fprintf(&sb, " %s=%s", f.name, f.desc)
	}
	return sb.String()
}

// Open returns the source positioned at pos (nil: row 0, with the current
// time, truncated to the second, as the base time). The source driver
// runs it: datagen is one split read by one reader.
func (s *Spec) Open(_ *stream.BuildCtx, pos []byte) (stream.Source, error) {
	if pos != nil {
		if _, _, err := decodePos(pos); err != nil {
			return nil, err
		}
	}
	size := chunkRows(s.rate)
	return stream.DriveSource(s, stream.DriverOptions{Rate: float64(s.rate), Burst: float64(size)}, pos)
}

// PruneColumns returns a copy of s that makes the columns no operator
// reads (not used) as NULLs (stream.ColumnPruner). Every other column,
// and the number of rows, stay as they are: each column is generated on
// its own from the row index.
func (s *Spec) PruneColumns(used []bool) (stream.SourceSpec, bool) {
	c := *s
	var ok bool
	if c.pruned, ok = stream.PrunedColumns(used, len(s.fields), nil); !ok {
		return s, false
	}
	return &c, true
}

var _ stream.ColumnPruner = (*Spec)(nil)

// Types are the source's columns.
func (s *Spec) Types() []types.T { return s.ts }

// Splits: datagen's rows are one sequence, one split.
func (s *Spec) Splits(context.Context) ([]string, error) { return []string{"0"}, nil }

// NewReader returns the reader of the one split.
func (s *Spec) NewReader(int) (stream.SplitReader, error) { return &source{spec: s}, nil }

// open positions the reader at pos (nil: row 0 and a new base time).
func (src *source) open(pos []byte) error {
	s := src.spec
	next, base := int64(0), time.Now().UTC().Truncate(time.Second).UnixMicro()
	if pos != nil {
		var err error
		if next, base, err = decodePos(pos); err != nil {
			return err
		}
	}
	src.next, src.base, src.gens = next, base, make([]gen, len(s.fields))
	limit := int64(math.MaxInt64)
	if s.limit >= 0 {
		limit = s.limit
	}
	baseDay := floorDiv(base, types.MicrosPerDay)
	for i := range s.fields {
		g, err := newGen(&s.fields[i], base, baseDay)
		if err != nil {
			return err
		}
		src.gens[i] = g
		if g.count < limit {
			limit = g.count
		}
	}
	src.limit = limit
	src.opened = true
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Position layout: a version byte, the next row index (uvarint) and the
// base time in Unix microseconds (varint).
const posVersion = 1

func encodePos(next, base int64) []byte {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64)
	buf = append(buf, posVersion)
	buf = binary.AppendUvarint(buf, uint64(next))
	return binary.AppendVarint(buf, base)
}

func decodePos(pos []byte) (next, base int64, err error) {
	bad := func() error {
		return sqlerr.New(sqlerr.DataCorrupted, "datagen: corrupt source position %x", pos)
	}
	if len(pos) == 0 || pos[0] != posVersion {
		return 0, 0, bad()
	}
	n, k := binary.Uvarint(pos[1:])
	if k <= 0 || n > math.MaxInt64 {
		return 0, 0, bad()
	}
	b, k2 := binary.Varint(pos[1+k:])
	if k2 <= 0 || 1+k+k2 != len(pos) {
		return 0, 0, bad()
	}
	return int64(n), b, nil
}

// gen is a column generator with its base time resolved: integer-like
// classes as lo + uniform or start + i*step in int64.
type gen struct {
	f *field
	// seq: value(i) = start + i*step; else uniform in [lo, lo+span-1]
	// (span 0: the whole int64 range).
	seq         bool
	start, step int64
	lo          int64
	span        uint64
	// count is how many rows the column can make (MaxInt64: unbounded).
	count int64
	dt    arrow.DataType
}

func newGen(f *field, base, baseDay int64) (gen, error) {
	g := gen{f: f, seq: f.kind == kindSequence, count: math.MaxInt64, dt: f.t.ArrowType()}
	lo, hi := f.min, f.max
	switch f.cls {
	case classDate, classTime:
		start := f.start
		if !f.hasStart {
			start = base
			if f.cls == classDate {
				start = baseDay
			}
		}
		if g.seq {
			g.start, g.step = start, f.step
		} else {
			hi = start
			lo = start - f.maxPast
			floor := int64(minTSMicros)
			if f.cls == classDate {
				floor = minDateDays
			}
			if lo > hi || lo < floor {
				lo = floor
			}
		}
	default:
		g.start, g.step = f.start, f.step
	}
	if g.seq {
		switch f.cls {
		case classFloat:
			if f.hasEnd {
				c := math.Floor((f.fend-f.fstart)/f.fstep*(1+1e-12)) + 1
				if c < 0 {
					c = 0
				}
				if c < float64(math.MaxInt64) {
					g.count = int64(c)
				}
			}
		default:
			g.count = seqCount(g.start, f.end, g.step)
			if g.count == 0 {
				return g, sqlerr.New(sqlerr.InvalidParameterValue, "datagen column %q: sequence never reaches its end", f.name)
			}
		}
		return g, nil
	}
	g.lo = lo
	g.span = uint64(hi-lo) + 1
	return g, nil
}

// seqCount is the number of terms of start, start+step, ... that do not
// pass end (inclusive).
func seqCount(start, end, step int64) int64 {
	var n uint64
	switch {
	case step > 0 && end >= start:
		n = (uint64(end)-uint64(start))/uint64(step) + 1
	case step < 0 && end <= start:
		n = (uint64(start)-uint64(end))/(-uint64(step)) + 1
	default:
		return 0
	}
	if n == 0 || n > math.MaxInt64 {
		return math.MaxInt64 // the whole int64 range
	}
	return int64(n)
}

// SplitMix64: a bijective 64-bit mixer with a full-period Weyl sequence;
// mix(key + i*gamma) is random-access, so any row can be made on its own.
const gamma = 0x9e3779b97f4a7c15

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// columnKey derives a column's hash key from its seed and position, so
// columns with the same seed still get independent values.
func columnKey(seed uint64, idx int) uint64 {
	return mix(seed ^ mix(uint64(idx)+1)*gamma)
}

// ints fills dst with rows from.. of an integer-like generator, converted
// to the column's physical type.
func ints[T int16 | int32 | int64](g *gen, dst []T, from int64) {
	if g.seq {
		v, step := g.start+from*g.step, g.step
		for j := range dst {
			dst[j] = T(v)
			v += step
		}
		return
	}
	key, lo, span := g.f.seed, g.lo, g.span
	h := key + uint64(from)*gamma
	if span == 0 {
		for j := range dst {
			h += gamma
			dst[j] = T(int64(mix(h)))
		}
		return
	}
	for j := range dst {
		h += gamma
		hi, _ := bits.Mul64(mix(h), span)
		dst[j] = T(lo + int64(hi))
	}
}

// floats fills dst with rows from.. of a float generator.
func floats[T float32 | float64](g *gen, dst []T, from int64) {
	f := g.f
	if g.seq {
		for j := range dst {
			dst[j] = T(f.fstart + float64(from+int64(j))*f.fstep)
		}
		return
	}
	h := f.seed + uint64(from)*gamma
	lo, width := f.fmin, f.fmax-f.fmin
	for j := range dst {
		h += gamma
		dst[j] = T(lo + float64(mix(h)>>11)*(1.0/(1<<53))*width)
	}
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// strs makes n random alphanumeric strings of the field's length, as the
// offsets and data of an Arrow string column.
func strs(g *gen, n int, from int64) ([]int32, []byte) {
	f := g.f
	l := f.length
	offs := make([]int32, n+1)
	data := make([]byte, n*l)
	h := f.seed + uint64(from)*gamma
	for j := 0; j < n; j++ {
		h += gamma
		row := data[j*l : (j+1)*l]
		// Each 64-bit word yields ten base-62 digits (62^10 < 2^64).
		w, left := mix(h), 10
		for k := range row {
			if left == 0 {
				w, left = mix(w+gamma), 10
			}
			row[k] = alnum[w%62]
			w /= 62
			left--
		}
		offs[j+1] = int32((j + 1) * l)
	}
	return offs, data
}

// bools makes a validity-free bitmap of n random booleans.
func bools(g *gen, n int, from int64) []byte {
	bm := make([]byte, bitutilBytes(n))
	h := g.f.seed + uint64(from)*gamma
	for j := 0; j < n; j++ {
		h += gamma
		if mix(h)>>63 != 0 {
			bm[j>>3] |= 1 << (j & 7)
		}
	}
	return bm
}

func bitutilBytes(n int) int { return (n + 7) / 8 }

// numerics formats integer-like values as decimal text with the field's
// scale.
func numerics(g *gen, n int, from int64) ([]int32, []byte) {
	vals := make([]int64, n)
	ints(g, vals, from)
	offs := make([]int32, n+1)
	data := make([]byte, 0, n*8)
	for j, v := range vals {
		data = appendScaled(data, v, g.f.scale)
		offs[j+1] = int32(len(data))
	}
	return offs, data
}

// appendScaled appends v * 10^-scale as decimal text with exactly scale
// digits after the point (the canonical numeric text of that scale).
func appendScaled(buf []byte, v int64, scale int32) []byte {
	if scale == 0 {
		return strconv.AppendInt(buf, v, 10)
	}
	u := uint64(v)
	if v < 0 {
		buf = append(buf, '-')
		u = -u
	}
	// The point and the fraction's digits, then the integer part before
	// them.
	var frac [48]byte
	i := len(frac)
	for d := int32(0); d < scale; d++ {
		i--
		frac[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	frac[i] = '.'
	return append(strconv.AppendUint(buf, u, 10), frac[i:]...)
}

// valueBuffer fills v by fill (ints or floats) with the values of rows
// [from, from+len(v)) and returns it as an Arrow value buffer.
func valueBuffer[T int16 | int32 | int64 | float32 | float64](v []T, fill func(*gen, []T, int64), g *gen, from int64) *memory.Buffer {
	fill(g, v, from)
	return memory.NewBufferBytes(arrow.GetBytes(v))
}

// column makes rows [from, from+n) of one column.
func (g *gen) column(n int, from int64) arrow.Array {
	var buf *memory.Buffer
	bufs := func(b ...*memory.Buffer) arrow.Array {
		d := array.NewData(g.dt, n, b, nil, 0, 0)
		a := array.MakeFromData(d)
		d.Release()
		return a
	}
	switch g.f.cls {
	case classInt:
		switch g.f.t.Kind {
		case types.Int2:
			buf = valueBuffer(make([]int16, n), ints, g, from)
		case types.Int4:
			buf = valueBuffer(make([]int32, n), ints, g, from)
		default:
			buf = valueBuffer(make([]int64, n), ints, g, from)
		}
	case classFloat:
		if g.f.t.Kind == types.Float4 {
			buf = valueBuffer(make([]float32, n), floats, g, from)
		} else {
			buf = valueBuffer(make([]float64, n), floats, g, from)
		}
	case classDate:
		buf = valueBuffer(make([]int32, n), ints, g, from)
	case classTime:
		buf = valueBuffer(make([]int64, n), ints, g, from)
	case classInterval:
		us := make([]int64, n)
		ints(g, us, from)
		v := make([]arrow.MonthDayNanoInterval, n)
		for j, x := range us {
			v[j] = arrow.MonthDayNanoInterval{Days: int32(x / types.MicrosPerDay), Nanoseconds: x % types.MicrosPerDay * 1000}
		}
		buf = memory.NewBufferBytes(arrow.MonthDayNanoIntervalTraits.CastToBytes(v))
	case classBool:
		buf = memory.NewBufferBytes(bools(g, n, from))
	case classString, classNumeric:
		var offs []int32
		var data []byte
		if g.f.cls == classString {
			offs, data = strs(g, n, from)
		} else {
			offs, data = numerics(g, n, from)
		}
		return bufs(nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data))
	}
	return bufs(nil, buf)
}

// source is datagen's split reader.
type source struct {
	spec *Spec
	gens []gen
	// next is the index of the next row to send; limit the row count.
	next, limit int64
	base        int64
	opened      bool
}

var _ stream.SplitReader = (*source)(nil)

// chunk makes the n rows from s.next.
func (s *source) chunk(n int) *stream.Chunk {
	cols := make([]arrow.Array, len(s.gens))
	for i := range s.gens {
		if s.spec.pruned != nil && s.spec.pruned[i] {
			cols[i] = array.MakeArrayOfNull(types.Mem, s.gens[i].dt, n)
			continue
		}
		cols[i] = s.gens[i].column(n, s.next)
	}
	return stream.NewChunk(cols, make([]stream.Op, n)) // the zero Op is Insert
}

// chunkRows is the chunk size for rate: about 100 ms of rows, so that a
// slow source still delivers promptly.
func chunkRows(rate int64) int {
	if rate <= 0 || rate/10 >= maxChunk {
		return maxChunk
	}
	return int(max(rate/10, 1))
}

// Assign positions the reader on its one split.
func (s *source) Assign(splits []stream.Split) ([]stream.Split, error) {
	if len(splits) != 1 || s.opened {
		return nil, fmt.Errorf("datagen: one split expected, got %d more", len(splits))
	}
	if err := s.open(splits[0].Pos); err != nil {
		return nil, err
	}
	return s.Positions(), nil
}

// Next makes the next chunk; io.EOF after the limit.
func (s *source) Next(context.Context) (stream.Batch, error) {
	if s.next >= s.limit {
		return stream.Batch{}, io.EOF
	}
	n := min(int64(chunkRows(s.spec.rate)), s.limit-s.next)
	c := s.chunk(int(n))
	s.next += n
	return stream.Batch{Chunk: c}, nil
}

// Positions is the next row and the base time.
func (s *source) Positions() []stream.Split {
	return []stream.Split{{ID: "0", Pos: encodePos(s.next, s.base)}}
}

func (s *source) Close() error { return nil }
