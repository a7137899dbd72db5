-- Every customer with its market, sub-zone, region, channel and platform (the geography filters' options).
SELECT region, sub_zone, market, customer, customer_code, channel, platform
FROM dim_customer
WHERE TRUE
-- include: market_scope.sql
ORDER BY region, sub_zone, market, customer, customer_code
