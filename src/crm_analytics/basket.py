"""What sells together: frequent itemsets, association rules and cross-sell lists.

The pipeline runs on a sparse basket × item matrix, never on Python lists of baskets:

1. ``basket_matrix`` turns the long order-line table (one row per order line) into a
   CSR boolean matrix, one row per basket (an order by default) and one column per item
   (a product by default, or any column such as ``category`` via ``level=``).
2. ``frequent_itemsets`` finds every itemset bought together in at least
   ``min_support`` of the baskets, exactly (the same itemsets and supports as mlxtend's
   ``fpgrowth`` and as arules / pyfim), with a level-wise search whose counting is
   sparse matrix products (see :mod:`crm_analytics._mining` for the algorithm and why).
3. ``association_rules`` splits each itemset into antecedent → consequent rules with
   their confidence, lift and other measures. One-item consequents by default (the
   convention of arules, pyfim and Spark, and what a cross-sell needs).
4. ``recommend`` turns the rules into a top-N offer list per customer, and
   ``sequential_rules`` finds "bought A, then bought B within 90 days" associations
   across a customer's orders.

Baskets are built from purchases (status ``paid``, not fully refunded) unless
``purchases_only=False``. Thresholds compare integer counts (``count >= min_support ×
n_baskets``, ``count(A ∪ C) >= min_confidence × count(A)``) with a tolerance for
floating point, so a rule exactly at a threshold is kept.

Inputs other than pandas (polars, DuckDB, Dask, PySpark, anything narwhals supports)
are reduced inside their engine: the purchase rule, the checks for missing keys and the
de-duplication run there, and only the distinct (basket, item) pairs are collected.
``frequent_itemsets`` counts the baskets of each item in the engine too and collects
only the pairs of the items that reach its threshold.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce
from itertools import chain
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _mining, schema
from ._mining import MiningMemoryError
from ._validation import (
    as_frame,
    check_columns,
    check_datetime_dtype,
    example_values,
    warn_external,
)
from .exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError

__all__ = [
    "BasketMatrix",
    "MiningMemoryError",
    "association_rules",
    "basket_matrix",
    "frequent_itemsets",
    "recommend",
    "sequential_rules",
]

_RULE_COLUMNS = [
    "antecedent",
    "consequent",
    "support",
    "count",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "kulczynski",
    "antecedent_support",
    "consequent_support",
]
_CONF_TOL = 1e-12
_LIFT_RTOL = 1e-9
_NS_PER_DAY = 86_400 * 10**9


class BasketMatrix(NamedTuple):
    """A basket × item matrix with its labels (unpacks as ``matrix, baskets, items``).

    Attributes
    ----------
    matrix : scipy.sparse.csr_array of bool
        ``matrix[b, i]`` is True when basket ``b`` holds item ``i``.
    baskets : pandas.Index
        Basket ids, one per row, named after the basket column.
    items : pandas.Index
        Item labels, one per column (sorted), named after the item column.
    """

    matrix: sp.csr_array
    baskets: pd.Index
    items: pd.Index


# --- reading the long table ------------------------------------------------------------


def _purchase_rows(
    orders: Any,
    columns: dict[str, str],
    *,
    caller: str,
    purchases_only: bool,
    status_col: str | None,
    amount_col: str | None,
    refund_col: str | None,
) -> pd.DataFrame:
    """The ``columns`` of the purchase rows as pandas, rows with a missing key dropped.

    A pandas frame keeps every purchase row. Any other frame is reduced inside its
    engine and only its distinct rows (of ``columns``) are collected (see
    ``_engine_rows``); every caller counts an item once per basket (or customer and
    time), so the duplicates do not matter.
    """
    if not isinstance(orders, pd.DataFrame):
        return _engine_rows(
            orders,
            columns,
            caller=caller,
            purchases_only=purchases_only,
            status_col=status_col,
            amount_col=amount_col,
            refund_col=refund_col,
        ).rows.to_pandas()
    native = orders
    present = list(orders.columns)
    check_columns(present, columns, caller=caller)
    n_rows = len(native)
    mask = np.ones(n_rows, dtype=bool)
    if purchases_only:
        if status_col is not None and status_col in present:
            mask &= (native[status_col] == schema.PURCHASE_STATUS).fillna(False).to_numpy(bool)
        if (
            refund_col is not None
            and refund_col in present
            and amount_col is not None
            and amount_col in present
        ):
            refund = pd.to_numeric(native[refund_col], errors="coerce").fillna(0.0).to_numpy(float)
            amount = pd.to_numeric(native[amount_col], errors="coerce").fillna(0.0).to_numpy(float)
            mask &= ~((refund > 0) & (refund >= amount))
    cols = list(dict.fromkeys(columns.values()))
    out = native.loc[mask, cols] if not mask.all() else native[cols]
    if len(out) == 0:
        _check_purchase_counts(caller, n_rows=n_rows, n_purchases=0, n_missing=0, empty_col=None)
    missing = out.isna().any(axis=1).to_numpy()
    if missing.any():
        n_missing = int(missing.sum())
        empty_col = next(c for c in cols if out[c].isna().any())
        _check_purchase_counts(
            caller,
            n_rows=n_rows,
            n_purchases=len(out),
            n_missing=n_missing,
            empty_col=empty_col,
        )
        out = out.loc[~missing]
    return out


def _check_purchase_counts(
    caller: str, *, n_rows: int, n_purchases: int, n_missing: int, empty_col: str | None
) -> None:
    """Fail without purchase rows with a key; warn when some purchase rows lack a key.

    Parameters
    ----------
    caller : str
        Public function named in the message.
    n_rows : int
        Rows of ``orders``.
    n_purchases : int
        Purchase rows among them (every row with ``purchases_only=False``).
    n_missing : int
        Purchase rows with a missing key (basket, item or another column the caller needs).
    empty_col : str or None
        First key column with a missing value in the purchase rows (None when none is).
    """
    if n_purchases == 0:
        if n_rows == 0:
            raise InvalidDataError(f"{caller}: `orders` has no rows, so there are no baskets.")
        raise InvalidDataError(
            f"{caller}: none of the {n_rows:,} rows is a purchase (status "
            f"{schema.PURCHASE_STATUS!r} and not fully refunded), so there are no baskets.\n"
            f"Hint: pass purchases_only=False to use every row, or status_col= with the "
            f"column that holds the order status."
        )
    if n_missing == 0:
        return
    if n_missing == n_purchases:
        raise InvalidDataError(
            f"{caller}: column {empty_col!r} is empty in all {n_missing:,} purchase rows, "
            f"so there are no baskets.\nHint: pass the column that holds the item "
            f"(item_col= or level=), e.g. level='category'."
        )
    warn_external(
        f"{caller}: {n_missing:,} of {n_purchases:,} purchase rows have no {empty_col!r} "
        f"(or another key) and are left out of the baskets.",
        DataQualityWarning,
    )


class _EngineRows(NamedTuple):
    """Distinct key rows collected from an engine, and the number of baskets."""

    rows: Any  # an eager narwhals DataFrame
    n_baskets: int | None


def _engine_rows(
    orders: Any,
    columns: dict[str, str],
    *,
    caller: str,
    purchases_only: bool,
    status_col: str | None,
    amount_col: str | None,
    refund_col: str | None,
    support: tuple[float | None, int | None] | None = None,
) -> _EngineRows:
    """The distinct key rows of the purchases of a non-pandas frame, reduced in its engine.

    The purchase rule, the counts behind the errors and warnings of ``_purchase_rows``
    (one aggregate query), the dropping of rows with a missing key and the
    de-duplication all run in the engine (polars, DuckDB, Dask, PySpark, anything
    narwhals supports); only the distinct rows of ``columns`` are collected.

    Parameters
    ----------
    orders : DataFrame or LazyFrame
        A frame narwhals supports (not pandas).
    columns : dict
        ``{keyword: column}`` of the key columns (checked, kept and de-duplicated).
        With ``support`` it holds ``basket_col`` and one item column.
    caller : str
        Public function named in errors and warnings.
    purchases_only, status_col, amount_col, refund_col
        The purchase rule, as in ``basket_matrix``.
    support : (min_support, min_count), default=None
        Keep only the pairs of items contained in at least
        ``max(threshold_count(min_support, n), min_count)`` of the ``n`` baskets (either
        may be None): no itemset holding another item can be frequent. The baskets are
        counted in the engine and returned as ``n_baskets``, since baskets without a
        frequent item are not collected but still count in the supports.

    Returns
    -------
    _EngineRows
        ``rows``: an eager narwhals DataFrame with the distinct rows of ``columns`` (in
        no particular order); ``n_baskets``: the number of distinct baskets with
        ``support``, else None.

    Raises
    ------
    InvalidDataError
        ``orders`` is not a frame, has no (purchase) rows, or a key column is empty in
        every purchase row.
    ColumnNotFoundError
        A column of ``columns`` is missing.
    """
    import narwhals as nw

    frame = as_frame(orders, caller=caller, name="orders")
    if isinstance(frame, nw.DataFrame):
        frame = frame.lazy()
    dtypes = frame.collect_schema()
    present = list(dtypes.names())
    check_columns(present, columns, caller=caller)
    cols = list(dict.fromkeys(columns.values()))

    conditions: list[Any] = []
    if purchases_only:
        if status_col is not None and status_col in present:
            status = nw.col(status_col).cast(nw.String) == schema.PURCHASE_STATUS
            conditions.append(status.fill_null(False))
        if (
            refund_col is not None
            and refund_col in present
            and amount_col is not None
            and amount_col in present
        ):
            refund = nw.col(refund_col).cast(nw.Float64).fill_nan(0.0).fill_null(0.0)
            amount = nw.col(amount_col).cast(nw.Float64).fill_nan(0.0).fill_null(0.0)
            conditions.append(~((refund > 0) & (refund >= amount)))
    missing_by_col = [
        nw.col(c).is_null() | nw.col(c).is_nan() if dtypes[c].is_float() else nw.col(c).is_null()
        for c in cols
    ]
    any_missing = reduce(operator.or_, missing_by_col)
    is_purchase = reduce(operator.and_, conditions) if conditions else None

    def n_purchases_where(expr: Any | None) -> Any:
        """Number of purchase rows where ``expr`` holds (every purchase row when None)."""
        parts = [e for e in (is_purchase, expr) if e is not None]
        if not parts:
            return nw.len()
        return nw.when(reduce(operator.and_, parts)).then(nw.lit(1)).otherwise(nw.lit(0)).sum()

    aggregates = [
        nw.len().alias("rows"),
        n_purchases_where(None).alias("purchases"),
        n_purchases_where(any_missing).alias("missing"),
        *(n_purchases_where(m).alias(f"missing_{k}") for k, m in enumerate(missing_by_col)),
    ]
    if support is not None:
        # null stands for the rows left out; n_unique counts it as one more value
        valid = ~any_missing if is_purchase is None else is_purchase & ~any_missing
        basket = nw.when(valid).then(nw.col(columns["basket_col"]))
        aggregates.append(basket.n_unique().alias("baskets"))
    # sums over no rows are null in SQL engines
    counts = [0 if v is None else int(v) for v in _collect(frame.select(*aggregates)).row(0)]
    n_rows, n_purchases, n_missing = counts[:3]
    empty_col = next((c for c, n in zip(cols, counts[3 : 3 + len(cols)], strict=True) if n), None)
    _check_purchase_counts(
        caller,
        n_rows=n_rows,
        n_purchases=n_purchases,
        n_missing=n_missing,
        empty_col=empty_col,
    )

    keep = [] if is_purchase is None else [is_purchase]
    if n_missing:
        keep.append(~any_missing)
    if keep:
        frame = frame.filter(*keep)
    # distinct rows as a hash aggregate: narwhals' unique() is a window over DuckDB/Spark
    pairs = frame.group_by(*cols).agg()
    n_baskets = None
    if support is not None:
        n_baskets = counts[-1] - int(n_purchases - n_missing < n_rows)
        threshold = _min_basket_count(*support, n_baskets)
        if threshold > 1:
            item = next(c for k, c in columns.items() if k != "basket_col")
            n_col = "n_baskets"
            while n_col in cols:
                n_col = f"_{n_col}"
            frequent = (
                pairs.group_by(item)
                .agg(nw.len().alias(n_col))
                .filter(nw.col(n_col) >= threshold)
                .select(item)
            )
            pairs = pairs.join(frequent, on=item, how="semi")
    return _EngineRows(_collect(pairs), n_baskets)


def _collect(frame: Any) -> Any:
    """A narwhals DataFrame of a (lazy or eager) narwhals frame."""
    import narwhals as nw

    return frame.collect() if isinstance(frame, nw.LazyFrame) else frame


def _min_basket_count(min_support: float | None, min_count: int | None, n: int) -> int:
    """Smallest basket count of a frequent itemset among ``n`` baskets (the larger threshold)."""
    threshold = 0
    if min_support is not None:
        threshold = _mining.threshold_count(float(min_support), n)
    if min_count is not None:
        threshold = max(threshold, int(min_count))
    return threshold


def _factorize(values: Any, *, sort: bool) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and labels; labels sorted when ``sort`` (by text if types are mixed)."""
    if not sort:
        codes, uniques = pd.factorize(values, sort=False)
        return codes.astype(np.int64), pd.Index(uniques)
    try:
        codes, uniques = pd.factorize(values, sort=True)
        return codes.astype(np.int64), pd.Index(uniques)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
        order = np.argsort(np.array([str(u) for u in uniques]), kind="stable")
        remap = np.empty(len(order), dtype=np.int64)
        remap[order] = np.arange(len(order))
        return remap[codes], pd.Index(np.asarray(uniques, dtype=object)[order])


