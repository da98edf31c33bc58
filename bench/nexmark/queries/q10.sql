-- q10: log to file system: every bid with its date and minute as text, partitioned by them downstream.
-- The benchmark writes this into a file sink partitioned by dt and hm; until file sinks exist it is a view:
--   CREATE SINK nexmark_q10_sink FROM nexmark_q10 WITH (connector = 'file', path = '/tmp/nexmark_q10') FORMAT PLAIN ENCODE CSV;
CREATE MATERIALIZED VIEW nexmark_q10 AS
SELECT auction, bidder, price, date_time, extra,
       to_char(date_time, 'YYYY-MM-DD') AS dt,
       to_char(date_time, 'HH24:MI') AS hm
FROM bid;
