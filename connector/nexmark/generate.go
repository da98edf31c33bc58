package nexmark

import (
	"math"
	"math/bits"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// The event sequence. Event ids start at 1; in every block of 50 events
// the one with id%50 == 0 is a person, ids%50 1 to 3 are auctions and the
// other 46 are bids. These functions map between event ids and the row
// numbers (0-based) of each table.
const (
	blockEvents   = 50
	blockAuctions = 3
	blockBids     = 46
	firstBidInBlk = 4
)

// rowsUpTo is the number of rows of table t among events 1..n.
func rowsUpTo(t Table, n int64) int64 {
	if n <= 0 {
		return 0
	}
	blk, r := n/blockEvents, n%blockEvents
	switch t {
	case Person:
		return blk
	case Auction:
		return blockAuctions*blk + min(r, blockAuctions)
	}
	return blockBids*blk + max(r-blockAuctions, 0)
}

// eventOf is the event id of row i (0-based) of table t.
func eventOf(t Table, i int64) int64 {
	switch t {
	case Person:
		return blockEvents * (i + 1)
	case Auction:
		return blockEvents*(i/blockAuctions) + 1 + i%blockAuctions
	}
	return blockEvents*(i/blockBids) + firstBidInBlk + i%blockBids
}

// Ids and the hot-key rules of the reference generator.
const (
	firstID          = 1000
	hotRound         = 100  // hot sellers, bidders and auctions: the latest id rounded down to this
	activePeople     = 1000 // a "recent person" is one of the last this many
	inflightAuctions = 100  // a "recent auction" is one of the last this many
	numChannels      = 10_000
	firstCategory    = 10
	numCategories    = 5
	// auctionLengthEvents is how many events it takes to open
	// inflightAuctions auctions: an auction lives for about this span of
	// event time, expiring after up to twice it.
	auctionLengthEvents = inflightAuctions * blockEvents / blockAuctions
)

// Average record sizes that extra pads toward.
const (
	avgPersonBytes  = 200
	avgAuctionBytes = 500
	avgBidBytes     = 100
)

// field is one generated column. Each field draws its random numbers from
// its own key; fields that must agree (a bid's channel and url, an extra's
// padding and the lengths it pads) recompute the draws they share.
type field uint8

const (
	fDateTime field = iota
	fPersonID
	fPersonName
	fPersonEmail
	fPersonCard
	fPersonCity
	fPersonState
	fPersonExtra
	fAuctionID
	fAuctionItem
	fAuctionDesc
	fAuctionInitial
	fAuctionReserve
	fAuctionExpires
	fAuctionSeller
	fAuctionCategory
	fAuctionExtra
	fBidAuction
	fBidBidder
	fBidPrice
	fBidChannel
	fBidURL
	fBidExtra
	numFields
)

var (
	firstNames = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	cities     = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	states     = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	hotChans   = [...]string{"Google", "Facebook", "Baidu", "Apple"}
	hotURLs    = [...]string{
		"https://www.nexmark.com/goog/search/cpc/item.htm?query=1",
		"https://www.nexmark.com/fbk/feed/ads/item.htm?query=1",
		"https://www.nexmark.com/bdu/search/cpc/item.htm?query=1",
		"https://www.nexmark.com/appl/store/ads/item.htm?query=1",
	}
)

// SplitMix64: a bijective mixer over a Weyl sequence, so the draw of any
// (field, event) pair is computed on its own, without generating the
// events before it.
const gamma = 0x9e3779b97f4a7c15

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below maps a 64-bit draw to [0, n) (multiply-high: no division, no
// visible bias for the small n used here).
func below(h, n uint64) uint64 {
	hi, _ := bits.Mul64(h, n)
	return hi
}

// below32 maps the low 32 bits of h to [0, n).
func below32(h, n uint64) uint64 { return (h & 0xffffffff) * n >> 32 }

// Random text comes from two pools of random characters made once per
// generator: a string is a slice of a pool at a random offset. The pools
// are large enough that strings look unrelated, and copying a slice is
// far cheaper than drawing each character.
const (
	poolOffsets = 1 << 16
	poolSize    = poolOffsets + 1024 // longer than any string cut from it
)

// powTables hold 10^(6x) for x = i/2^10, i/2^20 and i/2^30 (i < 1024), so a
// log-uniform price is three lookups and two products, identical on every
// platform.
var powTables = sync.OnceValue(func() *[3][1024]float64 {
	var t [3][1024]float64
	for i := range 1024 {
		t[0][i] = math.Pow(10, 6*float64(i)/(1<<10))
		t[1][i] = math.Pow(10, 6*float64(i)/(1<<20))
		t[2][i] = math.Pow(10, 6*float64(i)/(1<<30))
	}
	return &t
})

// generator makes the rows of one table. It is read-only once made, so
// shard goroutines share it.
type generator struct {
	table   Table
	keys    [numFields]uint64
	base    int64
	rate    uint64
	letters []byte // lowercase letters: extra
	spaced  []byte // lowercase letters and one space in 13: names, descriptions, emails
	pow     *[3][1024]float64
	names   []string // first x last
	chans   []byte   // the varying parts of each channel's url (makeChannels)
}

func newGenerator(s *Spec) *generator {
	g := &generator{table: s.table, base: s.baseTime, rate: uint64(s.eventRate), pow: powTables()}
	for f := range numFields {
		g.keys[f] = mix(s.seed ^ mix(uint64(f)+1)*gamma)
	}
	poolKey := mix(s.seed ^ 0x6e65786d61726b) // "nexmark"
	g.letters = make([]byte, poolSize)
	g.spaced = make([]byte, poolSize)
	for i := range poolSize {
		h := mix(poolKey + uint64(i)*gamma)
		g.letters[i] = byte('a' + below32(h, 26))
		if below32(h>>32, 13) == 0 {
			g.spaced[i] = ' '
		} else {
			g.spaced[i] = byte('a' + below32(h>>32, 26))
		}
	}
	for _, f := range firstNames {
		for _, l := range lastNames {
			g.names = append(g.names, f+" "+l)
		}
	}
	if s.table == Bid {
		g.makeChannels()
	}
	return g
}

// A non-hot channel i is "channel-<i>" with the url
// https://www.nexmark.com/<d1>/<d2>/<d3>/item.htm?query=1, to which nine
// urls in ten append &channel_id=<id>, the id as the reference generator
// writes it: the 32-bit bit reversal of i, made non-negative with Java's
// Math.abs (which leaves the minimum value negative). The parts that vary
// are kept in one 32-byte slot per channel (the three directories, the id
// digits), so a bid's url touches one cache line of a 320 KB table.
const (
	urlPrefix   = "https://www.nexmark.com/"
	urlSuffix   = "item.htm?query=1"
	urlIDPrefix = "&channel_id="
	slotBytes   = 32
	slotDirs    = 0  // length byte, then up to 15 bytes: "d1/d2/d3/"
	slotID      = 16 // length byte (0: no id), then up to 11 digits
)

func (g *generator) makeChannels() {
	g.chans = make([]byte, numChannels*slotBytes)
	for i := range uint64(numChannels) {
		slot := g.chans[i*slotBytes : (i+1)*slotBytes]
		h := mix(g.keys[fBidURL] + i*gamma)
		dirs := slot[slotDirs+1 : slotDirs+1]
		for d := range 3 {
			w := mix(h + uint64(d+1)*gamma)
			n := 3 + int(w&1) // [3, 5)
			w >>= 1
			for range n {
				c := byte('a' + w%26)
				w /= 26
				if w%13 == 0 {
					c = '_'
				}
				w /= 13
				dirs = append(dirs, c)
			}
			dirs = append(dirs, '/')
		}
		slot[slotDirs] = byte(len(dirs))
		if below32(h, 10) > 0 {
			r := int32(bits.Reverse32(uint32(i)))
			if r < 0 && r != math.MinInt32 {
				r = -r
			}
			id := strconv.AppendInt(slot[slotID+1:slotID+1], int64(r), 10)
			slot[slotID] = byte(len(id))
		}
	}
}

// appendChannel appends the name of non-hot channel i.
func appendChannel(buf []byte, i uint64) []byte {
	buf = append(buf, "channel-"...)
	switch {
	case i >= 1000:
		return append(buf, byte('0'+i/1000), byte('0'+i/100%10), byte('0'+i/10%10), byte('0'+i%10))
	case i >= 100:
		return append(buf, byte('0'+i/100), byte('0'+i/10%10), byte('0'+i%10))
	case i >= 10:
		return append(buf, byte('0'+i/10), byte('0'+i%10))
	}
	return append(buf, byte('0'+i))
}

// urlLen is the length of the url of non-hot channel i.
func (g *generator) urlLen(i uint64) int {
	slot := g.chans[i*slotBytes : (i+1)*slotBytes : (i+1)*slotBytes]
	n := len(urlPrefix) + int(slot[slotDirs]) + len(urlSuffix)
	if id := int(slot[slotID]); id > 0 {
		n += len(urlIDPrefix) + id
	}
	return n
}

// appendURL appends the url of non-hot channel i.
func (g *generator) appendURL(buf []byte, i uint64) []byte {
	slot := g.chans[i*slotBytes : (i+1)*slotBytes : (i+1)*slotBytes]
	buf = append(buf, urlPrefix...)
	buf = append(buf, slot[slotDirs+1:slotDirs+1+int(slot[slotDirs])]...)
	buf = append(buf, urlSuffix...)
	if n := int(slot[slotID]); n > 0 {
		buf = append(buf, urlIDPrefix...)
		buf = append(buf, slot[slotID+1:slotID+1+n]...)
	}
	return buf
}

// draw is field f's random word for event n.
func (g *generator) draw(f field, n int64) uint64 { return mix(g.keys[f] + uint64(n)*gamma) }

// eventTime is event n's time: base + n * 10^6 / rate microseconds.
func (g *generator) eventTime(n int64) int64 {
	hi, lo := bits.Mul64(uint64(n), 1_000_000)
	q, _ := bits.Div64(hi, lo, g.rate) // New bounds n so that this fits
	return g.base + int64(q)
}

// clock steps event times along the increasing event ids of a chunk with
// additions only: division is for the first row and long jumps.
type clock struct {
	g          *generator
	n          int64
	q, r       uint64 // n * 10^6 = q * rate + r
	stepQ, stR uint64 // 10^6 = stepQ * rate + stR
}

func (g *generator) newClock(n int64) clock {
	c := clock{g: g, stepQ: 1_000_000 / g.rate, stR: 1_000_000 % g.rate}
	c.seek(n)
	return c
}

func (c *clock) seek(n int64) {
	hi, lo := bits.Mul64(uint64(n), 1_000_000)
	c.n = n
	c.q, c.r = bits.Div64(hi, lo, c.g.rate)
}

func (c *clock) at(n int64) int64 {
	if n-c.n > 8 || n < c.n {
		c.seek(n)
	} else {
		for c.n < n {
			c.n++
			c.q += c.stepQ
			c.r += c.stR
			if c.r >= c.g.rate {
				c.r -= c.g.rate
				c.q++
			}
		}
	}
	return c.g.base + int64(c.q)
}

// price is round(100 * 10^(6u)) for u uniform in [0, 1) (30 bits of h).
func (g *generator) price(h uint64) int64 {
	u := h >> 34
	x := g.pow[0][u>>20] * g.pow[1][(u>>10)&1023] * g.pow[2][u&1023]
	return int64(x*100 + 0.5)
}

// hotOrRecent picks among the count ids from firstID: with hot set the
// latest id rounded down to hotRound, else one of the last window ids
// (uniform from 64-bit draw h). With no id yet it is firstID, the first
// one to come.
func hotOrRecent(count int64, hot bool, h uint64, window int64) int64 {
	if count <= 0 {
		return firstID
	}
	if hot {
		return firstID + (count-1)/hotRound*hotRound
	}
	a := min(count, window)
	return firstID + count - a + int64(below(h, uint64(a)))
}

// padLen is the length of extra for a record of current bytes toward an
// average of avg: the remainder, plus or minus 20%, uniform (h).
func padLen(current, avg int, h uint64) int {
	if current > avg {
		return 0
	}
	want := avg - current
	delta := (want*2 + 5) / 10 // round(want * 0.2)
	if delta == 0 {
		return want
	}
	return want - delta + int(below32(h, uint64(2*delta)))
}

// maxPad is the longest padding toward want bytes (padLen's bound).
func maxPad(want int) int { return want + (want*2+5)/10 }

// Lengths drawn by the string fields; extra recomputes them.
func emailParts(h uint64) (off1, off2, l1, l2 int) {
	return int(h & 0xffff), int(h >> 16 & 0xffff), 3 + int((h>>32&0xffff)*4>>16), 3 + int((h>>48)*2>>16)
}

func itemLen(h uint64) int { return 3 + int(below32(h, 17)) } // [3, 20)
func descLen(h uint64) int { return 3 + int(below32(h, 97)) } // [3, 100)
func poolOff(h uint64) int { return int(h >> 48) }

const cardLen = len("0000 0000 0000 0000")

// strCol collects an Arrow string column.
type strCol struct {
	offs []int32
	data []byte
}

func newStrCol(n, avg int) strCol {
	offs := make([]int32, 1, n+1)
	return strCol{offs: offs, data: make([]byte, 0, n*avg)}
}

func (s *strCol) end() { s.offs = append(s.offs, int32(len(s.data))) }

func (s *strCol) array(n int) arrow.Array {
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(s.offs)), memory.NewBufferBytes(s.data)}, nil, 0, 0)
	a := array.MakeFromData(d)
	d.Release()
	return a
}

