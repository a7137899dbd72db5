-- The latest successful refresh (its run id, when it finished, its layout and the optional source tables it lacked), and the latest refresh of any outcome.
-- scope: global
SELECT s.run_id, s.finished_at, s.layout, s.missing_tables,
       (SELECT r.run_id FROM etl_runs r ORDER BY r.started_at DESC LIMIT 1) AS latest_run_id
FROM etl_runs s
WHERE s.status = 'succeeded'
ORDER BY s.finished_at DESC
LIMIT 1
