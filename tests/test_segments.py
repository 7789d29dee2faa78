"""Tests of crm_analytics.segments: lifecycle, value tiers, Pareto, clusters, tags, profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError, StatisticalWarning
from crm_analytics.segments import (
    LIFECYCLE_STAGES,
    Clusters,
    cluster,
    lifecycle,
    pareto,
    profile,
    tag,
    value_tiers,
)

AS_OF = pd.Timestamp("2024-06-30")


def life_summary(days_last, span, *, orders=None, frequency=None) -> pd.DataFrame:
    """Summary at AS_OF with ``days_last`` days since the last purchase and ``span``
    days between first and last purchase."""
    days_last = np.asarray(days_last, dtype="int64")
    span = np.asarray(span, dtype="int64")
    last = AS_OF - pd.to_timedelta(days_last, unit="D") + pd.Timedelta(hours=9)
    first = last - pd.to_timedelta(span, unit="D")
    n = len(days_last)
    data = {
        "first_purchase": first,
        "last_purchase": last,
        "n_orders": np.asarray(orders if orders is not None else [2] * n, dtype="int64"),
        "days_since_last": days_last,
    }
    if frequency is not None:
        data["frequency"] = np.asarray(frequency, dtype="float64")
    return pd.DataFrame(data, index=pd.Index([f"k{i:02d}" for i in range(n)], name="buyer"))


# --- lifecycle -----------------------------------------------------------------------------
def test_lifecycle_boundaries_hand_checked():
    # (days since last, span): first = last + span days ago
    days = [0, 20, 30, 40, 90, 91, 180, 181, 365, 366]
    span = [30, 10, 1, 0, 0, 0, 0, 0, 0, 500]
    out = lifecycle(life_summary(days, span))
    # first purchase 30, 30, 31, 40 days ago -> new, new, not new, not new (<= 30)
    # last 31 -> active (<= 90); 40 active; 90 active; 91 at_risk; 180 at_risk;
    # 181 dormant; 365 dormant; 366 churned
    assert out["stage"].astype(str).tolist() == [
        "new",
        "new",
        "active",
        "active",
        "active",
        "at_risk",
        "at_risk",
        "dormant",
        "dormant",
        "churned",
    ]
    assert out["days_since_first"].tolist() == [30, 30, 31, 40, 90, 91, 180, 181, 365, 866]
    assert out.index.name == "buyer"
    assert out["stage"].cat.ordered
    assert list(out["stage"].cat.categories) == list(LIFECYCLE_STAGES)
    assert out.attrs["thresholds"] == {
        "new_days": 30,
        "active_days": 90,
        "dormant_days": 180,
        "churn_days": 365,
    }


def test_lifecycle_custom_thresholds_and_as_of():
    s = life_summary([5, 40], [100, 100])
    out = lifecycle(s, new_days=7, active_days=30, dormant_days=60, churn_days=90)
    assert out["stage"].astype(str).tolist() == ["active", "at_risk"]
    # 30 days later: 35 and 70 days since the last purchase
    later = lifecycle(
        s,
        as_of=AS_OF + pd.Timedelta(days=30),
        active_days=30,
        dormant_days=60,
        churn_days=90,
        new_days=7,
    )
    assert later["days_since_last"].tolist() == [35, 70]
    assert later["stage"].astype(str).tolist() == ["at_risk", "dormant"]
    with pytest.raises(InvalidDataError, match="before the last purchase of 2"):
        lifecycle(s, as_of="2020-01-01")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"active_days": 200}, "got active_days=200 and dormant_days=180"),
        ({"new_days": 90}, "got new_days=90 and active_days=90"),
        ({"churn_days": -1}, "churn_days must be a number of days"),
        ({"dormant_days": "soon"}, "dormant_days must be a number of days (>= 0) or 'auto'"),
    ],
)
def test_lifecycle_thresholds_validated(kwargs, message):
    with pytest.raises(InvalidDataError) as info:
        lifecycle(life_summary([1], [1]), **kwargs)
    assert message in str(info.value)


def test_lifecycle_auto_thresholds_from_purchase_cycle():
    # 40 repeat customers, one repeat each, spans 1..40 days -> mean gaps 1..40, equal weight.
    # weighted percentiles: 50% -> 20, 75% -> 30, 90% -> 36, 95% -> 38
    n = 40
    s = life_summary([0] * n, np.arange(1, n + 1), frequency=[1] * n)
    out = lifecycle(s, new_days="auto", active_days="auto", dormant_days="auto", churn_days="auto")
    assert out.attrs["thresholds"] == {
        "new_days": 20,
        "active_days": 30,
        "dormant_days": 36,
        "churn_days": 38,
    }
    # a mix: only churn_days derived, the rest given
    out = lifecycle(s, new_days=1, active_days=2, dormant_days=3, churn_days="auto")
    assert out.attrs["thresholds"]["churn_days"] == 38


def test_lifecycle_auto_weights_by_repeat_purchases_and_warns_when_few():
    # customer gaps 10 (1 repeat) and 40 (3 repeats over 120 days): the gap distribution
    # is 10 once and 40 three times -> cumulative 0.25, 1.0 -> every percentile >= 50% is 40
    s = life_summary([0, 0], [10, 120], frequency=[1, 3])
    with pytest.warns(StatisticalWarning, match="only 2 repeat customers"):
        out = lifecycle(s, active_days="auto", dormant_days=500, churn_days=600)
    assert out.attrs["thresholds"]["active_days"] == 40
    no_repeat = life_summary([0, 3], [0, 0], frequency=[0, 0])
    with pytest.raises(InvalidDataError, match="need repeat customers"):
        lifecycle(no_repeat, churn_days="auto")


def test_lifecycle_potential_customers():
    s = life_summary([1, 400], [0, 0])
    customers = pd.DataFrame({"buyer": ["k00", "zz", "yy", "zz"], "region": ["n", "s", "e", "s"]})
    out = lifecycle(s, customers=customers, customer_col="buyer")
    assert out.index.tolist() == ["k00", "k01", "zz", "yy"]
    assert out["stage"].astype(str).tolist() == ["new", "churned", "potential", "potential"]
    assert out["days_since_last"].isna().tolist() == [False, False, True, True]
    with pytest.raises(ColumnNotFoundError, match="Available columns: \\['buyer', 'region'\\]"):
        lifecycle(s, customers=customers)


def test_lifecycle_errors_and_no_mutation():
    s = life_summary([1, 2], [0, 3])
    before = s.copy()
    lifecycle(s, as_of=AS_OF)
    pd.testing.assert_frame_equal(s, before)
    with pytest.raises(ColumnNotFoundError, match="crm.customer_summary"):
        lifecycle(s.drop(columns="first_purchase"))


# --- value tiers and Pareto ------------------------------------------------------------------
def test_value_tiers_hand_computed_with_ties():
    s = pd.DataFrame(
        {"monetary_total": [500.0, 20.0, 90.0, 90.0, 10.0, 300.0, 5.0, 1.0, 1.0, 60.0]},
        index=pd.Index(list("abcdefghij"), name="customer_id"),
    )
    out = value_tiers(s)
    # n = 10: A = top 2 (positions 0-1), B = next 3 (positions 2-4), C = the rest.
    # sorted: 500 a, 300 f, 90 c, 90 d, 60 j, 20 b, 10 e, 5 g, 1 h, 1 i
    assert out["tier"].astype(str).to_dict() == {
        "a": "A",
        "f": "A",
        "c": "B",
        "d": "B",
        "j": "B",
        "b": "C",
        "e": "C",
        "g": "C",
        "h": "C",
        "i": "C",
    }
    # a tie across the A/B boundary joins A: 300 and 300 at positions 1 and 2
    s2 = s.assign(monetary_total=[500.0, 20.0, 300.0, 90.0, 10.0, 300.0, 5.0, 1.0, 1.0, 60.0])
    assert value_tiers(s2)["tier"].astype(str).tolist().count("A") == 3
    assert out.index.equals(s.index) and out["tier"].cat.ordered


def test_value_tiers_options():
    s = pd.DataFrame({"spend": [3.0, 2.0, 1.0]})
    out = value_tiers(s, by="spend", shares=(1 / 3, 2 / 3), labels=("gold", "rest"))
    assert out["tier"].astype(str).tolist() == ["gold", "rest", "rest"]
    with pytest.raises(InvalidDataError, match="add up to 1"):
        value_tiers(s, by="spend", shares=(0.5, 0.2), labels=("x", "y"))
    with pytest.raises(InvalidDataError, match="one per share"):
        value_tiers(s, by="spend", labels=("x", "y"))
    with pytest.raises(ColumnNotFoundError, match="Available columns: \\['spend'\\]"):
        value_tiers(s)


def test_pareto_hand_computed():
    s = pd.DataFrame(
        {"monetary_total": [100.0, 600.0, 50.0, 200.0, 50.0]},
        index=pd.Index(list("abcde"), name="customer_id"),
    )
    curve = pareto(s)
    assert curve.index.tolist() == ["b", "d", "a", "c", "e"]
    # cumulative 600, 800, 900, 950, 1000 of 1000
    assert curve["revenue_share"].tolist() == pytest.approx([0.6, 0.8, 0.9, 0.95, 1.0])
    assert curve["customer_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve.attrs["top_share"] == pytest.approx(0.6)
    assert curve.attrs["headline"] == "The top 20% of customers bring 60.0% of revenue."
    # top 30%: halfway between 0.6 (at 20%) and 0.8 (at 40%) -> 0.7
    assert pareto(s, top=0.3).attrs["top_share"] == pytest.approx(0.7)


def test_pareto_errors():
    s = pd.DataFrame({"monetary_total": [1.0, -2.0]}, index=pd.Index(["a", "b"], name="id"))
    with pytest.raises(InvalidDataError, match="1 negative value.*'b'"):
        pareto(s)
    with pytest.raises(InvalidDataError, match="positive total"):
        pareto(s.assign(monetary_total=[0.0, 0.0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_pareto_and_tiers_properties(values):
    s = pd.DataFrame({"monetary_total": values})
    before = s.copy()
    tiers = value_tiers(s)
    pd.testing.assert_frame_equal(s, before)
    # equal values share a tier; a higher value never lands in a lower tier
    codes = tiers["tier"].cat.codes.to_numpy()
    v = np.asarray(values)
    for i in range(len(v)):
        assert (codes[v == v[i]] == codes[i]).all()
        assert (codes[v > v[i]] <= codes[i]).all()
    if sum(values) > 0:
        curve = pareto(s)
        assert (np.diff(curve["revenue_share"]) >= -1e-12).all()
        assert curve["revenue_share"].iloc[-1] == pytest.approx(1.0)
        # the best customers hold at least their share of revenue
        assert (curve["revenue_share"] >= curve["customer_share"] - 1e-9).all()


# --- clusters ----------------------------------------------------------------------------------
def blobs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = [
        (rng.normal(5, 1, 60).clip(0), rng.poisson(9, 60) + 1, rng.normal(900, 50, 60)),
        (rng.normal(300, 10, 40), np.ones(40), rng.normal(30, 3, 40)),
        (rng.normal(100, 5, 20), rng.poisson(3, 20) + 1, rng.normal(200, 10, 20)),
    ]
    return pd.DataFrame(
        {
            "days_since_last": np.concatenate([p[0] for p in parts]),
            "n_orders": np.concatenate([p[1] for p in parts]),
            "monetary_total": np.concatenate([p[2] for p in parts]),
        },
        index=pd.Index([f"c{i:03d}" for i in range(120)], name="customer_id"),
    )


def test_cluster_auto_finds_three_groups_in_original_units():
    s = blobs()
    before = s.copy()
    result = cluster(s)
    pd.testing.assert_frame_equal(s, before)
    assert isinstance(result, Clusters)
    assert result.k == 3
    assert result.silhouette.idxmax() == 3
    assert result.silhouette.index.tolist() == list(range(2, 9))
    # largest first: 60, 40, 20 customers, each group kept together
    assert result.profile["customers"].tolist() == [60, 40, 20]
    labels = result.labels.to_numpy()
    assert set(labels[:60]) == {0} and set(labels[60:100]) == {1} and set(labels[100:]) == {2}
    assert result.labels.index.equals(s.index) and result.labels.name == "cluster"
    # profile in original units: the mean of the big group's monetary is near 900
    assert result.profile.loc[0, "monetary_total"] == pytest.approx(s["monetary_total"][:60].mean())
    assert result.profile["share"].sum() == pytest.approx(1.0)


def test_cluster_fixed_k_reproducible_and_errors():
    s = blobs(1)
    a = cluster(s, k=2, random_state=3)
    b = cluster(s, k=2, random_state=3)
    assert a.labels.equals(b.labels) and a.k == 2 and a.silhouette.empty
    with pytest.raises(InvalidDataError, match="k must be an integer >= 2"):
        cluster(s, k=1)
    with pytest.raises(InvalidDataError, match="k='best' is not supported"):
        cluster(s, k="best")
    with pytest.raises(ColumnNotFoundError, match="'recency'"):
        cluster(s, features=("recency",))
    with pytest.raises(InvalidDataError, match="more than the 2 distinct"):
        cluster(s.iloc[[0, 0, 1]], k=3)


# --- tags and the safe rule evaluator -----------------------------------------------------------
@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "monetary_total": [1500.0, 80.0, 900.0, np.nan],
            "n_orders": [10, 1, 4, 2],
            "r_score": [1, 5, 2, 3],
            "m_score": [5, 1, 4, 3],
            "region": ["north", "south", "east", None],
        },
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )


def test_tag_rules_hand_checked(table):
    before = table.copy()
    out = tag(
        table,
        {
            "high_value": "monetary_total >= 1000",
            "lapsed_vip": "r_score <= 2 and m_score >= 4",
            "south_or_east": "region in ['south', 'east']",
            "not_north": "not region == 'north'",
            "aov_over_150": "monetary_total / n_orders > 150",  # 150, 80, 225, NaN
            "mid": "2 <= r_score < 5",  # chained
            "either": "n_orders > 5 or r_score == 5",
            "outside": "region not in ('north',)",
            "negated": "-m_score < -3",
        },
    )
    pd.testing.assert_frame_equal(table, before)
    assert out.index.equals(table.index)
    assert out.to_dict("list") == {
        "high_value": [True, False, False, False],  # NaN compares False
        "lapsed_vip": [True, False, True, False],
        "south_or_east": [False, True, True, False],
        "not_north": [False, True, True, True],
        "aov_over_150": [False, False, True, False],
        "mid": [False, False, True, True],
        "either": [True, True, False, False],
        "outside": [False, True, True, True],
        "negated": [True, False, True, False],
    }
    assert out.dtypes.map(str).unique().tolist() == ["bool"]


@pytest.mark.parametrize(
    ("rule", "what"),
    [
        ("__import__('os')", "a function call"),
        ("__import__('os').system('echo hi') == 0", "a function call"),
        ("monetary_total.__class__ == 1", "attribute access"),
        ("().__class__.__bases__ == 1", "attribute access"),
        ("().__class__.__bases__[0] == 1", "indexing"),
        ("__builtins__ == 1", "a double-underscore name"),
        ("n_orders ** 99999999 > 1", "the power operator **"),
        ("(lambda: 1)() == 1", "a function call"),
        ("[x for x in n_orders] == 1", "a function or comprehension"),
        ("region[0] == 'n'", "indexing"),
        ("open('/etc/passwd')", "a function call"),
    ],
)
def test_tag_rejects_unsafe_rules_with_a_clear_message(table, rule, what):
    with pytest.raises(InvalidDataError) as info:
        tag(table, {"bad": rule})
    text = str(info.value)
    assert f"uses {what}" in text
    assert "not allowed" in text
    assert "Rules may use column names" in text
    assert "rule 'bad'" in text


def test_tag_unknown_column_lists_available(table):
    with pytest.raises(ColumnNotFoundError) as info:
        tag(table, {"vip": "monetary >= 1000"})
    text = str(info.value)
    assert "column 'monetary'" in text
    assert (
        "Available columns: ['monetary_total', 'n_orders', 'r_score', 'm_score', 'region']" in text
    )
    assert "did you mean 'monetary_total'" in text


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("monetary_total + 1", "must be a condition"),
        ("n_orders >", "not a valid expression"),
        ("region * 3 == 'x'", "arithmetic needs numbers"),
        ("'a' * 100000000 == region", "arithmetic needs numbers"),
        ("n_orders and r_score", "need conditions"),
        ("n_orders in 3", "`in` without a [...] list"),
        ("n_orders is None", "`is` comparisons"),
    ],
)
def test_tag_other_invalid_rules(table, rule, message):
    with pytest.raises(InvalidDataError) as info:
        tag(table, {"x": rule})
    assert message in str(info.value)


def test_tag_needs_rules(table):
    with pytest.raises(InvalidDataError, match="non-empty mapping"):
        tag(table, {})
    with pytest.raises(InvalidDataError, match="must be a string"):
        tag(table, {"x": 3})


# --- profiles ------------------------------------------------------------------------------------
def test_profile_by_category_counts_net_purchases_only():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "b", "x"],
            "category": ["shoes", "bags", "shoes", "bags", "shoes", "bags", "bags"],
            "amount": [60.0, 40.0, 100.0, 100.0, 30.0, 500.0, 70.0],
            "status": ["paid", "paid", "paid", "paid", "cancelled", "refunded", "paid"],
            "refund_amount": [10.0, 0.0, 0.0, 0.0, 0.0, 500.0, 0.0],
        }
    )
    labels = pd.Series(
        ["vip", "vip", "other"], index=pd.Index(["a", "b", "c"], name="customer_id"), name="segment"
    )
    before = orders.copy()
    out = profile(orders, labels)
    pd.testing.assert_frame_equal(orders, before)
    # purchases: a shoes 50 (60 - 10), a bags 40, b shoes 100, c bags 100; the cancelled and
    # refunded rows and unlabelled customer x are out. Overall: shoes 150, bags 140 of 290.
    # vip: shoes 150 / 190, bags 40 / 190; other: bags 100 / 100
    rows = {(r.segment, r.category): r for r in out.itertuples()}
    assert rows[("vip", "shoes")].value == 150.0
    assert rows[("vip", "shoes")].share == pytest.approx(150 / 190)
    assert rows[("vip", "shoes")].overall_share == pytest.approx(150 / 290)
    assert rows[("vip", "shoes")].lift == pytest.approx((150 / 190) / (150 / 290))
    assert rows[("other", "bags")].lift == pytest.approx(1 / (140 / 290))
    assert list(out.columns) == ["segment", "category", "value", "share", "overall_share", "lift"]


def test_profile_by_customer_attribute_counts_customers():
    orders = pd.DataFrame({"customer_id": ["a"], "amount": [1.0], "status": ["paid"]})
    labels = pd.Series([0, 0, 1, 1], index=["a", "b", "c", "d"], name="cluster")
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "gender": ["female", "female", "male", None]}
    )
    out = profile(orders, labels, by="gender", customers=customers)
    # overall: female 2, male 1, missing 1 of 4; cluster 0 all female -> lift 1 / 0.5 = 2
    rows = {(r.cluster, r.gender): r for r in out.itertuples()}
    assert rows[(0, "female")].value == 2.0 and rows[(0, "female")].lift == pytest.approx(2.0)
    assert rows[(1, "male")].share == pytest.approx(0.5)
    assert rows[(1, "(missing)")].lift == pytest.approx(0.5 / 0.25)


def test_profile_unknown_by_lists_columns():
    orders = pd.DataFrame({"customer_id": ["a"], "amount": [1.0], "categroy": ["x"]})
    labels = pd.Series(["s"], index=["a"])
    with pytest.raises(ColumnNotFoundError) as info:
        profile(orders, labels)
    assert "Available columns: ['customer_id', 'amount', 'categroy']" in str(info.value)
    assert "by='categroy'" in str(info.value)
