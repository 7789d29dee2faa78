"""Loyalty programmes: member tiers, their value, tier rules, and points liability.

- :func:`tier_migration`: the tier transition matrix between two snapshots of the
  customers table (会员等级 at two dates), with :func:`migration_summary` (upgraded,
  stayed, downgraded per starting tier) and :func:`tier_snapshot` to take a snapshot
  from a history of tier changes; :func:`tier_changes` counts the moves per period.
- :func:`tier_value`: per tier, members, revenue share, average order value,
  purchase frequency, repurchase and churn rates: does a higher tier buy more?
- :func:`tier_rules_check`: given the shop's thresholds (spend or orders in a
  window), which members are due an upgrade or a downgrade now.
- :func:`points_liability`: outstanding points over time, earned vs redeemed vs
  expired, redemption rate, points about to expire, and the members holding the
  most unredeemed points (a win-back lever).

Tiers are ordered lowest first. Known ladders (普通会员 < 高级会员 < VIP会员 < 至尊VIP会员,
VIP1 < VIP2 < ..., bronze < silver < gold < platinum, ...) ship in
``profiles/service_terms.json``; any other ladder is given with ``tiers=``.
Points tables come from ``crm.io.read_points`` (``customer_id``, ``points_time``,
signed ``points``, ``movement``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import schema
from ._purchases import purchase_orders, to_timestamp
from ._validation import check_choice, check_columns, check_datetime_dtype, example_values
from .exceptions import ColumnNotFoundError, InvalidDataError

__all__ = [
    "PointsLiability",
    "migration_summary",
    "points_liability",
    "tier_changes",
    "tier_migration",
    "tier_order",
    "tier_rules_check",
    "tier_snapshot",
    "tier_value",
]

NEW = "(new)"
LEFT = "(left)"
NO_TIER = "(no tier)"
_PERIODS = ("D", "W", "M", "Q", "Y")


# ------------------------------------------------------------------------------------
# tiers
# ------------------------------------------------------------------------------------
def _ladders() -> list[list[str]]:
    from .service import service_terms

    return service_terms()["tiers"]


def tier_order(
    values: Any, *, tiers: Sequence[str] | None = None, caller: str = "tier_order"
) -> list[str]:
    """The tiers present in ``values`` (or ``tiers``), lowest first.

    Parameters
    ----------
    values : array-like
        Tier labels (missing values are ignored).
    tiers : sequence of str, optional
        The shop's ladder, lowest first; every value must be in it.
    caller : str
        Name used in error messages.

    Returns
    -------
    list of str
        ``tiers`` when given; else the values present, in the order of the first
        bundled ladder that holds all of them (case-insensitive); else, when every label is one prefix
        and a number (``V1``, ``LV3``, ``3级``), by that number.

    Examples
    --------
    >>> from crm_analytics.loyalty import tier_order
    >>> tier_order(["VIP会员", "普通会员", "高级会员"])
    ['普通会员', '高级会员', 'VIP会员']
    >>> tier_order(["V3", "V10", "V2"])
    ['V2', 'V3', 'V10']
    """
    present = pd.unique(pd.Series(values, dtype=object).dropna().astype(str))
    if tiers is not None:
        order = [str(t) for t in tiers]
        unknown = [v for v in present if v not in order]
        if unknown:
            raise InvalidDataError(
                f"{caller}: {len(unknown)} tier values are not in tiers={order}, e.g. "
                f"{example_values(unknown, 3)}.\nHint: add them to tiers= (lowest first)."
            )
        return order
    lowered = {v.lower() for v in present}
    for ladder in _ladders():
        keys = [t.lower() for t in ladder]
        if lowered <= set(keys):
            by_key = {v.lower(): v for v in present}
            return [by_key[k] for k in keys if k in by_key]
    parts = [re.fullmatch(r"(\D*?)\s*(\d+)\s*(\D*)", v) for v in present]
    if present.size and all(parts):
        shapes = {(m.group(1).lower(), m.group(3)) for m in parts if m}
        if len(shapes) == 1:
            return [
                v
                for _, v in sorted(
                    (int(m.group(2)), v) for m, v in zip(parts, present, strict=True) if m
                )
            ]
    raise InvalidDataError(
        f"{caller}: cannot tell the order of the tiers {sorted(present)[:6]}.\n"
        f"Hint: pass tiers=[...] lowest first, e.g. tiers={sorted(present)[:3]}."
    )


def _tiers_of(frame: Any, *, tier_col: str, customer_col: str, caller: str, name: str) -> pd.Series:
    """Tier per customer (index = customer), from a table indexed by or holding the key."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(
            f"{caller}: `{name}` must be a pandas DataFrame, got {type(frame).__name__}."
        )
    if tier_col not in frame.columns:
        check_columns(list(frame.columns), {"tier_col": tier_col}, caller=caller, frame_name=name)
    if customer_col in frame.columns:
        keys = frame[customer_col]
    elif frame.index.name == customer_col:
        keys = frame.index.to_series()
    else:
        raise ColumnNotFoundError(
            f"{caller}: `{name}` has no {customer_col!r} column or index.\n"
            f"Available columns: {list(frame.columns)} (index {frame.index.name!r}).\n"
            f"Hint: pass customer_col= or load with crm.read_customers(path)."
        )
    tiers = pd.Series(frame[tier_col].to_numpy(dtype=object), index=keys.to_numpy())
    dup = tiers.index.duplicated(keep=False)
    if dup.any():
        raise InvalidDataError(
            f"{caller}: `{name}` lists {int(dup.sum())} rows for repeated customers, e.g. "
            f"{example_values(tiers.index[dup].tolist(), 2)}; one row per customer is needed.\n"
            f"Hint: keep the latest record, or take a snapshot with tier_snapshot(history, at=...)."
        )
    tiers = tiers.where(pd.notna(tiers), None).dropna().astype(str)
    tiers.index.name = customer_col
    return tiers


