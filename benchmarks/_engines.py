"""A pandas table as engine frames, for the ``--engines`` cases of the scripts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def engine_frames(orders: pd.DataFrame) -> dict[str, tuple[object, Callable[[], pd.DataFrame]]]:
    """``{name: (native frame, collect to pandas)}`` for polars (lazy) and a DuckDB table.

    An engine that is not installed is left out.
    """
    engines: dict[str, tuple[object, Callable[[], pd.DataFrame]]] = {}
    try:
        import polars as pl

        frame = pl.from_pandas(orders)
        engines["polars LazyFrame"] = (frame.lazy(), lambda: frame.lazy().collect().to_pandas())
    except ImportError:
        pass
    try:
        import duckdb

        con = duckdb.connect()
        con.register("orders_df", orders)
        con.execute("CREATE TABLE orders AS SELECT * FROM orders_df")
        engines["DuckDB table"] = (con.table("orders"), lambda: con.table("orders").df())
    except ImportError:
        pass
    return engines
