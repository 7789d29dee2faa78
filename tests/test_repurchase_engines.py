"""Repurchase rates, cohorts, time to second purchase and churn rates in the engines.

polars, DuckDB, Dask and PySpark inputs are reduced inside their engine: only one row
per (period, group) cell, per (customer, period) for churn_rate, or per customer for
time_to_second_purchase comes back. Every case is compared with the pandas path on the
same data.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from engines import to_engine

import crm_analytics as crm
from crm_analytics import churn, repurchase
from crm_analytics.churn import churn_rate, label
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.repurchase import (
    cohort_table,
    interpurchase_times,
    next_purchase_window,
    repurchase_rate,
    time_to_second_purchase,
)

# pandas results here come from the numpy path: the engines are compared with it
pytestmark = [
    pytest.mark.usefixtures("pandas_path"),
    pytest.mark.parametrize("pandas_path", ["numpy"], indirect=True),
]

ENGINES = ["polars_lazy", "polars", "duckdb", "dask"]


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """The sample orders with the awkward rows an export has.

    Every 7th row has no channel (a null group is a group), two rows have no customer
    and two no order id, and one order's lines straddle a month end and a week end.
    """
    o = crm.datasets.load_sample()
    o = o.assign(status=o["status"].astype(str), channel=o["channel"].astype(object))
    o = o.drop(columns=["paid_time"]).reset_index(drop=True)
    o.loc[o.index[::7], "channel"] = None
    o.loc[[3, 40], "customer_id"] = None
    o.loc[[5, 50], "order_id"] = None
    paid = o.index[o["status"].eq("paid")]
    split = o.loc[paid[:2]].copy()
    split["order_id"] = "split-order"
    split["customer_id"] = o.loc[paid[0], "customer_id"]
    split["order_time"] = pd.to_datetime(["2024-03-31 23:50", "2024-04-01 00:10"])
    return pd.concat([o, split], ignore_index=True)


def _same(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_index_type=False, check_categorical=False, obj=what
    )


RATES: list[dict[str, Any]] = [
    {},
    {"period": "M"},
    {"period": "W", "merge_same_day": True},
    {"by": "channel"},
    {"period": "Q", "by": "channel", "merge_same_day": True},
    {"definition": "orders"},
    {"definition": "orders", "period": "M", "by": "channel"},
    {"definition": "orders", "period": "W", "merge_same_day": True, "by": "category"},
    {"definition": "returning", "period": "M"},
    {"definition": "returning", "period": "W", "by": "channel"},
    {"definition": "first_time"},
    {"definition": "first_time", "period": "M", "window_days": 30},
    {"definition": "first_time", "period": "Q", "by": "channel", "merge_same_day": True},
    {"period": "M", "as_of": "2024-06-15 12:00"},
    {"definition": "returning", "period": "Y", "as_of": "2023-03-01"},
]

COHORTS: list[dict[str, Any]] = [
    {},
    {"period": "D", "metric": "customers", "as_of": "2023-02-15"},
    {"period": "W", "metric": "orders"},
    {"period": "Q", "metric": "revenue"},
    {"period": "Y", "metric": "revenue_per_customer"},
    {"metric": "retention", "cumulative": True},
    {"period": "Q", "metric": "customers", "cumulative": True},
    {"metric": "orders", "cumulative": True, "as_of": "2024-06-15"},
    {"period": "W", "metric": "revenue", "cumulative": True},
]

CHURN: list[dict[str, Any]] = [
    {},
    {"period": "W", "inactive_days": 30},
    {"period": "Q", "inactive_days": 90},
    {"period": "Y", "inactive_days": 400},
    {"period": "M", "inactive_days": 1, "as_of": "2024-06-15"},
    {"period": "W", "inactive_days": 1},  # purchases early in a week never reach its end
    {"period": "Q", "inactive_days": 30, "as_of": "2023-01-20"},  # no complete quarter
]


@pytest.mark.parametrize("engine", ENGINES)
def test_repurchase_rate_matches_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for kwargs in RATES:
        _same(repurchase_rate(native, **kwargs), repurchase_rate(orders, **kwargs), str(kwargs))


@pytest.mark.parametrize("engine", ENGINES)
def test_cohort_table_matches_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for kwargs in COHORTS:
        got, want = cohort_table(native, **kwargs), cohort_table(orders, **kwargs)
        _same(got, want, str(kwargs))
        assert got.attrs == want.attrs


@pytest.mark.parametrize("engine", ENGINES)
def test_time_to_second_purchase_matches_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for kwargs in ({}, {"merge_same_day": True, "within_days": (7, 400)}, {"as_of": "2023-06-30"}):
        got, want = (
            time_to_second_purchase(native, **kwargs),
            time_to_second_purchase(orders, **kwargs),
        )
        _same(got.customers, want.customers, str(kwargs))
        pd.testing.assert_series_equal(got.summary, want.summary, obj=str(kwargs))


@pytest.mark.parametrize("engine", ENGINES)
def test_churn_rate_matches_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for kwargs in CHURN:
        _same(churn_rate(native, **kwargs), churn_rate(orders, **kwargs), str(kwargs))


@pytest.mark.parametrize("engine", ENGINES)
def test_gap_based_calls_match_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    """interpurchase_times, next_purchase_window and label (Dask collects the orders)."""
    native = to_engine(engine, orders, request)
    for kwargs in ({}, {"merge_same_day": True}, {"as_of": "2023-09-30"}):
        _same(interpurchase_times(native, **kwargs), interpurchase_times(orders, **kwargs),
              f"interpurchase_times {kwargs}")  # fmt: skip
    for kwargs in (
        {},
        {"merge_same_day": False, "quantile": 0.5},
        {"by": "channel", "quantile": 0.9},
        {"by": "category", "merge_same_day": False, "quantile": 1.0},
    ):
        _same(next_purchase_window(native, **kwargs), next_purchase_window(orders, **kwargs),
              f"next_purchase_window {kwargs}")  # fmt: skip
    for kwargs in ({}, {"inactive_days": None, "auto_multiple": 2.5}, {"inactive_days": 90},
                   {"as_of": "2024-03-31"}):  # fmt: skip
        got, want = label(native, **kwargs), label(orders, **kwargs)
        _same(got, want, f"label {kwargs}")
        assert got.attrs == want.attrs


def test_pandas_through_polars_matches_numpy(
    orders: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas input runs through polars when it is installed: the same tables, dtypes too."""
    pytest.importorskip("polars")
    aware = orders.assign(order_time=orders["order_time"].dt.tz_localize("Asia/Shanghai"))
    categorical = orders.assign(
        channel=pd.Categorical(orders["channel"], categories=["小程序", "抖音", "淘宝", "天猫"])
    )
    calls = [
        *[lambda d, k=k: repurchase_rate(d, **k) for k in RATES],
        *[lambda d, k=k: cohort_table(d, **k) for k in COHORTS],
        *[lambda d, k=k: churn_rate(d, **k) for k in CHURN],
        lambda d: time_to_second_purchase(d).customers,
        lambda d: interpurchase_times(d, merge_same_day=True),
        lambda d: next_purchase_window(d, by="channel"),
        lambda d: label(d),
    ]
    for frame in (orders, aware, categorical):
        for i, call in enumerate(calls):
            monkeypatch.setattr(crm.summary, "USE_POLARS", True)
            got = call(frame)
            monkeypatch.setattr(crm.summary, "USE_POLARS", False)
            want = call(frame)
            pd.testing.assert_frame_equal(got, want, obj=f"call {i}")