def _csr_from_codes(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    """Boolean CSR with a True at every (row, col), duplicates merged, indices sorted."""
    keys = _mining.sorted_unique(rows * shape[1] + cols)
    r = keys // shape[1]
    c = (keys % shape[1]).astype(np.int32 if shape[1] < 2**31 else np.int64)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
    data = np.ones(len(c), dtype=bool)
    return sp.csr_array((data, c, indptr), shape=shape)


def _long_baskets(
    matrix: sp.csr_array,
    baskets: pd.Index,
    *,
    max_basket_size: int | None,
    long_baskets: str,
    caller: str,
) -> tuple[sp.csr_array, pd.Index]:
    if max_basket_size is None:
        return matrix, baskets
    if not isinstance(max_basket_size, (int, np.integer)) or max_basket_size < 1:
        raise InvalidDataError(
            f"{caller}: max_basket_size must be a positive integer or None, got {max_basket_size!r}."
        )
    if long_baskets not in ("drop", "truncate"):
        raise InvalidDataError(
            f"{caller}: long_baskets={long_baskets!r} is not supported. Choose one of "
            f"['drop', 'truncate']."
        )
    sizes = np.diff(matrix.indptr)
    long = sizes > max_basket_size
    if not long.any():
        return matrix, baskets
    n_long = int(long.sum())
    example = baskets[np.flatnonzero(long)[0]]
    if long_baskets == "drop":
        action = "dropped"
        matrix = matrix[~long]
        baskets = baskets[~long]
    else:
        action = f"cut to their {max_basket_size} most frequent items"
        counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
        rows = np.repeat(np.arange(matrix.shape[0]), sizes)
        order = np.lexsort((matrix.indices, -counts[matrix.indices], rows))
        starts = matrix.indptr[:-1][rows[order]]
        keep = np.zeros(len(order), dtype=bool)
        keep[order] = (np.arange(len(order)) - starts) < max_basket_size
        matrix = _csr_from_codes(rows[keep], matrix.indices[keep].astype(np.int64), matrix.shape)
    warn_external(
        f"{caller}: {n_long:,} of {len(sizes):,} baskets have more than {max_basket_size} "
        f"distinct items (largest {int(sizes.max())}, e.g. basket {example!r}); they were "
        f"{action}. Pass a larger max_basket_size (or long_baskets="
        f"{'truncate' if long_baskets == 'drop' else 'drop'!r}) to change this.",
        DataQualityWarning,
    )
    return matrix, baskets


def basket_matrix(
    orders: Any,
    *,
    basket_col: str = schema.ORDER_ID,
    item_col: str = schema.PRODUCT_ID,
    level: str | None = None,
    purchases_only: bool = True,
    status_col: str | None = schema.STATUS,
    amount_col: str | None = schema.AMOUNT,
    refund_col: str | None = schema.REFUND_AMOUNT,
    max_basket_size: int | None = None,
    long_baskets: Literal["drop", "truncate"] = "drop",
) -> BasketMatrix:
    """Build the sparse basket × item matrix of an order-line table.

    Parameters
    ----------
    orders : DataFrame
        Order lines (one row per line) with a basket column and an item column: canonical
        orders (``crm.read_orders``) or any long table; pandas, polars or any frame
        narwhals supports.
    basket_col : str, default="order_id"
        What makes a basket. ``customer_col``-like columns work too
        (``basket_col="customer_id"`` mines everything a customer ever bought).
    item_col : str, default="product_id"
        The item column.
    level : str, default=None
        Mine at another level than ``item_col``: the name of a column such as
        ``"category"`` (it replaces ``item_col``).
    purchases_only : bool, default=True
        Use purchases only: rows with status ``paid`` whose refund does not cover the
        amount (the library's definition of a purchase). False uses every row.
        Without a status column every row is a purchase.
    status_col, amount_col, refund_col : str or None
        Columns of the purchase rule; None (or absent) skips that part of it.
    max_basket_size : int, default=None
        Baskets with more distinct items (B2B orders, a 300-line shopping spree) make
        mining explode; they are dropped (or cut, see ``long_baskets``) with a
        ``DataQualityWarning`` saying how many. None keeps every basket.
    long_baskets : {"drop", "truncate"}, default="drop"
        ``"truncate"`` keeps the ``max_basket_size`` most frequent items of a long
        basket instead of dropping it.

    Returns
    -------
    BasketMatrix
        ``(matrix, baskets, items)``: a boolean ``scipy.sparse.csr_array`` with one row
        per basket and one column per item (an item counted once per basket, whatever
        its quantity), the basket ids (sorted) and the item labels (sorted).

    Raises
    ------
    ColumnNotFoundError
        ``basket_col`` or the item column is missing.
    InvalidDataError
        No purchase row, or the item column is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.basket import basket_matrix
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o1", "o2", "o2", "o3"],
    ...     "product_id": ["tea", "cup", "tea", "tea", "cup"],
    ...     "status": ["paid", "paid", "paid", "paid", "cancelled"],
    ... })
    >>> m = basket_matrix(orders)
    >>> m.matrix.toarray()
    array([[ True,  True],
           [False,  True]])
    >>> list(m.baskets), list(m.items)
    (['o1', 'o2'], ['cup', 'tea'])
    """
    caller = "basket_matrix"
    return _basket_matrix(
        orders,
        caller=caller,
        basket_col=basket_col,
        item_col=level if level is not None else item_col,
        item_role="level" if level is not None else "item_col",
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
        max_basket_size=max_basket_size,
        long_baskets=long_baskets,
        sort_baskets=True,
    )


def _basket_matrix(
    orders: Any,
    *,
    caller: str,
    basket_col: str,
    item_col: str,
    item_role: str,
    purchases_only: bool,
    status_col: str | None,
    amount_col: str | None,
    refund_col: str | None,
    max_basket_size: int | None,
    long_baskets: str,
    sort_baskets: bool,
) -> BasketMatrix:
    rows = _purchase_rows(
        orders,
        {"basket_col": basket_col, item_role: item_col},
        caller=caller,
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
    )
    # engines return rows in no fixed order: sorted baskets keep the warnings reproducible
    sort_baskets = sort_baskets or not isinstance(orders, pd.DataFrame)
    b_codes, baskets = _factorize(rows[basket_col], sort=sort_baskets)
    i_codes, items = _factorize(rows[item_col], sort=True)
    matrix = _csr_from_codes(b_codes, i_codes, (len(baskets), len(items)))
    baskets = baskets.rename(basket_col)
    items = items.rename(item_col)
    matrix, baskets = _long_baskets(
        matrix, baskets, max_basket_size=max_basket_size, long_baskets=long_baskets, caller=caller
    )
    return BasketMatrix(matrix, baskets, items)


# --- frequent itemsets -----------------------------------------------------------------


def _resolve_limit(memory_limit: Any, caller: str) -> int | None:
    if memory_limit is None:
        return None
    if isinstance(memory_limit, str):
        if memory_limit != "auto":
            raise InvalidDataError(
                f"{caller}: memory_limit={memory_limit!r} is not supported. Pass 'auto', "
                f"a number of bytes, or None."
            )
        return _mining.default_memory_limit()
    if not isinstance(memory_limit, (int, float, np.integer, np.floating)) or memory_limit <= 0:
        raise InvalidDataError(
            f"{caller}: memory_limit must be 'auto', a positive number of bytes or None, "
            f"got {memory_limit!r}."
        )
    return int(memory_limit)


def _as_matrix(
    data: Any,
    *,
    caller: str,
    basket_col: str,
    item_col: str,
    item_role: str,
    support: tuple[float | None, int | None] | None = None,
    **kwargs: Any,
) -> tuple[sp.csr_array, pd.Index]:
    """The basket × item matrix and item labels of any accepted input.

    With ``support`` (``(min_support, min_count)``), an engine frame (not pandas) and no
    ``max_basket_size``, the matrix holds only the items that reach the threshold
    (see ``_frequent_item_matrix``); it keeps one row per basket.
    """
    if isinstance(data, BasketMatrix):
        return data.matrix, data.items
    if (
        isinstance(data, tuple)
        and len(data) == 2
        and (sp.issparse(data[0]) or isinstance(data[0], np.ndarray))
    ):
        matrix, items = data
        items = pd.Index(items)
        if len(items) != matrix.shape[1]:
            raise InvalidDataError(
                f"{caller}: {len(items)} item labels for a matrix of {matrix.shape[1]} columns."
            )
        return sp.csr_array(matrix), items
    if sp.issparse(data) or isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise InvalidDataError(
                f"{caller}: a basket × item matrix must be 2-D, got {data.ndim}-D."
            )
        return sp.csr_array(data), pd.RangeIndex(data.shape[1])
    if isinstance(data, pd.DataFrame) and not (
        basket_col in data.columns and item_col in data.columns
    ):
        if len(data.columns) and all(pd.api.types.is_bool_dtype(t) for t in data.dtypes):
            # a one-hot table (mlxtend's TransactionEncoder output): baskets × items
            if all(isinstance(t, pd.SparseDtype) for t in data.dtypes):
                matrix = sp.csr_array(data.sparse.to_coo())
            else:
                matrix = sp.csr_array(data.to_numpy(dtype=bool))
            return matrix, pd.Index(data.columns)
    if (
        support is not None
        and kwargs.get("max_basket_size") is None
        and not isinstance(data, pd.DataFrame)
    ):
        return _frequent_item_matrix(
            data,
            caller=caller,
            basket_col=basket_col,
            item_col=item_col,
            item_role=item_role,
            support=support,
            purchases_only=kwargs["purchases_only"],
            status_col=kwargs["status_col"],
            amount_col=kwargs["amount_col"],
            refund_col=kwargs["refund_col"],
        )
    result = _basket_matrix(
        data,
        caller=caller,
        basket_col=basket_col,
        item_col=item_col,
        item_role=item_role,
        sort_baskets=False,
        **kwargs,
    )
    return result.matrix, result.items


def _frequent_item_matrix(
    orders: Any,
    *,
    caller: str,
    basket_col: str,
    item_col: str,
    item_role: str,
    support: tuple[float | None, int | None],
    purchases_only: bool,
    status_col: str | None,
    amount_col: str | None,
    refund_col: str | None,
) -> tuple[sp.csr_array, pd.Index]:
    """Basket × item matrix of an engine frame restricted to its frequent items.

    An item in fewer baskets than the threshold is in no frequent itemset, so the
    engine returns only the (basket, item) pairs of the items that reach it. The
    matrix still has one row per basket: the baskets without a frequent item are empty
    rows after the others, so supports divide by the number of all baskets.

    Parameters
    ----------
    orders : DataFrame or LazyFrame
        A non-pandas frame narwhals supports.
    caller, basket_col, item_col, item_role, purchases_only, status_col, amount_col, \
refund_col
        As for ``_basket_matrix``.
    support : (min_support, min_count)
        The thresholds of ``frequent_itemsets`` (either may be None).

    Returns
    -------
    matrix : scipy.sparse.csr_array of bool
        ``n_baskets`` × frequent items (basket rows in no particular order).
    items : pandas.Index
        The frequent items, sorted, named after ``item_col``.
    """
    rows, n_baskets = _engine_rows(
        orders,
        {"basket_col": basket_col, item_role: item_col},
        caller=caller,
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
        support=support,
    )
    assert n_baskets is not None
    if rows.implementation.is_pandas_like():  # Dask, Modin, ...: object columns stay as they are
        native = rows.to_pandas()
        b_codes, _ = _factorize(native[basket_col], sort=False)
        i_codes, items = _factorize(native[item_col], sort=True)
    else:
        table = rows.to_arrow()
        b_codes, _ = _arrow_codes(table.column(basket_col), sort=False)
        i_codes, items = _arrow_codes(table.column(item_col), sort=True)
    matrix = _csr_from_codes(b_codes, i_codes, (n_baskets, len(items)))
    return matrix, items.rename(item_col)


def _arrow_codes(column: Any, *, sort: bool) -> tuple[np.ndarray, pd.Index]:
    """``_factorize`` of an Arrow column (no nulls): int64 codes and their labels.

    Arrow's dictionary encoding is several times faster than ``pd.factorize`` on the
    millions of strings of a collected key column; only the distinct labels go
    through pandas, so they are sorted exactly as ``_factorize`` sorts them. A
    dictionary (categorical) column goes through pandas whole, which orders it by its
    categories.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(values.type):
        return _factorize(values.to_pandas(), sort=sort)
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    labels = encoded.dictionary.to_pandas()
    if not sort:
        return codes, pd.Index(labels)
    rank, uniques = _factorize(labels, sort=True)
    return rank[codes], uniques


def frequent_itemsets(
    data: Any,
    *,
    min_support: float | None = None,
    min_count: int | None = None,
    max_len: int | None = None,
    basket_col: str = schema.ORDER_ID,
    item_col: str = schema.PRODUCT_ID,
    level: str | None = None,
    purchases_only: bool = True,
    status_col: str | None = schema.STATUS,
    amount_col: str | None = schema.AMOUNT,
    refund_col: str | None = schema.REFUND_AMOUNT,
    max_basket_size: int | None = None,
    long_baskets: Literal["drop", "truncate"] = "drop",
    memory_limit: int | float | Literal["auto"] | None = "auto",
) -> pd.DataFrame:
    """Every itemset bought together in at least ``min_support`` of the baskets.

    Exact: the same itemsets and supports as mlxtend's ``fpgrowth``/``apriori`` and
    arules' ``apriori``/``eclat`` on the same baskets. An itemset is frequent when its
    count reaches ``ceil(min_support × n_baskets)`` (inclusive, with a tolerance for
    float rounding, so ``0.07 × 100`` means 7 baskets).

    Algorithm: a level-wise search on vertical occurrence lists held as sparse
    matrices. Pair counts are one sparse product ``X.T @ X``; each longer level counts
    all one-item extensions of the previous level with one product ``T.T @ X`` of the
    previous level's basket × itemset occurrence matrix. The work runs in scipy's and
    numpy's compiled code (Python loops only over levels), memory grows with the
    occurrences of frequent itemsets rather than baskets × items, and the size of each
    product is known before it runs, which is what the memory guard checks. On retail
    data (sparse, skewed item popularity) this is tens of times faster than mlxtend and
    close to Borgelt's C implementations.

    Parameters
    ----------
    data : DataFrame, BasketMatrix, sparse matrix or array
        Order lines (see ``basket_matrix``; purchases only by default), the output of
        ``basket_matrix``, a ``(matrix, item_labels)`` pair, a 0/1 basket × item
        matrix (items labelled 0..n-1), or a one-hot boolean DataFrame such as
        mlxtend's ``TransactionEncoder`` output (columns are items). Order lines in
        polars, DuckDB, Dask, PySpark (any narwhals frame) are reduced in their engine;
        without ``max_basket_size`` only the pairs of items that reach the threshold
        are collected.
    min_support : float, default=None
        Smallest share of baskets, in (0, 1]. Give this or ``min_count``.
    min_count : int, default=None
        Smallest number of baskets. With ``min_support`` too, the larger threshold wins.
    max_len : int, default=None
        Longest itemset reported; None for no limit.
    basket_col, item_col, level, purchases_only, status_col, amount_col, refund_col, \
max_basket_size, long_baskets
        How order lines become baskets (see ``basket_matrix``); ignored for matrices.
    memory_limit : int, "auto" or None, default="auto"
        Bytes the search may use. Before each sparse product, and as itemsets
        accumulate, the memory needed is estimated; above the limit a
        ``MiningMemoryError`` suggests a higher ``min_support`` or a ``max_len``.
        "auto" is half of the memory available; None turns the check off.

    Returns
    -------
    pandas.DataFrame
        One row per frequent itemset, sorted by count (descending), then length, then
        items, with columns:

        - ``itemset``: frozenset of item labels.
        - ``support``: share of baskets holding every item of the set.
        - ``count``: number of such baskets.
        - ``length``: number of items.

        ``attrs["n_baskets"]`` holds the number of baskets (``association_rules``
        reads it).

    Raises
    ------
    InvalidDataError
        No baskets, a ``min_support`` outside (0, 1], a bad ``min_count``/``max_len``.
    MiningMemoryError
        The search would need more than ``memory_limit``.

    See Also
    --------
    association_rules : rules from these itemsets.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.basket import frequent_itemsets
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o1", "o2", "o2", "o2", "o3", "o3", "o4"],
    ...     "product_id": ["tea", "cup", "tea", "cup", "pot", "tea", "pot", "cup"],
    ... })
    >>> sets = frequent_itemsets(orders, min_support=0.5)
    >>> sets.assign(itemset=sets["itemset"].map(sorted))
          itemset  support  count  length
    0       [cup]     0.75      3       1
    1       [tea]     0.75      3       1
    2       [pot]     0.50      2       1
    3  [cup, tea]     0.50      2       2
    4  [pot, tea]     0.50      2       2
    """
    caller = "frequent_itemsets"
    limit = _resolve_limit(memory_limit, caller)
    if min_support is None and min_count is None:
        raise InvalidDataError(
            f"{caller}: give min_support= (a share of baskets, e.g. 0.01) or min_count= "
            f"(a number of baskets)."
        )
    if min_support is not None and not (
        isinstance(min_support, (int, float, np.integer, np.floating))
        and 0 < float(min_support) <= 1
    ):
        raise InvalidDataError(
            f"{caller}: min_support must be in (0, 1], got {min_support!r}. It is a share "
            f"of baskets: 0.01 means 1% of the baskets; for a number of baskets pass min_count=."
        )
    if min_count is not None and (not isinstance(min_count, (int, np.integer)) or min_count < 1):
        raise InvalidDataError(
            f"{caller}: min_count must be a positive integer, got {min_count!r}."
        )
    if max_len is not None and (not isinstance(max_len, (int, np.integer)) or max_len < 1):
        raise InvalidDataError(
            f"{caller}: max_len must be a positive integer or None, got {max_len!r}."
        )
    matrix, items = _as_matrix(
        data,
        caller=caller,
        basket_col=basket_col,
        item_col=level if level is not None else item_col,
        item_role="level" if level is not None else "item_col",
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
        max_basket_size=max_basket_size,
        long_baskets=long_baskets,
        support=(min_support, min_count),
    )
    n = int(matrix.shape[0])
    if n == 0:
        raise InvalidDataError(f"{caller}: there are no baskets (the matrix has 0 rows).")
    threshold = _min_basket_count(min_support, min_count, n)
    mined = _mining.mine(
        matrix, min_count=threshold, max_len=max_len, memory_limit=limit, caller=caller
    )
    return _itemsets_frame(mined, items)


def _itemsets_frame(mined: _mining.Mined, items: pd.Index) -> pd.DataFrame:
    labels = np.asarray(items, dtype=object)
    n = mined.n_baskets
    sets: list[frozenset[Any]] = []
    counts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    max_len = len(mined.items)
    for k, (codes, count) in enumerate(zip(mined.items, mined.counts, strict=True), start=1):
        codes = np.sort(codes, axis=1)
        sets.extend(map(frozenset, labels[codes].tolist()))
        counts.append(count)
        lengths.append(np.full(len(count), k))
        padded = np.full((len(count), max_len), -1, dtype=np.int64)
        padded[:, :k] = codes
        keys.append(padded)
    if not sets:
        frame = pd.DataFrame(
            {
                "itemset": pd.Series([], dtype=object),
                "support": pd.Series([], dtype=float),
                "count": pd.Series([], dtype=np.int64),
                "length": pd.Series([], dtype=np.int64),
            }
        )
    else:
        count = np.concatenate(counts)
        length = np.concatenate(lengths)
        key = np.concatenate(keys)
        order = np.lexsort([*key.T[::-1], length, -count])
        frame = pd.DataFrame(
            {
                "itemset": pd.Series(sets, dtype=object).iloc[order].to_numpy(),
                "support": count[order] / n,
                "count": count[order],
                "length": length[order],
            }
        )
    frame.attrs = {"n_baskets": n, "min_count": mined.min_count, "item": items.name}
    return frame


# --- association rules -----------------------------------------------------------------


def association_rules(
    itemsets: pd.DataFrame,
    *,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    max_consequent_len: int | None = 1,
    p_value: bool = False,
    n_baskets: int | None = None,
    memory_limit: int | float | Literal["auto"] | None = "auto",
) -> pd.DataFrame:
    """Association rules antecedent → consequent from frequent itemsets.

    Every frequent itemset ``I`` is split into antecedent ``A`` and consequent
    ``C = I - A``; a rule is kept when its confidence and lift reach the thresholds.
    With ``max_consequent_len=None`` every split is made and the rules and their
    measures are those of mlxtend's ``association_rules`` on the same itemsets. The
    default of one-item consequents is the convention of arules, pyfim and Spark, and
    gives the published Groceries results (5,668 rules at support 0.001 and confidence
    0.5).

    Parameters
    ----------
    itemsets : DataFrame
        Output of ``frequent_itemsets`` (``itemset``, ``support``, ``count``), or an
        mlxtend-style table with ``itemsets`` and ``support``. It must hold every
        subset of its itemsets, as a frequent-itemset table does.
    min_confidence : float, default=0.0
        Smallest confidence, in [0, 1]. Compared on counts
        (``count(A ∪ C) >= min_confidence × count(A)``), so 28 of 280 passes 0.1.
    min_lift : float, default=0.0
        Smallest lift.
    max_consequent_len : int or None, default=1
        Largest consequent; None for every split.
    p_value : bool, default=False
        Add ``p_value``: the one-sided Fisher exact test that ``A`` and ``C`` are bought
        together more often than by chance (hypergeometric tail, as arules'
        ``is.significant``). Drop rules above e.g. 0.05 on small data; with many rules,
        correct for multiple testing.
    n_baskets : int, default=None
        Number of baskets; read from ``itemsets.attrs["n_baskets"]`` when None.
    memory_limit : int, "auto" or None, default="auto"
        Bytes the rules may take (see ``frequent_itemsets``).

    Returns
    -------
    pandas.DataFrame
        One row per rule, sorted by lift, then confidence, then support (descending),
        with columns:

        - ``antecedent``, ``consequent``: frozensets of item labels.
        - ``support``: share of baskets holding ``A ∪ C``; ``count``: their number
          (when the counts are known).
        - ``confidence``: ``support(A ∪ C) / support(A)``, the chance of ``C`` given ``A``.
        - ``lift``: ``confidence / support(C)``; above 1 means bought together more
          often than by chance. ``lift(A → C) == lift(C → A)``.
        - ``leverage``: ``support(A ∪ C) - support(A) support(C)``.
        - ``conviction``: ``(1 - support(C)) / (1 - confidence)``, inf when confidence is 1.
        - ``zhangs_metric``: leverage over its largest possible value, in [-1, 1].
        - ``jaccard``: ``support(A ∪ C) / (support(A) + support(C) - support(A ∪ C))``.
        - ``kulczynski``: mean of ``confidence(A → C)`` and ``confidence(C → A)``.
        - ``antecedent_support``, ``consequent_support``.
        - ``p_value`` with ``p_value=True``.

    Raises
    ------
    InvalidDataError
        Thresholds out of range, an itemset table without the subsets of its itemsets,
        a repeated itemset, or ``p_value=True`` without counts.
    MiningMemoryError
        The rules would need more than ``memory_limit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.basket import association_rules, frequent_itemsets
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o1", "o2", "o2", "o2", "o3", "o3", "o4"],
    ...     "product_id": ["tea", "cup", "tea", "cup", "pot", "tea", "pot", "cup"],
    ... })
    >>> rules = association_rules(frequent_itemsets(orders, min_support=0.5))
    >>> rules[["antecedent", "consequent", "support", "confidence", "lift"]].map(
    ...     lambda v: sorted(v) if isinstance(v, frozenset) else round(v, 3))
      antecedent consequent  support  confidence   lift
    0      [pot]      [tea]      0.5       1.000  1.333
    1      [tea]      [pot]      0.5       0.667  1.333
    2      [cup]      [tea]      0.5       0.667  0.889
    3      [tea]      [cup]      0.5       0.667  0.889
    """
    caller = "association_rules"
    limit = _resolve_limit(memory_limit, caller)
    if not isinstance(itemsets, pd.DataFrame):
        raise InvalidDataError(
            f"{caller}: `itemsets` must be the DataFrame returned by frequent_itemsets, "
            f"got {type(itemsets).__name__}."
        )
    set_col = "itemset" if "itemset" in itemsets.columns else "itemsets"
    for col in (set_col, "support"):
        if col not in itemsets.columns:
            raise ColumnNotFoundError(
                f"{caller}: column {col!r} not found in `itemsets`.\n"
                f"Available columns: {list(itemsets.columns)}.\n"
                f"Hint: pass the output of crm.basket.frequent_itemsets."
            )
    if not (0.0 <= float(min_confidence) <= 1.0):
        raise InvalidDataError(
            f"{caller}: min_confidence must be in [0, 1], got {min_confidence!r}."
        )
    if float(min_lift) < 0:
        raise InvalidDataError(f"{caller}: min_lift must be >= 0, got {min_lift!r}.")
    if max_consequent_len is not None and (
        not isinstance(max_consequent_len, (int, np.integer)) or max_consequent_len < 1
    ):
        raise InvalidDataError(
            f"{caller}: max_consequent_len must be a positive integer or None, got "
            f"{max_consequent_len!r}."
        )
    n = n_baskets if n_baskets is not None else itemsets.attrs.get("n_baskets")
    sets = [s if isinstance(s, frozenset) else frozenset(s) for s in itemsets[set_col]]
    support = itemsets["support"].to_numpy(dtype=float)
    counts: np.ndarray | None = None
    if "count" in itemsets.columns:
        counts = itemsets["count"].to_numpy(dtype=np.int64)
    elif n is not None:
        counts = np.rint(support * n).astype(np.int64)
    if p_value and (counts is None or n is None):
        raise InvalidDataError(
            f"{caller}: p_value=True needs basket counts. Pass n_baskets= (the number of "
            f"baskets the supports were computed on)."
        )
    if counts is not None and n is None:
        raise InvalidDataError(
            f"{caller}: `itemsets` has counts but the number of baskets is unknown.\n"
            f"Hint: pass n_baskets=, or the unmodified output of frequent_itemsets "
            f"(it carries attrs['n_baskets'])."
        )
    values = counts if counts is not None else support

    lengths = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    empty = pd.DataFrame(
        {
            c: pd.Series([], dtype=object if c in ("antecedent", "consequent") else float)
            for c in _RULE_COLUMNS
            if c != "count" or counts is not None
        }
    )
    if p_value:
        empty["p_value"] = pd.Series([], dtype=float)
    if len(sets) == 0 or lengths.max() < 2:
        return empty
    if (lengths == 0).any():
        raise InvalidDataError(f"{caller}: `itemsets` holds an empty itemset; drop it.")
    flat = list(chain.from_iterable(sets))
    codes, labels = _factorize(pd.Series(flat, dtype=object), sort=True)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rows_by_len: dict[int, np.ndarray] = {}
    values_by_len: dict[int, np.ndarray] = {}
    original_by_len: dict[int, np.ndarray] = {}
    for length in np.unique(lengths).tolist():
        idx = np.flatnonzero(lengths == length)
        rows = np.sort(codes[starts[idx][:, None] + np.arange(length)], axis=1)
        order = np.lexsort(rows.T[::-1])  # canonical order: lexicographic on codes
        rows, idx = rows[order], idx[order]
        if len(rows) > 1 and (rows[1:] == rows[:-1]).all(axis=1).any():
            dup = idx[1:][(rows[1:] == rows[:-1]).all(axis=1)][0]
            raise InvalidDataError(
                f"{caller}: itemset {sorted(sets[dup], key=str)} appears more than once "
                f"in `itemsets`; drop the duplicates."
            )
        rows_by_len[length] = rows
        values_by_len[length] = values[idx]
        original_by_len[length] = idx
    index = _mining.ItemsetIndex(rows_by_len, len(labels))

    def keep(c_ac: np.ndarray, c_a: np.ndarray, c_c: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            conf = c_ac / c_a
            mask = conf >= float(min_confidence) - _CONF_TOL
            if min_lift > 0:
                lift = conf * (n if n is not None else 1.0) / c_c
                mask &= lift >= float(min_lift) * (1 - _LIFT_RTOL)
        return mask

    try:
        parts = _mining.generate_rules(
            rows_by_len,
            values_by_len,
            index,
            max_consequent_len=max_consequent_len,
            keep=keep,
            caller=caller,
            memory_limit=limit,
        )
    except _mining.IncompleteItemsetsError as exc:
        labels_arr = np.asarray(labels, dtype=object)
        whole = sorted(labels_arr[exc.row].tolist(), key=str)
        ant = sorted(labels_arr[exc.row[exc.ant_pos]].tolist(), key=str)
        cons = sorted(labels_arr[exc.row[exc.cons_pos]].tolist(), key=str)
        raise InvalidDataError(
            f"{caller}: the support of {ant} or {cons} (subsets of the itemset {whole}) is "
            f"not in `itemsets`, so the rule {ant} -> {cons} cannot be scored.\n"
            f"Hint: pass the full output of frequent_itemsets (do not filter it by length "
            f"or support before making rules; filter the rules instead)."
        ) from None
    if len(parts.count) == 0:
        return empty

    c_ac = parts.count.astype(float)
    c_a = parts.ant_count.astype(float)
    c_c = parts.cons_count.astype(float)
    if counts is not None:
        s_ac, s_a, s_c = c_ac / n, c_a / n, c_c / n
    else:
        s_ac, s_a, s_c = c_ac, c_a, c_c
    conf = c_ac / c_a
    lift = conf / s_c
    leverage = s_ac - s_a * s_c
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(conf < 1.0, (1.0 - s_c) / (1.0 - conf), np.inf)
        denom = np.maximum(s_ac * (1 - s_a), s_a * (s_c - s_ac))
        zhang = np.where(denom == 0, 0.0, leverage / denom)
    jaccard = s_ac / (s_a + s_c - s_ac)
    kulczynski = (conf + c_ac / c_c) / 2

    ant_orig = _lookup_original(original_by_len, parts.ant_len, parts.ant_row)
    cons_orig = _lookup_original(original_by_len, parts.cons_len, parts.cons_row)
    # canonical tie-break: antecedent then consequent in canonical itemset order
    order = np.lexsort(
        (parts.cons_row, parts.cons_len, parts.ant_row, parts.ant_len, -s_ac, -conf, -lift)
    )
    sets_arr = np.empty(len(sets), dtype=object)
    sets_arr[:] = sets
    data: dict[str, Any] = {
        "antecedent": sets_arr[ant_orig[order]],
        "consequent": sets_arr[cons_orig[order]],
        "support": s_ac[order],
    }
    if counts is not None:
        data["count"] = parts.count[order].astype(np.int64)
    data.update(
        confidence=conf[order],
        lift=lift[order],
        leverage=leverage[order],
        conviction=conviction[order],
        zhangs_metric=zhang[order],
        jaccard=jaccard[order],
        kulczynski=kulczynski[order],
        antecedent_support=s_a[order],
        consequent_support=s_c[order],
    )
    if p_value:
        from scipy.stats import hypergeom

        data["p_value"] = hypergeom.sf(
            parts.count[order] - 1, int(n), parts.ant_count[order], parts.cons_count[order]
        )
    rules = pd.DataFrame(data)
    rules.attrs = {k: v for k, v in itemsets.attrs.items() if k in ("n_baskets", "item")}
    if n is not None:
        rules.attrs["n_baskets"] = int(n)
    return rules


def _lookup_original(
    original_by_len: dict[int, np.ndarray], lens: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    out = np.empty(len(rows), dtype=np.int64)
    for length, orig in original_by_len.items():
        sel = lens == length
        out[sel] = orig[rows[sel]]
    return out


# --- sequential rules ------------------------------------------------------------------


def _cross_join(left_group: np.ndarray, right_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of every pair of rows with equal group, both inputs sorted by group."""
    n_groups = int(max(left_group.max(initial=-1), right_group.max(initial=-1))) + 1
    n_left = np.bincount(left_group, minlength=n_groups)
    n_right = np.bincount(right_group, minlength=n_groups)
    right_start = np.concatenate([[0], np.cumsum(n_right)[:-1]])
    per_left = n_right[left_group]
    i = np.repeat(np.arange(len(left_group)), per_left)
    offset = np.arange(len(i)) - np.repeat(np.cumsum(per_left) - per_left, per_left)
    j = right_start[left_group[i]] + offset
    del n_left
    return i, j


