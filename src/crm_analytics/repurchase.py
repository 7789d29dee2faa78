"""Repurchase: how many customers come back, how fast, and when to remind them.

- :func:`repurchase_rate`: the repurchase rate (复购率) under the definitions shops
  actually quote, overall, per period and per group (category, channel, segment).
- :func:`cohort_table`: cohorts by first-purchase period × periods since the first
  purchase (retention, customers, orders, revenue); cells not observed yet are NaN.
- :func:`time_to_second_purchase`: days from the first to the second purchase, per
  customer and as a distribution.
- :func:`interpurchase_times`: each customer's number of purchases and typical gap.
- :func:`next_purchase_window`: the number of days within which a given share of repeat
  purchases happen, overall or per category: the moment for a reminder.

Every function works on canonical orders (``crm.read_orders``). Purchases are rows with
status ``paid`` valued at ``amount - refund_amount``; a row whose refund covers its
amount is not a purchase, so a refund never counts as a repeat purchase. A purchase is
an order (distinct ``order_id``); with ``merge_same_day=True`` it is a purchase day, so
that orders split at checkout or placed minutes apart count once. Days are calendar
days of the shop's time zone (the loaders store local times). ``as_of`` (default: the
latest order in the data) ends the observation; later orders are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import narwhals as nw
import numpy as np
import pandas as pd

from . import schema
from ._purchases import (
    EnginePurchases,
    Purchases,
    collect,
    column_roles,
    engine_purchases,
    naive_ns,
    period_codes,
    period_index,
    purchase_orders,
    with_gaps,
)
from ._validation import check_choice
from .exceptions import InvalidDataError

__all__ = [
    "DEFINITIONS",
    "METRICS",
    "SecondPurchase",
    "cohort_table",
    "interpurchase_times",
    "next_purchase_window",
    "repurchase_rate",
    "time_to_second_purchase",
]

#: Repurchase-rate definitions understood by :func:`repurchase_rate`.
DEFINITIONS: tuple[str, ...] = ("customers", "orders", "returning", "first_time")
#: Cell values of :func:`cohort_table`.
METRICS: tuple[str, ...] = ("retention", "customers", "revenue", "orders", "revenue_per_customer")
_PERIODS = ("D", "W", "M", "Q", "Y")


# --------------------------------------------------------------------------- helpers


def _purchases(
    orders: Any, caller: str, as_of: Any, by: str | None, cols: dict, per_order: bool = True
) -> Purchases:
    return purchase_orders(orders, caller=caller, as_of=as_of, by=by, per_order=per_order, **cols)


def _first_rows(key: np.ndarray) -> np.ndarray:
    """Boolean mask of the first occurrence of each key."""
    return ~pd.Index(key).duplicated()


def _group_min(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Minimum of ``values`` per code 0..n-1 (int64 max where a code has no value)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype="int64")
    np.minimum.at(out, codes, values)
    return out


def _sorted_groups(groups: pd.Index) -> np.ndarray:
    """Positions that put group values in sorted order (text order if not comparable)."""
    try:
        return np.asarray(groups.argsort(), dtype="int64")
    except TypeError:
        return np.asarray(groups.astype(str).argsort(), dtype="int64")


def _check_days(value: Any, name: str, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidDataError(
            f"{caller}: {name} must be a whole number of days >= 1, got {value!r}."
        )
    return int(value)


# --------------------------------------------------------------------------- rates


def repurchase_rate(
    orders: Any,
    *,
    period: Literal["W", "M", "Q", "Y"] | None = None,
    by: str | None = None,
    definition: Literal["customers", "orders", "returning", "first_time"] = "customers",
    merge_same_day: bool = False,
    window_days: int = 90,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Repurchase rate (复购率) over the whole data or per period, optionally per group.

    Shops quote the repurchase rate many ways; pick one by name:

    ``"customers"`` (default)
        Share of the window's buying customers with two or more purchases in the
        window: ``repeat_buyers / buyers``. A purchase is a distinct order, or a
        distinct purchase day with ``merge_same_day=True`` (two orders on one day then
        count once). Per period, each period is its own window.
    ``"orders"``
        Share of the window's purchases made by customers who had bought before (at
        any earlier time up to ``as_of``, not only in the window):
        ``repeat_orders / orders``. Orders at the very moment of a customer's first
        purchase count as first; with ``merge_same_day=True`` purchases are days and a
        repeat is a later day.
    ``"returning"`` (回购率)
        Share of the previous period's buyers who buy again in this period:
        ``returning_buyers / previous_buyers``. Needs ``period``; the first period has
        no previous one (rate NaN). ``merge_same_day`` has no effect.
    ``"first_time"``
        Share of the period's first-time buyers (first purchase ever in the data) who
        buy again within ``window_days`` calendar days of their first purchase:
        ``repeat_buyers / observed_buyers``. Only buyers whose whole window is before
        ``as_of`` are judged (``observed_buyers``); the others are not yet known.

    Customers who bought before the data starts look new: keep some history before the
    first period you report.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    period : {"W", "M", "Q", "Y"}, default=None
        Calendar period (Monday-to-Sunday weeks, months, quarters, years). None: one
        window from the first purchase to ``as_of``. Every period from the first
        purchase to ``as_of`` has a row (0 buyers, rate NaN when nobody bought); the
        last one may be incomplete.
    by : str, default=None
        Column of ``orders`` to split by (``category``, ``channel``, a segment merged
        onto the orders). Each group is analysed as if it were its own shop: a
        customer's purchases in that group only (an order with two categories is a
        purchase in both).
    definition : {"customers", "orders", "returning", "first_time"}, default="customers"
        Which rate (see above).
    merge_same_day : bool, default=False
        Count purchase days instead of orders.
    window_days : int, default=90
        Days after the first purchase for ``definition="first_time"``.
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (a PeriodIndex; with no ``period``, one row labelled
        ``"<first day>/<as_of>"``), by the ``by`` values, or by both (period, group).
        Columns by definition, then ``repurchase_rate`` (float in [0, 1], NaN when
        the denominator is 0):

        - ``"customers"``: ``buyers``, ``repeat_buyers``
        - ``"orders"``: ``orders``, ``repeat_orders`` (days with ``merge_same_day``)
        - ``"returning"``: ``previous_buyers``, ``returning_buyers``
        - ``"first_time"``: ``first_time_buyers``, ``observed_buyers``, ``repeat_buyers``

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    InvalidDataError
        Unknown option, text times, or ``"returning"`` without a period.

    See Also
    --------
    cohort_table : the same question by first-purchase cohort.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.repurchase import repurchase_rate
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "bob", "bob", "cat"],
    ...     "order_time": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20",
    ...                                   "2024-01-28", "2024-02-05"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ...     "status": "paid",
    ... })
    >>> repurchase_rate(orders).round(3)
                           buyers  repeat_buyers  repurchase_rate
    period
    2024-01-03/2024-02-10       3              2            0.667
    >>> repurchase_rate(orders, period="M")
             buyers  repeat_buyers  repurchase_rate
    period
    2024-01       2              1              0.5
    2024-02       2              0              0.0
    >>> repurchase_rate(orders, period="M", definition="returning")
             previous_buyers  returning_buyers  repurchase_rate
    period
    2024-01                0                 0              NaN
    2024-02                2                 1              0.5
    """
    caller = "repurchase_rate"
    check_choice(definition, DEFINITIONS, name="definition", caller=caller)
    if period is not None:
        check_choice(period, ("W", "M", "Q", "Y"), name="period", caller=caller)
    elif definition == "returning":
        raise InvalidDataError(
            f"{caller}: definition='returning' compares each period with the previous one "
            f"and needs a period.\nHint: pass period='M' (or 'W', 'Q', 'Y')."
        )
    if definition == "first_time":
        window_days = _check_days(window_days, "window_days", caller)
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    per_order = definition != "returning"
    ep = engine_purchases(orders, caller=caller, as_of=as_of, by=by, per_order=per_order, **cols)
    if ep is None:
        p = _purchases(orders, caller, as_of, by, cols, per_order=per_order)
        cells = _rate_cells(p, period, definition, merge_same_day, window_days)
        as_of_ts = p.as_of
    else:
        cells = _rate_cells_engine(ep, period, definition, merge_same_day, window_days, by)
        as_of_ts = ep.as_of
    num, den, total = cells.num, cells.den, cells.total
    first, last, n_windows = cells.first, cells.last, cells.last - cells.first + 1
    n_groups = len(cells.groups) if cells.groups is not None else 1
    names = _RATE_COLUMNS[definition]
    num = np.rint(num).astype("int64")
    den = np.rint(den).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    data: dict[str, np.ndarray] = {names[0]: den.ravel(), names[1]: num.ravel()}
    if total is not None:
        data = {"first_time_buyers": np.rint(total).astype("int64").ravel(), **data}
    data["repurchase_rate"] = rate.ravel()
    out = pd.DataFrame(data)

    if period is not None:
        periods = period_index(np.arange(first, last + 1), period, "period")
    else:
        start = (
            pd.Timestamp(cells.start_day * _NS_PER_DAY) if cells.start_day is not None else as_of_ts
        )
        periods = pd.Index([f"{start:%Y-%m-%d}/{as_of_ts:%Y-%m-%d}"], name="period")
    if cells.groups is None:
        out.index = periods
        return out
    order = _sorted_groups(cells.groups)
    groups = cells.groups[order]
    out = out.iloc[(np.arange(n_windows)[:, None] * n_groups + order[None, :]).ravel()]
    if period is None:
        out.index = groups
    else:
        out.index = pd.MultiIndex.from_product([periods, groups])
    return out


