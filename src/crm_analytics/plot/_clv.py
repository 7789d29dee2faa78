"""Plots of lifetime-value results (matplotlib imported on first use)."""

from __future__ import annotations

from typing import Any

from ._base import get_ax

__all__ = [
    "calibration_vs_holdout",
    "clv_distribution",
    "frequency_recency_matrix",
    "p_alive_history",
]


def frequency_recency_matrix(matrix: Any, *, ax: Any = None, cmap: str = "viridis") -> Any:
    """Heatmap of :func:`crm_analytics.clv.frequency_recency_matrix`.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Index ``frequency`` (x), columns ``recency`` (t_x), values P(alive) or expected
        purchases.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    cmap : str, default="viridis"
        Colour map.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> from crm_analytics.plot import frequency_recency_matrix
    >>> model = clv.BetaGeo()
    >>> model.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> ax = frequency_recency_matrix(clv.frequency_recency_matrix(model, T=10, max_frequency=3))
    >>> ax.get_xlabel()
    'recency (t_x)'
    """
    ax = get_ax(ax)
    image = ax.imshow(matrix.to_numpy(dtype=float), origin="lower", aspect="auto", cmap=cmap)
    ax.figure.colorbar(image, ax=ax)
    ax.set_xlabel("recency (t_x)")
    ax.set_ylabel("frequency (x)")
    ax.set_title("P(alive)" if float(matrix.max().max()) <= 1.0 else "expected purchases")
    return ax


def calibration_vs_holdout(evaluation: Any, *, ax: Any = None, spend: bool = False) -> Any:
    """Actual vs predicted mean holdout purchases by calibration frequency.

    Parameters
    ----------
    evaluation : HoldoutEvaluation
        Output of :func:`crm_analytics.clv.evaluate_holdout`.
    ax : matplotlib Axes, optional
        Where to draw.
    spend : bool, default=False
        Plot spend instead of purchases (needs a spend model in the evaluation).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.clv import HoldoutEvaluation
    >>> from crm_analytics.plot import calibration_vs_holdout
    >>> buckets = pd.DataFrame({"n_customers": [5, 3], "actual_purchases": [0.2, 1.1],
    ...     "predicted_purchases": [0.25, 0.9]}, index=pd.Index(["0", "1+"], name="calibration_frequency"))
    >>> ax = calibration_vs_holdout(HoldoutEvaluation(buckets, pd.Series(dtype=float), pd.DataFrame()))
    >>> [line.get_label() for line in ax.get_lines()]
    ['actual', 'predicted']
    """
    ax = get_ax(ax)
    kind = "spend" if spend else "purchases"
    table = evaluation.buckets
    ax.plot(table.index, table[f"actual_{kind}"], marker="o", label="actual")
    ax.plot(table.index, table[f"predicted_{kind}"], marker="s", linestyle="--", label="predicted")
    ax.set_xlabel("purchases in the calibration period (frequency)")
    ax.set_ylabel(f"mean holdout {kind} per customer")
    ax.legend()
    return ax


def clv_distribution(table: Any, *, ax: Any = None, column: str = "clv", bins: int = 50) -> Any:
    """Histogram of customer lifetime values.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`crm_analytics.clv.customer_lifetime_value` (or ``fit_clv(...).table``).
    ax : matplotlib Axes, optional
        Where to draw.
    column : str, default="clv"
        Column to plot.
    bins : int, default=50
        Histogram bins.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import clv_distribution
    >>> ax = clv_distribution(pd.DataFrame({"clv": [1.0, 2.5, 2.0, 40.0]}), bins=4)
    >>> len(ax.patches)
    4
    """
    ax = get_ax(ax)
    values = table[column].to_numpy(dtype=float)
    ax.hist(values, bins=bins)
    ax.axvline(
        float(values.mean()), color="black", linestyle="--", label=f"mean {values.mean():,.2f}"
    )
    ax.set_xlabel(column)
    ax.set_ylabel("customers")
    ax.legend()
    return ax


def p_alive_history(history: Any, *, ax: Any = None) -> Any:
    """P(alive) of one customer over time, with the purchase periods marked.

    Parameters
    ----------
    history : pandas.DataFrame
        Output of :func:`crm_analytics.clv.p_alive_history`.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import p_alive_history
    >>> history = pd.DataFrame({"frequency": [0.0, 0.0, 1.0], "p_alive": [1.0, 1.0, 0.9]},
    ...     index=pd.date_range("2024-01-01", periods=3, name="period_start"))
    >>> [float(v) for v in p_alive_history(history).get_ylim()]
    [0.0, 1.05]
    """
    ax = get_ax(ax)
    ax.plot(history.index, history["p_alive"], label="P(alive)")
    bought = history["frequency"].diff().fillna(0) > 0
    for when in history.index[bought]:
        ax.axvline(when, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("P(alive)")
    ax.set_xlabel(history.index.name or "time")
    return ax
