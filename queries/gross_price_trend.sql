-- Average gross price by fiscal year, per category (or per product when a category is chosen), across every year.
-- scope: global
SELECT fiscal_year, division, segment, category, member,
       AVG(gross_price) AS avg_gross_price,
       COUNT(*) AS products
FROM (
    SELECT fiscal_year, division, segment, category, gross_price,
           CASE WHEN CAST(:category AS VARCHAR) IS NULL THEN category ELSE product END AS member
    FROM product_price_cost_yearly
    WHERE gross_price IS NOT NULL
    -- include: category_filters.sql
    -- include: product_filter.sql
) prices
GROUP BY fiscal_year, division, segment, category, member
ORDER BY member, fiscal_year
