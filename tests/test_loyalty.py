"""Tests of member tiers and points (crm_analytics.loyalty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.loyalty import (
    LEFT,
    NEW,
    migration_summary,
    points_liability,
    tier_changes,
    tier_migration,
    tier_order,
    tier_rules_check,
    tier_snapshot,
    tier_value,
)


def _members(ids, tiers) -> pd.DataFrame:
    return pd.DataFrame({"member_level": tiers}, index=pd.Index(ids, name="customer_id"))


# --------------------------------------------------------------------------- tier order
def test_tier_order_known_ladders_and_numbers() -> None:
    assert tier_order(["至尊VIP会员", "普通会员"]) == ["普通会员", "至尊VIP会员"]
    assert tier_order(["Gold", "Bronze", "Silver"]) == ["Bronze", "Silver", "Gold"]
    assert tier_order(["LV10", "LV2", "LV1"]) == ["LV1", "LV2", "LV10"]
    assert tier_order(["3级", "1级"]) == ["1级", "3级"]
    with pytest.raises(InvalidDataError, match=r"tiers=\[.*lowest first"):
        tier_order(["红卡", "蓝卡"])
    with pytest.raises(InvalidDataError, match="1 tier values are not in tiers"):
        tier_order(["红卡", "蓝卡"], tiers=["蓝卡"])
    assert tier_order(["红卡"], tiers=["蓝卡", "红卡"]) == ["蓝卡", "红卡"]


# --------------------------------------------------------------------------- migration
def test_tier_migration_by_hand() -> None:
    before = _members(
        list("abcdef"), ["普通会员", "普通会员", "高级会员", "高级会员", "VIP会员", "VIP会员"]
    )
    after = _members(
        list("abcdeg"), ["高级会员", "普通会员", "VIP会员", "普通会员", "VIP会员", "普通会员"]
    )
    snapshot = before.copy()
    m = tier_migration(before, after)
    pd.testing.assert_frame_equal(before, snapshot)
    assert list(m.index) == ["普通会员", "高级会员", "VIP会员", NEW]
    assert list(m.columns) == ["普通会员", "高级会员", "VIP会员", LEFT]
    # a up, b stays; c up, d down; e stays, f left; g new
    expected = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(m.to_numpy(), expected)
    s = migration_summary(m)
    assert s.loc["普通会员"][["members", "upgraded", "stayed", "downgraded", "left"]].tolist() == [
        2,
        1,
        1,
        0,
        0,
    ]
    assert s.loc["高级会员"][["upgraded", "downgraded"]].tolist() == [1, 1]
    assert s.loc["all"][["members", "upgraded", "stayed", "downgraded", "left"]].tolist() == [
        6,
        2,
        2,
        1,
        1,
    ]
    assert s.loc["高级会员", "upgrade_rate"] == 0.5
    shares = tier_migration(before, after, normalize=True)
    assert shares.loc["VIP会员"].tolist() == [0.0, 0.0, 0.5, 0.5]


def test_tier_migration_inputs() -> None:
    with pytest.raises(ColumnNotFoundError, match="tier_col"):
        tier_migration(_members(["a"], ["V1"]).rename(columns={"member_level": "lvl"}),
                       _members(["a"], ["V1"]))  # fmt: skip
    dup = pd.DataFrame({"customer_id": ["a", "a"], "member_level": ["V1", "V2"]})
    with pytest.raises(InvalidDataError, match="tier_snapshot"):
        tier_migration(dup, dup)
    no_key = pd.DataFrame({"member_level": ["V1"]})
    with pytest.raises(ColumnNotFoundError, match="customer_col="):
        tier_migration(no_key, no_key)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(0, 40), st.sampled_from(["V1", "V2", "V3", None]), max_size=30),
    st.dictionaries(st.integers(0, 40), st.sampled_from(["V1", "V2", "V3"]), max_size=30),
)
def test_migration_rows_sum_to_starting_members(t0, t1) -> None:
    t0 = {k: v for k, v in t0.items() if v is not None}
    before = _members([str(k) for k in t0], list(t0.values()))
    after = _members([str(k) for k in t1], list(t1.values()))
    if not len(before) and not len(after):
        return
    m = tier_migration(before, after, tiers=["V1", "V2", "V3"])
    counts = before["member_level"].value_counts()
    for tier in ["V1", "V2", "V3"]:
        assert m.loc[tier].sum() == counts.get(tier, 0)
    ends = after["member_level"].value_counts()
    for tier in ["V1", "V2", "V3"]:
        assert m[tier].sum() == ends.get(tier, 0)
    s = migration_summary(m)
    assert (s["upgraded"] + s["stayed"] + s["downgraded"] + s["left"] == s["members"]).all()


def test_snapshot_and_changes_from_a_history() -> None:
    history = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "b", "c", "a"],
            "changed_time": pd.to_datetime(
                ["2024-01-05", "2024-01-09", "2024-02-10", "2024-03-01", "2024-03-02", "2024-05-20"]
            ),  # fmt: skip
            "member_level": ["V1", "V2", "V2", "V1", "V1", "V3"],
        }
    )
    snap = tier_snapshot(history, at="2024-03-01")
    assert snap["member_level"].to_dict() == {"a": "V2", "b": "V1"}
    ch = tier_changes(history)
    assert [str(p) for p in ch.index] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    # Jan: a, b join; Feb: a up, b stays; Mar: b down, a stays, c joins; Apr: 3 stay; May: a up
    assert ch["joined"].tolist() == [2, 0, 1, 0, 0]
    assert ch["upgraded"].tolist() == [0, 1, 0, 0, 1]
    assert ch["downgraded"].tolist() == [0, 0, 1, 0, 0]
    assert ch["stayed"].tolist() == [0, 1, 1, 3, 2]
    assert ch["members_end"].tolist() == [2, 2, 3, 3, 3]
    # the last period agrees with the matrix between the two snapshots
    m = tier_migration(
        tier_snapshot(history, at="2024-04-30"), tier_snapshot(history, at="2024-05-31")
    )
    assert migration_summary(m).loc["all", "upgraded"] == ch["upgraded"].iloc[-1]
    with pytest.raises(InvalidDataError, match="pd.to_datetime"):
        tier_changes(history.assign(changed_time=history["changed_time"].astype(str)))


# --------------------------------------------------------------------------- value
def _orders() -> pd.DataFrame:
    rows = [
        ("1", "a", "2024-01-01", 100.0, "paid", 0.0),
        ("2", "a", "2024-06-01", 200.0, "paid", 50.0),  # net 150
        ("3", "b", "2024-06-10", 50.0, "paid", 0.0),
        ("4", "c", "2024-06-30", 30.0, "paid", 0.0),
        ("5", "d", "2024-06-15", 99.0, "unpaid", 0.0),
        ("6", "e", "2023-10-01", 40.0, "paid", 0.0),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_time", "amount", "status",
                                     "refund_amount"])  # fmt: skip
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


def test_tier_value_by_hand() -> None:
    orders = _orders()
    members = _members(["a", "b", "d", "e"], ["V2", "V1", "V1", "V1"])
    v = tier_value(orders, members, churn_days=180)
    assert list(v.index) == ["V1", "V2", "(no tier)"]
    # V1: members b, d, e; buyers b (50), e (40, last 2023-10-01: 273 days -> churned)
    v1 = v.loc["V1"]
    assert (v1["members"], v1["buyers"], v1["revenue"], v1["orders"]) == (3, 2, 90.0, 2)
    assert v1["churn_rate"] == 0.5 and v1["repurchase_rate"] == 0.0
    # V2: a with 100 + 150 in 2 orders
    v2 = v.loc["V2"]
    assert (v2["revenue"], v2["aov"], v2["orders_per_buyer"], v2["repurchase_rate"]) == (
        250.0,
        125.0,
        2.0,
        1.0,
    )
    # revenue 90 + 250 + 30 = 370; lift = (250 / 1) / (90 / 3)
    assert v["revenue_share"].sum() == pytest.approx(1.0)
    assert v2["lift"] == pytest.approx(250 / 30)
    assert v.loc["(no tier)", "buyers"] == 1


def test_tier_value_on_the_sample() -> None:
    v = tier_value(crm.datasets.load_sample(), crm.datasets.load_sample_customers())
    assert list(v.index) == ["普通会员", "高级会员", "VIP会员", "至尊VIP会员"]
    assert v["revenue_per_member"].is_monotonic_increasing  # higher tiers are worth more
    assert v["members"].sum() == len(crm.datasets.load_sample_customers())


def test_tier_rules_check_by_hand() -> None:
    orders = _orders()
    members = _members(["a", "b", "c", "e"], ["金卡", "普通", "普通", "银卡"])
    rules = {"金卡": 200, "普通": 0, "银卡": 100}  # order comes from the thresholds
    r = tier_rules_check(orders, members, rules, window_days=180)
    # window (2024-01-02, 2024-06-30]: a 150 (order 1 is outside), b 50, c 30, e 0
    assert r["value"].to_dict() == {"a": 150.0, "b": 50.0, "c": 30.0, "e": 0.0}
    assert r["qualified_tier"].tolist() == ["银卡", "普通", "普通", "普通"]
    assert r["action"].tolist() == ["downgrade", "keep", "keep", "downgrade"]
    assert r.loc["a", "gap_to_next"] == 50.0 and r.loc["a", "next_tier"] == "金卡"
    by_orders = tier_rules_check(orders, members, {"普通": 0, "银卡": 2, "金卡": 5},
                                 metric="orders", as_of="2024-12-30", window_days=365)  # fmt: skip
    assert by_orders.loc["a", "value"] == 2 and by_orders.loc["a", "qualified_tier"] == "银卡"
    top = tier_rules_check(orders, _members(["a"], ["普通"]), {"普通": 0, "金卡": 100})
    assert top.loc["a", "action"] == "upgrade" and pd.isna(top.loc["a", "next_tier"])
    with pytest.raises(InvalidDataError, match="not in rules"):
        tier_rules_check(orders, _members(["a"], ["钻石"]), rules)
    with pytest.raises(InvalidDataError, match="metric"):
        tier_rules_check(orders, members, rules, metric="visits")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- points
def _ledger() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "b", "c", "c"],
            "points_time": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-01",
                    "2024-02-10",
                    "2024-03-01",
                    "2024-03-20",
                    "2024-03-25",
                    "2024-03-26",
                ]
            ),  # fmt: skip
            "points": [100.0, -30.0, 50.0, -20.0, 40.0, 10.0, -4.0],
            "movement": ["earned", "redeemed", "earned", "expired", "earned", "earned", "adjusted"],
            "expire_time": pd.to_datetime(
                ["2024-04-15", None, "2024-12-31", None, "2024-04-10", "2025-03-25", None]
            ),  # fmt: skip
        }
    )


def test_points_liability_by_hand() -> None:
    ledger = _ledger()
    before = ledger.copy()
    r = points_liability(ledger, horizon_days=30)
    pd.testing.assert_frame_equal(ledger, before)
    b = r.balance
    assert b["earned"].tolist() == [100.0, 50.0, 50.0]
    assert b["redeemed"].tolist() == [0.0, 30.0, 0.0]
    assert b["expired"].tolist() == [0.0, 0.0, 20.0]
    assert b["adjusted"].tolist() == [0.0, 0.0, -4.0]
    assert b["balance"].tolist() == [100.0, 120.0, 146.0]
    o = r.overall
    assert o["outstanding"] == 146.0 and o["redemption_rate"] == pytest.approx(30 / 200)
    # as_of 2024-03-26, horizon to 2024-04-25: a's grant of 100 less 50 used = 50 left,
    # expiring 2024-04-15; b's 40 expiring 2024-04-10; c's grant expires in 2025
    assert r.holders.loc["a", "expiring"] == 50.0 and r.holders.loc["b", "expiring"] == 40.0
    assert r.holders.loc["c", "expiring"] == 0.0
    assert o["expiring"] == 90.0
    assert list(r.holders.index) == ["b", "a", "c"]  # 90, 50, 6
    assert r.holders["share_of_outstanding"].sum() == pytest.approx(1.0)


def test_points_expire_days_and_as_of() -> None:
    ledger = _ledger().drop(columns="expire_time")
    r = points_liability(ledger, as_of="2024-02-15", expire_days=60, horizon_days=40, period="W")
    # only movements to 2024-02-15; a: 100 earned 01-05 (expires 03-05) less 30 used = 70
    assert r.overall["outstanding"] == 120.0
    assert r.holders.loc["a", "expiring"] == 70.0
    assert r.holders.loc["b", "expiring"] == 0.0  # b's expires 04-10, after 03-26
    assert np.isnan(points_liability(ledger).overall["expiring"])
    no_type = ledger.drop(columns="movement")
    assert points_liability(no_type).balance["redeemed"].sum() == 30 + 20 + 4


def test_points_errors() -> None:
    ledger = _ledger()
    with pytest.raises(InvalidDataError, match="pd.to_numeric"):
        points_liability(ledger.assign(points=ledger["points"].astype(str)))
    with pytest.raises(ColumnNotFoundError, match="time_col"):
        points_liability(ledger.drop(columns="points_time"))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 60),
            st.integers(1, 500),
            st.sampled_from(["earned", "redeemed", "expired"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_balance_is_earned_minus_redeemed_minus_expired(rows) -> None:
    ledger = pd.DataFrame(rows, columns=["customer_id", "day", "size", "movement"])
    ledger["points_time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(ledger["day"], unit="D")
    ledger["points"] = np.where(ledger["movement"] == "earned", 1, -1) * ledger["size"].astype(
        float
    )
    r = points_liability(ledger, period="D", expire_days=30)
    b = r.balance
    # every day from the first movement to the last, with no gaps
    assert len(b) == (ledger["points_time"].max() - ledger["points_time"].min()).days + 1
    for day, row in b.iterrows():
        upto = ledger[ledger["points_time"] <= day.end_time]
        size = upto.groupby("movement")["size"].sum()
        assert row["balance"] == pytest.approx(
            size.get("earned", 0) - size.get("redeemed", 0) - size.get("expired", 0)
        )
    assert b["balance"].iloc[-1] == pytest.approx(r.holders["balance"].sum() + min(
        0.0, ledger.groupby("customer_id")["points"].sum().clip(upper=0).sum()))  # fmt: skip
    rates = b["redemption_rate"].dropna()
    assert (rates >= 0).all()
