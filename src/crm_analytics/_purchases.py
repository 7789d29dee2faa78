"""Orders -> one row per purchase order: the shared first step of repurchase and churn.

A purchase is a row with status ``paid`` valued at ``amount - refund_amount``; a row
whose refund covers its amount is not a purchase. An order with several purchase lines
becomes one row: its earliest line time and its net value. With ``by`` (a column such
as ``category``) an order becomes one row per value of that column it contains.

pandas input is reduced with integer codes and numpy; other engines (polars, DuckDB,
anything narwhals supports) run the filter and the line -> order group-by inside the
engine and only the per-order rows are collected, as pandas.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from ._validation import as_frame, check_columns, check_datetime_dtype, example_values
from .exceptions import InvalidDataError

_NS_PER_DAY = 86_400 * 10**9
PERIODS = ("D", "W", "M", "Q", "Y")


@dataclass(frozen=True)
class Purchases:
    """Purchase orders of a frame, with integer codes for the keys.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per purchase order (and ``by`` value): ``cust`` (int64 code into
        ``keys``), ``time`` (int64 nanoseconds since 1970, naive), ``day`` (int64 days
        since 1970), ``net`` (float64) and, with ``by``, ``group`` (int64 code into
        ``groups``). Not sorted.
    keys : pandas.Index
        Customer key of each code, named after ``customer_col``.
    groups : pandas.Index or None
        ``by`` value of each group code, named after ``by``.
    as_of : pandas.Timestamp
        Observation time (naive); purchases after it are dropped.
    as_of_day : int
        Day number of ``as_of``.
    """

    frame: pd.DataFrame
    keys: pd.Index
    groups: pd.Index | None
    as_of: pd.Timestamp
    as_of_day: int


def to_timestamp(value: Any, *, caller: str, name: str) -> pd.Timestamp:
    """A naive Timestamp from a date-like value, or a clear error."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(
            f"{caller}: {name}={value!r} is not a date. Pass e.g. {name}='2024-06-30'."
        ) from exc
    if ts is pd.NaT:
        raise InvalidDataError(f"{caller}: {name} must be a date, got {value!r}.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts


def column_roles(
    customer_col: str,
    time_col: str,
    order_col: str,
    amount_col: str,
    status_col: str | None,
    refund_col: str | None,
) -> dict[str, Any]:
    """The column keywords of :func:`purchase_orders` as a dict, to pass on with ``**``."""
    return {
        "customer_col": customer_col,
        "time_col": time_col,
        "order_col": order_col,
        "amount_col": amount_col,
        "status_col": status_col,
        "refund_col": refund_col,
    }


def day_number(ts: pd.Timestamp) -> int:
    """Days since 1970-01-01 of a naive timestamp (floor)."""
    return int((ts - pd.Timestamp(0)) // pd.Timedelta(days=1))


def purchase_orders(
    orders: Any,
    *,
    caller: str,
    as_of: Any = None,
    before: pd.Timestamp | None = None,
    by: str | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    per_order: bool = True,
) -> Purchases:
    """Validate ``orders`` and reduce its purchase lines to one row per order.

    ``as_of`` None means the latest order time in the data (any status). ``before``, when
    given, also drops every row at or after it (and ``as_of`` must then be given).
    ``per_order=False`` keeps one row per purchase line (cheaper: the order ids are not
    hashed) for callers that only need customers, times and money.
    """
    if isinstance(orders, pd.DataFrame):
        columns = [str(c) for c in orders.columns]
        _check_roles(columns, customer_col, time_col, order_col, amount_col, by, caller)
        check_datetime_dtype(orders[time_col].dtype, time_col, caller=caller)
        return _pandas_orders(
            orders,
            caller=caller,
            as_of=as_of,
            before=before,
            by=by,
            customer_col=customer_col,
            time_col=time_col,
            order_col=order_col,
            amount_col=amount_col,
            status_col=status_col if status_col in columns else None,
            refund_col=refund_col if refund_col in columns else None,
            per_order=per_order,
        )
    return _engine_orders(
        orders,
        caller=caller,
        as_of=as_of,
        before=before,
        by=by,
        cols=column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col),
        per_order=per_order,
    )


def _check_roles(
    columns: list[str],
    customer_col: str,
    time_col: str,
    order_col: str,
    amount_col: str,
    by: str | None,
    caller: str,
) -> None:
    roles = {
        "customer_col": customer_col,
        "time_col": time_col,
        "order_col": order_col,
        "amount_col": amount_col,
    }
    if by is not None:
        roles["by"] = by
    check_columns(columns, roles, caller=caller)


def _money(values: pd.Series, col: str, caller: str) -> np.ndarray:
    _check_money_dtype(values, col, caller)
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _check_money_dtype(values: pd.Series, col: str, caller: str) -> None:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InvalidDataError(
            f"{caller}: column {col!r} must be numeric, got {values.dtype} "
            f"(e.g. {example_values(values.to_numpy(), 1)}).\n"
            f"Load with crm.read_orders(path), or convert first: "
            f"orders[{col!r}] = pd.to_numeric(orders[{col!r}])."
        )


def naive_ns(values: pd.Series) -> np.ndarray:
    """Times as int64 nanoseconds of their wall clock (NaT -> int64 min)."""
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.to_numpy().astype("datetime64[ns]").astype("int64")


def _resolve_as_of(as_of: Any, latest_ns: int | None, caller: str, time_col: str) -> pd.Timestamp:
    if as_of is not None:
        return to_timestamp(as_of, caller=caller, name="as_of")
    if latest_ns is None:
        raise InvalidDataError(f"{caller}: `orders` has no rows with an {time_col!r}.")
    return pd.Timestamp(latest_ns)


_NAT = np.iinfo(np.int64).min


def _pandas_orders(
    orders: pd.DataFrame,
    *,
    caller: str,
    as_of: Any,
    before: pd.Timestamp | None,
    by: str | None,
    customer_col: str,
    time_col: str,
    order_col: str,
    amount_col: str,
    status_col: str | None,
    refund_col: str | None,
    per_order: bool,
) -> Purchases:
    t = naive_ns(orders[time_col])
    valid = t != _NAT
    if before is not None:
        valid &= t < before.value
    latest = int(t[valid].max()) if valid.any() else None
    as_of_ts = _resolve_as_of(as_of, latest, caller, time_col)
    mask = valid & (t <= as_of_ts.value)
    amount = np.nan_to_num(_money(orders[amount_col], amount_col, caller))
    if refund_col is not None:
        refund = np.nan_to_num(_money(orders[refund_col], refund_col, caller))
        mask &= ~((refund > 0) & (refund >= amount))
        net = amount - refund
    else:
        net = amount
    if status_col is not None:
        status = orders[status_col]
        mask &= status.eq(schema.PURCHASE_STATUS).fillna(False).to_numpy(dtype=bool)
    # factorise the whole columns (fast on Arrow strings), then keep the purchase rows
    cust_all, cust_keys = pd.factorize(orders[customer_col], use_na_sentinel=True)
    if per_order:
        order_all, order_keys = pd.factorize(orders[order_col], use_na_sentinel=True)
    else:  # every line stands for itself
        order_all, order_keys = np.arange(len(orders), dtype="int64"), np.arange(len(orders))
    cust, order_codes = cust_all[mask], order_all[mask]
    keep = (cust >= 0) & (order_codes >= 0)
    # customer codes 0..n-1 over the buyers only
    cust, used = pd.factorize(cust[keep].astype("int64"))
    cust = cust.astype("int64")
    keys = cust_keys[used]
    order_codes = order_codes[keep].astype("int64")
    t, net = t[mask][keep], net[mask][keep]
    key = cust * max(len(order_keys), 1) + order_codes
    groups = None
    group = None
    if by is not None:
        group_all, group_keys = pd.factorize(orders[by], use_na_sentinel=False)
        group, used_groups = pd.factorize(group_all[mask][keep].astype("int64"))
        group = group.astype("int64")
        groups = pd.Index(group_keys[used_groups], name=by)
        key = pd.factorize(key)[0].astype("int64") * max(len(used_groups), 1) + group
    per = pd.DataFrame({"key": key, "cust": cust, "time": t, "net": net})
    if group is not None:
        per["group"] = group
    if per_order and not pd.Index(key).is_unique:
        aggs = {"cust": ("cust", "first"), "time": ("time", "min"), "net": ("net", "sum")}
        if group is not None:
            aggs["group"] = ("group", "first")
        per = per.groupby("key", sort=False).agg(**aggs)
    frame = pd.DataFrame(
        {
            "cust": per["cust"].to_numpy(dtype="int64"),
            "time": per["time"].to_numpy(dtype="int64"),
            "day": per["time"].to_numpy(dtype="int64") // _NS_PER_DAY,
            "net": per["net"].to_numpy(dtype="float64"),
        }
    )
    if group is not None:
        frame["group"] = per["group"].to_numpy(dtype="int64")
    index = pd.Index(keys, name=customer_col)
    key_dtype = orders[customer_col].dtype
    if index.dtype != key_dtype:
        with contextlib.suppress(TypeError, ValueError):  # else keep the factorised dtype
            index = index.astype(key_dtype)
    return Purchases(frame, index, groups, as_of_ts, day_number(as_of_ts))


@dataclass(frozen=True)
class EnginePurchases:
    """Purchase rows of an engine frame, still lazy in the engine.

    Attributes
    ----------
    rows : narwhals.LazyFrame
        One row per purchase order (or line, with ``per_order=False``): ``_cust``
        (never null), ``_time`` (naive datetime), ``_day`` (Int64 days since 1970),
        ``_net`` (Float64) and, with ``by``, ``_group`` and ``_gkey`` (the group as
        text with nulls spelled out, a join key that matches null groups).
    implementation : narwhals.Implementation
        The engine.
    as_of : pandas.Timestamp
        Observation time (naive); later purchases are dropped.
    as_of_day : int
        Day number of ``as_of``.
    customer_col : str
        Name of the customer column (names the index of per-customer results).
    by : str or None
        Name of the group column.
    dtypes : dict
        pandas dtypes to give the collected ``_cust`` and ``_group`` values back (pandas
        input run through polars), else empty.
    """

    rows: Any
    implementation: Any
    as_of: pd.Timestamp
    as_of_day: int
    customer_col: str
    by: str | None = None
    dtypes: dict[str, Any] = field(default_factory=dict)

    def keys(self, values: Any) -> pd.Index:
        """Collected customer keys as an Index named after the customer column."""
        return self._index(values, "_cust", self.customer_col)

    def groups(self, values: Any) -> pd.Index:
        """Collected group values as an Index named after ``by``."""
        return self._index(values, "_group", self.by)

    def _index(self, values: Any, column: str, name: str | None) -> pd.Index:
        index = pd.Index(values, name=name)
        dtype = self.dtypes.get(column)
        if dtype is not None and index.dtype != dtype:
            with contextlib.suppress(TypeError, ValueError):  # else keep the collected dtype
                index = index.astype(dtype)
        return index

    @property
    def unit(self) -> list[str]:
        """Group-by keys of one customer (in one group, with ``by``)."""
        names = self.rows.collect_schema().names()
        return ["_cust", "_group", "_gkey"] if "_group" in names else ["_cust"]

    @property
    def join_keys(self) -> list[str]:
        """Join keys of one customer (in one group): no nulls on either side."""
        return ["_cust", "_gkey"] if "_gkey" in self.rows.collect_schema().names() else ["_cust"]

    def period(self, period: str | None, time: str = "_time") -> Any:
        """Period ordinal expression of a time column (0 without a period)."""
        import narwhals as nw

        if period is None:
            return nw.lit(0, dtype=nw.Int64)
        return period_ordinal(nw.col(time), period, self.implementation)


# a text that no group value spells, standing for the null group in join keys
_NULL_GROUP = "\x00null"


def engine_purchases(
    orders: Any,
    *,
    caller: str,
    as_of: Any = None,
    before: pd.Timestamp | None = None,
    by: str | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    per_order: bool = True,
) -> EnginePurchases | None:
    """The purchase rows of an engine frame as a lazy frame, or None for pandas-like data.

    The same purchases as :func:`purchase_orders`: status ``paid``, not fully refunded,
    at or before ``as_of``, with a customer (and, with ``per_order``, an order id). With
    ``per_order`` the lines of an order become one row (earliest time, net sum) inside
    the engine. Only the latest order time is computed here (when ``as_of`` is None).
    pandas input runs through polars when it is installed (``crm_analytics.summary.
    USE_POLARS``), after the same checks as the numpy path; otherwise, and for Modin, cuDF
    and pyarrow data, this gives None and :func:`purchase_orders` reduces them with numpy.
    """
    import narwhals as nw

    dtypes: dict[str, Any] = {}
    if isinstance(orders, pd.DataFrame):
        roles = column_roles(customer_col, time_col, order_col, amount_col, status_col, refund_col)
        accelerated = _through_polars(orders, roles, by, caller)
        if accelerated is None:
            return None
        # per-customer and per-group results get the pandas key types back
        dtypes = {"_cust": orders[customer_col].dtype}
        if by is not None:
            dtypes["_group"] = orders[by].dtype
        orders = accelerated
    frame = as_frame(orders, caller=caller)
    impl = nw.Implementation
    if frame.implementation in (impl.PANDAS, impl.MODIN, impl.CUDF, impl.PYARROW):
        return None
    if isinstance(frame, nw.DataFrame):
        frame = frame.lazy()
    schema_ = frame.collect_schema()
    columns = [str(c) for c in schema_.names()]
    _check_roles(columns, customer_col, time_col, order_col, amount_col, by, caller)
    check_datetime_dtype(schema_[time_col], time_col, caller=caller)
    time = nw.col(time_col)
    if getattr(schema_[time_col], "time_zone", None):
        time = time.dt.replace_time_zone(None)
    if before is not None:
        frame = frame.filter(time < nw.lit(before.to_pydatetime()))
    latest_ns = None
    if as_of is None:
        latest_value = frame.select(time.max().alias("t")).collect().item(0, 0)
        latest_ns = None if latest_value is None else pd.Timestamp(latest_value).value
    as_of_ts = _resolve_as_of(as_of, latest_ns, caller, time_col)
    amount = nw.col(amount_col).cast(nw.Float64).fill_null(0.0)
    is_purchase = (time <= nw.lit(as_of_ts.to_pydatetime())) & ~nw.col(customer_col).is_null()
    net = amount
    if refund_col is not None and refund_col in columns:
        refund = nw.col(refund_col).cast(nw.Float64).fill_null(0.0)
        is_purchase = is_purchase & ~((refund > 0) & (refund >= amount))
        net = amount - refund
    if status_col is not None and status_col in columns:
        is_purchase = is_purchase & (nw.col(status_col).cast(nw.String) == schema.PURCHASE_STATUS)
    keys = [nw.col(customer_col).alias("_cust")]
    names = ["_cust"]
    if by is not None:
        keys += [
            nw.col(by).alias("_group"),
            nw.col(by).cast(nw.String).fill_null(_NULL_GROUP).alias("_gkey"),
        ]
        names += ["_group", "_gkey"]
    rows = frame.filter(is_purchase)
    if per_order:
        rows = (
            rows.filter(~nw.col(order_col).is_null())
            .select(
                *keys, nw.col(order_col).alias("_order"), time.alias("_time"), net.alias("_net")
            )
            .group_by(*names, "_order")
            .agg(nw.col("_time").min(), nw.col("_net").sum())
            .drop("_order")
        )
    else:
        rows = rows.select(*keys, time.alias("_time"), net.alias("_net"))
    from .summary import _day_number

    rows = rows.with_columns(_day_number(nw.col("_time"), frame.implementation).alias("_day"))
    return EnginePurchases(
        rows, frame.implementation, as_of_ts, day_number(as_of_ts), customer_col, by, dtypes
    )


def _through_polars(
    orders: pd.DataFrame, roles: dict[str, Any], by: str | None, caller: str
) -> Any:
    """The used columns of pandas ``orders`` as a polars LazyFrame, or None.

    None when polars is not installed (or ``USE_POLARS`` is off) or cannot hold a
    column (mixed types in an object column): the numpy path then runs. The checks of
    the numpy path come first, so a bad column raises the same error on both.
    """
    from .summary import _polars_available

    if not _polars_available():
        return None
    columns = [str(c) for c in orders.columns]
    _check_roles(
        columns,
        roles["customer_col"],
        roles["time_col"],
        roles["order_col"],
        roles["amount_col"],
        by,
        caller,
    )
    check_datetime_dtype(orders[roles["time_col"]].dtype, roles["time_col"], caller=caller)
    used = [roles["customer_col"], roles["time_col"], roles["order_col"], roles["amount_col"]]
    _check_money_dtype(orders[roles["amount_col"]], roles["amount_col"], caller)
    if roles["refund_col"] is not None and roles["refund_col"] in columns:
        _check_money_dtype(orders[roles["refund_col"]], roles["refund_col"], caller)
        used.append(roles["refund_col"])
    if roles["status_col"] is not None and roles["status_col"] in columns:
        used.append(roles["status_col"])
    if by is not None:
        used.append(by)
    import polars as pl

    try:
        return pl.from_pandas(orders[list(dict.fromkeys(used))]).lazy()
    except Exception:  # a column polars cannot hold: the numpy path takes it
        return None


def with_gaps(rows: Any, partition: list[str]) -> Any | None:
    """``rows`` with ``_gap``: days since the previous row of the same ``partition``.

    Null on each partition's first row. The rows are ordered by ``_day`` (rows on one
    day are 0 days apart in any order). None where the engine has no ordered windows
    (Dask, polars < 1.10): the caller then collects the purchase rows instead.
    """
    import narwhals as nw

    try:
        return rows.with_columns(
            nw.col("_day").diff().over(*partition, order_by="_day").cast(nw.Float64).alias("_gap")
        )
    except NotImplementedError:
        return None


def median_of_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """Median of a sample given as distinct ``values`` and their ``counts`` (NaN if empty).

    The mean of the two middle values for an even count, as ``numpy.median``.
    """
    order = np.argsort(values, kind="stable")
    values, counts = np.asarray(values, dtype="float64")[order], np.asarray(counts)[order]
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    ends = np.cumsum(counts)
    low, high = (n - 1) // 2, n // 2
    return float(
        (values[np.searchsorted(ends, low, side="right")]
         + values[np.searchsorted(ends, high, side="right")]) / 2
    )  # fmt: skip


def collect(frame: Any) -> pd.DataFrame:
    """Collect a (small, aggregated) narwhals frame as pandas."""
    import narwhals as nw

    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    return frame.to_pandas()


def _engine_orders(
    orders: Any,
    *,
    caller: str,
    as_of: Any,
    before: pd.Timestamp | None,
    by: str | None,
    cols: dict[str, Any],
    per_order: bool,
) -> Purchases:
    """:func:`purchase_orders` of a frame that is not pandas: reduced in its engine."""
    ep = engine_purchases(
        orders, caller=caller, as_of=as_of, before=before, by=by, per_order=per_order, **cols
    )
    if ep is None:  # pandas-like data that is not a pandas DataFrame
        return purchase_orders(
            as_frame(orders, caller=caller).to_pandas(),
            caller=caller,
            as_of=as_of,
            before=before,
            by=by,
            per_order=per_order,
            **cols,
        )
    native = collect(ep.rows.select("_cust", *(["_group"] if by else []), "_time", "_net"))
    cust, cust_keys = pd.factorize(native["_cust"].to_numpy(), use_na_sentinel=True)
    t = naive_ns(native["_time"])
    out = pd.DataFrame(
        {
            "cust": cust.astype("int64"),
            "time": t,
            "day": t // _NS_PER_DAY,
            "net": native["_net"].to_numpy(dtype="float64"),
        }
    )
    groups = None
    if by is not None:
        group, group_keys = pd.factorize(native["_group"].to_numpy(), use_na_sentinel=False)
        out["group"] = group.astype("int64")
        groups = ep.groups(group_keys)
    return Purchases(out, ep.keys(cust_keys), groups, ep.as_of, ep.as_of_day)


# --------------------------------------------------------------------------- periods


def period_codes(day: np.ndarray, period: str) -> np.ndarray:
    """pandas Period ordinals (of ``period``) of day numbers since 1970."""
    day = np.asarray(day, dtype="int64")
    if period == "D":
        return day
    if period == "W":  # Monday-to-Sunday weeks, pandas' "W" (W-SUN) ordinals
        return (day + 3) // 7 + 1
    months = day.astype("datetime64[D]").astype("datetime64[M]").astype("int64")
    if period == "M":
        return months
    if period == "Q":
        return months // 3
    return months // 12  # "Y"


def period_start_day(codes: np.ndarray, period: str) -> np.ndarray:
    """First day number of each period ordinal (inverse of :func:`period_codes`)."""
    codes = np.asarray(codes, dtype="int64")
    if period == "D":
        return codes
    if period == "W":
        return (codes - 1) * 7 - 3
    months = {"M": codes, "Q": codes * 3, "Y": codes * 12}[period]
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def period_index(codes: np.ndarray, period: str, name: str) -> pd.PeriodIndex:
    """PeriodIndex from period ordinals."""
    freq = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}[period]
    return pd.PeriodIndex.from_ordinals(np.asarray(codes, dtype="int64"), freq=freq).rename(name)


def period_ordinal(time: Any, period: str, implementation: Any) -> Any:
    """:func:`period_codes` of a naive datetime expression, inside its engine (Int64).

    Days since 1970 (``"D"``), Monday-to-Sunday weeks (``"W"``, pandas' W-SUN), and
    months, quarters or years since 1970 (``"M"``, ``"Q"``, ``"Y"``).
    """
    import narwhals as nw

    from .summary import _WEEK_SHIFT, _day_number

    if period in ("D", "W"):
        day = _day_number(time, implementation)
        return day if period == "D" else (day + _WEEK_SHIFT) // 7 + 1
    years = time.dt.year().cast(nw.Int64) - 1970
    months = time.dt.month().cast(nw.Int64) - 1
    if period == "M":
        return years * 12 + months
    if period == "Q":
        return years * 4 + months // 3
    return years
