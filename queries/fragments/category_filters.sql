    AND (CAST(:division AS VARCHAR) IS NULL OR division = :division)
    AND (CAST(:segment AS VARCHAR) IS NULL OR segment = :segment)
    AND (CAST(:category AS VARCHAR) IS NULL OR category = :category)
