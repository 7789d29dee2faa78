"""Tests of after-sales and satisfaction analytics (crm_analytics.service)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.service import (
    REASON_GROUPS,
    flag_negative,
    normalize_reasons,
    refund_analysis,
    review_analysis,
    satisfaction,
    service_terms,
)


def _orders() -> pd.DataFrame:
    """Six paid orders of three customers, one unpaid; lines of order 2 in two categories.

    1 a 2024-03-01 tea 100            no refund
    2 a 2024-03-10 tea 60 + cup 40    cup line refunded 40 (partial order refund)
    3 b 2024-03-15 cup 50             refunded 50 (full)
    4 b 2024-04-20 tea 80             no refund in the orders; the refunds table says 20
    5 c 2024-04-25 tea 70             no refund
    6 c 2024-04-26 cup 30             unpaid: never counts
    7 a 2024-05-30 cup 90             no refund
    """
    rows = [
        ("1", "a", "2024-03-01", 100.0, "paid", 0.0, "tea", "app"),
        ("2", "a", "2024-03-10", 60.0, "paid", 0.0, "tea", "app"),
        ("2", "a", "2024-03-10", 40.0, "paid", 40.0, "cup", "app"),
        ("3", "b", "2024-03-15", 50.0, "refunded", 50.0, "cup", "web"),
        ("4", "b", "2024-04-20", 80.0, "paid", 0.0, "tea", "web"),
        ("5", "c", "2024-04-25", 70.0, "paid", 0.0, "tea", "web"),
        ("6", "c", "2024-04-26", 30.0, "unpaid", 0.0, "cup", "web"),
        ("7", "a", "2024-05-30", 90.0, "paid", 0.0, "cup", "app"),
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
            "category",
            "channel",
        ],  # fmt: skip
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


def _refunds() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["2", "3", "4", "9", "5"],
            "refund_amount": [40.0, 50.0, 20.0, 15.0, 70.0],
            "reason": [
                "尺码偏小，不合适",
                "收到商品破损",
                "与描述不符，有色差",
                "七天无理由",
                "质量问题",
            ],
            "refund_status": ["succeeded", "succeeded", "succeeded", "succeeded", "closed"],
        }
    )


# --------------------------------------------------------------------------- reasons
REAL_REASONS = {
    # Taobao / Tmall after-sales reasons
    "七天无理由退换货": "changed_mind",
    "7天无理由退货": "changed_mind",
    "不喜欢/效果不好": "changed_mind",
    "多拍/拍错/不想要": "changed_mind",
    "尺码拍错/不喜欢/效果不好": "size_fit",
    "尺码偏大": "size_fit",
    "质量问题": "quality",
    "做工粗糙/有瑕疵": "quality",
    "商品与描述不符": "not_as_described",
    "颜色/图案/款式等描述不符": "not_as_described",
    "假冒品牌": "not_as_described",
    "少件/漏发": "not_as_described",
    "发错货": "not_as_described",
    "收到商品破损": "logistics_damaged",
    "快递/物流一直未送达": "logistics_damaged",
    "未按约定时间发货": "logistics_damaged",
    "协商一致退款": "changed_mind",
    "其他": "other",
    # Shopify / English
    "Item arrived damaged": "logistics_damaged",
    "Package never arrived": "logistics_damaged",
    "Too small": "size_fit",
    "Didn't fit": "size_fit",
    "Not as described": "not_as_described",
    "Received the wrong item": "not_as_described",
    "Defective - stopped working after 2 days": "quality",
    "Poor quality": "quality",
    "Changed my mind": "changed_mind",
    "Ordered by mistake": "changed_mind",
    "Found it cheaper elsewhere": "changed_mind",
    "Customer request": "other",
}


def test_reasons_on_real_looking_strings() -> None:
    reasons = pd.Series(list(REAL_REASONS), index=np.arange(len(REAL_REASONS)) * 10)
    before = reasons.copy()
    out = normalize_reasons(reasons)
    pd.testing.assert_series_equal(reasons, before)
    assert out.index.equals(reasons.index)
    assert dict(zip(reasons, out.astype(str), strict=True)) == REAL_REASONS
    assert list(out.cat.categories) == list(REASON_GROUPS)


def test_reasons_missing_and_user_patterns() -> None:
    reasons = pd.Series(["", None, "买贵了，降价了", "质量问题"])
    out = normalize_reasons(reasons, mapping={"price": ["降价", "price drop"]})
    assert out.astype(str).tolist() == ["other", "other", "price", "quality"]
    # user patterns are tried first
    assert normalize_reasons(pd.Series(["质量问题"]), mapping={"mine": "质量"})[0] == "mine"
    with pytest.raises(InvalidDataError, match="must be a pandas Series"):
        normalize_reasons(["质量问题"])  # type: ignore[arg-type]


def test_terms_are_a_copy() -> None:
    terms = service_terms()
    terms["negative_terms"]["zh"].clear()
    assert "破损" in service_terms()["negative_terms"]["zh"]


# --------------------------------------------------------------------------- refunds
def test_refund_analysis_from_orders_by_hand() -> None:
    orders = _orders()
    before = orders.copy()
    r = refund_analysis(orders, by="category")
    pd.testing.assert_frame_equal(orders, before)
    o = r.overall.loc["all"]
    # paid orders 1,2,3,4,5,7 = 6; refunded 2 (partial) and 3 (full)
    assert (o["orders"], o["refunded_orders"], o["full_refunds"]) == (6, 2, 1)
    assert o["order_refund_rate"] == pytest.approx(2 / 6)
    # sales 100 + 100 + 50 + 80 + 70 + 90 = 490; refunded 40 + 50 = 90
    assert (o["sales"], o["refunded_amount"]) == (490.0, 90.0)
    assert o["amount_refund_rate"] == pytest.approx(90 / 490)
    p = r.by_period
    assert list(p.index.astype(str)) == ["2024-03", "2024-04", "2024-05"]
    assert list(p["orders"]) == [3, 2, 1] and list(p["refunded_orders"]) == [2, 0, 0]
    g = r.by_group
    # cup: orders 2 (its cup line), 3, 7 -> 2 refunded; money 40 + 50 of 40 + 50 + 90
    assert g.loc["cup", "orders"] == 3 and g.loc["cup", "refunded_orders"] == 2
    assert g.loc["cup", "amount_refund_rate"] == pytest.approx(90 / 180)
    # tea: orders 1, 2 (tea line), 4, 5 -> none refunded
    assert g.loc["tea", "orders"] == 4 and g.loc["tea", "refunded_orders"] == 0
    assert r.reasons is None and np.isnan(r.top_share)


def test_refund_analysis_with_a_refunds_table() -> None:
    r = refund_analysis(_orders(), _refunds(), by="channel", top=2)
    o = r.overall.loc["all"]
    # order 4 gains the table's 20; order 5's refund was closed; order 9 is unknown
    assert o["refunded_orders"] == 3 and o["refunded_amount"] == pytest.approx(110.0)
    assert r.unmatched_refunds == 1
    reasons = r.reasons
    # succeeded: size 40, damaged 50, described 20, changed mind 15 (order 9) = 125
    assert list(reasons.index) == ["logistics_damaged", "size_fit", "not_as_described",
                                   "changed_mind"]  # fmt: skip
    assert reasons["refunded_amount"].tolist() == [50.0, 40.0, 20.0, 15.0]
    assert reasons["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert r.top_share == pytest.approx(90 / 125)
    assert reasons.loc["size_fit", "top_reason"] == "尺码偏小，不合适"
    by = r.reasons_by_group
    assert by.loc[("web", "logistics_damaged"), "amount_share"] == pytest.approx(50 / 70)
    assert r.by_group.loc["web", "refunded_amount"] == pytest.approx(70.0)
    # statuses=None counts the closed request on order 5 too
    every = refund_analysis(_orders(), _refunds(), statuses=None)
    assert every.overall.loc["all", "refunded_orders"] == 4


def test_refund_table_never_double_counts() -> None:
    # the table repeats the refunds the orders already record: the order keeps max, not sum
    table = pd.DataFrame({"order_id": ["2", "3"], "refund_amount": [40.0, 50.0]})
    r = refund_analysis(_orders(), table, period=None)
    assert r.overall.loc["all", "refunded_amount"] == pytest.approx(90.0)
    assert r.by_period is None


def test_refund_analysis_on_the_sample() -> None:
    orders = crm.datasets.load_sample()
    r = refund_analysis(orders, by="channel")
    assert r.overall["orders"].iloc[0] == r.by_group["orders"].sum()
    assert r.by_period["refunded_amount"].sum() == pytest.approx(
        r.overall["refunded_amount"].iloc[0]
    )
    assert 0 < r.overall["amount_refund_rate"].iloc[0] < 0.2


def test_refund_errors_name_the_fix() -> None:
    orders = _orders()
    with pytest.raises(ColumnNotFoundError, match=r"'product'.*\n.*\n.*Hint"):
        refund_analysis(orders, by="product")
    text_time = orders.assign(order_time=orders["order_time"].astype(str))
    with pytest.raises(InvalidDataError, match="pd.to_datetime"):
        refund_analysis(text_time)
    bad = _refunds().assign(refund_amount=["40", "x", "1", "2", "3"])
    with pytest.raises(InvalidDataError, match=r"'refund_amount' of `refunds`.*'x'"):
        refund_analysis(orders, bad)
    with pytest.raises(InvalidDataError, match="period='H'"):
        refund_analysis(orders, period="H")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # order
            st.integers(0, 3),  # customer
            st.integers(0, 90),  # day
            st.floats(0, 500, allow_nan=False),  # amount
            st.sampled_from(["paid", "unpaid", "cancelled", "refunded"]),
            st.floats(0, 600, allow_nan=False),  # refund
            st.sampled_from(["x", "y"]),
        ),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.tuples(st.integers(0, 7), st.floats(0, 300, allow_nan=False)), max_size=6),
)
def test_refund_rates_are_rates(rows, table) -> None:
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "day", "amount", "status",
                                         "refund_amount", "channel"])  # fmt: skip
    orders["order_id"] = orders["order_id"].astype(str)
    orders["order_time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(orders["day"], unit="D")
    refunds = pd.DataFrame(table, columns=["order_id", "refund_amount"]).astype({"order_id": str})
    r = refund_analysis(orders, refunds, by="channel")
    for t in (r.overall, r.by_period, r.by_group):
        for col in ("order_refund_rate", "amount_refund_rate"):
            v = t[col].dropna()
            assert ((v >= 0) & (v <= 1 + 1e-9)).all()
        assert (t["refunded_amount"] <= t["sales"] + 1e-6).all()
    if len(r.reasons):
        assert (
            r.reasons["amount_share"].sum() == pytest.approx(1.0)
            or r.reasons["refunded_amount"].sum() == 0
        )


# --------------------------------------------------------------------------- reviews
def test_flag_negative_with_negations() -> None:
    texts = pd.Series(
        [
            "质量差，有破损，假货",
            "包装完好，没有破损，物流不慢",
            "与描述不符",
            "Arrived LATE and the box was broken.",
            "Not broken, chocolate was lovely",
            "物流太慢",
            None,
        ],
        index=list("abcdefg"),
    )
    out = flag_negative(texts)
    assert out.index.equals(texts.index)
    assert out["a"] == "质量差; 破损; 假货"
    assert pd.isna(out["b"])  # 没有破损 and 不慢 are praise
    assert out["c"] == "与描述不符"  # the longest term wins
    assert out["d"] == "late; broken"
    assert pd.isna(out["e"])  # "not broken"; "late" is not inside "chocolate"
    assert out["f"] == "太慢"
    assert pd.isna(out["g"])
    assert flag_negative(pd.Series(["味道一般，偏甜"]), negative_terms=["偏甜"])[0] == "偏甜"


def _reviews() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "7"],
            "rating": [5.0, 2.0, 1.0, 4.5, np.nan, 3.0],
            "text": ["很好", "尺码偏小", "破损了，差评", "还行", "fake!", "一般"],
            "review_time": pd.to_datetime(
                ["2024-03-05", "2024-03-15", "2024-03-20", "2024-04-25", "2024-04-28", "2024-06-02"]
            ),  # fmt: skip
        }
    )


def test_review_analysis_by_hand() -> None:
    reviews, orders = _reviews(), _orders()
    before = reviews.copy()
    r = review_analysis(reviews, orders=orders, period="M", by="channel")
    pd.testing.assert_frame_equal(reviews, before)
    d = r.distribution
    assert d.index.names == ["period", "channel"]
    # March app: orders 1, 2 -> ratings 5, 2: one negative of two rated
    m = d.loc[(pd.Period("2024-03"), "app")]
    assert (m["reviews"], m["rated"], m["rating_5"], m["rating_2"], m["negative"]) == (
        2,
        2,
        1,
        1,
        1,
    )
    assert m["mean_rating"] == 3.5 and m["negative_rate"] == 0.5
    # April web: 4.5 rounds to 5; order 5 has no rating but the term "fake"
    a = d.loc[(pd.Period("2024-04"), "web")]
    assert (a["reviews"], a["rated"], a["rating_5"], a["negative"]) == (2, 1, 1, 0)
    assert a["with_negative_terms"] == 1 and a["to_reply"] == 1
    reply = r.to_reply
    assert reply["order_id"].tolist() == ["3", "2", "5"]  # lowest rating first, unrated last
    assert reply["reply_reason"].tolist() == ["low rating + negative terms"] * 2 + [
        "negative terms"
    ]
    assert reply["negative_terms"].tolist() == ["破损; 差评", "偏小", "fake"]
    assert reply["customer_id"].tolist() == ["b", "a", "c"]  # taken from the orders
    assert r.terms.loc["破损", "reviews"] == 1
    assert r.terms["share"].iloc[0] == pytest.approx(1 / 6)


def test_review_analysis_overall_and_segments() -> None:
    reviews = _reviews().assign(customer_id=["a", "a", "b", "b", "c", "a"])
    r = review_analysis(reviews)
    assert list(r.distribution.index) == ["all"]
    assert r.distribution.loc["all", "negative_rate"] == pytest.approx(2 / 5)
    seg = pd.Series({"a": "loyal", "b": "new"})
    s = review_analysis(reviews, by="segment", segments=seg).distribution
    assert s.loc["loyal", "reviews"] == 3 and s.loc["new", "negative"] == 1
    assert s["reviews"].sum() == 6  # c has no segment: its own (NaN) row


def test_review_errors() -> None:
    with pytest.raises(InvalidDataError, match="10-point"):
        review_analysis(pd.DataFrame({"rating": [9.0], "text": ["x"]}))
    with pytest.raises(ColumnNotFoundError, match="orders="):
        review_analysis(_reviews(), by="channel")
    with pytest.raises(ColumnNotFoundError, match="review_time"):
        review_analysis(_reviews().drop(columns="review_time"), period="M")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(1, 5)),
            st.sampled_from(["好", "破损", "没有破损", "late", "", "质量差 broken"]),
            st.sampled_from(["p", "q"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_review_rates_are_rates(rows) -> None:
    reviews = pd.DataFrame(rows, columns=["rating", "text", "product_id"]).astype(
        {"rating": "float64"}
    )
    d = review_analysis(reviews, by="product_id").distribution
    v = d["negative_rate"].dropna()
    assert ((v >= 0) & (v <= 1)).all()
    stars = d[[f"rating_{s}" for s in range(1, 6)]].sum(axis=1)
    assert (stars == d["rated"]).all() and (d["rated"] <= d["reviews"]).all()


# --------------------------------------------------------------------------- satisfaction
def test_satisfaction_by_hand() -> None:
    orders, reviews, refunds = _orders(), _reviews(), _refunds()
    before = [orders.copy(), reviews.copy(), refunds.copy()]
    s = satisfaction(orders, reviews, refunds, by="channel", window_days=30)
    for a, b in zip([orders, reviews, refunds], before, strict=True):
        pd.testing.assert_frame_equal(a, b)
    # as_of = 2024-05-30 (latest order); judged orders: placed on or before 2024-04-30
    # app: 1 (clean; a buys 2 on 03-10 -> back), 2 (refunded + rating 2 -> bad;
    #      next a purchase 7 on 05-30, 81 days later -> not back), 7 (not judged)
    app = s.loc["app"]
    assert (app["customers"], app["orders"], app["reviews"]) == (1, 3, 3)
    assert (app["judged_bad"], app["judged_clean"]) == (1, 1)
    assert (app["repurchase_after_bad"], app["repurchase_after_clean"]) == (0.0, 1.0)
    assert app["repurchase_gap"] == -1.0
    assert app["mean_rating"] == pytest.approx((5 + 2 + 3) / 3)
    # web: 3 (refunded, rating 1: bad; b's next purchase 4 on 04-20, 36 days -> not back),
    #      4 (refund in the table: bad, not back), 5 (closed refund: clean, not back)
    web = s.loc["web"]
    assert (web["orders"], web["bad_orders"], web["judged_bad"], web["judged_clean"]) == (
        3,
        2,
        2,
        1,
    )
    assert web["refund_rate"] == pytest.approx(2 / 3)
    assert web["refund_ci_low"] <= 2 / 3 <= web["refund_ci_high"]
    assert web["repurchase_after_bad"] == 0.0 and web["repurchase_after_clean"] == 0.0
    # a wider window: a's order 2 is followed by 7 within 90 days
    wide = satisfaction(orders, by="channel", window_days=90, as_of="2024-12-31")
    assert wide.loc["app", "repurchase_after_bad"] == 1.0


def test_satisfaction_by_segment() -> None:
    orders = _orders()
    seg = pd.Series({"a": "loyal", "b": "at risk", "c": "new"})
    s = satisfaction(orders, by="segment", segments=seg, window_days=30)
    assert list(s.index) == ["at risk", "loyal", "new"]
    assert s["orders"].sum() == 6
    auto = satisfaction(crm.datasets.load_sample(), window_days=60)
    assert auto.index.name == "segment" and "Champions" in auto.index
    v = auto[["refund_rate", "repurchase_after_bad", "repurchase_after_clean"]].stack().dropna()
    assert ((v >= 0) & (v <= 1)).all()


def test_satisfaction_errors() -> None:
    with pytest.raises(InvalidDataError, match="confidence"):
        satisfaction(_orders(), confidence=1.5)
    with pytest.raises(InvalidDataError, match="window_days"):
        satisfaction(_orders(), window_days=0)
    with pytest.raises(ColumnNotFoundError, match="rating"):
        satisfaction(_orders(), _reviews().drop(columns="rating"), by="channel")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),
            st.integers(0, 120),
            st.sampled_from(["paid", "refunded", "unpaid"]),
            st.sampled_from(["x", "y"]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 60),
)
def test_satisfaction_rates_are_rates(rows, window) -> None:
    orders = pd.DataFrame(rows, columns=["customer_id", "day", "status", "channel"])
    orders["order_id"] = np.arange(len(orders)).astype(str)
    orders["order_time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(orders["day"], unit="D")
    orders["amount"] = 10.0
    orders["refund_amount"] = np.where(orders["status"] == "refunded", 10.0, 0.0)
    s = satisfaction(orders, by="channel", window_days=window)
    rates = s[["refund_rate", "repurchase_after_bad", "repurchase_after_clean",
               "refund_ci_low", "refund_ci_high"]].stack().dropna()  # fmt: skip
    assert ((rates >= 0) & (rates <= 1)).all()
    g = s[["repurchase_gap", "gap_ci_low", "gap_ci_high"]].dropna()
    assert ((g["gap_ci_low"] <= g["repurchase_gap"] + 1e-12)
            & (g["repurchase_gap"] <= g["gap_ci_high"] + 1e-12)).all()  # fmt: skip
