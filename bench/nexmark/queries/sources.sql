-- The three Nexmark sources (SPEC.md DDL): every query file below reads them.
CREATE SOURCE person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR,
                      city VARCHAR, state VARCHAR, date_time TIMESTAMP, extra VARCHAR,
                      WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'person', nexmark.event.num = '10000000');

CREATE SOURCE auction (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT,
                       reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                       category BIGINT, extra VARCHAR,
                       WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'auction', nexmark.event.num = '10000000');

CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
                   date_time TIMESTAMP, extra VARCHAR,
                   WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'bid', nexmark.event.num = '10000000');
