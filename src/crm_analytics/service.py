"""After-sales and satisfaction: refunds and their reasons, reviews, satisfaction by segment.

- :func:`normalize_reasons`: free-text refund reasons (退款原因) to a small set of
  canonical groups (:data:`REASON_GROUPS`) with patterns users can extend.
- :func:`refund_analysis`: refund rate by orders and by money, per period and per
  group (product, category, channel), and the refunded money per reason group with
  the top reasons' share (退款原因统计分析).
- :func:`flag_negative`: the negative terms (质量差, 破损, 假货, broken, fake, late, ...)
  found in review texts, skipping negated mentions (没有破损, not broken).
- :func:`review_analysis`: rating distribution per period and group, share of
  negative reviews (差评率) and the reviews that need a reply.
- :func:`satisfaction`: per segment (or product, channel, ...): average rating,
  negative-review rate, refund rate, and the repurchase rate after a bad experience
  against after a clean order, with confidence intervals.

Inputs are canonical tables: orders (``crm.read_orders``), refunds
(``crm.io.read_refunds``: ``order_id``, ``refund_amount``, ``reason``,
``refund_status``, ``refund_time``) and reviews (``crm.io.read_reviews``:
``order_id``, ``customer_id``, ``rating`` 1-5, ``text``, ``review_time``). The
keyword lists and reason patterns ship as data in ``profiles/service_terms.json``
(see :func:`service_terms`); everything is plain, testable rules, with no network
service or model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import schema
from ._validation import as_frame, check_choice, check_columns, check_datetime_dtype, example_values
from .exceptions import ColumnNotFoundError, InvalidDataError

__all__ = [
    "REASON_GROUPS",
    "RefundAnalysis",
    "ReviewAnalysis",
    "flag_negative",
    "normalize_reasons",
    "refund_analysis",
    "review_analysis",
    "satisfaction",
    "service_terms",
]

#: Canonical refund reason groups, in the order patterns are tried (``other`` last).
REASON_GROUPS: tuple[str, ...] = (
    "not_as_described",
    "size_fit",
    "logistics_damaged",
    "quality",
    "changed_mind",
    "other",
)
_PERIODS = ("D", "W", "M", "Q", "Y")
_EPS = 1e-9


# ------------------------------------------------------------------------------------
# bundled terms
# ------------------------------------------------------------------------------------
@cache
def _terms() -> dict[str, Any]:
    text = (
        resources.files("crm_analytics")
        .joinpath("profiles")
        .joinpath("service_terms.json")
        .read_text("utf-8")
    )
    return json.loads(text)


def service_terms() -> dict[str, Any]:
    """Return the bundled keyword lists (a copy that is safe to change).

    Returns
    -------
    dict
        ``"reasons"``: ``{reason group: [regular expressions]}`` used by
        :func:`normalize_reasons`; ``"negative_terms"``: ``{"zh": [...], "en": [...]}``
        used by :func:`flag_negative`; ``"negations"``: the words that cancel a
        negative term right before it (没有, 不, not, ...); ``"tiers"``: known member
        tier ladders, lowest first (used by ``crm.loyalty``).

    Examples
    --------
    >>> import crm_analytics as crm
    >>> terms = crm.service.service_terms()
    >>> sorted(terms["reasons"])
    ['changed_mind', 'logistics_damaged', 'not_as_described', 'quality', 'size_fit']
    >>> "破损" in terms["negative_terms"]["zh"], "broken" in terms["negative_terms"]["en"]
    (True, True)
    """
    return json.loads(json.dumps(_terms()))


def _pattern(term: str, *, literal: bool) -> str:
    body = re.escape(term) if literal else term
    return rf"\b{body}\b" if term.isascii() and term[:1].isalnum() else body


# ------------------------------------------------------------------------------------
# refund reasons
# ------------------------------------------------------------------------------------
def normalize_reasons(
    reasons: pd.Series,
    *,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
) -> pd.Series:
    """Map free-text refund reasons to canonical reason groups.

    Parameters
    ----------
    reasons : pandas.Series
        Reason texts as written by buyers or platforms (退款原因), any language.
    mapping : dict, optional
        Extra patterns, ``{group: pattern or [patterns]}`` (regular expressions,
        case-insensitive). They are tried before the bundled ones, and a group may be
        new (e.g. ``{"price": ["降价", "price drop"]}``).

    Returns
    -------
    pandas.Series
        The reason group of each row, same index, categorical with the groups as
        categories: ``not_as_described`` (与描述不符, 色差, 假货, 发错货, wrong item,
        fake), ``size_fit`` (尺码, 偏大, too small, doesn't fit), ``logistics_damaged``
        (破损, 快递, 未收到, damaged, late, never arrived), ``quality`` (质量, 做工,
        瑕疵, defective, stopped working), ``changed_mind`` (七天无理由, 不想要, 拍错,
        changed my mind, no longer need), ``other`` (anything else, and empty
        reasons). The first group in that order whose pattern matches wins.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> reasons = pd.Series(["质量问题", "七天无理由退换货", "收到商品破损",
    ...                      "Item not as described", "too small", "其他"])
    >>> crm.service.normalize_reasons(reasons).tolist()
    ['quality', 'changed_mind', 'logistics_damaged', 'not_as_described', 'size_fit', 'other']
    >>> crm.service.normalize_reasons(pd.Series(["买贵了，降价了"]),
    ...                               mapping={"price": "降价"}).tolist()
    ['price']
    """
    if not isinstance(reasons, pd.Series):
        raise InvalidDataError(
            f"normalize_reasons: `reasons` must be a pandas Series, got {type(reasons).__name__}. "
            "Pass a column, e.g. refunds['reason']."
        )
    groups: list[tuple[str, list[str]]] = []
    for group, patterns in (mapping or {}).items():
        groups.append((str(group), [patterns] if isinstance(patterns, str) else list(patterns)))
    bundled = _terms()["reasons"]
    groups += [(g, bundled[g]) for g in REASON_GROUPS if g in bundled]
    text = reasons.astype("string").str.strip().str.lower()
    out = pd.Series(None, index=reasons.index, dtype=object)
    for group, patterns in groups:  # a handful of groups; each test is over the column
        if not patterns:
            continue
        regex = "|".join(f"(?:{_pattern(p.lower(), literal=False)})" for p in patterns)
        hit = text.str.contains(regex, regex=True).to_numpy(dtype=bool, na_value=False)
        out[hit & out.isna().to_numpy()] = group
    categories = list(dict.fromkeys([g for g, _ in groups] + ["other"]))
    return pd.Series(
        pd.Categorical(out.fillna("other"), categories=categories),
        index=reasons.index,
        name=reasons.name,
    )


@dataclass(frozen=True)
class RefundAnalysis:
    """What :func:`refund_analysis` computed.

    Attributes
    ----------
    overall : pandas.DataFrame
        One row (index ``"all"``) with the rate columns below.
    by_period : pandas.DataFrame or None
        The rate columns per period of the order time (index ``period``).
    by_group : pandas.DataFrame or None
        The rate columns per value of ``by`` (index named after ``by``).
    reasons : pandas.DataFrame or None
        Per reason group (most refunded money first): ``refunds``,
        ``refunded_amount``, ``amount_share``, ``cumulative_share`` and
        ``top_reason`` (the most frequent reason text of the group). None without a
        refunds table.
    reasons_by_group : pandas.DataFrame or None
        With ``by`` and a refunds table: indexed by (``by``, ``reason_group``), the
        same money columns within each group.
    top_share : float
        Share of the refunded money in the ``top`` largest reason groups (NaN
        without a refunds table).
    detail : pandas.DataFrame or None
        The refunds used, with their ``reason_group``.
    unmatched_refunds : int
        Refunds whose order is not in the orders (counted in ``reasons`` only).

    Notes
    -----
    The rate columns: ``orders`` (paid orders, refunded ones included),
    ``refunded_orders`` (with any refund), ``full_refunds`` (refund covers the
    amount), ``order_refund_rate`` (refunded_orders / orders), ``sales`` (amount
    paid), ``refunded_amount`` and ``amount_refund_rate`` (refunded_amount / sales).
    """

    overall: pd.DataFrame
    by_period: pd.DataFrame | None
    by_group: pd.DataFrame | None
    reasons: pd.DataFrame | None
    reasons_by_group: pd.DataFrame | None
    top_share: float
    detail: pd.DataFrame | None
    unmatched_refunds: int = 0


def _check_period(period: Any, caller: str) -> None:
    if period is not None:
        check_choice(period, _PERIODS, name="period", caller=caller)


def _to_pandas(frame: Any, name: str, caller: str) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    import narwhals as nw

    native = as_frame(frame, caller=caller, name=name)
    if isinstance(native, nw.LazyFrame):
        native = native.collect()
    return native.to_pandas()


def _numbers(frame: pd.DataFrame, col: str, caller: str, name: str) -> np.ndarray:
    values = frame[col]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = values[converted.isna() & values.notna()]
        if not len(bad) and not pd.api.types.is_bool_dtype(values):
            return np.nan_to_num(converted.to_numpy(dtype="float64", na_value=np.nan))
        raise InvalidDataError(
            f"{caller}: column {col!r} of `{name}` must be numeric, got {values.dtype}; "
            f"{len(bad)} rows are not numbers, e.g. {example_values(bad.tolist(), 2)}.\n"
            f"Load with crm.read_{name}(path), or convert first: "
            f"{name}[{col!r}] = pd.to_numeric({name}[{col!r}], errors='coerce')."
        )
    return np.nan_to_num(values.to_numpy(dtype="float64", na_value=np.nan))


def _order_lines(
    orders: Any,
    caller: str,
    *,
    customer_col: str,
    time_col: str,
    order_col: str,
    amount_col: str,
    status_col: str | None,
    refund_col: str | None,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Validated order lines: order, customer, time, amount, refund, paid/purchase flags."""
    frame = _to_pandas(orders, "orders", caller)
    roles = {
        "order_col": order_col,
        "customer_col": customer_col,
        "time_col": time_col,
        "amount_col": amount_col,
    }
    if extra:
        roles["by"] = extra[0]
    check_columns(list(frame.columns), roles, caller=caller)
    check_datetime_dtype(frame[time_col].dtype, time_col, caller=caller)
    amount = _numbers(frame, amount_col, caller, "orders")
    refund = (
        _numbers(frame, refund_col, caller, "orders")
        if refund_col is not None and refund_col in frame.columns
        else np.zeros(len(frame))
    )
    if status_col is not None and status_col in frame.columns:
        status = frame[status_col].astype("string")
        paid = status.isin([schema.PAID, schema.REFUNDED]).to_numpy(dtype=bool, na_value=False)
        is_paid = (status == schema.PAID).to_numpy(dtype=bool, na_value=False)
        marked = (status == schema.REFUNDED).to_numpy(dtype=bool, na_value=False)
    else:
        paid = is_paid = np.ones(len(frame), dtype=bool)
        marked = np.zeros(len(frame), dtype=bool)
    time = frame[time_col]
    if getattr(time.dtype, "tz", None) is not None:
        time = time.dt.tz_localize(None)
    # a refunded row without a recorded refund returned what was paid
    refund = np.where(marked & (refund <= 0), amount, refund)
    lines = pd.DataFrame(
        {
            "order": frame[order_col].to_numpy(),
            "customer": frame[customer_col].to_numpy(),
            "time": time.to_numpy(dtype="datetime64[ns]"),
            "amount": amount,
            "refund": np.clip(refund, 0.0, None),
            "paid": paid & time.notna().to_numpy(),
            "purchase": is_paid & ~((refund > 0) & (refund >= amount)),
        }
    )
    for col in extra:
        lines[col] = frame[col].to_numpy()
    lines["order_time"] = lines.groupby("order", sort=False)["time"].transform("min")
    return lines


def _refund_rows(
    refunds: Any,
    caller: str,
    *,
    order_col: str,
    refund_amount_col: str,
    reason_col: str,
    status_col: str,
    statuses: Sequence[str] | None,
    reason_map: Mapping[str, str | Sequence[str]] | None,
) -> pd.DataFrame:
    frame = _to_pandas(refunds, "refunds", caller)
    check_columns(
        list(frame.columns),
        {"order_col": order_col, "refund_amount_col": refund_amount_col},
        caller=caller,
        frame_name="refunds",
    )
    amount = _numbers(frame, refund_amount_col, caller, "refunds")
    keep = np.ones(len(frame), dtype=bool)
    if statuses is not None and status_col in frame.columns:
        status = frame[status_col].astype("string")
        keep = (status.isin(list(statuses)) | status.isna()).to_numpy(dtype=bool, na_value=True)
    detail = frame[keep].copy()
    detail["_amount"] = np.abs(amount[keep])
    reasons = (
        detail[reason_col]
        if reason_col in detail.columns
        else pd.Series(pd.NA, index=detail.index, dtype="string")
    )
    detail["reason_group"] = normalize_reasons(reasons, mapping=reason_map)
    return detail


def _rate_table(lines: pd.DataFrame, key: Any, name: str) -> pd.DataFrame:
    """Rate columns per value of ``key`` (one row per distinct key)."""
    per = lines.groupby([key, lines["order"]], sort=False, observed=True, dropna=False).agg(
        amount=("amount", "sum"), refund=("line_refund", "sum")
    )
    per["refunded"] = per["refund"] > _EPS
    per["full"] = per["refunded"] & (per["refund"] >= per["amount"] - _EPS)
    out = per.groupby(level=0, sort=True, observed=True, dropna=False).agg(
        orders=("amount", "size"),
        refunded_orders=("refunded", "sum"),
        full_refunds=("full", "sum"),
        sales=("amount", "sum"),
        refunded_amount=("refund", "sum"),
    )
    out = out.astype({"orders": "int64", "refunded_orders": "int64", "full_refunds": "int64"})
    out.insert(3, "order_refund_rate", out["refunded_orders"] / out["orders"])
    sales = out["sales"].where(out["sales"] > 0)
    out["amount_refund_rate"] = (out["refunded_amount"] / sales).astype("float64")
    out.index.name = name
    return out


def _reason_table(detail: pd.DataFrame, reason_col: str, keys: list[Any]) -> pd.DataFrame:
    work = pd.DataFrame(
        {"reason_group": detail["reason_group"].astype(str), "amount": detail["_amount"]},
        index=detail.index,
    )
    work["text"] = detail[reason_col].astype(object) if reason_col in detail else None
    for i, k in enumerate(keys):
        work[f"_k{i}"] = k
    group_cols = [f"_k{i}" for i in range(len(keys))] + ["reason_group"]
    out = work.groupby(group_cols, sort=False, dropna=False).agg(
        refunds=("amount", "size"), refunded_amount=("amount", "sum")
    )
    out["refunds"] = out["refunds"].astype("int64")
    texts = work.dropna(subset=["text"])
    if len(texts):
        counts = texts.groupby([*group_cols, "text"], sort=False, dropna=False).size()
        counts = counts.sort_values(ascending=False, kind="stable").reset_index()
        top = counts.drop_duplicates(group_cols).set_index(group_cols)["text"]
        out["top_reason"] = top.reindex(out.index).to_numpy(dtype=object)
    else:
        out["top_reason"] = None
    if keys:
        total = out.groupby(level=0, dropna=False)["refunded_amount"].transform("sum")
        out = out.sort_values(["refunded_amount"], ascending=False, kind="stable")
        out = out.sort_index(level=0, sort_remaining=False, kind="stable")
        out.insert(2, "amount_share", out["refunded_amount"] / total.reindex(out.index))
        return out
    out = out.sort_values("refunded_amount", ascending=False, kind="stable")
    total = out["refunded_amount"].sum()
    share = out["refunded_amount"] / total if total > 0 else out["refunded_amount"] * np.nan
    out.insert(2, "amount_share", share)
    out.insert(3, "cumulative_share", share.cumsum())
    out.index = pd.Index(out.index.astype(object), name="reason_group")
    return out


def refund_analysis(
    orders: Any,
    refunds: Any = None,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] | None = "M",
    by: str | None = None,
    reason_map: Mapping[str, str | Sequence[str]] | None = None,
    statuses: Sequence[str] | None = ("succeeded",),
    top: int = 3,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    refund_amount_col: str = schema.REFUND_AMOUNT,
    reason_col: str = "reason",
    refund_status_col: str = "refund_status",
) -> RefundAnalysis:
    """Refund rates by orders and money, per period and group, and refunds by reason.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders. Paid orders count (status ``paid`` or ``refunded``); unpaid
        and cancelled ones never received money.
    refunds : DataFrame, optional
        A refunds table (``crm.io.read_refunds``): gives the reasons, and refunds the
        orders do not record yet (an order's refund is the larger of the two
        sources, never their sum, capped at what was paid; the difference is spread
        over the order's lines by their value).
    period : {"D", "W", "M", "Q", "Y"} or None, default="M"
        Period of ``by_period``, by order time: a rate is the share of the
        period's orders that were (later) refunded. None: no ``by_period``.
    by : str, optional
        A column of ``orders`` (``product_id``, ``category``, ``channel``, ...) for
        ``by_group``. Line-level columns count an order in each group it has lines
        in, with the money of those lines.
    reason_map : dict, optional
        Extra reason patterns for :func:`normalize_reasons`.
    statuses : sequence of str or None, default=("succeeded",)
        Refund statuses that count (rows with an empty status count too); None
        counts every row (requests included).
    top : int, default=3
        Number of reason groups in ``top_share``.
    customer_col, time_col, order_col, amount_col, status_col, refund_col : str
        Columns of ``orders`` (canonical defaults).
    refund_amount_col, reason_col, refund_status_col : str
        Columns of ``refunds``; its order column is ``order_col``.

    Returns
    -------
    RefundAnalysis
        ``overall``, ``by_period``, ``by_group``, ``reasons``, ``reasons_by_group``,
        ``top_share``, ``detail``, ``unmatched_refunds`` (see :class:`RefundAnalysis`).

    Examples
    --------
    Four paid orders, two of them refunded (hand-checked: 1 of 2 orders in March,
    30 of 150 paid; 1 of 2 in April, 80 of 180):

    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4", "5"],
    ...     "customer_id": ["a", "b", "a", "c", "d"],
    ...     "order_time": pd.to_datetime(["2024-03-01", "2024-03-05", "2024-04-02",
    ...                                   "2024-04-09", "2024-04-10"]),
    ...     "amount": [100.0, 50.0, 80.0, 100.0, 60.0],
    ...     "status": ["paid", "paid", "refunded", "paid", "unpaid"],
    ...     "refund_amount": [0.0, 30.0, 80.0, 0.0, 0.0],
    ... })
    >>> refunds = pd.DataFrame({
    ...     "order_id": ["2", "3"],
    ...     "refund_amount": [30.0, 80.0],
    ...     "reason": ["尺码偏小", "收到商品破损"],
    ... })
    >>> result = crm.service.refund_analysis(orders, refunds)
    >>> result.by_period[["orders", "refunded_orders", "order_refund_rate", "amount_refund_rate"]]
             orders  refunded_orders  order_refund_rate  amount_refund_rate
    period
    2024-03       2                1                0.5            0.200000
    2024-04       2                1                0.5            0.444444
    >>> result.reasons[["refunds", "refunded_amount", "amount_share", "top_reason"]]
                       refunds  refunded_amount  amount_share top_reason
    reason_group
    logistics_damaged        1             80.0      0.727273     收到商品破损
    size_fit                 1             30.0      0.272727       尺码偏小
    """
    caller = "refund_analysis"
    _check_period(period, caller)
    if not (isinstance(top, (int, np.integer)) and top >= 1):
        raise InvalidDataError(f"{caller}: top must be a positive integer, got {top!r}.")
    lines = _order_lines(
        orders, caller, customer_col=customer_col, time_col=time_col, order_col=order_col,
        amount_col=amount_col, status_col=status_col, refund_col=refund_col,
        extra=[by] if by is not None else [],
    )  # fmt: skip
    lines = lines[lines["paid"].to_numpy()].reset_index(drop=True)
    lines["line_refund"] = np.minimum(lines["refund"].to_numpy(), lines["amount"].clip(lower=0))
    detail = None
    reasons = reasons_by = None
    top_share = float("nan")
    unmatched = 0
    if refunds is not None:
        detail = _refund_rows(
            refunds, caller, order_col=order_col, refund_amount_col=refund_amount_col,
            reason_col=reason_col, status_col=refund_status_col, statuses=statuses,
            reason_map=reason_map,
        )  # fmt: skip
        per_order = detail.groupby(detail[order_col].astype(str).to_numpy())["_amount"].sum()
        key = lines["order"].astype(str)
        known = per_order.index.isin(key.unique())
        unmatched = int(
            detail[order_col].astype(str).isin(per_order.index[~known]).to_numpy().sum()
        )
        table_total = per_order.reindex(key.to_numpy()).fillna(0.0).to_numpy()
        grouped = lines.groupby(key.to_numpy(), sort=False)
        order_amount = grouped["amount"].transform("sum").to_numpy()
        recorded = grouped["line_refund"].transform("sum").to_numpy()
        extra = np.clip(np.minimum(table_total, order_amount) - recorded, 0.0, None)
        room = (lines["amount"].clip(lower=0) - lines["line_refund"]).to_numpy()
        room_total = pd.Series(room).groupby(key.to_numpy(), sort=False).transform("sum")
        weight = np.where(room_total > 0, room / np.where(room_total > 0, room_total, 1.0), 0.0)
        lines["line_refund"] = lines["line_refund"].to_numpy() + extra * weight
        reasons = _reason_table(detail, reason_col, [])
        top_share = float(reasons["amount_share"].head(top).sum())
        if by is not None:
            # a refund is attributed to its order's group (the first line's value)
            heads = lines.drop_duplicates("order")
            first = pd.Series(heads[by].to_numpy(), index=heads["order"].astype(str).to_numpy())
            group = first.reindex(detail[order_col].astype(str).to_numpy()).to_numpy()
            reasons_by = _reason_table(detail, reason_col, [group])
            reasons_by.index = reasons_by.index.set_names([by, "reason_group"])
    overall = _rate_table(lines, np.full(len(lines), "all", dtype=object), "")
    overall.index = pd.Index(["all"], dtype=object) if len(overall) else overall.index
    overall.index.name = None
    by_period = None
    if period is not None:
        label = lines["order_time"].dt.to_period(period)
        by_period = _rate_table(lines, label, "period")
    by_group = _rate_table(lines, lines[by], by) if by is not None else None
    return RefundAnalysis(
        overall=overall,
        by_period=by_period,
        by_group=by_group,
        reasons=reasons,
        reasons_by_group=reasons_by,
        top_share=top_share,
        detail=detail.drop(columns="_amount") if detail is not None else None,
        unmatched_refunds=unmatched,
    )


