"""Plots of RFM tables and customer segments (matplotlib imported on first use)."""

from __future__ import annotations

from typing import Any, Literal

from .._validation import check_choice
from ..exceptions import ColumnNotFoundError
from ._base import get_ax

__all__ = ["cluster_profile", "pareto_curve", "rfm_heatmap", "segment_bars"]


def _need(frame: Any, cols: list[str], *, caller: str, made_by: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found.\n"
            f"Available columns: {list(frame.columns)}.\nHint: pass the output of {made_by}."
        )


def rfm_heatmap(
    table: Any,
    *,
    value: Literal["monetary", "customers"] = "monetary",
    ax: Any = None,
    cmap: str = "YlGnBu",
    annotate: bool = True,
) -> Any:
    """Heatmap of r_score × f_score, coloured by mean monetary value or customers.

    Parameters
    ----------
    table : DataFrame
        Output of ``crm.rfm_table`` (``r_score``, ``f_score``, ``monetary_total``).
    value : {"monetary", "customers"}, default="monetary"
        Colour: mean ``monetary_total`` of the cell, or its number of customers.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="YlGnBu"
        Colour map.
    annotate : bool, default=True
        Write the value in each cell.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import rfm_heatmap
    >>> table = pd.DataFrame({"r_score": [1, 2, 2], "f_score": [1, 1, 2],
    ...                       "monetary_total": [10.0, 30.0, 50.0]})
    >>> ax = rfm_heatmap(table)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('f_score', 'r_score')
    """
    caller = "rfm_heatmap"
    import numpy as np

    check_choice(value, ("monetary", "customers"), name="value", caller=caller)
    _need(table, ["r_score", "f_score", "monetary_total"], caller=caller, made_by="crm.rfm_table")
    bins = int(table.attrs.get("rfm", {}).get("bins", 0)) or int(
        max(table["r_score"].max(), table["f_score"].max(), 1)
    )
    r = table["r_score"].to_numpy(dtype="int64") - 1
    f = table["f_score"].to_numpy(dtype="int64") - 1
    cells = r * bins + f
    counts = np.bincount(cells, minlength=bins * bins).reshape(bins, bins)
    if value == "customers":
        grid = counts.astype("float64")
        label = "customers"
    else:
        sums = np.bincount(
            cells, weights=table["monetary_total"].to_numpy(dtype="float64"), minlength=bins * bins
        ).reshape(bins, bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        label = "mean monetary_total"
    ax = get_ax(ax, figsize=(6.5, 5.0))
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        origin="lower",
        cmap=cmap,
        aspect="auto",
        extent=(0.5, bins + 0.5, 0.5, bins + 0.5),
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xticks(range(1, bins + 1))
    ax.set_yticks(range(1, bins + 1))
    ax.set_xlabel("f_score")
    ax.set_ylabel("r_score")
    ax.set_title(f"RFM: {label} by recency and frequency score")
    if annotate and bins <= 10:
        for i in range(bins):
            for j in range(bins):
                if np.isfinite(grid[i, j]):
                    ax.text(
                        j + 1, i + 1, f"{grid[i, j]:,.0f}", ha="center", va="center", fontsize=8
                    )
    return ax


def segment_bars(
    summary: Any,
    *,
    value: Literal["customers", "revenue", "customer_share", "revenue_share"] = "customers",
    ax: Any = None,
    color: str = "C0",
) -> Any:
    """Horizontal bars of one measure per segment.

    Parameters
    ----------
    summary : DataFrame
        Output of ``crm.rfm.segment_summary`` (indexed by segment).
    value : {"customers", "revenue", "customer_share", "revenue_share"}, default="customers"
        Column to draw.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="C0"
        Bar colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import segment_bars
    >>> s = pd.DataFrame({"customers": [5, 2], "revenue": [900.0, 40.0]},
    ...                  index=pd.Index(["Champions", "Lost"], name="segment"))
    >>> ax = segment_bars(s, value="revenue")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Champions', 'Lost']
    """
    caller = "segment_bars"
    check_choice(
        value,
        ("customers", "revenue", "customer_share", "revenue_share"),
        name="value",
        caller=caller,
    )
    _need(summary, [value], caller=caller, made_by="crm.rfm.segment_summary")
    ax = get_ax(ax, figsize=(7.0, 0.45 * len(summary) + 1.5))
    names = [str(i) for i in summary.index]
    positions = list(range(len(names)))
    values = summary[value].to_numpy(dtype="float64")
    ax.barh(positions, values, color=color)
    ax.set_yticks(positions, labels=names)
    ax.invert_yaxis()  # first segment on top
    ax.set_xlabel(value.replace("_", " "))
    if value.endswith("share"):
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"{value.replace('_', ' ').capitalize()} by segment")
    return ax


