-- a2: alert count: bidders with 20 or more bids in a 10 s tumbling window (a rate rule with HAVING).
CREATE MATERIALIZED VIEW nexmark_a2 AS
SELECT bidder, count(*) AS bids, window_start, window_end
FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND)
GROUP BY bidder, window_start, window_end
HAVING count(*) >= 20;
