"""Plots of KPI decompositions and campaign results (matplotlib imported on first use)."""

from __future__ import annotations

from typing import Any

from ..exceptions import ColumnNotFoundError, InvalidDataError
from ._base import get_ax

__all__ = ["funnel", "kpi_tree", "uplift_plot", "waterfall"]

_DECOMPOSITION = ["parent", "depth", "base", "current", "change", "contribution"]


def _need(frame: Any, cols: list[str], *, caller: str, made_by: str) -> None:
    missing = [c for c in cols if c not in getattr(frame, "columns", [])]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found.\n"
            f"Available columns: {list(getattr(frame, 'columns', []))}.\n"
            f"Hint: pass the output of {made_by}."
        )


def _leaves(decomposition: Any) -> list[str]:
    parents = set(decomposition["parent"].dropna())
    return [n for n in decomposition.index if n not in parents]


def _fmt(value: float) -> str:
    import math

    if not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def kpi_tree(
    decomposition: Any,
    *,
    ax: Any = None,
    cmap: str = "RdYlGn",
    fontsize: float = 8.0,
) -> Any:
    """Draw a decomposed KPI tree: one box per node, coloured by its contribution.

    Parameters
    ----------
    decomposition : DataFrame
        Output of ``crm.kpi.decompose`` (indexed by node, with ``parent``, ``depth``,
        ``base``, ``current``, ``change``, ``contribution``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="RdYlGn"
        Diverging colour map: red for negative contributions, green for positive.
    fontsize : float, default=8.0
        Text size in the boxes.

    Returns
    -------
    matplotlib.axes.Axes
        The root on the left, its drivers to the right; each box shows the node, its
        base and current value and its contribution to the root's change.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import kpi_tree
    >>> dec = pd.DataFrame(
    ...     {"parent": [None, "sales", "sales"], "depth": [0, 1, 1],
    ...      "base": [50000.0, 1000.0, 50.0], "current": [54000.0, 1200.0, 45.0],
    ...      "change": [4000.0, 200.0, -5.0], "contribution": [4000.0, 9476.0, -5476.0]},
    ...     index=pd.Index(["sales", "customers", "sales_per_customer"], name="node"))
    >>> ax = kpi_tree(dec)
    >>> [t.get_text().splitlines()[0] for t in ax.texts if t.get_text()]
    ['sales', 'customers', 'sales_per_customer']
    """
    caller = "kpi_tree"
    _need(decomposition, _DECOMPOSITION, caller=caller, made_by="crm.kpi.decompose")
    import matplotlib as mpl

    nodes = list(decomposition.index)
    if not nodes:
        raise InvalidDataError(f"{caller}: the decomposition has no rows.")
    parent = {n: (p if isinstance(p, str) else None) for n, p in decomposition["parent"].items()}
    depth = {n: int(d) for n, d in decomposition["depth"].items()}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for n in nodes:
        p = parent[n]
        if p is not None and p in children:
            children[p].append(n)
    # leaves get consecutive rows; a parent sits at the middle of its children
    y: dict[str, float] = {}
    row = 0

    def place(n: str) -> float:
        nonlocal row
        if not children[n]:
            y[n] = float(row)
            row += 1
        else:
            ys = [place(c) for c in children[n]]
            y[n] = (min(ys) + max(ys)) / 2
        return y[n]

    for root in [n for n in nodes if parent[n] is None]:
        place(root)
    contribution = decomposition["contribution"].astype("float64")
    scale = float(contribution.iloc[1:].abs().max()) if len(contribution) > 1 else 0.0
    scale = scale or float(abs(contribution.iloc[0])) or 1.0
    norm = mpl.colors.Normalize(vmin=-scale, vmax=scale)
    colours = mpl.colormaps[cmap]
    max_depth = max(depth.values())
    ax = get_ax(ax, figsize=(3.2 * (max_depth + 1), 0.9 * row + 1.0))
    for n in nodes:
        x = depth[n]
        r = decomposition.loc[n]
        is_mix = "op" in decomposition.columns and r["op"] == "mix"
        values = "" if is_mix else f"\n{_fmt(r['base'])} → {_fmt(r['current'])}"
        text = f"{n}{values}\ncontribution {_fmt(r['contribution'])}"
        face = colours(norm(r["contribution"])) if _finite(r["contribution"]) else "white"
        ax.text(
            x,
            -y[n],
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": face, "edgecolor": "0.3"},
        )
        p = parent[n]
        if p is not None and p in y:
            ax.annotate(
                "",
                xy=(x - 0.32, -y[n]),
                xytext=(depth[p] + 0.32, -y[p]),
                arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 0.8},
            )
    ax.set_xlim(-0.5, max_depth + 0.5)
    ax.set_ylim(-(row - 0.5), 0.5)
    ax.set_axis_off()
    info = decomposition.attrs.get("kpi_decomposition", {})
    if info:
        ax.set_title(
            f"{info.get('root', nodes[0])}: {info.get('base')} → {info.get('current')} "
            f"({info.get('method')})"
        )
    ax.figure.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, label="contribution", shrink=0.6
    )
    return ax


