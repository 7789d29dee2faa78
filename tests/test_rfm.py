"""Tests of crm_analytics.rfm: RFM scores, segment schemes and the segment summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.rfm import (
    CN8_SEGMENTS,
    STANDARD_SEGMENTS,
    _quantile_scores,
    assign_segments,
    rfm_table,
    segment_summary,
)


def make_summary(days, orders, money, *, name="customer_id", keys=None) -> pd.DataFrame:
    n = len(days)
    keys = keys if keys is not None else [f"c{i:03d}" for i in range(n)]
    return pd.DataFrame(
        {
            "days_since_last": np.asarray(days, dtype="int64"),
            "n_orders": np.asarray(orders, dtype="int64"),
            "monetary_total": np.asarray(money, dtype="float64"),
        },
        index=pd.Index(keys, name=name),
    )


def scores_table(r, f, m, **extra) -> pd.DataFrame:
    data = {"r_score": r, "f_score": f, "m_score": m, **extra}
    return pd.DataFrame(data, index=pd.Index([f"c{i}" for i in range(len(r))], name="customer_id"))


# --- quantile scores, hand-computed ------------------------------------------------------------
def test_quantile_scores_without_ties_are_equal_frequency():
    # 10 distinct values, 5 bins: 10 / 5 = 2 customers per score
    assert _quantile_scores(np.arange(10.0), 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_quantile_scores_heavy_tie_takes_one_score_and_the_rest_is_spread():
    # 14 one-order customers (70%), then 2, 2, 3, 4, 5, 6: 20 customers, 6 distinct values.
    # cut 1: target 20/5 = 4 customers; nearest boundary below 1 (0 customers) is empty,
    #        so the cut goes after value 1 (14 customers)              -> {1} scores 1
    # cut 2: 6 left for 4 groups: target 14 + 6/4 = 15.5; boundary after 2 (16) is 0.5
    #        away, after 1 (14) is 1.5                                  -> {2, 2} scores 2
    # cut 3: target 16 + 4/3 = 17.33; after 3 (17) is 0.33 away          -> {3} scores 3
    # cut 4: target 17 + 3/2 = 18.5; after 4 (18) and after 5 (19) tie; the higher wins,
    #        and the last group must keep one value                      -> {4, 5} score 4
    values = np.array([1] * 14 + [2, 2, 3, 4, 5, 6], dtype=float)
    expected = [1] * 14 + [2, 2, 3, 4, 4, 5]
    assert _quantile_scores(values, 5).tolist() == expected


def test_quantile_scores_fewer_distinct_values_than_bins_spread_over_the_range():
    # 3 distinct values, bins 5: groups 0, 1, 2 -> 1 + round(g * 4 / 2) = 1, 3, 5
    assert _quantile_scores(np.array([7.0, 7.0, 8.0, 9.0]), 5).tolist() == [1, 1, 3, 5]
    # 4 distinct values: 1 + round(g * 4 / 3) = 1 + round(0, 1.33, 2.67, 4) = 1, 2, 4, 5
    assert _quantile_scores(np.array([1.0, 2.0, 3.0, 6.0]), 5).tolist() == [1, 2, 4, 5]
    # 2 distinct values in 4 bins: the worst 1, the best 4
    assert _quantile_scores(np.array([1.0, 1.0, 2.0]), 4).tolist() == [1, 1, 4]


def test_quantile_scores_constant_and_empty():
    assert _quantile_scores(np.array([3.0, 3.0, 3.0]), 5).tolist() == [1, 1, 1]
    assert _quantile_scores(np.array([], dtype=float), 5).tolist() == []


def r_package_scores(x: np.ndarray, bins: int, *, reverse: bool = False) -> np.ndarray:
    """R rfm's rule: cut points quantile(x, (1..bins-1)/bins) + 1, intervals [lo, hi)."""
    cuts = np.quantile(x, np.arange(1, bins) / bins) + 1  # R's default type 7 == numpy linear
    score = 1 + (x[:, None] >= cuts[None, :]).sum(axis=1)
    return bins + 1 - score if reverse else score


