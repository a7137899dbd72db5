    SUM(forecast_quantity) AS forecast_quantity,
    SUM(sold_quantity) AS sold_quantity,
    SUM(net_error) AS net_error,
    SUM(abs_error) AS abs_error
