"""The order-level analyses give the same results on every engine as on pandas.

polars (lazy), DuckDB, Dask and PySpark (a local two-core session) run the order-level
group-bys in the engine; only per-customer or per-period results come back as pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from engines import to_engine

import crm_analytics as crm

CALLS: dict[str, Callable[[Any], Any]] = {
    "customer_summary": lambda d: crm.customer_summary(d, as_of="2024-11-30"),
    "rfm_table": lambda d: crm.rfm_table(d),
    "repurchase_rate": lambda d: crm.repurchase.repurchase_rate(d, period="Q"),
    "repurchase_rate_returning": lambda d: crm.repurchase.repurchase_rate(
        d, period="Q", definition="returning"
    ),
    "cohort_table": lambda d: crm.repurchase.cohort_table(d, period="Q", metric="revenue"),
    "kpi_tree": lambda d: crm.kpi.kpi_tree(d, period="Q").wide,
    "churn_rate": lambda d: crm.churn.churn_rate(d, period="Q"),
    "basket_pairs": lambda d: crm.basket.frequent_itemsets(
        d, item_col="category", min_support=0.01, max_len=2
    ),
}


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    o = crm.datasets.load_sample()
    # engines without categoricals or NaT-friendly columns get plain types
    return o.assign(status=o["status"].astype(str)).drop(columns=["paid_time"])


@pytest.fixture(scope="module")
def expected(orders: pd.DataFrame) -> dict[str, Any]:
    return {name: fn(orders) for name, fn in CALLS.items()}


def _same(got: Any, want: Any, name: str) -> None:
    if name == "basket_pairs":
        key = lambda f: f.assign(itemset=f["itemset"].map(lambda s: tuple(sorted(s))))  # noqa: E731
        got = key(got).sort_values(["count", "itemset"]).reset_index(drop=True)
        want = key(want).sort_values(["count", "itemset"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_index_type=False, check_categorical=False, obj=name
    )


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask", "spark"])
def test_every_engine_matches_pandas(
    engine: str, orders: pd.DataFrame, expected: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for name, fn in CALLS.items():
        _same(fn(native), expected[name], f"{name} on {engine}")
