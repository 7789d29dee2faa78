"""Plots of repurchase and churn results (matplotlib imported on first use)."""

from __future__ import annotations

from typing import Any

from ..exceptions import ColumnNotFoundError, InvalidDataError
from ._base import get_ax

__all__ = [
    "calibration_plot",
    "churn_rate_plot",
    "cohort_heatmap",
    "gains_chart",
    "retention_curves",
    "time_to_second_purchase_hist",
]


def _need(frame: Any, cols: list[str], *, caller: str, made_by: str) -> None:
    columns = list(getattr(frame, "columns", []))
    missing = [c for c in cols if c not in columns]
    if missing:
        raise ColumnNotFoundError(
            f"{caller}: column {missing[0]!r} not found.\n"
            f"Available columns: {columns}.\nHint: pass the output of {made_by}."
        )


def _cohort_values(table: Any, caller: str) -> Any:
    import numpy as np

    if not hasattr(table, "columns") or not all(
        isinstance(c, (int, np.integer)) for c in table.columns
    ):
        raise InvalidDataError(
            f"{caller}: expected a cohort table with columns 0, 1, 2, ... (periods since the "
            f"first purchase), got columns {list(getattr(table, 'columns', []))[:5]}.\n"
            f"Hint: pass the output of crm.repurchase.cohort_table(orders)."
        )
    return table.to_numpy(dtype="float64", na_value=np.nan)


def cohort_heatmap(
    table: Any,
    *,
    ax: Any = None,
    cmap: str = "YlGnBu",
    annotate: bool = True,
) -> Any:
    """Heatmap of a cohort table: cohorts down, periods since the first purchase across.

    Cells not observed yet (NaN) stay blank.

    Parameters
    ----------
    table : DataFrame
        Output of ``crm.repurchase.cohort_table``.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    cmap : str, default="YlGnBu"
        Colour map.
    annotate : bool, default=True
        Write the value in each cell (tables up to 24 × 24).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import cohort_heatmap
    >>> table = pd.DataFrame([[1.0, 0.4], [1.0, None]],
    ...                      index=pd.PeriodIndex(["2024-01", "2024-02"], freq="M", name="cohort"),
    ...                      columns=pd.RangeIndex(2, name="periods_since_first"))
    >>> table.attrs["metric"] = "retention"
    >>> ax = cohort_heatmap(table)
    >>> ax.get_title(), [t.get_text() for t in ax.get_yticklabels()]
    ('Cohort retention', ['2024-01', '2024-02'])
    """
    caller = "cohort_heatmap"
    import numpy as np

    grid = _cohort_values(table, caller)
    metric = str(table.attrs.get("metric", "value"))
    share = metric == "retention"
    n_rows, n_cols = grid.shape
    ax = get_ax(ax, figsize=(min(1.0 + 0.6 * n_cols, 16.0), min(1.5 + 0.35 * n_rows, 12.0)))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", interpolation="none")
    if share:
        image.set_clim(0.0, max(float(np.nanmax(grid[:, 1:], initial=0.0)), 0.01))
    ax.figure.colorbar(image, ax=ax, label=metric.replace("_", " "))
    ax.set_xticks(range(n_cols), labels=[str(c) for c in table.columns])
    ax.set_yticks(range(n_rows), labels=[str(i) for i in table.index])
    ax.set_xlabel(
        f"periods since first purchase ({table.attrs.get('period', '')})".replace(" ()", "")
    )
    ax.set_ylabel("cohort (first purchase)")
    prefix = "Cumulative cohort" if table.attrs.get("cumulative") else "Cohort"
    ax.set_title(f"{prefix} {metric.replace('_', ' ')}")
    if annotate and n_rows <= 24 and n_cols <= 24:
        for i, j in zip(*np.nonzero(np.isfinite(grid)), strict=True):
            value = grid[i, j]
            text = f"{value:.0%}" if share else f"{value:,.0f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    return ax


