"""Tests of campaign measurement (crm_analytics.campaign)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.campaign import response_funnel, roi, unpaid_recovery, uplift
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError, StatisticalWarning


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    return crm.datasets.load_sample(), crm.datasets.load_sample_campaign()


def _campaign() -> pd.DataFrame:
    """C1 on 2024-05-01 10:00: a, b, c treated (a clicked, b opened), d, e control."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "campaign_id": "C1",
            "group": ["treatment", "treatment", "treatment", "control", "control"],
            "sent_time": pd.to_datetime(["2024-05-01 10:00"] * 3 + [None, None]),
            "opened_time": pd.to_datetime(["2024-05-01 11:00", "2024-05-01 12:00"] + [None] * 3),
            "clicked_time": pd.to_datetime(["2024-05-01 11:01"] + [None] * 4),
        }
    )


def _orders() -> pd.DataFrame:
    rows = [
        ("1", "a", "2024-05-02 09:00", 100.0, "paid", 0.0),  # a: in window
        ("2", "a", "2024-05-03 09:00", 50.0, "paid", 10.0),  # a: in window, net 40
        ("3", "b", "2024-05-09 10:00", 70.0, "paid", 0.0),  # b: day 8, outside 7 days
        ("4", "c", "2024-05-02 09:00", 30.0, "unpaid", 0.0),  # c: not a purchase
        ("5", "d", "2024-05-01 09:00", 20.0, "paid", 0.0),  # d: before the start
        ("6", "d", "2024-05-04 09:00", 25.0, "paid", 0.0),  # d: control, in window
        ("7", "e", "2024-05-05 09:00", 40.0, "refunded", 40.0),  # e: refunded, not a purchase
        ("8", "z", "2024-05-02 09:00", 99.0, "paid", 0.0),  # z: not targeted
    ]
    df = pd.DataFrame(
        rows,
        columns=["order_id", "customer_id", "order_time", "amount", "status", "refund_amount"],
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


# --------------------------------------------------------------------------- funnel
def test_response_funnel_by_hand() -> None:
    campaign, orders = _campaign(), _orders()
    before = (campaign.copy(), orders.copy())
    f = response_funnel(campaign, orders, window_days=7)
    pd.testing.assert_frame_equal(campaign, before[0])
    pd.testing.assert_frame_equal(orders, before[1])
    assert f.index.names == ["campaign_id", "group"]
    t = f.loc[("C1", "treatment")]
    assert (t["customers"], t["sent"], t["opened"], t["clicked"]) == (3, 3, 2, 1)
    assert (t["purchased"], t["orders"], t["revenue"]) == (1, 2, 140.0)  # a: 100 + (50 - 10)
    assert t["open_rate"] == pytest.approx(2 / 3)
    assert t["click_rate"] == 0.5
    assert t["purchase_rate"] == pytest.approx(1 / 3)
    c = f.loc[("C1", "control")]
    assert (c["customers"], c["sent"], c["purchased"], c["revenue"]) == (2, 0, 1, 25.0)
    assert math.isnan(c["open_rate"])
    # b's order on day 8 counts with a 10-day window
    assert response_funnel(campaign, orders, window_days=10).loc[("C1", "treatment")][
        "purchased"
    ] == (2)


def test_funnel_on_the_sample(sample) -> None:
    orders, campaign = sample
    f = response_funnel(campaign, orders, window_days=30)
    t, c = f.loc[("WB202408", "treatment")], f.loc[("WB202408", "control")]
    assert (t["customers"], c["customers"]) == (1430, 570)
    assert (t["sent"], t["opened"], t["clicked"]) == (1430, 459, 210)
    assert c["sent"] == 0
    assert t["purchase_rate"] == pytest.approx(0.078, abs=0.002)
    assert c["purchase_rate"] == pytest.approx(0.007, abs=0.002)


def test_funnel_is_row_order_free(sample) -> None:
    orders, campaign = sample
    shuffled = response_funnel(
        campaign.sample(frac=1, random_state=1), orders.sample(frac=1, random_state=2)
    )
    pd.testing.assert_frame_equal(shuffled, response_funnel(campaign, orders))


# --------------------------------------------------------------------------- uplift
def test_planted_uplift_is_inside_the_interval(sample) -> None:
    orders, campaign = sample
    result = uplift(campaign, orders, window_days=30)
    row = result.loc["WB202408"]
    # scripts/make_sample_data.py: treated buyers place an extra order with probability
    # 0.32 × 0.45 × 0.38 (clicked) + 0.32 × 0.55 × 0.09 (opened only) + 0.68 × 0.02 (sent
    # only) = 0.08416, within 30 days; 91.4% of placed orders end up paid. Customers who
    # would have bought anyway (the control's 0.7%) cannot respond twice.
    planted = 0.08416 * 0.914 * (1 - row["control"])
    assert row["ci_low"] < planted < row["ci_high"]
    assert row["ci_low"] > 0 and row["p_value"] < 1e-6
    assert row["uplift"] == pytest.approx(row["treatment"] - row["control"])
    assert row["relative_uplift"] == pytest.approx(row["uplift"] / row["control"])
    assert (row["treatment_customers"], row["control_customers"]) == (1430, 570)
    revenue = uplift(campaign, orders, window_days=30, metric="revenue").loc["WB202408"]
    boot = uplift(
        campaign, orders, window_days=30, metric="revenue", test="bootstrap", n_boot=500
    ).loc["WB202408"]
    assert revenue["ci_low"] > 0 and boot["ci_low"] > 0
    assert boot["uplift"] == revenue["uplift"]
    assert boot["ci_low"] == pytest.approx(revenue["ci_low"], rel=0.15)


def test_conversion_interval_by_hand() -> None:
    campaign, orders = _campaign(), _orders()
    with pytest.warns(StatisticalWarning, match="fewer than 20"):
        row = uplift(campaign, orders, window_days=7).loc["C1"]
    # treatment 1/3, control 1/2
    assert row["uplift"] == pytest.approx(1 / 3 - 1 / 2)
    z = 1.959963984540054

    def wilson(x, n):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half

    (l1, u1), (l0, u0) = wilson(1, 3), wilson(1, 2)
    d = 1 / 3 - 1 / 2
    assert row["ci_low"] == pytest.approx(d - math.sqrt((1 / 3 - l1) ** 2 + (u0 - 1 / 2) ** 2))
    assert row["ci_high"] == pytest.approx(d + math.sqrt((u1 - 1 / 3) ** 2 + (1 / 2 - l0) ** 2))
    pooled = 2 / 5
    se = math.sqrt(pooled * (1 - pooled) * (1 / 3 + 1 / 2))
    assert row["p_value"] == pytest.approx(math.erfc(abs(d) / se / math.sqrt(2)))
    # orders: treatment 2 per 3, control 1 per 2 -> (2/3 - 1/2) × 3 = 0.5 incremental
    assert row["incremental_orders"] == pytest.approx(0.5)
    assert row["incremental_revenue"] == pytest.approx(140 - 12.5 * 3)


def test_revenue_welch_matches_scipy() -> None:
    from scipy import stats

    campaign, orders = _campaign(), _orders()
    with pytest.warns(StatisticalWarning):
        row = uplift(campaign, orders, metric="revenue").loc["C1"]
    t, c = np.array([140.0, 0.0, 0.0]), np.array([25.0, 0.0])
    ref = stats.ttest_ind(t, c, equal_var=False)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_interval_contains_the_estimate(x1, x0) -> None:
    from crm_analytics.campaign import _newcombe

    low, high = _newcombe(x1, 60, x0, 60, 1.96)
    d = x1 / 60 - x0 / 60
    assert -1 <= low <= d <= high <= 1
    # swapping the groups mirrors the interval
    low2, high2 = _newcombe(x0, 60, x1, 60, 1.96)
    assert (low2, high2) == pytest.approx((-high, -low))


# --------------------------------------------------------------------------- roi
def test_roi_by_hand() -> None:
    campaign, orders = _campaign(), _orders()
    r = roi(campaign, orders, margin=0.5, cost_per_message=2.0).loc["C1"]
    # attributed 140; control revenue per customer 12.5 -> incremental 140 - 37.5 = 102.5
    assert (r["sent"], r["cost"], r["attributed_revenue"]) == (3, 6.0, 140.0)
    assert r["incremental_revenue"] == pytest.approx(102.5)
    assert r["incremental_profit"] == pytest.approx(51.25)
    assert r["net_profit"] == pytest.approx(45.25)
    assert r["roi"] == pytest.approx(45.25 / 6)
    with_cost = campaign.assign(cost=[1.0, 1.0, 1.0, 0.0, 0.0])
    assert roi(with_cost, orders).loc["C1", "cost"] == 3.0


def test_roi_without_control_refuses_incremental() -> None:
    campaign = _campaign()
    treated = campaign[campaign["group"] == "treatment"]
    with pytest.warns(StatisticalWarning, match="not reported as incremental"):
        r = roi(treated, _orders(), cost_per_message=1.0).loc["C1"]
    assert r["attributed_revenue"] == 140.0
    assert math.isnan(r["incremental_revenue"]) and math.isnan(r["roi"])
    with pytest.raises(InvalidDataError, match="no control group") as info:
        uplift(treated, _orders())
    assert "hold out a random share" in str(info.value)
    with pytest.raises(InvalidDataError, match=r"cost_per_message=0.05"):
        roi(campaign, _orders())


# --------------------------------------------------------------------------- errors
def test_campaign_errors() -> None:
    campaign, orders = _campaign(), _orders()
    bad_group = campaign.assign(group=["test", "test", "test", "holdout", "control"])
    with pytest.raises(InvalidDataError, match=r"4 rows hold other values.*'test', 'holdout'"):
        response_funnel(bad_group, orders)
    with pytest.raises(InvalidDataError, match=r"repeat a \(campaign, customer\) pair"):
        response_funnel(pd.concat([campaign, campaign.iloc[:1]]), orders)
    no_start = campaign.assign(sent_time=pd.NaT)
    with pytest.raises(InvalidDataError, match="has no 'sent_time' at all"):
        response_funnel(no_start, orders)
    with pytest.raises(ColumnNotFoundError, match=r"Hint: pass campaign_col="):
        response_funnel(campaign.rename(columns={"campaign_id": "cid"}), orders)
    text = campaign.assign(sent_time=campaign["sent_time"].astype(str))
    with pytest.raises(
        InvalidDataError, match=r"(?s)must be datetime64.*crm.read_campaign.*pd.to_datetime"
    ):
        response_funnel(text, orders)
    with pytest.raises(InvalidDataError, match="window_days must be a positive"):
        response_funnel(campaign, orders, window_days=0)
    with pytest.raises(InvalidDataError, match="metric='orders' is not supported"):
        uplift(campaign, orders, metric="orders")


def test_mapped_group_values_are_accepted() -> None:
    campaign = _campaign().assign(
        group=["Treatment", " treatment", "TREATMENT", "control", "Control"]
    )
    f = response_funnel(campaign, _orders())
    assert f.loc[("C1", "treatment"), "customers"] == 3


# --------------------------------------------------------------------------- unpaid recovery
def test_unpaid_recovery_by_hand() -> None:
    orders = pd.DataFrame(
        {
            "order_id": ["u1", "u1", "p1", "u2", "u3", "p3", "u4", "u4"],
            "customer_id": ["ann", "ann", "ann", "bob", "cat", "cat", "dan", "dan"],
            "order_time": pd.to_datetime(
                [
                    "2024-05-01 10:00",
                    "2024-05-01 10:00",
                    "2024-05-01 10:20",
                    "2024-05-02 09:00",
                    "2024-05-03 08:00",
                    "2024-05-04 08:00",
                    "2024-06-01 08:00",
                    "2024-06-03 08:00",
                ]
            ),  # fmt: skip
            "amount": [30.0, 29.0, 30.0, 20.0, 35.0, 35.0, 10.0, 10.0],
            "status": ["unpaid", "unpaid", "paid", "unpaid", "unpaid", "paid", "unpaid", "paid"],
            "product_id": ["tea", "cup", "tea", "nuts", "soap", "soap", "gum", "gum"],
            "paid_time": pd.to_datetime(
                [
                    None,
                    None,
                    "2024-05-01 10:50",
                    None,
                    None,
                    "2024-05-04 09:00",
                    None,
                    "2024-06-03 08:30",
                ]
            ),  # fmt: skip
        }
    )
    # u1: ann paid p1 (same tea) at 10:50 -> 0.833 h; u2: bob never; u3: cat paid the same
    # soap 25 h later; u4: the same order id paid later (a later export) after 48.5 h
    out = unpaid_recovery(orders)
    row = out.loc["all"]
    assert (row["unpaid_orders"], row["recovered_orders"]) == (4, 3)
    assert row["recovery_rate"] == 0.75
    assert row["unpaid_amount"] == pytest.approx(59 + 20 + 35 + 10)
    assert row["recovered_amount"] == pytest.approx(59 + 35 + 10)
    assert row["median_hours_to_pay"] == pytest.approx(25.0)
    assert row["mean_hours_to_pay"] == pytest.approx((50 / 60 + 25 + 48.5) / 3)
    short = unpaid_recovery(orders, within_hours=24).loc["all"]
    assert short["recovered_orders"] == 1
    monthly = unpaid_recovery(orders, period="M")
    assert [str(p) for p in monthly.index] == ["2024-05", "2024-06"]
    assert monthly["recovered_orders"].tolist() == [2, 1]
    no_items = unpaid_recovery(orders.drop(columns="product_id")).loc["all"]
    assert no_items["recovered_orders"] == 3


def test_unpaid_recovery_on_the_sample(sample) -> None:
    orders, _ = sample
    row = unpaid_recovery(orders).loc["all"]
    assert row["unpaid_orders"] == 602
    # planted: paid orders placed again after an unpaid copy 1-30 minutes earlier
    heads = orders.drop_duplicates("order_id")
    unpaid = heads[heads["status"] == "unpaid"][["customer_id", "order_time", "amount"]]
    paid = heads[heads["status"] == "paid"][["customer_id", "order_time"]]
    pairs = unpaid.merge(paid, on="customer_id", suffixes=("", "_paid"))
    gap = pairs["order_time_paid"] - pairs["order_time"]
    planted = pairs[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(minutes=31))]
    assert row["recovered_orders"] >= len(planted.drop_duplicates(["customer_id", "order_time"]))
    assert 0.4 < row["recovery_rate"] < 0.7
    assert row["median_hours_to_pay"] < 1.0


def test_unpaid_recovery_errors(tiny_orders: pd.DataFrame) -> None:
    with pytest.raises(InvalidDataError, match="within_hours must be positive"):
        unpaid_recovery(tiny_orders, within_hours=-1)
    with pytest.raises(ColumnNotFoundError, match="Hint: pass status_col='status'"):
        unpaid_recovery(tiny_orders, status_col="state")
