package nexmark

import (
	"bytes"
	"encoding/csv"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

var update = flag.Bool("update", false, "rewrite testdata/golden_*.csv from the generator")

// nxColumns returns the SPEC's columns of a table.
func nxColumns(t Table) ([]string, []types.T) {
	var names []string
	var ts []types.T
	for _, c := range schemas[t] {
		names = append(names, c.name)
		switch c.kind {
		case kindInt:
			ts = append(ts, types.TInt8)
		case kindStr:
			ts = append(ts, types.TVarchar)
		default:
			ts = append(ts, types.TTimestamp)
		}
	}
	return names, ts
}

// nxSpec makes a source of table tt with all its columns, a watermark on
// date_time, and options opts (plus the table type).
func nxSpec(t testing.TB, tt Table, opts map[string]string) *Spec {
	t.Helper()
	o := map[string]string{"connector": "nexmark", optTableType: tt.String()}
	for k, v := range opts {
		o[k] = v
	}
	names, ts := nxColumns(tt)
	s, err := New(names, ts, []string{"date_time"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nxRun is a source running in a goroutine.
type nxRun struct {
	*streamtest.SourceRun
	spec *Spec
}

func nxStart(t testing.TB, spec *Spec, pos []byte) *nxRun {
	t.Helper()
	src, err := spec.Open(nil, pos)
	if err != nil {
		t.Fatal(err)
	}
	return &nxRun{SourceRun: streamtest.StartSource(t, src), spec: spec}
}

func (r *nxRun) next() stream.Message { return r.Next(10 * time.Second) }

// rows reads messages until n rows arrived, formatting each row as text
// fields.
func (r *nxRun) rows(n int) [][]string {
	r.T.Helper()
	var out [][]string
	for len(out) < n {
		m := r.next()
		switch m.Kind {
		case stream.MsgChunk:
			out = append(out, nxFormat(m.Chunk, r.spec.ts)...)
			m.Chunk.Release()
		case stream.MsgWatermark:
			r.T.Fatalf("watermark after %d of %d rows", len(out), n)
		}
	}
	if len(out) != n {
		r.T.Fatalf("got %d rows, want %d (a chunk overshot)", len(out), n)
	}
	return out
}

// barrier sends a barrier and returns the position it carries and the
// rows and watermarks sent before it.
func (r *nxRun) barrier(epoch uint64) ([]byte, [][]string, []stream.Watermark) {
	r.T.Helper()
	r.Barriers <- epoch
	var rows [][]string
	var wms []stream.Watermark
	for {
		m := r.next()
		switch m.Kind {
		case stream.MsgBarrier:
			if m.Epoch != epoch {
				r.T.Fatalf("barrier %d, want %d", m.Epoch, epoch)
			}
			return m.Pos, rows, wms
		case stream.MsgWatermark:
			wms = append(wms, m.WM)
		default:
			if len(wms) > 0 {
				r.T.Fatalf("rows after the final watermark")
			}
			rows = append(rows, nxFormat(m.Chunk, r.spec.ts)...)
			m.Chunk.Release()
		}
	}
}

func nxFormat(c *stream.Chunk, ts []types.T) [][]string {
	out := make([][]string, c.N)
	for i := range out {
		row := make([]string, len(c.Cols))
		for j, a := range c.Cols {
			row[j] = types.FormatText(types.GetDatum(a, i, ts[j]), ts[j], time.UTC)
		}
		out[i] = row
	}
	return out
}

// nxAll runs a bounded source to its end and returns every row.
func nxAll(t testing.TB, s *Spec) [][]string {
	t.Helper()
	r := nxStart(t, s, nil)
	rows := r.rows(int(rowsUpTo(s.table, s.events)))
	_, more, wms := r.barrier(1)
	if len(more) != 0 || len(wms) != 1 || wms[0].Val != types.TimestampPosInfinity {
		t.Fatalf("final watermarks %v, want one of +infinity", wms)
	}
	r.Stop()
	return rows
}

func TestEventSequence(t *testing.T) {
	// Counting rows up to n and mapping row numbers back to events agree.
	for _, tt := range []Table{Person, Auction, Bid} {
		prev := int64(0)
		for n := int64(1); n <= 500; n++ {
			c := rowsUpTo(tt, n)
			isRow := (tt == Person && n%50 == 0) || (tt == Auction && n%50 >= 1 && n%50 <= 3) || (tt == Bid && n%50 > 3)
			if isRow != (c == prev+1) {
				t.Fatalf("%s: rowsUpTo(%d) = %d after %d", tt, n, c, prev)
			}
			if isRow && eventOf(tt, c-1) != n {
				t.Fatalf("%s: eventOf(%d) = %d, want %d", tt, c-1, eventOf(tt, c-1), n)
			}
			prev = c
		}
	}
}

func TestGolden(t *testing.T) {
	opts := map[string]string{optEventNum: "250", optEventRate: "1000", optSeed: "42", optChunkSize: "64"}
	for _, tt := range []Table{Person, Auction, Bid} {
		t.Run(tt.String(), func(t *testing.T) {
			s := nxSpec(t, tt, opts)
			var buf bytes.Buffer
			w := csv.NewWriter(&buf)
			w.Write(s.cols)
			w.WriteAll(nxAll(t, s))
			path := filepath.Join("testdata", "golden_"+tt.String()+".csv")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				got := strings.Split(buf.String(), "\n")
				exp := strings.Split(string(want), "\n")
				for i := range min(len(got), len(exp)) {
					if got[i] != exp[i] {
						t.Fatalf("%s line %d:\n got %s\nwant %s", path, i+1, got[i], exp[i])
					}
				}
				t.Fatalf("%s: %d lines, want %d", path, len(got), len(exp))
			}
		})
	}
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parseTS(t testing.TB, s string) int64 {
	t.Helper()
	d, err := types.ParseText(s, types.TTimestamp, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return int64(d.(types.Timestamp))
}

// TestRules checks the SPEC's generation rules over 100,000 events of all
// three tables.
func TestRules(t *testing.T) {
	const events = 100_000
	opts := map[string]string{optEventNum: strconv.Itoa(events), optEventRate: "100000", optSeed: "7"}
	persons := nxAll(t, nxSpec(t, Person, opts))
	auctions := nxAll(t, nxSpec(t, Auction, opts))
	bids := nxAll(t, nxSpec(t, Bid, opts))
	if len(persons) != events/50 || len(auctions) != 3*events/50 || len(bids) != 46*events/50 {
		t.Fatalf("%d persons, %d auctions, %d bids", len(persons), len(auctions), len(bids))
	}
	base := defaultBaseTime
	at := func(n int64) int64 { return base + n*1_000_000/100_000 }

	// Persons: ids 1000, 1001, ... at events 50, 100, ...; fixed lists.
	var personBytes int
	for i, p := range persons {
		if id := atoi(t, p[0]); id != 1000+int64(i) {
			t.Fatalf("person %d has id %d", i, id)
		}
		if ts := parseTS(t, p[6]); ts != at(50*int64(i+1)) {
			t.Fatalf("person %d at %s", i, p[6])
		}
		first, last, _ := strings.Cut(p[1], " ")
		if !slices.Contains(firstNames[:], first) || !slices.Contains(lastNames[:], last) {
			t.Fatalf("person name %q", p[1])
		}
		if !slices.Contains(cities[:], p[4]) || !slices.Contains(states[:], p[5]) {
			t.Fatalf("person city/state %q %q", p[4], p[5])
		}
		if len(p[3]) != 19 || !strings.Contains(p[2], "@") || !strings.HasSuffix(p[2], ".com") {
			t.Fatalf("person card/email %q %q", p[3], p[2])
		}
		personBytes += 8 + len(p[1]) + len(p[2]) + len(p[3]) + len(p[4]) + len(p[5]) + len(p[7])
	}
	if avg := float64(personBytes) / float64(len(persons)); math.Abs(avg-avgPersonBytes) > 3 {
		t.Errorf("average person size %.1f, want about %d", avg, avgPersonBytes)
	}

	// Auctions: ids from 1000 in event order; sellers among the persons
	// so far (hot ones three times in four); categories 10..14.
	auctionAt := map[int64]int64{} // id -> event time
	var hotSellers, auctionBytes int
	for i, a := range auctions {
		id, ts := atoi(t, a[0]), parseTS(t, a[5])
		n := eventOf(Auction, int64(i))
		if id != 1000+int64(i) || ts != at(n) {
			t.Fatalf("auction %d: id %d at %s, want %d at event %d", i, id, a[5], 1000+i, n)
		}
		auctionAt[id] = ts
		initial, reserve := atoi(t, a[3]), atoi(t, a[4])
		if initial < 100 || initial > 100_000_000 || reserve < initial+100 {
			t.Fatalf("auction %d: initial %d reserve %d", i, initial, reserve)
		}
		exp := parseTS(t, a[6])
		horizon := at(n+auctionLengthEvents) - ts
		if exp <= ts || exp > ts+2*horizon+1 {
			t.Fatalf("auction %d expires %s (at %s, horizon %dus)", i, a[6], a[5], horizon)
		}
		seller, latest := atoi(t, a[7]), 1000+n/50-1
		if n < 50 {
			latest = 1000
		}
		if seller < 1000 || seller > latest || seller < latest-activePeople {
			t.Fatalf("auction %d at event %d: seller %d, latest person %d", i, n, seller, latest)
		}
		if seller == latest/100*100 {
			hotSellers++
		}
		if c := atoi(t, a[8]); c < 10 || c > 14 {
			t.Fatalf("auction %d category %d", i, c)
		}
		auctionBytes += 8 + len(a[1]) + len(a[2]) + 5*8 + len(a[9])
	}
	if f := float64(hotSellers) / float64(len(auctions)); f < 0.72 || f > 0.80 {
		t.Errorf("hot sellers %.3f, want about 0.75", f)
	}
	if avg := float64(auctionBytes) / float64(len(auctions)); math.Abs(avg-avgAuctionBytes) > 5 {
		t.Errorf("average auction size %.1f, want about %d", avg, avgAuctionBytes)
	}

	// Bids: on auctions already opened (hot half the time), by persons so
	// far, log-uniform prices, channels with stable urls.
	var hotAuctions, hotBidders, hotChannels, cheap, extraBytes int
	urls := map[string]string{}
	for i, b := range bids {
		n := eventOf(Bid, int64(i))
		ts := parseTS(t, b[5])
		if ts != at(n) {
			t.Fatalf("bid %d at %s, want event %d", i, b[5], n)
		}
		auction := atoi(t, b[0])
		opened, ok := auctionAt[auction]
		if !ok || opened > ts {
			t.Fatalf("bid %d at %s on auction %d not yet opened", i, b[5], auction)
		}
		latestAuction := 1000 + rowsUpTo(Auction, n) - 1
		if auction < latestAuction-inflightAuctions {
			t.Fatalf("bid %d on auction %d, latest %d", i, auction, latestAuction)
		}
		if auction == latestAuction/100*100 {
			hotAuctions++
		}
		bidder, latest := atoi(t, b[1]), max(1000+n/50-1, 1000)
		if bidder < 1000 || bidder > latest {
			t.Fatalf("bid %d at event %d: bidder %d, latest person %d", i, n, bidder, latest)
		}
		if bidder == latest/100*100 {
			hotBidders++
		}
		price := atoi(t, b[2])
		if price < 100 || price > 100_000_000 {
			t.Fatalf("bid %d price %d", i, price)
		}
		if price < 100_000 { // the median of 100 * 10^(6u)
			cheap++
		}
		if k := slices.Index(hotChans[:], b[3]); k >= 0 {
			hotChannels++
			if b[4] != hotURLs[k] {
				t.Fatalf("hot channel %s with url %s", b[3], b[4])
			}
		} else {
			ch, ok := strings.CutPrefix(b[3], "channel-")
			if !ok || atoi(t, ch) >= numChannels {
				t.Fatalf("bid channel %q", b[3])
			}
			if u, seen := urls[b[3]]; seen && u != b[4] {
				t.Fatalf("channel %s has urls %s and %s", b[3], u, b[4])
			}
			urls[b[3]] = b[4]
		}
		extraBytes += len(b[6])
	}
	nb := float64(len(bids))
	for name, got := range map[string]float64{"hot auctions": float64(hotAuctions) / nb, "hot channels": float64(hotChannels) / nb, "prices below the median": float64(cheap) / nb} {
		if got < 0.48 || got > 0.52 {
			t.Errorf("%s %.3f, want about 0.5", name, got)
		}
	}
	if f := float64(hotBidders) / nb; f < 0.74 || f > 0.77 {
		t.Errorf("hot bidders %.3f, want about 0.75", f)
	}
	if avg := 32 + float64(extraBytes)/nb; math.Abs(avg-avgBidBytes) > 1 {
		t.Errorf("average bid size %.1f, want about %d", avg, avgBidBytes)
	}
	withID := 0
	for ch, u := range urls {
		if _, id, ok := strings.Cut(u, "&channel_id="); ok {
			withID++
			r := int32(bitsReverse32(uint32(atoi(t, strings.TrimPrefix(ch, "channel-")))))
			if r < 0 && r != math.MinInt32 {
				r = -r
			}
			if id != strconv.Itoa(int(r)) {
				t.Fatalf("%s: channel_id %s, want %d", ch, id, r)
			}
		}
	}
	if f := float64(withID) / float64(len(urls)); f < 0.85 || f > 0.95 {
		t.Errorf("urls with a channel id %.3f, want about 0.9", f)
	}
}

func bitsReverse32(x uint32) uint32 {
	var r uint32
	for range 32 {
		r = r<<1 | x&1
		x >>= 1
	}
	return r
}

// TestShards checks that the shard count changes nothing but speed.
func TestShards(t *testing.T) {
	opts := map[string]string{optEventNum: "20000", optChunkSize: "97"}
	want := nxAll(t, nxSpec(t, Bid, opts))
	for _, n := range []string{"2", "3", "8"} {
		opts[optSplitNum] = n
		got := nxAll(t, nxSpec(t, Bid, opts))
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("split.num=%s: rows differ from one shard", n)
		}
	}
}

// TestResume stops a source at a barrier and reopens it at the barrier's
// position: the rows after it are exactly those of an uninterrupted run,
// and a source reopened at its end sends the final watermark again.
func TestResume(t *testing.T) {
	for _, tt := range []Table{Person, Auction, Bid} {
		s := nxSpec(t, tt, map[string]string{optEventNum: "10000", optChunkSize: "11", optSplitNum: "2"})
		want := nxAll(t, s)
		r := nxStart(t, s, nil)
		got := r.rows(11 * 3)
		pos, more, _ := r.barrier(1)
		got = append(got, more...)
		r.Stop()
		if next, err := decodePos(pos); err != nil || next >= 10000 || rowsUpTo(tt, next-1) != int64(len(got)) {
			t.Fatalf("%s: position %x (%v) after %d rows", tt, pos, err, len(got))
		}
		r = nxStart(t, s, pos)
		got = append(got, r.rows(len(want)-len(got))...)
		end, more, wms := r.barrier(2)
		r.Stop()
		if len(more) > 0 {
			t.Fatalf("%s: %d rows beyond the end", tt, len(more))
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%s: resumed rows differ", tt)
		}
		if len(wms) != 1 || wms[0].Col != 5 && tt != Person || wms[0].Val != types.TimestampPosInfinity {
			t.Fatalf("%s: final watermarks %v", tt, wms)
		}
		r = nxStart(t, s, end)
		// Barriers may overtake the watermark: the reader runs in its own
		// goroutine and barriers never wait for it.
		wms = nil
		e := uint64(3)
		for deadline := time.Now().Add(5 * time.Second); len(wms) == 0 && time.Now().Before(deadline); e++ {
			p, more, w := r.barrier(e)
			if len(more) > 0 || !bytes.Equal(p, end) {
				t.Fatalf("%s: reopened at the end: rows %d, position %x (want %x)", tt, len(more), p, end)
			}
			wms = w
			time.Sleep(time.Millisecond)
		}
		if _, _, w := r.barrier(e); len(w) != 0 || len(wms) != 1 {
			t.Fatalf("%s: reopened at the end: watermarks %v, want the final one again", tt, wms)
		}
	}
}

// TestSubset declares some columns in another order: each gets the same
// values as in the full table.
func TestSubset(t *testing.T) {
	full := nxAll(t, nxSpec(t, Bid, map[string]string{optEventNum: "500"}))
	s, err := New([]string{"extra", "PRICE", "auction"}, []types.T{types.TText, types.TInt8, types.TInt8}, nil,
		map[string]string{"connector": "nexmark", optTableType: "BID", optEventNum: "500"})
	if err != nil {
		t.Fatal(err)
	}
	r := nxStart(t, s, nil)
	rows := r.rows(len(full))
	if pos, more, wms := r.barrier(1); len(more) != 0 || len(wms) != 0 || !bytes.Equal(pos, encodePos(500)) {
		t.Fatalf("without a watermark column: watermarks %v, position %x", wms, pos)
	}
	for i, row := range rows {
		if row[0] != full[i][6] || row[1] != full[i][2] || row[2] != full[i][0] {
			t.Fatalf("row %d: %v vs %v", i, row, full[i])
		}
	}
}

func TestWallRate(t *testing.T) {
	// 2000 events at 20,000 per second: about 100 ms.
	s := nxSpec(t, Bid, map[string]string{optEventNum: "2000", optWallRate: "20000"})
	start := time.Now()
	r := nxStart(t, s, nil)
	r.rows(int(rowsUpTo(Bid, 2000)))
	if d := time.Since(start); d < 80*time.Millisecond || d > 3*time.Second {
		t.Fatalf("took %v, want about 100ms", d)
	}
	// Barriers are answered while the source waits for its rate.
	s = nxSpec(t, Bid, map[string]string{optWallRate: "100"})
	r = nxStart(t, s, nil)
	for e := uint64(1); e <= 3; e++ {
		r.Barriers <- e
		for m := r.next(); m.Kind != stream.MsgBarrier; m = r.next() {
			if m.Chunk != nil {
				m.Chunk.Release()
			}
		}
	}
}

func TestOptions(t *testing.T) {
	names, ts := nxColumns(Bid)
	cases := []struct {
		opts  map[string]string
		cols  []string
		types []types.T
		code  string
		msg   string
	}{
		{opts: map[string]string{}, code: sqlerr.InvalidParameterValue, msg: "needs option nexmark.table.type"},
		{opts: map[string]string{optTableType: "bids"}, code: sqlerr.InvalidParameterValue, msg: "must be person, auction or bid"},
		{opts: map[string]string{optTableType: "bid", optEventNum: "-1"}, code: sqlerr.InvalidParameterValue, msg: "nexmark.event.num"},
		{opts: map[string]string{optTableType: "bid", optEventRate: "0"}, code: sqlerr.InvalidParameterValue, msg: "nexmark.event.rate"},
		{opts: map[string]string{optTableType: "bid", optSplitNum: "65"}, code: sqlerr.InvalidParameterValue, msg: "from 1 to 64"},
		{opts: map[string]string{optTableType: "bid", optBaseTime: "next tuesday"}, code: sqlerr.InvalidParameterValue, msg: "nexmark.base.time"},
		{opts: map[string]string{optTableType: "bid", "nexmark.colour": "red"}, code: sqlerr.InvalidParameterValue, msg: "unrecognized nexmark option"},
		{opts: map[string]string{optTableType: "bid", optEventNum: "400000000000000", optEventRate: "1"}, code: sqlerr.InvalidParameterValue, msg: "out of range"},
		{opts: map[string]string{optTableType: "person"}, code: sqlerr.UndefinedColumn, msg: `nexmark table person has no column "auction"`},
		{opts: map[string]string{optTableType: "bid"}, cols: []string{"price"}, types: []types.T{types.TInt4}, code: sqlerr.DatatypeMismatch, msg: `column "price" of nexmark table bid must be BIGINT`},
		{opts: map[string]string{optTableType: "bid"}, cols: []string{"date_time"}, types: []types.T{types.TText}, code: sqlerr.DatatypeMismatch, msg: "must be TIMESTAMP"},
	}
	for _, c := range cases {
		cols, tys := names, ts
		if c.cols != nil {
			cols, tys = c.cols, c.types
		}
		_, err := New(cols, tys, nil, c.opts)
		if err == nil || sqlerr.Code(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("options %v: error %v (code %s), want %s containing %q", c.opts, err, sqlerr.Code(err), c.code, c.msg)
		}
	}
	s, err := New(names, ts, nil, map[string]string{optTableType: "bid", optBaseTime: "2024-01-01 00:00:00"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(names, ts, nil, map[string]string{optTableType: "bid", optBaseTime: "1704067200000"})
	if err != nil {
		t.Fatal(err)
	}
	if s.baseTime != s2.baseTime || s.baseTime != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() {
		t.Fatalf("base times %d and %d", s.baseTime, s2.baseTime)
	}
	if _, err := s.Open(nil, []byte{9, 9}); sqlerr.Code(err) != sqlerr.DataCorrupted {
		t.Fatalf("corrupt position: %v", err)
	}
}
