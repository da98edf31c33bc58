package nexmark

// Comparing a streaming view with DuckDB's result. Both sides turn each
// row into a canonical line (every number rounded to three decimals, so a
// BIGINT, a HUGEINT, a NUMERIC and a DOUBLE holding the same value agree;
// timestamps in UTC to the microsecond) and fold the lines into an
// order-independent digest: the row count and the sums of two 64-bit
// halves of each line's 128-bit hash. Equal digests mean equal multisets
// of rows; small results are also kept as sorted lines, so a mismatch can
// show the rows that differ.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// scale is the number of decimals numbers are compared at.
const scale = 3

// Digest is an order-independent summary of a multiset of rows.
type Digest struct {
	Rows   int64
	lo, hi uint64
}

func (d Digest) String() string { return fmt.Sprintf("%d:%016x%016x", d.Rows, d.hi, d.lo) }

// Collector canonicalises rows into a digest, keeping the lines while
// there are at most keep of them.
type Collector struct {
	cols  []int // nil: all
	keep  int
	d     Digest
	lines []string
	buf   []byte
	h     interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
		Reset()
	}
	sum [16]byte
}

// NewCollector returns a collector of the columns cols (nil: all) that
// keeps up to keep lines.
func NewCollector(cols []int, keep int) *Collector {
	return &Collector{cols: cols, keep: keep, h: fnv.New128a()}
}

// Add adds one row of Go values (as pgx or database/sql return them).
func (c *Collector) Add(row []any) error {
	c.buf = c.buf[:0]
	var err error
	add := func(i int) {
		if len(c.buf) > 0 {
			c.buf = append(c.buf, '|')
		}
		c.buf, err = appendCanonical(c.buf, row[i])
	}
	if c.cols == nil {
		for i := range row {
			if add(i); err != nil {
				return err
			}
		}
	} else {
		for _, i := range c.cols {
			if i >= len(row) {
				return fmt.Errorf("compared column %d of a %d-column row", i, len(row))
			}
			if add(i); err != nil {
				return err
			}
		}
	}
	c.h.Reset()
	c.h.Write(c.buf)
	s := c.h.Sum(c.sum[:0])
	c.d.hi += binary.BigEndian.Uint64(s[:8])
	c.d.lo += binary.BigEndian.Uint64(s[8:])
	c.d.Rows++
	if c.keep > 0 {
		if len(c.lines) < c.keep {
			c.lines = append(c.lines, string(c.buf))
		} else {
			c.lines, c.keep = nil, 0
		}
	}
	return nil
}

// Digest returns the digest of the rows added.
func (c *Collector) Digest() Digest { return c.d }

// Lines returns the sorted canonical lines, or nil when there were more
// than the collector keeps.
func (c *Collector) Lines() []string {
	if c.keep == 0 {
		return nil
	}
	slices.Sort(c.lines)
	return c.lines
}

func appendCanonical(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "NULL"...), nil
	case string:
		return strconv.AppendQuote(b, x), nil
	case []byte:
		return strconv.AppendQuote(b, string(x)), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int64:
		return appendInt(b, big.NewInt(x)), nil
	case int32:
		return appendInt(b, big.NewInt(int64(x))), nil
	case int16:
		return appendInt(b, big.NewInt(int64(x))), nil
	case int8:
		return appendInt(b, big.NewInt(int64(x))), nil
	case int:
		return appendInt(b, big.NewInt(int64(x))), nil
	case uint64:
		return appendInt(b, new(big.Int).SetUint64(x)), nil
	case uint32:
		return appendInt(b, big.NewInt(int64(x))), nil
	case *big.Int:
		return appendInt(b, x), nil
	case float64:
		return appendFloat(b, x), nil
	case float32:
		return appendFloat(b, float64(x)), nil
	case duckdb.Decimal:
		r := new(big.Rat).SetInt(x.Value)
		return appendRat(b, r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Scale)), nil)))), nil
	case pgtype.Numeric:
		if !x.Valid {
			return append(b, "NULL"...), nil
		}
		if x.NaN {
			return append(b, "NaN"...), nil
		}
		r := new(big.Rat).SetInt(x.Int)
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(x.Exp))), nil))
		if x.Exp >= 0 {
			r.Mul(r, p)
		} else {
			r.Quo(r, p)
		}
		return appendRat(b, r), nil
	case time.Time:
		return x.UTC().AppendFormat(b, "2006-01-02 15:04:05.000000"), nil
	case pgtype.Text:
		if !x.Valid {
			return append(b, "NULL"...), nil
		}
		return strconv.AppendQuote(b, x.String), nil
	}
	return b, fmt.Errorf("cannot compare a value of Go type %T", v)
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func appendInt(b []byte, x *big.Int) []byte {
	b = x.Append(b, 10)
	b = append(b, '.')
	for range scale {
		b = append(b, '0')
	}
	return b
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	// A double holds a decimal value only to about 15 significant digits:
	// round it there first, so that the exact numeric 7316441.4525 and the
	// double nearest to it (7316441.45249999...) meet the same rounding.
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', 15, 64))
	if !ok {
		r = new(big.Rat).SetFloat64(f)
	}
	return appendRat(b, r)
}

// appendRat appends r rounded half away from zero to scale decimals.
func appendRat(b []byte, r *big.Rat) []byte {
	return append(b, r.FloatString(scale)...)
}

// WriteLines writes sorted canonical lines to path, one a line.
func WriteLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadLines reads what WriteLines wrote.
func ReadLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// DiffLines describes up to max rows that only one of two sorted line
// lists has.
func DiffLines(stream, duck []string, max int) string {
	var sb strings.Builder
	i, j, n := 0, 0, 0
	for (i < len(stream) || j < len(duck)) && n < max {
		switch {
		case j >= len(duck) || (i < len(stream) && stream[i] < duck[j]):
			fmt.Fprintf(&sb, "  only in StreamSQL: %s\n", stream[i])
			i++
			n++
		case i >= len(stream) || duck[j] < stream[i]:
			fmt.Fprintf(&sb, "  only in DuckDB:    %s\n", duck[j])
			j++
			n++
		default:
			i++
			j++
		}
	}
	return sb.String()
}
