"""Plots of association rules (matplotlib imported on first use; networkx if installed)."""

from __future__ import annotations

from typing import Any

from .._validation import check_choice
from ..exceptions import ColumnNotFoundError, InvalidDataError
from ._base import get_ax

__all__ = ["item_network", "rules_scatter", "top_rules_bar"]

_METRICS = ("lift", "confidence", "support", "leverage", "conviction", "zhangs_metric")


def _need(frame: Any, cols: list[str], *, caller: str) -> None:
    missing = [c for c in cols if c not in getattr(frame, "columns", [])]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found in `rules`.\n"
            f"Available columns: {list(getattr(frame, 'columns', []))}.\n"
            f"Hint: pass the output of crm.basket.association_rules."
        )


def _label(items: Any) -> str:
    return ", ".join(sorted(map(str, items)))


def rule_labels(rules: Any) -> list[str]:
    """``"A, B → C"`` for each rule (items sorted), for axes and legends."""
    return [
        f"{_label(a)} → {_label(c)}"
        for a, c in zip(rules["antecedent"], rules["consequent"], strict=True)
    ]


def rules_scatter(
    rules: Any,
    *,
    x: str = "support",
    y: str = "confidence",
    color: str = "lift",
    ax: Any = None,
    cmap: str = "viridis",
    size: float = 12.0,
) -> Any:
    """Scatter of the rules, support against confidence, coloured by lift.

    Parameters
    ----------
    rules : DataFrame
        Output of ``crm.basket.association_rules``.
    x, y, color : str, default="support", "confidence", "lift"
        Rule measures on the axes and as the colour (with a colour bar).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="viridis"
        Colour map.
    size : float, default=12.0
        Marker size.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import rules_scatter
    >>> rules = pd.DataFrame({"antecedent": [frozenset({"tea"}), frozenset({"cup"})],
    ...                       "consequent": [frozenset({"cup"}), frozenset({"tea"})],
    ...                       "support": [0.5, 0.5], "confidence": [0.67, 0.8],
    ...                       "lift": [1.2, 1.2]})
    >>> ax = rules_scatter(rules)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('support', 'confidence')
    """
    caller = "rules_scatter"
    _need(rules, [x, y, color], caller=caller)
    ax = get_ax(ax)
    points = ax.scatter(
        rules[x].to_numpy(dtype=float),
        rules[y].to_numpy(dtype=float),
        c=rules[color].to_numpy(dtype=float),
        cmap=cmap,
        s=size,
        alpha=0.8,
        edgecolors="none",
    )
    ax.figure.colorbar(points, ax=ax, label=color)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{len(rules):,} rules")
    return ax


def top_rules_bar(
    rules: Any,
    *,
    n: int = 10,
    metric: str = "lift",
    ax: Any = None,
    color: str = "#4C72B0",
) -> Any:
    """Horizontal bars of the ``n`` best rules by ``metric``, labelled ``A, B → C``.

    Parameters
    ----------
    rules : DataFrame
        Output of ``crm.basket.association_rules``.
    n : int, default=10
        Number of rules shown (the best at the top).
    metric : str, default="lift"
        Measure that ranks the rules and sets the bar length.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="#4C72B0"
        Bar colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import top_rules_bar
    >>> rules = pd.DataFrame({"antecedent": [frozenset({"tea"}), frozenset({"cup"})],
    ...                       "consequent": [frozenset({"cup"}), frozenset({"pot"})],
    ...                       "lift": [1.5, 2.0]})
    >>> ax = top_rules_bar(rules)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['cup → pot', 'tea → cup']
    """
    caller = "top_rules_bar"
    if not isinstance(n, int) or n < 1:
        raise InvalidDataError(f"{caller}: n must be a positive integer, got {n!r}.")
    _need(rules, ["antecedent", "consequent", metric], caller=caller)
    top = rules.sort_values(metric, ascending=False, kind="stable").head(n)
    ax = get_ax(ax, figsize=(7.0, max(2.5, 0.35 * len(top) + 1)))
    positions = list(range(len(top)))[::-1]  # best rule at the top
    ax.barh(positions, top[metric].to_numpy(dtype=float), color=color)
    ax.set_yticks(positions)
    ax.set_yticklabels(rule_labels(top))
    ax.set_xlabel(metric)
    ax.set_title(f"Top {len(top)} rules by {metric}")
    return ax


def _circle_layout(nodes: list[Any]) -> dict[Any, tuple[float, float]]:
    import numpy as np

    angles = np.linspace(0, 2 * np.pi, num=len(nodes), endpoint=False)
    return {
        node: (float(np.cos(a)), float(np.sin(a))) for node, a in zip(nodes, angles, strict=True)
    }