def tier_snapshot(
    history: pd.DataFrame,
    *,
    at: Any,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = "changed_time",
    tier_col: str = schema.MEMBER_LEVEL,
) -> pd.DataFrame:
    """Each customer's tier at a date, from a history of tier changes.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per tier change (or per dated snapshot): customer, time, tier.
    at : datetime-like
        The date of the snapshot; a customer's tier is their last change at or
        before it. Customers whose first change is later are not in the snapshot.
    customer_col, time_col, tier_col : str
        Columns of ``history``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (sorted), one column ``tier_col``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.loyalty import tier_snapshot
    >>> history = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "changed_time": pd.to_datetime(["2024-01-01", "2024-05-01", "2024-03-01"]),
    ...     "member_level": ["V1", "V2", "V1"],
    ... })
    >>> tier_snapshot(history, at="2024-04-30")
                member_level
    customer_id
    a                     V1
    b                     V1
    """
    caller = "tier_snapshot"
    check_columns(
        list(history.columns),
        {"customer_col": customer_col, "time_col": time_col, "tier_col": tier_col},
        caller=caller,
        frame_name="history",
    )
    check_datetime_dtype(history[time_col].dtype, time_col, caller=caller, frame_name="history")
    when = to_timestamp(at, caller=caller, name="at")
    rows = history.loc[(history[time_col] <= when).to_numpy(), [customer_col, time_col, tier_col]]
    rows = rows.sort_values(time_col, kind="stable").drop_duplicates(customer_col, keep="last")
    out = rows.set_index(customer_col)[[tier_col]].sort_index()
    return out


def tier_migration(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    tiers: Sequence[str] | None = None,
    normalize: bool = False,
    tier_col: str = schema.MEMBER_LEVEL,
    customer_col: str = schema.CUSTOMER_ID,
) -> pd.DataFrame:
    """Tier transition matrix between two snapshots of the members.

    Parameters
    ----------
    before, after : pandas.DataFrame
        Customers tables (``crm.read_customers``, indexed by ``customer_id``, or
        with a ``customer_col`` column) at the start and the end, with the tier in
        ``tier_col``.
    tiers : sequence of str, optional
        Tier ladder, lowest first (default: see :func:`tier_order`).
    normalize : bool, default=False
        Shares of each starting tier (rows sum to 1) instead of counts.
    tier_col, customer_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Index ``from_tier`` (the tiers, then ``"(new)"`` for members only in
        ``after``), columns ``to_tier`` (the tiers, then ``"(left)"`` for members
        only in ``before``): the number of members. Each tier's row sums to its
        members in ``before``. Cells above the diagonal are upgrades, below it
        downgrades (see :func:`migration_summary`).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> before = pd.DataFrame({"member_level": ["V1", "V1", "V2", "V2"]},
    ...                       index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    >>> after = pd.DataFrame({"member_level": ["V2", "V1", "V1", "V1"]},
    ...                      index=pd.Index(["a", "b", "c", "e"], name="customer_id"))
    >>> crm.loyalty.tier_migration(before, after)
    to_tier    V1  V2  (left)
    from_tier
    V1          1   1       0
    V2          1   0       1
    (new)       1   0       0
    """
    caller = "tier_migration"
    t0 = _tiers_of(
        before, tier_col=tier_col, customer_col=customer_col, caller=caller, name="before"
    )
    t1 = _tiers_of(after, tier_col=tier_col, customer_col=customer_col, caller=caller, name="after")
    order = tier_order(pd.concat([t0, t1]).to_numpy(), tiers=tiers, caller=caller)
    pairs = pd.concat([t0.rename("from"), t1.rename("to")], axis=1, join="outer")
    rows = pd.Categorical(pairs["from"].fillna(NEW), categories=[*order, NEW])
    cols = pd.Categorical(pairs["to"].fillna(LEFT), categories=[*order, LEFT])
    counts = pd.crosstab(rows, cols, dropna=False).reindex(
        index=[*order, NEW], columns=[*order, LEFT], fill_value=0
    )
    if not (pairs["from"].isna().any()):
        counts = counts.drop(index=NEW)
    if not (pairs["to"].isna().any()):
        counts = counts.drop(columns=LEFT)
    counts = counts.astype("int64")
    counts.index = pd.Index(list(counts.index), name="from_tier", dtype=object)
    counts.columns = pd.Index(list(counts.columns), name="to_tier", dtype=object)
    if normalize:
        totals = counts.sum(axis=1)
        return counts.div(totals.where(totals > 0), axis=0)
    return counts