def test_agrees_with_r_rfm_package_on_data_without_ties():
    # 100 distinct values 10, 20, ..., 1000: R's cut points 209, 409, 609, 809 give
    # 20 customers per score, as do ours
    x = np.arange(10, 1001, 10).astype(float)
    summary = make_summary(x, x, x)
    table = rfm_table(summary)
    assert table["f_score"].tolist() == r_package_scores(x, 5).tolist()
    assert table["m_score"].tolist() == r_package_scores(x, 5).tolist()
    # recency: R reverses the scores, so the fewest days score 5
    assert table["r_score"].tolist() == r_package_scores(x, 5, reverse=True).tolist()
    assert np.bincount(table["f_score"])[1:].tolist() == [20] * 5


def test_heavy_ties_r_package_leaves_scores_empty_ours_fills_them():
    # 70 one-order customers, 15 with 2, 8 with 3, 4 with 4, 3 with 5 orders.
    # R: quantiles at 0.2/0.4/0.6 are 1 and at 0.8 (position 79.2) is 2, cut points
    # 2, 2, 2, 3 -> one order scores 1, two orders 4, three or more 5: scores 2, 3 empty.
    orders = np.array([1] * 70 + [2] * 15 + [3] * 8 + [4] * 4 + [5] * 3, dtype=float)
    r_scores = r_package_scores(orders, 5)
    assert sorted(set(r_scores.tolist())) == [1, 4, 5]
    ours = rfm_table(make_summary(np.arange(100), orders, np.arange(100)))["f_score"].to_numpy()
    # five distinct values, five scores: each value its own score
    assert sorted(set(ours.tolist())) == [1, 2, 3, 4, 5]
    for value, score in zip([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], strict=True):
        assert set(ours[orders == value].tolist()) == {score}
    # both rules give equal values equal scores and agree on the order
    assert (np.diff(ours[np.argsort(orders, kind="stable")]) >= 0).all()
    assert set(zip(orders.tolist(), r_scores.tolist(), strict=True)) == {
        (1, 1),
        (2, 4),
        (3, 5),
        (4, 5),
        (5, 5),
    }


# --- rfm_table ---------------------------------------------------------------------------------
def test_rfm_table_hand_computed_example():
    summary = make_summary(
        [2, 40, 200, 9, 400],
        [6, 3, 1, 1, 2],
        [900, 350, 40, 80, 160],
        keys=["ann", "bob", "cy", "dee", "eve"],
    )
    t = rfm_table(summary)
    # r: days 2 < 9 < 40 < 200 < 400 -> 5 4 3 2 1 (fewest days best)
    assert t["r_score"].tolist() == [5, 3, 2, 4, 1]
    # f: distinct 1, 2, 3, 6 (4 < 5 bins) -> 1 + round(g * 4 / 3) = 1, 2, 4, 5
    assert t["f_score"].tolist() == [5, 4, 1, 1, 2]
    # m: 40 < 80 < 160 < 350 < 900 -> 1..5
    assert t["m_score"].tolist() == [5, 4, 1, 2, 3]
    assert t["rfm_code"].astype(str).tolist() == ["555", "344", "211", "412", "123"]
    assert t["rfm_score"].tolist() == [15.0, 11.0, 4.0, 7.0, 6.0]
    # fm = ceil((f + m) / 2): ann 5 -> 55, bob 4 -> 34, cy 1 -> 21, dee ceil(1.5) = 2 -> 42,
    # eve ceil(2.5) = 3 -> 13
    assert t["segment"].astype(str).tolist() == [
        "Champions",
        "Loyal Customers",
        "About To Sleep",
        "Potential Loyalist",
        "At Risk",
    ]
    assert list(t.columns) == [
        "days_since_last",
        "n_orders",
        "monetary_total",
        "r_score",
        "f_score",
        "m_score",
        "rfm_code",
        "rfm_score",
        "segment",
    ]
    assert t.index.name == "customer_id"
    assert t.index.tolist() == ["ann", "bob", "cy", "dee", "eve"]
    assert str(t["r_score"].dtype) == "int64"
    assert isinstance(t["segment"].dtype, pd.CategoricalDtype)
    assert list(t["segment"].cat.categories) == list(STANDARD_SEGMENTS)
    assert t.attrs["rfm"] == {"bins": 5, "method": "quantile"}


