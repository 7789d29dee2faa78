"""Customer segmentation beyond RFM: lifecycle, value tiers, clusters, tags, profiles.

Every function here works on a customer summary (``crm.customer_summary``), an RFM table
(``crm.rfm_table``) or any frame of per-customer columns, indexed by the customer key,
and returns per-customer results indexed the same way (or per-segment tables).

- :func:`lifecycle`: new, active, at risk, dormant, churned (and potential customers who
  registered but never bought).
- :func:`value_tiers` and :func:`pareto`: A/B/C tiers by value, and the Pareto curve
  ("the top 20% of customers bring X% of revenue").
- :func:`cluster`: k-means on log-scaled, standardised features, profiled in the
  original units.
- :func:`tag`: customer tags from named rules written as safe expressions.
- :func:`profile`: what each segment buys (or who it is) compared with all customers.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import schema
from ._validation import check_choice, check_columns, example_values, nearest, warn_external
from .exceptions import ColumnNotFoundError, InvalidDataError, StatisticalWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "LIFECYCLE_STAGES",
    "Clusters",
    "cluster",
    "lifecycle",
    "pareto",
    "profile",
    "tag",
    "value_tiers",
]

#: Lifecycle stages in order.
LIFECYCLE_STAGES: tuple[str, ...] = ("new", "active", "at_risk", "dormant", "churned", "potential")


# --- shared checks -----------------------------------------------------------------------
def _need(
    frame: pd.DataFrame, cols: Sequence[str], *, caller: str, frame_name: str, hint: str
) -> None:
    present = list(frame.columns)
    for col in cols:
        if col not in present:
            guess = nearest(col, present)
            extra = f" Did you mean {guess!r}?" if guess else ""
            raise ColumnNotFoundError(
                f"{caller}: column {col!r} not found in `{frame_name}`.\n"
                f"Available columns: {present}.\nHint: {hint}{extra}"
            )


def _numeric(frame: pd.DataFrame, col: str, *, caller: str, frame_name: str) -> np.ndarray:
    """Column as float64, with an error naming bad (non-numeric or missing) rows."""
    import pandas as pd

    s = frame[col]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise InvalidDataError(
            f"{caller}: column {col!r} must be numeric, got {s.dtype} "
            f"(e.g. {example_values(s.to_numpy(), 1)}).\n"
            f"Convert it first: {frame_name}[{col!r}] = pd.to_numeric({frame_name}[{col!r}])."
        )
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidDataError(
            f"{caller}: column {col!r} has {int(bad.sum())} missing or infinite value(s) "
            f"in `{frame_name}` (e.g. customer {frame.index[bad][0]!r}). "
            f"Fill or drop those rows first."
        )
    return values


_SUMMARY_HINT = "pass the output of crm.customer_summary(orders)."


# --- lifecycle ---------------------------------------------------------------------------
def _auto_thresholds(summary: pd.DataFrame, caller: str) -> dict[str, int]:
    """Thresholds from the distribution of customers' mean days between purchases."""

    first = summary["first_purchase"].dt.normalize()
    last = summary["last_purchase"].dt.normalize()
    span = (last - first).dt.days.to_numpy(dtype="float64")
    if "frequency" in summary.columns and summary["frequency"].notna().all():
        repeats = summary["frequency"].to_numpy(dtype="float64")
    else:
        repeats = summary["n_orders"].to_numpy(dtype="float64") - 1
    ok = (repeats > 0) & (span > 0)
    if not ok.any():
        raise InvalidDataError(
            f"{caller}: 'auto' thresholds need repeat customers (two purchases on different "
            f"days) to measure the time between purchases; this summary has none. "
            f"Pass numbers instead, e.g. active_days=90."
        )
    if ok.sum() < 30:
        warn_external(
            f"{caller}: 'auto' thresholds come from only {int(ok.sum())} repeat customers; "
            f"they may be unstable. Consider passing numbers.",
            StatisticalWarning,
        )
    gaps = span[ok] / repeats[ok]
    weights = repeats[ok]  # one gap per repeat purchase
    order = np.argsort(gaps, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()

    def q(p: float) -> int:
        return max(1, math.ceil(gaps[order][min(np.searchsorted(cum, p), len(cum) - 1)]))

    return {
        "new_days": q(0.5),
        "active_days": q(0.75),
        "dormant_days": q(0.9),
        "churn_days": q(0.95),
    }


def lifecycle(
    summary: pd.DataFrame,
    *,
    as_of: Any = None,
    new_days: int | Literal["auto"] = 30,
    active_days: int | Literal["auto"] = 90,
    dormant_days: int | Literal["auto"] = 180,
    churn_days: int | Literal["auto"] = 365,
    customers: pd.DataFrame | None = None,
    customer_col: str = schema.CUSTOMER_ID,
) -> pd.DataFrame:
    """Lifecycle stage of every customer: new, active, at risk, dormant, churned, potential.

    With ``f`` the calendar days since the first purchase and ``d`` the days since the
    last purchase (both to ``as_of``), the first rule that holds gives the stage:

    ============  ==============================================
    stage         rule
    ============  ==============================================
    ``new``       ``f <= new_days``
    ``active``    ``d <= active_days``
    ``at_risk``   ``active_days < d <= dormant_days``
    ``dormant``   ``dormant_days < d <= churn_days``
    ``churned``   ``d > churn_days``
    ``potential`` in ``customers`` but no purchase (no summary row)
    ============  ==============================================

    Parameters
    ----------
    summary : DataFrame
        Customer summary (``crm.customer_summary``) indexed by the customer key, with
        ``first_purchase``, ``last_purchase`` and ``days_since_last`` (and ``n_orders``
        or ``frequency`` for ``"auto"``).
    as_of : datetime-like, default=None
        None keeps the summary's ``days_since_last`` (its own ``as_of``); a date
        recomputes the days from ``first_purchase`` and ``last_purchase``.
    new_days, active_days, dormant_days, churn_days : int or "auto"
        Thresholds in days, strictly increasing. ``"auto"`` derives a threshold from
        the shop's purchase cycle: each repeat customer's mean days between purchases
        (days from first to last purchase / repeat purchases), weighted by the number
        of repeat purchases; ``new_days`` is its median, ``active_days`` its 75th,
        ``dormant_days`` its 90th and ``churn_days`` its 95th percentile (rounded up to
        whole days, then raised where needed to stay strictly increasing). The values
        used are in ``result.attrs["thresholds"]``.
    customers : DataFrame, default=None
        Registered customers (``customer_col`` as a column or as the index). Those with
        no purchase are added with stage ``potential`` and missing day counts.
    customer_col : str, default="customer_id"
        Customer key column of ``customers``.

    Returns
    -------
    pandas.DataFrame
        Indexed by the customer key, with ``days_since_first`` and ``days_since_last``
        (nullable Int64) and ``stage`` (ordered categorical, categories
        ``LIFECYCLE_STAGES``).

    Raises
    ------
    InvalidDataError
        Thresholds not increasing, a date before a purchase, or missing values.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import lifecycle
    >>> summary = pd.DataFrame(
    ...     {"first_purchase": pd.to_datetime(["2024-06-20", "2023-01-05", "2023-03-01", "2022-05-01"]),
    ...      "last_purchase": pd.to_datetime(["2024-06-25", "2024-05-01", "2024-02-01", "2023-01-10"]),
    ...      "days_since_last": [5, 60, 150, 537]},
    ...     index=pd.Index(["ann", "bob", "cy", "dee"], name="customer_id"))
    >>> lifecycle(summary, customers=pd.DataFrame({"customer_id": ["ann", "eve"]}))
                 days_since_first  days_since_last      stage
    customer_id
    ann                        10                5        new
    bob                       542               60     active
    cy                        487              150    at_risk
    dee                       791              537    churned
    eve                      <NA>             <NA>  potential
    """
    caller = "lifecycle"
    import pandas as pd

    _need(
        summary,
        ["first_purchase", "last_purchase", "days_since_last"],
        caller=caller,
        frame_name="summary",
        hint=_SUMMARY_HINT,
    )
    if summary.index.has_duplicates:
        dup = summary.index.duplicated(keep=False)
        raise InvalidDataError(
            f"{caller}: {int(dup.sum())} rows of `summary` repeat a customer key "
            f"(e.g. {summary.index[dup][0]!r}); it needs one row per customer."
        )
    if as_of is None:
        days_last = _numeric(summary, "days_since_last", caller=caller, frame_name="summary")
    else:
        stamp = pd.Timestamp(as_of)
        last = summary["last_purchase"]
        tz = getattr(last.dtype, "tz", None)
        if tz is not None:
            stamp = stamp.tz_localize(tz) if stamp.tz is None else stamp.tz_convert(tz)
        elif stamp.tz is not None:
            stamp = stamp.tz_localize(None)
        days_last = (stamp.normalize() - last.dt.normalize()).dt.days.to_numpy(dtype="float64")
        late = days_last < 0
        if late.any():
            raise InvalidDataError(
                f"{caller}: as_of={stamp.date()} is before the last purchase of "
                f"{int(late.sum())} customer(s) (e.g. {summary.index[late][0]!r}). Compute the "
                f"summary at that date: crm.customer_summary(orders, as_of=...)."
            )
    span = (
        summary["last_purchase"].dt.normalize() - summary["first_purchase"].dt.normalize()
    ).dt.days.to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(span).any():
        bad = np.isnan(span)
        raise InvalidDataError(
            f"{caller}: {int(bad.sum())} customer(s) have no first or last purchase time "
            f"(e.g. {summary.index[bad][0]!r}). Fill or drop those rows first."
        )
    days_first = days_last + span

    given = {
        "new_days": new_days,
        "active_days": active_days,
        "dormant_days": dormant_days,
        "churn_days": churn_days,
    }
    auto = _auto_thresholds(summary, caller) if "auto" in given.values() else {}
    th: dict[str, int] = {}
    for name, value in given.items():
        if isinstance(value, str) and value == "auto":
            # raised where needed to stay above the threshold before it
            th[name] = max([auto[name]] + [v + 1 for v in th.values()])
        elif (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer, float))
            or not (math.isfinite(value) and value >= 0)
        ):
            raise InvalidDataError(
                f"{caller}: {name} must be a number of days (>= 0) or 'auto', got {value!r}."
            )
        else:
            th[name] = value  # type: ignore[assignment]
    names = list(th)
    for a, b in zip(names, names[1:], strict=False):
        if not th[a] < th[b]:
            raise InvalidDataError(
                f"{caller}: thresholds must increase: new_days < active_days < dormant_days "
                f"< churn_days; got {a}={th[a]} and {b}={th[b]}."
            )

    stage = np.select(
        [
            days_first <= th["new_days"],
            days_last <= th["active_days"],
            days_last <= th["dormant_days"],
            days_last <= th["churn_days"],
        ],
        [0, 1, 2, 3],
        default=4,
    )
    out = pd.DataFrame(
        {
            "days_since_first": pd.array(days_first.astype("int64"), dtype="Int64"),
            "days_since_last": pd.array(days_last.astype("int64"), dtype="Int64"),
            "stage": pd.Categorical.from_codes(stage, categories=LIFECYCLE_STAGES, ordered=True),
        },
        index=summary.index.copy(),
    )
    if customers is not None:
        if customer_col in customers.columns:
            keys = customers[customer_col]
        elif customers.index.name == customer_col:
            keys = customers.index.to_series()
        else:
            raise ColumnNotFoundError(
                f"{caller}: column {customer_col!r} (customer_col) not found in `customers`.\n"
                f"Available columns: {list(customers.columns)}.\n"
                f"Hint: pass customer_col= with the name of its customer key column."
            )
        new_keys = pd.Index(keys.dropna().unique()).difference(out.index, sort=False)
        if len(new_keys):
            extra = pd.DataFrame(
                {
                    "days_since_first": pd.array([pd.NA] * len(new_keys), dtype="Int64"),
                    "days_since_last": pd.array([pd.NA] * len(new_keys), dtype="Int64"),
                    "stage": pd.Categorical(
                        ["potential"] * len(new_keys), categories=LIFECYCLE_STAGES, ordered=True
                    ),
                },
                index=new_keys.rename(out.index.name),
            )
            out = pd.concat([out, extra])
    out.attrs["thresholds"] = dict(th)
    return out