def migration_summary(matrix: pd.DataFrame) -> pd.DataFrame:
    """Upgraded, stayed, downgraded and left members per starting tier.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Counts from :func:`tier_migration` (tiers in ladder order).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``from_tier`` (the tiers, without ``"(new)"``): ``members``,
        ``upgraded``, ``stayed``, ``downgraded``, ``left`` and the rates
        ``upgrade_rate``, ``stay_rate``, ``downgrade_rate`` (of ``members``), plus a
        last row ``"all"``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> before = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
    ...                        "member_level": ["V1", "V1", "V2", "V2"]})
    >>> after = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                       "member_level": ["V2", "V1", "V1"]})
    >>> m = crm.loyalty.tier_migration(before, after)
    >>> crm.loyalty.migration_summary(m)[["members", "upgraded", "stayed", "downgraded", "left"]]
               members  upgraded  stayed  downgraded  left
    from_tier
    V1               2         1       1           0     0
    V2               2         0       0           1     1
    all              4         1       1           1     1
    """
    tiers = [c for c in matrix.columns if c != LEFT]
    counts = matrix.loc[[r for r in matrix.index if r != NEW], tiers].to_numpy(dtype="float64")
    n = len(tiers)
    rank_from = np.arange(counts.shape[0])[:, None]
    rank_to = np.arange(n)[None, :]
    out = pd.DataFrame(
        {
            "members": matrix.loc[[r for r in matrix.index if r != NEW]].sum(axis=1).to_numpy(),
            "upgraded": np.where(rank_to > rank_from, counts, 0).sum(axis=1),
            "stayed": np.where(rank_to == rank_from, counts, 0).sum(axis=1),
            "downgraded": np.where(rank_to < rank_from, counts, 0).sum(axis=1),
            "left": (
                matrix.loc[[r for r in matrix.index if r != NEW], LEFT].to_numpy()
                if LEFT in matrix.columns
                else 0
            ),
        },
        index=pd.Index([r for r in matrix.index if r != NEW], name="from_tier", dtype=object),
    )
    out.loc["all"] = out.sum(axis=0)
    out = out.astype("int64")
    members = out["members"].where(out["members"] > 0)
    for col, rate in (("upgraded", "upgrade_rate"), ("stayed", "stay_rate"),
                      ("downgraded", "downgrade_rate")):  # fmt: skip
        out[rate] = (out[col] / members).astype("float64")
    return out