def test_weights_make_the_weighted_sum():
    summary = make_summary([1, 2, 3], [1, 2, 3], [10, 20, 30])
    t = rfm_table(summary, bins=3, weights=(2, 1, 0.5))
    # r = 3, 2, 1 ; f = m = 1, 2, 3 -> 2r + f + 0.5m = 6+1+0.5, 4+2+1, 2+3+1.5
    assert t["rfm_score"].tolist() == [7.5, 7.0, 6.5]


def test_caller_key_name_and_customer_col_column():
    summary = make_summary([1, 2, 3], [1, 2, 3], [1, 2, 3], name="buyer")
    assert rfm_table(summary).index.name == "buyer"
    flat = summary.reset_index()
    t = rfm_table(flat, customer_col="buyer")
    assert t.index.name == "buyer"
    assert t.index.tolist() == summary.index.tolist()


def test_fixed_breakpoints_inclusive_upper_edges():
    days = [0, 30, 31, 90, 91, 180, 181, 365, 366]
    orders = [1, 2, 3, 4, 5, 8, 9, 1, 1]
    money = [10, 50, 50.01, 100, 300, 1000, 1001, 0, 5]
    t = rfm_table(
        make_summary(days, orders, money),
        method="fixed",
        breakpoints={"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [50, 100, 300, 1000]},
    )
    # r: <=30 -> 5, 31-90 -> 4, 91-180 -> 3, 181-365 -> 2, >365 -> 1
    assert t["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1]
    # f: 1 -> 1, 2 -> 2, 3-4 -> 3, 5-8 -> 4, 9+ -> 5
    assert t["f_score"].tolist() == [1, 2, 3, 3, 4, 4, 5, 1, 1]
    # m: <=50 -> 1, (50, 100] -> 2, (100, 300] -> 3, (300, 1000] -> 4, >1000 -> 5
    assert t["m_score"].tolist() == [1, 1, 2, 2, 3, 4, 5, 1, 1]
    assert t.attrs["rfm"]["method"] == "fixed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "fixed"}, "needs breakpoints"),
        (
            {"method": "fixed", "breakpoints": {"r": [1, 2, 3, 4], "f": [1, 2, 3, 4]}},
            "missing ['m']",
        ),
        (
            {"method": "fixed", "breakpoints": {"r": [1, 2], "f": [1, 2, 3, 4], "m": [1, 2, 3, 4]}},
            "bins - 1 = 4 values",
        ),
        (
            {
                "method": "fixed",
                "breakpoints": {"r": [1, 1, 3, 4], "f": [1, 2, 3, 4], "m": [1, 2, 3, 4]},
            },
            "strictly increasing",
        ),
        ({"breakpoints": {"r": [1, 2, 3, 4]}}, "only with method='fixed'"),
        ({"method": "decile"}, "method='decile' is not supported"),
        ({"bins": 1}, "bins must be an integer from 2 to 100"),
        ({"bins": 2.5}, "bins must be an integer"),
        ({"weights": (1, 1)}, "weights must be three finite numbers"),
        ({"segments": "rfm11"}, "scheme='rfm11' is not supported"),
        ({"lang": "fr"}, "lang='fr' is not supported"),
    ],
)
def test_option_errors(kwargs, message):
    with pytest.raises(InvalidDataError, match=None) as info:
        rfm_table(make_summary([1, 2, 3], [1, 2, 3], [1, 2, 3]), **kwargs)
    assert message in str(info.value)


def test_rfm_code_with_ten_bins_uses_a_separator():
    x = np.arange(20)
    t = rfm_table(make_summary(x, x, x), bins=10)
    assert t["rfm_code"].astype(str).iloc[0] == "10-1-1"
    assert t["rfm_code"].astype(str).iloc[-1] == "1-10-10"


def test_missing_columns_error_lists_available_columns():
    frame = pd.DataFrame({"customer_id": ["a"], "n_orders": [1], "spend": [3.0]})
    with pytest.raises(ColumnNotFoundError) as info:
        rfm_table(frame)
    text = str(info.value)
    assert "rfm_table" in text
    assert "'order_time' (time_col)" in text
    assert "missing ['days_since_last', 'monetary_total']" in text
    assert "Available columns: ['customer_id', 'n_orders', 'spend']" in text
    assert isinstance(info.value, KeyError)


