-- per_year's rows with the value of the measure chosen by :by, for ranking
valued AS (
    SELECT per_year.*,
    -- include: chosen_measure.sql
           AS measure_value
    FROM per_year
),
