-- Forecast accuracy in a fiscal year by market, customer or product: net and absolute error, accuracy against last year, and the risk (excess inventory when net error > 0, out of stock when < 0).
-- rollup: agg_customer_category_yearly
-- needs: fact_forecast_monthly
-- dimensions: region sub_zone market customer division segment category product
-- default dimension: market
WITH sums AS (
    SELECT fiscal_year, member,
    -- include: forecast_error_sums.sql
    FROM (
        SELECT fiscal_year, forecast_quantity, sold_quantity, net_error, abs_error,
        -- include: chosen_dimension.sql
               AS member
        FROM agg_customer_product_yearly
        WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
          AND has_actuals
        -- include: customer_filters.sql
        -- include: category_filters.sql
        -- include: product_filter.sql
    ) chosen
    GROUP BY fiscal_year, member
),
-- include: forecast_accuracy_of_sums.sql
SELECT t.fiscal_year, CAST(:dimension AS VARCHAR) AS dimension, t.member,
-- include: forecast_accuracy_columns.sql
FROM accuracy t
LEFT JOIN accuracy l ON l.member = t.member AND l.fiscal_year = t.fiscal_year - 1
WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY t.abs_error DESC NULLS LAST, t.member