# --- value tiers and Pareto ------------------------------------------------------------------
def value_tiers(
    summary: pd.DataFrame,
    *,
    by: str = "monetary_total",
    shares: Sequence[float] = (0.2, 0.3, 0.5),
    labels: Sequence[str] = ("A", "B", "C"),
) -> pd.DataFrame:
    """Split customers into value tiers: the top 20% A, the next 30% B, the rest C.

    Customers are ranked by ``by``, highest first. A customer's position is the number
    of customers with a strictly higher value, so equal values share a tier (a tie
    across a boundary joins the higher tier, which may then hold slightly more than
    its share).

    Parameters
    ----------
    summary : DataFrame
        Per-customer frame indexed by the customer key, with the ``by`` column.
    by : str, default="monetary_total"
        Value column.
    shares : sequence of float, default=(0.2, 0.3, 0.5)
        Share of customers per tier, best first; positive, summing to 1.
    labels : sequence of str, default=("A", "B", "C")
        Tier names, best first, one per share.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary`` with the ``by`` column and ``tier`` (ordered
        categorical, best first).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import value_tiers
    >>> s = pd.DataFrame({"monetary_total": [500.0, 20.0, 90.0, 90.0, 10.0]},
    ...                  index=pd.Index(list("abcde"), name="customer_id"))
    >>> value_tiers(s, shares=(0.2, 0.4, 0.4))
                 monetary_total tier
    customer_id
    a                     500.0    A
    b                      20.0    C
    c                      90.0    B
    d                      90.0    B
    e                      10.0    C
    """
    caller = "value_tiers"
    import pandas as pd

    _need(summary, [by], caller=caller, frame_name="summary", hint="pass by= a value column.")
    values = _numeric(summary, by, caller=caller, frame_name="summary")
    sh = np.asarray(shares, dtype="float64")
    if (
        sh.ndim != 1
        or len(sh) == 0
        or (sh <= 0).any()
        or not math.isclose(sh.sum(), 1.0, abs_tol=1e-9)
    ):
        raise InvalidDataError(
            f"{caller}: shares must be positive and add up to 1, got {tuple(shares)} "
            f"(sum {float(np.sum(sh)):.4g})."
        )
    labels = [str(x) for x in labels]
    if len(labels) != len(sh) or len(set(labels)) != len(labels):
        raise InvalidDataError(
            f"{caller}: labels must be {len(sh)} distinct names, one per share; got {labels}."
        )
    n = len(values)
    desc = np.sort(-values)  # ascending of -value = descending value
    higher = np.searchsorted(desc, -values, side="left")  # customers with a larger value
    bounds = np.round(np.cumsum(sh)[:-1] * n, 9)  # 0.2 + 0.4 is 0.6000000000000001
    tier = np.searchsorted(bounds, higher, side="right")
    return pd.DataFrame(
        {
            by: summary[by].to_numpy(),
            "tier": pd.Categorical.from_codes(tier, categories=labels, ordered=True),
        },
        index=summary.index.copy(),
    )


