-- Pre- and post-invoice deductions and discounts per customer in a fiscal year, largest first.
-- rollup: agg_customer_category_yearly
-- uses: post_invoice_deductions
SELECT customer_code, customer, market, channel, platform,
       SUM(gross_sales) AS gross_sales,
       SUM(pre_invoice_deduction) AS pre_invoice_deduction,
       SUM(pre_invoice_deduction) / NULLIF(SUM(gross_sales), 0) AS pre_invoice_discount_pct,
       SUM(post_invoice_discount) AS post_invoice_discount,
       SUM(post_invoice_other) AS post_invoice_other,
       SUM(pre_invoice_deduction) + SUM(post_invoice_discount) + SUM(post_invoice_other) AS total_deductions,
       SUM(net_sales) AS net_sales
FROM agg_customer_product_yearly
WHERE fiscal_year = CAST(:fiscal_year AS INTEGER)
-- include: customer_filters.sql
-- include: category_filters.sql
-- include: product_filter.sql
GROUP BY customer_code, customer, market, channel, platform
HAVING SUM(gross_sales) > 0
ORDER BY total_deductions DESC NULLS LAST, customer_code
