-- Forecast quantity per fiscal year (for a product in a market and platform, when given), with actuals where they exist.
-- rollup: agg_customer_category_yearly
-- needs: fact_forecast_monthly
-- fiscal_year: optional
SELECT fiscal_year,
       SUM(forecast_quantity) AS forecast_quantity,
       SUM(CASE WHEN has_actuals THEN forecast_quantity END) AS forecast_quantity_with_actuals,
       SUM(sold_quantity) AS sold_quantity
FROM agg_customer_product_yearly
WHERE (CAST(:fiscal_year AS INTEGER) IS NULL OR fiscal_year = CAST(:fiscal_year AS INTEGER))
-- include: customer_filters.sql
-- include: category_filters.sql
-- include: product_filter.sql
GROUP BY fiscal_year
HAVING SUM(forecast_quantity) > 0
ORDER BY fiscal_year
