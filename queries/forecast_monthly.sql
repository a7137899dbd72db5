-- Forecast against actual quantity by month of a fiscal year (September first), with net and absolute error and accuracy.
-- needs: fact_forecast_monthly
WITH sums AS (
    SELECT fiscal_year, fiscal_quarter, fiscal_month, month, has_actuals,
    -- include: forecast_error_sums.sql
    FROM agg_customer_category_monthly
    WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
    -- include: customer_filters.sql
    -- include: category_filters.sql
    GROUP BY fiscal_year, fiscal_quarter, fiscal_month, month, has_actuals
),
-- include: forecast_accuracy_of_sums.sql
SELECT fiscal_year, fiscal_quarter, fiscal_month, month, has_actuals,
       forecast_quantity, sold_quantity, net_error, abs_error,
       -- a month without actuals has forecasts only: nothing to measure them against
       CASE WHEN has_actuals THEN forecast_accuracy END AS forecast_accuracy
FROM accuracy
ORDER BY fiscal_month