def retention_curves(
    table: Any,
    *,
    ax: Any = None,
    max_cohorts: int = 12,
    mean: bool = True,
) -> Any:
    """One line per cohort across periods since the first purchase, and their mean.

    Parameters
    ----------
    table : DataFrame
        Output of ``crm.repurchase.cohort_table`` (usually ``metric="retention"``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    max_cohorts : int, default=12
        Draw the latest ``max_cohorts`` cohorts (all cohorts enter the mean).
    mean : bool, default=True
        Add the mean over cohorts of each observed period (a thick black line).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import retention_curves
    >>> table = pd.DataFrame([[1.0, 0.4, 0.3], [1.0, 0.2, None]],
    ...                      index=pd.PeriodIndex(["2024-01", "2024-02"], freq="M", name="cohort"),
    ...                      columns=pd.RangeIndex(3, name="periods_since_first"))
    >>> ax = retention_curves(table)
    >>> ax.lines[-1].get_label(), ax.lines[-1].get_ydata().round(2).tolist()
    ('mean of cohorts', [1.0, 0.3, 0.3])
    """
    caller = "retention_curves"
    import numpy as np

    grid = _cohort_values(table, caller)
    if isinstance(max_cohorts, bool) or not isinstance(max_cohorts, int) or max_cohorts < 1:
        raise InvalidDataError(
            f"{caller}: max_cohorts must be an integer >= 1, got {max_cohorts!r}."
        )
    metric = str(table.attrs.get("metric", "retention"))
    ax = get_ax(ax)
    x = np.asarray(table.columns, dtype="int64")
    start = max(len(grid) - max_cohorts, 0)
    for label, row in zip(table.index[start:], grid[start:], strict=True):
        ok = np.isfinite(row)
        if ok.any():
            ax.plot(x[ok], row[ok], marker="o", markersize=3, linewidth=1, label=str(label))
    if mean and len(grid):
        with np.errstate(invalid="ignore"):
            counts = np.isfinite(grid).sum(axis=0)
            avg = np.where(counts > 0, np.nansum(grid, axis=0) / np.maximum(counts, 1), np.nan)
        ok = np.isfinite(avg)
        ax.plot(x[ok], avg[ok], color="black", linewidth=2.5, label="mean of cohorts")
    if metric == "retention":
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("periods since first purchase")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ').capitalize()} by cohort")
    ax.legend(fontsize=7, ncol=2)
    return ax


