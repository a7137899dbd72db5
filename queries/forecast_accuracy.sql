-- Forecast accuracy by market in a fiscal year: net and absolute error (summed at the month x customer x product grain), accuracy against last year, and the risk it signals.
-- rollup: agg_customer_category_yearly
-- needs: fact_forecast_monthly
WITH sums AS (
    SELECT fiscal_year, region, sub_zone, market,
    -- include: forecast_error_sums.sql
    FROM agg_customer_product_yearly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
      AND has_actuals
    -- include: customer_filters.sql
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY fiscal_year, region, sub_zone, market
),
-- include: forecast_accuracy_of_sums.sql
SELECT t.fiscal_year, t.region, t.sub_zone, t.market,
-- include: forecast_accuracy_columns.sql
FROM accuracy t
LEFT JOIN accuracy l ON l.market = t.market AND l.fiscal_year = t.fiscal_year - 1
WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY t.forecast_accuracy ASC NULLS LAST, t.market
