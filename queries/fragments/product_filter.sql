    AND (CAST(:product AS VARCHAR) IS NULL OR product_code = :product)
