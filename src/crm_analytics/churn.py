"""Churn: who has stopped buying, how many are lost each period, and who will leave next.

- :func:`label`: churned or not at ``as_of``, by a fixed number of inactive days, by
  each customer's own rhythm (``"auto"``), or by a shop-wide threshold.
- :func:`churn_rate`: per period, customers active at the start, new, reactivated,
  lost, active at the end, and the churn rate.
- :func:`features`: one row of features per customer from the orders strictly before a
  cutoff (RFM, gaps, spend trend, category breadth, refund and unpaid rates, channel,
  customer attributes). Nothing at or after the cutoff is read.
- :class:`ChurnModel`: "will this customer buy again within ``horizon_days``?", with a
  scikit-learn classifier (default: histogram gradient boosting) or the BG/NBD model's
  probability of no purchase (``method="btyd"``), and an honest :meth:`~ChurnModel.evaluate`
  next to a recency-only baseline.

Purchases are rows with status ``paid`` valued at ``amount - refund_amount``; a row
whose refund covers its amount is not a purchase. Days are calendar days of the shop.
scikit-learn is imported only when a model is fitted or evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import schema
from ._purchases import (
    EnginePurchases,
    Purchases,
    collect,
    column_roles,
    day_number,
    engine_purchases,
    median_of_counts,
    naive_ns,
    period_codes,
    period_index,
    period_ordinal,
    period_start_day,
    purchase_orders,
    to_timestamp,
    with_gaps,
)
from ._validation import as_frame, check_choice, check_columns
from .exceptions import ColumnNotFoundError, InvalidDataError, NotFittedError

__all__ = ["ChurnEvaluation", "ChurnModel", "churn_rate", "features", "label"]

_NS_PER_DAY = 86_400 * 10**9
_INT_MAX = np.iinfo(np.int64).max
_MAX_LEVELS = 20  # one-hot encode text attributes with at most this many values
_TOP_CHANNELS = 10
# the default classifier's churn probability rises with inactivity and falls with activity
_MONOTONE = {
    "days_since_last": 1,
    "n_orders": -1,
    "n_purchase_days": -1,
    "orders_last_30d": -1,
    "orders_last_90d": -1,
    "orders_last_180d": -1,
    "orders_last_365d": -1,
}


def _purchase_days(p: Purchases) -> tuple[np.ndarray, np.ndarray]:
    """(customer code, day) of each distinct purchase day, sorted by customer then day."""
    f = p.frame
    cust, day = f["cust"].to_numpy(), f["day"].to_numpy()
    if len(day):
        d_min = int(day.min())
        key = cust * (int(day.max()) - d_min + 1) + (day - d_min)
        key = np.unique(key)
        return key // (int(day.max()) - d_min + 1), key % (int(day.max()) - d_min + 1) + d_min
    return cust, day


def _gaps(cust: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaps in days between consecutive sorted purchase days, with their customer codes."""
    same = np.zeros(len(cust), dtype=bool)
    same[1:] = cust[1:] == cust[:-1]
    return cust[same], np.diff(day, prepend=0)[same]


def _last_days_engine(ep: EnginePurchases, period: str) -> tuple[np.ndarray, ...]:
    """:func:`churn_rate`'s purchase days, reduced inside the engine.

    A customer's purchase days within one period start their active spells at the same
    period boundary, and the latest of them keeps them active longest, so only the last
    purchase day of each (customer, period) matters. Returns the customer codes and
    those days sorted by customer then day, and each customer's first purchase day.
    """
    import narwhals as nw

    per = collect(
        ep.rows.with_columns(ep.period(period).alias("_p"))
        .group_by("_cust", "_p")
        .agg(nw.col("_day").max().alias("_last"), nw.col("_day").min().alias("_first"))
    )
    cust, keys = pd.factorize(per["_cust"].to_numpy())
    cust = cust.astype("int64")
    day = per["_last"].to_numpy(dtype="int64")
    order = np.lexsort((day, cust))
    first_day = np.full(len(keys), _INT_MAX, dtype="int64")
    np.minimum.at(first_day, cust, per["_first"].to_numpy(dtype="int64"))
    return cust[order], day[order], first_day


# --------------------------------------------------------------------------- labels


