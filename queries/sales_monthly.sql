-- Net sales and margin by month of a fiscal year (September first), against the same month a year before.
-- uses: post_invoice_deductions freight_cost
WITH monthly AS (
    SELECT fiscal_year, fiscal_quarter, fiscal_month, month,
    -- include: measure_sums.sql
    FROM agg_customer_category_monthly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
      AND has_actuals
    -- include: customer_filters.sql
    -- include: category_filters.sql
    GROUP BY fiscal_year, fiscal_quarter, fiscal_month, month
)
SELECT t.fiscal_year, t.fiscal_quarter, t.fiscal_month, t.month,
       t.sold_quantity, t.gross_sales, t.net_sales, t.gross_margin,
       t.gross_margin / NULLIF(t.net_sales, 0) AS gm_pct,
       l.net_sales AS last_year_net_sales,
       (t.net_sales - l.net_sales) / NULLIF(ABS(l.net_sales), 0) AS net_sales_change_pct
FROM monthly t
LEFT JOIN monthly l ON l.fiscal_year = t.fiscal_year - 1 AND l.fiscal_month = t.fiscal_month
WHERE t.fiscal_year = CAST(:fiscal_year AS INTEGER)
ORDER BY t.fiscal_month
