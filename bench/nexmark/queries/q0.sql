-- q0: pass-through: every bid, projected (measures the source and the view write path).
CREATE MATERIALIZED VIEW nexmark_q0 AS
SELECT auction, bidder, price, date_time
FROM bid;
