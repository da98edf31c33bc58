-- q20: expand bid with auction: the bids on category-10 auctions, with the auction's columns.
CREATE MATERIALIZED VIEW nexmark_q20 AS
SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra,
       a.item_name, a.description, a.initial_bid, a.reserve, a.date_time AS a_date_time,
       a.expires, a.seller, a.category, a.extra AS a_extra
FROM bid AS b
JOIN auction AS a ON b.auction = a.id
WHERE a.category = 10;
