-- q13: bounded side input join: each bid joined, as of processing time, with a 10,000-row side table.
CREATE TABLE side_input (key BIGINT PRIMARY KEY, value VARCHAR);

INSERT INTO side_input SELECT i, 'value-' || i FROM generate_series(0, 9999) AS i;

CREATE MATERIALIZED VIEW nexmark_q13 AS
SELECT b.auction, b.bidder, b.price, b.date_time, s.value
FROM bid AS b
JOIN side_input FOR SYSTEM_TIME AS OF PROCTIME() AS s ON b.auction % 10000 = s.key;