# ------------------------------------------------------------------------------------
# reviews
# ------------------------------------------------------------------------------------
def _term_lists(negative_terms: Any) -> list[str]:
    bundled = _terms()["negative_terms"]
    terms = [*bundled.get("zh", []), *bundled.get("en", [])]
    if negative_terms is None:
        return terms
    if isinstance(negative_terms, str):
        return [*terms, negative_terms]
    if isinstance(negative_terms, Mapping):
        extra = [t for v in negative_terms.values() for t in ([v] if isinstance(v, str) else v)]
        return [*terms, *extra]
    return [*terms, *[str(t) for t in negative_terms]]


def _negative_regex(terms: Sequence[str]) -> str:
    negations = _terms()["negations"]
    zh_guard = "".join(f"(?<!{re.escape(n)})" for n in negations.get("zh", []))
    en_guard = "".join(f"(?<!\\b{re.escape(n)} )" for n in negations.get("en", []))
    parts = []
    for term in sorted({t.lower() for t in terms if t}, key=len, reverse=True):
        guard = en_guard if term.isascii() else zh_guard
        parts.append(guard + _pattern(term, literal=True))
    return "(?P<term>" + "|".join(parts) + ")"


def flag_negative(texts: pd.Series, *, negative_terms: Any = None) -> pd.Series:
    """The negative terms found in each text, skipping negated mentions.

    Parameters
    ----------
    texts : pandas.Series
        Review texts.
    negative_terms : list of str or dict, optional
        Extra terms added to the bundled Chinese and English lists (see
        :func:`service_terms`): a list, or ``{"zh": [...], "en": [...]}``. English
        terms match whole words, case-insensitively. A term right after a negation
        (没有, 不, 无, not, no, never, ...) does not count: 没有破损 and "not broken"
        are praise.

    Returns
    -------
    pandas.Series
        Same index: the distinct matched terms joined by ``"; "`` in order of
        appearance, or NaN when none matched.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> texts = pd.Series(["质量差，有破损", "包装完好，没有破损", "Arrived late and broken",
    ...                    "not broken, fast delivery", None])
    >>> crm.service.flag_negative(texts).tolist()
    ['质量差; 破损', nan, 'late; broken', nan, nan]
    """
    if not isinstance(texts, pd.Series):
        raise InvalidDataError(
            f"flag_negative: `texts` must be a pandas Series, got {type(texts).__name__}. "
            "Pass a column, e.g. reviews['text']."
        )
    regex = _negative_regex(_term_lists(negative_terms))
    lowered = texts.astype("string").str.lower().reset_index(drop=True)
    found = lowered.str.extractall(regex)
    out = pd.Series(np.nan, index=range(len(texts)), dtype=object)
    if len(found):
        terms = found["term"].reset_index(level=1, drop=True)
        terms = terms.groupby(level=0).agg(lambda t: "; ".join(dict.fromkeys(t)))
        out[terms.index.to_numpy()] = terms.to_numpy(dtype=object)
    out.index = texts.index
    return out


