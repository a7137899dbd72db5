-- the measures summed per fiscal year, :fiscal_year and the year before, over the filtered rows
years AS (
    SELECT fiscal_year,
           SUM(CASE WHEN has_actuals THEN forecast_quantity END) AS forecast_quantity_with_actuals,
           SUM(abs_error) AS abs_error,
    -- include: measure_sums.sql
    FROM agg_customer_product_yearly
    WHERE fiscal_year IN (CAST(:fiscal_year AS INTEGER), CAST(:fiscal_year AS INTEGER) - 1)
    -- include: customer_filters.sql
    -- include: category_filters.sql
    -- include: product_filter.sql
    GROUP BY fiscal_year
),