def item_network(
    rules: Any,
    *,
    n: int = 20,
    metric: str = "lift",
    ax: Any = None,
    layout: str = "auto",
    seed: int = 0,
    cmap: str = "viridis",
) -> Any:
    """The ``n`` best rules as a graph: an arrow from each antecedent item to each consequent.

    Nodes are items (size by the number of rules they take part in); arrows are
    coloured and thickened by ``metric``. Drawn with matplotlib; networkx, when
    installed, gives a spring layout (``layout="spring"``), otherwise the items sit on
    a circle.

    Parameters
    ----------
    rules : DataFrame
        Output of ``crm.basket.association_rules``.
    n : int, default=20
        Number of rules drawn (the best by ``metric``).
    metric : str, default="lift"
        Measure that ranks the rules and colours the arrows.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    layout : {"auto", "spring", "circle"}, default="auto"
        Node placement; "auto" is "spring" when networkx is installed, else "circle".
    seed : int, default=0
        Seed of the spring layout.
    cmap : str, default="viridis"
        Colour map of the arrows.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import item_network
    >>> rules = pd.DataFrame({"antecedent": [frozenset({"tea"}), frozenset({"tea", "cup"})],
    ...                       "consequent": [frozenset({"cup"}), frozenset({"pot"})],
    ...                       "lift": [1.5, 2.0]})
    >>> ax = item_network(rules, layout="circle")
    >>> sorted(t.get_text() for t in ax.texts)
    ['cup', 'pot', 'tea']
    """
    caller = "item_network"
    import numpy as np

    check_choice(layout, ("auto", "spring", "circle"), name="layout", caller=caller)
    if not isinstance(n, int) or n < 1:
        raise InvalidDataError(f"{caller}: n must be a positive integer, got {n!r}.")
    _need(rules, ["antecedent", "consequent", metric], caller=caller)
    top = rules.sort_values(metric, ascending=False, kind="stable").head(n)
    edges: list[tuple[Any, Any, float]] = []
    for a, c, v in zip(top["antecedent"], top["consequent"], top[metric], strict=True):
        for i in sorted(a, key=str):
            for j in sorted(c, key=str):
                edges.append((i, j, float(v)))
    nodes = sorted({e[0] for e in edges} | {e[1] for e in edges}, key=str)
    degree = {node: 0 for node in nodes}
    for i, j, _ in edges:
        degree[i] += 1
        degree[j] += 1
    if layout == "auto":
        try:
            import networkx  # noqa: F401

            layout = "spring"
        except ImportError:
            layout = "circle"
    if layout == "spring":
        try:
            import networkx as nx
        except ImportError as exc:
            raise InvalidDataError(
                f"{caller}: layout='spring' needs networkx (pip install networkx); "
                f"layout='circle' needs nothing."
            ) from exc
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes)
        graph.add_weighted_edges_from(edges)
        pos = {k: (float(p[0]), float(p[1])) for k, p in nx.spring_layout(graph, seed=seed).items()}
    else:
        pos = _circle_layout(nodes)

    import matplotlib as mpl
    from matplotlib.patches import FancyArrowPatch

    ax = get_ax(ax, figsize=(7.0, 6.0))
    values = np.array([e[2] for e in edges], dtype=float)
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    norm = mpl.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    colours = mpl.colormaps[cmap]
    for i, j, v in edges:
        ax.add_patch(
            FancyArrowPatch(
                pos[i],
                pos[j],
                arrowstyle="-|>",
                mutation_scale=12,
                color=colours(norm(v)),
                lw=0.8 + 2.5 * float(norm(v)),
                shrinkA=10,
                shrinkB=10,
                connectionstyle="arc3,rad=0.1",
            )
        )
    if nodes:
        xy = np.array([pos[node] for node in nodes])
        sizes = np.array([120 + 60 * degree[node] for node in nodes], dtype=float)
        ax.scatter(xy[:, 0], xy[:, 1], s=sizes, color="#DDDDDD", edgecolors="#555555", zorder=3)
        for node, (px, py) in zip(nodes, xy, strict=True):
            ax.text(px, py, str(node), ha="center", va="center", fontsize=8, zorder=4)
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colours)
    ax.figure.colorbar(mappable, ax=ax, label=metric)
    ax.set_axis_off()
    ax.margins(0.15)
    ax.set_title(f"Top {len(top)} rules by {metric}")
    return ax
