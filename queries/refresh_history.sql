-- The latest refreshes: when, status, rows read, rejected and written, how long, and why a failed one failed.
-- scope: global
-- default n: 10
SELECT run_id, started_at, finished_at, status, source, layout, fiscal_years, missing_tables,
       rows_read, rows_rejected, rows_written, seconds, message
FROM (
    SELECT etl_runs.*, ROW_NUMBER() OVER (ORDER BY started_at DESC, run_id) AS newest
    FROM etl_runs
) runs
WHERE newest <= CAST(:n AS INTEGER)
ORDER BY started_at DESC, run_id
