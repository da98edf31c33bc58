-- q8: monitor new users: people who opened an auction in the same 10 s window they registered in (window join).
CREATE MATERIALIZED VIEW nexmark_q8 AS
SELECT p.id, p.name, p.starttime
FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
      FROM TUMBLE(person, date_time, INTERVAL '10' SECOND)
      GROUP BY id, name, window_start, window_end) AS p
JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
      FROM TUMBLE(auction, date_time, INTERVAL '10' SECOND)
      GROUP BY seller, window_start, window_end) AS a
  ON p.id = a.seller AND p.starttime = a.starttime AND p.endtime = a.endtime;
