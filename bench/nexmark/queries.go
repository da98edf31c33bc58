// Package nexmark is the Nexmark benchmark harness: it runs each of the 22
// queries of queries/ (and the alerting pair a1, a2) through an in-process StreamSQL engine fed by the
// nexmark source connector, measures throughput, CPU, memory and
// freshness, runs the same query in DuckDB over the same events as a batch
// baseline, and checks that both agree where the result is deterministic.
//
// The query files are the engine's side; the DuckDB side of each query is
// written here, next to what the comparison may look at.
package nexmark

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed queries/*.sql
var queryFS embed.FS

// Query is one Nexmark query on both sides.
type Query struct {
	// Name is q0 .. q22, or a1, a2: the alerting pair (a filter and a
	// windowed count with HAVING) whose freshness the latency runs watch.
	Name string
	// Setup are the statements of the query file that come before the
	// measured one (side tables, functions); Create is the measured
	// CREATE MATERIALIZED VIEW.
	Setup  []string
	Create string
	// View is the name of the view Create makes.
	View string
	// PassThrough queries keep no state: the throughput run writes them
	// into a blackhole sink, so the view's storage does not dominate.
	PassThrough bool
	// Duck is the query's equivalent in DuckDB, with the same columns in
	// the same order; DuckSetup runs before it (side tables).
	Duck      string
	DuckSetup []string
	// Compare lists the columns whose multiset of rows is deterministic
	// (nil: all of them). NoCompare, when set, says why the result cannot
	// be compared at all.
	Compare   []int
	NoCompare string
	// Invariant, for a query whose rows depend on the wall clock
	// (processing time), replaces the row-by-row comparison: its SQL runs
	// on the engine after the run, and Duck then computes the result it
	// must give.
	Invariant *Invariant
}

// Invariant is a check of a non-deterministic query's view.
type Invariant struct {
	SQL  string // run on the engine, over the view
	Says string // what it checks, for the report
}

// Sink is the CREATE SINK equivalent of the query's view: the same
// SELECT into the blackhole connector.
func (q *Query) Sink() (name, stmt string) {
	name = q.View + "_sink"
	m := createView.FindStringSubmatchIndex(q.Create)
	return name, "CREATE SINK " + name + " AS " + strings.TrimSpace(q.Create[m[1]:]) + "\nWITH (connector = 'blackhole')"
}

var createView = regexp.MustCompile(`(?is)^\s*CREATE\s+MATERIALIZED\s+VIEW\s+(\w+)\s+AS\s`)

// DuckDB helpers for event-time windows, aligned to the Unix epoch like
// the engine's window functions (sizes in microseconds).
var duckMacros = []string{
	`CREATE MACRO win_start(ts, us) AS make_timestamp((epoch_us(ts) // us) * us)`,
	`CREATE MACRO win_end(ts, us) AS make_timestamp((epoch_us(ts) // us + 1) * us)`,
}

// duckQueries are the DuckDB equivalents. TUMBLE becomes win_start/end,
// HOP a cross join with the window index, SESSION gaps and islands and
// regexp_match regexp_extract. A query without Duck runs its view's
// SELECT in DuckDB, with to_char turned into strftime (duckSelect).
var duckQueries = map[string]Query{
	"q0": {Duck: `SELECT auction, bidder, price, date_time FROM bid`},
	"q1": {Duck: `SELECT auction, bidder, 0.908 * price AS price, date_time FROM bid`},
	"q2": {Duck: `SELECT auction, price FROM bid WHERE auction % 123 = 0`},
	"q3": {Duck: `SELECT p.name, p.city, p.state, a.id FROM auction AS a JOIN person AS p ON a.seller = p.id
WHERE a.category = 10 AND (p.state = 'OR' OR p.state = 'ID' OR p.state = 'CA')`},
	"q4": {Duck: `SELECT q.category, avg(q.final) AS avg
FROM (SELECT max(b.price) AS final, a.category FROM auction AS a JOIN bid AS b ON a.id = b.auction
      WHERE b.date_time BETWEEN a.date_time AND a.expires GROUP BY a.id, a.category) AS q
GROUP BY q.category`},
	"q5": {Duck: `WITH hb AS (SELECT auction, make_timestamp((epoch_us(date_time) // 2000000 - k) * 2000000) AS window_start
            FROM bid, range(0, 5) AS r(k))
SELECT ab.auction, ab.num
FROM (SELECT auction, count(*) AS num, window_start AS starttime FROM hb GROUP BY auction, window_start) AS ab
JOIN (SELECT max(num) AS maxn, starttime_c
      FROM (SELECT count(*) AS num, window_start AS starttime_c FROM hb GROUP BY auction, window_start) AS cb
      GROUP BY starttime_c) AS mb
  ON ab.starttime = mb.starttime_c AND ab.num >= mb.maxn`},
	// The engine orders a seller's auctions that tie on date_time by the
	// stream key, whose first column is the auction's row id: its arrival
	// order, which is the order of auction ids. Ties on (price,
	// date_time) among one auction's bids pick either bid, with the same
	// final and date_time.
	"q6": {Duck: `SELECT seller,
       avg(final) OVER (PARTITION BY seller ORDER BY date_time, id ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS avg
FROM (SELECT a.id, a.seller, b.price AS final, b.date_time,
             row_number() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time) AS rownum
      FROM auction AS a JOIN bid AS b ON a.id = b.auction
      WHERE b.date_time BETWEEN a.date_time AND a.expires) AS w
WHERE rownum = 1`},
	"q7": {Duck: `SELECT b.auction, b.price, b.bidder, b.date_time
FROM bid b
JOIN (SELECT max(price) AS maxprice, win_end(date_time, 10000000) AS date_time FROM bid GROUP BY 2) b1
  ON b.price = b1.maxprice
WHERE b.date_time BETWEEN b1.date_time - INTERVAL 10 SECOND AND b1.date_time`},
	"q8": {Duck: `SELECT p.id, p.name, p.starttime
FROM (SELECT id, name, win_start(date_time, 10000000) AS starttime, win_end(date_time, 10000000) AS endtime
      FROM person GROUP BY ALL) AS p
JOIN (SELECT seller, win_start(date_time, 10000000) AS starttime, win_end(date_time, 10000000) AS endtime
      FROM auction GROUP BY ALL) AS a
  ON p.id = a.seller AND p.starttime = a.starttime AND p.endtime = a.endtime`},
	"q9": {Duck: `SELECT id, item_name, description, initial_bid, reserve, date_time, expires, seller, category,
       auction, bidder, price, bid_date_time
FROM (SELECT a.id, a.item_name, a.description, a.initial_bid, a.reserve, a.date_time, a.expires,
             a.seller, a.category, b.auction, b.bidder, b.price, b.date_time AS bid_date_time,
             row_number() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time ASC) AS rownum
      FROM auction AS a JOIN bid AS b ON a.id = b.auction
      WHERE b.date_time BETWEEN a.date_time AND a.expires) AS t
WHERE rownum <= 1`,
		// Bids of one auction tie on (price, date_time) now and then
		// (ten events share each microsecond): the bidder is then either.
		Compare: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12}},
	"q10": {},
	"q11": {Duck: `WITH s AS (SELECT bidder, date_time,
                  CASE WHEN date_time - lag(date_time) OVER (PARTITION BY bidder ORDER BY date_time) < INTERVAL 10 SECOND
                       THEN 0 ELSE 1 END AS new_session
           FROM bid),
     g AS (SELECT bidder, date_time,
                  sum(new_session) OVER (PARTITION BY bidder ORDER BY date_time ROWS UNBOUNDED PRECEDING) AS session
           FROM s)
SELECT bidder, count(*) AS bid_count, min(date_time) AS starttime, max(date_time) + INTERVAL 10 SECOND AS endtime
FROM g GROUP BY bidder, session`},
	// q12 and q13 depend on the wall clock (processing-time windows, a
	// lookup as of processing time): an invariant of the view is checked
	// instead of its rows.
	"q12": {Duck: `SELECT bidder, count(*) AS bid_count FROM bid GROUP BY bidder`,
		Invariant: &Invariant{
			SQL: `SELECT bidder, sum(bid_count) FILTER (WHERE window_end = window_start + INTERVAL '10' SECOND)
FROM nexmark_q12 GROUP BY bidder`,
			Says: "each bidder's bid_count over its 10 s windows sums to its bids"}},
	"q13": {Duck: `SELECT auction, bidder, price, date_time, true AS value_ok FROM bid`,
		Invariant: &Invariant{
			SQL: `SELECT auction, bidder, price, date_time, value = 'value-' || (auction % 10000) AS value_ok
FROM nexmark_q13`,
			Says: "every bid appears once, with the side input's value of its key"},
		DuckSetup: []string{`CREATE TABLE side_input AS SELECT i AS key, 'value-' || i AS value FROM range(0, 10000) AS r(i)`}},
	"q14": {
		// The user function of q14.sql, as a DuckDB macro.
		DuckSetup: []string{`CREATE MACRO count_char(s, c) AS length(s) - length(replace(s, c, ''))`}},
	"q15": {},
	"q16": {},
	"q17": {},
	"q18": {Duck: `SELECT auction, bidder, price, channel, url, date_time, extra
FROM (SELECT *, row_number() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC) AS rank_number FROM bid) AS t
WHERE rank_number <= 1`,
		// A bidder's bids on one auction can share the latest microsecond.
		Compare: []int{0, 1, 5}},
	"q19": {Duck: `SELECT auction, bidder, price, channel, url, date_time, extra, rank_number
FROM (SELECT *, row_number() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid) AS t
WHERE rank_number <= 10`,
		// Ties on price make the bid at a rank either one; the price at
		// each rank is determined.
		Compare: []int{0, 2, 7}},
	"q20": {Duck: `SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra,
       a.item_name, a.description, a.initial_bid, a.reserve, a.date_time AS a_date_time,
       a.expires, a.seller, a.category, a.extra AS a_extra
FROM bid AS b JOIN auction AS a ON b.auction = a.id WHERE a.category = 10`},
	"q21": {Duck: `SELECT auction, bidder, price, channel,
       CASE
         WHEN lower(channel) = 'apple' THEN '0'
         WHEN lower(channel) = 'google' THEN '1'
         WHEN lower(channel) = 'facebook' THEN '2'
         WHEN lower(channel) = 'baidu' THEN '3'
         ELSE regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)
       END AS channel_id
FROM bid
WHERE regexp_matches(url, '(&|^)channel_id=([^&]*)') OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')`},
	"q22": {Duck: `SELECT auction, bidder, price, channel,
       split_part(url, '/', 4) AS dir1, split_part(url, '/', 5) AS dir2, split_part(url, '/', 6) AS dir3
FROM bid`},
	"a1": {Duck: `SELECT auction, bidder, price, date_time FROM bid WHERE price >= 10000000`},
	"a2": {Duck: `SELECT bidder, count(*) AS bids, win_start(date_time, 10000000) AS window_start,
       win_end(date_time, 10000000) AS window_end
FROM bid GROUP BY 1, 3, 4 HAVING count(*) >= 20`},
}

// passThrough are the queries without state.
var passThrough = map[string]bool{"q0": true, "q1": true, "q2": true, "q10": true, "q14": true, "q21": true, "q22": true,
	"a1": true}

// SourcesSQL returns the three CREATE SOURCE statements for a run of
// events events at eventRate events per second of event time, paced at
// wallRate events per second of wall time (0: as fast as possible) and
// generated by splits goroutines per source.
func SourcesSQL(events, eventRate, wallRate int64, splits int) ([]string, error) {
	b, err := queryFS.ReadFile("queries/sources.sql")
	if err != nil {
		return nil, err
	}
	extra := fmt.Sprintf("nexmark.event.num = '%d', nexmark.event.rate = '%d'", events, eventRate)
	if wallRate > 0 {
		extra += fmt.Sprintf(", nexmark.events.per.second = '%d'", wallRate)
	}
	if splits > 1 {
		extra += fmt.Sprintf(", nexmark.split.num = '%d'", splits)
	}
	src := eventNum.ReplaceAllString(string(b), extra)
	stmts := SplitStatements(src)
	if len(stmts) != 3 {
		return nil, fmt.Errorf("queries/sources.sql: want 3 statements, found %d", len(stmts))
	}
	return stmts, nil
}

var eventNum = regexp.MustCompile(`nexmark\.event\.num\s*=\s*'\d+'`)

// Queries loads every query file: q0 .. q22 in numeric order, then the
// alerting queries a1, a2.
func Queries() ([]*Query, error) {
	ents, err := queryFS.ReadDir("queries")
	if err != nil {
		return nil, err
	}
	var out []*Query
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".sql")
		if (!strings.HasPrefix(name, "q") && !strings.HasPrefix(name, "a")) || name == e.Name() {
			continue
		}
		if _, err := strconv.Atoi(name[1:]); err != nil {
			continue
		}
		b, err := queryFS.ReadFile("queries/" + e.Name())
		if err != nil {
			return nil, err
		}
		q, err := parseQuery(name, string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Name[0], out[j].Name[0]; a != b {
			return a == 'q'
		}
		return queryNum(out[i].Name) < queryNum(out[j].Name)
	})
	return out, nil
}

func queryNum(name string) int { n, _ := strconv.Atoi(name[1:]); return n }

func parseQuery(name, text string) (*Query, error) {
	d, ok := duckQueries[name]
	if !ok {
		return nil, fmt.Errorf("%s: no DuckDB equivalent", name)
	}
	q := &Query{Name: name, PassThrough: passThrough[name], Duck: d.Duck, DuckSetup: d.DuckSetup,
		Compare: d.Compare, NoCompare: d.NoCompare, Invariant: d.Invariant}
	for _, s := range SplitStatements(text) {
		if m := createView.FindStringSubmatch(s); m != nil {
			if q.Create != "" {
				return nil, fmt.Errorf("%s: more than one materialized view", name)
			}
			q.Create, q.View = s, m[1]
			continue
		}
		if q.Create != "" {
			return nil, fmt.Errorf("%s: statements after the materialized view", name)
		}
		q.Setup = append(q.Setup, s)
	}
	if q.Create == "" {
		return nil, fmt.Errorf("%s: no CREATE MATERIALIZED VIEW", name)
	}
	if q.Duck == "" {
		q.Duck = duckSelect(q.Create)
	}
	return q, nil
}

// duckSelect is the SELECT of a CREATE MATERIALIZED VIEW in DuckDB's
// dialect, for the queries that differ only in their to_char formats.
func duckSelect(create string) string {
	m := createView.FindStringSubmatchIndex(create)
	return toCharToStrftime.Replace(strings.TrimSpace(create[m[1]:]))
}

var toCharToStrftime = strings.NewReplacer(
	`to_char(date_time, 'YYYY-MM-DD')`, `strftime(date_time, '%Y-%m-%d')`,
	`to_char(date_time, 'HH24:MI')`, `strftime(date_time, '%H:%M')`)

// SplitStatements splits SQL text at semicolons outside quotes, dollar
// quotes and comments, and drops comments and empty statements.
func SplitStatements(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				i = len(text)
			} else {
				i += j
			}
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(text) && text[j] != c {
				j++
			}
			cur.WriteString(text[i:min(j+1, len(text))])
			i = j + 1
		case c == '$' && strings.HasPrefix(text[i:], "$$"):
			j := strings.Index(text[i+2:], "$$")
			end := len(text)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			cur.WriteString(text[i:end])
			i = end
		case c == ';':
			flush()
			i++
		default:
			cur.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}
