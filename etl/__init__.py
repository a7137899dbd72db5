"""BIMS ETL: extract -> validate -> transform (PySpark) -> load into the warehouse."""
