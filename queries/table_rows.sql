-- Rows read, rejected and written per table by the latest successful refresh.
-- scope: global
SELECT r.run_id, r.finished_at, t.table_name, t.rows_read, t.rows_rejected,
       CAST(t.rows_rejected AS DOUBLE PRECISION) / NULLIF(t.rows_read, 0) AS rejected_pct,
       t.rows_written
FROM etl_runs r
JOIN etl_run_tables t ON t.run_id = r.run_id
WHERE r.status = 'succeeded'
  AND r.finished_at = (SELECT MAX(finished_at) FROM etl_runs WHERE status = 'succeeded')
ORDER BY t.table_name
