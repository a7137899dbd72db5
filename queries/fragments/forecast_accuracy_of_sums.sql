-- sums' rows (Σforecast_quantity, Σabs_error, ...) with abs_error_pct and forecast_accuracy
accuracy AS (
    SELECT sums.*,
           abs_error / NULLIF(forecast_quantity, 0) AS abs_error_pct,
           CASE WHEN forecast_quantity > 0 THEN GREATEST(0, 1 - abs_error / forecast_quantity) END AS forecast_accuracy
    FROM sums
)
