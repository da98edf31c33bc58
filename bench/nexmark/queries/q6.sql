-- q6: average selling price per seller over their last 10 closed auctions (winning bid, then a ROWS window).
CREATE MATERIALIZED VIEW nexmark_q6 AS
SELECT seller,
       avg(final) OVER (PARTITION BY seller ORDER BY date_time
                        ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS avg
FROM (SELECT a.id, a.seller, b.price AS final, b.date_time,
             row_number() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time) AS rownum
      FROM auction AS a
      JOIN bid AS b ON a.id = b.auction
      WHERE b.date_time BETWEEN a.date_time AND a.expires) AS w
WHERE rownum = 1;
