"""Tests of KPI trees and their driver decomposition (crm_analytics.kpi)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.kpi import (
    ECOMMERCE,
    ECOMMERCE_TRAFFIC,
    Formula,
    KpiResult,
    KpiTree,
    Measure,
    decompose,
    kpi_tree,
)

# every test on both paths of pandas input: run through polars, and numpy alone
pytestmark = pytest.mark.usefixtures("pandas_path")

# sales = customers × sales_per_customer: the two-driver tree of the worked example
TWO = KpiTree(
    [
        Formula("sales", "product", ("customers", "sales_per_customer")),
        Measure("customers", "nunique", of="customer_id"),
        Formula("sales_per_customer", "ratio", ("revenue", "customers")),
        Measure("revenue", "sum", of="net_amount"),
    ],
    root="sales",
)


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, 'YYYY-MM-DD', amount[, status[, quantity]])."""
    full = [(*r, "paid", 1)[:6] if len(r) == 4 else (*r, 1)[:6] if len(r) == 5 else r for r in rows]
    df = pd.DataFrame(
        full, columns=["order_id", "customer_id", "order_time", "amount", "status", "quantity"]
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    return df


def _worked_example() -> pd.DataFrame:
    n0, n1 = 1000, 1200
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n0 + n1)],
            "customer_id": [f"c{i}" for i in range(n0 + n1)],
            "order_time": pd.to_datetime(["2024-01-15"] * n0 + ["2024-02-15"] * n1),
            "amount": [50.0] * n0 + [45.0] * n1,
            "status": "paid",
        }
    )


def _leaf_sum(dec: pd.DataFrame) -> float:
    leaves = dec.index[~dec.index.isin(dec["parent"].dropna())]
    return float(dec.loc[leaves, "contribution"].sum())


def _rounding(terms: pd.Series) -> float:
    """What floating-point summation of ``terms`` can lose: a few ulps of their size.

    Contributions of opposite sign can be far larger than their sum (Shapley values of
    drivers that move a lot in opposite directions), so the tolerance scales with them.
    """
    return 16 * np.finfo(float).eps * float(terms.abs().sum()) + 1e-9


def _check_additivity(dec: pd.DataFrame) -> None:
    root_change = dec["change"].iloc[0]
    leaves = dec.loc[~dec.index.isin(dec["parent"].dropna()), "contribution"]
    assert _leaf_sum(dec) == pytest.approx(root_change, rel=1e-9, abs=_rounding(leaves))
    assert dec["contribution"].iloc[0] == pytest.approx(root_change, rel=1e-12, abs=1e-12)
    for node in dec.index:
        kids = dec[dec["parent"] == node]  # with by=, the mix row is a child of the root
        if len(kids):
            assert kids["contribution"].sum() == pytest.approx(
                dec.at[node, "contribution"], rel=1e-9, abs=_rounding(kids["contribution"])
            )


# --------------------------------------------------------------------------- worked example
def test_worked_example_lmdi_and_shapley() -> None:
    result = kpi_tree(_worked_example(), tree=TWO)
    lmdi = decompose(result, base="2024-01", current="2024-02")
    # L(S1, S0) = (54000 - 50000) / ln(54000 / 50000) = 51,974.0; × ln(1200/1000) = 9,475.97
    log_mean = 4000 / math.log(54000 / 50000)
    assert lmdi.at["customers", "contribution"] == pytest.approx(log_mean * math.log(1.2))
    assert round(lmdi.at["customers", "contribution"]) == 9476
    assert lmdi.at["sales_per_customer", "contribution"] == pytest.approx(
        log_mean * math.log(45 / 50)
    )
    shapley = decompose(result, base="2024-01", current="2024-02", method="shapley")
    # 200 × (50 + 45) / 2 = 9,500 and -5 × (1000 + 1200) / 2 = -5,500
    assert shapley.at["customers", "contribution"] == pytest.approx(9500.0)
    assert shapley.at["sales_per_customer", "contribution"] == pytest.approx(-5500.0)
    assert list(shapley.columns) == [
        "parent",
        "depth",
        "op",
        "base",
        "current",
        "change",
        "contribution",
        "share",
    ]
    assert shapley.at["sales", "change"] == 4000.0
    assert shapley.at["customers", "share"] == pytest.approx(9500 / 4000)


