"""Test helper: a pandas frame as the frame of a named engine."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest


def to_engine(engine: str, frame: pd.DataFrame, request: pytest.FixtureRequest) -> Any:
    """``frame`` as a polars LazyFrame (``"polars_lazy"``) or DataFrame (``"polars"``), a
    DuckDB relation, a Dask DataFrame in three partitions or a PySpark DataFrame (from
    the ``spark`` fixture); skips the test when the engine is not installed."""
    if engine in ("polars_lazy", "polars"):
        pl = pytest.importorskip("polars")
        out = pl.from_pandas(frame)
        return out.lazy() if engine == "polars_lazy" else out
    if engine == "duckdb":
        return pytest.importorskip("duckdb").from_df(frame)
    if engine == "dask":
        return pytest.importorskip("dask.dataframe").from_pandas(frame, npartitions=3)
    if engine == "spark":
        return request.getfixturevalue("spark").createDataFrame(frame)
    raise ValueError(f"unknown engine {engine!r}")
