"""customer_summary: hand-checked values, the lifetimes oracle, engines, invariants."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError


def test_tiny_orders_by_hand(tiny_orders: pd.DataFrame) -> None:
    s = crm.customer_summary(tiny_orders)
    # d only has a refunded order: not a customer
    assert list(s.index) == ["a", "b", "c", "e"]
    assert s.index.name == "customer_id"
    assert list(s.columns) == list(crm.schema.SUMMARY_COLUMNS)
    a = s.loc["a"]
    assert a["n_orders"] == 3  # a1, a2 (two lines), a3
    assert a["n_items"] == 5  # a1 x1, a2 lines x2 and x1, a3 x1
    assert a["monetary_total"] == 200.0  # 100 + 30 + 20 + (60 - 10)
    assert a["avg_order_value"] == pytest.approx(200 / 3)
    # as_of = 2024-03-31 (c's unpaid order at 21:00 is the latest row)
    assert a["days_since_last"] == 30  # 2024-03-01 -> 2024-03-31
    assert a["frequency"] == 2  # three purchase days
    assert a["recency"] == 60  # 2024-01-01 -> 2024-03-01
    assert a["T"] == 90  # 2024-01-01 -> 2024-03-31
    assert a["monetary_value"] == pytest.approx((50 + 50) / 2)  # repeat days: 50 and 50
    b = s.loc["b"]
    assert (b["n_orders"], b["monetary_total"], b["frequency"], b["monetary_value"]) == (
        1,
        80.0,
        0,
        0.0,
    )
    c = s.loc["c"]
    assert (c["days_since_last"], c["T"], c["recency"]) == (0, 0.0, 0.0)
    e = s.loc["e"]
    # two orders on one day: two orders, one purchase period, no repeat
    assert (e["n_orders"], e["frequency"], e["monetary_total"]) == (2, 0.0, 25.0)


def test_n_items_without_quantity_counts_rows(tiny_orders: pd.DataFrame) -> None:
    no_quantity = crm.customer_summary(tiny_orders.drop(columns="quantity"))
    assert no_quantity.loc["a", "n_items"] == 4  # one item per row


def test_weeks(tiny_orders: pd.DataFrame) -> None:
    s = crm.customer_summary(tiny_orders, freq="W")
    # a: weeks starting 2024-01-01 (Mon), 2024-01-15, 2024-02-26; as_of 2024-03-31 is in
    # the week starting 2024-03-25: recency (2024-02-26 - 2024-01-01) / 7 = 8, T = 12
    assert s.loc["a", ["frequency", "recency", "T"]].tolist() == [2.0, 8.0, 12.0]


def test_as_of_truncates_later_purchases(tiny_orders: pd.DataFrame) -> None:
    s = crm.customer_summary(tiny_orders, as_of="2024-01-31")
    assert list(s.index) == ["a", "e"]
    assert s.loc["a", "n_orders"] == 2
    assert s.loc["a", "T"] == 30
    assert s.loc["a", "days_since_last"] == 16  # 2024-01-15 -> 2024-01-31


def test_without_status_or_refund_columns_every_row_is_a_purchase(
    tiny_orders: pd.DataFrame,
) -> None:
    bare = tiny_orders.drop(columns=["status", "refund_amount"])
    s = crm.customer_summary(bare)
    assert "d" in s.index
    assert s.loc["a", "monetary_total"] == 210.0


def test_custom_column_names_keep_the_callers_key_name(tiny_orders: pd.DataFrame) -> None:
    renamed = tiny_orders.rename(
        columns={"customer_id": "buyer", "order_time": "ts", "amount": "paid", "order_id": "no"}
    )
    s = crm.customer_summary(
        renamed, customer_col="buyer", time_col="ts", amount_col="paid", order_col="no"
    )
    assert s.index.name == "buyer"
    pd.testing.assert_frame_equal(
        s.rename_axis("customer_id"), crm.customer_summary(tiny_orders), check_names=True
    )


def test_input_not_mutated_and_row_order_irrelevant(tiny_orders: pd.DataFrame) -> None:
    before = tiny_orders.copy(deep=True)
    s = crm.customer_summary(tiny_orders)
    pd.testing.assert_frame_equal(tiny_orders, before)
    shuffled = tiny_orders.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(crm.customer_summary(shuffled), s)


def test_missing_column_error_lists_columns_and_hint(tiny_orders: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        crm.customer_summary(tiny_orders, time_col="order_dt")
    message = str(info.value)
    assert "column 'order_dt' (time_col) not found in `orders`" in message
    assert "Available columns: ['order_id', 'customer_id', 'order_time'" in message
    assert "Hint: pass time_col='order_time'." in message


def test_string_times_error_shows_the_fix(tiny_orders: pd.DataFrame) -> None:
    as_text = tiny_orders.assign(order_time=tiny_orders["order_time"].astype(str))
    with pytest.raises(InvalidDataError, match=r"must be datetime64.*\n.*crm.read_orders\(path\)"):
        crm.customer_summary(as_text)


def test_bad_freq() -> None:
    with pytest.raises(InvalidDataError, match="freq='M' is not supported"):
        crm.customer_summary(pd.DataFrame(), freq="M")


def test_tz_aware_times_count_days_in_their_zone() -> None:
    # 23:30 and 00:30 in Shanghai: two local days (one day in UTC)
    local = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:30"]).tz_localize("Asia/Shanghai")
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["a", "a"],
            "order_time": local,
            "amount": [1.0, 1.0],
        }
    )
    assert crm.customer_summary(orders)["frequency"].iloc[0] == 1.0


# --------------------------------------------------------------------------- lifetimes oracle
def _lifetimes_summary(orders: pd.DataFrame, freq: str) -> pd.DataFrame:
    with warnings.catch_warnings():  # lifetimes' import changes warning filters
        from lifetimes.utils import summary_data_from_transaction_data

        return summary_data_from_transaction_data(
            orders, "customer_id", "order_time", "amount", freq=freq
        ).sort_index()


@pytest.mark.parametrize("freq", ["D", "W"])
def test_btyd_columns_equal_lifetimes_on_cdnow(freq: str) -> None:
    orders = crm.datasets.load_cdnow("master")
    ours = crm.customer_summary(orders, freq=freq)
    theirs = _lifetimes_summary(orders, freq)
    assert len(ours) == len(theirs) == 23_570
    assert list(ours.index) == list(theirs.index)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy())
    np.testing.assert_allclose(
        ours["monetary_value"], theirs["monetary_value"], rtol=1e-12, atol=1e-9
    )


# --------------------------------------------------------------------------- engines
def _engines(orders: pd.DataFrame) -> dict[str, object]:
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    frame = orders.assign(status=orders["status"].astype(str))
    return {
        "polars": pl.from_pandas(frame),
        "polars-lazy": pl.from_pandas(frame).lazy(),
        "duckdb": duckdb.from_df(frame),
    }


def test_engines_give_the_same_summary_on_the_sample() -> None:
    orders = crm.datasets.load_sample()
    expected = crm.customer_summary(orders)
    for name, native in _engines(orders).items():
        got = crm.customer_summary(native)
        pd.testing.assert_frame_equal(
            got, expected, check_dtype=False, check_index_type=False, obj=name
        )


def test_engines_weekly_with_as_of(tiny_orders: pd.DataFrame) -> None:
    expected = crm.customer_summary(tiny_orders, freq="W", as_of="2024-03-15")
    for name, native in _engines(tiny_orders).items():
        got = crm.customer_summary(native, freq="W", as_of="2024-03-15")
        pd.testing.assert_frame_equal(
            got, expected, check_dtype=False, check_index_type=False, obj=name
        )


# --------------------------------------------------------------------------- properties
_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 400),  # day offset
        st.integers(0, 86_399),  # second of day
        st.floats(0, 500, allow_nan=False),
        st.sampled_from(["paid", "paid", "paid", "unpaid", "cancelled", "refunded"]),
        st.floats(0, 1),  # refunded share
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(_rows)
def test_summary_invariants(rows: list[tuple]) -> None:
    start = pd.Timestamp("2023-01-01")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "order_time": [start + pd.Timedelta(days=r[1], seconds=r[2]) for r in rows],
            "amount": [round(r[3], 2) for r in rows],
            "status": [r[4] for r in rows],
            "refund_amount": [
                round(r[3] * r[5], 2) if r[4] in ("paid", "refunded") else 0.0 for r in rows
            ],
            "quantity": [r[6] for r in rows],
        }
    )
    s = crm.customer_summary(orders)
    purchase = (orders["status"] == "paid") & ~(
        (orders["refund_amount"] > 0) & (orders["refund_amount"] >= orders["amount"])
    )
    bought = orders[purchase]
    assert set(s.index) == set(bought["customer_id"])
    assert (s["recency"] <= s["T"]).all()
    assert (s["frequency"] <= s["n_orders"] - 1).all()
    assert (s["days_since_last"] >= 0).all()
    assert (s["frequency"] >= 0).all() and (s["n_orders"] >= 1).all()
    net = (bought["amount"] - bought["refund_amount"]).groupby(bought["customer_id"]).sum()
    np.testing.assert_allclose(s["monetary_total"], net.reindex(s.index), rtol=1e-9, atol=1e-9)
    assert s.loc[s["frequency"] == 0, "monetary_value"].eq(0).all()
    assert (s["first_purchase"] <= s["last_purchase"]).all()
    # row order never matters
    pd.testing.assert_frame_equal(crm.customer_summary(orders.iloc[::-1]), s)


def test_dates_before_1970_and_far_apart() -> None:
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "a", "b", "b"],
            "order_time": pd.to_datetime(["1960-01-01", "1960-01-02", "1959-12-31", "2024-01-01"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    s = crm.customer_summary(orders)
    assert s["frequency"].tolist() == [1.0, 1.0]
    assert s.loc["a", "recency"] == 1.0
    assert s.loc["b", "recency"] == (pd.Timestamp("2024-01-01") - pd.Timestamp("1959-12-31")).days
    assert s["monetary_value"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize("freq", ["D", "W"])
def test_pandas_path_equals_the_polars_accelerated_path(
    monkeypatch: pytest.MonkeyPatch, freq: str
) -> None:
    pytest.importorskip("polars")
    orders = crm.datasets.load_sample()
    lines = pd.concat(
        [orders, crm.datasets.load_cdnow("sample").assign(order_id=lambda d: "x" + d["order_id"])]
    )
    accelerated = crm.customer_summary(lines, freq=freq)
    monkeypatch.setattr(crm.summary, "USE_POLARS", False)
    plain = crm.customer_summary(lines, freq=freq)
    pd.testing.assert_frame_equal(plain, accelerated)


# --------------------------------------------------------------------------- cluster engines
def _plain(orders: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "order_id",
        "customer_id",
        "order_time",
        "amount",
        "status",
        "refund_amount",
        "quantity",
    ]
    return orders.assign(status=orders["status"].astype(str))[cols]


@pytest.mark.parametrize("freq", ["D", "W"])
def test_pyspark_gives_the_same_summary(spark, freq: str) -> None:
    orders = crm.datasets.load_sample()
    got = crm.customer_summary(spark.createDataFrame(_plain(orders)), freq=freq, as_of="2024-10-31")
    expected = crm.customer_summary(orders, freq=freq, as_of="2024-10-31")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)


@pytest.mark.filterwarnings("ignore:Dask support is moving out of Narwhals:FutureWarning")
def test_dask_gives_the_same_summary() -> None:
    dd = pytest.importorskip("dask.dataframe")
    orders = crm.datasets.load_sample()
    got = crm.customer_summary(dd.from_pandas(_plain(orders), npartitions=3))
    pd.testing.assert_frame_equal(
        got, crm.customer_summary(orders), check_dtype=False, check_index_type=False
    )


def _calendar_times() -> pd.DataFrame:
    """Times over years 1 to 9999: random days, every day around 1970 and the two ends."""
    rng = np.random.default_rng(7)
    days = np.concatenate(
        [rng.integers(-719_162, 2_932_896, 5_000), np.arange(-800, 800), [-719_162, 2_932_896]]
    )
    seconds = rng.integers(0, 86_400, len(days)).astype("timedelta64[s]")
    return pd.DataFrame({"t": days.astype("datetime64[D]").astype("datetime64[s]") + seconds})


def _engine_days(native: object) -> tuple[np.ndarray, np.ndarray]:
    import narwhals as nw

    from crm_analytics.summary import _day_number

    frame = nw.from_native(native)
    out = frame.select(nw.col("t"), _day_number(nw.col("t"), frame.implementation).alias("d"))
    if isinstance(out, nw.LazyFrame):
        out = out.collect()
    table = out.to_pandas()
    times = pd.to_datetime(table["t"])
    if times.dt.tz is not None:  # Spark hands back its session zone (UTC here)
        times = times.dt.tz_localize(None)
    want = times.to_numpy().astype("datetime64[D]").astype(np.int64)
    return table["d"].to_numpy().astype(np.int64), want


@pytest.mark.filterwarnings("ignore:Dask support is moving out of Narwhals:FutureWarning")
@pytest.mark.parametrize("engine", ["pandas", "polars", "duckdb", "dask"])
def test_day_numbers_of_every_engine_match_the_calendar(engine: str) -> None:
    times = _calendar_times()
    if engine == "polars":
        native: object = pytest.importorskip("polars").from_pandas(times).lazy()
    elif engine == "duckdb":
        native = pytest.importorskip("duckdb").from_df(times)
    elif engine == "dask":
        native = pytest.importorskip("dask.dataframe").from_pandas(times, npartitions=2)
    else:
        native = times
    got, want = _engine_days(native)
    np.testing.assert_array_equal(got, want)


def test_day_numbers_on_spark_match_the_calendar(spark) -> None:
    got, want = _engine_days(spark.createDataFrame(_calendar_times()))
    np.testing.assert_array_equal(got, want)


def test_polars_without_min_by_takes_the_window_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("polars")
    orders = crm.datasets.load_sample()
    expected = crm.customer_summary(orders, freq="W")
    monkeypatch.setattr(crm.summary, "_polars_has_min_by", lambda: False)
    pd.testing.assert_frame_equal(crm.customer_summary(orders, freq="W"), expected)
