"""Basket analysis on polars, DuckDB, Dask and PySpark gives the pandas results.

Engine inputs are filtered, checked and de-duplicated inside the engine, and
``frequent_itemsets`` collects only the (basket, item) pairs of items that reach its
threshold; every result, warning and error must still be the one of pandas.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engines import to_engine

import crm_analytics as crm
from crm_analytics import basket
from crm_analytics.basket import (
    association_rules,
    basket_matrix,
    frequent_itemsets,
    recommend,
    sequential_rules,
)
from crm_analytics.exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError

ENGINES = ["polars_lazy", "polars", "duckdb", "dask", "spark"]

# on the sample (8,115 baskets, 60 products, 8 categories) a threshold of 90 baskets
# leaves out three products and keeps three pairs
CALLS: dict[str, Callable[[Any], Any]] = {
    "min_support": lambda d: frequent_itemsets(d, min_support=0.011),
    "min_support_low": lambda d: frequent_itemsets(d, min_support=0.002),
    "category": lambda d: frequent_itemsets(d, level="category", min_support=0.01),
    "category_high": lambda d: frequent_itemsets(d, level="category", min_support=0.14),
    "min_count": lambda d: frequent_itemsets(d, min_count=88),
    "support_and_count": lambda d: frequent_itemsets(d, min_support=0.001, min_count=90),
    "max_len": lambda d: frequent_itemsets(d, min_support=0.001, max_len=2),
    "drop_long": lambda d: frequent_itemsets(d, min_support=0.011, max_basket_size=2),
    "truncate_long": lambda d: frequent_itemsets(
        d, min_support=0.002, max_basket_size=2, long_baskets="truncate"
    ),
    "nothing_frequent": lambda d: frequent_itemsets(d, min_support=0.9),
    "rules": lambda d: association_rules(
        frequent_itemsets(d, min_support=0.002), min_confidence=0.05
    ),
    "rules_filtered": lambda d: association_rules(
        frequent_itemsets(d, min_support=0.011), max_consequent_len=None
    ),
    "basket_matrix": lambda d: basket_matrix(d),
    "basket_matrix_all_rows": lambda d: basket_matrix(
        d, level="category", purchases_only=False, max_basket_size=3
    ),
}


def _prepare(orders: pd.DataFrame) -> pd.DataFrame:
    # engines without categoricals or NaT-friendly columns get plain types
    return orders.assign(status=orders["status"].astype(str)).drop(columns=["paid_time"])


def _messages(record: Any) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, DataQualityWarning)]


def _run(fn: Callable[[Any], Any], data: Any) -> tuple[Any, list[str]]:
    """The result and the warning messages, the example basket left out (engines
    return rows in no fixed order, so the first long basket is another one)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(data)
    return result, [
        re.sub(r"e\.g\. basket '[^']*'", "e.g. basket ...", m) for m in _messages(caught)
    ]


def _assert_same(got: Any, want: Any) -> None:
    if isinstance(want, basket.BasketMatrix):
        assert got.matrix.shape == want.matrix.shape
        assert (got.matrix != want.matrix).nnz == 0
        assert list(got.baskets) == list(want.baskets) and got.baskets.name == want.baskets.name
        assert list(got.items) == list(want.items) and got.items.name == want.items.name
        return
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got.attrs == want.attrs


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return _prepare(crm.datasets.load_sample())


@pytest.fixture(scope="module")
def expected(orders: pd.DataFrame) -> dict[str, tuple[Any, list[str]]]:
    return {name: _run(fn, orders) for name, fn in CALLS.items()}