def label(
    orders: Any,
    *,
    as_of: Any = None,
    inactive_days: int | Literal["auto"] | None = "auto",
    auto_multiple: float = 3.0,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Churned or not at ``as_of``: more calendar days without a purchase than a threshold.

    ``days_inactive`` is the number of calendar days from the last purchase to
    ``as_of`` (0 when the customer bought on that day); a customer is churned when
    ``days_inactive > threshold_days``. The threshold:

    - an int: the same number of days for everyone (e.g. 180);
    - ``"auto"``: the customer's own rhythm, ``auto_multiple`` × the median number of
      days between their purchase days (rounded up); customers with a single purchase
      day, whose rhythm is unknown, get the shop-wide threshold below;
    - ``None``: one shop-wide threshold for everyone, ``auto_multiple`` × the median
      gap between consecutive purchase days over all customers (rounded up).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    as_of : datetime-like, default=None
        Observation date; None means the latest order in the data.
    inactive_days : int, "auto" or None, default="auto"
        Threshold rule (see above).
    auto_multiple : float, default=3.0
        Multiple of the median gap used by ``"auto"`` and ``None``.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by the customer key (sorted), one row per customer with a purchase up
        to ``as_of``: ``last_purchase``, ``days_inactive`` (int), ``threshold_days``
        (int) and ``churned`` (bool). ``attrs["shop_threshold_days"]`` holds the
        shop-wide threshold (for ``"auto"`` and ``None``).

    Raises
    ------
    InvalidDataError
        A bad threshold, or ``"auto"``/``None`` on data without any repeat purchase day.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.churn import label
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "ann", "bob", "cat"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-21",
    ...                                   "2024-01-05", "2024-03-01"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ... })
    >>> label(orders, inactive_days=45)
                last_purchase  days_inactive  threshold_days  churned
    customer_id
    ann            2024-01-21             40              45    False
    bob            2024-01-05             56              45     True
    cat            2024-03-01              0              45    False
    >>> label(orders)[["days_inactive", "threshold_days", "churned"]]
                 days_inactive  threshold_days  churned
    customer_id
    ann                     40              30     True
    bob                     56              30     True
    cat                      0              30    False
    """
    caller = "label"
    auto = inactive_days is None or inactive_days == "auto"
    if not auto and (
        isinstance(inactive_days, bool)
        or not isinstance(inactive_days, (int, np.integer))
        or inactive_days < 1
    ):
        raise InvalidDataError(
            f"{caller}: inactive_days must be a whole number of days >= 1, 'auto' or None, "
            f"got {inactive_days!r}."
        )
    if not (isinstance(auto_multiple, (int, float)) and auto_multiple > 0):
        raise InvalidDataError(f"{caller}: auto_multiple must be > 0, got {auto_multiple!r}.")
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    own_rhythm = inactive_days == "auto"
    ep = engine_purchases(orders, caller=caller, as_of=as_of, per_order=False, **cols)
    stats = _label_stats_engine(ep, own_rhythm) if ep is not None else None
    if stats is None:
        p = purchase_orders(orders, caller=caller, as_of=as_of, per_order=False, **cols)
        stats = _label_stats(p, own_rhythm)
    keys, last_day, last_time, gap_values, gap_counts, own, as_of_day = stats
    threshold = np.zeros(len(keys), dtype="int64")
    shop = None
    if auto:
        if gap_counts.sum() == 0:
            raise InvalidDataError(
                f"{caller}: inactive_days={inactive_days!r} learns the purchase rhythm from "
                f"customers with two or more purchase days; these orders have none.\n"
                f"Hint: pass a number of days, e.g. inactive_days=180."
            )
        shop = int(math.ceil(auto_multiple * median_of_counts(gap_values, gap_counts)))
        threshold[:] = shop
        if own is not None:
            known = ~np.isnan(own)
            threshold[known] = np.ceil(auto_multiple * own[known])
    else:
        threshold[:] = int(inactive_days)  # type: ignore[arg-type]
    days_inactive = as_of_day - last_day
    out = pd.DataFrame(
        {
            "last_purchase": last_time.astype("datetime64[ns]"),
            "days_inactive": days_inactive,
            "threshold_days": threshold,
            "churned": days_inactive > threshold,
        },
        index=keys,
    ).sort_index(kind="stable")
    if shop is not None:
        out.attrs["shop_threshold_days"] = shop
    return out


_LabelStats = tuple[
    pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None", int
]


def _label_stats(p: Purchases, own_rhythm: bool) -> _LabelStats:
    """Per customer: last purchase day and time, own median gap; all gaps as counts."""
    n = len(p.keys)
    cust, day = _purchase_days(p)
    last_day = np.full(n, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last_day, cust, day)
    last_time = np.full(n, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last_time, p.frame["cust"].to_numpy(), p.frame["time"].to_numpy())
    gap_cust, gaps = _gaps(cust, day)
    values, counts = np.unique(gaps, return_counts=True)
    own = None
    if own_rhythm:
        medians = pd.Series(gaps.astype(float)).groupby(gap_cust).median()
        own = np.full(n, np.nan)
        own[medians.index.to_numpy()] = medians.to_numpy()
    return p.keys, last_day, last_time, values, counts, own, p.as_of_day


def _label_stats_engine(ep: EnginePurchases, own_rhythm: bool) -> _LabelStats | None:
    """:func:`_label_stats` inside the engine: one row per customer comes back.

    The gaps between a customer's purchase days come from an ordered window; the
    shop-wide median from their value counts. None where the engine has no ordered
    windows.
    """
    import narwhals as nw

    days = ep.rows.group_by("_cust", "_day").agg(nw.col("_time").max())
    gaps = with_gaps(days, ["_cust"])
    if gaps is None:
        return None
    aggs = [nw.col("_day").max().alias("_last_day"), nw.col("_time").max().alias("_last_time")]
    if own_rhythm:
        aggs.append(nw.col("_gap").median().alias("_median"))
    per = collect(gaps.group_by("_cust").agg(*aggs))
    counts = collect(
        gaps.filter(~nw.col("_gap").is_null()).group_by("_gap").agg(nw.len().alias("_n"))
    )
    keys = ep.keys(per["_cust"].to_numpy())
    own = per["_median"].to_numpy(dtype="float64", na_value=np.nan) if own_rhythm else None
    return (
        keys,
        per["_last_day"].to_numpy(dtype="int64"),
        naive_ns(per["_last_time"]),
        counts["_gap"].to_numpy(dtype="int64"),
        counts["_n"].to_numpy(dtype="int64"),
        own,
        ep.as_of_day,
    )


def churn_rate(
    orders: Any,
    *,
    period: Literal["W", "M", "Q", "Y"] = "M",
    inactive_days: int = 180,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Customers active, new, reactivated and lost per period, and the churn rate.

    A customer is *active* at the end of a day when their last purchase was at most
    ``inactive_days`` calendar days before (the rule of :func:`label` with a fixed
    threshold), and *lapsed* after. Per period, with the states at the end of the day
    before the period starts and at the end of its last day:

    - ``active_start``: active at the start;
    - ``new``: first purchase in the period (and active at its end);
    - ``reactivated``: lapsed at the start, active at the end (they bought again);
    - ``lost``: active at the start, lapsed at the end;
    - ``active_end`` = ``active_start + new + reactivated - lost``;
    - ``churn_rate`` = ``lost / active_start`` (NaN when nobody was active).

    Only complete periods up to ``as_of`` are reported. Customers who bought before the
    data starts are unknown, so the first ``inactive_days`` of data under-count
    ``active_start`` and ``reactivated``. With periods longer than ``inactive_days`` a
    customer who lapses and comes back within one period is neither lost nor
    reactivated.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    period : {"W", "M", "Q", "Y"}, default="M"
        Calendar period (Monday-to-Sunday weeks, months, quarters, years).
    inactive_days : int, default=180
        Days without a purchase after which a customer counts as lost.
    as_of : datetime-like, default=None
        End of observation; None means the latest order in the data.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (PeriodIndex), columns ``active_start``, ``new``,
        ``reactivated``, ``lost``, ``active_end`` (int) and ``churn_rate`` (float).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.churn import churn_rate
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "bob", "ann", "cat", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-02-15",
    ...                                   "2024-02-20", "2024-04-30"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ... })
    >>> churn_rate(orders, inactive_days=30)
             active_start  new  reactivated  lost  active_end  churn_rate
    period
    2024-01             0    2            0     0           2         NaN
    2024-02             2    1            0     1           2         0.5
    2024-03             2    0            0     2           0         1.0
    2024-04             0    0            1     0           1         NaN
    """
    caller = "churn_rate"
    check_choice(period, ("W", "M", "Q", "Y"), name="period", caller=caller)
    if (
        isinstance(inactive_days, bool)
        or not isinstance(inactive_days, (int, np.integer))
        or inactive_days < 1
    ):
        raise InvalidDataError(
            f"{caller}: inactive_days must be a whole number of days >= 1, got "
            f"{inactive_days!r}. Hint: inactive_days=180."
        )
    cols = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
    ep = engine_purchases(orders, caller=caller, as_of=as_of, per_order=False, **cols)
    spells = _spells_engine(ep, period, inactive_days) if ep is not None else None
    if spells is None:
        if ep is None:
            p = purchase_orders(orders, caller=caller, as_of=as_of, per_order=False, **cols)
            cust, day = _purchase_days(p)
            first_day = np.full(len(p.keys), _INT_MAX, dtype="int64")
            np.minimum.at(first_day, cust, day)
            as_of_day = p.as_of_day
        else:  # no ordered windows (Dask): the last day of each customer and period
            cust, day, first_day = _last_days_engine(ep, period)
            as_of_day = ep.as_of_day
        if len(day):
            first = int(period_codes(np.array([day.min()]), period)[0])
            # complete periods: their last day is on or before as_of
            last = int(period_codes(np.array([as_of_day + 1]), period)[0]) - 1
            spells = _spells(cust, day, first_day, period, inactive_days, first, last)
    columns = ["active_start", "new", "reactivated", "lost", "active_end"]
    if spells is None:  # no purchase
        empty = pd.DataFrame({c: np.zeros(0, "int64") for c in columns})
        empty["churn_rate"] = np.zeros(0)
        empty.index = period_index(np.zeros(0, "int64"), period, "period")
        return empty
    first, last, s_idx, e_idx, is_new, weight = spells
    n_periods = max(last - first + 1, 0)
    size = n_periods + 1

    def tally(index: np.ndarray, mask: Any = True) -> np.ndarray:
        """Spells per boundary index 0..size (with `mask`)."""
        w = np.where(mask, weight, 0)
        return np.bincount(index, weights=w, minlength=size + 1).astype("int64")

    active = np.cumsum(tally(s_idx)[:size] - tally(e_idx)[:size])
    gained = s_idx >= 1
    new = tally(np.maximum(s_idx - 1, 0), gained & is_new)[:n_periods]
    back = tally(np.maximum(s_idx - 1, 0), gained & ~is_new)[:n_periods]
    lost = tally(np.maximum(e_idx - 1, 0), e_idx <= n_periods)[:n_periods]
    active_start = active[:n_periods]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(active_start > 0, lost / np.maximum(active_start, 1), np.nan)
    out = pd.DataFrame(
        {
            "active_start": active_start.astype("int64"),
            "new": new.astype("int64"),
            "reactivated": back.astype("int64"),
            "lost": lost.astype("int64"),
            "active_end": active[1 : n_periods + 1].astype("int64"),
            "churn_rate": rate,
        },
        index=period_index(np.arange(first, first + n_periods), period, "period"),
    )
    return out


