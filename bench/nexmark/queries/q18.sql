-- q18: find last bid: each bidder's latest bid on each auction (deduplication).
CREATE MATERIALIZED VIEW nexmark_q18 AS
SELECT auction, bidder, price, channel, url, date_time, extra
FROM (SELECT *, row_number() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC) AS rank_number
      FROM bid) AS t
WHERE rank_number <= 1;
