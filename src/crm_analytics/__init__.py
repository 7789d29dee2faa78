"""crm_analytics: e-commerce customer analytics.

Load shop exports into one canonical orders table, summarise customers, and analyse
them (RFM and segments, repurchase and churn, lifetime value, baskets, KPI trees).

>>> import crm_analytics as crm
>>> orders = crm.datasets.load_sample()
>>> summary = crm.customer_summary(orders)
>>> summary.index.name
'customer_id'

``import crm_analytics`` is light: the modules (and pandas, scikit-learn, matplotlib)
are imported on first use of the attribute that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first access)
_ENTRY_POINTS: dict[str, str] = {
    "read_orders": "io",
    "load_orders": "io",
    "read_customers": "io",
    "load_customers": "io",
    "OrdersLoad": "io",
    "read_campaign": "io",
    "load_campaign": "io",
    "read_events": "io",
    "load_events": "io",
    "CampaignLoad": "io",
    "read_refunds": "io",
    "load_refunds": "io",
    "RefundsLoad": "io",
    "read_reviews": "io",
    "load_reviews": "io",
    "ReviewsLoad": "io",
    "read_points": "io",
    "load_points": "io",
    "PointsLoad": "io",
    "refund_analysis": "service",
    "review_analysis": "service",
    "satisfaction": "service",
    "tier_migration": "loyalty",
    "tier_value": "loyalty",
    "tier_rules_check": "loyalty",
    "points_liability": "loyalty",
    "EventsLoad": "io",
    "kpi_tree": "kpi",
    "decompose": "kpi",
    "CustomersLoad": "io",
    "customer_summary": "summary",
    "rfm_table": "rfm",
    "repurchase_rate": "repurchase",
    "cohort_table": "repurchase",
    "ChurnModel": "churn",
    "frequent_itemsets": "basket",
    "association_rules": "basket",
    "to_csv": "export",
    "to_excel": "export",
    "fit_clv": "clv",
}
_SUBMODULES = (
    "basket",
    "campaign",
    "churn",
    "cli",
    "clv",
    "datasets",
    "exceptions",
    "export",
    "io",
    "kpi",
    "loyalty",
    "plot",
    "repurchase",
    "report",
    "rfm",
    "schema",
    "segments",
    "service",
    "summary",
)

__all__ = ["__version__", *_ENTRY_POINTS, *_SUBMODULES]

if TYPE_CHECKING:  # pragma: no cover
    from . import (  # noqa: F401
        basket,
        campaign,
        churn,
        cli,
        clv,
        datasets,
        exceptions,
        export,
        io,
        kpi,
        loyalty,
        plot,
        report,
        repurchase,
        rfm,
        schema,
        segments,
        service,
        summary,
    )
    from .basket import association_rules, frequent_itemsets  # noqa: F401
    from .churn import ChurnModel  # noqa: F401
    from .clv import fit_clv  # noqa: F401
    from .export import to_csv, to_excel  # noqa: F401
    from .io import (  # noqa: F401
        CampaignLoad,
        CustomersLoad,
        EventsLoad,
        OrdersLoad,
        PointsLoad,
        RefundsLoad,
        ReviewsLoad,
        load_campaign,
        load_customers,
        load_events,
        load_orders,
        load_points,
        load_refunds,
        load_reviews,
        read_campaign,
        read_customers,
        read_events,
        read_orders,
        read_points,
        read_refunds,
        read_reviews,
    )
    from .kpi import decompose, kpi_tree  # noqa: F401
    from .loyalty import points_liability, tier_migration, tier_rules_check, tier_value  # noqa: F401
    from .repurchase import cohort_table, repurchase_rate  # noqa: F401
    from .rfm import rfm_table  # noqa: F401
    from .service import refund_analysis, review_analysis, satisfaction  # noqa: F401
    from .summary import customer_summary  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _ENTRY_POINTS:
        module = importlib.import_module(f".{_ENTRY_POINTS[name]}", __name__)
        value = getattr(module, name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'crm_analytics' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
