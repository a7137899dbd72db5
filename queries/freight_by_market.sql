-- Freight and other costs per market in a fiscal year: the rates and the amounts they come to on net sales.
-- rollup: agg_customer_category_yearly
-- uses: freight_cost
WITH sales AS (
    SELECT region, sub_zone, market,
           SUM(net_sales) AS net_sales,
           SUM(freight_cost) AS freight_cost,
           SUM(other_cost) AS other_cost
    FROM agg_customer_product_yearly
    WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
    -- include: customer_filters.sql
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY region, sub_zone, market
)
SELECT CAST(:fiscal_year AS INTEGER) AS fiscal_year, s.region, s.sub_zone, s.market,
       r.freight_pct, r.other_cost_pct, s.net_sales, s.freight_cost, s.other_cost,
       s.freight_cost + s.other_cost AS total_cost
FROM sales s
LEFT JOIN market_cost_rates_yearly r
       ON r.market = s.market AND r.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY s.freight_cost DESC NULLS LAST, s.market
