-- q21: add channel id: the channel's id from its name (hot channels) or from the url's channel_id parameter.
CREATE MATERIALIZED VIEW nexmark_q21 AS
SELECT auction, bidder, price, channel,
       CASE
         WHEN lower(channel) = 'apple' THEN '0'
         WHEN lower(channel) = 'google' THEN '1'
         WHEN lower(channel) = 'facebook' THEN '2'
         WHEN lower(channel) = 'baidu' THEN '3'
         ELSE (regexp_match(url, '(&|^)channel_id=([^&]*)'))[2]
       END AS channel_id
FROM bid
WHERE (regexp_match(url, '(&|^)channel_id=([^&]*)'))[2] IS NOT NULL
   OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu');
