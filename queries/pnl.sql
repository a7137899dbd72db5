-- The P&L statement, gross sales down to gross margin, for a fiscal year against the year before, with the change.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions freight_cost
WITH
-- include: years_this_and_last.sql
lines AS (
    SELECT 1 AS line_order, 'gross_sales' AS line, fiscal_year, gross_sales AS amount FROM years
    UNION ALL SELECT 2, 'pre_invoice_deduction', fiscal_year, pre_invoice_deduction FROM years
    UNION ALL SELECT 3, 'net_invoice_sales', fiscal_year, net_invoice_sales FROM years
    UNION ALL SELECT 4, 'post_invoice_discount', fiscal_year, post_invoice_discount FROM years
    UNION ALL SELECT 5, 'post_invoice_other', fiscal_year, post_invoice_other FROM years
    UNION ALL SELECT 6, 'net_sales', fiscal_year, net_sales FROM years
    UNION ALL SELECT 7, 'manufacturing_cost', fiscal_year, manufacturing_cost FROM years
    UNION ALL SELECT 8, 'freight_cost', fiscal_year, freight_cost FROM years
    UNION ALL SELECT 9, 'other_cost', fiscal_year, other_cost FROM years
    UNION ALL SELECT 10, 'cogs', fiscal_year, cogs FROM years
    UNION ALL SELECT 11, 'gross_margin', fiscal_year, gross_margin FROM years
    UNION ALL SELECT 12, 'gm_pct', fiscal_year, gross_margin / NULLIF(net_sales, 0) FROM years
    UNION ALL SELECT 13, 'sold_quantity', fiscal_year, sold_quantity FROM years
),
-- include: this_and_last_year.sql
SELECT CAST(:fiscal_year AS INTEGER) AS fiscal_year, line, this_year, last_year,
       this_year - last_year AS change,
       (this_year - last_year) / NULLIF(ABS(last_year), 0) AS change_pct
FROM both_years
ORDER BY line_order