# --------------------------------------------------------------------------- hand-computed tree
def test_ecommerce_tree_by_hand(tiny_orders: pd.DataFrame) -> None:
    result = kpi_tree(tiny_orders)
    w = result.wide
    assert [str(p) for p in w.index] == ["2024-01", "2024-02", "2024-03"]
    jan, feb, mar = (w.loc[pd.Period(p, "M")] for p in ("2024-01", "2024-02", "2024-03"))
    # January: a (a1 100, a2 30+20 with 3 items), e (10 + 15); d fully refunded
    assert jan["sales"] == pytest.approx(175.0)
    assert (jan["customers"], jan["new_customers"], jan["returning_customers"]) == (2, 2, 0)
    assert (jan["orders"], jan["items"]) == (4, 6)
    assert jan["orders_per_customer"] == 2.0
    assert jan["aov"] == pytest.approx(43.75)
    assert jan["items_per_order"] == 1.5
    assert jan["avg_item_price"] == pytest.approx(175 / 6)
    assert jan["refund_rate"] == pytest.approx(70 / 245)  # d1 70 of 100+30+20+70+10+15
    assert jan["repurchase_rate"] == 1.0  # a and e both have two orders
    assert jan["sales_per_customer"] == pytest.approx(87.5)
    # February: b1 80 paid, b2 cancelled
    assert (feb["sales"], feb["customers"], feb["placed_orders"]) == (80.0, 1, 2)
    assert feb["unpaid_order_rate"] == 0.0
    # March: a3 60 - 10 (returning a), c1 25 (new c), c2 unpaid
    assert mar["sales"] == pytest.approx(75.0)
    assert (mar["new_customers"], mar["returning_customers"]) == (1, 1)
    assert mar["unpaid_order_rate"] == pytest.approx(1 / 3)
    assert mar["refund_rate"] == pytest.approx(10 / 85)

    lmdi = decompose(result, base="2024-02", current="2024-03")
    log_mean = -5 / math.log(75 / 80)  # L(75, 80) = 77.473
    assert lmdi.at["customers", "contribution"] == pytest.approx(log_mean * math.log(2))
    assert lmdi.at["aov", "contribution"] == pytest.approx(log_mean * math.log(37.5 / 80))
    assert lmdi.at["orders_per_customer", "contribution"] == 0.0
    assert lmdi.at["new_customers", "contribution"] == 0.0  # 1 -> 1
    assert lmdi.at["returning_customers", "contribution"] == pytest.approx(log_mean * math.log(2))
    assert lmdi.at["avg_item_price", "contribution"] == pytest.approx(
        lmdi.at["aov", "contribution"]
    )
    _check_additivity(lmdi)
    shapley = decompose(result, base="2024-02", current="2024-03", method="shapley")
    # customers 1 -> 2, opc 1 -> 1, aov 80 -> 37.5: Δc × (a0 + a1)/2 and Δa × (c0 + c1)/2
    assert shapley.at["customers", "contribution"] == pytest.approx(58.75)
    assert shapley.at["aov", "contribution"] == pytest.approx(-63.75)
    _check_additivity(shapley)


def test_long_and_total(tiny_orders: pd.DataFrame) -> None:
    result = kpi_tree(tiny_orders)
    long = result.long
    assert list(long.columns) == ["period", "node", "value"]
    assert len(long) == 3 * len(ECOMMERCE.names)
    assert long.query("node == 'sales'")["value"].tolist() == pytest.approx([175, 80, 75])
    pd.testing.assert_frame_equal(result.total, result.wide)
    assert repr(result) == "KpiResult(root='sales', period='M', 3 periods: 2024-01..2024-03)"


# --------------------------------------------------------------------------- the sample shop
@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return crm.datasets.load_sample()