def tier_changes(
    history: pd.DataFrame,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] = "M",
    tiers: Sequence[str] | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = "changed_time",
    tier_col: str = schema.MEMBER_LEVEL,
) -> pd.DataFrame:
    """Upgrades and downgrades per period, from a history of tier changes.

    Each member's tier at the end of a period is their last change at or before
    it; a period's moves compare the tier at its end with the tier at the end of
    the previous period.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per tier change: customer, time, new tier.
    period : {"D", "W", "M", "Q", "Y"}, default="M"
        Length of the periods.
    tiers : sequence of str, optional
        Tier ladder, lowest first.
    customer_col, time_col, tier_col : str
        Columns of ``history``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (every period from the first change to the last):
        ``members_start`` (members at the end of the previous period), ``upgraded``,
        ``downgraded``, ``stayed``, ``joined`` (first tier in the period),
        ``members_end``, ``upgrade_rate`` and ``downgrade_rate`` (of
        ``members_start``).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> history = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "b", "c"],
    ...     "changed_time": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-10",
    ...                                     "2024-03-01", "2024-03-02"]),
    ...     "member_level": ["V1", "V2", "V2", "V1", "V1"],
    ... })
    >>> crm.loyalty.tier_changes(history)[["members_start", "upgraded", "downgraded", "stayed", "joined"]]
             members_start  upgraded  downgraded  stayed  joined
    period
    2024-01              0         0           0       0       2
    2024-02              2         1           0       1       0
    2024-03              2         0           1       1       1
    """
    caller = "tier_changes"
    check_choice(period, _PERIODS, name="period", caller=caller)
    check_columns(
        list(history.columns),
        {"customer_col": customer_col, "time_col": time_col, "tier_col": tier_col},
        caller=caller,
        frame_name="history",
    )
    check_datetime_dtype(history[time_col].dtype, time_col, caller=caller, frame_name="history")
    rows = history[[customer_col, time_col, tier_col]].dropna()
    order = tier_order(rows[tier_col].to_numpy(), tiers=tiers, caller=caller)
    rank = pd.Series(np.arange(len(order)), index=order)
    per = rows[time_col].dt.to_period(period)
    cust, keys = pd.factorize(rows[customer_col])
    first, last = per.min(), per.max()
    codes = (per - first).map(lambda d: d.n).to_numpy(dtype="int64")
    n_periods = int((last - first).n) + 1
    work = pd.DataFrame(
        {
            "c": cust,
            "p": codes,
            "t": rows[time_col].to_numpy(),
            "r": rank.reindex(rows[tier_col]).to_numpy(),
        }
    ).sort_values(["c", "p", "t"], kind="stable")
    last_in = work.drop_duplicates(["c", "p"], keep="last")
    grid = np.full((len(keys), n_periods), -1, dtype="int64")
    grid[last_in["c"].to_numpy(), last_in["p"].to_numpy()] = last_in["r"].to_numpy()
    # forward fill along periods (vectorised: index of the last set cell so far)
    idx = np.where(grid >= 0, np.arange(n_periods)[None, :], -1)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.where(idx >= 0, np.take_along_axis(grid, np.maximum(idx, 0), axis=1), -1)
    prev = np.concatenate([np.full((len(keys), 1), -1), filled[:, :-1]], axis=1)
    was = prev >= 0
    out = pd.DataFrame(
        {
            "members_start": was.sum(axis=0),
            "upgraded": (was & (filled > prev)).sum(axis=0),
            "downgraded": (was & (filled < prev)).sum(axis=0),
            "stayed": (was & (filled == prev)).sum(axis=0),
            "joined": (~was & (filled >= 0)).sum(axis=0),
            "members_end": (filled >= 0).sum(axis=0),
        },
        index=pd.period_range(first, periods=n_periods, freq=first.freq, name="period"),
    ).astype("int64")
    start = out["members_start"].where(out["members_start"] > 0)
    out["upgrade_rate"] = (out["upgraded"] / start).astype("float64")
    out["downgrade_rate"] = (out["downgraded"] / start).astype("float64")
    return out


