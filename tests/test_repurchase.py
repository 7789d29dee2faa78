"""Tests of crm_analytics.repurchase: rates, cohorts, time to the second purchase, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.repurchase import (
    DEFINITIONS,
    METRICS,
    cohort_table,
    interpurchase_times,
    next_purchase_window,
    repurchase_rate,
    time_to_second_purchase,
)

# every test on both paths of pandas input: run through polars, and numpy alone
pytestmark = pytest.mark.usefixtures("pandas_path")

# tiny_orders (conftest), as purchase orders; as_of = 2024-03-31 21:00 (c's unpaid order):
#   a: a1 Jan 1 10:00 (100), a2 Jan 15 (30 + 20), a3 Mar 1 (60 - 10)
#   b: b1 Feb 1 (80)                      (b2 cancelled)
#   c: c1 Mar 31 20:00 (25)               (c2 unpaid)
#   d: nothing                            (d1 fully refunded)
#   e: e1 Jan 5 10:00 (10), e2 Jan 5 18:00 (15)


def make_orders(rows) -> pd.DataFrame:
    """(order_id, customer_id, 'YYYY-MM-DD[ HH:MM]', amount[, status[, refund]]) rows."""
    full = [tuple(r) + ("paid", 0.0)[len(r) - 4 :] for r in rows]
    df = pd.DataFrame(
        full,
        columns=["order_id", "customer_id", "order_time", "amount", "status", "refund_amount"],
    )
    df["order_time"] = pd.to_datetime(df["order_time"], format="mixed")
    return df


# --- repurchase_rate, by hand ----------------------------------------------------------------
def test_customers_definition_overall(tiny_orders):
    r = repurchase_rate(tiny_orders)
    # buyers a, b, c, e; two or more orders: a (3), e (2)  -> 2 / 4
    assert r.index.tolist() == ["2024-01-01/2024-03-31"]
    assert r.iloc[0].tolist() == [4, 2, 0.5]
    assert r.columns.tolist() == ["buyers", "repeat_buyers", "repurchase_rate"]
    # purchase days: e's two orders are one day -> only a repeats: 1 / 4
    assert repurchase_rate(tiny_orders, merge_same_day=True)["repurchase_rate"].iloc[0] == 0.25


def test_customers_definition_per_month(tiny_orders):
    r = repurchase_rate(tiny_orders, period="M")
    assert isinstance(r.index, pd.PeriodIndex) and r.index.name == "period"
    # Jan: a (a1, a2), e (e1, e2) -> 2 buyers, both repeat; Feb: b once; Mar: a3, c1
    assert r["buyers"].tolist() == [2, 1, 2]
    assert r["repeat_buyers"].tolist() == [2, 0, 0]
    assert r["repurchase_rate"].tolist() == [1.0, 0.0, 0.0]
    # by day: Jan a has 2 days, e 1 day -> 1 / 2
    merged = repurchase_rate(tiny_orders, period="M", merge_same_day=True)
    assert merged["repeat_buyers"].tolist() == [1, 0, 0]


def test_orders_definition(tiny_orders):
    r = repurchase_rate(tiny_orders, definition="orders")
    # 7 purchase orders; by customers who bought before: a2, a3, e2 (18:00 after 10:00) -> 3/7
    assert r[["orders", "repeat_orders"]].iloc[0].tolist() == [7, 3]
    assert r["repurchase_rate"].iloc[0] == pytest.approx(3 / 7)
    monthly = repurchase_rate(tiny_orders, definition="orders", period="M")
    # Jan a1 a2 e1 e2 (repeat a2, e2); Feb b1; Mar a3 (repeat), c1
    assert monthly["orders"].tolist() == [4, 1, 2]
    assert monthly["repeat_orders"].tolist() == [2, 0, 1]
    # as days: a Jan 1, Jan 15, Mar 1; b Feb 1; c Mar 31; e Jan 5 -> 6 days, 2 repeats
    days = repurchase_rate(tiny_orders, definition="orders", merge_same_day=True)
    assert days[["orders", "repeat_orders"]].iloc[0].tolist() == [6, 2]


def test_orders_definition_counts_history_before_the_window():
    orders = make_orders([("1", "x", "2024-01-10", 5.0), ("2", "x", "2024-02-10", 5.0)])
    r = repurchase_rate(orders, definition="orders", period="M")
    # x's February order is a repeat although x bought nothing else in February
    assert r["repeat_orders"].tolist() == [0, 1]


def test_returning_definition():
    orders = make_orders(
        [
            ("1", "x", "2024-01-03", 5.0),
            ("2", "y", "2024-01-04", 5.0),
            ("3", "z", "2024-01-05", 5.0),
            ("4", "x", "2024-02-01", 5.0),
            ("5", "w", "2024-02-02", 5.0),
            ("6", "x", "2024-04-01", 5.0),
            ("7", "w", "2024-04-01", 5.0),
        ]
    )
    r = repurchase_rate(orders, period="M", definition="returning")
    # Jan: no previous month; Feb: of x, y, z only x is back -> 1/3; Mar: of x, w nobody
    # bought (0/2); Apr: March had no buyers -> NaN
    assert r.index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert r["previous_buyers"].tolist() == [0, 3, 2, 0]
    assert r["returning_buyers"].tolist() == [0, 1, 0, 0]
    np.testing.assert_allclose(r["repurchase_rate"], [np.nan, 1 / 3, 0.0, np.nan])


def test_first_time_definition(tiny_orders):
    r = repurchase_rate(tiny_orders, definition="first_time", period="M", window_days=30)
    # first purchases: a Jan 1, e Jan 5, b Feb 1, c Mar 31; a 30-day window is complete
    # before as_of (Mar 31) for a (Jan 31), e (Feb 4), b (Mar 2), not for c.
    # back within 30 days: a (Jan 15, 14 days), e (e2 the same day, 0 days); b never.
    assert r["first_time_buyers"].tolist() == [2, 1, 1]
    assert r["observed_buyers"].tolist() == [2, 1, 0]
    assert r["repeat_buyers"].tolist() == [2, 0, 0]
    np.testing.assert_allclose(r["repurchase_rate"], [1.0, 0.0, np.nan])
    merged = repurchase_rate(
        tiny_orders, definition="first_time", period="M", window_days=30, merge_same_day=True
    )
    assert merged["repeat_buyers"].tolist() == [1, 0, 0]  # e's second order was the same day
    # a 10-day window: a's second purchase (14 days) is too late, e's (0 days) is in time
    short = repurchase_rate(tiny_orders, definition="first_time", window_days=10)
    assert short[["first_time_buyers", "observed_buyers", "repeat_buyers"]].iloc[0].tolist() == [
        4,
        3,
        1,
    ]


def test_by_category_treats_each_group_as_a_shop():
    orders = make_orders(
        [
            ("1", "x", "2024-01-01", 5.0),
            ("1", "x", "2024-01-01", 7.0),
            ("2", "x", "2024-01-20", 5.0),
            ("3", "y", "2024-01-02", 5.0),
            ("4", "y", "2024-01-25", 5.0),
        ]
    )
    orders["category"] = ["tea", "snack", "tea", "tea", "snack"]
    r = repurchase_rate(orders, by="category")
    # snack: x (order 1), y (order 4) -> no repeat; tea: x (1, 2) repeat, y (3) once
    assert r.index.tolist() == ["snack", "tea"] and r.index.name == "category"
    assert r["buyers"].tolist() == [2, 2]
    assert r["repeat_buyers"].tolist() == [0, 1]
    both = repurchase_rate(orders, by="category", period="M")
    assert both.index.names == ["period", "category"]
    assert both["repeat_buyers"].tolist() == [0, 1]


def test_as_of_ignores_later_orders_and_keeps_empty_periods(tiny_orders):
    r = repurchase_rate(tiny_orders, period="M", as_of="2024-04-30")
    # April has no buyers: a row with 0 buyers and a NaN rate (not 0%)
    assert r["buyers"].tolist() == [2, 1, 2, 0]
    assert np.isnan(r["repurchase_rate"].iloc[-1])
    early = repurchase_rate(tiny_orders, as_of="2024-01-10")
    # up to Jan 10: a1, e1, e2 -> buyers a, e; e repeats
    assert early[["buyers", "repeat_buyers"]].iloc[0].tolist() == [2, 1]


def test_refunds_are_not_repeat_purchases():
    orders = make_orders(
        [
            ("1", "x", "2024-01-01 10:00", 50.0),
            ("2", "x", "2024-01-01 23:30", 50.0, "paid", 50.0),  # fully refunded
            ("3", "x", "2024-01-02 00:30", 40.0, "refunded", 40.0),
            ("4", "y", "2024-01-01", 30.0),
            ("5", "y", "2024-01-03", 30.0, "paid", 10.0),  # partial refund: a purchase
        ]
    )
    r = repurchase_rate(orders)
    assert r[["buyers", "repeat_buyers"]].iloc[0].tolist() == [2, 1]  # only y
    t = time_to_second_purchase(orders).customers
    assert pd.isna(t.loc["x", "days_to_second"]) and t.loc["y", "days_to_second"] == 2


def test_same_day_across_midnight_is_two_days():
    # local times: 23:30 and 00:30 are two calendar days of the shop
    orders = make_orders([("1", "x", "2024-01-01 23:30", 5.0), ("2", "x", "2024-01-02 00:30", 5.0)])
    assert repurchase_rate(orders, merge_same_day=True)["repeat_buyers"].iloc[0] == 1


def test_aware_times_keep_their_wall_clock():
    orders = make_orders([("1", "x", "2024-01-01 23:30", 5.0), ("2", "x", "2024-01-02 00:30", 5.0)])
    orders["order_time"] = orders["order_time"].dt.tz_localize("Asia/Shanghai")
    assert repurchase_rate(orders, merge_same_day=True)["repeat_buyers"].iloc[0] == 1


# --- cohort_table, by hand -------------------------------------------------------------------
def test_cohort_retention(tiny_orders):
    t = cohort_table(tiny_orders)
    # cohorts: Jan (a, e), Feb (b), Mar (c). Jan: back in Feb nobody, in Mar a -> 1/2.
    # Feb: Mar nobody. Cells after March (as_of) are not observed -> NaN.
    expected = np.array([[1.0, 0.0, 0.5], [1.0, 0.0, np.nan], [1.0, np.nan, np.nan]])
    np.testing.assert_array_equal(t.to_numpy(), expected)
    assert t.index.name == "cohort" and t.index.astype(str).tolist() == [
        "2024-01",
        "2024-02",
        "2024-03",
    ]
    assert t.columns.name == "periods_since_first" and t.columns.tolist() == [0, 1, 2]
    assert t.attrs == {"metric": "retention", "period": "M", "cumulative": False}


def test_cohort_counts_and_money(tiny_orders):
    customers = cohort_table(tiny_orders, metric="customers")
    assert customers.dtypes.unique().tolist() == [pd.Int64Dtype()]
    assert customers.iloc[0].tolist() == [2, 0, 1]
    assert customers.iloc[2].isna().tolist() == [False, True, True]
    orders = cohort_table(tiny_orders, metric="orders")
    assert orders.iloc[0].tolist() == [4, 0, 1]  # Jan: a1 a2 e1 e2; Mar: a3
    revenue = cohort_table(tiny_orders, metric="revenue")
    # Jan cohort in Jan: 100 + (30 + 20) + 10 + 15 = 175; in Mar: 60 - 10 = 50
    np.testing.assert_array_equal(revenue.iloc[0], [175.0, 0.0, 50.0])
    np.testing.assert_array_equal(revenue.iloc[1], [80.0, 0.0, np.nan])
    per = cohort_table(tiny_orders, metric="revenue_per_customer")
    np.testing.assert_array_equal(per.iloc[0], [87.5, 0.0, 25.0])  # / 2 customers
    cum = cohort_table(tiny_orders, metric="revenue_per_customer", cumulative=True)
    np.testing.assert_array_equal(cum.iloc[0], [87.5, 87.5, 112.5])
    assert np.isnan(cum.iloc[1, 2])


def test_cohort_cumulative_customers_count_returns():
    orders = make_orders(
        [
            ("1", "x", "2024-01-05", 5.0),
            ("2", "y", "2024-01-06", 5.0),
            ("3", "z", "2024-01-07", 5.0),
            ("4", "x", "2024-02-05", 5.0),
            ("5", "y", "2024-03-05", 5.0),
            ("6", "x", "2024-03-06", 5.0),
        ]
    )
    plain = cohort_table(orders, metric="customers")
    assert plain.iloc[0].tolist() == [3, 1, 2]  # Feb: x; Mar: x, y
    cum = cohort_table(orders, metric="retention", cumulative=True)
    # came back by Feb: x (1/3); by Mar: x, y (2/3); x counted once
    np.testing.assert_allclose(cum.iloc[0], [1.0, 1 / 3, 2 / 3])


def test_cohort_periods_weeks_and_quarters(tiny_orders):
    weeks = cohort_table(tiny_orders, period="W", metric="customers")
    # weeks start on Monday: Jan 1 and Jan 5 2024 are in the week of Mon Jan 1
    assert str(weeks.index[0]) == "2024-01-01/2024-01-07"
    assert weeks.iloc[0, 0] == 2
    # a's Jan 15 order is two weeks later
    assert weeks.iloc[0, 2] == 1
    quarters = cohort_table(tiny_orders, period="Q")
    assert quarters.shape == (1, 1) and quarters.iloc[0, 0] == 1.0


def test_cohort_without_new_customers_has_empty_row():
    orders = make_orders([("1", "x", "2024-01-05", 5.0), ("2", "y", "2024-03-05", 5.0)])
    t = cohort_table(orders)
    assert t.index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03"]
    assert t.iloc[1].isna().all()  # no February cohort: retention undefined
    assert cohort_table(orders, metric="customers").iloc[1, 0] == 0


# --- timing -----------------------------------------------------------------------------------
def test_time_to_second_purchase(tiny_orders):
    res = time_to_second_purchase(tiny_orders, within_days=(10, 30))
    c = res.customers
    assert c.index.tolist() == ["a", "b", "c", "e"]
    # a: Jan 1 -> Jan 15 = 14 days; e: e2 the same day = 0; b, c none
    assert c["days_to_second"].tolist() == [14, pd.NA, pd.NA, 0]
    # observed: Jan 1 -> Mar 31 = 90, Feb 1 -> Mar 31 = 29 + 30 = 59, 0, Jan 5 -> Mar 31 = 86
    assert c["days_observed"].tolist() == [90, 59, 0, 86]
    assert c.loc["a", "second_purchase"] == pd.Timestamp("2024-01-15 09:00")
    s = res.summary
    assert (s["customers"], s["repeat_customers"], s["repeat_share"]) == (4, 2, 0.5)
    assert s["median_days"] == 7.0 and s["mean_days"] == 7.0  # of 14 and 0
    # within 10 days: observed >= 10 are a, b, e; in time e only -> 1/3; within 30: a, e -> 2/3
    assert s["within_10_days"] == pytest.approx(1 / 3)
    assert s["within_30_days"] == pytest.approx(2 / 3)
    assert "2 bought a second time (50.0%)" in repr(res)
    merged = time_to_second_purchase(tiny_orders, merge_same_day=True).customers
    assert pd.isna(merged.loc["e", "days_to_second"])


def test_interpurchase_times(tiny_orders):
    t = interpurchase_times(tiny_orders)
    # a: Jan 1 -> Jan 15 = 14, Jan 15 -> Mar 1 = 16 + 29 + 1 = 46 -> median 30, mean 30
    assert t.loc["a"].tolist() == [3, 30.0, 30.0]
    assert t.loc["e"].tolist() == [2, 0.0, 0.0]
    assert t.loc["b", "n_purchases"] == 1 and np.isnan(t.loc["b", "median_gap_days"])
    assert t["n_purchases"].dtype == "int64"
    merged = interpurchase_times(tiny_orders, merge_same_day=True)
    assert merged.loc["e", "n_purchases"] == 1


def test_next_purchase_window(tiny_orders):
    w = next_purchase_window(tiny_orders)
    # purchase days: gaps a 14 and 46; e's two orders are one day (no gap)
    assert w.loc["all"].tolist() == [1, 2, 30.0, 46.0]  # 80% of 2 gaps -> the 2nd smallest
    assert next_purchase_window(tiny_orders, quantile=0.5).loc["all", "window_days"] == 14
    orders_too = next_purchase_window(tiny_orders, merge_same_day=False)
    assert orders_too.loc["all", "repeat_purchases"] == 3  # plus e's 0-day gap


def test_next_purchase_window_by_category():
    orders = make_orders(
        [
            (str(i), c, d, 5.0)
            for i, (c, d) in enumerate(
                [
                    ("x", "2024-01-01"),
                    ("x", "2024-01-11"),
                    ("x", "2024-01-31"),
                    ("y", "2024-01-01"),
                    ("y", "2024-03-01"),
                    ("z", "2024-01-01"),
                ]
            )
        ]
    )
    orders["category"] = ["tea", "tea", "tea", "tea", "tea", "snack"]
    w = next_purchase_window(orders, by="category", quantile=0.6)
    # tea gaps 10, 20 (x) and 60 (y): 60% of 3 -> ceil(1.8) = 2nd smallest = 20
    assert w.index.tolist() == ["snack", "tea"]
    assert w.loc["tea"].tolist() == [2, 3, 20.0, 20.0]
    assert w.loc["snack", "repeat_purchases"] == 0 and np.isnan(w.loc["snack", "window_days"])


# --- engines ----------------------------------------------------------------------------------
def test_polars_and_duckdb_give_the_pandas_results(tiny_orders):
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    frames = [pl.from_pandas(tiny_orders), pl.from_pandas(tiny_orders).lazy()]
    frames.append(duckdb.from_df(tiny_orders))
    for other in frames:
        pd.testing.assert_frame_equal(
            cohort_table(other, metric="revenue"), cohort_table(tiny_orders, metric="revenue")
        )
        pd.testing.assert_frame_equal(
            repurchase_rate(other, period="M", definition="orders"),
            repurchase_rate(tiny_orders, period="M", definition="orders"),
        )
        pd.testing.assert_frame_equal(
            interpurchase_times(other), interpurchase_times(tiny_orders), check_index_type=False
        )


# --- errors -----------------------------------------------------------------------------------
def test_errors_name_the_problem_and_the_fix(tiny_orders):
    with pytest.raises(ColumnNotFoundError, match=r"Hint: pass time_col='order_time'"):
        cohort_table(tiny_orders, time_col="order_date")
    with pytest.raises(ColumnNotFoundError, match=r"'segment' \(by\) not found"):
        repurchase_rate(tiny_orders, by="segment")
    text = tiny_orders.assign(order_time=tiny_orders["order_time"].astype(str))
    with pytest.raises(InvalidDataError, match=r"pd\.to_datetime\(orders\['order_time'\]"):
        repurchase_rate(text)
    with pytest.raises(InvalidDataError, match="Hint: pass period='M'"):
        repurchase_rate(tiny_orders, definition="returning")
    with pytest.raises(InvalidDataError, match=r"Choose one of \['customers', 'orders'"):
        repurchase_rate(tiny_orders, definition="buyers")
    with pytest.raises(InvalidDataError, match="metric='ltv' is not supported"):
        cohort_table(tiny_orders, metric="ltv")
    with pytest.raises(InvalidDataError, match="quantile=0.8 covers 80%"):
        next_purchase_window(tiny_orders, quantile=80)
    with pytest.raises(InvalidDataError, match="window_days must be a whole number"):
        repurchase_rate(tiny_orders, definition="first_time", window_days=0)
    with pytest.raises(InvalidDataError, match=r"pd\.to_numeric"):
        cohort_table(tiny_orders.assign(amount=tiny_orders["amount"].astype(str)))
    with pytest.raises(InvalidDataError, match="as_of='soon' is not a date"):
        cohort_table(tiny_orders, as_of="soon")


def test_custom_column_names(tiny_orders):
    renamed = tiny_orders.rename(columns={"customer_id": "buyer", "order_time": "t"})
    r = interpurchase_times(renamed, customer_col="buyer", time_col="t")
    assert r.index.name == "buyer"
    pd.testing.assert_frame_equal(r, interpurchase_times(tiny_orders).rename_axis("buyer"))


def test_sample_shop_is_consistent_with_the_summary():
    orders = crm.datasets.load_sample()
    summary = crm.customer_summary(orders)
    sizes = cohort_table(orders, metric="customers")[0]
    assert int(sizes.sum()) == len(summary)
    overall = repurchase_rate(orders)
    assert overall["repeat_buyers"].iloc[0] == int((summary["n_orders"] >= 2).sum())
    by_day = repurchase_rate(orders, merge_same_day=True)
    assert by_day["repeat_buyers"].iloc[0] == int((summary["frequency"] >= 1).sum())
    gaps = interpurchase_times(orders)
    pd.testing.assert_series_equal(gaps["n_purchases"], summary["n_orders"], check_names=False)


# --- properties ------------------------------------------------------------------------------
@st.composite
def order_frames(draw):
    n = draw(st.integers(1, 30))
    rows = []
    for i in range(n):
        customer = draw(st.sampled_from(["a", "b", "c", "d", "e"]))
        day = draw(st.integers(0, 120))
        hour = draw(st.integers(0, 23))
        status = draw(st.sampled_from(["paid", "paid", "paid", "unpaid", "refunded"]))
        amount = draw(st.sampled_from([10.0, 25.0, 40.0]))
        refund = draw(st.sampled_from([0.0, 0.0, 5.0, amount]))
        order = f"o{i}" if draw(st.booleans()) else f"o{max(i - 1, 0)}"
        rows.append((order, customer, day, hour, amount, status, refund))
    df = pd.DataFrame(
        rows,
        columns=["order_id", "customer_id", "day", "hour", "amount", "status", "refund_amount"],
    )
    df["order_time"] = (
        pd.Timestamp("2024-01-01")
        + pd.to_timedelta(df.pop("day"), unit="D")
        + pd.to_timedelta(df.pop("hour"), unit="h")
    )
    # one customer per order id, as in real exports
    df["customer_id"] = df.groupby("order_id")["customer_id"].transform("first")
    return df


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=order_frames(), period=st.sampled_from(["W", "M", "Q"]))
def test_cohort_properties(orders, period):
    before = orders.copy()
    buyers = len(crm.customer_summary(orders))
    sizes = cohort_table(orders, period=period, metric="customers")
    retention = cohort_table(orders, period=period)
    pd.testing.assert_frame_equal(orders, before)  # no mutation
    if buyers == 0:
        assert sizes.empty or int(sizes[0].sum()) == 0
        return
    assert int(sizes[0].sum()) == buyers
    filled = retention[0][sizes[0] > 0]
    assert (filled == 1.0).all()
    values = retention.to_numpy()
    assert ((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1)).all()
    # cells past as_of are NaN: the last cohort has only its period 0
    assert retention.iloc[-1, 1:].isna().all()
    shuffled = orders.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(cohort_table(shuffled, period=period), retention)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    orders=order_frames(),
    definition=st.sampled_from(DEFINITIONS),
    period=st.sampled_from(["W", "M"]),
    by=st.sampled_from([None, "status"]),
    merge=st.booleans(),
)
def test_rate_properties(orders, definition, period, by, merge):
    before = orders.copy()
    r = repurchase_rate(
        orders, definition=definition, period=period, by=by, merge_same_day=merge, window_days=20
    )
    pd.testing.assert_frame_equal(orders, before)
    rate = r["repurchase_rate"].to_numpy()
    ok = ~np.isnan(rate)
    assert ((rate[ok] >= 0) & (rate[ok] <= 1)).all()
    counts = r.drop(columns="repurchase_rate")
    assert (counts.to_numpy() >= 0).all()
    shuffled = orders.sample(frac=1.0, random_state=2).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        repurchase_rate(
            shuffled,
            definition=definition,
            period=period,
            by=by,
            merge_same_day=merge,
            window_days=20,
        ),
        r,
    )


@settings(max_examples=40, deadline=None)
@given(orders=order_frames())
def test_gap_properties(orders):
    before = orders.copy()
    gaps = interpurchase_times(orders)
    second = time_to_second_purchase(orders).customers
    window = next_purchase_window(orders, merge_same_day=False)
    pd.testing.assert_frame_equal(orders, before)
    assert gaps.index.equals(second.index)
    repeat = gaps["n_purchases"] >= 2
    assert (second["days_to_second"].notna() <= repeat).all()
    assert int((gaps["n_purchases"] - 1).sum()) == window.loc["all", "repeat_purchases"]
    assert (gaps["median_gap_days"].dropna() >= 0).all()


def test_metrics_are_listed():
    assert set(METRICS) == {"retention", "customers", "revenue", "orders", "revenue_per_customer"}
