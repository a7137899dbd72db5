    CASE CAST(:by AS VARCHAR)
        WHEN 'sold_quantity' THEN sold_quantity
        WHEN 'gross_sales' THEN gross_sales
        WHEN 'pre_invoice_deduction' THEN pre_invoice_deduction
        WHEN 'net_invoice_sales' THEN net_invoice_sales
        WHEN 'post_invoice_discount' THEN post_invoice_discount
        WHEN 'post_invoice_other' THEN post_invoice_other
        WHEN 'net_sales' THEN net_sales
        WHEN 'freight_cost' THEN freight_cost
        WHEN 'other_cost' THEN other_cost
        WHEN 'manufacturing_cost' THEN manufacturing_cost
        WHEN 'cogs' THEN cogs
        WHEN 'gross_margin' THEN gross_margin
    END
