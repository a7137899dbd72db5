    AND (CAST(:region AS VARCHAR) IS NULL OR region = :region)
    AND (CAST(:sub_zone AS VARCHAR) IS NULL OR sub_zone = :sub_zone)
    AND (CAST(:market AS VARCHAR) IS NULL OR market = :market)
    AND (CAST(:channel AS VARCHAR) IS NULL OR channel = :channel)
    AND (CAST(:platform AS VARCHAR) IS NULL OR platform = :platform)
    AND (CAST(:customer AS VARCHAR) IS NULL OR customer = :customer OR customer_code = :customer)
-- include: market_scope.sql
