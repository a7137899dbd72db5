-- Data-quality findings of the latest refresh per table, rule and severity, with how many rows and an example.
SELECT d.run_id, d.table_name, d.rule, d.severity,
       COUNT(*) AS findings,
       MIN(d.row_key) AS example_row_key,
       MIN(d.offending_value) AS example_value,
       MIN(d.message) AS message
FROM dq_issues d
JOIN etl_runs r ON r.run_id = d.run_id
WHERE r.started_at = (SELECT MAX(started_at) FROM etl_runs)
GROUP BY d.run_id, d.table_name, d.rule, d.severity
ORDER BY CASE d.severity WHEN 'rejected' THEN 1 WHEN 'error' THEN 2 WHEN 'warning' THEN 3 ELSE 4 END,
         findings DESC, d.table_name, d.rule