_NS_PER_DAY = 86_400 * 10**9

# (denominator, numerator) column names of each definition
_RATE_COLUMNS = {
    "customers": ("buyers", "repeat_buyers"),
    "orders": ("orders", "repeat_orders"),
    "returning": ("previous_buyers", "returning_buyers"),
    "first_time": ("observed_buyers", "repeat_buyers"),
}


@dataclass(frozen=True)
class _RateCells:
    """Counts per (window, group) of :func:`repurchase_rate`, windows ``first..last``."""

    num: np.ndarray
    den: np.ndarray
    total: np.ndarray | None  # first-time buyers ("first_time" only)
    first: int
    last: int
    groups: pd.Index | None
    start_day: int | None  # first purchase day (labels the single window)


def _rate_cells(
    p: Purchases, period: str | None, definition: str, merge_same_day: bool, window_days: int
) -> _RateCells:
    """:func:`repurchase_rate`'s counts from purchase rows, with numpy."""
    f = p.frame
    total = None
    n_groups = len(p.groups) if p.groups is not None else 1
    group = f["group"].to_numpy() if p.groups is not None else np.zeros(len(f), dtype="int64")
    unit = f["cust"].to_numpy() * n_groups + group
    day = f["day"].to_numpy()
    time = f["time"].to_numpy()
    n_units = int(unit.max()) + 1 if len(unit) else 0

    if merge_same_day and definition in ("customers", "orders"):
        d_min = int(day.min()) if len(day) else 0
        keep = _first_rows(unit * (p.as_of_day + 1 - d_min) + (day - d_min))
        # a day's earliest order stands for the day
        unit, day, group = unit[keep], day[keep], group[keep]
        time = day * 86_400 * 10**9

    # windows: period ordinals relative to the first one (one window without a period)
    if period is not None:
        last = int(period_codes(np.array([p.as_of_day]), period)[0])
        codes = period_codes(day, period)
        first = int(codes.min()) if len(codes) else last
        first = min(first, last)
    else:
        codes = np.zeros(len(day), dtype="int64")
        first = last = 0
    n_windows = last - first + 1
    w = codes - first
    shape = (n_windows, n_groups)

    def cells(window: np.ndarray, grp: np.ndarray, weights: Any = None) -> np.ndarray:
        flat = np.bincount(window * n_groups + grp, weights=weights, minlength=n_windows * n_groups)
        return flat.reshape(shape)

    if definition == "customers":
        key = unit * n_windows + w
        codes_, uniq = pd.factorize(key)
        counts = np.bincount(codes_)
        uw, ug = uniq % n_windows, (uniq // n_windows) % n_groups
        num, den = cells(uw, ug, counts >= 2), cells(uw, ug)
    elif definition == "orders":
        first_time = _group_min(time, unit, n_units)
        repeat = time > first_time[unit]
        num, den = cells(w, group, repeat), cells(w, group)
    elif definition == "returning":
        key = np.unique(unit * n_windows + w)
        uw, ug = key % n_windows, (key // n_windows) % n_groups
        has_next = uw < n_windows - 1
        back = np.isin(key[has_next] + 1, key)
        num = cells(uw[has_next] + 1, ug[has_next], back)
        den = cells(uw[has_next] + 1, ug[has_next])
    else:  # first_time
        first_time = _group_min(time, unit, n_units)
        first_day = first_time // (86_400 * 10**9)
        later = day > first_day[unit] if merge_same_day else time > first_time[unit]
        second_day = _group_min(day[later], unit[later], n_units)
        present = np.zeros(n_units, dtype=bool)
        present[unit] = True
        ids = np.flatnonzero(present)
        d0 = first_day[ids]
        observed = d0 + window_days <= p.as_of_day
        repeat = observed & (second_day[ids] - d0 <= window_days)
        first_codes = (
            period_codes(d0, period) - first if period is not None else np.zeros(len(ids), "int64")
        )
        ug = ids % n_groups
        total = cells(first_codes, ug)
        num, den = cells(first_codes, ug, repeat), cells(first_codes, ug, observed)

    return _RateCells(
        num,
        den,
        total,
        first,
        last,
        p.groups,
        int(day.min()) if len(day) else None,
    )


def _rate_cells_engine(
    ep: EnginePurchases,
    period: str | None,
    definition: str,
    merge_same_day: bool,
    window_days: int,
    by: str | None,
) -> _RateCells:
    """:func:`repurchase_rate`'s counts inside the engine: only per-window rows come back.

    Every definition reduces to group-bys over (customer, group, window) and one join
    per customer (group), so nothing per order is collected.
    """
    import narwhals as nw

    unit, join = ep.unit, ep.join_keys
    grp = ["_group"] if by is not None else []
    rows = ep.rows
    if merge_same_day and definition in ("customers", "orders"):
        # a day's earliest order stands for the day
        rows = rows.group_by(*unit, "_day").agg(nw.col("_time").min())
    window = ep.period(period).alias("_w")
    count = nw.len().alias("den")
    tables: list[pd.DataFrame]
    own_first = None
    if definition == "customers":
        per = (
            rows.with_columns(window)
            .group_by(*unit, "_w")
            .agg(nw.len().alias("_n"), nw.col("_day").min().alias("_dmin"))
        )
        tables = [
            collect(
                per.with_columns((nw.col("_n") >= 2).cast(nw.Int64).alias("num"))
                .group_by("_w", *grp)
                .agg(count, nw.col("num").sum(), nw.col("_dmin").min())
            )
        ]
    elif definition == "orders":
        key = "_day" if merge_same_day else "_time"
        firsts = rows.group_by(*unit).agg(nw.col(key).min().alias("_first")).select(*join, "_first")
        tables = [
            collect(
                rows.join(firsts, on=join)
                .with_columns(window, (nw.col(key) > nw.col("_first")).cast(nw.Int64).alias("_r"))
                .group_by("_w", *grp)
                .agg(count, nw.col("_r").sum().alias("num"), nw.col("_day").min().alias("_dmin"))
            )
        ]
    elif definition == "returning":
        # one query: each (customer, window) row stands for the pairs (w, w + 1), marked
        # as its own window, and (w - 1, w); per pair, the marks count window j's buyers
        # and a pair seen twice is a return
        seen = rows.select(*unit, window).unique()
        pairs = nw.concat(
            [
                seen.with_columns(nw.col("_w").alias("_j"), nw.lit(1, nw.Int64).alias("_own")),
                seen.with_columns(
                    (nw.col("_w") - 1).alias("_j"), nw.lit(0, nw.Int64).alias("_own")
                ),
            ],
            how="vertical",
        )
        counts = collect(
            pairs.group_by(*unit, "_j")
            .agg(nw.len().alias("_n"), nw.col("_own").sum())
            .with_columns((nw.col("_n") == 2).cast(nw.Int64).alias("num"))
            .group_by("_j", *grp)
            .agg(nw.col("_own").sum().alias("den"), nw.col("num").sum())
            .filter(nw.col("den") > 0)  # the window before the first has no buyers
        )
        own_first = int(counts["_j"].min()) if len(counts) else None
        # window j's buyers, and those of them back in j + 1, go to the row of j + 1
        tables = [counts.assign(_w=counts["_j"] + 1).drop(columns="_j")]
    else:  # first_time
        units = _first_and_second(ep, rows, merge_same_day)
        observed = nw.col("_d0") + window_days <= ep.as_of_day
        repeat = observed & ((nw.col("_d2") - nw.col("_d0")) <= window_days).fill_null(False)
        tables = [
            collect(
                units.with_columns(
                    ep.period(period, "_first").alias("_w"),
                    observed.cast(nw.Int64).alias("den"),
                    repeat.cast(nw.Int64).alias("num"),
                )
                .group_by("_w", *grp)
                .agg(
                    nw.len().alias("total"),
                    nw.col("den").sum(),
                    nw.col("num").sum(),
                    nw.col("_d0").min().alias("_dmin"),
                )
            )
        ]
    cells = pd.concat(tables, ignore_index=True)
    last = int(period_codes(np.array([ep.as_of_day]), period)[0]) if period is not None else 0
    w = cells["_w"].to_numpy(dtype="int64")
    if definition == "returning":
        first = last if own_first is None else min(own_first, last)
    else:
        first = min(int(w.min()), last) if len(w) else last
    inside = w <= last  # the last window's buyers have no next window
    cells, w = cells[inside], w[inside] - first
    groups = None
    if by is not None:
        group, uniq = pd.factorize(cells["_group"].to_numpy(), use_na_sentinel=False)
        groups = ep.groups(uniq)
        n_groups = max(len(groups), 1)
    else:
        group, n_groups = np.zeros(len(cells), dtype="int64"), 1
    size = (last - first + 1) * n_groups
    flat = w * n_groups + group

    def grid(column: str) -> np.ndarray:
        weights = cells[column].to_numpy(dtype="float64", na_value=0.0)
        return np.bincount(flat, weights=weights, minlength=size).reshape(-1, n_groups)

    start = cells["_dmin"].min() if "_dmin" in cells and len(cells) else None
    return _RateCells(
        grid("num"),
        grid("den"),
        grid("total") if definition == "first_time" else None,
        first,
        last,
        groups,
        None if start is None or pd.isna(start) else int(start),
    )


def _first_and_second(ep: EnginePurchases, rows: Any, merge_same_day: bool) -> Any:
    """Per customer (and group): first purchase ``_first``/``_d0``, second ``_second``/``_d2``.

    The second purchase is the earliest one after the first (after its day with
    ``merge_same_day``); null without one.
    """
    import narwhals as nw

    unit, join = ep.unit, ep.join_keys
    firsts = rows.group_by(*unit).agg(
        nw.col("_time").min().alias("_first"), nw.col("_day").min().alias("_d0")
    )
    later = nw.col("_day") > nw.col("_d0") if merge_same_day else nw.col("_time") > nw.col("_first")
    seconds = (
        rows.join(firsts.select(*join, "_first", "_d0"), on=join)
        .filter(later)
        .group_by(*join)
        .agg(nw.col("_time").min().alias("_second"), nw.col("_day").min().alias("_d2"))
    )
    return firsts.join(seconds, on=join, how="left")


# --------------------------------------------------------------------------- cohorts


def cohort_table(
    orders: Any,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] = "M",
    metric: Literal[
        "retention", "customers", "revenue", "orders", "revenue_per_customer"
    ] = "retention",
    cumulative: bool = False,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Cohorts (first-purchase period) × periods since the first purchase.

    A customer's cohort is the calendar period of their first purchase; column ``k``
    is the period ``k`` periods later (0 is the first period itself). A cell past
    ``as_of`` has not been observed yet and is NaN, never 0, so a young cohort is not
    read as lost. The last observed column of each cohort may be an incomplete period.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    period : {"D", "W", "M", "Q", "Y"}, default="M"
        Cohort and column period (Monday-to-Sunday weeks for "W").
    metric : {"retention", "customers", "revenue", "orders", "revenue_per_customer"}
        Cell value, for the cohort's customers in that period:

        - ``"customers"``: customers who bought (column 0 is the cohort size);
        - ``"retention"``: those customers / cohort size (column 0 is 1.0);
        - ``"orders"``: purchase orders;
        - ``"revenue"``: net revenue (``amount - refund_amount``);
        - ``"revenue_per_customer"``: revenue / cohort size.
    cumulative : bool, default=False
        Running totals along each cohort. For ``"customers"`` and ``"retention"`` a
        column ``k >= 1`` then counts the customers who came back at least once in
        periods 1..k (column 0 stays the whole cohort); for the other metrics the
        cells are summed over periods 0..k (e.g. cumulative revenue per customer).
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cohort`` (a PeriodIndex with every period from the first cohort
        to ``as_of``; a period without new customers has size 0 and NaN retention),
        columns ``0, 1, 2, ...`` named ``periods_since_first``. Counts are nullable
        ``Int64``, the other metrics float. ``attrs`` holds ``metric``, ``period``
        and ``cumulative`` (used by the plots).

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    InvalidDataError
        Unknown period or metric, or text times.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.repurchase import cohort_table
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "bob", "bob", "cat"],
    ...     "order_time": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20",
    ...                                   "2024-01-28", "2024-02-05"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ...     "status": "paid",
    ... })
    >>> cohort_table(orders)
    periods_since_first    0    1
    cohort
    2024-01              1.0  0.5
    2024-02              1.0  NaN
    >>> cohort_table(orders, metric="revenue")
    periods_since_first     0     1
    cohort
    2024-01              90.0  20.0
    2024-02              40.0   NaN
    """
    caller = "cohort_table"
    check_choice(period, _PERIODS, name="period", caller=caller)
    check_choice(metric, METRICS, name="metric", caller=caller)
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    # one row per order is only needed to count orders
    per_order = metric == "orders"
    ep = engine_purchases(orders, caller=caller, as_of=as_of, per_order=per_order, **cols)
    if ep is None:
        p = _purchases(orders, caller, as_of, None, cols, per_order=per_order)
        c0, n, table, sizes = _cohort_grids(p, period, metric, cumulative)
    else:
        c0, n, table, sizes = _cohort_grids_engine(ep, period, metric, cumulative)
    last = c0 + n - 1
    if cumulative and metric in ("orders", "revenue", "revenue_per_customer"):
        table = table.cumsum(axis=1)
    if metric in ("retention", "revenue_per_customer"):
        with np.errstate(invalid="ignore", divide="ignore"):
            table = np.where(sizes[:, None] > 0, table / np.maximum(sizes, 1)[:, None], np.nan)
    unobserved = np.arange(n)[:, None] + np.arange(n)[None, :] > n - 1
    table = np.where(unobserved, np.nan, table)
    out = pd.DataFrame(
        table,
        index=period_index(np.arange(c0, last + 1), period, "cohort"),
        columns=pd.RangeIndex(n, name="periods_since_first"),
    )
    if metric in ("customers", "orders"):
        out = out.round().astype("Int64")
    out.attrs.update(metric=metric, period=period, cumulative=bool(cumulative))
    return out


def _cohort_grids(
    p: Purchases, period: str, metric: str, cumulative: bool
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """First cohort, number of periods, cell values and cohort sizes, with numpy."""
    f = p.frame
    cust, day = f["cust"].to_numpy(), f["day"].to_numpy()
    last = int(period_codes(np.array([p.as_of_day]), period)[0])
    codes = period_codes(day, period)
    n_cust = len(p.keys)
    first_code = _group_min(codes, cust, n_cust)
    c0 = min(int(first_code.min()), last) if n_cust else last
    n = last - c0 + 1  # cohorts, and columns 0..n-1
    cohort = first_code[cust] - c0
    k = codes - first_code[cust]
    cell = cohort * n + k

    def grid(index: np.ndarray, weights: Any = None) -> np.ndarray:
        return np.bincount(index, weights=weights, minlength=n * n).reshape(n, n).astype(float)

    seen = _first_rows(cust * n + k)
    customers = grid(cell[seen])
    sizes = customers[:, 0].copy()
    if metric in ("customers", "retention") and cumulative:
        back = k >= 1
        first_back = _group_min(k[back], cust[back], n_cust)
        returned = first_back < np.iinfo(np.int64).max
        ids = np.flatnonzero(returned)
        table = grid((first_code[ids] - c0) * n + first_back[ids]).cumsum(axis=1)
        table[:, 0] = sizes
    elif metric in ("customers", "retention"):
        table = customers
    elif metric == "orders":
        table = grid(cell)
    else:
        table = grid(cell, f["net"].to_numpy())
    return c0, n, table, sizes


def _cohort_grids_engine(
    ep: EnginePurchases, period: str, metric: str, cumulative: bool
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """:func:`_cohort_grids` inside the engine: only (cohort, period) cells come back."""
    import narwhals as nw

    last = int(period_codes(np.array([ep.as_of_day]), period)[0])
    per = (
        ep.rows.with_columns(ep.period(period).alias("_p"))
        .group_by("_cust", "_p")
        .agg(nw.len().alias("_n"), nw.col("_net").sum().alias("_v"))
    )
    firsts = per.group_by("_cust").agg(nw.col("_p").min().alias("_c"))
    per = per.join(firsts, on="_cust").with_columns((nw.col("_p") - nw.col("_c")).alias("_k"))
    cells = collect(
        per.group_by("_c", "_k").agg(
            nw.len().alias("customers"),
            nw.col("_n").sum().alias("orders"),
            nw.col("_v").sum().alias("revenue"),
        )
    )
    c0 = min(int(cells["_c"].min()), last) if len(cells) else last
    n = last - c0 + 1

    def grid(frame: pd.DataFrame, column: str) -> np.ndarray:
        index = (frame["_c"].to_numpy(dtype="int64") - c0) * n + frame["_k"].to_numpy("int64")
        weights = frame[column].to_numpy(dtype="float64")
        return np.bincount(index, weights=weights, minlength=n * n).reshape(n, n)

    customers = grid(cells, "customers")
    sizes = customers[:, 0].copy()
    if metric in ("customers", "retention") and cumulative:
        back = collect(
            per.filter(nw.col("_k") >= 1)
            .group_by("_cust", "_c")
            .agg(nw.col("_k").min())
            .group_by("_c", "_k")
            .agg(nw.len().alias("returned"))
        )
        table = grid(back, "returned").cumsum(axis=1)
        table[:, 0] = sizes
    elif metric in ("customers", "retention"):
        table = customers
    else:
        table = grid(cells, "orders" if metric == "orders" else "revenue")
    return c0, n, table, sizes


# --------------------------------------------------------------------------- timing


@dataclass
class SecondPurchase:
    """What :func:`time_to_second_purchase` returns.

    Attributes
    ----------
    customers : pandas.DataFrame
        Per buying customer (indexed by the customer key): ``first_purchase``,
        ``second_purchase`` (NaT without one), ``days_to_second`` (nullable Int64,
        calendar days) and ``days_observed`` (calendar days from the first purchase to
        ``as_of``).
    summary : pandas.Series
        ``customers``, ``repeat_customers``, ``repeat_share``; ``median_days``,
        ``mean_days``, ``q25_days``, ``q75_days``, ``q90_days`` of ``days_to_second``
        among repeat customers; and ``within_<N>_days`` for each N of
        ``within_days``: the share of customers observed for at least N days whose
        second purchase came within N days (NaN when nobody was observed that long).
    """

    customers: pd.DataFrame
    summary: pd.Series

    def __repr__(self) -> str:
        s = self.summary
        parts = [
            f"SecondPurchase: {int(s['customers']):,} customers, "
            f"{int(s['repeat_customers']):,} bought a second time ({s['repeat_share']:.1%})",
            f"  days to second purchase: median {s['median_days']:g}, mean {s['mean_days']:.1f}",
        ]
        shares = [f"{k[7:-5]} days {v:.1%}" for k, v in s.items() if str(k).startswith("within_")]
        if shares:
            parts.append("  within " + ", ".join(shares))
        return "\n".join(parts)


def time_to_second_purchase(
    orders: Any,
    *,
    merge_same_day: bool = False,
    within_days: tuple[int, ...] = (30, 60, 90),
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> SecondPurchase:
    """Calendar days from each customer's first purchase to their second.

    The second purchase is the next order after the first one (an order placed at the
    same moment as the first is part of it); with ``merge_same_day=True`` it is the
    next purchase day, so a second order on the first day does not count.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    merge_same_day : bool, default=False
        Ignore further orders on the day of the first purchase.
    within_days : tuple of int, default=(30, 60, 90)
        Horizons of the ``within_<N>_days`` shares.
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    SecondPurchase
        ``customers`` (per customer) and ``summary`` (the distribution).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.repurchase import time_to_second_purchase
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "bob", "bob", "cat"],
    ...     "order_time": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20",
    ...                                   "2024-01-28", "2024-02-05"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ...     "status": "paid",
    ... })
    >>> result = time_to_second_purchase(orders, within_days=(10, 30))
    >>> result.customers
                first_purchase second_purchase  days_to_second  days_observed
    customer_id
    ann             2024-01-03      2024-02-10              38             38
    bob             2024-01-20      2024-01-28               8             21
    cat             2024-02-05             NaT            <NA>              5
    >>> result
    SecondPurchase: 3 customers, 2 bought a second time (66.7%)
      days to second purchase: median 23, mean 23.0
      within 10 days 50.0%, 30 days 0.0%
    """
    caller = "time_to_second_purchase"
    within = [_check_days(v, "within_days", caller) for v in within_days]
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    ep = engine_purchases(orders, caller=caller, as_of=as_of, **cols)
    if ep is None:
        p = _purchases(orders, caller, as_of, None, cols)
        f = p.frame
        cust, day, time = f["cust"].to_numpy(), f["day"].to_numpy(), f["time"].to_numpy()
        keys, as_of_day = p.keys, p.as_of_day
        first = _group_min(time, cust, len(keys))
        first_day = first // _NS_PER_DAY
        later = day > first_day[cust] if merge_same_day else time > first[cust]
        second = _group_min(time[later], cust[later], len(keys))
    else:  # one row per customer comes back
        per_customer = collect(_first_and_second(ep, ep.rows, merge_same_day))
        keys = ep.keys(per_customer["_cust"].to_numpy())
        as_of_day = ep.as_of_day
        first = naive_ns(per_customer["_first"])
        second = naive_ns(per_customer["_second"])
        second = np.where(second == np.iinfo(np.int64).min, np.iinfo(np.int64).max, second)
        first_day = first // _NS_PER_DAY
    n = len(keys)
    has_second = second < np.iinfo(np.int64).max
    days = np.where(has_second, second // _NS_PER_DAY - first_day, 0)
    observed = as_of_day - first_day
    per = pd.DataFrame(
        {
            "first_purchase": first.astype("datetime64[ns]"),
            "second_purchase": np.where(has_second, second, np.iinfo(np.int64).min).astype(
                "datetime64[ns]"
            ),
            "days_to_second": pd.array(np.where(has_second, days, 0), dtype="Int64"),
            "days_observed": observed.astype("int64"),
        },
        index=keys,
    )
    per.loc[~has_second, "days_to_second"] = pd.NA
    per = per.sort_index(kind="stable")
    gaps = days[has_second].astype(float)
    q = np.quantile(gaps, [0.25, 0.5, 0.75, 0.9]) if len(gaps) else np.full(4, np.nan)
    stats: dict[str, float] = {
        "customers": float(n),
        "repeat_customers": float(has_second.sum()),
        "repeat_share": float(has_second.mean()) if n else math.nan,
        "median_days": float(q[1]),
        "mean_days": float(gaps.mean()) if len(gaps) else math.nan,
        "q25_days": float(q[0]),
        "q75_days": float(q[2]),
        "q90_days": float(q[3]),
    }
    for horizon in within:
        base = observed >= horizon
        hit = base & has_second & (days <= horizon)
        stats[f"within_{horizon}_days"] = float(hit.sum() / base.sum()) if base.any() else math.nan
    return SecondPurchase(per, pd.Series(stats, name="time_to_second_purchase"))


def _events(p: Purchases, unit: np.ndarray, merge_same_day: bool) -> tuple[np.ndarray, ...]:
    """(unit, day, time) of the purchase events sorted by unit then time."""
    f = p.frame
    day, time = f["day"].to_numpy(), f["time"].to_numpy()
    if merge_same_day and len(day):
        d_min = int(day.min())
        keep = _first_rows(unit * (p.as_of_day + 1 - d_min) + (day - d_min))
        unit, day, time = unit[keep], day[keep], day[keep] * 86_400 * 10**9
    order = np.lexsort((time, unit))
    return unit[order], day[order], time[order]


def interpurchase_times(
    orders: Any,
    *,
    merge_same_day: bool = False,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Each customer's number of purchases and the calendar days between them.

    A gap is the number of calendar days between two consecutive purchases (0 for two
    orders on one day, unless ``merge_same_day=True`` counts purchase days).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    merge_same_day : bool, default=False
        Count purchase days instead of orders.
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by the customer key (sorted), one row per buying customer:
        ``n_purchases`` (int), ``median_gap_days`` and ``mean_gap_days`` (float, NaN
        with a single purchase).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.repurchase import interpurchase_times
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "ann", "bob", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-02-10",
    ...                                   "2024-01-20", "2024-01-20"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ... })
    >>> interpurchase_times(orders)
                 n_purchases  median_gap_days  mean_gap_days
    customer_id
    ann                    3             20.0           20.0
    bob                    2              0.0            0.0
    >>> interpurchase_times(orders, merge_same_day=True).loc["bob"].tolist()
    [1.0, nan, nan]
    """
    caller = "interpurchase_times"
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    ep = engine_purchases(orders, caller=caller, as_of=as_of, **cols)
    if ep is not None:
        events = _events_engine(ep, merge_same_day)
        gaps = with_gaps(events, ["_cust"])
        if gaps is not None:  # one row per customer comes back
            per = collect(
                gaps.group_by("_cust").agg(
                    nw.len().alias("n_purchases"),
                    nw.col("_gap").median().alias("median_gap_days"),
                    nw.col("_gap").mean().alias("mean_gap_days"),
                )
            )
            out = pd.DataFrame(
                {
                    "n_purchases": per["n_purchases"].to_numpy(dtype="int64"),
                    "median_gap_days": per["median_gap_days"].to_numpy("float64", na_value=np.nan),
                    "mean_gap_days": per["mean_gap_days"].to_numpy("float64", na_value=np.nan),
                },
                index=ep.keys(per["_cust"].to_numpy()),
            )
            return out.sort_index(kind="stable")
    p = _purchases(orders, caller, as_of, None, cols)
    unit, day, _ = _events(p, p.frame["cust"].to_numpy(), merge_same_day)
    n = len(p.keys)
    same = np.zeros(len(unit), dtype=bool)
    same[1:] = unit[1:] == unit[:-1]
    gaps = pd.Series(np.diff(day, prepend=0)[same].astype(float))
    grouped = gaps.groupby(unit[same])
    out = pd.DataFrame(
        {
            "n_purchases": np.bincount(unit, minlength=n).astype("int64"),
            "median_gap_days": grouped.median().reindex(range(n)).to_numpy(),
            "mean_gap_days": grouped.mean().reindex(range(n)).to_numpy(),
        },
        index=p.keys,
    )
    return out.sort_index(kind="stable")