@pytest.fixture(scope="module")
def natives(orders: pd.DataFrame, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {e: to_engine(e, orders, request) for e in ENGINES if e != "spark"}


@pytest.fixture(scope="module")
def spark_orders(orders: pd.DataFrame, spark: Any) -> Any:
    return spark.createDataFrame(orders)


def test_calls_cover_the_threshold_cases(expected: dict[str, tuple[Any, list[str]]]) -> None:
    def n_items(name: str) -> int:
        sets = expected[name][0]
        return int((sets["length"] == 1).sum())

    # items below the threshold, with and without longer itemsets
    assert n_items("min_support") < 60 and expected["min_support"][0]["length"].max() == 2
    assert n_items("min_count") < 60 and expected["min_count"][0]["length"].max() == 2
    assert n_items("support_and_count") < 60 and n_items("category_high") < 8
    assert n_items("min_support_low") == 60 and n_items("category") == 8
    assert len(expected["rules_filtered"][0]) > 0
    # long baskets and nothing frequent
    assert expected["drop_long"][1] and expected["truncate_long"][1]
    assert expected["basket_matrix_all_rows"][1]
    assert len(expected["nothing_frequent"][0]) == 0


# Spark runs a job per query: a few seconds per call, so the main cases only
SPARK_CALLS = [
    "min_support",
    "category",
    "min_count",
    "max_len",
    "drop_long",
    "truncate_long",
    "rules",
    "basket_matrix",
]


@pytest.mark.parametrize(
    ("engine", "name"),
    [(e, n) for e in ENGINES for n in CALLS if e != "spark" or n in SPARK_CALLS],
)
def test_engine_matches_pandas(
    engine: str,
    name: str,
    natives: dict[str, Any],
    expected: dict[str, tuple[Any, list[str]]],
    request: pytest.FixtureRequest,
) -> None:
    native = request.getfixturevalue("spark_orders") if engine == "spark" else natives[engine]
    got, got_warnings = _run(CALLS[name], native)
    want, want_warnings = expected[name]
    _assert_same(got, want)
    assert got_warnings == want_warnings


def test_long_basket_warning_names_the_smallest_long_basket(natives: dict[str, Any]) -> None:
    with pytest.warns(DataQualityWarning, match=r"e\.g\. basket '(\d+)'") as record:
        basket_matrix(natives["duckdb"], max_basket_size=2)
    m = basket_matrix(natives["polars_lazy"])
    sizes = np.diff(m.matrix.indptr)
    smallest = min(m.baskets[sizes > 2])  # baskets sorted: the first long one
    assert f"e.g. basket {smallest!r}" in str(record[0].message)


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask", "spark"])
def test_groceries_equal_pandas(
    engine: str, groceries: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = to_engine(engine, groceries, request)
    kwargs = {"basket_col": "basket_id", "item_col": "item"}
    want = frequent_itemsets(groceries, min_support=0.001, **kwargs)
    got = frequent_itemsets(native, min_support=0.001, **kwargs)
    assert len(want) == 13_492  # the published count
    _assert_same(got, want)
    _assert_same(
        association_rules(got, min_confidence=0.5), association_rules(want, min_confidence=0.5)
    )
    _assert_same(
        frequent_itemsets(native, min_count=50, max_len=2, **kwargs),
        frequent_itemsets(groceries, min_count=50, max_len=2, **kwargs),
    )


def test_other_entry_points_match_pandas(orders: pd.DataFrame, natives: dict[str, Any]) -> None:
    rules = association_rules(frequent_itemsets(orders, min_support=0.002), min_confidence=0.05)
    want_seq = sequential_rules(orders, min_customers=3, level="category")
    want_rec = recommend(orders, rules)
    for engine in ("polars_lazy", "duckdb", "dask"):
        seq = sequential_rules(natives[engine], min_customers=3, level="category")
        _assert_same(seq, want_seq)
        rec = recommend(natives[engine], rules)
        pd.testing.assert_frame_equal(rec, want_rec, check_dtype=False, check_index_type=False)


def test_sequential_rules_observe_to_the_latest_row_of_any_status(
    orders: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    """as_of=None is the latest order of any status, on every engine as on pandas."""
    late = orders.iloc[[0]].assign(
        order_time=orders["order_time"].max() + pd.Timedelta(days=120), status="cancelled"
    )
    data = pd.concat([orders, late], ignore_index=True)
    want = sequential_rules(data, min_customers=3, level="category", within_days=60)
    assert want.attrs["as_of"] == late["order_time"].iloc[0]
    for engine in ("polars_lazy", "duckdb", "dask"):
        got = sequential_rules(
            to_engine(engine, data, request), min_customers=3, level="category", within_days=60
        )
        assert got.attrs["as_of"] == want.attrs["as_of"], engine
        _assert_same(got, want)


# --- what the engines collect ----------------------------------------------------------


@pytest.fixture
def collected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[str]]]:
    """(rows, columns) of every frame collected from an engine."""
    seen: list[tuple[int, list[str]]] = []
    collect = basket._collect

    def spy(frame: Any) -> Any:
        out = collect(frame)
        seen.append((len(out), list(out.columns)))
        return out

    monkeypatch.setattr(basket, "_collect", spy)
    return seen


def _purchase_pairs(orders: pd.DataFrame, item: str) -> pd.DataFrame:
    refund, amount = orders["refund_amount"], orders["amount"]
    paid = orders[(orders["status"] == "paid") & ~((refund > 0) & (refund >= amount))]
    return paid[["order_id", item]].drop_duplicates()


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb"])
@pytest.mark.parametrize(
    ("item", "kwargs"),
    [
        ("product_id", {"min_support": 0.011}),
        ("product_id", {"min_count": 88}),
        ("category", {"min_support": 0.14}),
    ],
)
def test_only_pairs_of_frequent_items_are_collected(
    engine: str,
    item: str,
    kwargs: dict[str, Any],
    orders: pd.DataFrame,
    natives: dict[str, Any],
    collected: list[tuple[int, list[str]]],
) -> None:
    sets = frequent_itemsets(natives[engine], item_col=item, **kwargs)
    pairs = _purchase_pairs(orders, item)
    n_baskets = pairs["order_id"].nunique()
    per_item = pairs.groupby(item)["order_id"].size()
    frequent = per_item[per_item >= sets.attrs["min_count"]].index
    assert sets.attrs["n_baskets"] == n_baskets
    assert 0 < len(frequent) < len(per_item)  # some items are left in the engine
    # one row of counts, then the distinct pairs of frequent items only
    assert collected[0][0] == 1
    assert collected[1] == (int(pairs[item].isin(frequent).sum()), ["order_id", item])
    assert len(collected) == 2


def test_the_long_basket_rule_collects_every_distinct_pair(
    orders: pd.DataFrame, natives: dict[str, Any], collected: list[tuple[int, list[str]]]
) -> None:
    with pytest.warns(DataQualityWarning, match="have more than 3"):
        frequent_itemsets(natives["polars_lazy"], min_support=0.002, max_basket_size=3)
    assert collected[1] == (len(_purchase_pairs(orders, "product_id")), ["order_id", "product_id"])


def test_baskets_without_a_frequent_item_still_count() -> None:
    import polars as pl

    # 10 baskets: tea in 5, cup in 3 (with tea), five baskets hold only rare items
    rows = [(f"o{b}", "tea") for b in range(5)] + [(f"o{b}", "cup") for b in range(3)]
    rows += [(f"o{b}", f"rare{b}") for b in range(5, 10)] + [("o9", "rare5")]
    orders = pd.DataFrame(rows, columns=["order_id", "product_id"])
    sets = frequent_itemsets(pl.from_pandas(orders).lazy(), min_support=0.3)
    assert sets.attrs["n_baskets"] == 10 and sets.attrs["min_count"] == 3
    assert [sorted(s) for s in sets["itemset"]] == [["tea"], ["cup"], ["cup", "tea"]]
    assert sets["support"].tolist() == [0.5, 0.3, 0.3]
    _assert_same(sets, frequent_itemsets(orders, min_support=0.3))
    empty = frequent_itemsets(pl.from_pandas(orders), min_count=6)
    _assert_same(empty, frequent_itemsets(orders, min_count=6))
    assert empty.empty and empty.attrs["n_baskets"] == 10


# --- purchase rule and bad input -------------------------------------------------------


@pytest.fixture
def shop() -> pd.DataFrame:
    """Paid, cancelled and refunded lines, NaN money and a categorical status."""
    nan = np.nan
    rows = [
        ("o1", "tea", "paid", 10.0, 0.0, "drink"),
        ("o1", "cup", "paid", 5.0, nan, "ware"),
        ("o1", "cup", "paid", 5.0, 0.0, "ware"),  # the same item twice
        ("o2", "tea", "paid", nan, 2.0, "drink"),  # no amount (0), a refund: not a purchase
        ("o2", "cup", "paid", 5.0, 0.0, "ware"),
        ("o2", "pot", "paid", 20.0, 2.0, "ware"),
        ("o3", "tea", "paid", nan, nan, "drink"),
        ("o3", "pot", None, 20.0, 0.0, "ware"),
        ("o4", "cup", "paid", 5.0, 0.0, "ware"),
        ("o5", "tea", "cancelled", 10.0, 0.0, "drink"),
        ("o6", "pot", "paid", 20.0, 20.0, "ware"),
    ]
    frame = pd.DataFrame(
        rows, columns=["order_id", "product_id", "status", "amount", "refund_amount", "category"]
    )
    return frame.astype({"status": "category"})


def _polars(frame: pd.DataFrame, lazy: bool = True) -> Any:
    import polars as pl

    out = pl.from_pandas(frame, nan_to_null=False)  # keep NaN apart from null
    return out.lazy() if lazy else out


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"purchases_only": False},
        {"status_col": None},
        {"refund_col": None},
        {"status_col": "no_such_column"},
    ],
)
def test_purchase_rule_with_nan_money_and_categorical_status(
    shop: pd.DataFrame, kwargs: dict[str, Any]
) -> None:
    want = basket_matrix(shop, **kwargs)
    _assert_same(basket_matrix(_polars(shop), **kwargs), want)
    _assert_same(basket_matrix(_polars(shop, lazy=False), **kwargs), want)
    import duckdb

    _assert_same(basket_matrix(duckdb.from_df(shop), **kwargs), want)
    sets = frequent_itemsets(shop, min_count=2, **kwargs)
    _assert_same(frequent_itemsets(_polars(shop), min_count=2, **kwargs), sets)


