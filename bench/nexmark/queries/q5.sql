-- q5: hot items: per 10 s window sliding by 2 s, the auctions with the most bids (ties kept).
CREATE MATERIALIZED VIEW nexmark_q5 AS
SELECT ab.auction, ab.num
FROM (SELECT auction, count(*) AS num, window_start AS starttime
      FROM HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND)
      GROUP BY auction, window_start) AS ab
JOIN (SELECT max(num) AS maxn, starttime_c
      FROM (SELECT count(*) AS num, window_start AS starttime_c
            FROM HOP(bid, date_time, INTERVAL '2' SECOND, INTERVAL '10' SECOND)
            GROUP BY auction, window_start) AS cb
      GROUP BY starttime_c) AS mb
  ON ab.starttime = mb.starttime_c AND ab.num >= mb.maxn;