def next_purchase_window(
    orders: Any,
    *,
    quantile: float = 0.8,
    by: str | None = None,
    merge_same_day: bool = True,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Days within which a share of repeat purchases happen: when to send a reminder.

    Pools the gaps between consecutive purchases of every customer (per group with
    ``by``: a customer's consecutive purchases in that category or channel) and reports
    the smallest whole number of days ``window_days`` such that at least ``quantile``
    of the gaps are that long or shorter. Only completed gaps are seen, so long cycles
    are under-represented in young data: prefer data spanning several cycles.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    quantile : float, default=0.8
        Share of repeat purchases the window must cover, in (0, 1].
    by : str, default=None
        Column of ``orders`` to split by (``category``, ``product_id``, ``channel``).
    merge_same_day : bool, default=True
        Count purchase days, not orders: a second order on the same day is the same
        shopping trip, not a return (the default differs from the other functions for
        that reason).
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted; a single row ``"all"`` without ``by``):
        ``customers`` (with at least one repeat purchase), ``repeat_purchases``
        (gaps), ``median_days`` and ``window_days`` (the ``quantile`` of the gaps,
        an observed number of days; NaN without repeat purchases).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.repurchase import next_purchase_window
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "ann", "bob", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-02-10",
    ...                                   "2024-01-20", "2024-02-09"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ... })
    >>> next_purchase_window(orders, quantile=0.6)
           customers  repeat_purchases  median_days  window_days
    group
    all            2                 3         20.0         20.0
    """
    caller = "next_purchase_window"
    if (
        isinstance(quantile, bool)
        or not isinstance(quantile, (int, float, np.floating))
        or not 0 < quantile <= 1
    ):
        raise InvalidDataError(
            f"{caller}: quantile must be a share in (0, 1], got {quantile!r}. "
            f"Hint: quantile=0.8 covers 80% of repeat purchases."
        )
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    ep = engine_purchases(orders, caller=caller, as_of=as_of, by=by, **cols)
    tables = _gap_tables_engine(ep, by, merge_same_day) if ep is not None else None
    if tables is not None:
        # (group, gap, count) rows: one per distinct gap of a group
        assert ep is not None
        gap_rows, customer_rows, all_groups = tables
        n_all, n_gaps = len(all_groups), len(gap_rows)
        if by is None:
            groups, n_groups = None, 1
            codes = np.zeros(n_all + n_gaps + len(customer_rows), dtype="int64")
        else:
            codes, uniq = pd.factorize(
                np.concatenate(
                    [all_groups, gap_rows["_group"].to_numpy(), customer_rows["_group"].to_numpy()]
                ),
                use_na_sentinel=False,
            )
            groups, n_groups = ep.groups(uniq), len(uniq)
        gap_group = codes[n_all : n_all + n_gaps]
        gap_values = gap_rows["_gap"].to_numpy(dtype="int64")
        weights = gap_rows["_n"].to_numpy(dtype="int64")
        customers = np.bincount(
            codes[n_all + n_gaps :],
            weights=customer_rows["customers"].to_numpy(dtype="float64"),
            minlength=n_groups,
        )
    else:
        p = _purchases(orders, caller, as_of, by, cols)
        groups = p.groups
        n_groups = len(p.groups) if p.groups is not None else 1
        group = (
            p.frame["group"].to_numpy()
            if p.groups is not None
            else np.zeros(len(p.frame), dtype="int64")
        )
        unit, day, _ = _events(p, p.frame["cust"].to_numpy() * n_groups + group, merge_same_day)
        same = np.zeros(len(unit), dtype=bool)
        same[1:] = unit[1:] == unit[:-1]
        gap_values = np.diff(day, prepend=0)[same]
        gap_group = unit[same] % n_groups
        weights = np.ones(len(gap_values), dtype="int64")
        customers = np.bincount(_unique_codes(unit[same]) % n_groups, minlength=n_groups)
    # every group's gaps in order, each distinct gap with its count
    order = np.lexsort((gap_values, gap_group))
    gap_values, gap_group, weights = gap_values[order], gap_group[order], weights[order]
    counts = np.bincount(gap_group, weights=weights, minlength=n_groups).astype("int64")
    ends = np.cumsum(weights)  # 1 + position of each distinct gap's last copy
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))

    def at(position: np.ndarray) -> np.ndarray:
        """The gap at each 0-based position of the sorted gaps."""
        return gap_values[np.searchsorted(ends, position, side="right")].astype("float64")

    has = counts > 0
    # inverted CDF: the smallest gap with at least `quantile` of the gaps at or below it
    pos = starts + np.maximum(np.ceil(quantile * counts - 1e-9).astype("int64") - 1, 0)
    window = np.full(n_groups, np.nan)
    window[has] = at(pos[has])
    medians = np.full(n_groups, np.nan)
    medians[has] = (
        at(starts[has] + (counts[has] - 1) // 2) + at(starts[has] + counts[has] // 2)
    ) / 2
    out = pd.DataFrame(
        {
            "customers": customers.astype("int64"),
            "repeat_purchases": counts,
            "median_days": medians,
            "window_days": window,
        }
    )
    if groups is None:
        out.index = pd.Index(["all"], name="group")
        return out
    sorter = _sorted_groups(groups)
    out = out.iloc[sorter]
    out.index = groups[sorter]
    return out


def _events_engine(ep: EnginePurchases, merge_same_day: bool) -> Any:
    """Purchase events in the engine: orders, or distinct days with ``merge_same_day``."""
    unit = ep.unit
    if merge_same_day:
        return ep.rows.select(*unit, "_day").unique()
    return ep.rows.select(*unit, "_day")


def _gap_tables_engine(
    ep: EnginePurchases, by: str | None, merge_same_day: bool
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray] | None:
    """Gaps of :func:`next_purchase_window` counted inside the engine.

    Returns (group, gap, count) rows, (group, customers with a repeat purchase) rows and
    every group with a purchase; None where the engine has no ordered windows.
    """
    events = _events_engine(ep, merge_same_day)
    gaps = with_gaps(events, ep.join_keys)
    if gaps is None:
        return None
    grp = ["_group"] if by is not None else []
    repeats = gaps.filter(~nw.col("_gap").is_null())
    if by is None:  # one group, None
        repeats = repeats.with_columns(nw.lit(None, dtype=nw.Int64).alias("_group"))
    gap_rows = collect(repeats.group_by("_group", "_gap").agg(nw.len().alias("_n")))
    customer_rows = collect(
        repeats.group_by(*ep.unit, *([] if by else ["_group"]))
        .agg(nw.len())
        .group_by("_group")
        .agg(nw.len().alias("customers"))
    )
    if by is None:
        all_groups = np.array([None], dtype=object)
    else:
        all_groups = collect(ep.rows.select(*grp).unique())["_group"].to_numpy()
    return gap_rows, customer_rows, all_groups


def _unique_codes(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.unique(values), dtype="int64")
