    CASE CAST(:dimension AS VARCHAR)
        WHEN 'region' THEN region
        WHEN 'sub_zone' THEN sub_zone
        WHEN 'market' THEN market
        WHEN 'customer' THEN customer
        WHEN 'channel' THEN channel
        WHEN 'platform' THEN platform
        WHEN 'division' THEN division
        WHEN 'segment' THEN segment
        WHEN 'category' THEN category
        WHEN 'product' THEN product
    END