def test_missing_values_error_names_column_count_and_example():
    summary = make_summary([1, 2, 3, 4], [1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0])
    summary["monetary_total"] = [1.0, np.nan, 3.0, np.nan]
    with pytest.raises(InvalidDataError) as info:
        rfm_table(summary)
    text = str(info.value)
    assert "'monetary_total'" in text and "2 missing" in text and "'c001'" in text


def test_text_column_error_shows_fix():
    summary = make_summary([1, 2], [1, 2], [1.0, 2.0])
    summary["n_orders"] = ["1", "2"]
    with pytest.raises(InvalidDataError, match="pd.to_numeric"):
        rfm_table(summary)


def test_duplicated_customer_is_an_error():
    summary = make_summary([1, 2, 3], [1, 2, 3], [1, 2, 3], keys=["a", "b", "a"])
    with pytest.raises(InvalidDataError, match="2 rows with a repeated customer key"):
        rfm_table(summary)


def test_as_of_with_summary_recomputes_days_from_last_purchase():
    summary = make_summary([0, 5], [1, 2], [10.0, 20.0], keys=["a", "b"])
    summary["last_purchase"] = pd.to_datetime(["2024-03-31 20:00", "2024-03-26 08:00"])
    t = rfm_table(summary, as_of="2024-04-30")
    # 2024-03-31 -> 2024-04-30 is 30 calendar days; 2024-03-26 -> 35
    assert t["days_since_last"].tolist() == [30, 35]
    with pytest.raises(InvalidDataError, match="before the last purchase of 1 customer"):
        rfm_table(summary, as_of="2024-03-30")
    with pytest.raises(InvalidDataError, match="last_purchase"):
        rfm_table(summary.drop(columns="last_purchase"), as_of="2024-04-30")


def test_empty_summary_gives_empty_table():
    t = rfm_table(make_summary([], [], []))
    assert len(t) == 0
    assert "segment" in t.columns


def test_segments_none_leaves_out_the_column_and_cn8_in_chinese():
    summary = make_summary([1, 50, 100], [5, 1, 1], [500, 20, 10])
    assert "segment" not in rfm_table(summary, segments=None).columns
    t = rfm_table(summary, segments="cn8", lang="zh")
    # means: days 50.33, orders 2.33, money 176.67; 50 < 50.33 is recent (R up)
    assert t["segment"].astype(str).tolist() == ["重要价值客户", "一般发展客户", "一般挽留客户"]


# --- orders path (uses crm.customer_summary) ------------------------------------------------
def test_rfm_table_from_orders(tiny_orders):
    t = rfm_table(tiny_orders)
    # summary at as_of 2024-03-31: a 30 days, 3 orders, 200; b 59, 1, 80; c 0, 1, 25;
    # e 86, 2, 25 (d's only row is refunded: not a customer)
    assert t.index.tolist() == ["a", "b", "c", "e"]
    assert t["days_since_last"].tolist() == [30, 59, 0, 86]
    # r: 4 distinct days -> 0 days 5, 30 -> 4, 59 -> 2, 86 -> 1 (1 + round(g * 4 / 3))
    assert t["r_score"].tolist() == [4, 2, 5, 1]
    # f: distinct 1, 2, 3 -> 1, 3, 5 ; m: distinct 25, 80, 200 -> 1, 3, 5
    assert t["f_score"].tolist() == [5, 1, 1, 3]
    assert t["m_score"].tolist() == [5, 3, 1, 1]
    # fm: a 5 -> 45 Champions; b 2 -> 22 Need Attention; c 1 -> 51; e 2 -> 12
    assert t["segment"].astype(str).tolist() == [
        "Champions",
        "Need Attention",
        "New Customers",
        "Hibernating",
    ]
    later = rfm_table(tiny_orders, as_of="2024-04-30")
    assert later["days_since_last"].tolist() == [60, 89, 30, 116]


