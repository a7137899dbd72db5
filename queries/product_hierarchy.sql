-- Every product with its division, segment and category (the product filters' options).
-- scope: global
SELECT division, segment, category, product, product_code, variant
FROM dim_product
ORDER BY division, segment, category, product, product_code
