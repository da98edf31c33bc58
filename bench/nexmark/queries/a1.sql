-- a1: alert filter: every bid of 10,000,000 or more, as it arrives (a surveillance rule with no state).
CREATE MATERIALIZED VIEW nexmark_a1 AS
SELECT auction, bidder, price, date_time
FROM bid
WHERE price >= 10000000;