def test_orders_with_other_column_names(tiny_orders):
    renamed = tiny_orders.rename(columns={"customer_id": "buyer", "order_time": "ts"})
    t = rfm_table(renamed, customer_col="buyer", time_col="ts")
    assert t.index.name == "buyer"
    assert t["segment"].astype(str).tolist()[0] == "Champions"


def test_orders_not_mutated(tiny_orders):
    before = tiny_orders.copy()
    rfm_table(tiny_orders)
    pd.testing.assert_frame_equal(tiny_orders, before)


# --- standard grid: all 25 cells ---------------------------------------------------------------
STANDARD_CELLS = {
    "55": "Champions",
    "54": "Champions",
    "45": "Champions",
    "53": "Loyal Customers",
    "44": "Loyal Customers",
    "35": "Loyal Customers",
    "34": "Loyal Customers",
    "52": "Potential Loyalist",
    "42": "Potential Loyalist",
    "33": "Potential Loyalist",
    "43": "Potential Loyalist",
    "51": "New Customers",
    "41": "Promising",
    "31": "Promising",
    "32": "Need Attention",
    "23": "Need Attention",
    "22": "Need Attention",
    "21": "About To Sleep",
    "25": "At Risk",
    "24": "At Risk",
    "13": "At Risk",
    "15": "Can't Lose Them",
    "14": "Can't Lose Them",
    "12": "Hibernating",
    "11": "Lost",
}


def test_standard_grid_has_25_cells():
    assert len(STANDARD_CELLS) == 25
    assert {c for c in STANDARD_CELLS} == {f"{r}{fm}" for r in range(1, 6) for fm in range(1, 6)}


@pytest.mark.parametrize(("cell", "name"), sorted(STANDARD_CELLS.items()))
def test_standard_grid_every_cell(cell, name):
    r, fm = int(cell[0]), int(cell[1])
    # f = m = fm gives ceil((fm + fm) / 2) = fm; f = fm, m = fm - 1 rounds up to fm too
    table = scores_table([r, r], [fm, fm], [fm, max(fm - 1, 1)])
    assert assign_segments(table, bins=5).astype(str).tolist() == [name, name]


def test_standard_grid_in_the_docstring_matches():
    doc = assign_segments.__doc__
    rows = [line.split() for line in doc.splitlines() if line.strip().startswith("r=")]
    assert len(rows) == 5
    for line in doc.splitlines():
        line = line.strip()
        if not line.startswith("r="):
            continue
        r = line[2]
        cells = [line[6 + 19 * i : 6 + 19 * (i + 1)].strip() for i in range(5)]
        assert cells == [STANDARD_CELLS[f"{r}{fm}"] for fm in range(1, 6)]


def test_fm_rounds_half_up():
    # f 5, m 4 -> ceil(4.5) = 5 with r 4 -> "45" Champions; f 1, m 2 -> 2 with r 1 -> "12"
    table = scores_table([4, 1], [5, 1], [4, 2])
    assert assign_segments(table, bins=5).astype(str).tolist() == ["Champions", "Hibernating"]


def test_standard_with_other_bins_rescales_to_five():
    # bins 3: 1 + round(4 * (s - 1) / 2) -> 1, 3, 5
    table = scores_table([3, 2, 1], [3, 2, 1], [3, 2, 1])
    assert assign_segments(table, bins=3).astype(str).tolist() == [
        "Champions",
        "Potential Loyalist",
        "Lost",  # 55, 33, 11
    ]
    # bins 10: 1 + round(4 * (s - 1) / 9): s 1,2 -> 1; 3,4 -> 2; 5,6 -> 3; 7,8 -> 4; 9,10 -> 5
    s = list(range(1, 11))
    out = assign_segments(scores_table(s, s, s), bins=10).astype(str).tolist()
    assert (
        out
        == ["Lost"] * 2
        + ["Need Attention"] * 2
        + ["Potential Loyalist"] * 2
        + ["Loyal Customers"] * 2
        + ["Champions"] * 2
    )


def test_standard_chinese_names():
    table = scores_table([5, 1], [5, 1], [5, 1])
    assert assign_segments(table, bins=5, lang="zh").astype(str).tolist() == [
        "冠军客户",
        "已流失客户",
    ]


