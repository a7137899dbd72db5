-- the amount of each of `lines` (line_order, line, fiscal_year, amount) in :fiscal_year and the year before
both_years AS (
    SELECT line_order, line,
           SUM(CASE WHEN fiscal_year = CAST(:fiscal_year AS INTEGER) THEN amount END) AS this_year,
           SUM(CASE WHEN fiscal_year = CAST(:fiscal_year AS INTEGER) - 1 THEN amount END) AS last_year
    FROM lines
    GROUP BY line_order, line
)
