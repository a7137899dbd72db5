"""BIMS named queries: one parameterised .sql file per business question.

`run(warehouse, name, **filters)` answers a question from the warehouse;
`python -m queries list | run NAME` does the same from the command line.
"""
from queries.runner import QueryError, run

__all__ = ["QueryError", "run"]