def pareto(summary: pd.DataFrame, *, by: str = "monetary_total", top: float = 0.2) -> pd.DataFrame:
    """Pareto curve: cumulative share of customers against cumulative share of revenue.

    Parameters
    ----------
    summary : DataFrame
        Per-customer frame indexed by the customer key, with the ``by`` column.
    by : str, default="monetary_total"
        Value column (non-negative, with a positive total).
    top : float, default=0.2
        Share of best customers quoted in the headline.

    Returns
    -------
    pandas.DataFrame
        One row per customer, best first (ties in the original order), indexed by the
        customer key, with ``by``, ``customer_share`` (cumulative share of customers,
        ``rank / n``) and ``revenue_share`` (cumulative share of the total).
        ``attrs["top_share"]`` is the share of revenue from the top ``top`` of
        customers (interpolated on the curve) and ``attrs["headline"]`` says it in
        words.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import pareto
    >>> s = pd.DataFrame({"monetary_total": [100.0, 600.0, 50.0, 200.0, 50.0]},
    ...                  index=pd.Index(list("abcde"), name="customer_id"))
    >>> curve = pareto(s)
    >>> curve
                 monetary_total  customer_share  revenue_share
    customer_id
    b                     600.0             0.2           0.60
    d                     200.0             0.4           0.80
    a                     100.0             0.6           0.90
    c                      50.0             0.8           0.95
    e                      50.0             1.0           1.00
    >>> curve.attrs["headline"]
    'The top 20% of customers bring 60.0% of revenue.'
    """
    caller = "pareto"
    import pandas as pd

    _need(summary, [by], caller=caller, frame_name="summary", hint="pass by= a value column.")
    values = _numeric(summary, by, caller=caller, frame_name="summary")
    if not 0 < top < 1:
        raise InvalidDataError(f"{caller}: top must be a share between 0 and 1, got {top!r}.")
    if (values < 0).any():
        neg = values < 0
        raise InvalidDataError(
            f"{caller}: column {by!r} has {int(neg.sum())} negative value(s) (e.g. "
            f"{values[neg][0]} for customer {summary.index[neg][0]!r}); the curve needs "
            f"non-negative values."
        )
    total = values.sum()
    if not total > 0:
        raise InvalidDataError(
            f"{caller}: column {by!r} adds up to {total}; a Pareto curve needs a positive total."
        )
    order = np.argsort(-values, kind="stable")
    n = len(values)
    cust = np.arange(1, n + 1) / n
    rev = np.cumsum(values[order]) / total
    share = float(np.interp(top, np.concatenate(([0.0], cust)), np.concatenate(([0.0], rev))))
    out = pd.DataFrame(
        {by: values[order], "customer_share": cust, "revenue_share": rev},
        index=summary.index[order],
    )
    out.attrs["top"] = float(top)
    out.attrs["top_share"] = share
    out.attrs["headline"] = f"The top {top:.0%} of customers bring {share:.1%} of revenue."
    return out