@dataclass(frozen=True)
class ReviewAnalysis:
    """What :func:`review_analysis` computed.

    Attributes
    ----------
    distribution : pandas.DataFrame
        Per period and/or group (index ``"all"`` without either): ``reviews``,
        ``rated``, ``rating_1`` ... ``rating_5`` (reviews per rounded rating),
        ``mean_rating``, ``negative`` (rating at or below ``low_rating``),
        ``negative_rate`` (negative / rated, 差评率), ``with_negative_terms`` and
        ``to_reply``.
    to_reply : pandas.DataFrame
        The reviews that need a reply (low rating or negative terms), lowest rating
        first: the review's columns plus ``negative_terms`` and ``reply_reason``
        (``"low rating"``, ``"negative terms"`` or ``"low rating + negative terms"``).
    terms : pandas.DataFrame
        Indexed by ``term``: ``reviews`` (how many reviews mention it) and ``share``
        (of all reviews), most frequent first.
    detail : pandas.DataFrame
        Every review with ``negative``, ``negative_terms`` and ``needs_reply``.
    """

    distribution: pd.DataFrame
    to_reply: pd.DataFrame
    terms: pd.DataFrame
    detail: pd.DataFrame = field(repr=False)


def _group_values(
    frame: pd.DataFrame,
    by: str,
    *,
    orders: pd.DataFrame | None,
    segments: pd.Series | None,
    customer_col: str,
    order_col: str,
    caller: str,
    name: str,
) -> np.ndarray:
    """Values of ``by`` per row: the frame's column, the customer's segment, or the order's."""
    if by in frame.columns:
        return frame[by].to_numpy()
    if segments is not None:
        if customer_col not in frame.columns:
            raise ColumnNotFoundError(
                f"{caller}: `segments` maps customers, but `{name}` has no {customer_col!r} "
                f"column.\nAvailable columns: {list(frame.columns)}.\n"
                "Hint: pass orders= so customers are found through the order ids."
            )
        return segments.reindex(frame[customer_col].to_numpy()).to_numpy()
    if orders is not None and by in orders.columns and order_col in frame.columns:
        first = orders.drop_duplicates(order_col).set_index(order_col)[by]
        return first.reindex(frame[order_col].to_numpy()).to_numpy()
    raise ColumnNotFoundError(
        f"{caller}: column {by!r} (by) not found in `{name}`"
        + (" or `orders`" if orders is not None else "")
        + f".\nAvailable columns: {list(frame.columns)}.\n"
        "Hint: pass orders= to take it from the orders, or segments= (a Series "
        "customer -> segment, e.g. crm.rfm_table(orders)['segment'])."
    )