def test_identities_and_oracles_on_the_sample(sample: pd.DataFrame) -> None:
    before = sample.copy()
    w = kpi_tree(sample).wide
    pd.testing.assert_frame_equal(sample, before)
    np.testing.assert_allclose(
        w["sales"], w["customers"] * w["orders_per_customer"] * w["aov"], rtol=1e-12
    )
    np.testing.assert_allclose(w["aov"], w["items_per_order"] * w["avg_item_price"], rtol=1e-12)
    np.testing.assert_array_equal(w["customers"], w["new_customers"] + w["returning_customers"])
    np.testing.assert_allclose(w["sales"], w["revenue"], rtol=1e-12)
    # independent pandas oracles
    paid = sample[(sample["status"] == "paid") & (sample["refund_amount"] < sample["amount"])]
    month = paid["order_time"].dt.to_period("M")
    net = (paid["amount"] - paid["refund_amount"]).groupby(month).sum()
    np.testing.assert_allclose(w["revenue"], net.reindex(w.index), rtol=1e-12)
    buyers = paid.groupby(month)["customer_id"].nunique()
    np.testing.assert_array_equal(w["customers"], buyers.reindex(w.index))
    placed = sample.groupby(sample["order_time"].dt.to_period("M"))["order_id"].nunique()
    unpaid = (
        sample[sample["status"] == "unpaid"]
        .groupby(sample["order_time"].dt.to_period("M"))["order_id"]
        .nunique()
    )
    np.testing.assert_allclose(
        w["unpaid_order_rate"], (unpaid / placed).reindex(w.index).fillna(0), rtol=1e-12
    )
    first = paid.groupby("customer_id")["order_time"].min().dt.to_period("M")
    assert w["new_customers"].sum() == len(first)


def test_by_channel_groups_add_up(sample: pd.DataFrame) -> None:
    result = kpi_tree(sample, by="channel")
    assert result.wide.index.names == ["period", "channel"]
    sums = result.wide.groupby(level="period")[["sales", "orders", "items"]].sum()
    np.testing.assert_allclose(sums, result.total[["sales", "orders", "items"]], rtol=1e-12)
    w = result.wide
    np.testing.assert_array_equal(w["customers"], w["new_customers"] + w["returning_customers"])
    one = kpi_tree(sample[sample["channel"] == "天猫"])
    tmall = w.xs("天猫", level="channel")
    np.testing.assert_allclose(tmall["sales"], one.wide["sales"].reindex(tmall.index), rtol=1e-12)
    np.testing.assert_array_equal(tmall["customers"], one.wide["customers"].reindex(tmall.index))
    for method in ("lmdi", "shapley"):
        dec = decompose(result, base="2024-10", current="2024-11", by="channel", method=method)
        assert dec.index[-1] == "channel mix"
        assert dec.at["channel mix", "op"] == "mix"
        _check_additivity(dec)
        total_change = (
            result.total.loc[pd.Period("2024-11", "M"), "sales"]
            - (result.total.loc[pd.Period("2024-10", "M"), "sales"])
        )
        assert dec.at["sales", "change"] == pytest.approx(total_change)
    plain = decompose(result, base="2024-10", current="2024-11")
    assert "channel mix" not in plain.index
    _check_additivity(plain)


def test_by_with_a_group_in_one_period_only() -> None:
    orders = _orders(
        [
            ("1", "a", "2024-01-05", 10.0),
            ("2", "b", "2024-01-06", 20.0),
            ("3", "a", "2024-02-05", 30.0),
            ("4", "c", "2024-02-06", 40.0),
        ]
    )
    orders["channel"] = ["web", "web", "web", "app"]  # app appears in February
    result = kpi_tree(orders, by="channel")
    # web: 30 -> 30 with X 2 -> 2 customers, its share 1 -> 0.5 and aov 15 -> 30;
    # app (February only) brings its 40 entirely as mix
    lmdi = decompose(result, base="2024-01", current="2024-02", by="channel")
    _check_additivity(lmdi)
    assert lmdi.at["sales", "change"] == 40.0
    assert lmdi.at["channel mix", "contribution"] == pytest.approx(40 + 30 * math.log(0.5))
    assert lmdi.at["aov", "contribution"] == pytest.approx(30 * math.log(2))
    assert lmdi.at["customers", "contribution"] == 0.0
    shapley = decompose(result, base="2024-01", current="2024-02", by="channel", method="shapley")
    _check_additivity(shapley)
    # share: -0.5 × 2 × (15 + 30) / 2 = -22.5; aov: 15 × 2 × (1 + 0.5) / 2 = 22.5
    assert shapley.at["channel mix", "contribution"] == pytest.approx(40 - 22.5)
    assert shapley.at["aov", "contribution"] == pytest.approx(22.5)


def test_row_order_does_not_matter(sample: pd.DataFrame) -> None:
    shuffled = sample.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(kpi_tree(shuffled).wide, kpi_tree(sample).wide)


