"""SQL over a dataset version with polars.

Every table is a lazy `scan_iceberg` pinned to the version's snapshot, so polars prunes
columns before reading: a query that does not name `content` never reads image bytes.
"""

from __future__ import annotations

import polars as pl
from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.control import Version
from lakehouse.errors import QueryError
from lakehouse.resolve import check_snapshots
from lakehouse.schema import TABLES


def lazy_tables(catalog: Catalog, version: Version) -> dict[str, pl.LazyFrame]:
    tables = iceberg.load_tables(catalog, version.dataset)
    check_snapshots(tables, version)
    return {
        name: pl.scan_iceberg(tables[name], snapshot_id=version.snapshots[name]) for name in TABLES
    }


def plan(catalog: Catalog, version: Version, query: str) -> pl.LazyFrame:
    """The lazy query plan (see `.explain()`), with every dataset table registered by name."""
    context = pl.SQLContext(lazy_tables(catalog, version), eager=False)
    try:
        return context.execute(query)
    except pl.exceptions.PolarsError as exc:
        raise QueryError(_first_line(exc)) from None


def run_sql(catalog: Catalog, version: Version, query: str) -> pl.DataFrame:
    try:
        return plan(catalog, version, query).collect()
    except pl.exceptions.PolarsError as exc:
        raise QueryError(_first_line(exc)) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"SQL error: {text[0] if text else type(exc).__name__}"
