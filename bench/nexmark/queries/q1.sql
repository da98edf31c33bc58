-- q1: currency conversion: each bid's price in euros.
CREATE MATERIALIZED VIEW nexmark_q1 AS
SELECT auction, bidder, 0.908 * price AS price, date_time
FROM bid;
