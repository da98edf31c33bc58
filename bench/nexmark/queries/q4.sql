-- q4: average winning price per category: the highest bid within each auction's lifetime, averaged per category.
CREATE MATERIALIZED VIEW nexmark_q4 AS
SELECT q.category, avg(q.final) AS avg
FROM (SELECT max(b.price) AS final, a.category
      FROM auction AS a
      JOIN bid AS b ON a.id = b.auction
      WHERE b.date_time BETWEEN a.date_time AND a.expires
      GROUP BY a.id, a.category) AS q
GROUP BY q.category;