# ------------------------------------------------------------------------------------
# value per tier and tier rules
# ------------------------------------------------------------------------------------
def tier_value(
    orders: Any,
    customers: pd.DataFrame,
    *,
    tiers: Sequence[str] | None = None,
    churn_days: int = 180,
    as_of: Any = None,
    tier_col: str = schema.MEMBER_LEVEL,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """What each member tier is worth: revenue share, AOV, frequency, repurchase, churn.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (any frame ``crm.customer_summary`` accepts).
    customers : pandas.DataFrame
        Customers with their current tier (``crm.read_customers``).
    tiers : sequence of str, optional
        Tier ladder, lowest first (default: see :func:`tier_order`).
    churn_days : int, default=180
        A buyer whose last purchase is more than this many days before ``as_of``
        counts as churned.
    as_of : datetime-like, optional
        Observation date (default the latest order; never the clock).
    tier_col, customer_col : str
        Columns of ``customers``.
    time_col, amount_col, order_col, status_col, refund_col : str
        Columns of ``orders``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``tier`` (ladder order; ``"(no tier)"`` last for buyers not in
        ``customers`` or without a tier): ``members``, ``buyers``, ``revenue``,
        ``revenue_share``, ``orders``, ``aov`` (revenue / orders),
        ``orders_per_buyer`` (purchase frequency), ``repurchase_rate`` (buyers with
        2+ orders / buyers), ``churn_rate`` (churned buyers / buyers),
        ``revenue_per_member`` and ``lift`` (revenue per member relative to the
        lowest tier).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-06-10", "2024-06-30"]),
    ...     "amount": [100.0, 200.0, 50.0, 30.0],
    ...     "status": "paid",
    ... })
    >>> customers = pd.DataFrame({"member_level": ["V2", "V1", "V1"]},
    ...                          index=pd.Index(["a", "b", "d"], name="customer_id"))
    >>> table = crm.loyalty.tier_value(orders, customers)
    >>> table[["members", "buyers", "revenue", "revenue_share", "aov", "repurchase_rate", "lift"]]
               members  buyers  revenue  revenue_share    aov  repurchase_rate  lift
    tier
    V1               2       1     50.0       0.131579   50.0              0.0   1.0
    V2               1       1    300.0       0.789474  150.0              1.0  12.0
    (no tier)        0       1     30.0       0.078947   30.0              0.0   NaN
    """
    caller = "tier_value"
    from .summary import customer_summary

    if not (isinstance(churn_days, (int, np.integer)) and churn_days > 0):
        raise InvalidDataError(
            f"{caller}: churn_days must be a positive integer, got {churn_days!r}."
        )
    members = _tiers_of(customers, tier_col=tier_col, customer_col=customer_col, caller=caller,
                        name="customers")  # fmt: skip
    order = tier_order(members.to_numpy(), tiers=tiers, caller=caller)
    summary = customer_summary(
        orders, as_of=as_of, customer_col=customer_col, time_col=time_col,
        amount_col=amount_col, order_col=order_col, status_col=status_col,
        refund_col=refund_col,
    )  # fmt: skip
    tier_of_buyer = members.reindex(summary.index).fillna(NO_TIER).to_numpy(dtype=object)
    buyers = pd.DataFrame(
        {
            "tier": tier_of_buyer,
            "revenue": summary["monetary_total"].to_numpy(dtype="float64"),
            "orders": summary["n_orders"].to_numpy(dtype="int64"),
            "repeat": summary["n_orders"].to_numpy() >= 2,
            "churned": summary["days_since_last"].to_numpy(dtype="float64") > churn_days,
        }
    )
    labels = [*order, NO_TIER]
    agg = buyers.groupby("tier").agg(
        buyers=("revenue", "size"), revenue=("revenue", "sum"), orders=("orders", "sum"),
        repeat=("repeat", "sum"), churned=("churned", "sum"),
    ).reindex(labels, fill_value=0)  # fmt: skip
    out = pd.DataFrame(index=pd.Index(labels, name="tier", dtype=object))
    out["members"] = members.value_counts().reindex(labels, fill_value=0).astype("int64")
    out["buyers"] = agg["buyers"].astype("int64")
    out["revenue"] = agg["revenue"].astype("float64")
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total > 0 else np.nan
    out["orders"] = agg["orders"].astype("int64")
    n_buyers = out["buyers"].where(out["buyers"] > 0)
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    out["orders_per_buyer"] = out["orders"] / n_buyers
    out["repurchase_rate"] = agg["repeat"] / n_buyers
    out["churn_rate"] = agg["churned"] / n_buyers
    out["revenue_per_member"] = out["revenue"] / out["members"].where(out["members"] > 0)
    base = out["revenue_per_member"].iloc[0]
    out["lift"] = out["revenue_per_member"] / base if base and np.isfinite(base) else np.nan
    if out.loc[NO_TIER, "buyers"] == 0:
        out = out.drop(index=NO_TIER)
    return out


def tier_rules_check(
    orders: Any,
    customers: pd.DataFrame,
    rules: Mapping[str, float],
    *,
    metric: Literal["spend", "orders"] = "spend",
    window_days: int = 365,
    as_of: Any = None,
    tier_col: str = schema.MEMBER_LEVEL,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Which members are due an upgrade or a downgrade under the shop's tier rules.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders.
    customers : pandas.DataFrame
        Members with their current tier.
    rules : dict
        ``{tier: threshold}``: the least spend (net of refunds) or number of orders
        in the window that qualifies for the tier. The tiers' order is the order of
        the thresholds; the lowest tier usually has 0.
    metric : {"spend", "orders"}, default="spend"
        What the thresholds measure.
    window_days : int, default=365
        The qualifying window, ending at ``as_of`` (the last ``window_days`` days).
    as_of : datetime-like, optional
        Default: the latest order (never the clock).
    tier_col, customer_col : str
        Columns of ``customers``.
    time_col, amount_col, order_col, status_col, refund_col : str
        Columns of ``orders``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (the members, sorted): ``tier`` (current),
        ``value`` (spend or orders in the window), ``qualified_tier`` (highest tier
        whose threshold the value reaches; NaN below every threshold), ``action``
        (``"upgrade"``, ``"downgrade"`` or ``"keep"``), ``next_tier`` and
        ``gap_to_next`` (what is missing for the tier above the qualified one).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_time": pd.to_datetime(["2023-01-01", "2024-05-01", "2024-06-01", "2024-06-30"]),
    ...     "amount": [5000.0, 800.0, 1500.0, 100.0],
    ...     "status": "paid",
    ... })
    >>> customers = pd.DataFrame({"member_level": ["金卡", "普通", "普通"]},
    ...                          index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> rules = {"普通": 0, "银卡": 1000, "金卡": 3000}
    >>> crm.loyalty.tier_rules_check(orders, customers, rules)
                tier   value qualified_tier     action next_tier  gap_to_next
    customer_id
    a             金卡   800.0             普通  downgrade        银卡        200.0
    b             普通  1500.0             银卡    upgrade        金卡       1500.0
    c             普通   100.0             普通       keep        银卡        900.0
    """
    caller = "tier_rules_check"
    check_choice(metric, ("spend", "orders"), name="metric", caller=caller)
    if not (isinstance(window_days, (int, np.integer)) and window_days > 0):
        raise InvalidDataError(
            f"{caller}: window_days must be a positive integer, got {window_days!r}."
        )
    if not rules:
        raise InvalidDataError(
            f"{caller}: rules is empty. Pass {{tier: threshold}}, e.g. "
            "{'普通会员': 0, '高级会员': 1000, 'VIP会员': 5000}."
        )
    ladder = sorted(rules.items(), key=lambda kv: float(kv[1]))
    names = [str(k) for k, _ in ladder]
    edges = np.array([float(v) for _, v in ladder])
    members = _tiers_of(customers, tier_col=tier_col, customer_col=customer_col, caller=caller,
                        name="customers")  # fmt: skip
    unknown = members[~members.isin(names)]
    if len(unknown):
        raise InvalidDataError(
            f"{caller}: {len(unknown)} members have tiers that are not in rules, e.g. "
            f"{example_values(unknown.tolist(), 3)}; rules has {names}.\n"
            "Hint: add those tiers to rules with their thresholds."
        )
    p = purchase_orders(
        orders, caller=caller, as_of=as_of, customer_col=customer_col, time_col=time_col,
        order_col=order_col, amount_col=amount_col, status_col=status_col,
        refund_col=refund_col,
    )  # fmt: skip
    start = (p.as_of - pd.Timedelta(days=int(window_days))).value
    inside = (p.frame["time"] > start).to_numpy()
    codes = p.frame["cust"].to_numpy()[inside]
    if metric == "spend":
        per = np.bincount(codes, weights=p.frame["net"].to_numpy()[inside], minlength=len(p.keys))
    else:
        per = np.bincount(codes, minlength=len(p.keys)).astype("float64")
    value = pd.Series(per, index=p.keys.astype(object)).reindex(members.index.astype(object))
    value = value.fillna(0.0).to_numpy()
    level = np.searchsorted(edges, value + 1e-9, side="right") - 1
    current = pd.Series(np.arange(len(names)), index=names).reindex(members.to_numpy()).to_numpy()
    qualified = np.array([*names, None], dtype=object)[np.where(level >= 0, level, len(names))]
    action = np.select([level > current, level < current], ["upgrade", "downgrade"], "keep")
    nxt = level + 1
    has_next = nxt < len(names)
    out = pd.DataFrame(
        {
            "tier": members.to_numpy(dtype=object),
            "value": value,
            "qualified_tier": qualified,
            "action": action.astype(object),
            "next_tier": np.where(
                has_next, np.array([*names, None], dtype=object)[np.minimum(nxt, len(names))], None
            ),
            "gap_to_next": np.where(
                has_next, edges[np.minimum(nxt, len(names) - 1)] - value, np.nan
            ),
        },
        index=pd.Index(members.index, name=customer_col),
    )
    return out.sort_index()


# ------------------------------------------------------------------------------------
# points
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PointsLiability:
    """What :func:`points_liability` computed.

    Attributes
    ----------
    balance : pandas.DataFrame
        Per period (index ``period``, every period from the first movement to
        ``as_of``): ``earned``, ``redeemed``, ``expired`` (sizes, >= 0),
        ``adjusted`` (signed), ``net`` and ``balance`` (outstanding points at the
        period's end: cumulative earned - redeemed - expired + adjusted), and
        ``redemption_rate`` (redeemed / earned in the period).
    overall : pandas.Series
        ``earned``, ``redeemed``, ``expired``, ``adjusted``, ``outstanding``,
        ``redemption_rate`` and ``expiry_rate`` (of everything earned),
        ``expiring`` (outstanding points whose expiry falls in the
        ``horizon_days`` after ``as_of``; NaN without expiry dates),
        ``members_with_points``.
    holders : pandas.DataFrame
        The ``top`` members with the most outstanding points (index named after
        ``customer_col``): ``balance``, ``earned``, ``redeemed``, ``expired``,
        ``expiring``, ``last_movement``, ``share_of_outstanding``.
    as_of : pandas.Timestamp
        The observation time.
    """

    balance: pd.DataFrame
    overall: pd.Series
    holders: pd.DataFrame
    as_of: pd.Timestamp


def points_liability(
    points: pd.DataFrame,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] = "M",
    as_of: Any = None,
    top: int = 20,
    expire_days: int | None = None,
    horizon_days: int = 30,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = "points_time",
    points_col: str = "points",
    movement_col: str = "movement",
    expire_col: str = "expire_time",
) -> PointsLiability:
    """Outstanding points over time, redemption, expiring points and the largest holders.

    Parameters
    ----------
    points : pandas.DataFrame
        A points ledger (``crm.io.read_points``): one row per movement with signed
        points. ``movement`` (``earned``, ``redeemed``, ``expired``, ``adjusted``)
        splits the flows; without it positive points are earned and negative ones
        redeemed.
    period : {"D", "W", "M", "Q", "Y"}, default="M"
        Periods of ``balance``.
    as_of : datetime-like, optional
        End of the ledger read (default its latest movement; never the clock).
    top : int, default=20
        Number of members in ``holders``.
    expire_days : int, optional
        Points expire this many days after they are earned (used when the ledger
        has no ``expire_col``).
    horizon_days : int, default=30
        Window after ``as_of`` for ``expiring``.
    customer_col, time_col, points_col, movement_col, expire_col : str
        Columns of ``points``.

    Returns
    -------
    PointsLiability
        ``balance``, ``overall``, ``holders``, ``as_of``.

    Notes
    -----
    Expiring points follow first-in, first-out: what a member redeemed, lost to
    expiry or had deducted used up their oldest points first, and what remains of
    each grant expires on its date.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> ledger = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "a"],
    ...     "points_time": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10",
    ...                                    "2024-03-01"]),
    ...     "points": [100.0, -30.0, 50.0, -20.0],
    ...     "movement": ["earned", "redeemed", "earned", "expired"],
    ... })
    >>> result = crm.loyalty.points_liability(ledger)
    >>> result.balance
             earned  redeemed  expired  adjusted   net  balance  redemption_rate
    period
    2024-01   100.0       0.0      0.0       0.0 100.0    100.0              0.0
    2024-02    50.0      30.0      0.0       0.0  20.0    120.0              0.6
    2024-03     0.0       0.0     20.0       0.0 -20.0    100.0              NaN
    >>> result.holders[["balance", "earned", "redeemed", "share_of_outstanding"]]
                 balance  earned  redeemed  share_of_outstanding
    customer_id
    a               50.0   100.0      30.0                   0.5
    b               50.0    50.0       0.0                   0.5
    """
    caller = "points_liability"
    check_choice(period, _PERIODS, name="period", caller=caller)
    if not isinstance(points, pd.DataFrame):
        raise InvalidDataError(
            f"{caller}: `points` must be a pandas DataFrame, got {type(points).__name__}."
        )
    check_columns(
        list(points.columns),
        {"customer_col": customer_col, "time_col": time_col, "points_col": points_col},
        caller=caller,
        frame_name="points",
    )
    check_datetime_dtype(points[time_col].dtype, time_col, caller=caller, frame_name="points")
    values = points[points_col]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InvalidDataError(
            f"{caller}: column {points_col!r} must be numeric, got {values.dtype} "
            f"(e.g. {example_values(values.tolist(), 2)}).\nLoad with crm.io.read_points(path), "
            f"or convert first: points[{points_col!r}] = pd.to_numeric(points[{points_col!r}])."
        )
    if not (isinstance(top, (int, np.integer)) and top >= 1):
        raise InvalidDataError(f"{caller}: top must be a positive integer, got {top!r}.")
    time = points[time_col].to_numpy(dtype="datetime64[ns]")
    ok = ~np.isnat(time)
    as_of_ts = (
        to_timestamp(as_of, caller=caller, name="as_of")
        if as_of is not None
        else pd.Timestamp(time[ok].max())
        if ok.any()
        else None
    )
    if as_of_ts is None:
        raise InvalidDataError(f"{caller}: `points` has no rows with a {time_col!r}.")
    keep = ok & (time <= as_of_ts.to_datetime64())
    pts = np.nan_to_num(values.to_numpy(dtype="float64", na_value=np.nan))[keep]
    if movement_col in points.columns:
        move = (
            points[movement_col]
            .astype("string")
            .str.lower()
            .to_numpy(dtype=object, na_value=None)[keep]
        )
        known = np.isin(move, ["earned", "redeemed", "expired", "adjusted"])
        move = np.where(known, move, np.where(pts < 0, "redeemed", "earned"))
    else:
        move = np.where(pts < 0, "redeemed", "earned")
    flows = pd.DataFrame(
        {
            "customer": points[customer_col].to_numpy()[keep],
            "time": time[keep],
            "earned": np.where(move == "earned", pts, 0.0),
            "redeemed": np.where(move == "redeemed", -pts, 0.0),
            "expired": np.where(move == "expired", -pts, 0.0),
            "adjusted": np.where(move == "adjusted", pts, 0.0),
            "points": pts,
        }
    )
    label = pd.Series(flows["time"]).dt.to_period(period)
    cols = ["earned", "redeemed", "expired", "adjusted"]
    per = flows[cols].groupby(label.to_numpy()).sum()
    if len(per):
        span = pd.period_range(per.index.min(), as_of_ts.to_period(period), freq=per.index.freq)
    else:
        span = pd.PeriodIndex([], freq=period)
    balance = per.reindex(span, fill_value=0.0).astype("float64")
    balance["net"] = (
        balance["earned"] - balance["redeemed"] - balance["expired"] + balance["adjusted"]
    )
    balance["balance"] = balance["net"].cumsum()
    balance["redemption_rate"] = balance["redeemed"] / balance["earned"].where(
        balance["earned"] > 0
    )
    balance.index = pd.PeriodIndex(balance.index, name="period")

    # per member and expiring points (first in, first out)
    by_member = flows.groupby("customer", sort=True).agg(
        earned=("earned", "sum"), redeemed=("redeemed", "sum"), expired=("expired", "sum"),
        balance=("points", "sum"), last_movement=("time", "max"),
    )  # fmt: skip
    expiring_total = np.nan
    by_member["expiring"] = np.nan
    expire = None
    if expire_col in points.columns:
        expire = points[expire_col].to_numpy(dtype="datetime64[ns]")[keep]
    elif expire_days is not None:
        expire = time[keep] + np.timedelta64(int(expire_days), "D")
    if expire is not None:
        lots = flows.assign(expire=expire)
        lots = lots.sort_values(["customer", "time"], kind="stable")
        grant = lots["points"].clip(lower=0)
        used = (-lots["points"].clip(upper=0)).groupby(lots["customer"]).transform("sum")
        cum = grant.groupby(lots["customer"]).cumsum()
        remaining = np.clip(cum - used, 0, None).clip(upper=grant)
        horizon = as_of_ts + pd.Timedelta(days=int(horizon_days))
        soon = (lots["expire"] > as_of_ts) & (lots["expire"] <= horizon)
        expiring = remaining.where(soon, 0.0).groupby(lots["customer"]).sum()
        by_member["expiring"] = expiring.reindex(by_member.index).fillna(0.0)
        expiring_total = float(expiring.sum())
    outstanding = float(balance["balance"].iloc[-1]) if len(balance) else 0.0
    earned_total = float(balance["earned"].sum())
    overall = pd.Series(
        {
            "earned": earned_total,
            "redeemed": float(balance["redeemed"].sum()),
            "expired": float(balance["expired"].sum()),
            "adjusted": float(balance["adjusted"].sum()),
            "outstanding": outstanding,
            "redemption_rate": float(balance["redeemed"].sum()) / earned_total
            if earned_total > 0
            else np.nan,
            "expiry_rate": float(balance["expired"].sum()) / earned_total
            if earned_total > 0
            else np.nan,
            "expiring": expiring_total,
            "members_with_points": float((by_member["balance"] > 0).sum()),
        },
        name="points",
    )
    holders = by_member[by_member["balance"] > 0]
    holders = holders.sort_values("balance", ascending=False, kind="stable").head(int(top))
    positive = by_member["balance"].clip(lower=0).sum()
    holders = holders[["balance", "earned", "redeemed", "expired", "expiring", "last_movement"]]
    holders = holders.assign(
        share_of_outstanding=holders["balance"] / positive if positive > 0 else np.nan
    )
    holders.index.name = customer_col
    return PointsLiability(balance=balance, overall=overall, holders=holders, as_of=as_of_ts)