def test_scores_out_of_range_are_an_error():
    with pytest.raises(InvalidDataError, match=r"whole scores 1\.\.5; 1 row"):
        assign_segments(scores_table([6, 1], [1, 1], [1, 1]), bins=5)
    with pytest.raises(ColumnNotFoundError, match="crm.rfm_table"):
        assign_segments(pd.DataFrame({"r_score": [1]}))


# --- cn8 -------------------------------------------------------------------------------------
CN8_CASES = [
    # days, orders, money -> class; thresholds r 30, f 3, m 200; ties are low
    (29, 4, 201, "重要价值客户", "Important Value"),
    (29, 3, 201, "重要发展客户", "Important Development"),
    (30, 4, 201, "重要保持客户", "Important Retention"),
    (30, 3, 201, "重要挽留客户", "Important Win-back"),
    (29, 4, 200, "一般价值客户", "General Value"),
    (29, 3, 200, "一般发展客户", "General Development"),
    (30, 4, 200, "一般保持客户", "General Retention"),
    (30, 3, 200, "一般挽留客户", "General Win-back"),
]


def test_cn8_all_classes_and_tie_rule():
    days, orders, money, zh, en = zip(*CN8_CASES, strict=True)
    table = make_summary(days, orders, money)
    th = {"r": 30, "f": 3, "m": 200}
    out = assign_segments(table, scheme="cn8", threshold=th, lang="zh")
    assert out.astype(str).tolist() == list(zh)
    assert assign_segments(table, scheme="cn8", threshold=th).astype(str).tolist() == list(en)
    assert list(out.cat.categories) == [names[0] for names in CN8_SEGMENTS.values()]
    assert out.attrs["thresholds"] == {"r": 30.0, "f": 3.0, "m": 200.0}


def test_cn8_mean_and_median_thresholds():
    # days 10, 20, 60 -> mean 30, median 20; orders 1, 2, 6 -> mean 3, median 2;
    # money 100, 200, 600 -> mean 300, median 200
    table = make_summary([10, 20, 60], [1, 2, 6], [100, 200, 600])
    mean = assign_segments(table, scheme="cn8").astype(str).tolist()
    # 10 < 30 R up, 1 <= 3 F down, 100 <= 300 M down; 20: up, down, down; 60: down, up, up
    assert mean == ["General Development", "General Development", "Important Retention"]
    median = assign_segments(table, scheme="cn8", threshold="median").astype(str).tolist()
    # 20 is not < 20 (tie low); 2 is not > 2; 200 is not > 200
    assert median == ["General Development", "General Win-back", "Important Retention"]
    mixed = assign_segments(table, scheme="cn8", threshold={"r": 15}).astype(str).tolist()
    assert mixed[1] == "General Win-back"  # only r changed: 20 >= 15


def test_cn8_on_average_order_value():
    # aov = money / orders = 100, 100, 100 when absent -> no one above the mean
    table = make_summary([1, 2, 3], [1, 2, 3], [100, 200, 300])
    out = assign_segments(table, scheme="cn8", m="avg_order_value")
    assert out.astype(str).str.startswith("General").all()
    with_col = table.assign(avg_order_value=[10.0, 10.0, 500.0])
    out = assign_segments(with_col, scheme="cn8", m="avg_order_value")
    assert out.astype(str).tolist()[2].startswith("Important")


def test_cn8_bad_threshold():
    table = make_summary([1], [1], [1])
    with pytest.raises(InvalidDataError, match="threshold keys"):
        assign_segments(table, scheme="cn8", threshold={"x": 1})
    with pytest.raises(InvalidDataError, match="threshold\\['f'\\]='mode' is not supported"):
        assign_segments(table, scheme="cn8", threshold={"f": "mode"})