def _finite(value: Any) -> bool:
    """True for a finite number."""
    import math

    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def waterfall(
    decomposition: Any,
    *,
    ax: Any = None,
    up_color: str = "#2ca02c",
    down_color: str = "#d62728",
    total_color: str = "0.55",
) -> Any:
    """Waterfall of the root from the base to the current period, one bar per driver.

    Parameters
    ----------
    decomposition : DataFrame
        Output of ``crm.kpi.decompose``. The bars are the leaves of the decomposition
        (nodes without children, and the group-mix row), whose contributions add up to
        the root's change.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    up_color, down_color, total_color : str
        Colours of positive and negative contributions and of the two totals.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import waterfall
    >>> dec = pd.DataFrame(
    ...     {"parent": [None, "sales", "sales"], "depth": [0, 1, 1],
    ...      "base": [50000.0, 1000.0, 50.0], "current": [54000.0, 1200.0, 45.0],
    ...      "change": [4000.0, 200.0, -5.0], "contribution": [4000.0, 9476.0, -5476.0]},
    ...     index=pd.Index(["sales", "customers", "sales_per_customer"], name="node"))
    >>> ax = waterfall(dec)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['base', 'customers', 'sales_per_customer', 'current']
    >>> [round(p.get_height()) for p in ax.patches]
    [50000, 9476, -5476, 54000]
    """
    caller = "waterfall"
    _need(decomposition, _DECOMPOSITION, caller=caller, made_by="crm.kpi.decompose")
    root = decomposition.index[0]
    base = float(decomposition["base"].iloc[0])
    current = float(decomposition["current"].iloc[0])
    leaves = [n for n in _leaves(decomposition) if n != root]
    ax = get_ax(ax, figsize=(1.1 * (len(leaves) + 2) + 2.0, 4.5))
    info = decomposition.attrs.get("kpi_decomposition", {})
    labels = ["base", *leaves, "current"]
    ax.bar(0, base, color=total_color)
    level = base
    for i, n in enumerate(leaves, start=1):
        c = float(decomposition.at[n, "contribution"])
        ax.bar(i, c, bottom=level, color=up_color if c >= 0 else down_color)
        ax.plot([i - 1.4, i + 0.4], [level, level], color="0.5", lw=0.6)
        level += c
    ax.bar(len(leaves) + 1, current, color=total_color)
    ax.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right")
    ax.set_ylabel(str(root))
    ax.set_title(
        f"{root}: {info.get('base', 'base')} → {info.get('current', 'current')}"
        + (f" ({info['method']})" if "method" in info else "")
    )
    return ax