# (first period, last complete period, spell start and end boundary indices, whether the
# spell is the customer's first, number of spells with these values)
_Spells = tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _spells(
    cust: np.ndarray,
    day: np.ndarray,
    first_day: np.ndarray,
    period: str,
    inactive_days: int,
    first: int,
    last: int,
) -> _Spells:
    """Active spells of :func:`churn_rate` from purchase days sorted by customer and day.

    Boundary ``j`` is the start of period ``first + j`` (the state at the end of the
    day before it); a spell is active from boundary ``s`` up to, not including, ``e``.
    """
    n_periods = max(last - first + 1, 0)
    bounds = period_start_day(np.arange(first, first + n_periods + 1), period)
    # a purchase on day d keeps the customer active at boundaries b in [d + 1, d + D + 1]
    # (the state at the end of day b - 1): indices [lo, hi) of `bounds`
    lo = np.searchsorted(bounds, day, side="right")
    hi = np.searchsorted(bounds, day + inactive_days + 1, side="right")
    keep = hi > lo
    c, lo, hi = cust[keep], lo[keep], hi[keep]
    # merge each customer's overlapping or touching intervals (hi never decreases)
    start = np.ones(len(c), dtype=bool)
    start[1:] = (c[1:] != c[:-1]) | (lo[1:] > hi[:-1])
    starts = np.flatnonzero(start)
    ends = np.append(starts[1:], len(c))[: len(starts)] - 1  # none without a kept day
    s_idx, e_idx, who = lo[starts], hi[ends], c[starts]
    is_new = first_day[who] >= bounds[np.maximum(s_idx - 1, 0)]
    return first, last, s_idx, e_idx, is_new, np.ones(len(s_idx), dtype="int64")


def _spells_engine(ep: EnginePurchases, period: str, inactive_days: int) -> _Spells | None:
    """:func:`_spells` inside the engine: one row per (start, end, new) comes back.

    Boundaries are absolute period codes here (``B`` is the start of period ``B``). Per
    (customer, period): the latest purchase keeps the customer active longest, so its
    time shifted by ``inactive_days + 1`` days gives the spell's end; an ordered window
    per customer starts a new spell where one begins after the previous ended, and a
    running sum numbers them. None where the engine has no ordered windows.
    """
    import narwhals as nw

    last = int(period_codes(np.array([ep.as_of_day + 1]), period)[0]) - 1
    cap = last + 2  # the boundary after the last complete period, and later ones
    try:
        end = period_ordinal(
            nw.col("_last").dt.offset_by(f"{int(inactive_days) + 1}d"),
            period,
            ep.implementation,
        )
        per = (
            ep.rows.with_columns(ep.period(period).alias("_p"))
            .group_by("_cust", "_p")
            .agg(nw.col("_time").max().alias("_last"))
            .with_columns(
                (nw.col("_p") + 1).clip(upper_bound=cap).alias("_lo"),
                (end + 1).clip(upper_bound=cap).alias("_hi"),
                nw.col("_p").min().over("_cust").alias("_p0"),  # the customer's first period
            )
            .filter(nw.col("_hi") > nw.col("_lo"))
        )
        per = per.with_columns(nw.col("_hi").shift(1).over("_cust", order_by="_p").alias("_prev"))
    except NotImplementedError:  # Dask: no day offsets, no ordered windows
        return None
    first_day = collect(ep.rows.select(nw.col("_day").min().alias("_d")))["_d"].iloc[0]
    if first_day is None or pd.isna(first_day):
        return None
    first = int(period_codes(np.array([int(first_day)]), period)[0])
    begins = nw.col("_prev").is_null() | (nw.col("_lo") > nw.col("_prev"))
    per = per.with_columns(begins.cast(nw.Int64).alias("_begins")).with_columns(
        nw.col("_begins").cum_sum().over("_cust", order_by="_p").alias("_spell")
    )
    spells = (
        per.group_by("_cust", "_spell")
        .agg(
            nw.col("_lo").min().alias("_s"),
            nw.col("_hi").max().alias("_e"),
            nw.col("_p0").min(),
        )
        .with_columns((nw.col("_p0") + 1 >= nw.col("_s")).alias("_new"))
        .group_by("_s", "_e", "_new")
        .agg(nw.len().alias("_n"))
    )
    counts = collect(spells)
    return (
        first,
        last,
        counts["_s"].to_numpy(dtype="int64") - first,
        counts["_e"].to_numpy(dtype="int64") - first,
        counts["_new"].to_numpy(dtype=bool),
        counts["_n"].to_numpy(dtype="int64"),
    )


# --------------------------------------------------------------------------- features


def _rows_before(orders: Any, cutoff: pd.Timestamp, time_col: str, caller: str) -> pd.DataFrame:
    """The rows strictly before ``cutoff`` as pandas (filtered inside other engines)."""
    if isinstance(orders, pd.DataFrame):
        times = orders[time_col]
        if getattr(times.dtype, "tz", None) is not None:
            times = times.dt.tz_localize(None)
        return orders.loc[(times < cutoff).to_numpy(dtype=bool)]
    import narwhals as nw

    frame = as_frame(orders, caller=caller, name="orders")
    schema_ = frame.collect_schema()
    check_columns(list(schema_.names()), {"time_col": time_col}, caller=caller)
    time = nw.col(time_col)
    if getattr(schema_[time_col], "time_zone", None):
        time = time.dt.replace_time_zone(None)
    frame = frame.filter(time < nw.lit(cutoff.to_pydatetime()))
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    out = frame.to_pandas()
    if getattr(out[time_col].dtype, "tz", None) is not None:
        out[time_col] = out[time_col].dt.tz_localize(None)
    return out


