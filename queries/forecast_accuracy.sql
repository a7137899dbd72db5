-- Forecast accuracy by market in a fiscal year: net and absolute error (summed at the month x customer x product grain), accuracy against last year, and the risk it signals.
-- needs: fact_forecast_monthly
WITH per_year AS (
    SELECT fiscal_year, region, sub_zone, market,
           SUM(forecast_quantity) AS forecast_quantity,
           SUM(sold_quantity) AS sold_quantity,
           SUM(net_error) AS net_error,
           SUM(abs_error) AS abs_error
    FROM agg_customer_product_yearly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
      AND has_actuals
    -- include: customer_filters.sql
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY fiscal_year, region, sub_zone, market
),
accuracy AS (
    SELECT *,
           abs_error / NULLIF(forecast_quantity, 0) AS abs_error_pct,
           CASE WHEN forecast_quantity > 0 THEN GREATEST(0, 1 - abs_error / forecast_quantity) END AS forecast_accuracy
    FROM per_year
)
SELECT t.fiscal_year, t.region, t.sub_zone, t.market,
       t.forecast_quantity, t.sold_quantity, t.net_error, t.abs_error, t.abs_error_pct,
       t.forecast_accuracy, l.forecast_accuracy AS last_year_forecast_accuracy,
       CASE WHEN t.net_error > 0 THEN 'excess inventory' WHEN t.net_error < 0 THEN 'out of stock' ELSE 'balanced' END AS risk
FROM accuracy t
LEFT JOIN accuracy l ON l.market = t.market AND l.fiscal_year = t.fiscal_year - 1
WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY t.forecast_accuracy ASC NULLS LAST, t.market
