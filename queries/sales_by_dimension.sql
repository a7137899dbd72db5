-- Net sales, gross margin and sold quantity in a fiscal year by a chosen dimension, with last year's net sales, the growth and each member's share.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions freight_cost
-- dimensions: region sub_zone market customer channel platform division segment category product
-- default dimension: market
WITH per_year AS (
    SELECT fiscal_year, member,
           SUM(net_sales) AS net_sales,
           SUM(gross_margin) AS gross_margin,
           SUM(sold_quantity) AS sold_quantity
    FROM (
        SELECT fiscal_year, net_sales, gross_margin, sold_quantity,
        -- include: chosen_dimension.sql
               AS member
        FROM agg_customer_product_yearly
        WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
        -- include: customer_filters.sql
        -- include: category_filters.sql
        -- include: product_filter.sql
    ) chosen
    GROUP BY fiscal_year, member
),
this_year AS (
    SELECT * FROM per_year
    WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
      AND (COALESCE(net_sales, 0) <> 0 OR COALESCE(sold_quantity, 0) <> 0)
)
SELECT t.fiscal_year, CAST(:dimension AS VARCHAR) AS dimension, t.member,
       t.net_sales, t.gross_margin,
       t.gross_margin / NULLIF(t.net_sales, 0) AS gm_pct,
       t.sold_quantity,
       l.net_sales AS last_year_net_sales,
       (t.net_sales - l.net_sales) / NULLIF(ABS(l.net_sales), 0) AS yoy_growth_pct,
       t.net_sales / NULLIF(SUM(t.net_sales) OVER (), 0) AS net_sales_share
FROM this_year t
LEFT JOIN per_year l ON l.member = t.member AND l.fiscal_year = t.fiscal_year - 1
ORDER BY t.net_sales DESC NULLS LAST, t.member