def test_as_of_and_periods(tiny_orders: pd.DataFrame) -> None:
    cut = kpi_tree(tiny_orders, as_of="2024-02-28")
    assert [str(p) for p in cut.wide.index] == ["2024-01", "2024-02"]
    quarters = kpi_tree(tiny_orders, period="Q")
    assert quarters.wide["sales"].tolist() == pytest.approx([330.0])
    assert quarters.wide["customers"].tolist() == [4]
    weeks = kpi_tree(tiny_orders, period="W")
    assert weeks.wide["sales"].sum() == pytest.approx(330.0)


def test_traffic_tree_with_events() -> None:
    orders = _orders([("1", "a", "2024-01-05", 10.0), ("2", "b", "2024-02-05", 20.0)])
    events = pd.DataFrame(
        {
            "customer_id": ["a", "x", "y", "a", "b", "z", "w", "v"],
            "event_time": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-02"] + ["2024-02-01"] * 5
            ),
            "event_type": ["visit"] * 8,
        }
    )
    result = kpi_tree(orders, events=events)
    assert result.tree is ECOMMERCE_TRAFFIC
    w = result.wide
    assert w["visitors"].tolist() == [3, 5]
    assert w["conversion_rate"].tolist() == pytest.approx([1 / 3, 1 / 5])
    np.testing.assert_allclose(w["customers"], w["visitors"] * w["conversion_rate"])
    assert w["customers"].tolist() == pytest.approx([1, 1])
    dec = decompose(result, base="2024-01", current="2024-02")
    _check_additivity(dec)
    assert "visitors" in dec.index and "new_customers" not in dec.index


def test_custom_tree_with_a_category_branch(sample: pd.DataFrame) -> None:
    tree = KpiTree(
        [
            Formula("sales", "sum", ("tea_sales", "other_sales")),
            Measure("tea_sales", "sum", of="net_amount", match={"category": "茶饮"}),
            Measure("other_sales", "sum", of="net_amount", match={"category": ["零食坚果"]}),
        ],
        root="sales",
    )
    w = kpi_tree(sample, tree=tree).wide
    paid = sample[(sample["status"] == "paid") & (sample["refund_amount"] < sample["amount"])]
    tea = paid[paid["category"] == "茶饮"]
    expected = (tea["amount"] - tea["refund_amount"]).groupby(tea["order_time"].dt.to_period("M"))
    np.testing.assert_allclose(w["tea_sales"], expected.sum().reindex(w.index, fill_value=0.0))
    dec = decompose(kpi_tree(sample, tree=tree), base="2024-05", current="2024-06")
    assert dec.at["tea_sales", "contribution"] == pytest.approx(dec.at["tea_sales", "change"])


