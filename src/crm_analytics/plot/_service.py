"""Plots of after-sales and loyalty results (matplotlib imported on first use)."""

from __future__ import annotations

from typing import Any

from ..exceptions import ColumnNotFoundError, InvalidDataError
from ._base import get_ax

__all__ = [
    "points_balance",
    "rating_distribution",
    "refund_reasons_pareto",
    "tier_migration_heatmap",
]


def _table(result: Any, attribute: str) -> Any:
    """The result's table: a DataFrame as given, else its ``attribute``."""
    import pandas as pd

    return result if isinstance(result, pd.DataFrame) else getattr(result, attribute, result)


def _need(frame: Any, cols: list[str], *, caller: str, made_by: str) -> None:
    missing = [c for c in cols if c not in getattr(frame, "columns", [])]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found.\n"
            f"Available columns: {list(getattr(frame, 'columns', []))}.\n"
            f"Hint: pass the output of {made_by}."
        )


def refund_reasons_pareto(result: Any, *, ax: Any = None, color: str = "C3") -> Any:
    """Pareto chart of refunded money by reason group: bars and the cumulative share.

    Parameters
    ----------
    result : RefundAnalysis or DataFrame
        Output of ``crm.service.refund_analysis`` (with a refunds table), or its
        ``reasons`` table (``refunded_amount``, ``cumulative_share``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="C3"
        Bar colour.

    Returns
    -------
    matplotlib.axes.Axes
        The bars' Axes; the cumulative share is drawn on a twin y axis (0-100%).

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import refund_reasons_pareto
    >>> reasons = pd.DataFrame(
    ...     {"refunded_amount": [80.0, 30.0, 10.0], "cumulative_share": [0.667, 0.917, 1.0]},
    ...     index=pd.Index(["quality", "size_fit", "other"], name="reason_group"))
    >>> ax = refund_reasons_pareto(reasons)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['quality', 'size_fit', 'other']
    """
    caller = "refund_reasons_pareto"
    reasons = _table(result, "reasons")
    if reasons is None:
        raise InvalidDataError(
            f"{caller}: the refund analysis has no reasons (it was run without a refunds "
            "table).\nHint: crm.service.refund_analysis(orders, refunds) with "
            "refunds = crm.io.read_refunds(path)."
        )
    _need(reasons, ["refunded_amount", "cumulative_share"], caller=caller,
          made_by="crm.service.refund_analysis(orders, refunds)")  # fmt: skip
    import numpy as np

    ax = get_ax(ax)
    x = np.arange(len(reasons))
    ax.bar(x, reasons["refunded_amount"].to_numpy(dtype="float64"), color=color)
    ax.set_xticks(x)
    ax.set_xticklabels([str(i) for i in reasons.index], rotation=30, ha="right")
    ax.set_ylabel("refunded amount")
    ax.set_title("Refunds by reason")
    twin = ax.twinx()
    twin.plot(x, reasons["cumulative_share"].to_numpy(dtype="float64") * 100, color="0.2",
              marker="o")  # fmt: skip
    twin.set_ylim(0, 105)
    twin.set_ylabel("cumulative share (%)")
    twin.axhline(80, color="0.6", linestyle=":", linewidth=1)
    return ax


def rating_distribution(
    distribution: Any, *, ax: Any = None, normalize: bool = True, cmap: str = "RdYlGn"
) -> Any:
    """Stacked bars of ratings 1-5 per row of a review distribution.

    Parameters
    ----------
    distribution : ReviewAnalysis or DataFrame
        Output of ``crm.service.review_analysis``, or its ``distribution`` table
        (``rating_1`` ... ``rating_5``; a period x group index is flattened).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    normalize : bool, default=True
        Shares of each row's rated reviews instead of counts.
    cmap : str, default="RdYlGn"
        Colour map from 1 star to 5 stars.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import rating_distribution
    >>> d = pd.DataFrame({"rating_1": [1, 0], "rating_2": [0, 0], "rating_3": [1, 1],
    ...                   "rating_4": [0, 1], "rating_5": [2, 8]},
    ...                  index=pd.Index(["2024-05", "2024-06"], name="period"))
    >>> ax = rating_distribution(d)
    >>> len(ax.patches), ax.get_legend().get_texts()[0].get_text()
    (10, '1★')
    """
    caller = "rating_distribution"
    table = _table(distribution, "distribution")
    cols = [f"rating_{s}" for s in range(1, 6)]
    _need(table, cols, caller=caller, made_by="crm.service.review_analysis")
    import matplotlib
    import numpy as np

    values = table[cols].to_numpy(dtype="float64")
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    labels = [
        " / ".join(str(v) for v in i) if isinstance(i, tuple) else str(i) for i in table.index
    ]
    ax = get_ax(ax)
    colours = matplotlib.colormaps[cmap](np.linspace(0.05, 0.95, 5))
    left = np.zeros(len(values))
    y = np.arange(len(values))
    for s in range(5):
        ax.barh(y, values[:, s], left=left, color=colours[s], label=f"{s + 1}★")
        left += values[:, s]
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("share of rated reviews" if normalize else "reviews")
    ax.set_title("Rating distribution")
    ax.legend(ncol=5, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.06), frameon=False)
    return ax


