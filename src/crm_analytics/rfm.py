"""RFM scores (recency, frequency, monetary) and named RFM segments.

``rfm_table`` scores every customer 1..bins on recency (``days_since_last``), frequency
(``n_orders``) and monetary value (``monetary_total``), higher always better, and names
the customer's segment. ``assign_segments`` names segments from a table of scores with a
built-in scheme (the 11-segment ``standard`` grid or the Chinese 8-class ``cn8`` model)
or a custom mapping; ``segment_summary`` aggregates a table per segment and recommends
an action for each built-in segment.

Quantile scoring (``method="quantile"``)
----------------------------------------
Scores are equal-frequency groups of the *distinct* values, so that real data cannot
break them:

1. Customers with equal values always get equal scores (no rank-first tie breaking).
2. The distinct values, in order from worst to best, are cut into
   ``G = min(bins, number of distinct values)`` consecutive groups, each non-empty.
   The cuts are placed one after another: each cut is put at the boundary between
   distinct values whose customer count is nearest to an equal split of the customers
   not yet placed among the groups still to fill (a tie between two boundaries takes
   the higher one). A block of tied values bigger than one group (typically the
   one-order customers, often 60-80% of a shop) therefore takes one score and the
   remaining customers are spread evenly over the remaining scores.
3. Groups are numbered from 1 (worst) to ``bins`` (best). When ``G < bins`` the groups
   are spread evenly over 1..bins (``1 + round((g - 1) * (bins - 1) / (G - 1))``,
   halves rounded up), so the worst value scores 1 and the best scores ``bins``;
   when every customer has the same value, everybody scores 1.

On data without ties this gives the same scores as cutting at the 1/bins quantiles.
R's ``rfm`` package also gives equal values equal scores but cuts at fixed quantiles,
so with heavy ties some of its scores stay empty; here they are filled where the
number of distinct values allows.

Recency is scored on ``days_since_last`` with fewer days being better, so the most
recent buyers get ``r_score == bins``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import schema
from ._validation import check_choice, example_values, nearest
from .exceptions import ColumnNotFoundError, InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CN8_SEGMENTS",
    "STANDARD_GRID",
    "STANDARD_SEGMENTS",
    "assign_segments",
    "rfm_table",
    "segment_summary",
]

# --- the standard 11-segment grid ------------------------------------------------------
#: Standard segments in display order: English name -> (Chinese name, r/fm cells).
#: A cell "54" means r_score 5 and fm 4, with fm = ceil((f_score + m_score) / 2).
STANDARD_SEGMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Champions": ("冠军客户", ("55", "54", "45")),
    "Loyal Customers": ("忠诚客户", ("53", "44", "35", "34")),
    "Potential Loyalist": ("潜在忠诚客户", ("52", "42", "33", "43")),
    "New Customers": ("新客户", ("51",)),
    "Promising": ("有潜力客户", ("41", "31")),
    "Need Attention": ("需要关注客户", ("32", "23", "22")),
    "About To Sleep": ("即将沉睡客户", ("21",)),
    "At Risk": ("流失风险客户", ("25", "24", "13")),
    "Can't Lose Them": ("不能失去的客户", ("15", "14")),
    "Hibernating": ("休眠客户", ("12",)),
    "Lost": ("已流失客户", ("11",)),
}


def _standard_grid() -> np.ndarray:
    grid = np.full((5, 5), -1, dtype=np.int8)
    for code, (_, cells) in enumerate(STANDARD_SEGMENTS.values()):
        for cell in cells:
            grid[int(cell[0]) - 1, int(cell[1]) - 1] = code
    return grid


#: ``STANDARD_GRID[r - 1, fm - 1]`` is the position of the segment in STANDARD_SEGMENTS.
STANDARD_GRID: np.ndarray = _standard_grid()

#: The Chinese 8-class RFM model: (high R, high F, high M) -> (Chinese name, English name).
CN8_SEGMENTS: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    (True, True, True): ("重要价值客户", "Important Value"),
    (True, False, True): ("重要发展客户", "Important Development"),
    (False, True, True): ("重要保持客户", "Important Retention"),
    (False, False, True): ("重要挽留客户", "Important Win-back"),
    (True, True, False): ("一般价值客户", "General Value"),
    (True, False, False): ("一般发展客户", "General Development"),
    (False, True, False): ("一般保持客户", "General Retention"),
    (False, False, False): ("一般挽留客户", "General Win-back"),
}

_ACTIONS: dict[str, str] = {
    "Champions": "Reward them: early access, exclusive perks; ask for reviews and referrals.",
    "Loyal Customers": "Upsell higher-value products; invite them to the loyalty programme.",
    "Potential Loyalist": "Offer membership or loyalty points; recommend related products.",
    "New Customers": "Onboard them: welcome series and a second-purchase incentive.",
    "Promising": "Build awareness: samples, free trials, content about the brand.",
    "Need Attention": "Limited-time offers based on past purchases before they slip away.",
    "About To Sleep": "Reactivate with popular products and a time-limited discount.",
    "At Risk": "Win back with personalised messages, renewals and helpful resources.",
    "Can't Lose Them": "Win back with a strong offer or a personal call; ask what went wrong.",
    "Hibernating": "Offer relevant products and special discounts; low-cost contact only.",
    "Lost": "One low-cost reactivation attempt, otherwise stop spending on them.",
    "冠军客户": "重点奖励：新品优先体验、专属权益，邀请评价和推荐。",
    "忠诚客户": "推荐更高价值的商品，邀请加入会员计划。",
    "潜在忠诚客户": "提供会员或积分权益，推荐相关商品。",
    "新客户": "做好新客培育：欢迎礼包与二次购买优惠。",
    "有潜力客户": "提升品牌认知：试用装、体验活动。",
    "需要关注客户": "基于历史购买推送限时优惠，防止流失。",
    "即将沉睡客户": "用热销商品和限时折扣唤醒。",
    "流失风险客户": "个性化召回信息、续费提醒和关怀内容。",
    "不能失去的客户": "强力优惠或电话回访挽回，了解流失原因。",
    "休眠客户": "推送相关商品和特别折扣，仅做低成本触达。",
    "已流失客户": "做一次低成本唤醒，无响应则停止投入。",
    "Important Value": "Keep them: VIP service and exclusive benefits.",
    "Important Development": "Raise purchase frequency: points, repeat-purchase offers.",
    "Important Retention": "Recently inactive: reach out with a personal offer.",
    "Important Win-back": "High value but leaving: win back and find out why.",
    "General Value": "Raise order value: bundles and spend-more-save-more offers.",
    "General Development": "Nurture: welcome packs and nudges to a second purchase.",
    "General Retention": "Low-cost upkeep: regular campaign messages.",
    "General Win-back": "Low priority: low-cost reactivation or let go.",
    "重要价值客户": "保持现状，提供VIP专属服务与权益。",
    "重要发展客户": "提高购买频次：会员积分、复购优惠。",
    "重要保持客户": "近期未购买，主动联系召回（短信、专属优惠）。",
    "重要挽留客户": "高价值但即将流失，重点挽回并了解原因。",
    "一般价值客户": "提升客单价：搭配推荐、满减活动。",
    "一般发展客户": "新客培育：新人礼包、引导复购。",
    "一般保持客户": "低成本维护，定期推送活动。",
    "一般挽留客户": "低优先级，低成本唤醒或放弃。",
}

_RULE_DIMS = ("r", "f", "m", "fm")


# --- helpers -----------------------------------------------------------------------------
def _first_bad(values: np.ndarray, mask: np.ndarray) -> Any:
    return example_values(values[mask], 1)[0]


def _check_numeric(
    frame: pd.DataFrame, cols: Sequence[str], *, caller: str, frame_name: str
) -> None:
    """Raise InvalidDataError for a non-numeric or missing value in ``cols``."""
    import pandas as pd

    for col in cols:
        s = frame[col]
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            raise InvalidDataError(
                f"{caller}: column {col!r} must be numeric, got {s.dtype} "
                f"(e.g. {example_values(s.to_numpy(), 1)}).\n"
                f"Convert it first: {frame_name}[{col!r}] = pd.to_numeric({frame_name}[{col!r}])."
            )
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            key = _first_bad(frame.index.to_numpy(), bad)
            raise InvalidDataError(
                f"{caller}: column {col!r} has {int(bad.sum())} missing or infinite "
                f"value(s) in `{frame_name}` (e.g. customer {key!r}). "
                f"Fill or drop those rows first."
            )


def _quantile_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """Scores 1..bins, higher for larger values; see the module docstring for the rule."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    k = len(uniq)
    below = np.concatenate(([0], np.cumsum(counts)))  # below[j]: customers under uniq[j]
    groups = min(bins, k)
    if groups == 1:
        return np.ones(n, dtype=np.int64)
    starts = np.zeros(groups, dtype=np.int64)
    for g in range(1, groups):  # a loop over bins, not customers
        prev = starts[g - 1]
        target = below[prev] + (n - below[prev]) / (groups - g + 1)
        j = int(np.searchsorted(below, target, side="left"))
        if j > 0 and (j > k or target - below[j - 1] < below[j] - target):
            j -= 1
        starts[g] = min(max(j, prev + 1), k - (groups - g))
    group = np.searchsorted(starts, np.arange(k), side="right") - 1
    # spread groups 0..G-1 over scores 1..bins, halves rounded up (identity when G == bins)
    score = 1 + (2 * group * (bins - 1) + (groups - 1)) // (2 * (groups - 1))
    return score.astype(np.int64)[inverse]