# --- clustering ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clusters:
    """Result of :func:`cluster`.

    Attributes
    ----------
    labels : pandas.Series
        Cluster per customer (int64 from 0, largest cluster first), named ``cluster``,
        indexed by the customer key.
    profile : pandas.DataFrame
        Per cluster: ``customers``, ``share`` and the mean of each feature in its
        original units.
    k : int
        Number of clusters.
    silhouette : pandas.Series
        Silhouette score per candidate k when ``k="auto"`` (empty otherwise).
    """

    labels: Any
    profile: Any
    k: int
    silhouette: Any


def cluster(
    summary: pd.DataFrame,
    *,
    features: Sequence[str] = ("days_since_last", "n_orders", "monetary_total"),
    k: int | Literal["auto"] = "auto",
    random_state: int | None = 0,
    sample_size: int = 5000,
) -> Clusters:
    """Group customers with k-means on log-scaled, standardised features.

    Non-negative features with a skewness above 1 are transformed with ``log1p``; all
    features are then standardised (mean 0, standard deviation 1). With ``k="auto"``,
    k-means runs for k = 2..8 on a random sample of at most ``sample_size`` customers
    and the k with the highest silhouette score is fitted on all customers. Clusters
    are numbered by size, largest first.

    Parameters
    ----------
    summary : DataFrame
        Per-customer frame indexed by the customer key, with the ``features``.
    features : sequence of str, default=("days_since_last", "n_orders", "monetary_total")
        Numeric columns to cluster on.
    k : int or "auto", default="auto"
        Number of clusters (2 or more), or chosen by silhouette.
    random_state : int or None, default=0
        Seed of the sample and of k-means.
    sample_size : int, default=5000
        Customers used to choose k (silhouette cost grows with the square of it).

    Returns
    -------
    Clusters
        ``labels`` (Series), ``profile`` (DataFrame indexed by ``cluster``), ``k`` and
        ``silhouette`` (scores per candidate k).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import cluster
    >>> s = pd.DataFrame({"days_since_last": [5, 7, 6, 300, 320],
    ...                   "n_orders": [9, 8, 10, 1, 1],
    ...                   "monetary_total": [900.0, 800.0, 1000.0, 30.0, 35.0]},
    ...                  index=pd.Index(list("abcde"), name="customer_id"))
    >>> result = cluster(s, k=2)
    >>> result.labels.tolist()
    [0, 0, 0, 1, 1]
    >>> result.profile
             customers  share  days_since_last  n_orders  monetary_total
    cluster
    0                3    0.6              6.0       9.0           900.0
    1                2    0.4            310.0       1.0            32.5
    """
    caller = "cluster"
    import pandas as pd

    features = list(features)
    if not features:
        raise InvalidDataError(f"{caller}: features must name at least one column.")
    _need(summary, features, caller=caller, frame_name="summary", hint=_SUMMARY_HINT)
    x = np.column_stack(
        [_numeric(summary, f, caller=caller, frame_name="summary") for f in features]
    )
    n = len(x)
    z = x.copy()
    for j in range(z.shape[1]):  # a loop over features
        col = z[:, j]
        if n > 2 and col.min() >= 0 and col.std() > 0:
            skew = float(np.mean((col - col.mean()) ** 3) / col.std() ** 3)
            if skew > 1:
                z[:, j] = np.log1p(col)
        sd = z[:, j].std()
        z[:, j] = (z[:, j] - z[:, j].mean()) / (sd if sd > 0 else 1.0)
    n_distinct = len(np.unique(z, axis=0)) if n <= 200_000 else n
    from sklearn.cluster import KMeans

    scores = pd.Series(dtype="float64", name="silhouette")
    if isinstance(k, str):
        check_choice(k, ("auto",), name="k", caller=caller)
        from sklearn.metrics import silhouette_score

        rng = np.random.default_rng(random_state)
        sample = z[rng.choice(n, size=sample_size, replace=False)] if n > sample_size else z
        k_max = min(8, len(np.unique(sample, axis=0)) - 1)
        if k_max < 2:
            raise InvalidDataError(
                f"{caller}: k='auto' needs at least 3 distinct customers, got {n_distinct}."
            )
        found = {}
        for kk in range(2, k_max + 1):  # a loop over candidate k
            model = KMeans(n_clusters=kk, n_init=4, random_state=random_state).fit(sample)
            found[kk] = float(silhouette_score(sample, model.labels_))
        scores = pd.Series(found, name="silhouette", dtype="float64")
        scores.index.name = "k"
        k = int(scores.idxmax())
    elif isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise InvalidDataError(f"{caller}: k must be an integer >= 2 or 'auto', got {k!r}.")
    elif k > n_distinct:
        raise InvalidDataError(
            f"{caller}: k={k} is more than the {n_distinct} distinct customers to cluster."
        )
    model = KMeans(n_clusters=int(k), n_init=4, random_state=random_state).fit(z)
    raw = model.labels_
    sizes = np.bincount(raw, minlength=int(k))
    rank = np.empty(int(k), dtype=np.int64)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(int(k))
    labels = rank[raw]
    frame = pd.DataFrame(x, columns=features)
    frame["cluster"] = labels
    prof = frame.groupby("cluster").mean()
    counts = np.bincount(labels, minlength=int(k))
    prof.insert(0, "share", counts / n)
    prof.insert(0, "customers", counts.astype("int64"))
    return Clusters(
        labels=pd.Series(labels, index=summary.index.copy(), name="cluster"),
        profile=prof,
        k=int(k),
        silhouette=scores,
    )