def tier_migration_heatmap(
    matrix: Any, *, ax: Any = None, normalize: bool = True, cmap: str = "Blues",
    annotate: bool = True,
) -> Any:  # fmt: skip
    """Heatmap of a tier transition matrix: from-tier rows, to-tier columns.

    Parameters
    ----------
    matrix : DataFrame
        Output of ``crm.loyalty.tier_migration`` (counts).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    normalize : bool, default=True
        Colour by each row's share (the annotations show the counts).
    cmap : str, default="Blues"
        Colour map.
    annotate : bool, default=True
        Write the count in each cell.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import tier_migration_heatmap
    >>> m = pd.DataFrame([[8, 2], [1, 4]],
    ...                  index=pd.Index(["V1", "V2"], name="from_tier"),
    ...                  columns=pd.Index(["V1", "V2"], name="to_tier"))
    >>> ax = tier_migration_heatmap(m)
    >>> ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.texts]
    ('to_tier', 'from_tier', ['8', '2', '1', '4'])
    """
    caller = "tier_migration_heatmap"
    if not hasattr(matrix, "to_numpy") or getattr(matrix, "ndim", 0) != 2:
        raise InvalidDataError(
            f"{caller}: expected the DataFrame from crm.loyalty.tier_migration, got "
            f"{type(matrix).__name__}."
        )
    import numpy as np

    counts = matrix.to_numpy(dtype="float64")
    grid = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        grid = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
    ax = get_ax(ax, figsize=(6.5, 5.0))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label="share of the row" if normalize else "members")
    ax.set_xticks(range(counts.shape[1]))
    ax.set_xticklabels([str(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticks(range(counts.shape[0]))
    ax.set_yticklabels([str(i) for i in matrix.index])
    ax.set_xlabel(matrix.columns.name or "to_tier")
    ax.set_ylabel(matrix.index.name or "from_tier")
    ax.set_title("Tier migration")
    if annotate:
        top = np.nanmax(grid) if np.isfinite(grid).any() else 1.0
        for i in range(counts.shape[0]):
            for j in range(counts.shape[1]):
                dark = np.isfinite(grid[i, j]) and grid[i, j] > 0.6 * top
                ax.text(j, i, f"{counts[i, j]:,.0f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")  # fmt: skip
    return ax


def points_balance(result: Any, *, ax: Any = None) -> Any:
    """Outstanding points over time, with the points earned and used per period.

    Parameters
    ----------
    result : PointsLiability or DataFrame
        Output of ``crm.loyalty.points_liability``, or its ``balance`` table
        (``earned``, ``redeemed``, ``expired``, ``balance``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    matplotlib.axes.Axes
        Bars: earned (up), redeemed and expired (down); line: outstanding balance.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import points_balance
    >>> b = pd.DataFrame({"earned": [100.0, 50.0], "redeemed": [0.0, 30.0],
    ...                   "expired": [0.0, 10.0], "balance": [100.0, 110.0]},
    ...                  index=pd.period_range("2024-01", periods=2, freq="M", name="period"))
    >>> ax = points_balance(b)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['outstanding', 'earned', 'redeemed', 'expired']
    """
    caller = "points_balance"
    table = _table(result, "balance")
    _need(table, ["earned", "redeemed", "expired", "balance"], caller=caller,
          made_by="crm.loyalty.points_liability")  # fmt: skip
    import numpy as np

    ax = get_ax(ax)
    x = np.arange(len(table))
    earned = table["earned"].to_numpy(dtype="float64")
    redeemed = table["redeemed"].to_numpy(dtype="float64")
    expired = table["expired"].to_numpy(dtype="float64")
    ax.plot(x, table["balance"].to_numpy(dtype="float64"), color="0.15", marker="o",
            label="outstanding")  # fmt: skip
    ax.bar(x, earned, color="C2", alpha=0.7, label="earned")
    ax.bar(x, -redeemed, color="C0", alpha=0.7, label="redeemed")
    ax.bar(x, -expired, bottom=-redeemed, color="C3", alpha=0.7, label="expired")
    ax.axhline(0, color="0.5", linewidth=0.8)
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(i) for i in table.index[::step]], rotation=30, ha="right")
    ax.set_ylabel("points")
    ax.set_title("Points liability")
    ax.legend(fontsize=8)
    return ax
