"""The ``crm-analytics`` command (also ``python -m crm_analytics``).

``crm-analytics summary [SOURCE]`` loads an orders export (by default the bundled
Taobao-style sample) and prints what a shop owner asks first: what was loaded and
rejected, orders and statuses, buyers and repeat buyers, revenue and average order
value, monthly sales, and the RFM segments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "summary_text"]


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def summary_text(
    source: Any = None,
    *,
    platform: str = "auto",
    as_of: Any = None,
    months: int = 6,
    pseudonymize: str | None = None,
) -> str:
    """Load an export and describe it in plain text (what ``crm-analytics summary`` prints).

    Parameters
    ----------
    source : str, Path, DataFrame or None
        Orders export; None means the bundled Taobao-style sample export.
    platform : str, default="auto"
        Export layout (see :func:`crm_analytics.load_orders`).
    as_of : datetime-like, optional
        Observation date; default the latest order.
    months : int, default=6
        How many recent months of sales to list.
    pseudonymize : str, optional
        Secret key for pseudonymising customer ids while loading.

    Returns
    -------
    str

    Examples
    --------
    >>> from crm_analytics.cli import summary_text
    >>> print(summary_text().splitlines()[1])
    Loaded taobao_orders.csv: platform taobao, encoding gb18030, 9,243 rows -> 9,236 orders, 7 rejected
    """
    import pandas as pd

    from . import datasets, schema
    from .io import load_orders
    from .rfm import rfm_table, segment_summary
    from .summary import customer_summary

    if source is None:
        source = datasets.sample_path("taobao")
    name = getattr(source, "name", None) or (source if isinstance(source, str) else "DataFrame")
    load = load_orders(source, platform=platform, pseudonymize=pseudonymize)
    orders = load.orders
    lines: list[str] = []
    add = lines.append
    from . import __version__

    add(f"crm_analytics {__version__}")
    add(
        f"Loaded {name}: platform {load.platform}, encoding {load.encoding}, "
        f"{load.n_input:,} rows -> {len(orders):,} orders, {len(load.rejected):,} rejected"
    )
    for reason, row in load.report().iterrows():
        add(f"  rejected: {reason:<28s} {int(row['rows']):>6,}")
    for note in load.notes:
        add(f"  note: {note}")
    if orders.empty:
        add("No valid orders.")
        return "\n".join(lines)

    as_of_ts = pd.Timestamp(as_of) if as_of is not None else orders[schema.ORDER_TIME].max()
    add(f"Period: {orders[schema.ORDER_TIME].min():%Y-%m-%d} .. {as_of_ts:%Y-%m-%d}")
    per_order = orders.groupby(schema.ORDER_ID, sort=False)[schema.STATUS].first().astype(str)
    shares = per_order.value_counts(normalize=True)
    add(
        f"Orders placed: {len(per_order):,}  "
        + "  ".join(f"{s} {_pct(shares.get(s, 0.0))}" for s in schema.STATUSES)
    )

    summary = customer_summary(orders, as_of=as_of_ts)
    n = len(summary)
    repeat = float((summary["n_orders"] > 1).mean()) if n else 0.0
    revenue = float(summary["monetary_total"].sum())
    add(f"Buyers: {n:,}  repeat buyers {_pct(repeat)}  one-order buyers {_pct(1 - repeat)}")
    add(
        f"Revenue (net of refunds): {_money(revenue)}  "
        f"per order {_money(revenue / summary['n_orders'].sum())}  "
        f"per buyer {_money(revenue / n)}"
    )
    top = summary["monetary_total"].sort_values(ascending=False)
    k = max(1, int(round(0.2 * n)))
    add(f"Top 20% of buyers bring {_pct(top.iloc[:k].sum() / revenue)} of revenue")

    paid = orders[orders[schema.STATUS] == schema.PAID]
    net = paid[schema.AMOUNT] - paid[schema.REFUND_AMOUNT]
    month = paid[schema.ORDER_TIME].dt.to_period("M")
    monthly = pd.DataFrame(
        {
            "sales": net.groupby(month).sum(),
            "buyers": paid.groupby(month)[schema.CUSTOMER_ID].nunique(),
        }
    )
    add("")
    add(f"Monthly sales (last {months}):")
    add(f"  {'month':<8s} {'sales':>14s} {'buyers':>7s} {'per buyer':>10s}")
    for period, row in monthly.tail(months).iterrows():
        add(
            f"  {str(period):<8s} {_money(row['sales']):>14s} {int(row['buyers']):>7,} "
            f"{_money(row['sales'] / row['buyers']):>10s}"
        )

    table = rfm_table(summary, as_of=as_of_ts)
    segs = segment_summary(table).sort_values("revenue", ascending=False)
    add("")
    add("RFM segments (by revenue):")
    add(f"  {'segment':<20s} {'customers':>9s} {'share':>6s} {'revenue':>7s}  action")
    for seg, row in segs.iterrows():
        action = str(row.get("action", "")) if "action" in segs.columns else ""
        add(
            f"  {str(seg):<20s} {int(row['customers']):>9,} {_pct(row['customer_share']):>6s} "
            f"{_pct(row['revenue_share']):>7s}  {action}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crm-analytics`` command."""
    parser = argparse.ArgumentParser(
        prog="crm-analytics", description="E-commerce customer analytics from shop exports."
    )
    sub = parser.add_subparsers(dest="command")
    p_sum = sub.add_parser("summary", help="load an orders export and print a summary")
    p_sum.add_argument("source", nargs="?", help="orders export (default: the bundled sample)")
    p_sum.add_argument(
        "--platform", default="auto", help="taobao, jd, douyin, shopify, generic or auto"
    )
    p_sum.add_argument("--as-of", default=None, help="observation date (default: latest order)")
    p_sum.add_argument("--months", type=int, default=6, help="recent months of sales to list")
    p_sum.add_argument(
        "--pseudonymize", default=None, metavar="KEY", help="hash customer ids with KEY"
    )
    args = parser.parse_args(argv)
    if args.command in (None, "summary"):
        text = summary_text(
            getattr(args, "source", None),
            platform=getattr(args, "platform", "auto"),
            as_of=getattr(args, "as_of", None),
            months=getattr(args, "months", 6),
            pseudonymize=getattr(args, "pseudonymize", None),
        )
        print(text)
        return 0
    parser.print_help()  # pragma: no cover
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
