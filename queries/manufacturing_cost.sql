-- Unit manufacturing cost per product in a fiscal year: the N highest and the N lowest.
-- scope: global
-- default n: 5
WITH costs AS (
    SELECT fiscal_year, product_code, division, segment, category, product, variant,
           unit_manufacturing_cost, gross_price,
           unit_manufacturing_cost / NULLIF(gross_price, 0) AS cost_to_price_pct,
           ROW_NUMBER() OVER (ORDER BY unit_manufacturing_cost DESC, product_code) AS rank_highest,
           ROW_NUMBER() OVER (ORDER BY unit_manufacturing_cost ASC, product_code) AS rank_lowest
    FROM product_price_cost_yearly
    WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
      AND unit_manufacturing_cost IS NOT NULL
    -- include: category_filters.sql
    -- include: product_filter.sql
)
SELECT CASE WHEN rank_highest <= CAST(:n AS INTEGER) THEN 'highest' ELSE 'lowest' END AS position,
       fiscal_year, product_code, division, segment, category, product, variant,
       unit_manufacturing_cost, gross_price, cost_to_price_pct
FROM costs
WHERE rank_highest <= CAST(:n AS INTEGER) OR rank_lowest <= CAST(:n AS INTEGER)
ORDER BY unit_manufacturing_cost DESC, product_code
