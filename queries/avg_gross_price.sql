-- Average gross (list) price per product over its variants in a fiscal year, against the year before.
-- scope: global
WITH prices AS (
    SELECT fiscal_year, division, segment, category, product,
           AVG(gross_price) AS avg_gross_price,
           COUNT(*) AS variants
    FROM product_price_cost_yearly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
      AND gross_price IS NOT NULL
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY fiscal_year, division, segment, category, product
)
SELECT t.fiscal_year, t.division, t.segment, t.category, t.product, t.variants,
       t.avg_gross_price, l.avg_gross_price AS last_year_avg_gross_price,
       (t.avg_gross_price - l.avg_gross_price) / NULLIF(l.avg_gross_price, 0) AS change_pct
FROM prices t
LEFT JOIN prices l ON l.product = t.product AND l.category = t.category AND l.fiscal_year = t.fiscal_year - 1
WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY t.avg_gross_price DESC, t.product