# --- custom mapping ----------------------------------------------------------------------------
def test_custom_mapping_ranges_lists_and_codes():
    rules = {
        "vip": ["333"],
        "good": {"r": (2, 3), "fm": [2, 3]},
        "rest": {"r": 1},
        "other": {"r": (2, 3), "fm": 1},
    }
    bins = 3
    # every (r, f, m) with r in 2..3 and fm in 2..3 is good except 333 -> overlap!
    with pytest.raises(InvalidDataError) as info:
        assign_segments(scores_table([1], [1], [1]), scheme=rules, bins=bins)
    assert "overlap" in str(info.value) and "'333'" in str(info.value)
    assert "['vip', 'good']" in str(info.value)
    rules["good"] = {"r": (2, 3), "fm": [2, 3], "m": (1, 2)}
    rules["vip"] = {"r": (2, 3), "fm": [2, 3], "m": 3}
    table = scores_table([3, 2, 1, 2], [3, 1, 3, 1], [3, 2, 1, 1])
    out = assign_segments(table, scheme=rules, bins=bins)
    # 333 vip; 212: fm ceil(1.5) = 2, m 2 -> good; 1xx rest; 211: fm 1 -> other
    assert out.astype(str).tolist() == ["vip", "good", "rest", "other"]
    assert list(out.cat.categories) == ["vip", "good", "rest", "other"]


def test_custom_mapping_gap_is_an_error():
    rules = {"high": {"r": (4, 5)}, "low": {"r": (1, 2)}}
    with pytest.raises(InvalidDataError) as info:
        assign_segments(scores_table([1], [1], [1]), scheme=rules, bins=5)
    text = str(info.value)
    # r = 3 is uncovered: 25 cells (f, m) of 125
    assert "leave 25 of 125" in text and "'311'" in text and "catch-all" in text


def test_custom_mapping_bad_rules():
    t = scores_table([1], [1], [1])
    with pytest.raises(InvalidDataError, match="rules may use"):
        assign_segments(t, scheme={"a": {"x": 1}}, bins=2)
    with pytest.raises(InvalidDataError, match="do not exist"):
        assign_segments(t, scheme={"a": ["999"]}, bins=2)
    with pytest.raises(InvalidDataError, match="inclusive"):
        assign_segments(t, scheme={"a": {"r": "high"}}, bins=2)


# --- segment_summary ---------------------------------------------------------------------------
def test_segment_summary_hand_computed():
    table = pd.DataFrame(
        {
            "segment": ["Champions", "Lost", "Champions", "Lost"],
            "days_since_last": [2, 300, 10, 200],
            "n_orders": [4, 1, 2, 2],
            "monetary_total": [400.0, 50.0, 150.0, 100.0],
        },
        index=pd.Index(list("abcd"), name="customer_id"),
    )
    s = segment_summary(table)
    assert s.index.tolist() == ["Champions", "Lost"]
    assert s["customers"].tolist() == [2, 2]
    assert s["customer_share"].tolist() == [0.5, 0.5]
    # revenue 550 and 150 of 700
    assert s["revenue"].tolist() == [550.0, 150.0]
    assert s["revenue_share"].tolist() == pytest.approx([550 / 700, 150 / 700])
    assert s["mean_days_since_last"].tolist() == [6.0, 250.0]
    assert s["mean_n_orders"].tolist() == [3.0, 1.5]
    # aov: (400/4 + 150/2) / 2 = 87.5 ; (50/1 + 100/2) / 2 = 50
    assert s["mean_aov"].tolist() == [87.5, 50.0]
    assert s.loc["Champions", "action"].startswith("Reward")


def test_segment_summary_keeps_empty_standard_segments_and_chinese_actions():
    summary = make_summary([1, 50, 100], [5, 1, 1], [500, 20, 10])
    s = segment_summary(rfm_table(summary, lang="zh"))
    assert len(s) == 11
    assert s["customers"].sum() == 3
    assert (s["action"].str.len() > 0).all()
    assert s.loc["冠军客户", "action"].startswith("重点奖励")
    custom = segment_summary(
        pd.DataFrame(
            {"segment": ["x"], "days_since_last": [1], "n_orders": [1], "monetary_total": [1.0]}
        )
    )
    assert custom.loc["x", "action"] == ""


def test_segment_summary_missing_column_hint():
    with pytest.raises(ColumnNotFoundError, match="segment_col='segmnt'"):
        segment_summary(
            pd.DataFrame(
                {"segmnt": ["x"], "days_since_last": [1], "n_orders": [1], "monetary_total": [1.0]}
            )
        )