def _fixed_scores(values: np.ndarray, edges: np.ndarray, *, reverse: bool, bins: int) -> np.ndarray:
    """Bins (e_{k-1}, e_k]: a value equal to a breakpoint falls in the lower bin."""
    idx = np.searchsorted(edges, values, side="left").astype(np.int64)
    return bins - idx if reverse else idx + 1


def _check_breakpoints(breakpoints: Any, bins: int, caller: str) -> dict[str, np.ndarray]:
    if not isinstance(breakpoints, Mapping):
        raise InvalidDataError(
            f"{caller}: method='fixed' needs breakpoints={{'r': [...], 'f': [...], 'm': [...]}}, "
            f"got {breakpoints!r}."
        )
    unknown = sorted(set(breakpoints) - {"r", "f", "m"})
    missing = [key for key in ("r", "f", "m") if key not in breakpoints]
    if unknown or missing:
        raise InvalidDataError(
            f"{caller}: breakpoints must have exactly the keys 'r', 'f' and 'm'; "
            f"missing {missing}, unknown {unknown}. Example: breakpoints={{'r': [30, 90, 180, 365], "
            f"'f': [1, 2, 4, 8], 'm': [50, 100, 300, 1000]}}."
        )
    out: dict[str, np.ndarray] = {}
    for key in ("r", "f", "m"):
        edges = np.asarray(breakpoints[key], dtype="float64")
        if edges.ndim != 1 or len(edges) != bins - 1:
            raise InvalidDataError(
                f"{caller}: breakpoints[{key!r}] must list bins - 1 = {bins - 1} values "
                f"(one fewer than the number of scores), got {list(np.atleast_1d(edges))}."
            )
        if not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise InvalidDataError(
                f"{caller}: breakpoints[{key!r}] must be finite and strictly increasing, "
                f"got {edges.tolist()}."
            )
        out[key] = edges
    return out


