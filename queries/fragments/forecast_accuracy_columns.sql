-- this year's (t) forecast errors and accuracy against last year's (l), and the risk the net error signals
       t.forecast_quantity, t.sold_quantity, t.net_error, t.abs_error, t.abs_error_pct,
       t.forecast_accuracy, l.forecast_accuracy AS last_year_forecast_accuracy,
       CASE WHEN t.net_error > 0 THEN 'excess inventory'
            WHEN t.net_error < 0 THEN 'out of stock'
            ELSE 'balanced' END AS risk
