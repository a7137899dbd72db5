    AND (CAST(:product AS VARCHAR) IS NULL OR product = :product OR product_code = :product)
