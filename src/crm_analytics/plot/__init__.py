"""Plots of computed results.

Each function takes the output of a compute function and an optional matplotlib ``ax``,
draws on it and returns the Axes. Nothing here computes an analysis and nothing calls
``show()``; matplotlib is imported on first use, not when this module is imported.
"""

from __future__ import annotations

from ._base import get_ax
from ._basket import item_network, rules_scatter, top_rules_bar
from ._clv import (
    calibration_vs_holdout,
    clv_distribution,
    frequency_recency_matrix,
    p_alive_history,
)
from ._kpi import funnel, kpi_tree, uplift_plot, waterfall
from ._repurchase import (
    calibration_plot,
    churn_rate_plot,
    cohort_heatmap,
    gains_chart,
    retention_curves,
    time_to_second_purchase_hist,
)
from ._rfm import cluster_profile, pareto_curve, rfm_heatmap, segment_bars
from ._service import (
    points_balance,
    rating_distribution,
    refund_reasons_pareto,
    tier_migration_heatmap,
)

__all__: list[str] = [
    "points_balance",
    "rating_distribution",
    "refund_reasons_pareto",
    "tier_migration_heatmap",
    "funnel",
    "kpi_tree",
    "uplift_plot",
    "waterfall",
    "calibration_plot",
    "churn_rate_plot",
    "cohort_heatmap",
    "gains_chart",
    "retention_curves",
    "time_to_second_purchase_hist",
    "calibration_vs_holdout",
    "cluster_profile",
    "clv_distribution",
    "frequency_recency_matrix",
    "p_alive_history",
    "get_ax",
    "item_network",
    "pareto_curve",
    "rfm_heatmap",
    "rules_scatter",
    "segment_bars",
    "top_rules_bar",
]
