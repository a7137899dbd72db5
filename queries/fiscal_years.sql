-- The fiscal years in the warehouse, with how many months of actuals each has and whether it is complete.
-- scope: global
SELECT fiscal_year, months_with_actuals,
       CASE WHEN months_with_actuals = 12 THEN TRUE ELSE FALSE END AS complete,
       CASE WHEN forecast_quantity > 0 THEN TRUE ELSE FALSE END AS has_forecasts
FROM (
    SELECT fiscal_year,
           COUNT(DISTINCT CASE WHEN has_actuals THEN month END) AS months_with_actuals,
           SUM(forecast_quantity) AS forecast_quantity
    FROM agg_customer_category_monthly
    GROUP BY fiscal_year
) years
ORDER BY fiscal_year DESC
