-- The latest successful refresh: its run id, when it finished, its layout and the optional source tables it lacked.
SELECT run_id, finished_at, layout, missing_tables
FROM etl_runs
WHERE status = 'succeeded'
ORDER BY finished_at DESC
LIMIT 1