# --- properties ------------------------------------------------------------------------------
@st.composite
def summaries(draw):
    n = draw(st.integers(min_value=1, max_value=60))
    days = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    # mostly one-order customers, like real shops
    orders = draw(st.lists(st.one_of(st.just(1), st.integers(1, 30)), min_size=n, max_size=n))
    money = draw(
        st.lists(
            st.one_of(st.sampled_from([9.9, 19.9, 99.0]), st.floats(0, 1e5, allow_nan=False)),
            min_size=n,
            max_size=n,
        )
    )
    return make_summary(days, orders, money)


COLS = {"r_score": "days_since_last", "f_score": "n_orders", "m_score": "monetary_total"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summary=summaries(), bins=st.integers(2, 9))
def test_score_properties(summary, bins):
    before = summary.copy()
    t = rfm_table(summary, bins=bins)
    pd.testing.assert_frame_equal(summary, before)  # no mutation
    for score_col, value_col in COLS.items():
        s = t[score_col].to_numpy()
        v = t[value_col].to_numpy()
        sign = -1 if score_col == "r_score" else 1  # fewer days is better
        assert ((s >= 1) & (s <= bins)).all()
        # equal inputs, equal scores; better inputs never score lower (monotone)
        order = np.argsort(sign * v, kind="stable")
        sv, ss = sign * v[order], s[order]
        assert (np.diff(ss) >= 0).all()
        assert (ss[1:][np.diff(sv) == 0] == ss[:-1][np.diff(sv) == 0]).all()
        n_distinct = len(np.unique(v))
        if n_distinct >= 2:
            assert ss[0] == 1 and ss[-1] == bins  # the worst scores 1, the best bins
        if n_distinct >= bins:
            assert set(s.tolist()) == set(range(1, bins + 1))  # every score used
    # exactly one segment per customer
    assert t["segment"].notna().all()
    assert len(t) == len(summary)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), bins=st.integers(2, 10))
def test_scores_without_ties_differ_in_size_by_at_most_one(n, bins):
    counts = np.bincount(_quantile_scores(np.arange(float(n)), bins), minlength=bins + 1)[1:]
    used = counts[counts > 0]
    assert used.max() - used.min() <= 1


@settings(max_examples=60, deadline=None)
@given(summary=summaries(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(summary, seed):
    shuffled = summary.sample(frac=1.0, random_state=seed % (2**32 - 1))
    a = rfm_table(summary)
    b = rfm_table(shuffled).loc[a.index]
    pd.testing.assert_frame_equal(a, b, check_categorical=False)


@settings(max_examples=60, deadline=None)
@given(
    days=st.integers(0, 1000),
    extra=st.integers(0, 500),
    orders=st.integers(1, 50),
    more=st.integers(0, 50),
)
def test_fixed_scores_monotone_in_the_input(days, extra, orders, more):
    bp = {"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [50, 100, 300, 1000]}
    t = rfm_table(
        make_summary(
            [days, days + extra], [orders, orders + more], [orders * 10.0, (orders + more) * 10.0]
        ),
        method="fixed",
        breakpoints=bp,
    )
    assert t["r_score"].iloc[0] >= t["r_score"].iloc[1]  # more recent never lower R
    assert t["f_score"].iloc[0] <= t["f_score"].iloc[1]  # more orders never lower F
    assert t["m_score"].iloc[0] <= t["m_score"].iloc[1]  # more money never lower M


@settings(max_examples=60, deadline=None)
@given(
    r=st.lists(st.integers(1, 5), min_size=1, max_size=30),
    data=st.data(),
    scheme=st.sampled_from(["standard", "cn8"]),
)
def test_exactly_one_segment_per_customer(r, data, scheme):
    n = len(r)
    f = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    m = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    table = scores_table(
        r,
        f,
        m,
        days_since_last=[10 * x for x in r],
        n_orders=f,
        monetary_total=[float(x) for x in m],
    )
    before = table.copy()
    out = assign_segments(table, scheme=scheme, bins=5)
    pd.testing.assert_frame_equal(table, before)
    assert out.notna().all() and len(out) == n
    assert out.index.equals(table.index)