def _attributes(
    customers: Any, index: pd.Index, cutoff: pd.Timestamp, customer_col: str, caller: str
) -> pd.DataFrame:
    """Numeric features from a customers table, aligned on ``index``."""
    if not isinstance(customers, pd.DataFrame):
        raise InvalidDataError(
            f"{caller}: `customers` must be a pandas DataFrame, got {type(customers).__name__}."
        )
    table = customers
    if customer_col in table.columns:
        table = table.set_index(customer_col)
    elif table.index.name != customer_col:
        raise ColumnNotFoundError(
            f"{caller}: `customers` has no column {customer_col!r} (customer_col) and its "
            f"index is named {table.index.name!r}.\nAvailable columns: {list(table.columns)}.\n"
            f"Hint: pass crm.read_customers(path) or set the index: "
            f"customers.set_index({customer_col!r})."
        )
    if table.index.has_duplicates:
        dup = table.index[table.index.duplicated()]
        raise InvalidDataError(
            f"{caller}: `customers` has {len(dup)} repeated customer key(s) (e.g. {dup[0]!r}); "
            f"it needs one row per customer. Hint: customers.drop_duplicates({customer_col!r}, "
            f"keep='last')."
        )
    table = table.reindex(index)
    out: dict[str, np.ndarray] = {}
    cutoff_day = day_number(cutoff - pd.Timedelta(1, "us"))
    for col in table.columns:
        if col in schema.PERSONAL_COLUMNS or col == schema.TAGS:
            continue
        s = table[col]
        name = str(col)
        if pd.api.types.is_bool_dtype(s):
            out[name] = s.astype("float64").to_numpy()
        elif pd.api.types.is_numeric_dtype(s):
            out[name] = s.to_numpy(dtype="float64", na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dtype, "tz", None) is not None:
                s = s.dt.tz_localize(None)
            ns = s.to_numpy().astype("datetime64[ns]").astype("int64")
            valid = (ns != np.iinfo(np.int64).min) & (ns < cutoff.value)
            days = np.where(valid, cutoff_day - ns // _NS_PER_DAY, np.nan)
            out[f"days_since_{name}"] = days.astype("float64")  # later dates are unknown
        else:
            levels = pd.Index(customers[col].dropna().unique())
            if 0 < len(levels) <= _MAX_LEVELS:
                values = s.to_numpy()
                for level in sorted(levels, key=str):
                    out[f"{name}={level}"] = (values == level).astype("float64")
    return pd.DataFrame(out, index=index)


def features(
    orders: Any,
    *,
    cutoff: Any,
    customers: pd.DataFrame | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    category_col: str | None = schema.CATEGORY,
    channel_col: str | None = schema.CHANNEL,
) -> pd.DataFrame:
    """One row of churn features per customer, from the orders strictly before ``cutoff``.

    Every value depends only on rows with ``time_col < cutoff`` (and on ``customers``,
    with dates at or after the cutoff treated as unknown), so the features for a cutoff
    do not change when later orders are added or deleted. Days are counted to the last
    day before the cutoff.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: pandas, or any frame narwhals supports (polars, DuckDB).
    cutoff : datetime-like
        First moment that is *not* seen; a bare date means its midnight, so
        ``cutoff="2024-07-01"`` uses the orders up to the end of June 30.
    customers : DataFrame, default=None
        Customer attributes (``customer_col`` as a column or the index): numeric and
        boolean columns are used as they are, dates become ``days_since_<col>``, text
        columns with at most 20 values become ``<col>=<value>`` indicators; names,
        emails, phones and tags are ignored. A snapshot taken after the cutoff (points,
        member level) carries information from the future: prefer attributes as they
        were at the cutoff.
    customer_col, time_col, order_col, amount_col : str
        Column names; the defaults are the canonical ones.
    status_col, refund_col : str or None
        Status and refund columns; None (or absent) treats every row as a full purchase.
    category_col, channel_col : str or None
        Category and channel columns; None (or absent) skips their features.

    Returns
    -------
    pandas.DataFrame
        Indexed by the customer key (sorted), one row per customer with a purchase before
        the cutoff, float columns:

        - ``days_since_last``, ``tenure_days`` (since the first purchase),
          ``n_orders``, ``n_purchase_days``, ``monetary_total``, ``avg_order_value``,
          ``max_order_value``;
        - ``orders_last_30d``, ``orders_last_90d``, ``orders_last_180d``,
          ``orders_last_365d``, ``spend_last_90d``, ``spend_last_365d``,
          ``spend_trend`` (share of the last 360 days' spend made in the last 180;
          NaN without spend in that year);
        - ``median_gap_days``, ``mean_gap_days``, ``last_gap_days`` (between purchase
          days; NaN with one purchase day), ``overdue_ratio`` (days_since_last /
          mean_gap_days);
        - ``refund_rate`` (refunded / paid money), ``unpaid_rate`` (unpaid or cancelled
          orders / orders placed);
        - ``n_categories`` (with a category column), ``channel=<name>`` (share of the
          customer's purchase orders in each of the 10 busiest channels);
        - the attributes of ``customers``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.churn import features
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["ann", "ann", "ann", "bob", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-31",
    ...                                   "2024-01-05", "2024-02-01"]),
    ...     "amount": [30.0, 20.0, 50.0, 10.0, 40.0],
    ...     "status": ["paid", "paid", "paid", "paid", "unpaid"],
    ... })
    >>> x = features(orders, cutoff="2024-02-01")
    >>> x[["days_since_last", "n_orders", "monetary_total", "median_gap_days", "unpaid_rate"]]
                 days_since_last  n_orders  monetary_total  median_gap_days  unpaid_rate
    customer_id
    ann                      0.0       3.0           100.0             15.0          0.0
    bob                     26.0       1.0            10.0              NaN          0.0
    """
    caller = "features"
    cut = to_timestamp(cutoff, caller=caller, name="cutoff")
    return _features(
        orders,
        cut,
        customers,
        column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col),
        category_col,
        channel_col,
        caller,
    )


