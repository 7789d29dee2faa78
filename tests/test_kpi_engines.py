"""kpi_tree on polars, DuckDB, Dask and PySpark gives the pandas path's result.

Non-pandas inputs are aggregated inside their engine (through narwhals); only the
per-period (and group) aggregates are collected. Every case here is compared with the
pandas path on the same data, ``.wide`` and ``.total``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from engines import to_engine

import crm_analytics as crm
from crm_analytics import kpi
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.kpi import ECOMMERCE_TRAFFIC, Formula, KpiTree, Measure, kpi_tree

# pandas results here come from the numpy path: the engines are compared with it
pytestmark = [
    pytest.mark.usefixtures("pandas_path"),
    pytest.mark.parametrize("pandas_path", ["numpy"], indirect=True),
]

ENGINES = ["polars_lazy", "polars", "duckdb", "dask"]

# a branch (match=), a distinct count of another column, repeat buyers of a category,
# and new / returning / repeat filters on sums, counts and other distinct columns
CUSTOM = KpiTree(
    [
        Formula("sales", "sum", ("tea_sales", "other_sales")),
        Measure("tea_sales", "sum", of="net_amount", match={"category": "茶饮"}),
        Measure("other_sales", "sum", of="net_amount", match={"category": ["零食坚果"]}),
        Measure("products", "nunique", of="product_id", where="paid_or_refunded"),
        Measure("tea_repeaters", "nunique", of="customer_id", where="repeat", match={"category": "茶饮"}),
        Measure("repeaters", "nunique", of="customer_id", where="repeat"),
        Measure("new_revenue", "sum", of="net_amount", where="new"),
        Measure("returning_orders", "nunique", of="order_id", where="returning"),
        Measure("repeat_lines", "count", where="repeat"),
        Measure("repeat_items", "sum", of="quantity", where="repeat"),
        Measure("cancelled_lines", "count", where="cancelled"),
        Measure("unpaid_items", "sum", of="quantity", where="unpaid"),
        Formula("products_per_repeater", "ratio", ("products", "repeaters")),
    ],
    root="sales",
)  # fmt: skip


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    o = crm.datasets.load_sample()
    # engines without categoricals or NaT-friendly columns get plain types
    return o.assign(status=o["status"].astype(str)).drop(columns=["paid_time"])


@pytest.fixture(scope="module")
def events(orders: pd.DataFrame) -> pd.DataFrame:
    """Visits by some buyers and by visitors who never bought, over the same months."""
    rng = np.random.default_rng(7)
    n = 6000
    start = orders["order_time"].min()
    span = int((orders["order_time"].max() - start) / pd.Timedelta(seconds=1))
    buyers = orders["customer_id"].unique()
    ids = np.where(
        rng.random(n) < 0.4,
        rng.choice(buyers, n),
        np.char.add("visitor", rng.integers(0, 3000, n).astype(str)),
    )
    return pd.DataFrame(
        {
            "customer_id": ids.astype(object),
            "event_time": start + pd.to_timedelta(rng.integers(0, span, n), unit="s"),
            "event_type": rng.choice(["visit", "cart"], n, p=[0.8, 0.2]),
            "channel": rng.choice(orders["channel"].unique(), n),
        }
    )


@pytest.fixture(scope="module")
def null_groups(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders where every 7th row has no channel: a null group is a group."""
    out = orders.copy()
    out["channel"] = out["channel"].astype(object)
    out.loc[out.index[::7], "channel"] = None
    return out


def _same(got: kpi.KpiResult, want: kpi.KpiResult, what: str) -> None:
    for attr in ("wide", "total"):
        pd.testing.assert_frame_equal(
            getattr(got, attr),
            getattr(want, attr),
            check_dtype=False,
            check_index_type=False,
            obj=f"{what}: .{attr}",
        )


CASES: dict[str, dict[str, Any]] = {
    "month": {},
    "quarter by channel": {"period": "Q", "by": "channel"},
    "year by category": {"period": "Y", "by": "category"},
    "week, as_of": {"period": "W", "as_of": "2024-06-15 12:00"},
    "day by channel, as_of": {"period": "D", "by": "channel", "as_of": "2024-03-31"},
    "custom tree": {"tree": CUSTOM},
    "custom tree by channel, weeks": {"tree": CUSTOM, "by": "channel", "period": "W"},
}
SHORT = ("quarter by channel", "day by channel, as_of", "custom tree by channel, weeks")


