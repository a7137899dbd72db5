    -- row-level security: only the markets the user may see (NULL: every market)
    AND (CAST(:markets_in_scope AS VARCHAR) IS NULL
         OR POSITION('|' || market || '|' IN CAST(:markets_in_scope AS VARCHAR)) > 0)
