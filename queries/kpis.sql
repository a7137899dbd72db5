-- Headline figures of a fiscal year against the year before: net sales, gross margin %, forecast accuracy and sold quantity.
-- rollup: agg_customer_category_yearly
-- uses: fact_forecast_monthly post_invoice_deductions freight_cost
WITH
-- include: years_this_and_last.sql
lines AS (
    SELECT 1 AS line_order, 'net_sales' AS line, fiscal_year, net_sales AS amount FROM years
    UNION ALL SELECT 2, 'gross_margin', fiscal_year, gross_margin FROM years
    UNION ALL SELECT 3, 'gm_pct', fiscal_year, gross_margin / NULLIF(net_sales, 0) FROM years
    UNION ALL SELECT 4, 'sold_quantity', fiscal_year, sold_quantity FROM years
    UNION ALL SELECT 5, 'forecast_accuracy', fiscal_year,
                     CASE WHEN forecast_quantity_with_actuals > 0
                          THEN GREATEST(0, 1 - abs_error / forecast_quantity_with_actuals) END
              FROM years
    UNION ALL SELECT 6, 'forecast_quantity', fiscal_year, forecast_quantity_with_actuals FROM years
),
-- include: this_and_last_year.sql
SELECT CAST(:fiscal_year AS INTEGER) AS fiscal_year, line AS measure, this_year, last_year,
       this_year - last_year AS change,
       -- a ratio's change is in points (the change column); its relative change would mislead
       CASE WHEN line IN ('gm_pct', 'forecast_accuracy') THEN NULL
            ELSE (this_year - last_year) / NULLIF(ABS(last_year), 0) END AS change_pct
FROM both_years
ORDER BY line_order