@pytest.mark.parametrize("engine", ENGINES)
def test_every_case_matches_pandas(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    for name, kwargs in CASES.items():
        if engine in ("polars", "dask") and name not in SHORT:
            continue  # the same engine code as polars_lazy / DuckDB; Dask plans are slow
        _same(kpi_tree(native, **kwargs), kpi_tree(orders, **kwargs), f"{name} on {engine}")


@pytest.mark.parametrize("engine", ENGINES)
def test_null_groups_match_pandas(
    engine: str, null_groups: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, null_groups, request)
    for kwargs in ({"by": "channel"}, {"by": "channel", "tree": CUSTOM, "period": "Q"}):
        got, want = kpi_tree(native, **kwargs), kpi_tree(null_groups, **kwargs)
        _same(got, want, f"null groups on {engine}")
        assert want.wide.index.get_level_values("channel").isna().any()


@pytest.mark.parametrize("engine", ENGINES)
def test_events_match_pandas(
    engine: str, orders: pd.DataFrame, events: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)
    native_events = to_engine(engine, events, request)
    want = kpi_tree(orders, events=events)
    assert want.tree is ECOMMERCE_TRAFFIC
    _same(kpi_tree(native, events=native_events), want, f"events on {engine}")
    # pandas events with orders of another engine
    _same(kpi_tree(native, events=events), want, f"pandas events on {engine}")
    tree = ECOMMERCE_TRAFFIC.replace(
        Measure("visitors", "nunique", of="customer_id", where="all", table="events",
                match={"event_type": "visit"}),
        Measure("events", "count", where="all", table="events"),
    )  # fmt: skip
    kwargs = {"tree": tree, "by": "channel", "as_of": "2024-09-30", "period": "Q"}
    _same(
        kpi_tree(native, events=native_events, **kwargs),
        kpi_tree(orders, events=events, **kwargs),
        f"events by channel on {engine}",
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_aware_times_use_the_wall_clock(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    aware = orders.assign(order_time=orders["order_time"].dt.tz_localize("Asia/Shanghai"))
    native = to_engine(engine, aware, request)
    for kwargs in ({}, {"period": "D", "as_of": "2024-05-31 23:30"}):
        got = kpi_tree(native, **kwargs)
        # the engine's own times (DuckDB and Spark keep the instant, in their time zone)
        _same(got, kpi_tree(kpi._to_pandas(native, caller="test"), **kwargs), engine)
        if engine.startswith("polars") or engine == "dask":  # these keep the zone
            _same(got, kpi_tree(orders, **kwargs), f"wall clock on {engine}")


def test_spark_matches_pandas(
    orders: pd.DataFrame, events: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    """Two calls that together cover the cases above (Spark jobs are slow to start)."""
    native = to_engine("spark", orders, request)
    # the traffic tree with the custom tree's measures on the side
    side = [n for n in CUSTOM.nodes if n.name != "sales"]
    tree = ECOMMERCE_TRAFFIC.replace(
        *side, Formula("branches", "sum", ("tea_sales", "other_sales"))
    )
    kwargs: dict[str, Any] = {"tree": tree, "by": "channel", "period": "W", "as_of": "2024-06-15"}
    _same(
        kpi_tree(native, events=to_engine("spark", events, request), **kwargs),
        kpi_tree(orders, events=events, **kwargs),
        "spark: traffic and custom measures by channel",
    )
    aware = orders.assign(order_time=orders["order_time"].dt.tz_localize("Asia/Shanghai"))
    native_aware = to_engine("spark", aware, request)
    small = KpiTree(
        [
            Formula("sales_per_customer", "ratio", ("revenue", "customers")),
            Measure("revenue", "sum", of="net_amount"),
            Measure("customers", "nunique", of="customer_id"),
        ],
        root="sales_per_customer",
    )
    _same(
        kpi_tree(native_aware, tree=small, period="D"),
        kpi_tree(kpi._to_pandas(native_aware, caller="test"), tree=small, period="D"),
        "spark: aware times",
    )


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb"])
def test_missing_values_and_optional_columns(
    engine: str, orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    gaps = orders.copy()
    gaps.loc[gaps.index[::5], "amount"] = np.nan
    gaps.loc[gaps.index[::3], "quantity"] = np.nan
    gaps.loc[gaps.index[::11], "status"] = None
    bare = orders.drop(columns=["status", "refund_amount", "quantity"])
    for frame, kwargs in (
        (gaps, {"by": "channel"}),
        (bare, {"by": "channel", "tree": CUSTOM}),
        (orders.iloc[:0], {"by": "channel"}),  # no rows: no periods
        (orders, {"as_of": "2000-01-01"}),  # nothing before as_of
    ):
        native = to_engine(engine, frame, request)
        _same(kpi_tree(native, **kwargs), kpi_tree(frame, **kwargs), f"{engine}, {kwargs}")


def test_date_columns(orders: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    days = orders.assign(order_time=orders["order_time"].dt.normalize())
    dates = pl.from_pandas(orders).with_columns(pl.col("order_time").dt.date())
    for kwargs in ({"period": "W"}, {"as_of": "2024-06-15", "by": "channel"}):
        _same(kpi_tree(dates, **kwargs), kpi_tree(days, **kwargs), f"dates, {kwargs}")


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask"])
def test_only_aggregates_are_collected(
    engine: str,
    orders: pd.DataFrame,
    events: pd.DataFrame,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    native = to_engine(engine, orders, request)
    native_events = to_engine(engine, events, request)
    to_pandas, collect = kpi._to_pandas, kpi._collect
    collected: list[int] = []

    def no_rows(frame: Any, *, caller: str) -> pd.DataFrame:
        assert isinstance(frame, pd.DataFrame), "row-level data was collected"
        return to_pandas(frame, caller=caller)

    def counted(frame: Any) -> pd.DataFrame:
        out = collect(frame)
        collected.append(len(out))
        return out

    monkeypatch.setattr(kpi, "_to_pandas", no_rows)
    monkeypatch.setattr(kpi, "_collect", counted)
    result = kpi_tree(native, by="channel", events=native_events)
    n_periods, n_keys = len(result.total), len(result.wide)
    assert collected and len(collected) == 2  # one union query per table
    # each query: a row per (period, group) per group-by, a row per period for totals
    assert max(collected) <= 3 * n_keys + 2 * n_periods
    assert max(collected) < len(orders) / 20
    collected.clear()
    n_periods = len(kpi_tree(native, tree=CUSTOM).wide)
    assert len(collected) == 1
    assert collected[0] <= 4 * n_periods  # sums and three distinct-counted columns


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb"])
def test_errors_match_pandas(
    engine: str, orders: pd.DataFrame, events: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, orders, request)

    def message(data: Any, exc: type[Exception], **kwargs: Any) -> str:
        with pytest.raises(exc) as info:
            kpi_tree(data, **kwargs)
        return str(info.value)

    for kwargs in (
        {"time_col": "date"},
        {"by": "region"},
        {"customer_col": "buyer"},
        {"tree": KpiTree([Measure("cost", "sum", of="cost")], root="cost")},
        {"tree": KpiTree([Measure("n", "count", match={"shop": "a"})], root="n")},
    ):
        want = message(orders, ColumnNotFoundError, **kwargs)
        assert message(native, ColumnNotFoundError, **kwargs) == want
    no_channel = events.drop(columns="channel")
    assert message(native, ColumnNotFoundError, events=no_channel, by="channel") == message(
        orders, ColumnNotFoundError, events=no_channel, by="channel"
    )
    bad = ECOMMERCE_TRAFFIC.replace(
        Measure("visitors", "nunique", of="customer_id", where="purchase", table="events")
    )
    assert message(native, InvalidDataError, events=events, tree=bad) == message(
        orders, InvalidDataError, events=events, tree=bad
    )
    text_times = to_engine(
        engine, orders.assign(order_time=orders["order_time"].astype(str)), request
    )
    assert "pd.to_datetime" in message(text_times, InvalidDataError)
    with pytest.raises(InvalidDataError, match="must be a DataFrame"):
        kpi_tree([1, 2, 3])


def test_pyarrow_goes_through_pandas(orders: pd.DataFrame) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(orders, preserve_index=False)
    _same(kpi_tree(table, by="channel"), kpi_tree(orders, by="channel"), "pyarrow")


def test_pandas_through_polars_matches_numpy(
    orders: pd.DataFrame, events: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas input is aggregated by polars when it is installed: the same tables."""
    pytest.importorskip("polars")
    in_engine = kpi._kpi_tree_in_engine
    runs: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        runs.append(type(args[0].to_native()).__name__)
        return in_engine(*args, **kwargs)

    monkeypatch.setattr(kpi, "_kpi_tree_in_engine", spy)
    aware = orders.assign(order_time=orders["order_time"].dt.tz_localize("Asia/Shanghai"))
    cases: list[tuple[pd.DataFrame, dict[str, Any]]] = [
        *[(orders, kwargs) for kwargs in CASES.values()],
        (orders, {"events": events, "by": "channel", "period": "W"}),
        (aware, {"period": "D", "as_of": "2024-05-31 23:30"}),
    ]
    for frame, kwargs in cases:
        monkeypatch.setattr(crm.summary, "USE_POLARS", True)
        runs.clear()
        got = kpi_tree(frame, **kwargs)
        assert runs == ["LazyFrame"], kwargs
        monkeypatch.setattr(crm.summary, "USE_POLARS", False)
        runs.clear()
        want = kpi_tree(frame, **kwargs)
        assert runs == []
        for attr in ("wide", "total"):
            pd.testing.assert_frame_equal(getattr(got, attr), getattr(want, attr), obj=attr)
    # a categorical `by` keeps its categories' order (unused ones included)
    order = ["小程序", "抖音", "淘宝", "天猫", "未用"]
    categorical = orders.assign(channel=pd.Categorical(orders["channel"], categories=order))
    for period in ("M", "W"):
        monkeypatch.setattr(crm.summary, "USE_POLARS", True)
        got = kpi_tree(categorical, by="channel", period=period)
        monkeypatch.setattr(crm.summary, "USE_POLARS", False)
        want = kpi_tree(categorical, by="channel", period=period)
        pd.testing.assert_frame_equal(got.wide, want.wide)
        pd.testing.assert_frame_equal(got.total, want.total)
    # a categorical `by` with missing values and text amounts stay on the numpy path
    # (where it puts the missing group, how it reads text money)
    monkeypatch.setattr(crm.summary, "USE_POLARS", True)
    runs.clear()
    gaps = categorical.assign(channel=categorical["channel"].where(orders.index % 7 > 0))
    kpi_tree(gaps, by="channel")
    kpi_tree(orders.assign(amount=orders["amount"].astype(str)))
    assert runs == []