def test_spark_matches_pandas(orders: pd.DataFrame, request: pytest.FixtureRequest) -> None:
    """One case of each function that covers the joins, the unions and the null groups."""
    native = to_engine("spark", orders, request)
    for kwargs in (
        {"definition": "orders", "period": "M", "by": "channel", "merge_same_day": True},
        {"definition": "returning", "period": "Q", "by": "channel"},
        {"definition": "first_time", "period": "M", "by": "channel"},
    ):
        _same(repurchase_rate(native, **kwargs), repurchase_rate(orders, **kwargs), str(kwargs))
    kwargs = {"period": "W", "metric": "retention", "cumulative": True}
    _same(cohort_table(native, **kwargs), cohort_table(orders, **kwargs), "cohorts")
    got, want = time_to_second_purchase(native), time_to_second_purchase(orders)
    _same(got.customers, want.customers, "time to second purchase")
    _same(interpurchase_times(native), interpurchase_times(orders), "interpurchase_times")
    kwargs = {"by": "channel", "merge_same_day": False}
    _same(next_purchase_window(native, **kwargs), next_purchase_window(orders, **kwargs), "window")
    _same(label(native), label(orders), "label")
    _same(churn_rate(native, period="W", inactive_days=60), churn_rate(orders, period="W",
          inactive_days=60), "churn_rate")  # fmt: skip


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb"])
def test_edge_inputs_match_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    bare = orders.drop(columns=["status", "refund_amount"])
    aware = orders.assign(order_time=orders["order_time"].dt.tz_localize("Asia/Shanghai"))
    calls = [
        lambda d: repurchase_rate(d, period="M", by="channel"),
        lambda d: repurchase_rate(d, definition="first_time"),
        lambda d: cohort_table(d, metric="revenue"),
        lambda d: churn_rate(d, period="M"),
    ]
    for frame in (bare, aware):
        native = to_engine(engine, frame, request)
        if engine == "duckdb":  # DuckDB keeps the instant, in its session's time zone
            frame = nw.from_native(native).collect().to_pandas()
        for call in calls:
            _same(call(native), call(frame), f"{engine}")
        got, want = time_to_second_purchase(native), time_to_second_purchase(frame)
        _same(got.customers, want.customers, f"{engine}: time to second purchase")
    # nothing bought by as_of: empty rates, one cohort row, no churn periods
    early = to_engine(engine, orders, request)
    for call in (
        lambda d: repurchase_rate(d, as_of="2000-01-01"),
        lambda d: repurchase_rate(d, period="M", as_of="2000-01-01", by="channel"),
        lambda d: repurchase_rate(d, definition="returning", period="M", as_of="2000-01-01"),
        lambda d: cohort_table(d, as_of="2000-01-01"),
        lambda d: churn_rate(d, as_of="2000-01-01"),
    ):
        _same(call(early), call(orders), f"{engine}: nothing before as_of")