def _features(
    orders: Any,
    cut: pd.Timestamp,
    customers: pd.DataFrame | None,
    cols: dict[str, Any],
    category_col: str | None,
    channel_col: str | None,
    caller: str,
) -> pd.DataFrame:
    last_seen = cut - pd.Timedelta(1, "us")
    p = purchase_orders(orders, caller=caller, as_of=last_seen, before=cut, **cols)
    n = len(p.keys)
    if n == 0:
        raise InvalidDataError(
            f"{caller}: no purchases before the cutoff {cut}; there is no history to "
            f"describe.\nHint: choose a later cutoff."
        )
    ref = p.as_of_day
    f = p.frame
    cust, day, net = f["cust"].to_numpy(), f["day"].to_numpy(), f["net"].to_numpy()
    age = ref - day

    def count(mask: Any = None, weights: Any = None) -> np.ndarray:
        c = cust if mask is None else cust[mask]
        w = weights if mask is None or weights is None else weights[mask]
        return np.bincount(c, weights=w, minlength=n).astype("float64")

    first_day = np.full(n, _INT_MAX, dtype="int64")
    np.minimum.at(first_day, cust, day)
    last_day = np.full(n, np.iinfo(np.int64).min, dtype="int64")
    np.maximum.at(last_day, cust, day)
    max_value = np.full(n, -np.inf)
    np.maximum.at(max_value, cust, net)
    n_orders = count()
    money = count(weights=net)
    out: dict[str, np.ndarray] = {
        "days_since_last": (ref - last_day).astype("float64"),
        "tenure_days": (ref - first_day).astype("float64"),
        "n_orders": n_orders,
    }
    pcust, pday = _purchase_days(p)
    out["n_purchase_days"] = np.bincount(pcust, minlength=n).astype("float64")
    out["monetary_total"] = money
    out["avg_order_value"] = money / n_orders
    out["max_order_value"] = max_value
    for window in (30, 90, 180, 365):
        out[f"orders_last_{window}d"] = count(age < window)
    out["spend_last_90d"] = count(age < 90, net)
    out["spend_last_365d"] = count(age < 365, net)
    recent, before = count(age < 180, net), count((age >= 180) & (age < 360), net)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = recent + before
        out["spend_trend"] = np.where(total > 0, recent / np.where(total > 0, total, 1), np.nan)
    gap_cust, gaps = _gaps(pcust, pday)
    grouped = pd.Series(gaps.astype("float64")).groupby(gap_cust)
    out["median_gap_days"] = grouped.median().reindex(range(n)).to_numpy()
    out["mean_gap_days"] = grouped.mean().reindex(range(n)).to_numpy()
    out["last_gap_days"] = grouped.last().reindex(range(n)).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["overdue_ratio"] = out["days_since_last"] / out["mean_gap_days"]

    # line-level rates, categories and channels from the rows before the cutoff
    rows = _rows_before(orders, cut, cols["time_col"], caller)
    columns = set(map(str, rows.columns))
    codes = p.keys.get_indexer(pd.Index(rows[cols["customer_col"]].to_numpy()))
    amount = rows[cols["amount_col"]].to_numpy(dtype="float64", na_value=0.0)
    refund_col, status_col = cols["refund_col"], cols["status_col"]
    refund = (
        rows[refund_col].to_numpy(dtype="float64", na_value=0.0)
        if refund_col is not None and refund_col in columns
        else np.zeros(len(rows))
    )
    if status_col is not None and status_col in columns:
        status = rows[status_col].astype("string").fillna("").to_numpy(dtype=object)
    else:
        status = np.full(len(rows), schema.PAID, dtype=object)
    known = codes >= 0
    settled = known & np.isin(status, [schema.PAID, schema.REFUNDED])
    refunded = np.where(
        (status == schema.REFUNDED) & (refund <= 0), amount, np.minimum(refund, amount)
    )
    paid_money = np.bincount(codes[settled], weights=amount[settled], minlength=n)
    refund_money = np.bincount(codes[settled], weights=refunded[settled], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["refund_rate"] = np.where(paid_money > 0, refund_money / paid_money, 0.0)
    order_keys = rows[cols["order_col"]].to_numpy()
    first_line = known & ~pd.MultiIndex.from_arrays([codes, order_keys]).duplicated()
    placed = np.bincount(codes[first_line], minlength=n)
    unpaid = first_line & np.isin(status, [schema.UNPAID, schema.CANCELLED])
    out["unpaid_rate"] = np.bincount(codes[unpaid], minlength=n) / np.maximum(placed, 1)
    is_purchase = known & (status == schema.PAID) & ~((refund > 0) & (refund >= amount))
    if category_col is not None and category_col in columns:
        cat = pd.factorize(rows[category_col].to_numpy()[is_purchase])[0]
        pairs = pd.unique(
            codes[is_purchase][cat >= 0] * (int(cat.max(initial=0)) + 1) + cat[cat >= 0]
        )
        out["n_categories"] = np.bincount(
            pairs // (int(cat.max(initial=0)) + 1), minlength=n
        ).astype("float64")
    if channel_col is not None and channel_col in columns:
        lines = is_purchase & first_line
        channel = rows[channel_col].to_numpy()[lines]
        top = pd.Series(channel).value_counts(dropna=True)
        top = top.iloc[np.lexsort((top.index.astype(str), -top.to_numpy()))][:_TOP_CHANNELS]
        total_orders = np.bincount(codes[lines], minlength=n)
        for value in sorted(top.index, key=str):
            hit = channel == value
            share = np.bincount(codes[lines][hit], minlength=n) / np.maximum(total_orders, 1)
            out[f"channel={value}"] = share.astype("float64")
    result = pd.DataFrame(out, index=p.keys)
    if customers is not None:
        attrs = _attributes(customers, p.keys, cut, cols["customer_col"], caller)
        result = result.join(attrs.drop(columns=result.columns.intersection(attrs.columns)))
    return result.sort_index(kind="stable")


# --------------------------------------------------------------------------- model


@dataclass
class ChurnEvaluation:
    """What :meth:`ChurnModel.evaluate` returns: the model judged on a later horizon.

    The positive class is *churned* (no purchase within the horizon); probabilities are
    churn probabilities. The baseline ranks customers by ``days_since_last`` alone.

    Attributes
    ----------
    roc_auc, pr_auc, brier : float
        The model's ROC AUC, average precision (PR AUC) and Brier score.
    baseline_roc_auc, baseline_pr_auc : float
        The same for the recency-only baseline.
    churn_rate : float
        Share of the judged customers who churned.
    n_customers : int
        Customers judged.
    cutoff : pandas.Timestamp
        Start of the judged horizon.
    horizon_days : int
        Length of the horizon.
    split : str
        ``"time"`` or ``"customers"``.
    gains : pandas.DataFrame
        By decile of churn probability (1 = highest): ``customers``, ``churners``,
        ``churn_rate``, ``lift`` (decile rate / overall rate), ``cumulative_gain``
        (share of all churners in deciles 1..k) and ``cumulative_lift``.
    baseline_gains : pandas.DataFrame
        The same for the recency-only baseline (deciles by ``days_since_last``).
    calibration : pandas.DataFrame
        By bin of predicted probability (ten equal-width bins, empty ones dropped):
        ``customers``, ``mean_predicted``, ``observed_rate``.
    predictions : pandas.DataFrame
        Per judged customer: ``churn_probability``, ``churned``, ``days_since_last``.
    """

    roc_auc: float
    pr_auc: float
    brier: float
    baseline_roc_auc: float
    baseline_pr_auc: float
    churn_rate: float
    n_customers: int
    cutoff: pd.Timestamp
    horizon_days: int
    split: str
    gains: pd.DataFrame = field(repr=False)
    baseline_gains: pd.DataFrame = field(repr=False)
    calibration: pd.DataFrame = field(repr=False)
    predictions: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        head = (
            f"ChurnEvaluation: {self.n_customers:,} customers at cutoff {self.cutoff}, "
            f"horizon {self.horizon_days} days, split={self.split!r}, "
            f"churn rate {self.churn_rate:.1%}"
        )
        rows = [
            f"{'':10}{'model':>8}{'recency':>10}",
            f"{'ROC AUC':10}{self.roc_auc:8.3f}{self.baseline_roc_auc:10.3f}",
            f"{'PR AUC':10}{self.pr_auc:8.3f}{self.baseline_pr_auc:10.3f}",
            f"{'Brier':10}{self.brier:8.3f}{'-':>10}",
        ]
        return "\n".join([head, *rows])


def _gains(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    n = len(y)
    order = np.argsort(-score, kind="stable")
    decile = np.empty(n, dtype="int64")
    decile[order] = np.arange(n) * 10 // max(n, 1)
    customers = np.bincount(decile, minlength=10)
    churners = np.bincount(decile, weights=y, minlength=10)
    overall = y.mean() if n else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = churners / customers
        out = pd.DataFrame(
            {
                "customers": customers.astype("int64"),
                "churners": churners.astype("int64"),
                "churn_rate": rate,
                "lift": rate / overall,
                "cumulative_gain": np.cumsum(churners) / max(y.sum(), 1),
                "cumulative_lift": (np.cumsum(churners) / np.cumsum(customers)) / overall,
            },
            index=pd.RangeIndex(1, 11, name="decile"),
        )
    return out[out["customers"] > 0]


def _calibration(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> pd.DataFrame:
    idx = np.minimum((prob * bins).astype("int64"), bins - 1)
    counts = np.bincount(idx, minlength=bins)
    sums = np.bincount(idx, weights=prob, minlength=bins)
    hits = np.bincount(idx, weights=y, minlength=bins)
    edges = np.linspace(0, 1, bins + 1)
    labels = [f"{a:.1f}-{b:.1f}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "customers": counts.astype("int64"),
                "mean_predicted": sums / counts,
                "observed_rate": hits / counts,
            },
            index=pd.Index(labels, name="predicted"),
        )
    return out[out["customers"] > 0]


class ChurnModel:
    """Will each customer buy again within ``horizon_days``? A churn classifier on orders.

    A customer with a purchase before the cutoff *churns* when they make no purchase in
    the ``horizon_days`` days from the cutoff. ``method="classifier"`` learns that from
    :func:`features` with a scikit-learn classifier; ``method="btyd"`` needs no labels:
    it fits the BG/NBD model (``crm.clv.BetaGeo``, days) on the history and predicts
    P(no purchase in the horizon), so the two approaches can be compared with the same
    :meth:`evaluate`.

    Parameters
    ----------
    horizon_days : int, default=90
        Days after the cutoff in which a purchase means "not churned".
    method : {"classifier", "btyd"}, default="classifier"
        Supervised classifier on the features, or the BG/NBD model.
    estimator : scikit-learn classifier, default=None
        Any classifier with ``predict_proba``; it is cloned before fitting. None uses a
        small, regularised ``HistGradientBoostingClassifier`` (100 trees of depth 2,
        learning rate 0.1, at least 80 customers per leaf, L2 penalty 1) whose churn
        probability can only rise with ``days_since_last`` and fall with the order
        counts: on a few thousand customers a flexible model mostly learns noise. It
        handles the features' missing values; for an estimator that does not, pass a
        pipeline with an imputer (``make_pipeline(SimpleImputer(), LogisticRegression())``).
    random_state : int, default=0
        Seed of the default estimator, the customer split and permutation importance.
    customer_col, time_col, order_col, amount_col : str
        Column names of the orders; the defaults are the canonical ones.
    status_col, refund_col, category_col, channel_col : str or None
        Optional columns (None or absent: not used).

    Attributes
    ----------
    estimator_ : classifier
        The fitted classifier (``method="classifier"``).
    btyd_model_ : crm.clv.BetaGeo
        The fitted BG/NBD model (``method="btyd"``).
    feature_names_ : list of str
        Feature columns the classifier was fitted on.
    cutoff_ : pandas.Timestamp
        Cutoff of the last fit.
    n_customers_ : int
        Customers in the last fit.
    churn_rate_ : float
        Share of them who churned (NaN for ``"btyd"``, which uses no labels).
    evaluation_ : ChurnEvaluation
        Result of the last :meth:`evaluate`.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> from crm_analytics.churn import ChurnModel
    >>> orders = crm.datasets.load_sample()
    >>> model = ChurnModel(horizon_days=90).fit(orders, cutoff="2024-10-01")
    >>> model
    ChurnModel(horizon_days=90, method='classifier'), fitted at cutoff 2024-10-01 on 3,947 customers (churn rate 92.1%)
    >>> p = model.predict_proba(orders, as_of="2024-12-31")
    >>> p.columns.tolist(), len(p)
    (['churn_probability', 'purchase_probability'], 4717)
    """

    def __init__(
        self,
        *,
        horizon_days: int = 90,
        method: Literal["classifier", "btyd"] = "classifier",
        estimator: Any = None,
        random_state: int | None = 0,
        customer_col: str = schema.CUSTOMER_ID,
        time_col: str = schema.ORDER_TIME,
        order_col: str = schema.ORDER_ID,
        amount_col: str = schema.AMOUNT,
        status_col: str | None = schema.STATUS,
        refund_col: str | None = schema.REFUND_AMOUNT,
        category_col: str | None = schema.CATEGORY,
        channel_col: str | None = schema.CHANNEL,
    ) -> None:
        self.horizon_days = horizon_days
        self.method = method
        self.estimator = estimator
        self.random_state = random_state
        self.customer_col = customer_col
        self.time_col = time_col
        self.order_col = order_col
        self.amount_col = amount_col
        self.status_col = status_col
        self.refund_col = refund_col
        self.category_col = category_col
        self.channel_col = channel_col

    # ----------------------------------------------------------------- helpers
    def __repr__(self) -> str:
        settings = [f"horizon_days={self.horizon_days!r}", f"method={self.method!r}"]
        if self.estimator is not None:
            settings.append(f"estimator={type(self.estimator).__name__}")
        if self.random_state != 0:
            settings.append(f"random_state={self.random_state!r}")
        text = f"ChurnModel({', '.join(settings)})"
        if not hasattr(self, "cutoff_"):
            return f"{text}, not fitted"
        when = self.cutoff_.strftime("%Y-%m-%d %H:%M:%S").removesuffix(" 00:00:00")
        rate = "" if math.isnan(self.churn_rate_) else f" (churn rate {self.churn_rate_:.1%})"
        return f"{text}, fitted at cutoff {when} on {self.n_customers_:,} customers{rate}"

    def _columns(self) -> dict[str, Any]:
        return column_roles(
            self.customer_col,
            self.time_col,
            self.order_col,
            self.amount_col,
            self.status_col,
            self.refund_col,
        )

    def _check_settings(self, caller: str) -> None:
        h = self.horizon_days
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise InvalidDataError(
                f"{caller}: horizon_days must be a whole number of days >= 1, got {h!r}."
            )
        check_choice(self.method, ("classifier", "btyd"), name="method", caller=caller)
        if self.estimator is not None and not hasattr(self.estimator, "predict_proba"):
            raise InvalidDataError(
                f"{caller}: estimator {type(self.estimator).__name__} has no predict_proba; "
                f"pass a classifier, e.g. sklearn.linear_model.LogisticRegression()."
            )

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "cutoff_"):
            raise NotFittedError(
                f"ChurnModel.{method}: this ChurnModel is not fitted yet. "
                f"Call .fit(orders, cutoff=...) or .evaluate(orders, cutoff=...) first."
            )

    def _features(self, orders: Any, cut: pd.Timestamp, customers: Any, caller: str) -> Any:
        return _features(
            orders,
            cut,
            customers,
            self._columns(),
            self.category_col,
            self.channel_col,
            caller,
        )

    def _check_history(self, x: pd.DataFrame, cut: pd.Timestamp, caller: str, hint: str) -> None:
        history = int(x["tenure_days"].max()) + 1
        if history < self.horizon_days:
            raise InvalidDataError(
                f"{caller}: only {history} days of purchases before the cutoff {cut}, fewer "
                f"than horizon_days={self.horizon_days}: too little history to learn from.\n"
                f"Hint: {hint}"
            )

    def _labels(self, orders: Any, cut: pd.Timestamp, index: pd.Index, caller: str) -> np.ndarray:
        """1 = churned (no purchase in [cut, cut + horizon)), for the customers of index."""
        end = cut + pd.Timedelta(days=int(self.horizon_days))
        # as_of = the latest order: the end of the data
        p = purchase_orders(orders, caller=caller, per_order=False, **self._columns())
        data_end = pd.Timestamp((p.as_of_day + 1) * _NS_PER_DAY)
        if end > data_end:
            raise InvalidDataError(
                f"{caller}: the horizon runs past the data: cutoff {cut} + horizon_days="
                f"{self.horizon_days} ends {end}, but the orders end on {p.as_of.date()}.\n"
                f"Hint: choose a cutoff on or before {data_end - pd.Timedelta(days=int(self.horizon_days))} "
                f"or a shorter horizon_days."
            )
        t = p.frame["time"].to_numpy()
        inside = (t >= cut.value) & (t < end.value)
        buyers = p.keys[np.unique(p.frame["cust"].to_numpy()[inside])]
        return (~index.isin(buyers)).astype("int64")

    def _new_estimator(self) -> Any:
        from sklearn.base import clone

        if self.estimator is not None:
            return clone(self.estimator)
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            learning_rate=0.1,
            max_iter=100,
            max_depth=2,
            min_samples_leaf=80,
            l2_regularization=1.0,
            monotonic_cst=_MONOTONE,
            random_state=self.random_state,
        )

    def _fit_classifier(self, x: pd.DataFrame, y: np.ndarray, caller: str) -> None:
        if len(np.unique(y)) < 2:
            what = "churned" if y.all() else "bought again"
            raise InvalidDataError(
                f"{caller}: all {len(y):,} customers {what} within the horizon; a classifier "
                f"needs both outcomes.\nHint: choose another cutoff or horizon_days, or "
                f"method='btyd'."
            )
        estimator = self._new_estimator()
        estimator.fit(x, y)
        self.estimator_ = estimator
        self.feature_names_ = list(x.columns)

    def _fit_btyd(self, orders: Any, cut: pd.Timestamp, index: pd.Index | None = None) -> None:
        from .clv import BetaGeo

        summary = self._summary(orders, cut)
        if index is not None:
            summary = summary.loc[summary.index.isin(index)]
        self.btyd_model_ = BetaGeo().fit(summary)

    def _summary(self, orders: Any, cut: pd.Timestamp) -> pd.DataFrame:
        from .summary import customer_summary

        cols = self._columns()
        rows = _rows_before(orders, cut, self.time_col, "ChurnModel")
        return customer_summary(
            rows,
            as_of=cut - pd.Timedelta(1, "us"),
            freq="D",
            customer_col=cols["customer_col"],
            time_col=cols["time_col"],
            amount_col=cols["amount_col"],
            order_col=cols["order_col"],
            status_col=cols["status_col"],
            refund_col=cols["refund_col"],
        )

    def _churn_probability(
        self, orders: Any, cut: pd.Timestamp, x: pd.DataFrame, caller: str
    ) -> np.ndarray:
        if self.method == "btyd":
            summary = self._summary(orders, cut).reindex(x.index)
            p_none = self.btyd_model_.prob_purchases(summary, 0, float(self.horizon_days))
            return np.clip(p_none.to_numpy(dtype="float64"), 0.0, 1.0)
        missing = [c for c in self.feature_names_ if c not in x.columns and "=" not in c]
        if missing:
            raise InvalidDataError(
                f"{caller}: the model was fitted with features {missing[:3]} that these "
                f"orders or customers do not give.\nHint: pass the same kind of data as to "
                f"fit (e.g. customers=... when it was fitted with customer attributes)."
            )
        x = x.reindex(columns=self.feature_names_, fill_value=0.0)
        proba = self.estimator_.predict_proba(x)
        classes = list(self.estimator_.classes_)
        return np.asarray(proba[:, classes.index(1)], dtype="float64")

    # ----------------------------------------------------------------- public API
    def fit(self, orders: Any, *, cutoff: Any, customers: pd.DataFrame | None = None) -> Any:
        """Learn who churns: features before ``cutoff``, labels in the horizon after it.

        Parameters
        ----------
        orders : DataFrame
            Canonical orders covering the cutoff and (for ``"classifier"``) the horizon.
        cutoff : datetime-like
            First moment after the history; a bare date means its midnight. Features
            use the orders strictly before it, labels the ``horizon_days`` from it.
        customers : DataFrame, default=None
            Customer attributes (see :func:`features`).

        Returns
        -------
        self

        Raises
        ------
        InvalidDataError
            Fewer than ``horizon_days`` days of purchases before the cutoff, a horizon
            that runs past the data, or labels of one kind only.
        """
        caller = "ChurnModel.fit"
        self._check_settings(caller)
        cut = to_timestamp(cutoff, caller=caller, name="cutoff")
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        x = self._features(orders, cut, customers, caller)
        self._check_history(x, cut, caller, "choose a later cutoff or a shorter horizon_days.")
        if self.method == "btyd":
            self._fit_btyd(orders, cut)
            self.churn_rate_ = math.nan
        else:
            y = self._labels(orders, cut, x.index, caller)
            self._fit_classifier(x, y, caller)
            self.churn_rate_ = float(y.mean())
        self.cutoff_ = cut
        self.n_customers_ = len(x)
        self._uses_customers = customers is not None
        return self

    def predict_proba(
        self, orders: Any, *, as_of: Any = None, customers: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Probability that each customer churns, and buys again, in the next horizon.

        Parameters
        ----------
        orders : DataFrame
            Canonical orders.
        as_of : datetime-like, default=None
            Observation date; its whole day is seen (features use the orders up to the
            end of that day). None means the day of the latest order.
        customers : DataFrame, default=None
            Customer attributes, when the model was fitted with them.

        Returns
        -------
        pandas.DataFrame
            Indexed by the customer key (sorted), one row per customer with a purchase
            up to ``as_of``: ``churn_probability`` and ``purchase_probability``
            (= 1 - churn_probability, a purchase within ``horizon_days`` after ``as_of``).
        """
        caller = "ChurnModel.predict_proba"
        self._check_fitted("predict_proba")
        if getattr(self, "_uses_customers", False) and customers is None:
            raise InvalidDataError(
                f"{caller}: the model was fitted with customer attributes.\n"
                f"Hint: pass the same table: predict_proba(orders, as_of=..., customers=customers)."
            )
        if as_of is None:
            p = purchase_orders(orders, caller=caller, per_order=False, **self._columns())
            day = p.as_of.normalize()
        else:
            day = to_timestamp(as_of, caller=caller, name="as_of").normalize()
        cut = day + pd.Timedelta(days=1)
        x = self._features(orders, cut, customers, caller)
        churn = self._churn_probability(orders, cut, x, caller)
        return pd.DataFrame(
            {"churn_probability": churn, "purchase_probability": 1.0 - churn}, index=x.index
        )

    def evaluate(
        self,
        orders: Any,
        *,
        cutoff: Any,
        customers: pd.DataFrame | None = None,
        split: Literal["time", "customers"] = "time",
        test_size: float = 0.5,
    ) -> ChurnEvaluation:
        """Fit this model and judge it on what customers did after ``cutoff``.

        With ``split="time"`` (what deployment looks like) the classifier is fitted at
        ``cutoff - horizon_days`` (its labels end at ``cutoff``) and judged on the
        customers at ``cutoff`` against the horizon after it. With ``split="customers"``
        (for data too short for a time split) the customers at ``cutoff`` are split at
        random: the model is fitted on one part and judged on the other
        (``test_size``), both against the horizon after ``cutoff``; that is optimistic
        when behaviour drifts over time. ``method="btyd"`` needs no labels, so it is
        fitted on the history before ``cutoff`` (on the training customers with
        ``split="customers"``). This model is left fitted as evaluated.

        Parameters
        ----------
        orders : DataFrame
            Canonical orders covering the history and the horizon after ``cutoff``.
        cutoff : datetime-like
            Start of the judged horizon (a bare date means its midnight).
        customers : DataFrame, default=None
            Customer attributes (see :func:`features`).
        split : {"time", "customers"}, default="time"
            How training and judged data are separated.
        test_size : float, default=0.5
            Share of customers judged with ``split="customers"``.

        Returns
        -------
        ChurnEvaluation
            Model and recency-baseline metrics, gains by decile, calibration table.

        Raises
        ------
        InvalidDataError
            Too little history before the (training) cutoff, a horizon that runs past
            the data, or judged customers of one kind only.
        """
        caller = "ChurnModel.evaluate"
        self._check_settings(caller)
        check_choice(split, ("time", "customers"), name="split", caller=caller)
        if split == "customers" and not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
            raise InvalidDataError(f"{caller}: test_size must be in (0, 1), got {test_size!r}.")
        cut = to_timestamp(cutoff, caller=caller, name="cutoff")
        x = self._features(orders, cut, customers, caller)
        y = self._labels(orders, cut, x.index, caller)
        if split == "time":
            if self.method == "btyd":
                self._check_history(x, cut, caller, "choose a later cutoff.")
                self._fit_btyd(orders, cut)
                self.cutoff_, self.n_customers_, self.churn_rate_ = cut, len(x), math.nan
            else:
                train_cut = cut - pd.Timedelta(days=int(self.horizon_days))
                try:
                    self.fit(orders, cutoff=train_cut, customers=customers)
                except InvalidDataError as exc:
                    raise InvalidDataError(
                        f"{caller}: with split='time' the model is fitted at cutoff - "
                        f"horizon_days = {train_cut}. {exc}\nHint: or pass split='customers' "
                        f"to train and judge different customers at the same cutoff."
                    ) from exc
            test = np.ones(len(x), dtype=bool)
        else:
            self._check_history(x, cut, caller, "choose a later cutoff.")
            rng = np.random.default_rng(self.random_state)
            test = np.zeros(len(x), dtype=bool)
            test[rng.permutation(len(x))[: int(round(test_size * len(x)))]] = True
            for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
                delattr(self, attr)
            if self.method == "btyd":
                self._fit_btyd(orders, cut, x.index[~test])
                self.churn_rate_ = math.nan
            else:
                self._fit_classifier(x[~test], y[~test], caller)
                self.churn_rate_ = float(y[~test].mean())
            self.cutoff_, self.n_customers_ = cut, int((~test).sum())
            self._uses_customers = customers is not None
        x_test, y_test = x[test], y[test]
        if len(np.unique(y_test)) < 2:
            raise InvalidDataError(
                f"{caller}: all {len(y_test):,} judged customers had the same outcome; AUC is "
                f"undefined.\nHint: choose another cutoff or horizon_days."
            )
        prob = self._churn_probability(orders, cut, x_test, caller)
        from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

        recency = x_test["days_since_last"].to_numpy(dtype="float64")
        evaluation = ChurnEvaluation(
            roc_auc=float(roc_auc_score(y_test, prob)),
            pr_auc=float(average_precision_score(y_test, prob)),
            brier=float(brier_score_loss(y_test, prob)),
            baseline_roc_auc=float(roc_auc_score(y_test, recency)),
            baseline_pr_auc=float(average_precision_score(y_test, recency)),
            churn_rate=float(y_test.mean()),
            n_customers=len(y_test),
            cutoff=cut,
            horizon_days=int(self.horizon_days),
            split=split,
            gains=_gains(y_test.astype("float64"), prob),
            baseline_gains=_gains(y_test.astype("float64"), recency),
            calibration=_calibration(y_test.astype("float64"), prob),
            predictions=pd.DataFrame(
                {
                    "churn_probability": prob,
                    "churned": y_test.astype(bool),
                    "days_since_last": recency,
                },
                index=x_test.index,
            ),
        )
        self.evaluation_ = evaluation
        self._eval_data = (x_test, y_test)
        return evaluation

    def feature_importance(self, *, n_repeats: int = 5) -> pd.DataFrame:
        """Permutation importance of each feature on the evaluation data (ROC AUC drop).

        Parameters
        ----------
        n_repeats : int, default=5
            Shuffles per feature.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``feature``, sorted by decreasing ``importance_mean`` (mean drop
            of ROC AUC when the feature is shuffled), with ``importance_std``.

        Raises
        ------
        NotFittedError
            :meth:`evaluate` was not called, or ``method="btyd"`` (no features).
        """
        if self.method == "btyd" or not hasattr(self, "evaluation_"):
            why = (
                "method='btyd' uses no features"
                if self.method == "btyd"
                else "it needs the evaluation data"
            )
            raise NotFittedError(
                f"ChurnModel.feature_importance: {why}. Call .evaluate(orders, cutoff=...) "
                f"on a classifier model first."
            )
        from sklearn.inspection import permutation_importance

        x_test, y_test = self._eval_data
        x_test = x_test.reindex(columns=self.feature_names_, fill_value=0.0)
        result = permutation_importance(
            self.estimator_,
            x_test,
            y_test,
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=self.random_state,
        )
        out = pd.DataFrame(
            {"importance_mean": result.importances_mean, "importance_std": result.importances_std},
            index=pd.Index(self.feature_names_, name="feature"),
        )
        return out.sort_values("importance_mean", ascending=False, kind="stable")

    def summary(self) -> pd.DataFrame:
        """What the model was fitted on (and, after :meth:`evaluate`, how it did).

        Returns
        -------
        pandas.DataFrame
            One column ``value`` indexed by ``item``: ``method``, ``cutoff``,
            ``horizon_days``, ``customers``, ``churn_rate``, ``features`` (or the BG/NBD
            parameters ``r``, ``alpha``, ``a``, ``b``) and the evaluation's ``roc_auc``,
            ``baseline_roc_auc``, ``pr_auc``, ``brier`` when evaluated.
        """
        self._check_fitted("summary")
        items: dict[str, Any] = {
            "method": self.method,
            "cutoff": self.cutoff_,
            "horizon_days": int(self.horizon_days),
            "customers": int(self.n_customers_),
            "churn_rate": self.churn_rate_,
        }
        if self.method == "btyd":
            items.update(self.btyd_model_.params_.to_dict())
        else:
            items["features"] = len(self.feature_names_)
        if hasattr(self, "evaluation_"):
            ev = self.evaluation_
            items.update(
                roc_auc=ev.roc_auc,
                baseline_roc_auc=ev.baseline_roc_auc,
                pr_auc=ev.pr_auc,
                brier=ev.brier,
            )
        return pd.DataFrame(
            {"value": pd.Series(items, dtype=object)}, index=pd.Index(list(items), name="item")
        )