def pareto_curve(curve: Any, *, ax: Any = None, color: str = "C0") -> Any:
    """Pareto (Lorenz-style) curve: cumulative share of revenue against customers.

    Parameters
    ----------
    curve : DataFrame
        Output of ``crm.segments.pareto`` (``customer_share``, ``revenue_share``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="C0"
        Line colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.segments import pareto
    >>> from crm_analytics.plot import pareto_curve
    >>> s = pd.DataFrame({"monetary_total": [100.0, 600.0, 50.0, 200.0, 50.0]})
    >>> ax = pareto_curve(pareto(s))
    >>> ax.get_title()
    'The top 20% of customers bring 60.0% of revenue.'
    """
    caller = "pareto_curve"
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    _need(curve, ["customer_share", "revenue_share"], caller=caller, made_by="crm.segments.pareto")
    ax = get_ax(ax, figsize=(6.0, 5.0))
    x = np.concatenate(([0.0], curve["customer_share"].to_numpy(dtype="float64")))
    y = np.concatenate(([0.0], curve["revenue_share"].to_numpy(dtype="float64")))
    ax.plot(x, y, color=color, label="customers, best first")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="equal spend")
    top = curve.attrs.get("top")
    share = curve.attrs.get("top_share")
    if top is not None and share is not None:
        ax.plot([top, top, 0], [0, share, share], color="C3", linewidth=1, linestyle=":")
        ax.scatter([top], [share], color="C3", zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of customers")
    ax.set_ylabel("share of revenue")
    ax.set_title(curve.attrs.get("headline", "Pareto curve"))
    ax.legend(loc="lower right")
    return ax


def cluster_profile(result: Any, *, ax: Any = None) -> Any:
    """Grouped bars of each cluster's feature means relative to all customers.

    A bar at 2.0 means the cluster's mean is twice the mean over all customers; the
    legend gives each cluster's size.

    Parameters
    ----------
    result : Clusters or DataFrame
        Output of ``crm.segments.cluster`` or its ``profile`` (``customers`` plus one
        column of means per feature).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import cluster_profile
    >>> prof = pd.DataFrame({"customers": [3, 1], "share": [0.75, 0.25],
    ...                      "n_orders": [1.0, 5.0], "monetary_total": [50.0, 650.0]},
    ...                     index=pd.Index([0, 1], name="cluster"))
    >>> ax = cluster_profile(prof)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['n_orders', 'monetary_total']
    """
    caller = "cluster_profile"
    import numpy as np

    prof = getattr(result, "profile", result)
    _need(prof, ["customers"], caller=caller, made_by="crm.segments.cluster")
    features = [c for c in prof.columns if c not in ("customers", "share")]
    counts = prof["customers"].to_numpy(dtype="float64")
    means = prof[features].to_numpy(dtype="float64")
    overall = (means * counts[:, None]).sum(axis=0) / counts.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(overall != 0, means / overall, np.nan)
    ax = get_ax(ax, figsize=(1.6 * len(features) + 3.0, 4.5))
    k = len(prof)
    width = 0.8 / max(k, 1)
    x = np.arange(len(features))
    for i, (label, n) in enumerate(zip(prof.index, counts, strict=True)):
        ax.bar(
            x + (i - (k - 1) / 2) * width, rel[i], width=width, label=f"cluster {label} ({n:,.0f})"
        )
    ax.axhline(1.0, color="grey", linewidth=1, linestyle="--")
    ax.set_xticks(x, labels=features)
    ax.set_ylabel("mean relative to all customers")
    ax.set_title("Cluster profiles")
    ax.legend(fontsize=8)
    return ax