def test_polars_dates_match_pandas_days(orders: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    days = orders.assign(order_time=orders["order_time"].dt.normalize())
    dates = pl.from_pandas(orders).with_columns(pl.col("order_time").dt.date())
    _same(cohort_table(dates, period="W"), cohort_table(days, period="W"), "cohorts")
    _same(churn_rate(dates, period="M"), churn_rate(days, period="M"), "churn_rate")
    kwargs = {"definition": "first_time", "period": "M"}
    _same(repurchase_rate(dates, **kwargs), repurchase_rate(days, **kwargs), "first_time")


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask"])
def test_only_cells_are_collected(
    engine: str,
    orders: pd.DataFrame,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    native = to_engine(engine, orders, request)
    collected: list[int] = []
    collect = repurchase.collect

    def counted(frame: Any) -> pd.DataFrame:
        out = collect(frame)
        collected.append(len(out))
        return out

    def no_rows(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("purchase rows were collected")

    for module in (repurchase, churn):
        monkeypatch.setattr(module, "collect", counted)
    monkeypatch.setattr(repurchase, "purchase_orders", no_rows)
    monkeypatch.setattr(churn, "purchase_orders", no_rows)
    n_groups = orders["channel"].nunique(dropna=False)
    months = 24
    for definition in ("customers", "orders", "returning", "first_time"):
        collected.clear()
        repurchase_rate(native, period="M", by="channel", definition=definition)
        # a row per (month, channel) cell; "returning" also sends the pairs seen twice
        assert collected and max(collected) <= months * n_groups, definition
    collected.clear()
    cohort_table(native, cumulative=True)
    assert max(collected) <= months * (months + 1) // 2
    collected.clear()
    customers = orders.loc[orders["status"].eq("paid"), "customer_id"].nunique()
    time_to_second_purchase(native)
    assert collected == [customers]
    if engine != "dask":  # Dask has no ordered windows: the gap-based calls collect orders
        collected.clear()
        interpurchase_times(native)
        label(native)
        assert collected[:2] == [customers, customers]  # then label's counts of each gap
        collected.clear()
        next_purchase_window(native, by="channel")
        assert max(collected) < 1000  # distinct (channel, gap) pairs
    collected.clear()
    churn_rate(native, period="W")
    if engine == "dask":  # one row per customer and week with a purchase
        assert collected and max(collected) < len(orders)
    else:  # the first purchase day, then one row per (start, end, new) of active spells
        assert collected[0] == 1 and len(collected) == 2
        assert collected[1] <= 2 * 106**2  # 105 weeks, so at most 106 boundaries


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb"])
def test_errors_match_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)

    def message(call: Any, data: Any, exc: type[Exception]) -> str:
        with pytest.raises(exc) as info:
            call(data)
        return str(info.value)

    for call in (
        lambda d: repurchase_rate(d, by="region"),
        lambda d: cohort_table(d, customer_col="buyer"),
        lambda d: churn_rate(d, time_col="date"),
        lambda d: time_to_second_purchase(d, order_col="order_no"),
    ):
        assert message(call, native, ColumnNotFoundError) == message(
            call, orders, ColumnNotFoundError
        )
    text_times = orders.assign(order_time=orders["order_time"].astype(str))
    for call in (lambda d: cohort_table(d), lambda d: churn_rate(d)):
        assert "pd.to_datetime" in message(call, to_engine(engine, text_times, request),
                                           InvalidDataError)  # fmt: skip


def test_pyarrow_and_pandas_agree(orders: pd.DataFrame) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(orders, preserve_index=False)
    _same(repurchase_rate(table, period="M"), repurchase_rate(orders, period="M"), "rate")
    _same(cohort_table(table), cohort_table(orders), "cohorts")
    _same(churn_rate(table), churn_rate(orders), "churn_rate")


def test_a_split_order_counts_once_in_its_first_period(orders: pd.DataFrame) -> None:
    """The order straddling March and April is one order, in March (its first line)."""
    pl = pytest.importorskip("polars")
    who = orders.loc[orders["order_id"].eq("split-order"), "customer_id"].iloc[0]
    mine = orders[orders["customer_id"].eq(who)]
    for data in (mine, pl.from_pandas(mine).lazy()):
        table = cohort_table(data, metric="orders", period="M")
        refunded = (mine["refund_amount"] > 0) & (mine["refund_amount"] >= mine["amount"])
        paid = mine[mine["status"].eq("paid") & mine["order_id"].notna() & ~refunded]
        assert int(np.nansum(table.to_numpy(dtype=float))) == paid["order_id"].nunique()
        cohort = table.index[0]  # one customer: the first cohort is theirs
        k = pd.Period("2024-03", "M").ordinal - cohort.ordinal
        march = paid[paid["order_time"].dt.to_period("M").eq(pd.Period("2024-03", "M"))]
        assert table.loc[cohort, k] == march["order_id"].nunique()
