-- q12: processing-time windows: bids per bidder per 10 s of wall-clock (processing) time.
CREATE MATERIALIZED VIEW nexmark_q12 AS
WITH b AS (SELECT bidder, proctime() AS p_time FROM bid)
SELECT bidder, count(*) AS bid_count, window_start, window_end
FROM TUMBLE(b, p_time, INTERVAL '10' SECOND)
GROUP BY bidder, window_start, window_end;