def churn_rate_plot(rates: Any, *, ax: Any = None, color: str = "C3") -> Any:
    """Churn rate per period (line), with customers lost and reactivated (bars).

    Parameters
    ----------
    rates : DataFrame
        Output of ``crm.churn.churn_rate``.
    ax : matplotlib Axes, default=None
        Axes to draw on (the bars go on a twin axis); None creates a figure.
    color : str, default="C3"
        Colour of the churn-rate line.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes of the churn-rate line.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import churn_rate_plot
    >>> rates = pd.DataFrame({"active_start": [0, 2, 2], "lost": [0, 1, 2],
    ...                       "reactivated": [0, 0, 1], "churn_rate": [None, 0.5, 1.0]},
    ...                      index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03"], freq="M"))
    >>> ax = churn_rate_plot(rates)
    >>> ax.lines[0].get_ydata().tolist()
    [nan, 0.5, 1.0]
    """
    caller = "churn_rate_plot"
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    _need(
        rates, ["churn_rate", "lost", "reactivated"], caller=caller, made_by="crm.churn.churn_rate"
    )
    ax = get_ax(ax, figsize=(9.0, 4.5))
    x = np.arange(len(rates))
    twin = ax.twinx()
    width = 0.4
    twin.bar(
        x - width / 2,
        rates["lost"].to_numpy(dtype=float),
        width,
        color="grey",
        alpha=0.5,
        label="lost",
    )
    twin.bar(
        x + width / 2,
        rates["reactivated"].to_numpy(dtype=float),
        width,
        color="C2",
        alpha=0.5,
        label="reactivated",
    )
    twin.set_ylabel("customers")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot(
        x, rates["churn_rate"].to_numpy(dtype=float), color=color, marker="o", label="churn rate"
    )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    step = max(len(x) // 12, 1)
    ax.set_xticks(x[::step], labels=[str(p) for p in rates.index[::step]], rotation=45, ha="right")
    ax.set_ylabel("churn rate (lost / active at start)")
    ax.set_title("Churn rate per period")
    lines, labels = ax.get_legend_handles_labels()
    bars, bar_labels = twin.get_legend_handles_labels()
    ax.legend(lines + bars, labels + bar_labels, loc="upper left", fontsize=8)
    return ax


def _table(result: Any, attr: str, caller: str, made_by: str) -> Any:
    table = getattr(result, attr, result)
    if not hasattr(table, "columns"):
        raise InvalidDataError(
            f"{caller}: expected a ChurnEvaluation or its `{attr}` DataFrame, got "
            f"{type(result).__name__}.\nHint: pass the output of {made_by}."
        )
    return table


def gains_chart(evaluation: Any, *, ax: Any = None) -> Any:
    """Cumulative gains: share of churners found by contacting the top-scored customers.

    Draws the model, the recency-only baseline (when ``evaluation`` has one) and
    random targeting (the diagonal).

    Parameters
    ----------
    evaluation : ChurnEvaluation or DataFrame
        Output of ``ChurnModel.evaluate``, or its ``gains`` table.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import gains_chart
    >>> gains = pd.DataFrame({"customers": [5, 5], "cumulative_gain": [0.8, 1.0]},
    ...                      index=pd.RangeIndex(1, 3, name="decile"))
    >>> ax = gains_chart(gains)
    >>> ax.lines[0].get_ydata().tolist()
    [0.0, 0.8, 1.0]
    """
    caller = "gains_chart"
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    made_by = "crm.churn.ChurnModel(...).evaluate(orders, cutoff=...)"
    gains = _table(evaluation, "gains", caller, made_by)
    _need(gains, ["customers", "cumulative_gain"], caller=caller, made_by=made_by)
    ax = get_ax(ax, figsize=(6.0, 5.0))
    curves = [("model", gains, "C0")]
    baseline = getattr(evaluation, "baseline_gains", None)
    if baseline is not None:
        curves.append(("recency baseline", baseline, "C1"))
    for name, table, color in curves:
        customers = table["customers"].to_numpy(dtype=float)
        x = np.concatenate(([0.0], np.cumsum(customers) / customers.sum()))
        y = np.concatenate(([0.0], table["cumulative_gain"].to_numpy(dtype=float)))
        ax.plot(x, y, marker="o", markersize=3, color=color, label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("customers contacted (highest churn probability first)")
    ax.set_ylabel("share of churners found")
    ax.set_title("Cumulative gains")
    ax.legend(loc="lower right")
    return ax


def calibration_plot(evaluation: Any, *, ax: Any = None, color: str = "C0") -> Any:
    """Observed churn rate against mean predicted probability, per probability bin.

    Points on the diagonal are well calibrated; the marker area grows with the bin's
    number of customers.

    Parameters
    ----------
    evaluation : ChurnEvaluation or DataFrame
        Output of ``ChurnModel.evaluate``, or its ``calibration`` table.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    color : str, default="C0"
        Colour of the points.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import calibration_plot
    >>> cal = pd.DataFrame({"customers": [10, 30], "mean_predicted": [0.2, 0.8],
    ...                     "observed_rate": [0.1, 0.9]})
    >>> ax = calibration_plot(cal)
    >>> ax.lines[0].get_ydata().tolist()
    [0.1, 0.9]
    """
    caller = "calibration_plot"
    import numpy as np

    made_by = "crm.churn.ChurnModel(...).evaluate(orders, cutoff=...)"
    cal = _table(evaluation, "calibration", caller, made_by)
    _need(cal, ["customers", "mean_predicted", "observed_rate"], caller=caller, made_by=made_by)
    ax = get_ax(ax, figsize=(5.5, 5.0))
    x = cal["mean_predicted"].to_numpy(dtype=float)
    y = cal["observed_rate"].to_numpy(dtype=float)
    n = cal["customers"].to_numpy(dtype=float)
    ax.plot(x, y, color=color, linewidth=1, marker="", label="model")
    sizes = 20 + 180 * n / max(float(n.max(initial=0.0)), 1.0)
    ax.scatter(x, y, s=sizes, color=color, zorder=3)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted churn probability")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration")
    ax.legend(loc="upper left")
    if not np.isfinite(y).any():
        ax.text(0.5, 0.5, "no customers", ha="center", va="center")
    return ax


def time_to_second_purchase_hist(
    result: Any,
    *,
    ax: Any = None,
    bins: int = 30,
    max_days: float | None = None,
    color: str = "C0",
) -> Any:
    """Histogram of the days from the first to the second purchase, with the median.

    Parameters
    ----------
    result : SecondPurchase or DataFrame
        Output of ``crm.repurchase.time_to_second_purchase``, or its ``customers``
        table (``days_to_second``).
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a figure.
    bins : int, default=30
        Histogram bins.
    max_days : float, default=None
        Cut the x axis here (the tail is usually long); None shows everything.
    color : str, default="C0"
        Bar colour.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.plot import time_to_second_purchase_hist
    >>> table = pd.DataFrame({"days_to_second": pd.array([3, 10, None, 40], dtype="Int64")})
    >>> ax = time_to_second_purchase_hist(table, bins=4)
    >>> ax.get_title()
    'Days to second purchase: 3 repeat customers, median 10'
    """
    caller = "time_to_second_purchase_hist"
    import numpy as np

    made_by = "crm.repurchase.time_to_second_purchase(orders)"
    table = getattr(result, "customers", result)
    _need(table, ["days_to_second"], caller=caller, made_by=made_by)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidDataError(f"{caller}: bins must be an integer >= 1, got {bins!r}.")
    days = table["days_to_second"].to_numpy(dtype="float64", na_value=np.nan)
    days = days[np.isfinite(days)]
    shown = days if max_days is None else days[days <= max_days]
    ax = get_ax(ax)
    ax.hist(shown, bins=bins, color=color, alpha=0.8)
    if len(days):
        median = float(np.median(days))
        ax.axvline(
            median, color="black", linestyle="--", linewidth=1, label=f"median {median:g} days"
        )
        ax.legend()
        title = f"Days to second purchase: {len(days):,} repeat customers, median {median:g}"
    else:
        title = "Days to second purchase: no repeat customers"
    ax.set_xlabel("days from first to second purchase")
    ax.set_ylabel("customers")
    ax.set_title(title)
    return ax
