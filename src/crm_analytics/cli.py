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


def _load(args: argparse.Namespace) -> Any:
    from . import datasets
    from .io import load_orders

    source = args.source or datasets.sample_path("taobao")
    return load_orders(source, platform=args.platform, pseudonymize=args.pseudonymize)


def _analysis_table(command: str, args: argparse.Namespace) -> Any:
    """The per-customer (or per-rule) table a command writes."""
    import pandas as pd

    from .summary import customer_summary

    orders = _load(args).orders
    as_of = pd.Timestamp(args.as_of) if args.as_of else None
    if command == "summary-table":
        return customer_summary(orders, as_of=as_of)
    if command == "rfm":
        from .rfm import rfm_table

        return rfm_table(orders, as_of=as_of)
    if command == "segments":
        from .rfm import rfm_table
        from .segments import lifecycle

        summary = customer_summary(orders, as_of=as_of)
        table = rfm_table(summary)
        return table.join(lifecycle(summary)[["stage"]])
    if command == "clv":
        from .clv import fit_clv

        return fit_clv(orders, as_of=as_of, freq="W", penalizer=0.001).table
    if command == "kpi":
        from .kpi import kpi_tree

        wide = kpi_tree(orders, period=args.period, as_of=as_of).wide
        wide.index = wide.index.astype(str)
        return wide
    if command == "basket":
        from .basket import association_rules, frequent_itemsets

        item_col = args.item_col or next(
            (c for c in ("product_id", "product_name") if c in orders.columns), "product_id"
        )
        itemsets = frequent_itemsets(
            orders, item_col=item_col, min_support=args.min_support, max_len=args.max_len
        )
        rules = association_rules(itemsets, min_confidence=args.min_confidence)
        for side in ("antecedent", "consequent"):
            rules[side] = rules[side].map(lambda items: " | ".join(sorted(map(str, items))))
        return rules
    raise AssertionError(command)  # pragma: no cover


def _add_source(p: argparse.ArgumentParser, *, out: bool) -> None:
    p.add_argument(
        "source", nargs="?", help="orders export (default: the bundled Taobao-style sample)"
    )
    p.add_argument(
        "--platform", default="auto", help="taobao, jd, douyin, shopify, generic or auto (default)"
    )
    p.add_argument(
        "--as-of", default=None, help="observation date, e.g. 2024-12-31 (default: latest order)"
    )
    p.add_argument(
        "--pseudonymize", default=None, metavar="KEY", help="replace customer ids by keyed hashes"
    )
    if out:
        p.add_argument("--out", required=True, help="output file: .csv, .parquet or .xlsx")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-analytics",
        description="E-commerce customer analytics from shop exports (Taobao/Tmall, JD, Douyin, Shopify, CSV/Excel).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_sum = sub.add_parser("summary", help="load an orders export and print a summary")
    _add_source(p_sum, out=False)
    p_sum.add_argument("--months", type=int, default=6, help="recent months of sales to list")

    p_rep = sub.add_parser("report", help="write the HTML customer report")
    _add_source(p_rep, out=False)
    p_rep.add_argument("--customers", default=None, help="customers export to join")
    p_rep.add_argument("--refunds", default=None, help="refunds export (退款管理)")
    p_rep.add_argument("--reviews", default=None, help="reviews export (评价)")
    p_rep.add_argument("--points", default=None, help="points movements export (积分流水)")
    p_rep.add_argument(
        "--out", default="report.html", help="HTML file to write (default report.html)"
    )
    p_rep.add_argument("--quiet", action="store_true", help="no progress lines")

    for name, text in (
        ("rfm", "RFM scores and segments per customer"),
        ("segments", "RFM segment and lifecycle stage per customer"),
        ("clv", "expected purchases, P(alive) and lifetime value per customer"),
        ("summary-table", "the customer summary (one row per buyer)"),
    ):
        _add_source(sub.add_parser(name, help=f"write {text} to a file"), out=True)
    p_kpi = sub.add_parser("kpi", help="write the KPI tree per period to a file")
    _add_source(p_kpi, out=True)
    p_kpi.add_argument(
        "--period", default="M", choices=["D", "W", "M", "Q", "Y"], help="period (default M)"
    )
    p_bsk = sub.add_parser("basket", help="write association rules (bought together) to a file")
    _add_source(p_bsk, out=True)
    p_bsk.add_argument(
        "--item-col", default=None, help="item column (default product_id, else product_name)"
    )
    p_bsk.add_argument(
        "--min-support", type=float, default=0.001, help="minimum support (default 0.001)"
    )
    p_bsk.add_argument(
        "--min-confidence", type=float, default=0.1, help="minimum confidence (default 0.1)"
    )
    p_bsk.add_argument("--max-len", type=int, default=None, help="largest itemset size")

    p_smp = sub.add_parser("sample", help="write the bundled sample exports to a folder")
    p_smp.add_argument("--out", required=True, help="folder to write into (created if needed)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crm-analytics`` command.

    Exit codes: 0 success, 1 the data or a file could not be used (the message says
    why), 2 the command line was wrong.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command or "summary"
    if args.command is None:
        args = parser.parse_args(["summary"])
    from .exceptions import CRMError

    try:
        if command == "summary":
            print(
                summary_text(
                    args.source,
                    platform=args.platform,
                    as_of=args.as_of,
                    months=args.months,
                    pseudonymize=args.pseudonymize,
                )
            )
        elif command == "report":
            from .report import write_report

            path = write_report(
                args.source,
                out=args.out,
                platform=args.platform,
                customers=args.customers,
                as_of=args.as_of,
                pseudonymize=args.pseudonymize,
                refunds=args.refunds,
                reviews=args.reviews,
                points=args.points,
                progress=not args.quiet,
            )
            print(f"wrote {path}")
        elif command == "sample":
            _write_sample(args.out)
        else:
            from .export import write_table

            path = write_table(_analysis_table(command, args), args.out)
            print(f"wrote {path}")
    except (CRMError, FileNotFoundError, PermissionError) as exc:
        print(f"crm-analytics {command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _write_sample(folder: str) -> None:
    """Copy the bundled sample exports (and CSVs of the canonical tables) into ``folder``."""
    import shutil
    from pathlib import Path

    from . import datasets

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(datasets.sample_path("taobao"), out / "taobao_orders.csv")
    datasets.load_sample().to_csv(out / "orders.csv", index=False)
    datasets.load_sample_customers().to_csv(out / "customers.csv", index=False)
    datasets.load_sample_campaign().to_csv(out / "campaign.csv", index=False)
    for name in ("taobao_orders.csv", "orders.csv", "customers.csv", "campaign.csv"):
        print(f"wrote {out / name}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