def _as_summary(
    data: Any,
    *,
    as_of: Any,
    caller: str,
    needed: Sequence[str],
    columns: Mapping[str, Any],
) -> pd.DataFrame:
    """Return a customer summary from orders or from an existing summary (not mutated)."""
    import pandas as pd

    customer_col = columns["customer_col"]
    time_col = columns["time_col"]
    if not isinstance(data, pd.DataFrame):
        try:
            import narwhals as nw

            cols = list(nw.from_native(data).collect_schema().names())
        except TypeError as exc:
            raise InvalidDataError(
                f"{caller}: `data` must be a DataFrame of orders or a customer summary, "
                f"got {type(data).__name__}."
            ) from exc
    else:
        cols = list(data.columns)
    if time_col in cols and not all(c in cols for c in needed):
        from .summary import customer_summary

        return customer_summary(data, as_of=as_of, **columns)
    if not isinstance(data, pd.DataFrame):
        import narwhals as nw

        data = nw.from_native(data, eager_only=True).to_pandas()
    missing = [c for c in needed if c not in cols]
    if missing:
        guess = nearest(missing[0], cols)
        hint = f" Did you mean {guess!r}?" if guess else ""
        raise ColumnNotFoundError(
            f"{caller}: `data` is neither orders (no column {time_col!r} (time_col)) nor a "
            f"customer summary (missing {missing}).\nAvailable columns: {cols}.\n"
            f"Hint: pass orders with time_col= naming their time column, or the output of "
            f"crm.customer_summary(orders).{hint}"
        )
    summary = data
    if customer_col in summary.columns and summary.index.name != customer_col:
        summary = summary.set_index(customer_col)
    if summary.index.has_duplicates:
        dup = summary.index.duplicated(keep=False)
        raise InvalidDataError(
            f"{caller}: the customer summary has {int(dup.sum())} rows with a repeated "
            f"customer key (e.g. {summary.index[dup][0]!r}); it needs one row per customer. "
            f"Build it with crm.customer_summary(orders)."
        )
    if as_of is not None:
        if "last_purchase" not in summary.columns:
            raise InvalidDataError(
                f"{caller}: as_of needs orders or a summary with a 'last_purchase' column; "
                f"this summary has none. Pass as_of to crm.customer_summary(orders, as_of=...) "
                f"instead."
            )
        summary = summary.assign(
            days_since_last=_days_to(summary["last_purchase"], as_of, caller=caller)
        )
    return summary


def _days_to(times: pd.Series, as_of: Any, *, caller: str) -> np.ndarray:
    """Calendar days from each time to ``as_of`` (an error if any time is later)."""
    import pandas as pd

    stamp = pd.Timestamp(as_of)
    tz = getattr(times.dtype, "tz", None)
    if tz is not None and stamp.tz is None:
        stamp = stamp.tz_localize(tz)
    elif tz is not None:
        stamp = stamp.tz_convert(tz)
    elif stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    days = (stamp.normalize() - times.dt.normalize()).dt.days.to_numpy(dtype="int64")
    late = days < 0
    if late.any():
        raise InvalidDataError(
            f"{caller}: as_of={stamp.date()} is before the last purchase of {int(late.sum())} "
            f"customer(s) (e.g. {times.index[late][0]!r} on {times[late].iloc[0]}). Compute "
            f"the summary at that date instead: crm.customer_summary(orders, as_of=...)."
        )
    return days


def _check_bins(bins: Any, caller: str) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 100:
        raise InvalidDataError(f"{caller}: bins must be an integer from 2 to 100, got {bins!r}.")
    return int(bins)


def _codes(r: np.ndarray, f: np.ndarray, m: np.ndarray, bins: int) -> pd.Categorical:
    """rfm_code as a categorical of all bins**3 codes ("545"; "10-9-10" when bins > 9)."""
    import pandas as pd

    sep = "" if bins <= 9 else "-"
    scores = np.arange(1, bins + 1)
    rr, ff, mm = np.meshgrid(scores, scores, scores, indexing="ij")
    names = [
        f"{a}{sep}{b}{sep}{c}" for a, b, c in zip(rr.ravel(), ff.ravel(), mm.ravel(), strict=True)
    ]
    codes = ((r - 1) * bins + (f - 1)) * bins + (m - 1)
    return pd.Categorical.from_codes(codes, categories=names)


