-- q7: highest bid: per 10 s tumbling window, the bids at the window's maximum price.
CREATE MATERIALIZED VIEW nexmark_q7 AS
SELECT b.auction, b.price, b.bidder, b.date_time
FROM bid b
JOIN (SELECT max(price) AS maxprice, window_end AS date_time
      FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND)
      GROUP BY window_end) b1 ON b.price = b1.maxprice
WHERE b.date_time BETWEEN b1.date_time - INTERVAL '10' SECOND AND b1.date_time;