def _latest_time(orders: Any, time_col: str, caller: str) -> Any:
    """The latest ``time_col`` value of all rows of an engine frame (wall clock)."""
    import narwhals as nw

    frame = as_frame(orders, caller=caller)
    time = nw.col(time_col)
    if getattr(frame.collect_schema()[time_col], "time_zone", None):
        time = time.dt.replace_time_zone(None)
    latest = frame.select(time.max())
    if isinstance(latest, nw.LazyFrame):
        latest = latest.collect()
    return latest.item(0, 0)


def sequential_rules(
    orders: Any,
    *,
    within_days: float = 90,
    min_customers: int = 10,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    item_col: str = schema.PRODUCT_ID,
    level: str | None = None,
    purchases_only: bool = True,
    status_col: str | None = schema.STATUS,
    amount_col: str | None = schema.AMOUNT,
    refund_col: str | None = schema.REFUND_AMOUNT,
    memory_limit: int | float | Literal["auto"] | None = "auto",
) -> pd.DataFrame:
    """ "Bought A, then B within N days": next-purchase associations across orders.

    For every pair of items (A, B), among the customers who first bought A at least
    ``within_days`` before ``as_of`` (so that their whole window is observed), the share
    who bought B in a *later* purchase within ``within_days`` after that first A, set
    against the base rate of B: the share of all customers (with a full window after
    their first purchase) who bought B within ``within_days`` after their first purchase.
    The rules for repurchase and follow-up campaigns (关联购买).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (purchases only by default), pandas or any narwhals frame.
    within_days : float, default=90
        Length of the window after the first purchase of A, in days.
    min_customers : int, default=10
        Keep pairs bought in sequence by at least this many customers.
    as_of : datetime-like, default=None
        Observation date; None means the latest order in the data.
    customer_col, time_col, item_col : str
        Column names; ``level`` (e.g. ``"category"``) replaces ``item_col``.
    purchases_only, status_col, amount_col, refund_col
        Which rows are purchases (see ``basket_matrix``).
    memory_limit : int, "auto" or None, default="auto"
        Bytes the customer-level pairing may use (see ``frequent_itemsets``).

    Returns
    -------
    pandas.DataFrame
        One row per pair, sorted by lift (descending), with columns:

        - ``antecedent``, ``consequent``: item labels A and B.
        - ``antecedent_customers``: customers with a full window after their first A.
        - ``customers``: those of them who bought B within the window (strictly after
          the first A, so not in the same purchase).
        - ``confidence``: ``customers / antecedent_customers``.
        - ``base_rate``: share of all customers who bought B within ``within_days``
          after their first purchase.
        - ``lift``: ``confidence / base_rate``.
        - ``median_days``: median days from the first A to the first B after it.

    Raises
    ------
    ColumnNotFoundError, InvalidDataError
        A missing column, a time column that is not datetime, no purchases, or a bad
        ``within_days``/``min_customers``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.basket import sequential_rules
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c", "c", "d", "e"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05",
    ...         "2024-02-01", "2024-01-03", "2024-06-01", "2024-01-10", "2024-01-15"]),
    ...     "product_id": ["shampoo", "conditioner", "shampoo", "conditioner",
    ...                    "shampoo", "soap", "soap", "soap"],
    ... })
    >>> seq = sequential_rules(orders, within_days=60, min_customers=2)
    >>> seq[["antecedent", "consequent", "customers", "confidence", "base_rate", "lift"]]
      antecedent   consequent  customers  confidence  base_rate      lift
    0    shampoo  conditioner          2    0.666667        0.4  1.666667

    Two of the three shampoo buyers bought conditioner within 60 days (after 19 and
    27 days: ``median_days`` 23.0), against two of all five customers after their
    first purchase.
    """
    caller = "sequential_rules"
    limit = _resolve_limit(memory_limit, caller)
    if not isinstance(within_days, (int, float, np.integer, np.floating)) or within_days <= 0:
        raise InvalidDataError(
            f"{caller}: within_days must be a positive number, got {within_days!r}."
        )
    if not isinstance(min_customers, (int, np.integer)) or min_customers < 1:
        raise InvalidDataError(
            f"{caller}: min_customers must be a positive integer, got {min_customers!r}."
        )
    item = level if level is not None else item_col
    rows = _purchase_rows(
        orders,
        {
            "customer_col": customer_col,
            "time_col": time_col,
            ("level" if level else "item_col"): item,
        },
        caller=caller,
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
    )
    check_datetime_dtype(rows[time_col].dtype, time_col, caller=caller)
    times = rows[time_col]
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_localize(None)
    t = times.to_numpy().astype("datetime64[ns]").astype(np.int64)
    if as_of is None:
        # the latest order in the data, any status (as customer_summary)
        as_of = orders[time_col].max() if isinstance(orders, pd.DataFrame) else None
        if as_of is None:  # other engines: the same maximum, computed in the engine
            as_of = _latest_time(orders, time_col, caller)
    stamp = pd.Timestamp(as_of)
    as_of_ns = int((stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).value)
    window = int(round(float(within_days) * _NS_PER_DAY))
    cust, _ = _factorize(rows[customer_col], sort=False)
    codes, labels = _factorize(rows[item], sort=True)
    n_items = len(labels)

    # distinct (customer, item, time) purchases, sorted by customer
    key = np.unique(np.stack([cust, codes, t], axis=1), axis=0)
    p_cust, p_item, p_time = key[:, 0], key[:, 1], key[:, 2]
    # first purchase of each item per customer (rows sorted by customer, item, time)
    first = np.ones(len(key), dtype=bool)
    first[1:] = (p_cust[1:] != p_cust[:-1]) | (p_item[1:] != p_item[:-1])
    f_cust, f_item, f_time = p_cust[first], p_item[first], p_time[first]

    # base rate: customers with a full window after their first purchase
    c_first = np.full(int(p_cust.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(c_first, p_cust, p_time)
    eligible_c = c_first + window <= as_of_ns
    n_eligible = int(eligible_c.sum())
    in_base = eligible_c[p_cust] & (p_time > c_first[p_cust]) & (p_time <= c_first[p_cust] + window)
    base_pairs = _mining.sorted_unique(p_cust[in_base] * n_items + p_item[in_base])
    base_count = np.bincount(base_pairs % n_items, minlength=n_items)
    base_rate = base_count / n_eligible if n_eligible else np.full(n_items, np.nan)

    # customers whose first A has a full window, paired with all their later purchases
    elig = f_time + window <= as_of_ns
    a_cust, a_item, a_time = f_cust[elig], f_item[elig], f_time[elig]
    ant_customers = np.bincount(a_item, minlength=n_items)
    n_a = np.bincount(a_cust, minlength=int(p_cust.max()) + 1)
    n_p = np.bincount(p_cust, minlength=int(p_cust.max()) + 1)
    pairs = int(n_a @ n_p)
    if limit is not None and pairs * 48 > limit:
        raise MiningMemoryError(
            f"{caller}: pairing each customer's first purchases with their later ones needs "
            f"about {_mining._fmt_bytes(pairs * 48)}, more than the memory_limit of "
            f"{_mining._fmt_bytes(limit)}.\nHint: mine at a coarser level (level='category'), "
            f"pass fewer orders (a recent period), or memory_limit=None."
        )
    i, j = _cross_join(a_cust, p_cust)
    delta = p_time[j] - a_time[i]
    ok = (delta > 0) & (delta <= window) & (p_item[j] != a_item[i])
    i, j, delta = i[ok], j[ok], delta[ok]
    # one (customer, A, B), the first B after A
    trip = np.stack([a_cust[i], a_item[i], p_item[j], delta], axis=1)
    trip = trip[np.lexsort(trip.T[::-1])]
    uniq = np.ones(len(trip), dtype=bool)
    uniq[1:] = (trip[1:, :3] != trip[:-1, :3]).any(axis=1)
    trip = trip[uniq]
    pair_key = trip[:, 1] * n_items + trip[:, 2]
    order = np.lexsort((trip[:, 3], pair_key))
    pair_key, days = pair_key[order], trip[order, 3] / _NS_PER_DAY
    keys, start, count = np.unique(pair_key, return_index=True, return_counts=True)
    keep = count >= min_customers
    keys, start, count = keys[keep], start[keep], count[keep]
    # median of each sorted group of delays
    lo = start + (count - 1) // 2
    hi = start + count // 2
    median = (days[lo] + days[hi]) / 2 if len(keys) else np.zeros(0)
    a, b = keys // n_items, keys % n_items
    confidence = count / ant_customers[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = confidence / base_rate[b]
    labels_arr = np.asarray(labels, dtype=object)
    out = pd.DataFrame(
        {
            "antecedent": labels_arr[a],
            "consequent": labels_arr[b],
            "antecedent_customers": ant_customers[a].astype(np.int64),
            "customers": count.astype(np.int64),
            "confidence": confidence,
            "base_rate": base_rate[b],
            "lift": lift,
            "median_days": median,
        }
    )
    order = np.lexsort((b, a, -count, -np.nan_to_num(lift, nan=-np.inf)))
    out = out.iloc[order].reset_index(drop=True)
    out.attrs = {"within_days": within_days, "as_of": pd.Timestamp(as_of_ns), "item": item}
    return out


# --- recommendations -------------------------------------------------------------------


def recommend(
    orders: Any,
    rules: pd.DataFrame,
    *,
    customers: Sequence[Any] | None = None,
    top_n: int = 5,
    exclude_bought: bool = True,
    score: Literal["confidence", "lift"] = "confidence",
    customer_col: str = schema.CUSTOMER_ID,
    item_col: str = schema.PRODUCT_ID,
    level: str | None = None,
    purchases_only: bool = True,
    status_col: str | None = schema.STATUS,
    amount_col: str | None = schema.AMOUNT,
    refund_col: str | None = schema.REFUND_AMOUNT,
    memory_limit: int | float | Literal["auto"] | None = "auto",
) -> pd.DataFrame:
    """Top-N cross-sell offers per customer from association rules.

    A rule fires for a customer who has bought every item of its antecedent (over all
    their purchases); each consequent item then gets the rule's score, an item keeps
    the best score among the rules that fired, and the ``top_n`` best items are
    offered. Vectorised: a sparse customer × item matrix times a rule × item matrix,
    no loop over customers.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (purchases only by default): what each customer has bought.
    rules : DataFrame
        Output of ``association_rules`` mined at the same level (``item_col``/``level``).
    customers : sequence, default=None
        Customers to recommend for; None means every customer with a purchase.
    top_n : int, default=5
        Offers per customer (fewer when fewer rules fire).
    exclude_bought : bool, default=True
        Never offer an item the customer has already bought.
    score : {"confidence", "lift"}, default="confidence"
        How offers are ranked (ties: the other measure, then the rule's position).
    customer_col, item_col, level, purchases_only, status_col, amount_col, refund_col
        See ``basket_matrix``.
    memory_limit : int, "auto" or None, default="auto"
        Bytes the customer × rule product may use.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (customers sorted, several rows each), with columns
        ``rank`` (1 = best), the item column (named after ``item_col`` or ``level``),
        ``confidence``, ``lift``, ``antecedent`` (the items that triggered the offer)
        and ``rule`` (the index label of that rule in ``rules``).

    Raises
    ------
    InvalidDataError
        ``rules`` is not a rules table, no rule item occurs in ``orders`` (rules mined
        at another level), or a bad ``top_n``/``score``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.basket import association_rules, frequent_itemsets, recommend
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o1", "o2", "o2", "o3", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "bob", "bob", "cy", "cy", "dan", "eve"],
    ...     "product_id": ["tea", "cup", "tea", "cup", "tea", "pot", "tea", "cup"],
    ... })
    >>> rules = association_rules(frequent_itemsets(orders, min_count=2))
    >>> offers = recommend(orders, rules)
    >>> offers.assign(antecedent=offers["antecedent"].map(sorted)).drop(columns="rule")
                 rank product_id  confidence      lift antecedent
    customer_id
    cy              1        cup    0.500000  0.833333      [tea]
    dan             1        cup    0.500000  0.833333      [tea]
    eve             1        tea    0.666667  0.833333      [cup]

    Ann and Bob already have both items, so nothing is offered to them.
    """
    caller = "recommend"
    limit = _resolve_limit(memory_limit, caller)
    if not isinstance(rules, pd.DataFrame) or not {"antecedent", "consequent"} <= set(
        rules.columns
    ):
        raise InvalidDataError(
            f"{caller}: `rules` must be the output of association_rules (columns "
            f"'antecedent' and 'consequent'), got "
            f"{list(rules.columns) if isinstance(rules, pd.DataFrame) else type(rules).__name__}."
        )
    if score not in ("confidence", "lift"):
        raise InvalidDataError(
            f"{caller}: score={score!r} is not supported. Choose one of ['confidence', 'lift']."
        )
    for col in ("confidence", "lift"):
        if col not in rules.columns:
            raise ColumnNotFoundError(
                f"{caller}: column {col!r} not found in `rules`.\nAvailable columns: "
                f"{list(rules.columns)}.\nHint: pass the output of association_rules."
            )
    if not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise InvalidDataError(f"{caller}: top_n must be a positive integer, got {top_n!r}.")
    item = level if level is not None else item_col
    rows = _purchase_rows(
        orders,
        {"customer_col": customer_col, ("level" if level else "item_col"): item},
        caller=caller,
        purchases_only=purchases_only,
        status_col=status_col,
        amount_col=amount_col,
        refund_col=refund_col,
    )
    if customers is not None:
        wanted = pd.Index(list(customers))
        rows = rows[rows[customer_col].isin(wanted)]
    cust, cust_labels = _factorize(rows[customer_col], sort=True)
    codes, item_labels = _factorize(rows[item], sort=True)
    # rule items: labels of the orders first, then labels only the rules have
    ant_sets = list(rules["antecedent"])
    cons_sets = list(rules["consequent"])
    ant_len = np.fromiter(map(len, ant_sets), dtype=np.int64, count=len(ant_sets))
    cons_len = np.fromiter(map(len, cons_sets), dtype=np.int64, count=len(cons_sets))
    ant_flat = pd.Index(list(chain.from_iterable(ant_sets)), dtype=object)
    cons_flat = pd.Index(list(chain.from_iterable(cons_sets)), dtype=object)
    ant_codes = item_labels.get_indexer(ant_flat)
    if len(ant_flat) and (ant_codes < 0).all() and len(rows):
        raise InvalidDataError(
            f"{caller}: none of the rules' items (e.g. {example_values(ant_flat)}) occurs in "
            f"column {item!r} of `orders` (e.g. {example_values(item_labels)}).\n"
            f"Hint: make the rules and the recommendations at the same level: pass "
            f"item_col= or level= with the column the rules were mined on."
        )
    extra = pd.Index(cons_flat[item_labels.get_indexer(cons_flat) < 0].unique())
    all_labels = item_labels.append(extra) if len(extra) else item_labels
    cons_codes = all_labels.get_indexer(cons_flat)
    n_items = len(all_labels)
    label_rank, _ = _factorize(pd.Series(np.asarray(all_labels, dtype=object)), sort=True)
    n_cust = len(cust_labels)
    item_name = item
    columns = ["rank", item_name, "confidence", "lift", "antecedent", "rule"]
    if n_cust == 0 or len(rules) == 0:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        empty.index = pd.Index([], name=customer_col)
        return empty

    bought = _csr_from_codes(cust, codes, (n_cust, n_items)).astype(np.int32)
    # antecedent matrix: rule × item; a rule with an item nobody bought can never fire
    rule_of_ant = np.repeat(np.arange(len(rules)), ant_len)
    known = ant_codes >= 0
    ant_matrix = sp.csr_array(
        (np.ones(int(known.sum()), dtype=np.int32), (ant_codes[known], rule_of_ant[known])),
        shape=(n_items, len(rules)),
    )
    # products of the customer × rule match: per item, its buyers × the rules holding it
    flops = int(np.bincount(bought.indices, minlength=n_items) @ np.diff(ant_matrix.indptr))
    if limit is not None and flops * 40 > limit:
        raise MiningMemoryError(
            f"{caller}: matching {n_cust:,} customers against {len(rules):,} rules needs about "
            f"{_mining._fmt_bytes(flops * 40)}, more than the memory_limit of "
            f"{_mining._fmt_bytes(limit)}.\nHint: filter the rules (min_confidence, min_lift) "
            f"or pass customers= in batches."
        )
    hits = (bought @ ant_matrix).tocoo()
    fired = hits.data == ant_len[hits.col]
    f_cust = hits.row[fired].astype(np.int64)
    f_rule = hits.col[fired].astype(np.int64)
    # expand each fired rule to its consequent items
    cons_start = np.concatenate([[0], np.cumsum(cons_len)[:-1]])
    reps = cons_len[f_rule]
    o_cust = np.repeat(f_cust, reps)
    o_rule = np.repeat(f_rule, reps)
    offset = np.arange(len(o_rule)) - np.repeat(np.cumsum(reps) - reps, reps)
    o_item = cons_codes[cons_start[o_rule] + offset]
    if exclude_bought and len(o_item):
        bought_keys = _mining.sorted_unique(cust * n_items + codes)
        q = o_cust * n_items + o_item
        pos = np.searchsorted(bought_keys, q)
        pos[pos == len(bought_keys)] = 0
        new = bought_keys[pos] != q
        o_cust, o_rule, o_item = o_cust[new], o_rule[new], o_item[new]
    conf = rules["confidence"].to_numpy(dtype=float)
    lift = rules["lift"].to_numpy(dtype=float)
    primary, secondary = (conf, lift) if score == "confidence" else (lift, conf)
    # best rule per (customer, item), then the top_n items per customer
    order = np.lexsort((o_rule, -secondary[o_rule], -primary[o_rule], o_item, o_cust))
    o_cust, o_rule, o_item = o_cust[order], o_rule[order], o_item[order]
    best = np.ones(len(o_cust), dtype=bool)
    best[1:] = (o_cust[1:] != o_cust[:-1]) | (o_item[1:] != o_item[:-1])
    o_cust, o_rule, o_item = o_cust[best], o_rule[best], o_item[best]
    order = np.lexsort((label_rank[o_item], o_rule, -secondary[o_rule], -primary[o_rule], o_cust))
    o_cust, o_rule, o_item = o_cust[order], o_rule[order], o_item[order]
    group_start = np.ones(len(o_cust), dtype=bool)
    group_start[1:] = o_cust[1:] != o_cust[:-1]
    first_pos = np.maximum.accumulate(np.where(group_start, np.arange(len(o_cust)), 0))
    rank = np.arange(len(o_cust)) - first_pos + 1
    top = rank <= top_n
    o_cust, o_rule, o_item, rank = o_cust[top], o_rule[top], o_item[top], rank[top]
    ants = np.empty(len(ant_sets), dtype=object)
    ants[:] = ant_sets
    out = pd.DataFrame(
        {
            "rank": rank.astype(np.int64),
            item_name: np.asarray(all_labels, dtype=object)[o_item],
            "confidence": conf[o_rule],
            "lift": lift[o_rule],
            "antecedent": ants[o_rule],
            "rule": np.asarray(rules.index)[o_rule],
        },
        index=pd.Index(np.asarray(cust_labels, dtype=object)[o_cust], name=customer_col),
    )
    return out
