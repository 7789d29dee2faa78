"""Tests of crm_analytics.basket: basket matrix, frequent itemsets and association rules.

Oracles: the published arules results on Groceries (../shared/REFERENCES.md), mlxtend
(test-only), brute-force counting on small random data, and hand-computed cases.
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_analytics import datasets
from crm_analytics.basket import (
    BasketMatrix,
    MiningMemoryError,
    association_rules,
    basket_matrix,
    frequent_itemsets,
    recommend,
    sequential_rules,
)
from crm_analytics.exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError


def fs(*items) -> frozenset:
    return frozenset(items)


@pytest.fixture
def shop() -> pd.DataFrame:
    """Four paid baskets, one cancelled and one fully refunded line.

    o1 {tea, cup}   o2 {tea, cup, pot}   o3 {tea, pot}   o4 {cup}
    o5 (cancelled) {tea, cup, pot}, o6 (refund covers the amount) {pot}
    """
    rows = [
        ("o1", "tea", "paid", 10.0, 0.0, "drink"),
        ("o1", "cup", "paid", 5.0, 0.0, "ware"),
        ("o2", "tea", "paid", 10.0, 0.0, "drink"),
        ("o2", "cup", "paid", 5.0, 0.0, "ware"),
        ("o2", "pot", "paid", 20.0, 2.0, "ware"),
        ("o3", "tea", "paid", 10.0, 0.0, "drink"),
        ("o3", "pot", "paid", 20.0, 0.0, "ware"),
        ("o4", "cup", "paid", 5.0, 0.0, "ware"),
        ("o5", "tea", "cancelled", 10.0, 0.0, "drink"),
        ("o5", "cup", "cancelled", 5.0, 0.0, "ware"),
        ("o5", "pot", "cancelled", 20.0, 0.0, "ware"),
        ("o6", "pot", "paid", 20.0, 20.0, "ware"),
    ]
    return pd.DataFrame(
        rows, columns=["order_id", "product_id", "status", "amount", "refund_amount", "category"]
    )


@pytest.fixture(scope="module")
def groceries_sets(groceries) -> pd.DataFrame:
    return frequent_itemsets(groceries, min_support=0.001, basket_col="basket_id", item_col="item")


def brute_force_counts(dense: np.ndarray, min_count: int, max_len: int | None = None) -> dict:
    """Every itemset with its count, by direct enumeration (small data only)."""
    n_items = dense.shape[1]
    out = {}
    top = n_items if max_len is None else min(max_len, n_items)
    for k in range(1, top + 1):
        found = False
        for combo in combinations(range(n_items), k):
            count = int(dense[:, list(combo)].all(axis=1).sum())
            if count >= min_count:
                out[frozenset(combo)] = count
                found = True
        if not found:
            break
    return out


# --- basket_matrix ---------------------------------------------------------------------
def test_basket_matrix_uses_purchases_only(shop):
    before = shop.copy()
    m = basket_matrix(shop)
    pd.testing.assert_frame_equal(shop, before)
    assert isinstance(m, BasketMatrix)
    # o5 is cancelled and o6 fully refunded: 4 baskets; pot of o2 is partly refunded: kept
    assert list(m.baskets) == ["o1", "o2", "o3", "o4"]
    assert list(m.items) == ["cup", "pot", "tea"]
    assert m.baskets.name == "order_id" and m.items.name == "product_id"
    assert m.matrix.dtype == bool
    assert m.matrix.toarray().astype(int).tolist() == [[1, 0, 1], [1, 1, 1], [0, 1, 1], [1, 0, 0]]


def test_basket_matrix_all_rows_and_levels(shop):
    m = basket_matrix(shop, purchases_only=False)
    assert list(m.baskets) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    cat = basket_matrix(shop, level="category")
    assert list(cat.items) == ["drink", "ware"] and cat.items.name == "category"
    # an item counted once per basket: o2 has cup and pot, both "ware"
    assert cat.matrix.toarray().astype(int).tolist() == [[1, 1], [1, 1], [1, 1], [0, 1]]
    # without a status column every row is a purchase
    assert len(basket_matrix(shop.drop(columns="status")).baskets) == 5


def test_basket_matrix_does_not_depend_on_row_order(shop):
    a = basket_matrix(shop)
    b = basket_matrix(shop.sample(frac=1.0, random_state=3))
    assert (a.matrix != b.matrix).nnz == 0
    assert a.baskets.equals(b.baskets) and a.items.equals(b.items)


def test_basket_matrix_errors_name_column_and_fix(shop):
    with pytest.raises(ColumnNotFoundError, match=r"(?s)'sku' \(item_col\) not found.*product_id"):
        basket_matrix(shop, item_col="sku")
    with pytest.raises(ColumnNotFoundError, match=r"'segment' \(level\)"):
        basket_matrix(shop, level="segment")
    with pytest.raises(
        InvalidDataError, match="(?s)none of the 2 rows is a purchase.*purchases_only=False"
    ):
        basket_matrix(shop[shop.status == "cancelled"].head(2))
    with pytest.raises(InvalidDataError, match="no rows"):
        basket_matrix(shop.head(0))


def test_basket_matrix_missing_items_warn_or_fail(shop):
    gappy = shop.astype({"product_id": object})
    gappy.loc[0, "product_id"] = None
    with pytest.warns(DataQualityWarning, match="1 of 8 purchase rows have no 'product_id'"):
        m = basket_matrix(gappy)
    assert m.matrix.toarray()[0].astype(int).tolist() == [1, 0, 0]  # o1 keeps its cup
    empty = shop.assign(product_id=None)
    with pytest.raises(
        InvalidDataError, match="(?s)'product_id' is empty in all 8.*level='category'"
    ):
        basket_matrix(empty)


def test_long_baskets_dropped_or_truncated_with_a_warning(shop):
    with pytest.warns(DataQualityWarning, match=r"1 of 4 baskets have more than 2 .*'o2'.*dropped"):
        m = basket_matrix(shop, max_basket_size=2)
    assert list(m.baskets) == ["o1", "o3", "o4"]
    with pytest.warns(DataQualityWarning, match="cut to their 2 most frequent items"):
        t = basket_matrix(shop, max_basket_size=2, long_baskets="truncate")
    # item counts: cup 3, tea 3, pot 2 -> o2 keeps cup and tea
    assert t.matrix.toarray()[1].astype(int).tolist() == [1, 0, 1]
    with pytest.raises(InvalidDataError, match="long_baskets='cut'"):
        basket_matrix(shop, max_basket_size=2, long_baskets="cut")
    with pytest.raises(InvalidDataError, match="max_basket_size must be a positive integer"):
        basket_matrix(shop, max_basket_size=0)


def test_basket_matrix_accepts_polars(shop):
    pl = pytest.importorskip("polars")
    a = basket_matrix(shop)
    b = basket_matrix(pl.from_pandas(shop))
    assert (a.matrix != b.matrix).nnz == 0
    assert list(b.items) == list(a.items) and list(b.baskets) == list(a.baskets)
    c = basket_matrix(pl.from_pandas(shop).lazy())
    assert (a.matrix != c.matrix).nnz == 0


# --- frequent_itemsets: hand-computed --------------------------------------------------
def test_frequent_itemsets_hand_computed(shop):
    # 4 baskets: cup in o1 o2 o4 (3), tea in o1 o2 o3 (3), pot in o2 o3 (2),
    # {cup, tea} in o1 o2 (2), {pot, tea} in o2 o3 (2), {cup, pot} in o2 (1),
    # {cup, pot, tea} in o2 (1). At 0.5 (count >= 2): 5 itemsets.
    sets = frequent_itemsets(shop, min_support=0.5)
    assert sets.columns.tolist() == ["itemset", "support", "count", "length"]
    assert sets["itemset"].tolist() == [
        fs("cup"),
        fs("tea"),
        fs("pot"),
        fs("cup", "tea"),
        fs("pot", "tea"),
    ]  # by count, then length, then items
    assert sets["count"].tolist() == [3, 3, 2, 2, 2]
    assert sets["support"].tolist() == [0.75, 0.75, 0.5, 0.5, 0.5]
    assert sets["length"].tolist() == [1, 1, 1, 2, 2]
    assert sets.attrs["n_baskets"] == 4
    every = frequent_itemsets(shop, min_count=1)
    assert len(every) == 7 and every["itemset"].iloc[-1] == fs("cup", "pot", "tea")
    assert frequent_itemsets(shop, min_count=1, max_len=2)["length"].max() == 2
    # the larger of the two thresholds wins
    assert len(frequent_itemsets(shop, min_support=0.25, min_count=2)) == 5


def test_support_threshold_is_inclusive_despite_float_rounding():
    # 0.07 * 100 == 7.000000000000001 in floating point; 7 of 100 baskets must pass
    dense = np.zeros((100, 2), dtype=bool)
    dense[:7, 0] = True
    dense[:6, 1] = True
    sets = frequent_itemsets(dense, min_support=0.07)
    assert sets["itemset"].tolist() == [fs(0)]
    assert sets["count"].tolist() == [7]


def test_frequent_itemsets_inputs_agree(shop):
    m = basket_matrix(shop)
    from_orders = frequent_itemsets(shop, min_support=0.25)
    from_matrix = frequent_itemsets(m, min_support=0.25)
    from_pair = frequent_itemsets((m.matrix, m.items), min_support=0.25)
    onehot = pd.DataFrame(m.matrix.toarray(), columns=m.items)
    from_onehot = frequent_itemsets(onehot, min_support=0.25)
    sparse_onehot = pd.DataFrame.sparse.from_spmatrix(sp.csr_matrix(m.matrix), columns=m.items)
    from_sparse_onehot = frequent_itemsets(
        sparse_onehot.astype(pd.SparseDtype(bool, False)), min_support=0.25
    )
    for other in (from_matrix, from_pair, from_onehot, from_sparse_onehot):
        pd.testing.assert_frame_equal(from_orders, other)
    coded = frequent_itemsets(m.matrix, min_support=0.25)
    assert set(coded["itemset"]) == {
        fs(*[m.items.get_loc(i) for i in s]) for s in from_orders.itemset
    }


def test_frequent_itemsets_does_not_depend_on_row_order():
    orders = datasets.load_sample()
    a = frequent_itemsets(orders, min_support=0.002)
    b = frequent_itemsets(orders.sample(frac=1.0, random_state=1), min_support=0.002)
    pd.testing.assert_frame_equal(a, b)


def test_frequent_itemsets_errors(shop):
    with pytest.raises(
        InvalidDataError, match=r"min_support must be in \(0, 1\], got 5.*min_count="
    ):
        frequent_itemsets(shop, min_support=5)
    with pytest.raises(InvalidDataError, match=r"min_support must be in \(0, 1\], got 0"):
        frequent_itemsets(shop, min_support=0)
    with pytest.raises(InvalidDataError, match="give min_support="):
        frequent_itemsets(shop)
    with pytest.raises(InvalidDataError, match="min_count must be a positive integer"):
        frequent_itemsets(shop, min_count=0)
    with pytest.raises(InvalidDataError, match="max_len must be a positive integer"):
        frequent_itemsets(shop, min_support=0.5, max_len=0)
    with pytest.raises(InvalidDataError, match="0 rows"):
        frequent_itemsets(np.zeros((0, 3), dtype=bool), min_support=0.5)
    with pytest.raises(InvalidDataError, match="memory_limit"):
        frequent_itemsets(shop, min_support=0.5, memory_limit="lots")
    with pytest.raises(ColumnNotFoundError, match="basket_col"):
        frequent_itemsets(shop.rename(columns={"order_id": "oid"}), min_support=0.5)


def test_nothing_frequent_gives_an_empty_table(shop):
    sets = frequent_itemsets(shop, min_support=1.0)
    assert sets.empty and sets.columns.tolist() == ["itemset", "support", "count", "length"]
    rules = association_rules(sets)
    assert rules.empty and "lift" in rules.columns


def test_memory_guard_fails_early_with_a_fix():
    rng = np.random.default_rng(0)
    dense = rng.random((2_000, 300)) < 0.5  # every pair is frequent at 1%
    with pytest.raises(
        MiningMemoryError, match=r"(?s)more than the memory_limit.*raise min_support.*max_len=1"
    ):
        frequent_itemsets(dense, min_support=0.01, memory_limit=1_000_000)
    assert issubclass(MiningMemoryError, MemoryError)


# --- association_rules: hand-computed --------------------------------------------------
def test_rules_hand_computed(shop):
    sets = frequent_itemsets(shop, min_support=0.5)
    rules = association_rules(sets)
    assert rules.columns.tolist() == [
        "antecedent", "consequent", "support", "count", "confidence", "lift", "leverage",
        "conviction", "zhangs_metric", "jaccard", "kulczynski", "antecedent_support",
        "consequent_support",
    ]  # fmt: skip
    top = rules.iloc[0]
    # {pot} -> {tea}: s(AC) = 2/4, s(A) = 2/4, s(C) = 3/4; conf = 1, lift = 1 / 0.75
    assert (top.antecedent, top.consequent) == (fs("pot"), fs("tea"))
    assert top.confidence == 1.0 and top.lift == pytest.approx(4 / 3)
    assert top.leverage == pytest.approx(0.5 - 0.5 * 0.75)  # 0.125
    assert np.isinf(top.conviction)
    # zhang: leverage / max(0.5 * (1 - 0.5), 0.5 * (0.75 - 0.5)) = 0.125 / 0.25
    assert top.zhangs_metric == pytest.approx(0.5)
    assert top.jaccard == pytest.approx(0.5 / (0.5 + 0.75 - 0.5))  # 2/3
    assert top.kulczynski == pytest.approx((1 + 2 / 3) / 2)
    # {cup} -> {tea}: conf = 2/3, lift = (2/3) / 0.75 = 0.889, conviction = 0.25 / (1/3)
    row = rules[(rules.antecedent == fs("cup")) & (rules.consequent == fs("tea"))].iloc[0]
    assert row.confidence == pytest.approx(2 / 3) and row.lift == pytest.approx(8 / 9)
    assert row.conviction == pytest.approx(0.75)
    assert row.leverage == pytest.approx(0.5 - 0.75 * 0.75)
    assert len(association_rules(sets, min_confidence=0.7)) == 1
    assert len(association_rules(sets, min_lift=1.0)) == 2


def test_confidence_threshold_compares_counts():
    # 28 of 280 baskets with A also hold C: confidence exactly 0.1 passes min_confidence=0.1
    # (mlxtend's fractional supports give 0.09999999999999999 and drop it)
    dense = np.zeros((1_000, 2), dtype=bool)
    dense[:280, 0] = True
    dense[252:300, 1] = True  # C in 48 baskets, 28 of them with A
    sets = frequent_itemsets(dense, min_count=1)
    rules = association_rules(sets, min_confidence=0.1)
    ac = rules[rules.antecedent == fs(0)]
    assert ac["confidence"].tolist() == [0.1]


def test_p_value_is_fishers_one_sided_test(shop):
    from scipy.stats import fisher_exact

    rules = association_rules(frequent_itemsets(shop, min_count=1), p_value=True)
    for row in rules.itertuples():
        n, a, c, ac = 4, row.antecedent_support * 4, row.consequent_support * 4, row.count
        table = [[ac, a - ac], [c - ac, n - a - c + ac]]
        assert row.p_value == pytest.approx(fisher_exact(table, alternative="greater")[1])


def test_rules_from_an_mlxtend_style_table(shop):
    sets = frequent_itemsets(shop, min_support=0.5)
    plain = sets.rename(columns={"itemset": "itemsets"})[["support", "itemsets"]]
    plain.attrs = {}
    ours = association_rules(sets)
    theirs = association_rules(plain)  # supports only: no count column
    assert "count" not in theirs.columns
    pd.testing.assert_frame_equal(ours.drop(columns="count"), theirs, check_exact=False)
    with pytest.raises(InvalidDataError, match="p_value=True needs basket counts"):
        association_rules(plain, p_value=True)
    assert "p_value" in association_rules(plain, p_value=True, n_baskets=4).columns


def test_rules_errors(shop):
    sets = frequent_itemsets(shop, min_count=1)
    with pytest.raises(
        InvalidDataError, match="(?s)not in `itemsets`.*full output of frequent_itemsets"
    ):
        association_rules(sets[sets.length > 1])
    with pytest.raises(InvalidDataError, match="appears more than once"):
        association_rules(pd.concat([sets, sets.tail(1)]).reset_index(drop=True))
    with pytest.raises(InvalidDataError, match=r"min_confidence must be in \[0, 1\]"):
        association_rules(sets, min_confidence=50)
    with pytest.raises(InvalidDataError, match="min_lift"):
        association_rules(sets, min_lift=-1)
    with pytest.raises(InvalidDataError, match="max_consequent_len"):
        association_rules(sets, max_consequent_len=0)
    with pytest.raises(ColumnNotFoundError, match="(?s)'support' not found.*frequent_itemsets"):
        association_rules(sets.drop(columns="support"))
    with pytest.raises(InvalidDataError, match="must be the DataFrame"):
        association_rules([fs("a")])
    no_n = sets.copy()
    no_n.attrs = {}
    with pytest.raises(InvalidDataError, match="n_baskets="):
        association_rules(no_n)


def test_rules_do_not_mutate_and_do_not_depend_on_row_order(shop):
    sets = frequent_itemsets(shop, min_count=1)
    before = sets.copy()
    a = association_rules(sets, max_consequent_len=None)
    pd.testing.assert_frame_equal(sets, before)
    shuffled = sets.sample(frac=1.0, random_state=5)
    b = association_rules(shuffled, max_consequent_len=None)
    pd.testing.assert_frame_equal(a, b)


# --- Groceries: published arules results (REFERENCES.md) -------------------------------
def test_groceries_data_is_the_published_one(groceries):
    assert len(groceries) == 43_367
    assert groceries["basket_id"].nunique() == 9_835 and groceries["item"].nunique() == 169


def test_groceries_itemsets_and_rules_at_0001_05(groceries_sets):
    assert len(groceries_sets) == 13_492
    rules = association_rules(groceries_sets, min_confidence=0.5)
    assert len(rules) == 5_668
    by_length = (rules["antecedent"].map(len) + 1).value_counts().sort_index().to_dict()
    assert by_length == {2: 11, 3: 1_461, 4: 3_211, 5: 939, 6: 46}
    top = rules.iloc[0]
    assert top.antecedent == fs("Instant food products", "soda")
    assert top.consequent == fs("hamburger meat")
    assert top.support == pytest.approx(0.001220132, abs=1e-9)
    assert top.confidence == pytest.approx(0.6315789, abs=1e-7)
    assert top.lift == pytest.approx(18.99565, abs=1e-5)
    expected = [
        (fs("popcorn", "soda"), fs("salty snack"), 16.69779),
        (fs("baking powder", "flour"), fs("sugar"), 16.40807),
        (fs("ham", "processed cheese"), fs("white bread"), 15.04549),
    ]
    for (ant, cons, lift), row in zip(expected, rules.iloc[1:4].itertuples(), strict=True):
        assert (row.antecedent, row.consequent) == (ant, cons)
        assert row.lift == pytest.approx(lift, abs=1e-5)
    assert (
        len(association_rules(groceries_sets, min_confidence=0.5, max_consequent_len=None)) == 5_829
    )
    assert len(association_rules(groceries_sets, min_confidence=0.25)) == 17_391


@pytest.mark.parametrize(
    ("min_support", "min_confidence", "max_len", "n_rules"),
    [
        (0.002, 0.5, None, 1_098),
        (0.002, 0.25, None, 4_024),
        (0.003, 0.25, None, 1_771),
        (0.003, 0.5, None, 421),
        (0.003, 0.5, 4, 414),
        (0.005, 0.5, None, 120),
    ],
)
def test_groceries_published_rule_counts(groceries, min_support, min_confidence, max_len, n_rules):
    sets = frequent_itemsets(
        groceries, min_support=min_support, max_len=max_len, basket_col="basket_id", item_col="item"
    )
    rules = association_rules(sets, min_confidence=min_confidence)
    assert len(rules) == n_rules
    if max_len == 4:
        by_length = (rules["antecedent"].map(len) + 1).value_counts().sort_index().to_dict()
        assert by_length == {2: 5, 3: 281, 4: 128}


# --- brute force and properties ---------------------------------------------------------
def random_baskets(seed: int, n: int = 60, n_items: int = 7, p: float = 0.35) -> np.ndarray:
    rng = np.random.default_rng(seed)
    popularity = np.linspace(p * 1.6, p * 0.4, n_items)
    return rng.random((n, n_items)) < popularity


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("min_count", [1, 3, 8])
def test_itemsets_equal_brute_force(seed, min_count):
    dense = random_baskets(seed)
    sets = frequent_itemsets(dense, min_count=min_count)
    got = dict(zip(sets["itemset"], sets["count"], strict=True))
    assert got == brute_force_counts(dense, min_count)
    capped = frequent_itemsets(dense, min_count=min_count, max_len=2)
    assert dict(zip(capped["itemset"], capped["count"], strict=True)) == brute_force_counts(
        dense, min_count, max_len=2
    )


matrices = st.integers(0, 2**32 - 1).flatmap(
    lambda seed: st.tuples(
        st.just(seed), st.integers(1, 40), st.integers(1, 6), st.floats(0.1, 0.9)
    )
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=matrices, min_count=st.integers(1, 6))
def test_properties_of_itemsets_and_rules(params, min_count):
    seed, n, n_items, p = params
    dense = np.random.default_rng(seed).random((n, n_items)) < p
    sets = frequent_itemsets(dense, min_count=min_count)
    support = dict(zip(sets["itemset"], sets["support"], strict=True))
    assert dict(zip(sets["itemset"], sets["count"], strict=True)) == brute_force_counts(
        dense, min_count
    )
    for itemset, s in support.items():
        # anti-monotone: every subset is frequent with at least the same support
        for item in itemset:
            sub = itemset - {item}
            if sub:
                assert support[sub] >= s
    rules = association_rules(sets, max_consequent_len=None)
    if rules.empty:
        return
    assert rules["confidence"].between(0, 1).all()
    lift = {(r.antecedent, r.consequent): r.lift for r in rules.itertuples()}
    for r in rules.itertuples():
        assert (r.antecedent | r.consequent) in support  # every rule's itemset is frequent
        assert r.support == support[r.antecedent | r.consequent]
        if len(r.antecedent) == 1 and len(r.consequent) == 1:
            assert lift[(r.consequent, r.antecedent)] == pytest.approx(r.lift, rel=1e-12)
    assert (np.diff(rules["lift"].to_numpy()) <= 1e-12).all()


# --- mlxtend as oracle ------------------------------------------------------------------
def _mlxtend_itemsets(dense: pd.DataFrame, min_support: float, max_len=None) -> pd.DataFrame:
    mlxtend = pytest.importorskip("mlxtend.frequent_patterns")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return mlxtend.fpgrowth(dense, min_support=min_support, use_colnames=True, max_len=max_len)


def _assert_same_as_mlxtend(onehot: pd.DataFrame, min_support: float, max_len=None) -> None:
    mlxtend = pytest.importorskip("mlxtend.frequent_patterns")
    theirs = _mlxtend_itemsets(onehot, min_support, max_len)
    ours = frequent_itemsets(onehot, min_support=min_support, max_len=max_len)
    assert dict(zip(ours["itemset"], ours["support"], strict=True)) == dict(
        zip(theirs["itemsets"], theirs["support"], strict=True)
    )
    if ours["length"].max() < 2:
        return
    # a hair under the threshold: mlxtend's confidence can be 1 ulp below the exact value
    their_rules = mlxtend.association_rules(
        theirs, num_itemsets=len(onehot), metric="confidence", min_threshold=0.3 - 1e-9
    )
    our_rules = association_rules(ours, min_confidence=0.3, max_consequent_len=None)
    a = our_rules.set_index(["antecedent", "consequent"])
    b = their_rules.set_index(["antecedents", "consequents"])
    assert set(a.index) == set(b.index)
    a = a.loc[b.index]
    for ours_col, their_col in [
        ("support", "support"),
        ("confidence", "confidence"),
        ("lift", "lift"),
        ("leverage", "leverage"),
        ("conviction", "conviction"),
        ("zhangs_metric", "zhangs_metric"),
        ("jaccard", "jaccard"),
        ("kulczynski", "kulczynski"),
        ("antecedent_support", "antecedent support"),
        ("consequent_support", "consequent support"),
    ]:
        np.testing.assert_allclose(
            a[ours_col].to_numpy(float), b[their_col].to_numpy(float), rtol=1e-12, atol=1e-15
        )


def test_same_as_mlxtend_on_groceries(groceries):
    m = basket_matrix(groceries, basket_col="basket_id", item_col="item")
    onehot = pd.DataFrame(m.matrix.toarray(), columns=m.items)
    _assert_same_as_mlxtend(onehot, 0.002)


@pytest.mark.parametrize(("min_support", "max_len"), [(0.0005, None), (0.002, None), (0.001, 2)])
def test_same_as_mlxtend_on_the_sample(min_support, max_len):
    m = basket_matrix(datasets.load_sample())
    onehot = pd.DataFrame(m.matrix.toarray(), columns=m.items)
    _assert_same_as_mlxtend(onehot, min_support, max_len)
    cat = basket_matrix(datasets.load_sample(), level="category")
    _assert_same_as_mlxtend(pd.DataFrame(cat.matrix.toarray(), columns=cat.items), 0.001)


@pytest.mark.parametrize(("min_support", "max_len"), [(0.01, None), (0.02, 3), (0.05, None)])
def test_same_as_mlxtend_on_random_sparse_data(min_support, max_len):
    rng = np.random.default_rng(7)
    n, n_items = 3_000, 120
    weights = 1.0 / np.arange(1, n_items + 1)
    sizes = 1 + rng.poisson(3, n)
    items = rng.choice(n_items, size=sizes.sum(), p=weights / weights.sum())
    rows = np.repeat(np.arange(n), sizes)
    dense = np.zeros((n, n_items), dtype=bool)
    dense[rows, items] = True
    _assert_same_as_mlxtend(
        pd.DataFrame(dense, columns=[f"i{j:03d}" for j in range(n_items)]), min_support, max_len
    )


def test_same_as_mlxtend_with_a_dominant_item():
    rng = np.random.default_rng(11)
    dense = rng.random((1_500, 25)) < 0.12
    dense[:, 3] = rng.random(1_500) < 0.95  # in 95% of the baskets
    onehot = pd.DataFrame(dense, columns=[f"p{j}" for j in range(25)])
    _assert_same_as_mlxtend(onehot, 0.005)
    _assert_same_as_mlxtend(onehot, 0.02, max_len=3)


# --- sequential_rules ---------------------------------------------------------------------
def _orders(rows, **extra_cols) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_time", "product_id"])
    frame["order_time"] = pd.to_datetime(frame["order_time"])
    for name, values in extra_cols.items():
        frame[name] = values
    return frame


@pytest.fixture
def journeys() -> pd.DataFrame:
    """as_of = 2024-06-01 (the last order); window 60 days.

    a: shampoo 01-01, conditioner 01-20 (19 days)          -> A then B
    b: shampoo 01-05, conditioner 02-01 (27 days)          -> A then B
    c: shampoo 01-03, soap 06-01                           -> A, no B in window
    d: soap 01-10, conditioner 01-10 (same time: same purchase, not after)
    e: soap 01-15, conditioner 04-20 (96 days: too late)
    f: shampoo 05-01 (window not observed: left out), conditioner 05-02
    """
    return _orders(
        [
            ("a", "2024-01-01", "shampoo"),
            ("a", "2024-01-20", "conditioner"),
            ("b", "2024-01-05", "shampoo"),
            ("b", "2024-02-01", "conditioner"),
            ("c", "2024-01-03", "shampoo"),
            ("c", "2024-06-01", "soap"),
            ("d", "2024-01-10", "soap"),
            ("d", "2024-01-10", "conditioner"),
            ("e", "2024-01-15", "soap"),
            ("e", "2024-04-20", "conditioner"),
            ("f", "2024-05-01", "shampoo"),
            ("f", "2024-05-02", "conditioner"),
        ]
    )


def test_sequential_rules_hand_computed(journeys):
    before = journeys.copy()
    seq = sequential_rules(journeys, within_days=60, min_customers=1)
    pd.testing.assert_frame_equal(journeys, before)
    row = seq[(seq.antecedent == "shampoo") & (seq.consequent == "conditioner")].iloc[0]
    # eligible shampoo buyers: a, b, c (f's window ends after as_of); a and b follow up
    assert (row.antecedent_customers, row.customers) == (3, 2)
    assert row.confidence == pytest.approx(2 / 3)
    # base: customers with a full window after their first purchase: a b c d e (5);
    # conditioner strictly after the first purchase and within 60 days: a, b -> 2 / 5
    assert row.base_rate == pytest.approx(0.4)
    assert row.lift == pytest.approx((2 / 3) / 0.4)
    assert row.median_days == pytest.approx(23.0)  # (19 + 27) / 2
    # soap -> conditioner: d bought both at once, e too late: no pair
    assert not ((seq.antecedent == "soap") & (seq.consequent == "conditioner")).any()
    assert not (seq.antecedent == seq.consequent).any()
    assert seq.columns.tolist() == [
        "antecedent", "consequent", "antecedent_customers", "customers", "confidence",
        "base_rate", "lift", "median_days",
    ]  # fmt: skip
    assert len(sequential_rules(journeys, within_days=60, min_customers=3)) == 0
    # with as_of moved on, f's window is complete and f counts
    later = sequential_rules(journeys, within_days=60, min_customers=1, as_of="2024-08-01")
    row = later[(later.antecedent == "shampoo") & (later.consequent == "conditioner")].iloc[0]
    assert (row.antecedent_customers, row.customers) == (4, 3)


def test_sequential_rules_purchases_only_and_levels(journeys):
    cancelled = journeys.assign(status=["paid"] * 3 + ["cancelled"] + ["paid"] * 8)
    seq = sequential_rules(cancelled, within_days=60, min_customers=1)
    row = seq[(seq.antecedent == "shampoo") & (seq.consequent == "conditioner")].iloc[0]
    assert row.customers == 1  # b's conditioner was cancelled
    kinds = journeys.assign(
        kind=journeys["product_id"].map({"shampoo": "hair", "conditioner": "hair", "soap": "body"})
    )
    by_kind = sequential_rules(kinds, within_days=60, min_customers=1, level="kind")
    assert set(by_kind.antecedent) | set(by_kind.consequent) <= {"hair", "body"}


def test_sequential_rules_errors(journeys):
    with pytest.raises(InvalidDataError, match="(?s)must be datetime64.*pd.to_datetime"):
        sequential_rules(journeys.assign(order_time=journeys.order_time.astype(str)))
    with pytest.raises(InvalidDataError, match="within_days must be a positive number"):
        sequential_rules(journeys, within_days=0)
    with pytest.raises(InvalidDataError, match="min_customers must be a positive integer"):
        sequential_rules(journeys, min_customers=0)
    with pytest.raises(ColumnNotFoundError, match="time_col"):
        sequential_rules(journeys.rename(columns={"order_time": "t"}))


def naive_sequential(orders: pd.DataFrame, within_days: float, min_customers: int, as_of) -> dict:
    """Per-customer loops over plain lists: the definition, written out."""
    window = pd.Timedelta(days=within_days)
    history: dict = {}
    for c, t, item in zip(orders.customer_id, orders.order_time, orders.product_id, strict=True):
        history.setdefault(c, []).append((t, item))
    eligible_a: dict = {}
    both: dict = {}
    base: dict = {}
    n_base = 0
    for rows in history.values():
        t0 = min(t for t, _ in rows)
        if t0 + window <= as_of:
            n_base += 1
            for b in {item for t, item in rows if t0 < t <= t0 + window}:
                base[b] = base.get(b, 0) + 1
        firsts: dict = {}
        for t, item in rows:
            firsts[item] = min(firsts.get(item, t), t)
        for a, first in firsts.items():
            if first + window > as_of:
                continue
            eligible_a[a] = eligible_a.get(a, 0) + 1
            for b in {item for t, item in rows if first < t <= first + window} - {a}:
                both[(a, b)] = both.get((a, b), 0) + 1
    return {
        (a, b): (n, n / eligible_a[a], base[b] / n_base)
        for (a, b), n in both.items()
        if n >= min_customers
    }


def test_sequential_rules_equal_the_definition_on_the_sample():
    orders = datasets.load_sample()
    # repeat buyers only: the others have no pairs
    repeat = orders.groupby("customer_id")["order_id"].nunique()
    keep = repeat.index[repeat > 1]
    orders = orders[orders.customer_id.isin(keep)]
    as_of = orders.order_time.max()
    paid = orders[
        (orders.status == "paid")
        & ~((orders.refund_amount > 0) & (orders.refund_amount >= orders.amount))
    ]
    seq = sequential_rules(orders, within_days=45, min_customers=2, as_of=as_of)
    assert len(seq) > 20
    expected = naive_sequential(paid, 45, 2, as_of)
    got = {
        (r.antecedent, r.consequent): (r.customers, r.confidence, r.base_rate)
        for r in seq.itertuples()
    }
    assert got.keys() == expected.keys()
    for key, (n, conf, base) in expected.items():
        assert got[key][0] == n
        assert got[key][1] == pytest.approx(conf) and got[key][2] == pytest.approx(base)


# --- recommend ----------------------------------------------------------------------------
@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o1", "o2", "o2", "o3", "o3", "o4", "o5", "o5", "o6"],
            "customer_id": [
                "ann",
                "ann",
                "ann",
                "bob",
                "bob",
                "cy",
                "cy",
                "dan",
                "eve",
                "eve",
                "eve",
            ],
            "product_id": [
                "tea",
                "cup",
                "pot",
                "tea",
                "cup",
                "tea",
                "pot",
                "tea",
                "cup",
                "pot",
                "tea",
            ],
            "status": ["paid"] * 10 + ["cancelled"],
        }
    )


def test_recommend_hand_computed(history):
    # baskets: {tea cup pot} {tea cup} {tea pot} {tea} {cup pot}; eve's tea was cancelled
    rules = association_rules(frequent_itemsets(history, min_count=2))
    before = history.copy()
    offers = recommend(history, rules)
    pd.testing.assert_frame_equal(history, before)
    assert offers.index.name == "customer_id"
    assert offers.columns.tolist() == [
        "rank",
        "product_id",
        "confidence",
        "lift",
        "antecedent",
        "rule",
    ]
    # dan has tea: tea -> cup (2/4, lift 0.5 / (3/5)) and tea -> pot (2/4, lift 0.5 / (3/5))
    dan = offers.loc[["dan"]]
    # equal rules are ordered by their consequent: cup before pot
    assert dan["product_id"].tolist() == ["cup", "pot"]
    assert dan["rank"].tolist() == [1, 2]
    assert (dan["confidence"] == 0.5).all()
    # eve has cup and pot (tea cancelled): {cup} -> tea 2/3, {pot} -> tea 2/3; one offer
    eve = offers.loc[["eve"]]
    assert eve["product_id"].tolist() == ["tea"]
    assert eve["confidence"].iloc[0] == pytest.approx(2 / 3)
    assert "ann" not in offers.index  # ann has everything
    for r in offers.itertuples():
        rule = rules.loc[r.rule]
        assert rule["antecedent"] == r.antecedent and r.product_id in rule["consequent"]
    assert len(recommend(history, rules, top_n=1).loc[["dan"]]) == 1
    kept = recommend(history, rules, exclude_bought=False)
    assert "ann" in kept.index
    only = recommend(history, rules, customers=["eve", "nobody"])
    assert set(only.index) == {"eve"}


def test_recommend_multi_item_antecedents_need_every_item():
    rules = pd.DataFrame(
        {
            "antecedent": [frozenset({"a", "b"}), frozenset({"a"})],
            "consequent": [frozenset({"c", "d"}), frozenset({"e"})],
            "confidence": [0.9, 0.4],
            "lift": [3.0, 2.0],
        },
        index=[10, 20],
    )
    orders = pd.DataFrame({"customer_id": ["x", "x", "y"], "product_id": ["a", "b", "a"]})
    offers = recommend(orders, rules)
    assert offers.loc[["x"]]["product_id"].tolist() == ["c", "d", "e"]
    assert offers.loc[["x"]]["rule"].tolist() == [10, 10, 20]
    assert offers.loc[["y"]]["product_id"].tolist() == ["e"]
    by_lift = recommend(orders, rules, score="lift", top_n=2)
    assert by_lift.loc[["x"]]["product_id"].tolist() == ["c", "d"]


def test_recommend_equals_a_loop_over_customers():
    orders = datasets.load_sample()
    rules = association_rules(frequent_itemsets(orders, min_support=0.001), min_confidence=0.05)
    offers = recommend(orders, rules, top_n=3)
    paid = orders[
        (orders.status == "paid")
        & ~((orders.refund_amount > 0) & (orders.refund_amount >= orders.amount))
    ]
    bought = paid.groupby("customer_id")["product_id"].agg(set)
    some = bought.index[:: max(1, len(bought) // 150)]
    for customer in some:
        have = bought[customer]
        best: dict = {}
        for r in rules.itertuples():
            if r.antecedent <= have:
                for item in r.consequent - have:
                    cand = (-r.confidence, -r.lift, r.Index)
                    best[item] = min(best.get(item, cand), cand)
        ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:3]
        got = offers.loc[[customer]] if customer in offers.index else offers.iloc[:0]
        assert got["product_id"].tolist() == [item for item, _ in ranked]
        assert got["rule"].tolist() == [key[2] for _, key in ranked]


def test_recommend_errors(history):
    rules = association_rules(frequent_itemsets(history, min_count=2))
    with pytest.raises(InvalidDataError, match="(?s)none of the rules' items.*level="):
        recommend(history.assign(category="drinks"), rules, level="category")
    with pytest.raises(InvalidDataError, match="output of association_rules"):
        recommend(history, rules.drop(columns="antecedent"))
    with pytest.raises(InvalidDataError, match="top_n must be a positive integer"):
        recommend(history, rules, top_n=0)
    with pytest.raises(InvalidDataError, match="score='support'"):
        recommend(history, rules, score="support")
    empty = recommend(history, rules.iloc[:0])
    assert empty.empty and empty.index.name == "customer_id"