def review_analysis(
    reviews: Any,
    *,
    orders: Any = None,
    negative_terms: Any = None,
    period: Literal["D", "W", "M", "Q", "Y"] | None = None,
    by: str | None = None,
    segments: pd.Series | None = None,
    low_rating: float = 2,
    customer_col: str = schema.CUSTOMER_ID,
    order_col: str = schema.ORDER_ID,
    time_col: str = "review_time",
    rating_col: str = "rating",
    text_col: str = "text",
) -> ReviewAnalysis:
    """Rating distribution, negative-review rate (差评率) and reviews that need a reply.

    Parameters
    ----------
    reviews : DataFrame
        A reviews table (``crm.io.read_reviews``): ``rating`` (1-5) and/or ``text``.
    orders : DataFrame, optional
        Canonical orders: ``by`` columns not in the reviews (``product_id``,
        ``category``, ``channel``) and missing customer ids are taken from the
        review's order (its first line).
    negative_terms : list of str or dict, optional
        Extra negative terms (see :func:`flag_negative`).
    period : {"D", "W", "M", "Q", "Y"}, optional
        Split the distribution by the period of ``time_col``.
    by : str, optional
        Split the distribution by a column of the reviews or of the orders, or by
        customer segment with ``segments``.
    segments : pandas.Series, optional
        Customer -> segment (e.g. ``crm.rfm_table(orders)["segment"]``) for ``by``.
    low_rating : float, default=2
        Ratings at or below it are negative (差评: 1-2 of 5; Taobao's 差评 label
        loads as 1, 中评 as 3).
    customer_col, order_col, time_col, rating_col, text_col : str
        Columns of ``reviews`` (canonical defaults).

    Returns
    -------
    ReviewAnalysis
        ``distribution``, ``to_reply``, ``terms``, ``detail`` (see
        :class:`ReviewAnalysis`).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> reviews = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "rating": [5.0, 1.0, 4.0, 5.0],
    ...     "text": ["很好，没有破损", "质量差，假货", "物流太慢了", "great"],
    ... })
    >>> result = crm.service.review_analysis(reviews)
    >>> result.distribution[["reviews", "mean_rating", "negative", "negative_rate", "to_reply"]]
         reviews  mean_rating  negative  negative_rate  to_reply
    all        4         3.75         1           0.25         2
    >>> result.to_reply[["order_id", "rating", "negative_terms", "reply_reason"]]
      order_id  rating negative_terms                 reply_reason
    1        2     1.0      质量差; 假货  low rating + negative terms
    2        3     4.0             太慢               negative terms
    """
    caller = "review_analysis"
    _check_period(period, caller)
    frame = _to_pandas(reviews, "reviews", caller)
    if rating_col not in frame.columns and text_col not in frame.columns:
        check_columns(list(frame.columns), {"rating_col": rating_col}, caller=caller,
                      frame_name="reviews")  # fmt: skip
    order_frame = _to_pandas(orders, "orders", caller) if orders is not None else None
    detail = frame.copy()
    if (
        order_frame is not None
        and order_col in detail.columns
        and order_col in order_frame.columns
        and customer_col in order_frame.columns
    ):
        owner = order_frame.drop_duplicates(order_col).set_index(order_col)[customer_col]
        found = owner.reindex(detail[order_col].to_numpy()).to_numpy()
        if customer_col in detail.columns:
            detail[customer_col] = detail[customer_col].where(detail[customer_col].notna(), found)
        else:
            detail[customer_col] = found
    if rating_col in detail.columns:
        values = detail[rating_col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            _numbers(detail, rating_col, caller, "reviews")
        rating = values.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isfinite(rating) & ((rating < 1) | (rating > 5))
        if bad.any():
            raise InvalidDataError(
                f"{caller}: column {rating_col!r} must hold ratings from 1 to 5; {int(bad.sum())} "
                f"rows do not, e.g. {example_values(rating[bad].tolist(), 2)}.\n"
                f"Hint: rescale first, e.g. reviews[{rating_col!r}] = reviews[{rating_col!r}] / 2 "
                "for a 10-point scale."
            )
    else:
        rating = np.full(len(detail), np.nan)
    text = (
        detail[text_col]
        if text_col in detail.columns
        else pd.Series(pd.NA, index=detail.index, dtype="string")
    )
    negative = np.isfinite(rating) & (rating <= low_rating)
    matched = flag_negative(text, negative_terms=negative_terms)
    has_terms = matched.notna().to_numpy()
    detail["negative"] = negative
    detail["negative_terms"] = matched.to_numpy(dtype=object)
    detail["needs_reply"] = negative | has_terms
    reason = np.select(
        [negative & has_terms, negative, has_terms],
        ["low rating + negative terms", "low rating", "negative terms"],
        default="",
    ).astype(object)
    keys: list[Any] = []
    names: list[str] = []
    if period is not None:
        check_columns(list(detail.columns), {"time_col": time_col}, caller=caller,
                      frame_name="reviews")  # fmt: skip
        check_datetime_dtype(detail[time_col].dtype, time_col, caller=caller, frame_name="reviews")
        keys.append(detail[time_col].dt.to_period(period).to_numpy())
        names.append("period")
    if by is not None:
        keys.append(
            _group_values(
                detail,
                by,
                orders=order_frame,
                segments=segments,
                customer_col=customer_col,
                order_col=order_col,
                caller=caller,
                name="reviews",
            )  # fmt: skip
        )
        names.append(by)
    if not keys:
        keys, names = [np.full(len(detail), "all", dtype=object)], ["_all"]
    rounded = np.clip(np.floor(rating + 0.5), 1, 5)
    work = pd.DataFrame({f"_k{i}": k for i, k in enumerate(keys)})
    work["rating"] = rating
    work["rated"] = np.isfinite(rating)
    for star in range(1, 6):
        work[f"rating_{star}"] = rounded == star
    work["negative"] = negative
    work["with_negative_terms"] = has_terms
    work["to_reply"] = negative | has_terms
    group_cols = [f"_k{i}" for i in range(len(keys))]
    dist = work.groupby(group_cols, sort=True, dropna=False).agg(
        reviews=("rating", "size"),
        rated=("rated", "sum"),
        **{f"rating_{s}": (f"rating_{s}", "sum") for s in range(1, 6)},
        mean_rating=("rating", "mean"),
        negative=("negative", "sum"),
        with_negative_terms=("with_negative_terms", "sum"),
        to_reply=("to_reply", "sum"),
    )
    counts = [c for c in dist.columns if c not in ("mean_rating",)]
    dist = dist.astype(dict.fromkeys(counts, "int64"))
    dist.insert(
        list(dist.columns).index("negative") + 1,
        "negative_rate",
        (dist["negative"] / dist["rated"].where(dist["rated"] > 0)).astype("float64"),
    )
    if names == ["_all"]:
        dist.index = pd.Index(["all"], dtype=object)
    elif len(names) == 1:
        dist.index.name = names[0]
    else:
        dist.index = dist.index.set_names(names)
    reply = detail[detail["needs_reply"].to_numpy()].drop(columns=["negative", "needs_reply"])
    reply = reply.assign(reply_reason=reason[detail["needs_reply"].to_numpy()])
    reply = reply.iloc[np.argsort(rating[detail["needs_reply"].to_numpy()], kind="stable")]
    if has_terms.any():
        exploded = matched.dropna().str.split("; ").explode()
        term_counts = exploded.value_counts(sort=True)
        terms = pd.DataFrame(
            {
                "reviews": term_counts.astype("int64").to_numpy(),
                "share": (term_counts / max(len(detail), 1)).to_numpy(),
            },
            index=pd.Index(term_counts.index.astype(object), name="term"),
        )
    else:
        terms = pd.DataFrame(
            {"reviews": pd.Series(dtype="int64"), "share": pd.Series(dtype="float64")},
            index=pd.Index([], name="term", dtype=object),
        )
    return ReviewAnalysis(distribution=dist, to_reply=reply, terms=terms, detail=detail)


# ------------------------------------------------------------------------------------
# satisfaction
# ------------------------------------------------------------------------------------
def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    x, n = np.asarray(x, dtype="float64"), np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def _newcombe(
    x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for p1 - p0 (vectorised)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p0 = x1 / n1, x0 / n0
    l1, u1 = _wilson(x1, n1, z)
    l0, u0 = _wilson(x0, n0, z)
    d = p1 - p0
    return (
        d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
        d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
    )


def satisfaction(
    orders: Any,
    reviews: Any = None,
    refunds: Any = None,
    *,
    by: str = "segment",
    segments: pd.Series | None = None,
    window_days: int = 90,
    low_rating: float = 2,
    confidence: float = 0.95,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    order_col: str = schema.ORDER_ID,
    amount_col: str = schema.AMOUNT,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    rating_col: str = "rating",
    refund_status_col: str = "refund_status",
) -> pd.DataFrame:
    """Satisfaction per segment or group, and what a bad experience costs in repurchase.

    Every paid order (refunded ones included) is an experience: *bad* when it was
    refunded (in the orders or the refunds table) or got a negative review, *clean*
    otherwise. The customer repurchased after it when they made another purchase
    (status ``paid``, not fully refunded) within ``window_days`` after the order's
    time. Only orders whose whole window lies before ``as_of`` are judged.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders.
    reviews : DataFrame, optional
        A reviews table with ``order_id`` and ``rating``.
    refunds : DataFrame, optional
        A refunds table with ``order_id``; rows whose ``refund_status`` is
        ``closed`` (refused or withdrawn) do not count.
    by : str, default="segment"
        ``"segment"``: the customer's segment, from ``segments``, else a ``segment``
        column of the orders, else ``crm.rfm_table(orders)["segment"]``. Any other
        value names a column of the orders (``channel``, ``category``,
        ``product_id``): an order counts in each group it has lines in.
    segments : pandas.Series, optional
        Customer -> segment.
    window_days : int, default=90
        Repurchase window after each order.
    low_rating : float, default=2
        Ratings at or below it are negative reviews.
    confidence : float, default=0.95
        Level of the confidence intervals.
    as_of : datetime-like, optional
        End of the observation; default the latest order time (never the clock).
    customer_col, time_col, order_col, amount_col, status_col, refund_col : str
        Columns of ``orders``; ``order_col`` also joins reviews and refunds.
    rating_col, refund_status_col : str
        Columns of ``reviews`` and ``refunds``.

    Returns
    -------
    pandas.DataFrame
        Indexed by the groups (named after ``by``), with ``customers``, ``orders``,
        ``reviews``, ``mean_rating`` with ``rating_ci_low`` / ``rating_ci_high``
        (t interval), ``negative_review_rate`` (of reviewed orders' reviews),
        ``refund_rate`` (refunded / orders) with ``refund_ci_low`` /
        ``refund_ci_high`` (Wilson), ``bad_orders``, ``judged_bad`` and
        ``judged_clean`` (orders with a complete window), ``repurchase_after_bad``,
        ``repurchase_after_clean``, ``repurchase_gap`` (after bad - after clean:
        negative when a bad experience costs repurchases) with ``gap_ci_low`` /
        ``gap_ci_high`` (Newcombe's hybrid score interval). Rates with no orders to
        judge are NaN.

    Notes
    -----
    The gap compares customers' behaviour after bad and clean orders; it is an
    association, not a controlled experiment. Segments computed at ``as_of``
    describe customers after the outcome (a customer who came back looks more
    loyal); for a cleaner reading pass ``segments`` computed at an earlier date.

    Examples
    --------
    Customer a's first order was refunded and a never came back; b's first order
    was clean and b bought again 10 days later (windows of 30 days, as_of June 30):

    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_time": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-11",
    ...                                   "2024-06-30"]),
    ...     "amount": [50.0, 40.0, 60.0, 20.0],
    ...     "status": ["refunded", "paid", "paid", "paid"],
    ...     "refund_amount": [50.0, 0.0, 0.0, 0.0],
    ...     "channel": ["app", "app", "app", "web"],
    ... })
    >>> table = crm.service.satisfaction(orders, by="channel", window_days=30)
    >>> table[["customers", "orders", "refund_rate", "judged_bad", "judged_clean",
    ...        "repurchase_after_bad", "repurchase_after_clean"]]
             customers  orders  refund_rate  judged_bad  judged_clean  repurchase_after_bad  repurchase_after_clean
    channel
    app              2       3     0.333333           1             2                   0.0                     0.5
    web              1       1     0.000000           0             0                   NaN                     NaN
    """
    caller = "satisfaction"
    if not 0 < confidence < 1:
        raise InvalidDataError(f"{caller}: confidence must be in (0, 1), got {confidence!r}.")
    if not (isinstance(window_days, (int, np.integer)) and window_days > 0):
        raise InvalidDataError(
            f"{caller}: window_days must be a positive whole number of days, got {window_days!r}."
        )
    frame = _to_pandas(orders, "orders", caller)
    use_segments = by == "segment" and by not in frame.columns
    lines = _order_lines(
        frame, caller, customer_col=customer_col, time_col=time_col, order_col=order_col,
        amount_col=amount_col, status_col=status_col, refund_col=refund_col,
        extra=[] if use_segments else [by],
    )  # fmt: skip
    from ._purchases import to_timestamp

    as_of_ts = (
        to_timestamp(as_of, caller=caller, name="as_of")
        if as_of is not None
        else pd.Timestamp(lines["time"].max())
    )
    lines = lines[(lines["time"] <= as_of_ts).to_numpy()]
    per = lines.groupby("order", sort=False).agg(
        customer=("customer", "first"),
        time=("time", "min"),
        paid=("paid", "any"),
        purchase=("purchase", "any"),
        refund=("refund", "sum"),
    )
    per["refunded"] = per["refund"] > _EPS
    # reviews and refunds per order
    per["reviews"] = 0
    per["rating_sum"] = 0.0
    per["rating_sq"] = 0.0
    per["negative"] = 0
    if reviews is not None:
        rv = _to_pandas(reviews, "reviews", caller)
        check_columns(list(rv.columns), {"order_col": order_col, "rating_col": rating_col},
                      caller=caller, frame_name="reviews")  # fmt: skip
        r = rv[rating_col].to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(r)
        g = pd.DataFrame({"order": rv[order_col].to_numpy()[ok], "r": r[ok]})
        g["sq"] = g["r"] ** 2
        g["neg"] = g["r"] <= low_rating
        agg = g.groupby("order").agg(n=("r", "size"), s=("r", "sum"), q=("sq", "sum"),
                                     neg=("neg", "sum"))  # fmt: skip
        agg = agg.reindex(per.index)
        per["reviews"] = agg["n"].fillna(0).to_numpy(dtype="int64")
        per["rating_sum"] = agg["s"].fillna(0.0).to_numpy()
        per["rating_sq"] = agg["q"].fillna(0.0).to_numpy()
        per["negative"] = agg["neg"].fillna(0).to_numpy(dtype="int64")
    if refunds is not None:
        rf = _to_pandas(refunds, "refunds", caller)
        check_columns(list(rf.columns), {"order_col": order_col}, caller=caller,
                      frame_name="refunds")  # fmt: skip
        counted = np.ones(len(rf), dtype=bool)
        if refund_status_col in rf.columns:
            counted = ~(rf[refund_status_col].astype("string") == "closed").to_numpy(
                dtype=bool, na_value=False
            )
        per["refunded"] |= per.index.isin(rf[order_col].to_numpy()[counted])
    per = per[per["paid"].to_numpy()]
    per["bad"] = per["refunded"] | (per["negative"] > 0)
    # next purchase of the same customer strictly after each order
    buys = per.loc[per["purchase"].to_numpy(), ["customer", "time"]]
    left = per[["customer", "time"]].reset_index().sort_values("time", kind="stable")
    right = buys.rename(columns={"time": "next_time"}).sort_values("next_time", kind="stable")
    right["time"] = right["next_time"]
    codes, _ = pd.factorize(pd.concat([left["customer"], right["customer"]], ignore_index=True))
    left["c"] = codes[: len(left)]
    right["c"] = codes[len(left) :]
    nxt = pd.merge_asof(
        left, right[["c", "time", "next_time"]], on="time", by="c", direction="forward",
        allow_exact_matches=False,
    ).set_index("order")["next_time"]  # fmt: skip
    window = pd.Timedelta(days=int(window_days))
    per["judged"] = (per["time"] + window <= as_of_ts).to_numpy()
    gap = nxt.reindex(per.index) - per["time"]
    per["came_back"] = (gap <= window).to_numpy(dtype=bool, na_value=False)
    # groups
    if use_segments:
        if segments is None:
            from .rfm import rfm_table

            segments = rfm_table(
                frame, as_of=as_of_ts, customer_col=customer_col, time_col=time_col,
                amount_col=amount_col, order_col=order_col, status_col=status_col,
                refund_col=refund_col,
            )["segment"]  # fmt: skip
        seg = pd.Series(segments)
        group = seg.reindex(per["customer"].to_numpy()).astype(object).to_numpy()
        group = np.where(pd.isna(group), "(no purchase)", group)
        rows = per.assign(group=group)
    else:
        pairs = lines[["order", by]].drop_duplicates()
        rows = per.join(pairs.set_index("order")[by].rename("group"), how="inner")
    rows = rows.assign(
        bad_judged=rows["bad"] & rows["judged"],
        clean_judged=~rows["bad"] & rows["judged"],
    )
    rows["bad_back"] = rows["bad_judged"] & rows["came_back"]
    rows["clean_back"] = rows["clean_judged"] & rows["came_back"]
    out = rows.groupby("group", sort=True, dropna=False).agg(
        customers=("customer", "nunique"),
        orders=("customer", "size"),
        reviews=("reviews", "sum"),
        rating_sum=("rating_sum", "sum"),
        rating_sq=("rating_sq", "sum"),
        negative=("negative", "sum"),
        refunded=("refunded", "sum"),
        bad_orders=("bad", "sum"),
        judged_bad=("bad_judged", "sum"),
        judged_clean=("clean_judged", "sum"),
        bad_back=("bad_back", "sum"),
        clean_back=("clean_back", "sum"),
    )
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    n_rev = out["reviews"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n_rev > 0, out["rating_sum"] / n_rev, np.nan)
        var = np.where(
            n_rev > 1, (out["rating_sq"] - n_rev * mean**2) / np.maximum(n_rev - 1, 1), np.nan
        )
        q = stats.t.ppf(0.5 + confidence / 2, np.maximum(n_rev - 1, 1))
        half = q * np.sqrt(np.clip(var, 0, None) / n_rev)
        n_orders = out["orders"].to_numpy(dtype="float64")
        refund_low, refund_high = _wilson(out["refunded"].to_numpy(), n_orders, z)
        jb, jc = out["judged_bad"].to_numpy("float64"), out["judged_clean"].to_numpy("float64")
        xb, xc = out["bad_back"].to_numpy("float64"), out["clean_back"].to_numpy("float64")
        after_bad = np.where(jb > 0, xb / jb, np.nan)
        after_clean = np.where(jc > 0, xc / jc, np.nan)
        gap_low, gap_high = _newcombe(xb, jb, xc, jc, z)
        result = pd.DataFrame(
            {
                "customers": out["customers"].astype("int64"),
                "orders": out["orders"].astype("int64"),
                "reviews": out["reviews"].astype("int64"),
                "mean_rating": mean,
                "rating_ci_low": mean - half,
                "rating_ci_high": mean + half,
                "negative_review_rate": np.where(n_rev > 0, out["negative"] / n_rev, np.nan),
                "refund_rate": out["refunded"] / n_orders,
                "refund_ci_low": refund_low,
                "refund_ci_high": refund_high,
                "bad_orders": out["bad_orders"].astype("int64"),
                "judged_bad": out["judged_bad"].astype("int64"),
                "judged_clean": out["judged_clean"].astype("int64"),
                "repurchase_after_bad": after_bad,
                "repurchase_after_clean": after_clean,
                "repurchase_gap": after_bad - after_clean,
                "gap_ci_low": np.where((jb > 0) & (jc > 0), gap_low, np.nan),
                "gap_ci_high": np.where((jb > 0) & (jc > 0), gap_high, np.nan),
            },
            index=out.index,
        )
    result.index = pd.Index(result.index.astype(object), name=by)
    return result
