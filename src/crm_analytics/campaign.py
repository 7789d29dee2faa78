"""Campaign measurement: response funnel, uplift against a control group, ROI, and the
recovery of unpaid orders (订单催付).

A campaign table has one row per targeted customer and campaign: ``customer_id``,
``campaign_id``, ``group`` (``"treatment"`` or ``"control"``), ``sent_time`` and, when
known, ``opened_time``, ``clicked_time`` and a per-row ``cost`` (``crm.read_campaign``
loads such exports). Control rows are never sent a message, so their ``sent_time`` is
empty: their response window starts at the campaign's start, the first ``sent_time``
of the campaign. A treated customer's window starts at their own ``sent_time`` (or the
campaign's start when it is missing) and lasts ``window_days``. A customer responded
when they made a purchase (status ``paid``, valued at ``amount - refund_amount``) in
their window.

Only a comparison with a control group measures what a campaign *caused*: purchases
of treated customers would partly have happened anyway. :func:`uplift` and
:func:`roi` therefore compare the two groups; without a control group, :func:`roi`
reports the attributed revenue and says it is not incremental.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import schema
from ._validation import (
    check_choice,
    check_columns,
    check_datetime_dtype,
    example_values,
    warn_external,
)
from .exceptions import InvalidDataError, StatisticalWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["response_funnel", "roi", "unpaid_recovery", "uplift"]

TREATMENT = "treatment"
CONTROL = "control"
_GROUPS = (TREATMENT, CONTROL)
_MIN_GROUP = 20


# ------------------------------------------------------------------------------------
# responses per targeted customer
# ------------------------------------------------------------------------------------
def _responses(
    campaign: Any,
    orders: Any,
    *,
    window_days: float,
    caller: str,
    customer_col: str,
    campaign_col: str,
    group_col: str,
    sent_col: str,
    opened_col: str,
    clicked_col: str,
    time_col: str,
    amount_col: str,
    order_col: str,
    status_col: str | None,
    refund_col: str | None,
) -> pd.DataFrame:
    """One row per campaign row: campaign, group, sent/opened/clicked, orders, revenue."""
    import pandas as pd

    from .kpi import _naive, _to_pandas

    if not (isinstance(window_days, (int, float)) and window_days > 0):
        raise InvalidDataError(
            f"{caller}: window_days must be a positive number of days, got {window_days!r}."
        )
    camp = _to_pandas(campaign, caller=caller)
    check_columns(
        list(camp.columns),
        {"customer_col": customer_col, "campaign_col": campaign_col, "sent_col": sent_col},
        caller=caller,
        frame_name="campaign",
    )
    orders = _to_pandas(orders, caller=caller)
    check_columns(
        list(orders.columns),
        {
            "customer_col": customer_col,
            "time_col": time_col,
            "amount_col": amount_col,
            "order_col": order_col,
        },
        caller=caller,
    )
    check_datetime_dtype(orders[time_col].dtype, time_col, caller=caller)
    n = len(camp)
    if n == 0:
        raise InvalidDataError(f"{caller}: `campaign` has no rows.")
    if group_col in camp.columns:
        group = camp[group_col].astype("string").str.strip().str.lower()
        bad = ~group.isin(_GROUPS).to_numpy(dtype=bool, na_value=False)
        if bad.any():
            raise InvalidDataError(
                f"{caller}: column {group_col!r} must hold 'treatment' or 'control'; "
                f"{int(bad.sum())} rows hold other values, e.g. "
                f"{example_values(camp.loc[bad, group_col].tolist())}.\nHint: map them first, "
                f"e.g. campaign[{group_col!r}] = campaign[{group_col!r}].map("
                "{'test': 'treatment', 'holdout': 'control'}), or load the export with "
                "crm.read_campaign(path)."
            )
        group_values = group.to_numpy(dtype=object)
    else:
        group_values = np.full(n, TREATMENT, dtype=object)
    times: dict[str, pd.Series] = {}
    for role, col in (("sent", sent_col), ("opened", opened_col), ("clicked", clicked_col)):
        if col in camp.columns:
            _check_campaign_time(camp[col], col, caller)
            times[role] = _naive(camp[col]).reset_index(drop=True)
        else:
            times[role] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    rows = pd.DataFrame(
        {
            "campaign": camp[campaign_col].astype("string").to_numpy(dtype=object),
            "customer": camp[customer_col].astype("string").to_numpy(dtype=object),
            "group": group_values,
            "sent_time": times["sent"].to_numpy(),
            "sent": times["sent"].notna().to_numpy(),
            "opened": times["opened"].notna().to_numpy(),
            "clicked": times["clicked"].notna().to_numpy(),
        }
    )
    if "cost" in camp.columns:
        rows["cost"] = pd.to_numeric(camp["cost"], errors="coerce").fillna(0.0).to_numpy()
    dup = rows.duplicated(["campaign", "customer"], keep=False).to_numpy()
    if dup.any():
        example = rows.loc[dup, ["campaign", "customer"]].iloc[0].tolist()
        raise InvalidDataError(
            f"{caller}: {int(dup.sum())} campaign rows repeat a (campaign, customer) pair, e.g. "
            f"{example}; each customer must be in one group per campaign.\n"
            f"Hint: campaign.drop_duplicates([{campaign_col!r}, {customer_col!r}])."
        )
    start = rows.groupby("campaign", sort=False)["sent_time"].transform("min")
    no_start = start.isna().to_numpy()
    if no_start.any():
        raise InvalidDataError(
            f"{caller}: campaign {rows.loc[no_start, 'campaign'].iloc[0]!r} has no "
            f"{sent_col!r} at all, so its start (and the control group's window) is unknown.\n"
            f"Hint: fill {sent_col!r} for the treated rows, or set it for every row to the "
            "campaign's start."
        )
    rows["start"] = rows["sent_time"].fillna(start)
    window = pd.Timedelta(days=float(window_days))

    # purchases of the targeted customers inside the span of every window
    time = _naive(orders[time_col])
    amount = orders[amount_col].to_numpy(dtype="float64", na_value=np.nan)
    refund = (
        orders[refund_col].to_numpy(dtype="float64", na_value=np.nan)
        if refund_col is not None and refund_col in orders.columns
        else np.zeros(len(orders))
    )
    amount, refund = np.nan_to_num(amount), np.nan_to_num(refund)
    purchase = ~((refund > 0) & (refund >= amount))
    if status_col is not None and status_col in orders.columns:
        purchase &= (orders[status_col].astype("string") == schema.PAID).to_numpy(
            dtype=bool, na_value=False
        )
    purchase &= (time >= rows["start"].min()).to_numpy() & (
        time < rows["start"].max() + window
    ).to_numpy()
    customers = orders[customer_col].astype("string")
    purchase &= customers.isin(rows["customer"].unique()).to_numpy(dtype=bool, na_value=False)
    bought = pd.DataFrame(
        {
            "customer": customers.to_numpy(dtype=object)[purchase],
            "order": orders[order_col].astype("string").to_numpy(dtype=object)[purchase],
            "time": time.to_numpy()[purchase],
            "net": (amount - refund)[purchase],
        }
    )
    pairs = rows[["customer", "start"]].reset_index().merge(bought, on="customer", how="inner")
    inside = (pairs["time"] >= pairs["start"]) & (pairs["time"] < pairs["start"] + window)
    pairs = pairs[inside.to_numpy()]
    per_row = pairs.groupby("index").agg(orders=("order", "nunique"), revenue=("net", "sum"))
    rows["orders"] = per_row["orders"].reindex(rows.index, fill_value=0).to_numpy(dtype="int64")
    rows["revenue"] = per_row["revenue"].reindex(rows.index, fill_value=0.0).to_numpy()
    rows["purchased"] = rows["orders"] > 0
    rows.attrs["campaign_col"] = campaign_col
    return rows


def _check_campaign_time(values: pd.Series, col: str, caller: str) -> None:
    import pandas as pd

    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        raise InvalidDataError(
            f"{caller}: column {col!r} must be datetime64, got {values.dtype}.\n"
            f"Load with crm.read_campaign(path), or parse first: "
            f"campaign[{col!r}] = pd.to_datetime(campaign[{col!r}], format='mixed')."
        )


def _keywords(**kw: Any) -> dict[str, Any]:
    return kw


# ------------------------------------------------------------------------------------
# public functions
# ------------------------------------------------------------------------------------
def response_funnel(
    campaign: Any,
    orders: Any,
    *,
    window_days: float = 7,
    customer_col: str = schema.CUSTOMER_ID,
    campaign_col: str = "campaign_id",
    group_col: str = "group",
    sent_col: str = "sent_time",
    opened_col: str = "opened_time",
    clicked_col: str = "clicked_time",
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Response funnel per campaign and group: sent, opened, clicked, purchased, revenue.

    Parameters
    ----------
    campaign : DataFrame
        One row per targeted customer and campaign (see the module docstring).
    orders : DataFrame
        Canonical orders.
    window_days : float, default=7
        Length of each customer's response window, from their ``sent_time`` (the
        campaign's start for the control group).
    customer_col, campaign_col, group_col, sent_col, opened_col, clicked_col, time_col, amount_col, order_col, status_col, refund_col : str
        Column names (canonical defaults).

    Returns
    -------
    pandas.DataFrame
        Indexed by (``campaign_col``, ``group``), with columns ``customers`` (rows in
        the group), ``sent``, ``opened``, ``clicked``, ``purchased`` (customers with a
        purchase in their window), ``orders``, ``revenue`` (net), and the step rates
        ``open_rate`` (opened / sent), ``click_rate`` (clicked / opened),
        ``purchase_rate`` (purchased / customers) and ``revenue_per_customer``.
        Rates with a zero denominator are NaN (a control group is never sent).

    Raises
    ------
    ColumnNotFoundError
        A named column is missing.
    InvalidDataError
        Time columns that are not datetime64, group values other than treatment /
        control, a customer twice in one campaign, or a campaign without any
        ``sent_time``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> campaign = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "d"],
    ...     "campaign_id": "C1",
    ...     "group": ["treatment", "treatment", "treatment", "control"],
    ...     "sent_time": pd.to_datetime(["2024-05-01 10:00"] * 3 + [None]),
    ...     "opened_time": pd.to_datetime(["2024-05-01 11:00", "2024-05-01 12:00", None, None]),
    ...     "clicked_time": pd.to_datetime(["2024-05-01 11:01", None, None, None]),
    ... })
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"],
    ...     "customer_id": ["a", "b", "d"],
    ...     "order_time": pd.to_datetime(["2024-05-02", "2024-05-20", "2024-05-03"]),
    ...     "amount": [99.0, 50.0, 30.0],
    ...     "status": "paid",
    ... })
    >>> crm.campaign.response_funnel(campaign, orders, window_days=7)
                           customers  sent  opened  clicked  purchased  orders  revenue  open_rate  click_rate  purchase_rate  revenue_per_customer
    campaign_id group
    C1          control            1     0       0        0          1       1     30.0        NaN         NaN       1.000000                  30.0
                treatment          3     3       2        1          1       1     99.0   0.666667         0.5       0.333333                  33.0
    """
    import pandas as pd

    rows = _responses(
        campaign,
        orders,
        window_days=window_days,
        caller="response_funnel",
        **_keywords(
            customer_col=customer_col, campaign_col=campaign_col, group_col=group_col,
            sent_col=sent_col, opened_col=opened_col, clicked_col=clicked_col,
            time_col=time_col, amount_col=amount_col, order_col=order_col,
            status_col=status_col, refund_col=refund_col,
        ),
    )  # fmt: skip
    grouped = rows.groupby(["campaign", "group"], sort=True)
    out = grouped.agg(
        customers=("customer", "size"),
        sent=("sent", "sum"),
        opened=("opened", "sum"),
        clicked=("clicked", "sum"),
        purchased=("purchased", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
    )
    out = out.astype(
        {c: "int64" for c in ("customers", "sent", "opened", "clicked", "purchased", "orders")}
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["open_rate"] = _rate(out["opened"], out["sent"])
        out["click_rate"] = _rate(out["clicked"], out["opened"])
        out["purchase_rate"] = _rate(out["purchased"], out["customers"])
        out["revenue_per_customer"] = _rate(out["revenue"], out["customers"])
    out.index = pd.MultiIndex.from_arrays(
        [out.index.get_level_values(0).astype(object), out.index.get_level_values(1)],
        names=[campaign_col, "group"],
    )
    return out


def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype("float64")


def uplift(
    campaign: Any,
    orders: Any,
    *,
    window_days: float = 7,
    metric: Literal["conversion", "revenue"] = "conversion",
    test: Literal["welch", "bootstrap"] = "welch",
    confidence: float = 0.95,
    n_boot: int = 2000,
    random_state: int | None = 0,
    customer_col: str = schema.CUSTOMER_ID,
    campaign_col: str = "campaign_id",
    group_col: str = "group",
    sent_col: str = "sent_time",
    opened_col: str = "opened_time",
    clicked_col: str = "clicked_time",
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Treatment vs control: absolute and relative uplift with a confidence interval.

    Parameters
    ----------
    campaign, orders, window_days
        As in :func:`response_funnel`.
    metric : {"conversion", "revenue"}, default="conversion"
        ``"conversion"``: share of customers with a purchase in their window;
        ``"revenue"``: net revenue per customer in the window (0 for non-buyers).
    test : {"welch", "bootstrap"}, default="welch"
        For ``metric="revenue"``: Welch's t interval and test, or a percentile
        bootstrap (``n_boot`` resamples of each group; the p-value is twice the
        smaller share of resampled uplifts on either side of 0). Conversion always
        uses the two-proportion test.
    confidence : float, default=0.95
        Confidence level of the interval.
    n_boot : int, default=2000
        Bootstrap resamples.
    random_state : int or None, default=0
        Seed of the bootstrap.
    customer_col, campaign_col, group_col, sent_col, opened_col, clicked_col, time_col, amount_col, order_col, status_col, refund_col : str
        Column names (canonical defaults).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``campaign_col``, with columns ``metric``, ``treatment_customers``,
        ``control_customers``, ``treatment`` and ``control`` (the groups' conversion
        rates or revenue per customer), ``uplift`` (treatment - control), ``ci_low``,
        ``ci_high``, ``relative_uplift`` (uplift / control; NaN when control is 0),
        ``p_value``, ``incremental_orders`` and ``incremental_revenue`` (the
        treatment group's orders and revenue minus what the control group's rates
        predict for that many customers).

    Notes
    -----
    Conversion: the interval is Newcombe's hybrid score interval for a difference
    of proportions (built from the two Wilson intervals; it behaves well with few
    buyers, unlike the Wald interval) and the p-value is the two-sided pooled
    two-proportion z test. Revenue: Welch's unequal-variance t test, or the
    bootstrap. A ``StatisticalWarning`` is issued when a group has fewer than 20
    customers.

    Raises
    ------
    InvalidDataError
        A campaign without a control (or treatment) group, or an unknown ``metric``.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between
    independent proportions: comparison of eleven methods. Statistics in Medicine
    17(8), 873-890.

    Examples
    --------
    The sample shop's win-back campaign, 30 days after sending:

    >>> import crm_analytics as crm
    >>> orders = crm.datasets.load_sample()
    >>> campaign = crm.datasets.load_sample_campaign()
    >>> result = crm.campaign.uplift(campaign, orders, window_days=30)
    >>> result[["treatment", "control", "uplift", "ci_low", "ci_high", "p_value"]].round(4)
                 treatment  control  uplift  ci_low  ci_high  p_value
    campaign_id
    WB202408        0.0776    0.007  0.0706  0.0538   0.0862      0.0
    """
    caller = "uplift"
    check_choice(metric, ("conversion", "revenue"), name="metric", caller=caller)
    check_choice(test, ("welch", "bootstrap"), name="test", caller=caller)
    if not 0 < confidence < 1:
        raise InvalidDataError(f"{caller}: confidence must be in (0, 1), got {confidence!r}.")
    import pandas as pd
    from scipy import stats

    rows = _responses(
        campaign,
        orders,
        window_days=window_days,
        caller=caller,
        **_keywords(
            customer_col=customer_col, campaign_col=campaign_col, group_col=group_col,
            sent_col=sent_col, opened_col=opened_col, clicked_col=clicked_col,
            time_col=time_col, amount_col=amount_col, order_col=order_col,
            status_col=status_col, refund_col=refund_col,
        ),
    )  # fmt: skip
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    records = []
    rng = np.random.default_rng(random_state)
    for name, part in rows.groupby("campaign", sort=True):
        t = part[part["group"] == TREATMENT]
        c = part[part["group"] == CONTROL]
        _need_groups(str(name), len(t), len(c), caller)
        n1, n0 = len(t), len(c)
        if min(n1, n0) < _MIN_GROUP:
            warn_external(
                f"{caller}: campaign {name!r} has {n1} treated and {n0} control customers; "
                f"with fewer than {_MIN_GROUP} in a group the interval is very wide.",
                StatisticalWarning,
            )
        if metric == "conversion":
            x1, x0 = float(t["purchased"].sum()), float(c["purchased"].sum())
            p1, p0 = x1 / n1, x0 / n0
            low, high = _newcombe(x1, n1, x0, n0, z)
            pooled = (x1 + x0) / (n1 + n0)
            se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
            p_value = float(2 * stats.norm.sf(abs(p1 - p0) / se)) if se > 0 else 1.0
            value1, value0 = p1, p0
        else:
            r1 = t["revenue"].to_numpy(dtype="float64")
            r0 = c["revenue"].to_numpy(dtype="float64")
            value1, value0 = float(r1.mean()), float(r0.mean())
            if test == "welch":
                low, high, p_value = _welch(r1, r0, confidence, stats)
            else:
                low, high, p_value = _bootstrap(r1, r0, confidence, n_boot, rng)
        diff = value1 - value0
        orders_rate = t["orders"].sum() / n1 - c["orders"].sum() / n0
        revenue_rate = t["revenue"].sum() / n1 - c["revenue"].sum() / n0
        records.append(
            {
                campaign_col: name,
                "metric": metric,
                "treatment_customers": n1,
                "control_customers": n0,
                "treatment": value1,
                "control": value0,
                "uplift": diff,
                "ci_low": low,
                "ci_high": high,
                "relative_uplift": diff / value0 if value0 != 0 else np.nan,
                "p_value": p_value,
                "incremental_orders": float(orders_rate * n1),
                "incremental_revenue": float(revenue_rate * n1),
            }
        )
    out = pd.DataFrame.from_records(records).set_index(campaign_col)
    out.index = out.index.astype(object)
    return out


def _need_groups(name: str, n_treated: int, n_control: int, caller: str) -> None:
    if n_control == 0:
        raise InvalidDataError(
            f"{caller}: campaign {name!r} has no control group, so its uplift cannot be "
            "measured (the treated customers' purchases would partly have happened anyway).\n"
            "Hint: hold out a random share of the target list as 'control'; "
            "crm.campaign.response_funnel shows the attributed (not incremental) responses."
        )
    if n_treated == 0:
        raise InvalidDataError(
            f"{caller}: campaign {name!r} has no treatment rows. "
            "Hint: check the group column's values."
        )


def _wilson(x: float, n: int, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _newcombe(x1: float, n1: int, x0: float, n0: int, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p0."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = _wilson(x1, n1, z)
    l0, u0 = _wilson(x0, n0, z)
    d = p1 - p0
    return (
        float(d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)),
        float(d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)),
    )


def _welch(r1: np.ndarray, r0: np.ndarray, confidence: float, stats: Any) -> tuple[float, ...]:
    n1, n0 = len(r1), len(r0)
    v1 = r1.var(ddof=1) / n1 if n1 > 1 else 0.0
    v0 = r0.var(ddof=1) / n0 if n0 > 1 else 0.0
    se = float(np.sqrt(v1 + v0))
    diff = float(r1.mean() - r0.mean())
    if se == 0:
        return diff, diff, 1.0 if diff == 0 else 0.0
    df = (v1 + v0) ** 2 / (
        (v1**2 / (n1 - 1) if n1 > 1 else 0.0) + (v0**2 / (n0 - 1) if n0 > 1 else 0.0)
    )
    q = float(stats.t.ppf(0.5 + confidence / 2, df))
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    return diff - q * se, diff + q * se, p_value


def _bootstrap(
    r1: np.ndarray, r0: np.ndarray, confidence: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, ...]:
    diffs = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(len(r1) + len(r0), 1))
    for lo in range(0, n_boot, chunk):  # chunks of resamples, vectorised within
        k = min(chunk, n_boot - lo)
        m1 = r1[rng.integers(0, len(r1), (k, len(r1)))].mean(axis=1)
        m0 = r0[rng.integers(0, len(r0), (k, len(r0)))].mean(axis=1)
        diffs[lo : lo + k] = m1 - m0
    alpha = 1 - confidence
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p_value = min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean()))
    return float(low), float(high), float(p_value)


def roi(
    campaign: Any,
    orders: Any,
    *,
    window_days: float = 7,
    margin: float = 1.0,
    cost_per_message: float | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    campaign_col: str = "campaign_id",
    group_col: str = "group",
    sent_col: str = "sent_time",
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """Return on a campaign's cost: incremental profit against the control group.

    Parameters
    ----------
    campaign, orders, window_days
        As in :func:`response_funnel`.
    margin : float, default=1.0
        Profit per unit of revenue (0.3 for a 30% gross margin); 1.0 treats revenue as
        profit.
    cost_per_message : float, optional
        Cost of each sent message. Default: the sum of the campaign's ``cost`` column.
    customer_col, campaign_col, group_col, sent_col, time_col, amount_col, order_col, status_col, refund_col : str
        Column names (canonical defaults).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``campaign_col``, with columns ``sent``, ``cost``,
        ``attributed_orders`` and ``attributed_revenue`` (the treated customers'
        purchases in their window), ``incremental_revenue`` (attributed minus what the
        control group's revenue per customer predicts), ``incremental_profit``
        (incremental revenue × margin), ``net_profit`` (incremental profit - cost) and
        ``roi`` (net_profit / cost: 0 means the campaign paid for itself).
        Without a control group the incremental columns are NaN, with a
        ``StatisticalWarning``: attributed revenue is not caused revenue.

    Raises
    ------
    InvalidDataError
        No cost (neither ``cost_per_message`` nor a ``cost`` column), or a negative
        margin or cost.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> orders = crm.datasets.load_sample()
    >>> campaign = crm.datasets.load_sample_campaign()
    >>> r = crm.campaign.roi(campaign, orders, window_days=30, margin=0.4, cost_per_message=0.5)
    >>> r[["sent", "cost", "attributed_revenue", "incremental_revenue", "net_profit", "roi"]].round(1)
                 sent   cost  attributed_revenue  incremental_revenue  net_profit  roi
    campaign_id
    WB202408     1430  715.0             21017.0              19017.8      6892.1  9.6
    """
    caller = "roi"
    import pandas as pd

    if margin < 0:
        raise InvalidDataError(f"{caller}: margin must be >= 0 (a share of revenue), got {margin}.")
    if cost_per_message is not None and cost_per_message < 0:
        raise InvalidDataError(f"{caller}: cost_per_message must be >= 0, got {cost_per_message}.")
    rows = _responses(
        campaign,
        orders,
        window_days=window_days,
        caller=caller,
        **_keywords(
            customer_col=customer_col, campaign_col=campaign_col, group_col=group_col,
            sent_col=sent_col, opened_col="opened_time", clicked_col="clicked_time",
            time_col=time_col, amount_col=amount_col, order_col=order_col,
            status_col=status_col, refund_col=refund_col,
        ),
    )  # fmt: skip
    if cost_per_message is None and "cost" not in rows.columns:
        raise InvalidDataError(
            f"{caller}: no cost: the campaign has no 'cost' column and cost_per_message was "
            "not given.\nHint: roi(campaign, orders, cost_per_message=0.05) for 0.05 per "
            "message sent."
        )
    records = []
    for name, part in rows.groupby("campaign", sort=True):
        t = part[part["group"] == TREATMENT]
        c = part[part["group"] == CONTROL]
        sent = int(part["sent"].sum())
        cost = sent * cost_per_message if cost_per_message is not None else part["cost"].sum()
        attributed = float(t["revenue"].sum())
        if len(c) == 0:
            warn_external(
                f"{caller}: campaign {name!r} has no control group: its attributed revenue "
                f"({attributed:,.2f}) includes purchases that would have happened anyway, so "
                "it is not reported as incremental (incremental columns are NaN). Hold out a "
                "control group to measure the campaign's effect.",
                StatisticalWarning,
            )
            incremental = np.nan
        else:
            incremental = attributed - c["revenue"].mean() * len(t)
        profit = incremental * margin
        records.append(
            {
                campaign_col: name,
                "sent": sent,
                "cost": float(cost),
                "attributed_orders": int(t["orders"].sum()),
                "attributed_revenue": attributed,
                "incremental_revenue": incremental,
                "incremental_profit": profit,
                "net_profit": profit - cost,
                "roi": (profit - cost) / cost if cost > 0 else np.nan,
            }
        )
    out = pd.DataFrame.from_records(records).set_index(campaign_col)
    out.index = out.index.astype(object)
    return out


def unpaid_recovery(
    orders: Any,
    *,
    within_hours: float = 72,
    period: Literal["D", "W", "M", "Q", "Y"] | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str = schema.STATUS,
    item_col: str | None = schema.PRODUCT_ID,
    paid_time_col: str | None = schema.PAID_TIME,
) -> pd.DataFrame:
    """Share of unpaid orders (拍下未付款) that were paid later, and how fast.

    An unpaid order is recovered when, within ``within_hours`` of being placed, the
    same order id was paid (a later export lists it as paid) or the same customer
    paid another order with at least one of the same items (``item_col``; any order
    of the customer when there is no item column). That is the measure behind
    order-payment reminders (订单催付).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders, with unpaid ones.
    within_hours : float, default=72
        How long after placing an unpaid order a payment still counts as recovery.
    period : {"D", "W", "M", "Q", "Y"}, optional
        Split by the period of the unpaid order; default one row for everything.
    customer_col, time_col, amount_col, order_col, status_col : str
        Column names (canonical defaults).
    item_col : str or None, default="product_id"
        Item column used to match the paying order (None or absent: any order).
    paid_time_col : str or None, default="paid_time"
        When the paying order was paid (None or absent: its order time).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (``"all"`` without ``period``), with columns
        ``unpaid_orders``, ``recovered_orders``, ``recovery_rate``, ``unpaid_amount``
        (money in the unpaid orders), ``recovered_amount`` (of those recovered),
        ``median_hours_to_pay`` and ``mean_hours_to_pay`` (from placing the unpaid
        order to paying, among the recovered).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["u1", "p1", "u2", "u3", "p3"],
    ...     "customer_id": ["ann", "ann", "bob", "cat", "cat"],
    ...     "order_time": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:20",
    ...                                   "2024-05-02 09:00", "2024-05-03 08:00",
    ...                                   "2024-05-09 08:00"]),
    ...     "amount": [59.0, 59.0, 20.0, 35.0, 35.0],
    ...     "status": ["unpaid", "paid", "unpaid", "unpaid", "paid"],
    ...     "product_id": ["tea", "tea", "nuts", "soap", "soap"],
    ... })
    >>> crm.campaign.unpaid_recovery(orders)
            unpaid_orders  recovered_orders  recovery_rate  unpaid_amount  recovered_amount  median_hours_to_pay  mean_hours_to_pay
    period
    all                 3                 1       0.333333          114.0              59.0             0.333333           0.333333
    """
    caller = "unpaid_recovery"
    import pandas as pd

    from .kpi import _naive, _to_pandas

    if not (isinstance(within_hours, (int, float)) and within_hours > 0):
        raise InvalidDataError(f"{caller}: within_hours must be positive, got {within_hours!r}.")
    if period is not None:
        check_choice(period, ("D", "W", "M", "Q", "Y"), name="period", caller=caller)
    frame = _to_pandas(orders, caller=caller)
    check_columns(
        list(frame.columns),
        {
            "customer_col": customer_col,
            "time_col": time_col,
            "amount_col": amount_col,
            "order_col": order_col,
            "status_col": status_col,
        },
        caller=caller,
    )
    check_datetime_dtype(frame[time_col].dtype, time_col, caller=caller)
    status = frame[status_col].astype("string")
    unpaid = (status == schema.UNPAID).to_numpy(dtype=bool, na_value=False)
    was_paid = status.isin([schema.PAID, schema.REFUNDED]).to_numpy(dtype=bool, na_value=False)
    time = _naive(frame[time_col])
    pay_time = time
    if paid_time_col is not None and paid_time_col in frame.columns:
        pay_time = _naive(frame[paid_time_col]).fillna(time)
    has_items = item_col is not None and item_col in frame.columns
    lines = pd.DataFrame(
        {
            "order": frame[order_col].astype("string").to_numpy(dtype=object),
            "customer": frame[customer_col].astype("string").to_numpy(dtype=object),
            "time": time.to_numpy(),
            "pay_time": pay_time.to_numpy(),
            "amount": np.nan_to_num(frame[amount_col].to_numpy(dtype="float64", na_value=np.nan)),
            "item": (frame[item_col].astype("string").to_numpy(dtype=object) if has_items else ""),
        }
    )
    u = lines[unpaid]
    p = lines[was_paid]
    per_order = u.groupby("order", sort=True).agg(
        customer=("customer", "first"), time=("time", "min"), amount=("amount", "sum")
    )
    limit = pd.Timedelta(hours=float(within_hours))
    # (a) the same order id paid later; (b) the same customer paid the same items later
    same_id = per_order[["time"]].merge(
        p[["order", "pay_time"]], left_index=True, right_on="order", how="inner"
    )
    same_id = same_id.rename(columns={"order": "unpaid"})[["unpaid", "time", "pay_time"]]
    keys = ["customer", "item"]
    u_lines = u[["order", *keys]].drop_duplicates()
    u_lines = u_lines.assign(time=per_order["time"].reindex(u_lines["order"]).to_numpy())
    p_lines = p[["order", "time", "pay_time", *keys]].rename(
        columns={"order": "paid_order", "time": "paid_order_time"}
    )
    matched = u_lines.merge(p_lines, on=keys, how="inner")
    matched = matched[
        (matched["paid_order_time"] > matched["time"]) & (matched["paid_order"] != matched["order"])
    ]
    again = matched.rename(columns={"order": "unpaid"})[["unpaid", "time", "pay_time"]]
    candidates = pd.concat([same_id, again], ignore_index=True)
    candidates = candidates[
        (candidates["pay_time"] >= candidates["time"])
        & (candidates["pay_time"] <= candidates["time"] + limit)
    ]
    first_pay = candidates.groupby("unpaid")["pay_time"].min()
    per_order["paid_at"] = first_pay.reindex(per_order.index)
    per_order["recovered"] = per_order["paid_at"].notna()
    per_order["hours"] = (per_order["paid_at"] - per_order["time"]) / pd.Timedelta(hours=1)
    if period is None:
        label = pd.Series("all", index=per_order.index)
        index_name = "period"
    else:
        label = per_order["time"].dt.to_period(period)
        index_name = "period"
    per_order["recovered_amount"] = per_order["amount"].where(per_order["recovered"], 0.0)
    grouped = per_order.groupby(label.to_numpy(), sort=True)
    out = grouped.agg(
        unpaid_orders=("recovered", "size"),
        recovered_orders=("recovered", "sum"),
        unpaid_amount=("amount", "sum"),
        recovered_amount=("recovered_amount", "sum"),
        median_hours_to_pay=("hours", "median"),
        mean_hours_to_pay=("hours", "mean"),
    )
    out["recovered_orders"] = out["recovered_orders"].astype("int64")
    out.insert(2, "recovery_rate", out["recovered_orders"] / out["unpaid_orders"])
    out.index.name = index_name
    return out