def test_polars_input_gives_the_same_result(tiny_orders: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    pd.testing.assert_frame_equal(
        kpi_tree(pl.from_pandas(tiny_orders)).wide, kpi_tree(tiny_orders).wide
    )


def test_to_text(tiny_orders: pd.DataFrame) -> None:
    result = kpi_tree(tiny_orders)
    text = result.to_text()
    assert text.splitlines()[0] == "sales: 2024-02 -> 2024-03 (lmdi)"
    assert "└─ aov" in text and "│  ├─ new_customers" in text
    assert "side measures: sales_per_customer" in text
    first = result.to_text("2024-01")
    assert first.splitlines()[0] == "sales in 2024-01"
    zh = result.to_text(lang="zh", base="2024-01", method="shapley")
    # both meanings of 客单价, each with its node name
    assert "客单价(按订单,笔单价) [aov]" in zh
    assert "客单价(按买家) [sales_per_customer]" in zh
    assert "(shapley)" in zh.splitlines()[0]
    tree_text = ECOMMERCE.to_text()
    assert tree_text.splitlines()[0] == "sales = customers × orders_per_customer × aov"


# --------------------------------------------------------------------------- properties
def _result_of(tree: KpiTree, rows: dict[str, list[float]]) -> KpiResult:
    """A KpiResult built from measure values per period (formulas computed here)."""
    from crm_analytics.kpi import _evaluate_formulas

    values = {k: np.asarray(v, dtype="float64") for k, v in rows.items()}
    _evaluate_formulas(tree, values)
    index = pd.period_range("2024-01", periods=len(next(iter(rows.values()))), freq="M")
    wide = pd.DataFrame({n: values[n] for n in tree.names}, index=index.rename("period"))
    return KpiResult(wide=wide, tree=tree, period="M", by=None, total=wide)


THREE = KpiTree(
    [
        Formula("y", "product", ("a", "bc", "d")),
        Measure("a", "count"),
        Formula("bc", "sum", ("b", "c")),
        Measure("b", "count"),
        Measure("c", "count"),
        Formula("d", "product", ("e", "f")),
        Measure("e", "count"),
        Measure("f", "count"),
    ],
    root="y",
)
positive = st.floats(0.01, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(positive, positive), min_size=5, max_size=5))
def test_contributions_add_up_for_any_positive_values(pairs) -> None:
    rows = {name: list(pair) for name, pair in zip(["a", "b", "c", "e", "f"], pairs, strict=True)}
    result = _result_of(THREE, rows)
    for method in ("lmdi", "shapley"):
        dec = decompose(result, base="2024-01", current="2024-02", method=method)
        _check_additivity(dec)
        np.testing.assert_allclose(
            result.wide["y"], result.wide["a"] * result.wide["bc"] * result.wide["d"], rtol=1e-12
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(positive, min_size=5, max_size=5),
    st.sampled_from(["a", "b", "c", "e", "f"]),
    st.floats(0.05, 20.0).filter(lambda r: abs(r - 1) > 1e-3),
)
def test_single_driver_change_same_sign_in_both_methods(base, driver, ratio) -> None:
    names = ["a", "b", "c", "e", "f"]
    rows = {n: [v, v * ratio if n == driver else v] for n, v in zip(names, base, strict=True)}
    result = _result_of(THREE, rows)
    lmdi = decompose(result, base="2024-01", current="2024-02")
    shapley = decompose(result, base="2024-01", current="2024-02", method="shapley")
    change = result.wide["y"].iloc[1] - result.wide["y"].iloc[0]
    # contributions come from y-level quantities: their rounding is relative to y (a
    # driver inside a sum can move y by a tiny fraction of it)
    scale = 1e-9 * max(abs(change), result.wide["y"].abs().max())
    for dec in (lmdi, shapley):
        assert np.sign(dec.at[driver, "contribution"]) == np.sign(change)
        assert dec.at[driver, "contribution"] == pytest.approx(change, rel=1e-9, abs=scale)
        others = [n for n in names if n != driver]
        assert np.allclose(dec.loc[others, "contribution"], 0.0, atol=scale)


order_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # customer
        st.integers(0, 1),  # month
        st.floats(0.5, 500.0),  # amount
        st.integers(1, 4),  # quantity
        st.sampled_from(["paid", "paid", "paid", "unpaid", "channel-b"]),
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_rows)
def test_any_orders_identities_and_additivity(rows) -> None:
    rows = [*rows, (0, 0, 10.0, 1, "paid"), (1, 1, 20.0, 2, "paid")]  # purchases in both months
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(rows))],
            "customer_id": [f"c{r[0]}" for r in rows],
            "order_time": pd.to_datetime([f"2024-0{r[1] + 1}-10" for r in rows]),
            "amount": [r[2] for r in rows],
            "quantity": [r[3] for r in rows],
            "status": ["unpaid" if r[4] == "unpaid" else "paid" for r in rows],
            "channel": ["b" if r[4] == "channel-b" else "a" for r in rows],
        }
    )
    result = kpi_tree(orders)
    w = result.wide
    np.testing.assert_allclose(
        w["sales"], w["customers"] * w["orders_per_customer"] * w["aov"], rtol=1e-12
    )
    np.testing.assert_allclose(w["sales"], w["revenue"], rtol=1e-12)
    for method in ("lmdi", "shapley"):
        _check_additivity(decompose(result, base="2024-01", current="2024-02", method=method))
        grouped = kpi_tree(orders, by="channel")
        dec = decompose(grouped, base="2024-01", current="2024-02", by="channel", method=method)
        _check_additivity(dec)