# --- public API ----------------------------------------------------------------------------
def rfm_table(
    data: Any,
    *,
    bins: int = 5,
    method: Literal["quantile", "fixed"] = "quantile",
    breakpoints: Mapping[str, Sequence[float]] | None = None,
    weights: Sequence[float] = (1, 1, 1),
    as_of: Any = None,
    segments: Literal["standard", "cn8"] | Mapping[str, Any] | None = "standard",
    lang: Literal["en", "zh"] = "en",
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    quantity_col: str | None = schema.QUANTITY,
) -> pd.DataFrame:
    """Score customers on recency, frequency and monetary value and name their segment.

    Parameters
    ----------
    data : DataFrame
        Canonical orders (anything ``crm.customer_summary`` accepts; it is called with
        ``as_of`` and the column keywords) or a customer summary with the columns
        ``days_since_last``, ``n_orders`` and ``monetary_total``, indexed by the
        customer key (or with it in ``customer_col``).
    bins : int, default=5
        Number of scores per dimension (2..100). Scores run 1..bins, higher is better.
    method : {"quantile", "fixed"}, default="quantile"
        ``"quantile"``: tie-aware equal-frequency scores (see the module docstring):
        equal values get equal scores, the worst value scores 1 and the best ``bins``.
        ``"fixed"``: business rules given by ``breakpoints``.
    breakpoints : dict, default=None
        With ``method="fixed"``: ``{"r": [...], "f": [...], "m": [...]}``, each a
        strictly increasing list of ``bins - 1`` upper bin edges, on
        ``days_since_last``, ``n_orders`` and ``monetary_total``. Bins include their
        upper edge: with ``"r": [30, 90, 180, 365]`` a customer 30 days since the last
        purchase gets r_score 5 and one at 31 days gets 4; with ``"f": [1, 2, 4, 8]``
        one order scores 1, two score 2, 3-4 score 3, 5-8 score 4, 9 or more score 5.
    weights : tuple of 3 floats, default=(1, 1, 1)
        Weights of r, f and m in ``rfm_score``.
    as_of : datetime-like, default=None
        Observation date. With orders, passed to ``customer_summary`` (None: the latest
        order). With a summary, None keeps its ``days_since_last``; a date recomputes
        them from ``last_purchase``.
    segments : {"standard", "cn8"}, mapping or None, default="standard"
        Segment scheme passed to :func:`assign_segments`; None leaves out ``segment``.
    lang : {"en", "zh"}, default="en"
        Language of the segment names.
    customer_col, time_col, amount_col, order_col, status_col, refund_col, quantity_col : str
        Column names of the orders; the defaults are the canonical ones.

    Returns
    -------
    pandas.DataFrame
        Indexed like the summary (the customer key, name unchanged), with columns
        ``days_since_last`` (int), ``n_orders`` (int), ``monetary_total`` (float),
        ``r_score``, ``f_score``, ``m_score`` (int64 in 1..bins), ``rfm_code``
        (categorical such as "545"; codes are joined with "-" when bins > 9),
        ``rfm_score`` (float, ``w_r * r + w_f * f + w_m * m``) and ``segment``
        (categorical, in the scheme's order). ``attrs["rfm"]`` records bins and method.

    Raises
    ------
    ColumnNotFoundError
        ``data`` is neither orders nor a summary (the message lists its columns).
    InvalidDataError
        Missing or non-numeric values, repeated customers, bad options.

    See Also
    --------
    assign_segments : the segment schemes, with the standard grid printed.
    segment_summary : customers, revenue and recommended action per segment.
    crm_analytics.customer_summary : the per-customer statistics scored here.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.rfm import rfm_table
    >>> summary = pd.DataFrame(
    ...     {"days_since_last": [2, 40, 200, 9, 400],
    ...      "n_orders": [6, 3, 1, 1, 2],
    ...      "monetary_total": [900.0, 350.0, 40.0, 80.0, 160.0]},
    ...     index=pd.Index(["ann", "bob", "cy", "dee", "eve"], name="customer_id"))
    >>> table = rfm_table(summary)
    >>> table[["r_score", "f_score", "m_score", "rfm_code", "rfm_score", "segment"]]
                 r_score  f_score  m_score rfm_code  rfm_score            segment
    customer_id
    ann                5        5        5      555       15.0          Champions
    bob                3        4        4      344       11.0    Loyal Customers
    cy                 2        1        1      211        4.0     About To Sleep
    dee                4        1        2      412        7.0  Potential Loyalist
    eve                1        2        3      123        6.0            At Risk
    """
    caller = "rfm_table"
    import pandas as pd

    bins = _check_bins(bins, caller)
    check_choice(method, ("quantile", "fixed"), name="method", caller=caller)
    w = np.asarray(weights, dtype="float64")
    if w.shape != (3,) or not np.isfinite(w).all():
        raise InvalidDataError(
            f"{caller}: weights must be three finite numbers (r, f, m), got {weights!r}."
        )
    if method == "fixed":
        edges = _check_breakpoints(breakpoints, bins, caller)
    elif breakpoints is not None:
        raise InvalidDataError(
            f"{caller}: breakpoints are used only with method='fixed'; "
            f"pass method='fixed' or drop breakpoints."
        )
    columns = {
        "customer_col": customer_col,
        "time_col": time_col,
        "amount_col": amount_col,
        "order_col": order_col,
        "status_col": status_col,
        "refund_col": refund_col,
        "quantity_col": quantity_col,
    }
    needed = ("days_since_last", "n_orders", "monetary_total")
    summary = _as_summary(data, as_of=as_of, caller=caller, needed=needed, columns=columns)
    _check_numeric(summary, needed, caller=caller, frame_name="summary")

    days = summary["days_since_last"].to_numpy()
    n_orders = summary["n_orders"].to_numpy()
    money = summary["monetary_total"].to_numpy(dtype="float64")
    if method == "quantile":
        r = _quantile_scores(-days, bins)
        f = _quantile_scores(n_orders, bins)
        m = _quantile_scores(money, bins)
    else:
        r = _fixed_scores(days, edges["r"], reverse=True, bins=bins)
        f = _fixed_scores(n_orders, edges["f"], reverse=False, bins=bins)
        m = _fixed_scores(money, edges["m"], reverse=False, bins=bins)
    table = pd.DataFrame(
        {
            "days_since_last": summary["days_since_last"].to_numpy(),
            "n_orders": n_orders,
            "monetary_total": money,
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rfm_code": _codes(r, f, m, bins),
            "rfm_score": w[0] * r + w[1] * f + w[2] * m,
        },
        index=summary.index.copy(),
    )
    table.attrs["rfm"] = {"bins": bins, "method": method}
    if segments is not None:
        table["segment"] = assign_segments(table, scheme=segments, lang=lang, bins=bins)
    return table