def funnel(
    funnel_table: Any,
    *,
    campaign: Any = None,
    ax: Any = None,
    steps: tuple[str, ...] = ("customers", "sent", "opened", "clicked", "purchased"),
) -> Any:
    """Grouped bars of a campaign's response funnel, treatment next to control.

    Parameters
    ----------
    funnel_table : DataFrame
        Output of ``crm.campaign.response_funnel`` (indexed by campaign and group).
    campaign : str, optional
        Which campaign to draw; default the first.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    steps : tuple of str
        The funnel columns to draw, in order.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import funnel
    >>> table = pd.DataFrame(
    ...     {"customers": [570, 1430], "sent": [0, 1430], "opened": [0, 459],
    ...      "clicked": [0, 210], "purchased": [4, 111]},
    ...     index=pd.MultiIndex.from_tuples([("WB", "control"), ("WB", "treatment")],
    ...                                     names=["campaign_id", "group"]))
    >>> ax = funnel(table)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['control', 'treatment']
    """
    caller = "funnel"
    _need(funnel_table, list(steps), caller=caller, made_by="crm.campaign.response_funnel")
    import numpy as np

    index = funnel_table.index
    if getattr(index, "nlevels", 1) != 2:
        raise InvalidDataError(
            f"{caller}: expected a table indexed by (campaign, group), got {index.nlevels} "
            "index level(s). Hint: pass the output of crm.campaign.response_funnel."
        )
    campaigns = list(dict.fromkeys(index.get_level_values(0)))
    name = campaigns[0] if campaign is None else campaign
    if name not in campaigns:
        raise InvalidDataError(
            f"{caller}: campaign {name!r} is not in the table. Available: {campaigns}."
        )
    part = funnel_table.xs(name, level=0)
    ax = get_ax(ax, figsize=(7.5, 4.5))
    x = np.arange(len(steps))
    width = 0.8 / max(len(part), 1)
    for i, (group, row) in enumerate(part.iterrows()):
        values = row[list(steps)].to_numpy(dtype="float64")
        bars = ax.bar(x + (i - (len(part) - 1) / 2) * width, values, width, label=str(group))
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7)
    ax.set_xticks(x, labels=list(steps))
    ax.set_ylabel("customers")
    ax.set_title(f"Response funnel: {name}")
    ax.legend()
    return ax


def uplift_plot(uplift_table: Any, *, ax: Any = None, color: str = "C0") -> Any:
    """Uplift per campaign with its confidence interval, against the zero line.

    Parameters
    ----------
    uplift_table : DataFrame
        Output of ``crm.campaign.uplift`` (``uplift``, ``ci_low``, ``ci_high``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="C0"
        Colour of the points and intervals.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import uplift_plot
    >>> table = pd.DataFrame(
    ...     {"metric": ["conversion"], "uplift": [0.07], "ci_low": [0.054], "ci_high": [0.086]},
    ...     index=pd.Index(["WB202408"], name="campaign_id"))
    >>> ax = uplift_plot(table)
    >>> ax.get_xlabel()
    'uplift in conversion rate (percentage points)'
    """
    caller = "uplift_plot"
    _need(uplift_table, ["uplift", "ci_low", "ci_high"], caller=caller,
          made_by="crm.campaign.uplift")  # fmt: skip
    import numpy as np

    metric = (
        str(uplift_table["metric"].iloc[0]) if "metric" in uplift_table.columns else "conversion"
    )
    factor = 100.0 if metric == "conversion" else 1.0
    mid = uplift_table["uplift"].to_numpy(dtype="float64") * factor
    low = uplift_table["ci_low"].to_numpy(dtype="float64") * factor
    high = uplift_table["ci_high"].to_numpy(dtype="float64") * factor
    ax = get_ax(ax, figsize=(7.0, 0.6 * len(mid) + 1.8))
    y = np.arange(len(mid))
    ax.errorbar(
        mid, y, xerr=[mid - low, high - mid], fmt="o", color=color, capsize=4, label="uplift"
    )
    ax.axvline(0.0, color="0.4", lw=0.8, ls="--")
    ax.set_yticks(y, labels=[str(i) for i in uplift_table.index])
    ax.invert_yaxis()
    ax.set_xlabel(
        "uplift in conversion rate (percentage points)"
        if metric == "conversion"
        else "uplift in revenue per customer"
    )
    ax.set_title("Treatment minus control, with confidence interval")
    return ax