# --------------------------------------------------------------------------- errors
def test_unknown_node_and_cycle_are_clear_errors() -> None:
    with pytest.raises(InvalidDataError, match="refers to unknown node 'custmers'") as info:
        KpiTree(
            [Formula("s", "product", ("custmers", "v")), Measure("customers", "count"),
             Measure("v", "count")],
            root="s",
        )  # fmt: skip
    assert "did you mean 'customers'?" in str(info.value)
    with pytest.raises(InvalidDataError, match=r"cycle: a -> b -> a") as info:
        KpiTree(
            [Formula("a", "ratio", ("b", "c")), Formula("b", "sum", ("a", "c")),
             Measure("c", "count")],
            root="a",
        )  # fmt: skip
    assert "compute one of them from the orders" in str(info.value)
    with pytest.raises(InvalidDataError, match="root= refers to unknown node 'total'"):
        ECOMMERCE.replace(root="total")
    with pytest.raises(InvalidDataError, match="needs exactly 2"):
        KpiTree([Formula("r", "ratio", ("a",)), Measure("a", "count")], root="r")
    with pytest.raises(InvalidDataError, match="appears twice under the root"):
        KpiTree([Formula("p", "product", ("a", "a")), Measure("a", "count")], root="p")
    with pytest.raises(InvalidDataError, match=r"needs of=.*of='net_amount'"):
        KpiTree([Measure("m", "sum")], root="m")
    with pytest.raises(InvalidDataError, match="where='paid' is not supported"):
        KpiTree([Measure("m", "count", where="paid")], root="m")


def test_decompose_errors(tiny_orders: pd.DataFrame) -> None:
    result = kpi_tree(tiny_orders)
    with pytest.raises(InvalidDataError, match=r"period '2023-12' is not in the result") as info:
        decompose(result, base="2023-12", current="2024-01")
    assert "'2024-01', '2024-02', '2024-03'" in str(info.value)
    zero = _result_of(THREE, {"a": [1, 2], "b": [1, 1], "c": [1, 1], "e": [0, 3], "f": [1, 1]})
    with pytest.raises(
        InvalidDataError, match=r"LMDI needs positive values, but 'y' is 0.0"
    ) as info:
        decompose(zero, base="2024-01", current="2024-02")
    assert "Hint: use method='shapley'" in str(info.value)
    _check_additivity(decompose(zero, base="2024-01", current="2024-02", method="shapley"))
    with pytest.raises(InvalidDataError, match=r"kpi_tree\(orders, by='channel'\)"):
        decompose(result, base="2024-01", current="2024-02", by="channel")
    with pytest.raises(InvalidDataError, match="method='share' is not supported"):
        decompose(result, base="2024-01", current="2024-02", method="share")
    with pytest.raises(InvalidDataError, match="expected the KpiResult"):
        decompose(result.wide, base="2024-01", current="2024-02")  # type: ignore[arg-type]


def test_kpi_tree_errors(tiny_orders: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match=r"Hint: pass time_col='order_time'"):
        kpi_tree(tiny_orders, time_col="date")
    with pytest.raises(ColumnNotFoundError, match=r"column 'region' \(by\) not found"):
        kpi_tree(tiny_orders, by="region")
    text_times = tiny_orders.assign(order_time=tiny_orders["order_time"].astype(str))
    with pytest.raises(InvalidDataError, match=r"pd.to_datetime"):
        kpi_tree(text_times)
    with pytest.raises(InvalidDataError, match="period='H' is not supported"):
        kpi_tree(tiny_orders, period="H")
    with pytest.raises(InvalidDataError, match=r"(?s)events= was not given.*read_events"):
        kpi_tree(tiny_orders, tree=ECOMMERCE_TRAFFIC)
    tree = KpiTree([Measure("cost", "sum", of="cost")], root="cost")
    with pytest.raises(ColumnNotFoundError, match=r"measure 'cost' aggregates column 'cost'"):
        kpi_tree(tiny_orders, tree=tree)
    with pytest.raises(InvalidDataError, match="tree must be a KpiTree"):
        kpi_tree(tiny_orders, tree="ecommerce")  # type: ignore[arg-type]


def test_undefined_ratio_is_named(tiny_orders: pd.DataFrame) -> None:
    # a month with only a cancelled order: orders_per_customer is 0/0
    orders = pd.concat(
        [tiny_orders, _orders([("z1", "z", "2024-04-02", 5.0, "cancelled")])], ignore_index=True
    )
    result = kpi_tree(orders)
    assert result.wide["sales"].iloc[-1] == 0.0
    assert np.isnan(result.wide["orders_per_customer"].iloc[-1])
    with pytest.raises(InvalidDataError, match=r"'orders_per_customer' is undefined"):
        decompose(result, base="2024-03", current="2024-04", method="shapley")