def _rescale_to_5(scores: np.ndarray, bins: int) -> np.ndarray:
    """Map 1..bins linearly onto 1..5, halves rounded up (identity for bins == 5)."""
    if bins == 5:
        return scores
    return 1 + (8 * (scores - 1) + (bins - 1)) // (2 * (bins - 1))


def _table_bins(table: pd.DataFrame, bins: int | None, caller: str) -> int:
    if bins is not None:
        return _check_bins(bins, caller)
    meta = table.attrs.get("rfm", {})
    if "bins" in meta:
        return int(meta["bins"])
    present = [c for c in ("r_score", "f_score", "m_score") if c in table.columns]
    import pandas as pd

    tops = [pd.to_numeric(table[c], errors="coerce").max() for c in present]
    top = max((int(t) for t in tops if pd.notna(t)), default=1)
    return max(5, top)


def _check_scores(table: pd.DataFrame, bins: int, caller: str) -> dict[str, np.ndarray]:
    import pandas as pd

    cols = ("r_score", "f_score", "m_score")
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found in `table`.\n"
            f"Available columns: {list(table.columns)}.\n"
            f"Hint: score the customers first with crm.rfm_table(data)."
        )
    out = {}
    for col in cols:
        s = table[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            raise InvalidDataError(
                f"{caller}: column {col!r} must hold whole scores 1..{bins}, got {s.dtype}. "
                f"Score the customers with crm.rfm_table(data)."
            )
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~((values >= 1) & (values <= bins) & (values == np.round(values)))
        if bad.any():
            raise InvalidDataError(
                f"{caller}: column {col!r} must hold whole scores 1..{bins}; {int(bad.sum())} "
                f"row(s) do not (e.g. {s[bad].iloc[0]!r} for customer {table.index[bad][0]!r})."
            )
        out[col[0]] = values.astype(np.int64)
    return out


def _rule_mask(
    spec: Any, dims: Mapping[str, np.ndarray], codes: np.ndarray, name: str, caller: str, bins: int
) -> np.ndarray:
    """Boolean mask over grid cells for one custom rule."""
    if isinstance(spec, str) or (
        isinstance(spec, Sequence) and all(isinstance(c, str) for c in spec)
    ):
        wanted = [spec] if isinstance(spec, str) else list(spec)
        unknown = [c for c in wanted if c not in set(codes)]
        if unknown:
            raise InvalidDataError(
                f"{caller}: segment {name!r} lists rfm codes that do not exist with "
                f"bins={bins}: {unknown[:5]}. Codes look like {codes[-1]!r}."
            )
        return np.isin(codes, wanted)
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidDataError(
            f"{caller}: segment {name!r}: a rule is a list of rfm codes (['555', '554']) or "
            f"a mapping of 'r', 'f', 'm', 'fm' to a score, an inclusive (low, high) range or "
            f"a list of scores, e.g. {{'r': (4, 5), 'fm': (4, 5)}}; got {spec!r}."
        )
    mask = np.ones(len(codes), dtype=bool)
    for dim, cond in spec.items():
        if dim not in _RULE_DIMS:
            raise InvalidDataError(
                f"{caller}: segment {name!r} uses {dim!r}; rules may use {list(_RULE_DIMS)}."
            )
        values = dims[dim]
        if isinstance(cond, (int, np.integer)) and not isinstance(cond, bool):
            mask &= values == cond
        elif isinstance(cond, tuple) and len(cond) == 2:
            mask &= (values >= cond[0]) & (values <= cond[1])
        elif isinstance(cond, (list, set, frozenset)):
            mask &= np.isin(values, list(cond))
        else:
            raise InvalidDataError(
                f"{caller}: segment {name!r}: {dim!r} must be a score, an inclusive (low, high) "
                f"tuple or a list of scores; got {cond!r}."
            )
    return mask


def _custom_grid(mapping: Mapping[str, Any], bins: int, caller: str) -> np.ndarray:
    """Segment position per (r, f, m) cell; errors on overlaps and gaps."""
    scores = np.arange(1, bins + 1)
    rr, ff, mm = (a.ravel() for a in np.meshgrid(scores, scores, scores, indexing="ij"))
    dims = {"r": rr, "f": ff, "m": mm, "fm": (ff + mm + 1) // 2}
    sep = "" if bins <= 9 else "-"
    codes = np.array([f"{a}{sep}{b}{sep}{c}" for a, b, c in zip(rr, ff, mm, strict=True)])
    names = list(mapping)
    masks = np.stack(
        [_rule_mask(mapping[n], dims, codes, n, caller, bins) for n in names]
    )  # rules x cells
    hits = masks.sum(axis=0)
    if (hits > 1).any():
        cell = int(np.argmax(hits > 1))
        both = [names[i] for i in np.flatnonzero(masks[:, cell])]
        raise InvalidDataError(
            f"{caller}: the segment rules overlap on {int((hits > 1).sum())} score cell(s): "
            f"e.g. rfm_code {codes[cell]!r} (r={rr[cell]}, f={ff[cell]}, m={mm[cell]}) "
            f"matches {both}. Every cell must match exactly one segment."
        )
    if (hits == 0).any():
        cell = int(np.argmax(hits == 0))
        raise InvalidDataError(
            f"{caller}: the segment rules leave {int((hits == 0).sum())} of {len(codes)} score "
            f"cell(s) unassigned: e.g. rfm_code {codes[cell]!r} (r={rr[cell]}, f={ff[cell]}, "
            f"m={mm[cell]}). Add a catch-all segment or widen a rule."
        )
    return np.argmax(masks, axis=0)


def _cn8_threshold(values: np.ndarray, spec: Any, key: str, caller: str) -> float:
    if isinstance(spec, str):
        check_choice(spec, ("mean", "median"), name=f"threshold[{key!r}]", caller=caller)
        if len(values) == 0:
            return float("nan")
        return float(np.mean(values) if spec == "mean" else np.median(values))
    if (
        isinstance(spec, bool)
        or not isinstance(spec, (int, float, np.number))
        or not math.isfinite(spec)
    ):
        raise InvalidDataError(
            f"{caller}: threshold[{key!r}] must be 'mean', 'median' or a number, got {spec!r}."
        )
    return float(spec)


def assign_segments(
    table: pd.DataFrame,
    *,
    scheme: Literal["standard", "cn8"] | Mapping[str, Any] = "standard",
    lang: Literal["en", "zh"] = "en",
    threshold: Literal["mean", "median"] | Mapping[str, Any] = "mean",
    m: Literal["monetary_total", "avg_order_value"] = "monetary_total",
    bins: int | None = None,
) -> pd.Series:
    """Name the segment of every customer of an RFM table.

    ``"standard"``: 11 segments on the 5×5 grid of ``r_score`` × ``fm``, where
    ``fm = ceil((f_score + m_score) / 2)``. Every cell has exactly one segment::

              fm=1               fm=2               fm=3               fm=4               fm=5
        r=5   New Customers      Potential Loyalist Loyal Customers    Champions          Champions
        r=4   Promising          Potential Loyalist Potential Loyalist Loyal Customers    Champions
        r=3   Promising          Need Attention     Potential Loyalist Loyal Customers    Loyal Customers
        r=2   About To Sleep     Need Attention     Need Attention     At Risk            At Risk
        r=1   Lost               Hibernating        At Risk            Can't Lose Them    Can't Lose Them

    As codes "r fm": Champions 55 54 45 · Loyal Customers 53 44 35 34 ·
    Potential Loyalist 52 42 33 43 · New Customers 51 · Promising 41 31 · Need
    Attention 32 23 22 · About To Sleep 21 · At Risk 25 24 13 · Can't Lose Them 15 14 ·
    Hibernating 12 · Lost 11. With ``bins`` other than 5, each score is first mapped
    linearly onto 1..5 (``1 + round(4 * (s - 1) / (bins - 1))``, halves up).

    ``"cn8"``: the Chinese 8-class RFM model. R, F and M are each compared with a
    threshold (``threshold``: the mean over all customers by default, or the median, or
    fixed values ``{"r": 30, "f": 3, "m": 200}``). High R means ``days_since_last``
    strictly below its threshold; high F and high M mean ``n_orders`` and M strictly
    above theirs. Ties are low. Classes (R F M): 重要价值客户 Important Value (↑↑↑),
    重要发展客户 Important Development (↑↓↑), 重要保持客户 Important Retention (↓↑↑),
    重要挽留客户 Important Win-back (↓↓↑), 一般价值客户 General Value (↑↑↓),
    一般发展客户 General Development (↑↓↓), 一般保持客户 General Retention (↓↑↓),
    一般挽留客户 General Win-back (↓↓↓).

    A custom mapping ``{segment name: rule}``: a rule is a list of rfm codes
    (``["555", "554"]``) or a mapping of ``"r"``, ``"f"``, ``"m"`` or ``"fm"`` to a
    score, an inclusive ``(low, high)`` tuple or a list of scores
    (``{"r": (4, 5), "fm": (4, 5)}``; ``fm`` on the unscaled scores). Every one of the
    ``bins**3`` score cells must match exactly one rule, else an error names an
    overlapping or uncovered cell.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`rfm_table` (``cn8`` only needs ``days_since_last``,
        ``n_orders`` and M, so a customer summary works too).
    scheme : {"standard", "cn8"} or mapping, default="standard"
        Segment scheme, see above.
    lang : {"en", "zh"}, default="en"
        Language of the built-in segment names.
    threshold : {"mean", "median"} or mapping, default="mean"
        ``cn8`` only: thresholds; a mapping may give some of ``"r"``, ``"f"``, ``"m"``
        as numbers or "mean"/"median" (the others use "mean").
    m : {"monetary_total", "avg_order_value"}, default="monetary_total"
        ``cn8`` only: the monetary measure. ``avg_order_value`` is taken from the
        column, or computed as monetary_total / n_orders when absent.
    bins : int, default=None
        Number of scores; None reads it from ``table.attrs`` set by ``rfm_table``
        (else the largest score present, at least 5).

    Returns
    -------
    pandas.Series
        Named ``segment``, indexed like ``table``, categorical with the scheme's
        segments as categories (in the order listed above). For ``cn8``,
        ``attrs["thresholds"]`` holds the thresholds used.

    Raises
    ------
    InvalidDataError
        Unknown scheme, scores outside 1..bins, overlapping or incomplete custom rules.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.rfm import assign_segments
    >>> table = pd.DataFrame(
    ...     {"r_score": [5, 4, 1, 2], "f_score": [5, 1, 5, 2], "m_score": [4, 1, 4, 1],
    ...      "days_since_last": [3, 20, 300, 150], "n_orders": [8, 1, 6, 2],
    ...      "monetary_total": [800.0, 60.0, 700.0, 90.0]},
    ...     index=pd.Index(["ann", "bob", "cy", "dee"], name="customer_id"))
    >>> assign_segments(table).tolist()
    ['Champions', 'Promising', "Can't Lose Them", 'Need Attention']
    >>> assign_segments(table, scheme="cn8", lang="zh").tolist()
    ['重要价值客户', '一般发展客户', '重要保持客户', '一般挽留客户']
    >>> rules = {"best": {"r": (4, 5), "fm": (4, 5)}, "rest": {"r": (1, 3)},
    ...          "recent": {"r": (4, 5), "fm": (1, 3)}}
    >>> assign_segments(table, scheme=rules).tolist()
    ['best', 'recent', 'rest', 'rest']
    """
    caller = "assign_segments"
    import pandas as pd

    check_choice(lang, ("en", "zh"), name="lang", caller=caller)
    if isinstance(scheme, str):
        check_choice(scheme, ("standard", "cn8"), name="scheme", caller=caller)
    elif not isinstance(scheme, Mapping) or not scheme:
        raise InvalidDataError(
            f"{caller}: scheme must be 'standard', 'cn8' or a non-empty mapping of segment "
            f"names to rules, got {scheme!r}."
        )
    attrs: dict[str, Any] = {}
    if isinstance(scheme, str) and scheme == "cn8":
        check_choice(m, ("monetary_total", "avg_order_value"), name="m", caller=caller)
        need = ["days_since_last", "n_orders"] + (
            ["monetary_total"]
            if m == "monetary_total" or "avg_order_value" not in table.columns
            else [m]
        )
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise ColumnNotFoundError(
                f"{caller}: column {missing[0]!r} not found in `table`.\n"
                f"Available columns: {list(table.columns)}.\n"
                f"Hint: pass the output of crm.rfm_table or crm.customer_summary."
            )
        _check_numeric(table, need, caller=caller, frame_name="table")
        days = table["days_since_last"].to_numpy(dtype="float64")
        orders = table["n_orders"].to_numpy(dtype="float64")
        if m == "avg_order_value" and "avg_order_value" in table.columns:
            money = table["avg_order_value"].to_numpy(dtype="float64")
        elif m == "avg_order_value":
            with np.errstate(divide="ignore", invalid="ignore"):
                money = table["monetary_total"].to_numpy(dtype="float64") / orders
        else:
            money = table["monetary_total"].to_numpy(dtype="float64")
        if isinstance(threshold, str):
            spec: dict[str, Any] = {"r": threshold, "f": threshold, "m": threshold}
        elif isinstance(threshold, Mapping):
            unknown = sorted(set(threshold) - {"r", "f", "m"})
            if unknown:
                raise InvalidDataError(
                    f"{caller}: threshold keys must be 'r', 'f' or 'm', got unknown {unknown}."
                )
            spec = {"r": "mean", "f": "mean", "m": "mean", **threshold}
        else:
            raise InvalidDataError(
                f"{caller}: threshold must be 'mean', 'median' or a mapping such as "
                f"{{'r': 30, 'f': 3, 'm': 200}}, got {threshold!r}."
            )
        cuts = {
            k: _cn8_threshold(v, spec[k], k, caller)
            for k, v in (("r", days), ("f", orders), ("m", money))
        }
        high_r = days < cuts["r"]
        high_f = orders > cuts["f"]
        high_m = money > cuts["m"]
        codes = (~high_m).astype(np.int8) * 4 + (~high_r).astype(np.int8) * 2 + (~high_f)
        names = [zh if lang == "zh" else en for zh, en in CN8_SEGMENTS.values()]
        attrs["thresholds"] = cuts
    else:
        bins_ = _table_bins(table, bins, caller)
        s = _check_scores(table, bins_, caller)
        if isinstance(scheme, str):  # standard
            r5 = _rescale_to_5(s["r"], bins_)
            fm = (_rescale_to_5(s["f"], bins_) + _rescale_to_5(s["m"], bins_) + 1) // 2
            codes = STANDARD_GRID[r5 - 1, fm - 1]
            names = [zh if lang == "zh" else en for en, (zh, _) in STANDARD_SEGMENTS.items()]
        else:
            cell_segment = _custom_grid(scheme, bins_, caller)
            cell = ((s["r"] - 1) * bins_ + (s["f"] - 1)) * bins_ + (s["m"] - 1)
            codes = cell_segment[cell]
            names = [str(n) for n in scheme]
    out = pd.Series(
        pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=names),
        index=table.index.copy(),
        name="segment",
    )
    out.attrs.update(attrs)
    return out


def segment_summary(table: pd.DataFrame, *, segment_col: str = "segment") -> pd.DataFrame:
    """Customers, revenue, behaviour and a recommended action per segment.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`rfm_table` (needs ``segment_col``, ``days_since_last``,
        ``n_orders`` and ``monetary_total``).
    segment_col : str, default="segment"
        Column holding the segment.

    Returns
    -------
    pandas.DataFrame
        One row per segment (all categories of a categorical segment, empty ones with
        0 customers), indexed by ``segment_col``, with columns ``customers``,
        ``customer_share``, ``revenue`` (sum of monetary_total), ``revenue_share``,
        ``mean_days_since_last``, ``mean_n_orders``, ``mean_aov`` (mean of each
        customer's monetary_total / n_orders) and ``action`` (recommended action for
        the built-in segments, in the language of the name; empty for custom ones).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.rfm import segment_summary
    >>> table = pd.DataFrame(
    ...     {"segment": ["Champions", "Lost", "Champions"],
    ...      "days_since_last": [2, 300, 10], "n_orders": [4, 1, 2],
    ...      "monetary_total": [400.0, 50.0, 150.0]},
    ...     index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> s = segment_summary(table)
    >>> s[["customers", "customer_share", "revenue", "revenue_share", "mean_aov"]]
               customers  customer_share  revenue  revenue_share  mean_aov
    segment
    Champions          2        0.666667    550.0       0.916667      87.5
    Lost               1        0.333333     50.0       0.083333      50.0
    >>> s.loc["Lost", "action"]
    'One low-cost reactivation attempt, otherwise stop spending on them.'
    """
    caller = "segment_summary"
    import pandas as pd

    need = [segment_col, "days_since_last", "n_orders", "monetary_total"]
    for col in need:
        if col not in table.columns:
            guess = nearest(col, table.columns)
            hint = (
                f"pass segment_col={guess!r}"
                if col == segment_col and guess
                else ("score the customers first with crm.rfm_table(data)")
            )
            raise ColumnNotFoundError(
                f"{caller}: column {col!r} not found in `table`.\n"
                f"Available columns: {list(table.columns)}.\nHint: {hint}."
            )
    _check_numeric(table, need[1:], caller=caller, frame_name="table")
    orders = table["n_orders"].to_numpy(dtype="float64")
    money = table["monetary_total"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        aov = np.where(orders > 0, money / orders, np.nan)
    work = pd.DataFrame(
        {
            "segment": table[segment_col].to_numpy(),
            "days": table["days_since_last"].to_numpy(dtype="float64"),
            "orders": orders,
            "money": money,
            "aov": aov,
        }
    )
    seg = table[segment_col]
    if isinstance(seg.dtype, pd.CategoricalDtype):
        work["segment"] = pd.Categorical(work["segment"], categories=seg.cat.categories)
    grouped = work.groupby("segment", observed=False, sort=True)
    out = grouped.agg(
        customers=("days", "size"),
        revenue=("money", "sum"),
        mean_days_since_last=("days", "mean"),
        mean_n_orders=("orders", "mean"),
        mean_aov=("aov", "mean"),
    )
    n = out["customers"].sum()
    total = out["revenue"].sum()
    out.insert(1, "customer_share", out["customers"] / n if n else np.nan)
    out.insert(3, "revenue_share", out["revenue"] / total if total else np.nan)
    out["customers"] = out["customers"].astype("int64")
    out["action"] = [_ACTIONS.get(str(name), "") for name in out.index]
    out.index = pd.Index(list(out.index), name=segment_col, dtype=object)
    return out
