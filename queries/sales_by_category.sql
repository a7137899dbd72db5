-- Sold quantity and revenue by product category, across markets and channels, in a fiscal year.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions
SELECT division, segment, category, region, market, channel,
       SUM(sold_quantity) AS sold_quantity,
       SUM(gross_sales) AS gross_sales,
       SUM(net_sales) AS net_sales
FROM agg_customer_product_yearly
WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
-- include: customer_filters.sql
-- include: category_filters.sql
-- include: product_filter.sql
GROUP BY division, segment, category, region, market, channel
HAVING SUM(sold_quantity) > 0
ORDER BY division, segment, category, region, market, channel
