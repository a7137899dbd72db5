-- The top N markets in a fiscal year by a chosen measure, with last year's value and the growth.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions freight_cost
-- default n: 10
-- default by: net_sales
WITH per_year AS (
    SELECT fiscal_year, region, sub_zone, market,
    -- include: measure_sums.sql
    FROM agg_customer_product_yearly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
    -- include: customer_filters.sql
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY fiscal_year, region, sub_zone, market
),
-- include: measure_value.sql
ranked AS (
    SELECT t.*, l.measure_value AS last_year_value,
           ROW_NUMBER() OVER (ORDER BY t.measure_value DESC NULLS LAST, t.market) AS rank
    FROM valued t
    LEFT JOIN valued l ON l.market = t.market AND l.fiscal_year = t.fiscal_year - 1
    WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
)
SELECT rank, fiscal_year, region, sub_zone, market,
       CAST(:by AS VARCHAR) AS measure, measure_value AS value, last_year_value,
       (measure_value - last_year_value) / NULLIF(ABS(last_year_value), 0) AS yoy_growth_pct,
       sold_quantity, net_sales, gross_margin
FROM ranked
WHERE rank <= CAST(:n AS INTEGER)
ORDER BY rank
