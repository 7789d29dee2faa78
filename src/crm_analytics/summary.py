"""Orders -> one row per customer: the sufficient statistics every analysis starts from.

The group-bys are written once with narwhals, so the same call runs inside pandas,
polars (eager or lazy) and DuckDB; only the per-customer result is collected, as pandas.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from typing import Any, Literal

import narwhals as nw
import pandas as pd

from . import schema
from ._validation import as_frame, check_choice, check_columns, check_datetime_dtype
from .exceptions import InvalidDataError

__all__ = ["customer_summary"]

_EPOCH = _dt.datetime(1970, 1, 1)
_SECONDS_PER_DAY = 86_400
# 1970-01-01 was a Thursday: shifting day numbers by 3 makes weeks start on Monday,
# the convention of pandas' weekly periods (and so of lifetimes' freq="W").
_WEEK_SHIFT = 3
_PERIOD_DAYS = {"D": 1, "W": 7}
_LEAP_DAYS_BEFORE_1970 = 1969 // 4 - 1969 // 100 + 1969 // 400


def customer_summary(
    orders: Any,
    *,
    as_of: Any = None,
    freq: Literal["D", "W"] = "D",
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    quantity_col: str | None = schema.QUANTITY,
) -> pd.DataFrame:
    """Summarise orders into one row per purchasing customer.

    Purchases are rows with status ``paid`` valued at ``amount - refund_amount``; a row
    whose refund covers its amount is not a purchase. Unpaid, cancelled and refunded rows
    are ignored, as are purchases after ``as_of``. Customers with no purchase up to
    ``as_of`` have no row.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (see ``crm.read_orders``): a pandas DataFrame, a polars
        DataFrame or LazyFrame, a DuckDB relation, or any frame narwhals supports.
        The order-level work runs in that engine; only the result is collected.
    as_of : datetime-like, default=None
        Observation date. None means the latest order in the data (any status).
    freq : {"D", "W"}, default="D"
        Time unit of the BTYD columns ``recency`` and ``T``, and the grain at which
        purchases are counted for ``frequency``: purchases on the same day ("D") or in
        the same Monday-to-Sunday week ("W") are one purchase period.
    customer_col, time_col, amount_col, order_col : str
        Column names; the defaults are the canonical ones.
    status_col : str or None, default="status"
        Order status column. None (or absent from the frame) treats every row as paid.
    refund_col : str or None, default="refund_amount"
        Refunded money per row. None (or absent) means no refunds.
    quantity_col : str or None, default="quantity"
        Items per row. None (or absent) counts each row as one item.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted), with columns:

        - ``first_purchase``, ``last_purchase``: times of the first and last purchase.
        - ``n_orders``: distinct paid orders. ``n_items``: items bought.
        - ``monetary_total``: net spend. ``avg_order_value``: monetary_total / n_orders.
        - ``days_since_last``: calendar days from the last purchase to ``as_of``
          (RFM recency).
        - ``frequency`` (x): repeat purchase periods, the number of distinct purchase
          periods minus one.
        - ``recency`` (t_x): periods from the first to the last purchase period.
        - ``T``: periods from the first purchase period to the ``as_of`` period.
        - ``monetary_value``: mean net value of the repeat periods (0 without repeats).

        The BTYD columns follow the literature and equal lifetimes'
        ``summary_data_from_transaction_data`` (with the net amount as monetary value).

    Raises
    ------
    ColumnNotFoundError
        A named column is missing (the message lists the available ones).
    InvalidDataError
        ``order_time`` is not a datetime column, or ``freq`` is unknown.

    See Also
    --------
    crm_analytics.read_orders : load an export into canonical orders.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4"],
    ...     "customer_id": ["ann", "ann", "bob", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-31"]),
    ...     "amount": [100.0, 40.0, 25.0, 60.0],
    ...     "status": ["paid", "paid", "paid", "cancelled"],
    ... })
    >>> s = crm.customer_summary(orders)
    >>> s[["n_orders", "monetary_total", "days_since_last", "frequency", "recency", "T"]]
                 n_orders  monetary_total  days_since_last  frequency  recency     T
    customer_id
    ann                 2           140.0               20        1.0     10.0  30.0
    bob                 1            25.0               26        0.0      0.0  26.0
    """
    caller = "customer_summary"
    check_choice(freq, tuple(_PERIOD_DAYS), name="freq", caller=caller)
    frame = as_frame(orders, caller=caller, name="orders")
    if frame.implementation is nw.Implementation.PYARROW:
        # pyarrow has no ordered window functions: summarise it through pandas
        orders = frame.to_pandas()
        frame = nw.from_native(orders)
    native_is_pandas = isinstance(orders, pd.DataFrame)
    schema_ = frame.collect_schema()
    columns = list(schema_.names())
    check_columns(
        columns,
        {
            "customer_col": customer_col,
            "time_col": time_col,
            "amount_col": amount_col,
            "order_col": order_col,
        },
        caller=caller,
    )
    check_datetime_dtype(schema_[time_col], time_col, caller=caller)
    has_status = status_col is not None and status_col in columns
    has_refund = refund_col is not None and refund_col in columns
    has_quantity = quantity_col is not None and quantity_col in columns
    used = [customer_col, time_col, amount_col, order_col]
    used += [
        str(c)
        for c, ok in (
            (status_col, has_status),
            (refund_col, has_refund),
            (quantity_col, has_quantity),
        )
        if ok
    ]
    accelerated = native_is_pandas and _polars_available()
    if accelerated:
        # the same pipeline, run by polars: several times faster than pandas group-bys
        import polars as pl

        frame = nw.from_native(pl.from_pandas(orders[list(dict.fromkeys(used))]).lazy())
        schema_ = frame.collect_schema()

    time = nw.col(time_col)
    if getattr(schema_[time_col], "time_zone", None):
        # aware timestamps: keep the wall-clock time of their zone, so a day is the shop's day
        time = time.dt.replace_time_zone(None)

    if as_of is None:
        as_of_value = _collect_scalar(frame.select(time.max().alias("as_of")))
        if as_of_value is None:
            raise InvalidDataError(f"{caller}: `orders` has no rows with an {time_col!r}.")
    else:
        as_of_value = as_of
    as_of_ts = pd.Timestamp(as_of_value)
    if as_of_ts.tzinfo is not None:
        as_of_ts = as_of_ts.tz_localize(None)
    as_of_day = (as_of_ts - pd.Timestamp(_EPOCH)) // pd.Timedelta(days=1)

    amount = nw.col(amount_col).cast(nw.Float64).fill_null(0.0)
    refund = nw.col(str(refund_col)).cast(nw.Float64).fill_null(0.0) if has_refund else nw.lit(0.0)
    is_purchase = time <= nw.lit(as_of_ts.to_pydatetime())
    if has_status:
        is_purchase = is_purchase & (
            nw.col(str(status_col)).cast(nw.String) == schema.PURCHASE_STATUS
        )
    if has_refund:
        # a row whose refund covers what was paid is not a purchase
        is_purchase = is_purchase & ~((refund > 0) & (refund >= amount))

    as_of_period = (as_of_day + _WEEK_SHIFT) // 7 if freq == "W" else as_of_day

    customer_key, order_key = nw.col(customer_col), nw.col(order_col)
    codes, one_row_per_order = None, False
    if native_is_pandas and not accelerated:
        # pandas re-hashes string keys in every group-by and join: hash them once here
        codes, one_row_per_order, frame = _integer_keys(orders, frame, customer_col, order_col)
        customer_key, order_key = nw.col("_cust_code"), nw.col("_order_code")

    purchases = frame.filter(is_purchase).select(
        customer_key.alias("_cust"),
        order_key.alias("_order"),
        time.alias("_time"),
        (amount - refund).alias("_net"),
        (nw.col(str(quantity_col)).cast(nw.Int64).fill_null(1) if has_quantity else nw.lit(1))
        .cast(nw.Int64)
        .alias("_qty"),
    )
    # 1. one row per order: an order is one purchase, at the time of its first paid line
    order_aggs = [
        nw.col("_time").min(),
        nw.col("_net").sum(),
        nw.col("_qty").sum() if has_quantity else nw.len().alias("_qty"),
    ]
    if codes is not None and one_row_per_order:
        per_order = purchases.drop("_order")
    elif codes is not None:
        # integer codes: one combined key groups faster than two columns
        n_customers = len(codes)
        per_order = (
            purchases.with_columns((nw.col("_order") * n_customers + nw.col("_cust")).alias("_key"))
            .group_by("_key")
            .agg(nw.col("_cust").min(), *order_aggs)
            .drop("_key")
        )
    else:
        per_order = purchases.group_by("_cust", "_order").agg(*order_aggs)
    day = _day_number(nw.col("_time"), frame.implementation)
    per_order = per_order.with_columns(
        (((day + _WEEK_SHIFT) // 7) if freq == "W" else day).alias("_period")
    )

    # 2. one row per customer and purchase period
    period_aggs = [
        nw.col("_time").min().alias("_first_time"),
        nw.col("_time").max().alias("_last_time"),
        nw.col("_net").sum().alias("_value"),
        nw.col("_qty").sum().alias("_items"),
        nw.len().alias("_orders"),
    ]
    if codes is not None:
        low = _collect_scalar(per_order.select(nw.col("_period").min()))
        low = int(as_of_period) if low is None or pd.isna(low) else min(int(low), int(as_of_period))
        span = int(as_of_period) - low + 1
        per_period = (
            per_order.with_columns(
                (nw.col("_cust") * span + (nw.col("_period") - low)).alias("_key")
            )
            .group_by("_key")
            .agg(nw.col("_cust").min(), nw.col("_period").min(), *period_aggs)
            .drop("_key")
        )
    else:
        per_period = per_order.group_by("_cust", "_period").agg(*period_aggs)

    # 3. one row per customer; the first and last periods and days follow from the
    # first and last purchase times, so only the first period's value needs the periods
    customer_aggs = [
        ("_first_time", "min", "first_purchase"),
        ("_last_time", "max", "last_purchase"),
        ("_orders", "sum", "n_orders"),
        ("_items", "sum", "n_items"),
        ("_value", "sum", "monetary_total"),
    ]
    result = _per_customer(per_period, customer_aggs)
    if isinstance(result, nw.LazyFrame):
        result = result.collect()
    out = result.to_pandas()
    if codes is not None:
        out["_cust"] = codes[out["_cust"].to_numpy()]
    return _finish(out, customer_col, as_of_day, as_of_period, freq, native_is_pandas, orders)


def _per_customer(per_period: Any, aggs: list[tuple[str, str, str]]) -> Any:
    """Group the customer-period rows by customer.

    ``aggs`` are (column, "min" | "max" | "sum", output name); the result also has
    ``_n_periods`` and ``_first_value``, the value of the customer's first purchase
    period (what the repeat-period mean leaves out). polars, DuckDB and Spark pick it in
    the aggregation (``min_by`` / ``arg_min``); other engines mark the first period
    with a window over the customer.
    """
    implementation = per_period.implementation
    if implementation is nw.Implementation.POLARS and _polars_has_min_by():
        import polars as pl

        return nw.from_native(
            per_period.to_native()
            .group_by("_cust")
            .agg(
                *(getattr(pl.col(c), op)().alias(name) for c, op, name in aggs),
                pl.len().alias("_n_periods"),
                pl.col("_value").min_by("_period").alias("_first_value"),
            )
        )
    if implementation is nw.Implementation.DUCKDB:
        select = ", ".join(f'{op}("{c}") AS "{name}"' for c, op, name in aggs)
        return nw.from_native(
            per_period.to_native().aggregate(
                f'"_cust", {select}, count(*) AS "_n_periods", '
                'arg_min("_value", "_period") AS "_first_value"',
                '"_cust"',
            )
        )
    if implementation is nw.Implementation.PYSPARK:
        from pyspark.sql import functions as F

        return nw.from_native(
            per_period.to_native()
            .groupBy("_cust")
            .agg(
                *(getattr(F, op)(c).alias(name) for c, op, name in aggs),
                F.count(F.lit(1)).alias("_n_periods"),
                F.min_by("_value", "_period").alias("_first_value"),
            )
        )
    # two steps: Dask cannot combine a window with other columns in one expression
    per_period = per_period.with_columns(nw.col("_period").min().over("_cust").alias("_min"))
    per_period = per_period.with_columns(
        ((nw.col("_period") == nw.col("_min")).cast(nw.Float64) * nw.col("_value")).alias(
            "_first_value"
        )
    )
    return per_period.group_by("_cust").agg(
        *(getattr(nw.col(c), op)().alias(name) for c, op, name in aggs),
        nw.len().alias("_n_periods"),
        nw.col("_first_value").sum(),
    )


def _polars_has_min_by() -> bool:
    import polars as pl

    return hasattr(pl.Expr, "min_by")  # polars 1.37 and later


def _integer_keys(
    orders: pd.DataFrame, frame: Any, customer_col: str, order_col: str
) -> tuple[Any, bool, Any]:
    """Add integer codes of the customer and order keys (pandas input only).

    Also tells whether every row is its own order (no two rows share an order id).
    """
    import numpy as np

    cust_codes, cust_uniques = pd.factorize(orders[customer_col], use_na_sentinel=True)
    order_codes, order_uniques = pd.factorize(orders[order_col], use_na_sentinel=True)
    one_row_per_order = len(order_uniques) == len(orders) and not (order_codes < 0).any()
    frame = frame.with_columns(
        nw.new_series(
            "_cust_code",
            cust_codes.astype(np.int64),
            nw.Int64,
            backend=nw.get_native_namespace(frame),
        ),
        nw.new_series(
            "_order_code",
            order_codes.astype(np.int64),
            nw.Int64,
            backend=nw.get_native_namespace(frame),
        ),
    )
    return np.asarray(cust_uniques, dtype=object), one_row_per_order, frame


#: Run pandas input through polars when it is installed (set False to force pandas).
USE_POLARS = True


def _polars_available() -> bool:
    import importlib.util

    return USE_POLARS and importlib.util.find_spec("polars") is not None


# engines whose narwhals backend has ``dt.timestamp`` (the fast path of _day_number)
_TIMESTAMP_ENGINES = {
    nw.Implementation.POLARS,
    nw.Implementation.PANDAS,
    nw.Implementation.MODIN,
    nw.Implementation.CUDF,
}


def _day_number(time: Any, implementation: Any = None) -> Any:
    """Days since 1970-01-01 of a naive datetime expression (its calendar date).

    Where the engine has epoch timestamps (polars, pandas) this is a floor division of
    epoch milliseconds. Elsewhere (DuckDB, Spark, Dask) it counts the days of the whole
    years before the date, their leap days and the day of the year, valid for years 1
    to 9999. Both ignore the time of day.
    """
    if implementation in _TIMESTAMP_ENGINES:
        return (time.dt.timestamp("ms") // 86_400_000).cast(nw.Int64)
    year = time.dt.year().cast(nw.Int64)
    before = year - 1  # leap days in years 1 .. year-1; non-negative, so // is exact
    leap_days = before // 4 - before // 100 + before // 400
    return 365 * (year - 1970) + (leap_days - _LEAP_DAYS_BEFORE_1970) + time.dt.ordinal_day() - 1


def _collect_scalar(frame: Any) -> Any:
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    return frame.item(0, 0)


def _finish(
    out: pd.DataFrame,
    customer_col: str,
    as_of_day: int,
    as_of_period: int,
    freq: str,
    native_is_pandas: bool,
    orders: Any,
) -> pd.DataFrame:
    """Derive the BTYD columns from the collected per-customer aggregates."""
    import numpy as np

    first_purchase = pd.to_datetime(out["first_purchase"]).to_numpy()
    last_purchase = pd.to_datetime(out["last_purchase"]).to_numpy()
    first_day = first_purchase.astype("datetime64[D]").astype("int64")
    last_day = last_purchase.astype("datetime64[D]").astype("int64")
    if freq == "W":
        first_period, last_period = (first_day + _WEEK_SHIFT) // 7, (last_day + _WEEK_SHIFT) // 7
    else:
        first_period, last_period = first_day, last_day
    n_periods = out["_n_periods"].to_numpy(dtype="int64")
    frequency = (n_periods - 1).astype("float64")
    repeat_total = out["monetary_total"].to_numpy(dtype="float64") - out["_first_value"].to_numpy(
        dtype="float64"
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary_value = np.where(frequency > 0, repeat_total / np.maximum(frequency, 1), 0.0)
    n_orders = out["n_orders"].to_numpy(dtype="int64")
    monetary_total = out["monetary_total"].to_numpy(dtype="float64")

    summary = pd.DataFrame(
        {
            "first_purchase": first_purchase,
            "last_purchase": last_purchase,
            "n_orders": n_orders,
            "n_items": out["n_items"].to_numpy(dtype="int64"),
            "monetary_total": monetary_total,
            "avg_order_value": monetary_total / n_orders,
            "days_since_last": as_of_day - last_day,
            "frequency": frequency,
            "recency": (last_period - first_period).astype("float64"),
            "T": (as_of_period - first_period).astype("float64"),
            "monetary_value": monetary_value,
        },
        index=pd.Index(out["_cust"], name=customer_col),
    )
    if native_is_pandas:
        key_dtype = orders[customer_col].dtype
        if summary.index.dtype != key_dtype:
            with contextlib.suppress(TypeError, ValueError):  # else keep the engine's dtype
                summary.index = summary.index.astype(key_dtype)
    summary = summary.sort_index(kind="stable")
    return summary