# --- tags: a safe expression evaluator ----------------------------------------------------------
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_ALLOWED_TEXT = (
    "Rules may use column names, numbers, 'text', True/False, comparisons "
    "(== != < <= > >=), and/or/not, + - * / // % and `in [...]` lists."
)


class _RuleError(InvalidDataError):
    """A tag rule that is not allowed (the message says which part and why)."""


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.Attribute):
        return "attribute access"
    if isinstance(node, ast.Subscript):
        return "indexing"
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)):
        return "a function or comprehension"
    if isinstance(node, ast.NamedExpr):
        return "an assignment"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return "the power operator **"
    return f"'{type(node).__name__}' syntax"


class _Evaluator:
    """Evaluate a parsed rule over the columns of a frame, vectorised."""

    def __init__(self, frame: pd.DataFrame, name: str, text: str, caller: str) -> None:
        self.frame = frame
        self.name = name
        self.text = text
        self.caller = caller

    def fail(self, node: ast.AST, why: str) -> _RuleError:
        try:
            snippet = ast.get_source_segment(self.text, node) or self.text
        except Exception:  # pragma: no cover - defensive
            snippet = self.text
        return _RuleError(
            f"{self.caller}: rule {self.name!r} ({self.text!r}) uses {why} "
            f"(`{snippet}`), which is not allowed.\n{_ALLOWED_TEXT}"
        )

    def visit(self, node: ast.AST) -> Any:
        import pandas as pd

        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise self.fail(node, "a double-underscore name")
            if node.id not in self.frame.columns:
                cols = [str(c) for c in self.frame.columns]
                guess = nearest(node.id, cols)
                extra = f"\nHint: did you mean {guess!r}?" if guess else ""
                raise ColumnNotFoundError(
                    f"{self.caller}: rule {self.name!r} ({self.text!r}) names column "
                    f"{node.id!r}, which is not in `frame`.\nAvailable columns: {cols}.{extra}"
                )
            return self.frame[node.id]
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bool, int, float, str)) or node.value is None:
                return node.value
            raise self.fail(node, f"a {type(node.value).__name__} constant")
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.visit(e) for e in node.elts]
            if any(isinstance(i, pd.Series) for i in items):
                raise self.fail(node, "a column inside a list")
            return items
        if isinstance(node, ast.BoolOp):
            parts = [self._as_bool(self.visit(v), v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp):
            value = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return ~self._as_bool(value, node.operand)
            if isinstance(node.op, ast.USub):
                return -self._as_number(value, node.operand)
            if isinstance(node.op, ast.UAdd):
                return +self._as_number(value, node.operand)
            raise self.fail(node, "the ~ operator")
        if isinstance(node, ast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise self.fail(
                    node, _describe(node) if isinstance(node.op, ast.Pow) else "an operator"
                )
            left = self._as_number(self.visit(node.left), node.left)
            right = self._as_number(self.visit(node.right), node.right)
            return op(left, right)
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            result = None
            for op_node, comp in zip(node.ops, node.comparators, strict=True):
                right = self.visit(comp)
                if isinstance(op_node, (ast.In, ast.NotIn)):
                    if not isinstance(right, list):
                        raise self.fail(comp, "`in` without a [...] list")
                    if not isinstance(left, pd.Series):
                        raise self.fail(node.left, "`in` on a constant")
                    part = left.isin(right)
                    if isinstance(op_node, ast.NotIn):
                        part = ~part
                else:
                    fn = _COMPARE.get(type(op_node))
                    if fn is None:
                        raise self.fail(node, "`is` comparisons")
                    if isinstance(left, list) or isinstance(right, list):
                        raise self.fail(node, "a list outside `in`")
                    part = fn(left, right)
                if not isinstance(part, pd.Series):
                    part = pd.Series(bool(part), index=self.frame.index)
                result = part if result is None else result & part
                left = right
            return result
        raise self.fail(node, _describe(node))

    def _as_bool(self, value: Any, node: ast.AST) -> Any:
        import pandas as pd

        if isinstance(value, bool):
            return pd.Series(value, index=self.frame.index)
        if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value):
            return value.fillna(False).astype(bool)
        raise _RuleError(
            f"{self.caller}: rule {self.name!r} ({self.text!r}): `and`, `or` and `not` need "
            f"conditions such as `n_orders >= 3`, got a value in `{ast.unparse(node)}`."
        )

    def _as_number(self, value: Any, node: ast.AST) -> Any:
        import pandas as pd

        if (
            isinstance(value, (str, list))
            or value is None
            or (isinstance(value, pd.Series) and not pd.api.types.is_numeric_dtype(value))
        ):
            raise _RuleError(
                f"{self.caller}: rule {self.name!r} ({self.text!r}): arithmetic needs numbers, "
                f"got text or a list in `{ast.unparse(node)}`."
            )
        return value


def tag(frame: pd.DataFrame, rules: Mapping[str, str]) -> pd.DataFrame:
    """Customer tags (客户标签) from named rules written as expressions over columns.

    Rules are evaluated safely, never with ``eval``: a rule may use column names,
    numbers, quoted text, ``True``/``False``, comparisons (``== != < <= > >=``, chained
    comparisons too), ``and``/``or``/``not``, arithmetic (``+ - * / // %``) and
    ``in [...]`` / ``not in [...]`` lists. Anything else (function calls, attribute
    access, indexing, ``**``, names starting with ``__``, lambdas, comprehensions) is
    rejected with an error, so rule text written by a CRM's end users cannot run code.
    Missing values compare as False.

    Parameters
    ----------
    frame : DataFrame
        Per-customer columns (a customer summary, an RFM table, customer attributes, or
        these joined), indexed by the customer key.
    rules : mapping of str to str
        ``{tag name: rule}``, e.g. ``{"high_value": "monetary_total >= 1000",
        "lapsed_vip": "r_score <= 2 and m_score >= 4"}``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``frame``, one boolean column per tag, in the order of ``rules``.

    Raises
    ------
    ColumnNotFoundError
        A rule names a column that ``frame`` does not have (the message lists them).
    InvalidDataError
        A rule is not valid Python syntax, uses anything outside the allowed
        operations, or is not a condition.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import tag
    >>> table = pd.DataFrame({"monetary_total": [1500.0, 80.0, 900.0],
    ...                       "r_score": [1, 5, 2], "m_score": [5, 1, 4],
    ...                       "region": ["north", "south", "east"]},
    ...                      index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> tag(table, {"high_value": "monetary_total >= 1000",
    ...             "lapsed_vip": "r_score <= 2 and m_score >= 4",
    ...             "south_or_east": "region in ['south', 'east']"})
                 high_value  lapsed_vip  south_or_east
    customer_id
    a                  True        True          False
    b                 False       False           True
    c                 False        True           True
    """
    caller = "tag"
    import pandas as pd

    if not isinstance(rules, Mapping) or not rules:
        raise InvalidDataError(
            f"{caller}: rules must be a non-empty mapping of tag names to expressions, "
            f"e.g. {{'high_value': 'monetary_total >= 1000'}}; got {rules!r}."
        )
    out = {}
    for name, text in rules.items():  # a loop over rules, not customers
        if not isinstance(text, str):
            raise InvalidDataError(f"{caller}: rule {name!r} must be a string, got {text!r}.")
        if len(text) > 2000:
            raise InvalidDataError(
                f"{caller}: rule {name!r} is {len(text)} characters long; the limit is 2000."
            )
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise InvalidDataError(
                f"{caller}: rule {name!r} ({text!r}) is not a valid expression: {exc.msg}.\n"
                f"{_ALLOWED_TEXT}"
            ) from None
        value = _Evaluator(frame, str(name), text.strip(), caller).visit(tree)
        if isinstance(value, bool):
            value = pd.Series(value, index=frame.index)
        if not (isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value)):
            raise InvalidDataError(
                f"{caller}: rule {name!r} ({text!r}) must be a condition (True/False per "
                f"customer), such as 'monetary_total >= 1000'; it gives a value instead."
            )
        out[str(name)] = value.fillna(False).astype(bool).to_numpy()
    return pd.DataFrame(out, index=frame.index.copy())


