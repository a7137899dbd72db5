-- Net sales and margin by channel and platform in a fiscal year, with each one's share of net sales.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions freight_cost
SELECT channel, platform,
       SUM(sold_quantity) AS sold_quantity,
       SUM(gross_sales) AS gross_sales,
       SUM(net_sales) AS net_sales,
       SUM(gross_margin) AS gross_margin,
       SUM(gross_margin) / NULLIF(SUM(net_sales), 0) AS gm_pct,
       SUM(net_sales) / NULLIF(SUM(SUM(net_sales)) OVER (), 0) AS net_sales_share
FROM agg_customer_product_yearly
WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
-- include: customer_filters.sql
-- include: category_filters.sql
-- include: product_filter.sql
GROUP BY channel, platform
ORDER BY net_sales DESC NULLS LAST