def test_missing_column_gives_the_pandas_error(shop: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError) as want:
        frequent_itemsets(shop, item_col="sku", min_support=0.5)
    with pytest.raises(ColumnNotFoundError) as got:
        frequent_itemsets(_polars(shop), item_col="sku", min_support=0.5)
    assert str(got.value) == str(want.value)
    assert "'sku' (item_col) not found" in str(got.value) and "product_id" in str(got.value)
    with pytest.raises(ColumnNotFoundError, match=r"'segment' \(level\)"):
        basket_matrix(_polars(shop, lazy=False), level="segment")


def _same_error(
    error: type[Exception], call: Callable[[Any], Any], frame: pd.DataFrame, native: Any
) -> str:
    with pytest.raises(error) as want:
        call(frame)
    with pytest.raises(error) as got:
        call(native)
    assert str(got.value) == str(want.value)
    return str(got.value)


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask"])
def test_no_purchase_rows_give_the_pandas_errors(
    engine: str, shop: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    plain = shop.astype({"status": str})
    cancelled = plain[plain["status"] == "cancelled"]
    calls = (lambda d: frequent_itemsets(d, min_support=0.5), lambda d: basket_matrix(d))
    for call in calls:
        message = _same_error(
            InvalidDataError, call, cancelled, to_engine(engine, cancelled, request)
        )
        assert "none of the 1 rows is a purchase" in message
        empty = plain.head(0)
        message = _same_error(InvalidDataError, call, empty, to_engine(engine, empty, request))
        assert "`orders` has no rows" in message


@pytest.mark.parametrize("engine", ["polars_lazy", "duckdb", "dask"])
def test_missing_keys_give_the_pandas_warning(
    engine: str, shop: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    gappy = shop.astype({"status": str, "product_id": object})
    gappy.loc[[0, 4, 9], "product_id"] = None  # two purchase rows and a cancelled one
    native = to_engine(engine, gappy, request)
    for call in (lambda d: frequent_itemsets(d, min_count=1), lambda d: basket_matrix(d)):
        with pytest.warns(DataQualityWarning, match="2 of 7 purchase rows have no 'product_id'"):
            got = call(native)
        with pytest.warns(DataQualityWarning) as want_warnings:
            want = call(gappy)
        with pytest.warns(DataQualityWarning) as got_warnings:
            call(native)
        assert _messages(got_warnings) == _messages(want_warnings)
        _assert_same(got, want)
    empty = gappy.assign(product_id=None)
    message = _same_error(
        InvalidDataError,
        lambda d: frequent_itemsets(d, min_support=0.5),
        empty,
        to_engine(engine, empty, request),
    )
    assert "'product_id' is empty in all 7 purchase rows" in message


def test_missing_float_keys_count_nan_as_missing(shop: pd.DataFrame) -> None:
    coded = shop.assign(product_id=shop["product_id"].map({"tea": 1.0, "cup": 2.0, "pot": np.nan}))
    with pytest.warns(DataQualityWarning) as w:
        want = frequent_itemsets(coded, min_count=1)
    with pytest.warns(DataQualityWarning) as g:
        got = frequent_itemsets(_polars(coded), min_count=1)  # NaN, not null, in polars
    assert _messages(g) == _messages(w)
    _assert_same(got, want)


def test_not_a_frame_is_refused() -> None:
    with pytest.raises(InvalidDataError, match="must be a DataFrame"):
        frequent_itemsets([("o1", "tea")], min_support=0.5)
    with pytest.raises(InvalidDataError, match="must be a DataFrame"):
        basket_matrix({"order_id": ["o1"], "product_id": ["tea"]})


def _collected_pandas(native: Any) -> pd.DataFrame:
    import narwhals as nw

    frame = nw.from_native(native)
    return (frame.collect() if isinstance(frame, nw.LazyFrame) else frame).to_pandas()


def test_categorical_items_give_the_pandas_labels(shop: pd.DataFrame) -> None:
    import duckdb
    import polars as pl

    plain = shop.astype({"status": str})
    categorical = _polars(plain).with_columns(pl.col("product_id", "category").cast(pl.Categorical))
    enums = duckdb.from_df(plain.astype({"product_id": "category", "category": "category"}))
    for native in (categorical, enums):
        as_pandas = _collected_pandas(native)  # categorical columns, ordered by their categories
        for kwargs in ({}, {"level": "category"}, {"max_basket_size": 5}):
            want = frequent_itemsets(as_pandas, min_count=2, **kwargs)
            _assert_same(frequent_itemsets(native, min_count=2, **kwargs), want)
        _assert_same(basket_matrix(native), basket_matrix(as_pandas))


def test_mixed_type_items_from_dask_keep_the_pandas_order() -> None:
    import dask
    import dask.dataframe as dd

    orders = pd.DataFrame(
        {
            "order_id": ["a", "a", "b", "b", "c"],
            "product_id": pd.Series([1, "x", 1, "x", 1], dtype=object),
        }
    )
    with dask.config.set({"dataframe.convert-string": False}):
        native = dd.from_pandas(orders, npartitions=2)
        _assert_same(frequent_itemsets(native, min_count=2), frequent_itemsets(orders, min_count=2))