func int64Array(dt arrow.DataType, v []int64) arrow.Array {
	d := array.NewData(dt, len(v), []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(v))}, nil, 0, 0)
	a := array.MakeFromData(d)
	d.Release()
	return a
}

// chunk makes rows [first, first+n) of the table with the given columns
// (fields and their SQL types); a pruned column (pruned[i]) is all NULL.
func (g *generator) chunk(fields []field, ts []types.T, pruned []bool, first int64, n int) *stream.Chunk {
	ev := make([]int64, n)
	for j := range ev {
		ev[j] = eventOf(g.table, first+int64(j))
	}
	cols := make([]arrow.Array, len(fields))
	for i, f := range fields {
		if pruned != nil && pruned[i] {
			cols[i] = array.MakeArrayOfNull(types.Mem, ts[i].ArrowType(), n)
			continue
		}
		cols[i] = g.column(f, ts[i], ev)
	}
	return stream.NewChunk(cols, make([]stream.Op, n)) // the zero Op is Insert
}

// column makes one column for the events ev. Each case is one loop over
// the rows writing a typed slice or a string buffer.
func (g *generator) column(f field, t types.T, ev []int64) arrow.Array {
	n := len(ev)
	switch f {
	case fDateTime, fAuctionExpires:
		v := make([]int64, n)
		c := g.newClock(ev[0])
		for j, e := range ev {
			v[j] = c.at(e)
		}
		if f == fAuctionExpires {
			for j, e := range ev {
				horizon := g.eventTime(e+auctionLengthEvents) - v[j]
				v[j] += 1 + int64(below(g.draw(f, e), uint64(2*horizon+1)))
			}
		}
		return int64Array(t.ArrowType(), v)
	case fPersonID, fAuctionID, fAuctionInitial, fAuctionReserve, fAuctionSeller, fAuctionCategory,
		fBidAuction, fBidBidder, fBidPrice:
		v := make([]int64, n)
		g.ints(f, ev, v)
		return int64Array(arrow.PrimitiveTypes.Int64, v)
	}
	var s strCol
	switch f {
	case fPersonName:
		s = newStrCol(n, 16)
		for _, e := range ev {
			s.data = append(s.data, g.name(g.draw(f, e))...)
			s.end()
		}
	case fPersonEmail:
		s = newStrCol(n, 6+4+5)
		for _, e := range ev {
			o1, o2, l1, l2 := emailParts(g.draw(f, e))
			s.data = append(s.data, g.spaced[o1:o1+l1]...)
			s.data = append(s.data, '@')
			s.data = append(s.data, g.spaced[o2:o2+l2]...)
			s.data = append(s.data, ".com"...)
			s.end()
		}
	case fPersonCard:
		s = newStrCol(n, cardLen)
		for _, e := range ev {
			h := g.draw(f, e)
			for k := range 4 {
				if k > 0 {
					s.data = append(s.data, ' ')
				}
				v := (h >> (16 * k) & 0xffff) * 10000 >> 16
				s.data = append(s.data, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
			}
			s.end()
		}
	case fPersonCity:
		s = newStrCol(n, len("San Francisco"))
		for _, e := range ev {
			s.data = append(s.data, cities[below32(g.draw(fPersonCity, e), uint64(len(cities)))]...)
			s.end()
		}
	case fPersonState:
		s = newStrCol(n, 2)
		for _, e := range ev {
			s.data = append(s.data, states[below32(g.draw(fPersonCity, e)>>32, uint64(len(states)))]...)
			s.end()
		}
	case fPersonExtra:
		s = newStrCol(n, maxPad(avgPersonBytes))
		for _, e := range ev {
			_, _, l1, l2 := emailParts(g.draw(fPersonEmail, e))
			hc := g.draw(fPersonCity, e)
			cur := 8 + len(g.name(g.draw(fPersonName, e))) + l1 + l2 + 5 + cardLen +
				len(cities[below32(hc, uint64(len(cities)))]) + len(states[below32(hc>>32, uint64(len(states)))])
			h := g.draw(f, e)
			o := poolOff(h)
			s.data = append(s.data, g.letters[o:o+padLen(cur, avgPersonBytes, h)]...)
			s.end()
		}
	case fAuctionItem, fAuctionDesc:
		s = newStrCol(n, 100)
		for _, e := range ev {
			h := g.draw(f, e)
			l := itemLen(h)
			if f == fAuctionDesc {
				l = descLen(h)
			}
			o := poolOff(h)
			s.data = append(s.data, g.spaced[o:o+l]...)
			s.end()
		}
	case fAuctionExtra:
		s = newStrCol(n, maxPad(avgAuctionBytes))
		for _, e := range ev {
			cur := 8 + itemLen(g.draw(fAuctionItem, e)) + descLen(g.draw(fAuctionDesc, e)) + 5*8
			h := g.draw(f, e)
			o := poolOff(h)
			s.data = append(s.data, g.letters[o:o+padLen(cur, avgAuctionBytes, h)]...)
			s.end()
		}
	case fBidChannel:
		// Capacity for the longest value: growing the buffer would copy it.
		s = newStrCol(n, len("channel-9999"))
		for _, e := range ev {
			if h := g.draw(fBidChannel, e); h>>63 != 0 {
				s.data = append(s.data, hotChans[h>>61&3]...)
			} else {
				s.data = appendChannel(s.data, below(h<<1, numChannels))
			}
			s.end()
		}
	case fBidURL:
		// Two passes: the lengths, then the bytes into a buffer of the
		// exact size (this column and extra are most of a bid's bytes).
		s.offs = make([]int32, n+1)
		total := 0
		for j, e := range ev {
			if h := g.draw(fBidChannel, e); h>>63 != 0 {
				total += len(hotURLs[h>>61&3])
			} else {
				total += g.urlLen(below(h<<1, numChannels))
			}
			s.offs[j+1] = int32(total)
		}
		s.data = make([]byte, 0, total)
		for _, e := range ev {
			if h := g.draw(fBidChannel, e); h>>63 != 0 {
				s.data = append(s.data, hotURLs[h>>61&3]...)
			} else {
				s.data = g.appendURL(s.data, below(h<<1, numChannels))
			}
		}
	case fBidExtra:
		s.offs = make([]int32, n+1)
		total := 0
		for j, e := range ev {
			total += padLen(4*8, avgBidBytes, g.draw(f, e))
			s.offs[j+1] = int32(total)
		}
		s.data = make([]byte, total)
		for j, e := range ev {
			o := poolOff(g.draw(f, e))
			copy(s.data[s.offs[j]:s.offs[j+1]], g.letters[o:])
		}
	}
	return s.array(n)
}

func (g *generator) name(h uint64) string {
	return g.names[below32(h, uint64(len(firstNames)))*uint64(len(lastNames))+below32(h>>32, uint64(len(lastNames)))]
}

// ints fills v with an integer field for the events ev.
func (g *generator) ints(f field, ev []int64, v []int64) {
	switch f {
	case fPersonID:
		for j, e := range ev {
			v[j] = firstID + rowsUpTo(Person, e) - 1
		}
	case fAuctionID:
		for j, e := range ev {
			v[j] = firstID + rowsUpTo(Auction, e) - 1
		}
	case fAuctionInitial:
		for j, e := range ev {
			v[j] = g.price(g.draw(f, e))
		}
	case fAuctionReserve:
		for j, e := range ev {
			v[j] = g.price(g.draw(fAuctionInitial, e)) + g.price(g.draw(f, e))
		}
	case fAuctionSeller, fBidBidder:
		// A hot person three times in four, else one of the recent ones.
		for j, e := range ev {
			h := g.draw(f, e)
			v[j] = hotOrRecent(rowsUpTo(Person, e), h>>62 != 0, h<<2, activePeople)
		}
	case fAuctionCategory:
		for j, e := range ev {
			v[j] = firstCategory + int64(below(g.draw(f, e), numCategories))
		}
	case fBidAuction:
		for j, e := range ev {
			h := g.draw(f, e)
			v[j] = hotOrRecent(rowsUpTo(Auction, e), h>>63 != 0, h<<1, inflightAuctions)
		}
	case fBidPrice:
		for j, e := range ev {
			v[j] = g.price(g.draw(f, e))
		}
	}
}