# --- profiles ----------------------------------------------------------------------------------
def profile(
    orders: pd.DataFrame,
    labels: pd.Series,
    *,
    by: str = schema.CATEGORY,
    customers: pd.DataFrame | None = None,
    customer_col: str = schema.CUSTOMER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
) -> pd.DataFrame:
    """What each segment buys, or who it is, compared with all customers (类目/属性分析).

    When ``by`` is a column of ``orders`` (a category, a channel, a product), the
    measure is net revenue: purchases only (status ``paid``, valued at ``amount -
    refund_amount``) of the customers in ``labels``. When ``by`` is a column of
    ``customers`` (region, gender, member level), the measure is the number of
    customers. Within each segment, ``share`` is the measure of a value over the
    segment's total; ``overall_share`` is the same over all labelled customers, and
    ``lift = share / overall_share``: above 1 the segment over-indexes on that value.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders.
    labels : Series
        Segment per customer, indexed by the customer key (e.g. ``rfm_table(...)
        ["segment"]``, ``lifecycle(...)["stage"]`` or ``cluster(...).labels``).
    by : str, default="category"
        Column of ``orders`` or of ``customers`` to profile.
    customers : DataFrame, default=None
        Customer attributes, ``customer_col`` as a column or as the index.
    customer_col, amount_col, status_col, refund_col : str
        Column names; the defaults are the canonical ones. ``status_col`` or
        ``refund_col`` None (or absent) treats every row as paid / unrefunded.

    Returns
    -------
    pandas.DataFrame
        One row per (segment, value), with columns ``segment``, ``by`` (named after
        it), ``value`` (revenue or customers), ``share``, ``overall_share`` and
        ``lift``; sorted by segment, then by ``value`` descending.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import profile
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "category": ["shoes", "bags", "shoes", "bags"],
    ...     "amount": [50.0, 50.0, 100.0, 100.0],
    ...     "status": ["paid", "paid", "paid", "paid"]})
    >>> labels = pd.Series(["vip", "vip", "other"], name="segment",
    ...                    index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> profile(orders, labels)
      segment category  value  share  overall_share      lift
    0   other     bags  100.0   1.00            0.5   2.0
    1     vip    shoes  150.0   0.75            0.5   1.5
    2     vip     bags   50.0   0.25            0.5   0.5
    """
    caller = "profile"
    import pandas as pd

    if not isinstance(labels, pd.Series):
        raise InvalidDataError(
            f"{caller}: labels must be a Series of segments indexed by the customer key, "
            f"got {type(labels).__name__}."
        )
    seg_name = labels.name if labels.name is not None else "segment"
    seg_name = str(seg_name)
    lab = labels.dropna()
    if by in orders.columns:
        roles = {"customer_col": customer_col, "amount_col": amount_col}
        check_columns(list(orders.columns), roles, caller=caller, frame_name="orders")
        amount = _numeric(
            orders.set_index(customer_col), amount_col, caller=caller, frame_name="orders"
        )
        if refund_col is not None and refund_col in orders.columns:
            refund = orders[refund_col].to_numpy(dtype="float64", na_value=0.0)
            amount = amount - np.nan_to_num(refund)
        keep = amount > 0
        if status_col is not None and status_col in orders.columns:
            keep &= (orders[status_col] == schema.PURCHASE_STATUS).to_numpy(
                dtype=bool, na_value=False
            )
        keys = orders[customer_col].to_numpy()[keep]
        seg = lab.reindex(pd.Index(keys))
        work = pd.DataFrame(
            {"segment": seg.to_numpy(), by: orders[by].to_numpy()[keep], "value": amount[keep]}
        )
    elif customers is not None and by in customers.columns:
        if customer_col in customers.columns:
            attr = customers.set_index(customer_col)[by]
        else:
            attr = customers[by]
        if attr.index.has_duplicates:
            attr = attr[~attr.index.duplicated()]
        work = pd.DataFrame(
            {"segment": lab.to_numpy(), by: attr.reindex(lab.index).to_numpy(), "value": 1.0}
        )
    else:
        cols = list(orders.columns) + (list(customers.columns) if customers is not None else [])
        guess = nearest(by, cols)
        extra = f" Did you mean by={guess!r}?" if guess else ""
        where = (
            "`orders` or `customers`"
            if customers is not None
            else "`orders` (and no `customers` given)"
        )
        raise ColumnNotFoundError(
            f"{caller}: column {by!r} (by) not found in {where}.\n"
            f"Available columns: {cols}.\nHint: pass by= one of them, or customers= a table "
            f"of customer attributes.{extra}"
        )
    work = work.dropna(subset=["segment"])
    work[by] = work[by].astype(object).where(work[by].notna(), "(missing)")
    cell = work.groupby(["segment", by], observed=True, sort=False)["value"].sum()
    seg_total = cell.groupby(level=0, observed=True).transform("sum")
    overall = work.groupby(by, observed=True, sort=False)["value"].sum()
    overall_share = overall / overall.sum()
    out = cell.rename("value").reset_index()
    out["share"] = (cell / seg_total).to_numpy()
    out["overall_share"] = overall_share.reindex(out[by]).to_numpy()
    out["lift"] = out["share"] / out["overall_share"]
    out = out.rename(columns={"segment": seg_name})
    out = out.sort_values([seg_name, "value"], ascending=[True, False], kind="stable")
    return out.reset_index(drop=True)
