"""Shared fixtures: tiny hand-checked orders, Groceries, Spark, both pandas paths."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# the same examples on every run: a property that fails, fails in every run (set
# HYPOTHESIS_PROFILE=explore for fresh random examples)
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

#: The Groceries baskets (../shared/data/groceries next to the repository).
GROCERIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "groceries"


@pytest.fixture(scope="session")
def groceries() -> pd.DataFrame:
    """The Groceries baskets as order lines (skipped where the shared data is absent)."""
    path = GROCERIES / "groceries_baskets.csv"
    if not path.exists():
        pytest.skip(f"Groceries data not found at {GROCERIES} (../shared/data/groceries)")
    return pd.read_csv(path)


@pytest.fixture
def tiny_orders() -> pd.DataFrame:
    """Five customers, hand-checked (as_of = 2024-03-31, the last order).

    a: paid 2024-01-01 100, paid 2024-01-15 50 (two lines of order a2: 30 + 20),
       paid 2024-03-01 60 with refund 10                 -> 3 orders, net 200
    b: paid 2024-02-01 80, cancelled 2024-02-02 40       -> 1 order, net 80
    c: paid 2024-03-31 25, unpaid 2024-03-31 99          -> 1 order, net 25
    d: refunded 2024-01-10 70 (refund 70)                -> not a customer
    e: paid 2024-01-05 10 and 2024-01-05 15 (same day)   -> 2 orders, 1 purchase day
    """
    rows = [
        ("a1", "a", "2024-01-01 10:00", 100.0, "paid", 0.0, 1),
        ("a2", "a", "2024-01-15 09:00", 30.0, "paid", 0.0, 2),
        ("a2", "a", "2024-01-15 09:00", 20.0, "paid", 0.0, 1),
        ("a3", "a", "2024-03-01 12:00", 60.0, "paid", 10.0, 1),
        ("b1", "b", "2024-02-01 08:00", 80.0, "paid", 0.0, 1),
        ("b2", "b", "2024-02-02 08:00", 40.0, "cancelled", 0.0, 1),
        ("c1", "c", "2024-03-31 20:00", 25.0, "paid", 0.0, 1),
        ("c2", "c", "2024-03-31 21:00", 99.0, "unpaid", 0.0, 1),
        ("d1", "d", "2024-01-10 11:00", 70.0, "refunded", 70.0, 1),
        ("e1", "e", "2024-01-05 10:00", 10.0, "paid", 0.0, 1),
        ("e2", "e", "2024-01-05 18:00", 15.0, "paid", 0.0, 1),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "customer_id",
            "order_time",
            "amount",
            "status",
            "refund_amount",
            "quantity",
        ],
    )
    df["order_time"] = pd.to_datetime(df["order_time"], format="%Y-%m-%d %H:%M")
    return df


@pytest.fixture(scope="session")
def spark():
    """A local two-core Spark session (skipped when pyspark is not installed)."""
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("crm_analytics-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")  # keep naive times as written
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module", params=["through polars", "numpy"])
def pandas_path(request: pytest.FixtureRequest):
    """Run a module's tests on both paths of pandas input (``pytestmark``).

    pandas orders go through polars when it is installed (``crm.summary.USE_POLARS``);
    the numpy path runs without it. Both must give the same results.
    """
    import crm_analytics as crm

    if request.param == "through polars":
        pytest.importorskip("polars")
    before = crm.summary.USE_POLARS
    crm.summary.USE_POLARS = request.param == "through polars"
    yield request.param
    crm.summary.USE_POLARS = before
