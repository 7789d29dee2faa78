"""One self-contained HTML report of a shop's customers.

The report is a sequence of sections, each computed with the public API and rendered as
escaped HTML tables and inline SVG figures: the file needs no network and no other file
to be viewed. A section whose analysis cannot run on the data (too little history, say)
shows why instead of failing the whole report.
"""

from __future__ import annotations

import html
import io
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from . import schema
from .exceptions import CRMError, CRMWarning

__all__ = ["Report", "Section", "build_report", "write_report"]


@dataclass
class Section:
    """One titled part of a report: HTML body and an anchor key."""

    key: str
    title: str
    html: str


@dataclass
class Report:
    """A built report: ``to_html()`` renders it, ``save(path)`` writes it.

    Attributes
    ----------
    title : str
    sections : list of Section
    meta : dict
        Facts shown under the title (source, as-of date, rows).
    """

    title: str
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def to_html(self) -> str:
        """The whole report as one HTML document (inline CSS and SVG)."""
        nav = "".join(
            f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in self.sections
        )
        meta = " · ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in self.meta.items())
        body = "".join(
            f'<section id="{html.escape(s.key)}"><h2>{html.escape(s.title)}</h2>{s.html}</section>'
            for s in self.sections
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f'<header><h1>{html.escape(self.title)}</h1><p class="meta">{meta}</p>'
            f"<nav>{nav}</nav></header><main>{body}</main>"
            "<footer>Made with crm_analytics.</footer></body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the HTML to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return self.to_html()

    def __repr__(self) -> str:
        return f"Report({self.title!r}, sections={[s.key for s in self.sections]})"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;color:#1f2933;background:#f7f8fa}
header{background:#1f3a5f;color:#fff;padding:1.2em 2em}
header h1{margin:0 0 .3em 0;font-size:1.6em}.meta{margin:0;opacity:.85;font-size:.9em}
nav{margin-top:.8em}nav a{color:#cfe3ff;margin-right:1.2em;font-size:.9em;text-decoration:none}
main{padding:1em 2em;max-width:1100px}
section{background:#fff;border-radius:6px;padding:1em 1.5em;margin:1em 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:1.25em;margin-top:.2em;color:#1f3a5f}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}
th,td{padding:.3em .7em;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#eef2f7}
.kpis{display:flex;flex-wrap:wrap;gap:1em}.kpi{background:#eef2f7;border-radius:6px;padding:.6em 1em;min-width:9em}
.kpi b{display:block;font-size:1.35em}.note{color:#52606d;font-size:.9em}
.skip{color:#8a4b08;background:#fff6e5;padding:.5em 1em;border-radius:4px}
table.wide-text td:last-child{text-align:left;min-width:22em}
pre{background:#f4f6f8;padding:.8em;border-radius:4px;font-size:.85em;overflow-x:auto}
figure{margin:.5em 0}svg{max-width:100%;height:auto}
footer{padding:1em 2em;color:#7b8794;font-size:.8em}
"""


# ------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------
def _table(
    frame: pd.DataFrame,
    *,
    float_format: str = "{:,.2f}",
    index: bool = True,
    wide_text: bool = False,
) -> str:
    """Escaped HTML table; columns named ``*share*`` as percentages."""
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            fmt = "{:.1%}" if "share" in str(col) else float_format
            shown[col] = shown[col].map(lambda v, f=fmt: "" if pd.isna(v) else f.format(v))
    classes = "wide-text" if wide_text else None
    return shown.to_html(escape=True, index=index, border=0, na_rep="", classes=classes)


def _figure(draw: Callable[[Any], Any], *, size: tuple[float, float] = (7.5, 4.0)) -> str:
    """Render ``draw(ax)`` to inline SVG (no pyplot state, no display needed)."""
    import matplotlib

    # text stays text in the SVG, drawn by the browser's fonts (Chinese product names too);
    # matplotlib only measures it, so a missing glyph in its own font does not matter
    with matplotlib.rc_context({"svg.fonttype": "none"}), warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Glyph .* missing from font", category=UserWarning
        )
        return _render(draw, size)


def _render(draw: Callable[[Any], Any], size: tuple[float, float]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return f"<figure>{svg[svg.find('<svg') :]}</figure>"


def _kpis(items: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in items
    )
    return f'<div class="kpis">{cells}</div>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


@dataclass
class _Context:
    orders: pd.DataFrame
    customers: pd.DataFrame | None
    load: Any
    as_of: pd.Timestamp
    refunds: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        if "summary" not in self.cache:
            from .summary import customer_summary

            self.cache["summary"] = customer_summary(self.orders, as_of=self.as_of)
        return self.cache["summary"]

    @property
    def rfm(self) -> pd.DataFrame:
        if "rfm" not in self.cache:
            from .rfm import rfm_table

            self.cache["rfm"] = rfm_table(self.summary, as_of=self.as_of)
        return self.cache["rfm"]


# ------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------
def _section_headline(ctx: _Context) -> str:
    orders, s = ctx.orders, ctx.summary
    per_order = orders.groupby(schema.ORDER_ID, sort=False, observed=True)[schema.STATUS].first()
    placed = len(per_order)
    unpaid = float((per_order.astype(str) == schema.UNPAID).mean()) if placed else 0.0
    revenue = float(s["monetary_total"].sum())
    buyers = len(s)
    n_orders = int(s["n_orders"].sum())
    repeat = float((s["n_orders"] > 1).mean()) if buyers else 0.0
    refunded = float(orders[schema.REFUND_AMOUNT].sum()) if schema.REFUND_AMOUNT in orders else 0.0
    paid_value = float(
        orders.loc[orders[schema.STATUS].astype(str) != schema.UNPAID, schema.AMOUNT].sum()
    )
    items = [
        ("Net sales", f"{revenue:,.0f}"),
        ("Buyers", f"{buyers:,}"),
        ("Paid orders", f"{n_orders:,}"),
        ("Sales per order (AOV)", f"{revenue / max(n_orders, 1):,.2f}"),
        ("Sales per buyer", f"{revenue / max(buyers, 1):,.2f}"),
        ("Repeat buyers (复购率)", f"{100 * repeat:.1f}%"),
        ("Unpaid orders (拍下未付款)", f"{100 * unpaid:.1f}%"),
        ("Refunded money", f"{100 * refunded / paid_value:.1f}%" if paid_value else "0%"),
    ]
    paid = orders[orders[schema.STATUS].astype(str) == schema.PAID]
    month = paid[schema.ORDER_TIME].dt.to_period("M")
    net = paid[schema.AMOUNT] - paid.get(schema.REFUND_AMOUNT, 0.0)
    monthly = pd.DataFrame(
        {
            "sales": net.groupby(month).sum(),
            "buyers": paid.groupby(month)[schema.CUSTOMER_ID].nunique(),
            "orders": paid.groupby(month)[schema.ORDER_ID].nunique(),
        }
    )
    monthly.index = monthly.index.astype(str)

    def draw(ax: Any) -> None:
        ax.bar(monthly.index, monthly["sales"], color="#3e7cb1")
        ax.set_ylabel("net sales")
        ax.set_title("Net sales per month")
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)

    table = monthly.tail(12).assign(per_buyer=lambda d: d["sales"] / d["buyers"])
    return _kpis(items) + _figure(draw) + _table(table)


def _section_kpi(ctx: _Context) -> str:
    from .kpi import decompose, kpi_tree
    from .plot import kpi_tree as draw_tree
    from .plot import waterfall

    result = kpi_tree(ctx.orders, period="M", as_of=ctx.as_of)
    periods = [str(p) for p in result.wide.index]
    if len(periods) < 2:
        raise CRMError("the KPI decomposition needs at least two months of orders.")
    base, current = periods[-2], periods[-1]
    method: Literal["lmdi", "shapley"] = "lmdi"
    try:
        dec = decompose(result, base=base, current=current, method=method)
    except CRMError:  # LMDI needs positive values; Shapley does not
        method = "shapley"
        dec = decompose(result, base=base, current=current, method=method)
    text = result.to_text(current, base=base, method=method)
    return (
        _note(
            f"Sales = customers × orders per customer × sales per order (AOV); AOV = items per "
            f"order × price per item. Change from {base} to {current} split over the drivers "
            f"({method.upper()}: the leaf contributions add up to the change in sales)."
        )
        + f"<pre>{html.escape(text)}</pre>"
        + _figure(lambda ax: draw_tree(dec, ax=ax), size=(9.0, 4.5))
        + _figure(lambda ax: waterfall(dec, ax=ax), size=(8.0, 3.8))
    )


def _section_service(ctx: _Context) -> str:
    from .service import refund_analysis

    result = refund_analysis(ctx.orders, ctx.refunds, period="M")
    parts = [
        _note(
            "Refund rate by orders (share of paid orders with a refund) and by money (refunded "
            "share of the money paid)"
            + (
                ", with the refunds export's reasons."
                if ctx.refunds is not None
                else ", from the refunds the orders carry."
            )
        ),
        _table(result.overall),
    ]
    if result.by_period is not None:
        parts.append(_table(result.by_period.tail(12)))
    if ctx.refunds is not None and result.reasons is not None and len(result.reasons):
        from .plot import refund_reasons_pareto

        parts.append(_note("Refunded money by reason (退款原因):"))
        parts.append(_figure(lambda ax: refund_reasons_pareto(result, ax=ax), size=(7.0, 3.8)))
        parts.append(_table(result.reasons))
    if ctx.reviews is not None:
        from .service import review_analysis

        reviews = review_analysis(ctx.reviews, orders=ctx.orders, period="M")
        parts.append(_note("Reviews per month: ratings and the negative-review rate (差评率)."))
        parts.append(_table(reviews.distribution.tail(12)))
        if len(reviews.to_reply):
            shown = reviews.to_reply.head(20).drop(columns=[schema.CUSTOMER_ID], errors="ignore")
            parts.append(_note("Reviews that need a reply (lowest rating first):"))
            parts.append(_table(shown, index=False))
    if ctx.points is not None:
        from .loyalty import points_liability
        from .plot import points_balance

        liability = points_liability(ctx.points, as_of=ctx.as_of)
        parts.append(
            _note("Points (积分): outstanding balance, earned against redeemed and expired.")
        )
        parts.append(_figure(lambda ax: points_balance(liability, ax=ax), size=(7.5, 3.8)))
        parts.append(_table(liability.overall.to_frame("value")))
        parts.append(_note("Members holding the most unredeemed points (a reason to come back):"))
        parts.append(_table(liability.holders.head(15)))
    if ctx.customers is not None and schema.MEMBER_LEVEL in ctx.customers:
        from .loyalty import tier_value

        tiers = tier_value(ctx.orders, ctx.customers)
        parts.append(
            _note("Member tiers (会员等级): does a higher tier buy more, and by how much?")
        )
        parts.append(_table(tiers))
    return "".join(parts)


def _section_loaded(ctx: _Context) -> str:
    load = ctx.load
    if load is None:
        return _note(
            f"{len(ctx.orders):,} order rows given as a DataFrame; nothing was rejected here."
        )
    head = _note(
        f"Platform {load.platform}, encoding {load.encoding}: {load.n_input:,} rows read, "
        f"{len(load.orders):,} kept, {len(load.rejected):,} rejected."
    )
    report = load.report()
    parts = [head]
    if len(report):
        parts.append(
            _table(report.assign(share=report["share"] * 100).rename(columns={"share": "share %"}))
        )
        parts.append(_table(load.rejected.head(10), index=True))
    for note in load.notes:
        parts.append(_note(note))
    return "".join(parts)


def _section_rfm(ctx: _Context) -> str:
    from .plot import segment_bars
    from .rfm import segment_summary

    segs = segment_summary(ctx.rfm)
    segs = segs[segs["customers"] > 0].sort_values("revenue", ascending=False)
    fig = _figure(lambda ax: segment_bars(segs, value="revenue_share", ax=ax))
    cols = [
        c
        for c in (
            "customers",
            "customer_share",
            "revenue",
            "revenue_share",
            "mean_days_since_last",
            "mean_n_orders",
            "mean_aov",
            "action",
        )
        if c in segs.columns
    ]
    return (
        _note("RFM scores 1-5 (5 best) on quantiles; segments on the standard 5×5 grid.")
        + fig
        + _table(segs[cols], wide_text=True)
    )


def _section_lifecycle(ctx: _Context) -> str:
    from .segments import lifecycle

    stages = lifecycle(ctx.summary, customers=ctx.customers)
    counts = stages["stage"].value_counts(sort=False).rename("customers").to_frame()
    counts["share"] = counts["customers"] / counts["customers"].sum()
    th = stages.attrs.get("thresholds")
    text = f"Thresholds (days): {th}." if th else ""
    return _note(text) + _table(counts)


def _section_value(ctx: _Context) -> str:
    from .plot import pareto_curve
    from .segments import pareto

    curve = pareto(ctx.summary)
    headline = curve.attrs.get("headline", "")
    return _note(str(headline)) + _figure(lambda ax: pareto_curve(curve, ax=ax), size=(5.5, 4.0))


def _section_clv(ctx: _Context) -> str:
    from .clv import fit_clv
    from .plot import clv_distribution

    result = fit_clv(ctx.orders, freq="W", as_of=ctx.as_of, penalizer=0.001)
    ctx.cache["clv"] = result
    table = result.table
    params = result.purchase_model.params_.round(4).to_dict()
    top = table.head(15)
    return (
        _note(
            f"BG/NBD (weeks) {params}; Gamma-Gamma spend model; 12-month CLV, 1% monthly "
            f"discount. Expected purchases in 12 months, all customers: "
            f"{table.filter(like='expected_purchases').iloc[:, 0].sum():,.0f}."
        )
        + _figure(lambda ax: clv_distribution(table, ax=ax))
        + _table(top)
    )


def _section_cohorts(ctx: _Context) -> str:
    from .plot import cohort_heatmap
    from .repurchase import cohort_table, repurchase_rate

    table = cohort_table(ctx.orders, period="M", as_of=ctx.as_of)
    recent = table.tail(12)
    recent = recent.loc[:, [c for c in recent.columns if int(c) <= 12]]
    rates = repurchase_rate(ctx.orders, period="M", as_of=ctx.as_of).tail(6)
    return (
        _note(
            "Share of each monthly cohort (month of first purchase) buying again in each "
            "later month; blank cells are not observed yet."
        )
        + _figure(lambda ax: cohort_heatmap(recent, ax=ax, annotate=False), size=(8.0, 4.5))
        + _note("Repurchase rate (复购率: buyers with two or more orders in the month):")
        + _table(rates)
    )


def _section_churn(ctx: _Context) -> str:
    from .churn import ChurnModel

    horizon = 90
    model = ChurnModel(horizon_days=horizon, random_state=0)
    model.fit(ctx.orders, cutoff=ctx.as_of - pd.Timedelta(days=horizon))
    risk = model.predict_proba(ctx.orders, as_of=ctx.as_of)
    s = ctx.summary
    table = risk.join(s[["n_orders", "monetary_total", "days_since_last"]], how="inner")
    table["value_at_risk"] = table["churn_probability"] * table["monetary_total"]
    active = table[table["days_since_last"] <= 365]
    top = active.sort_values("value_at_risk", ascending=False).head(20)
    return _note(
        f"Probability of no purchase in the next {horizon} days (gradient boosting on "
        f"order history, fitted on the {horizon} days before the as-of date). The list: "
        "customers seen in the last year with the most spend at risk (churn probability × "
        "spend to date), the natural win-back list."
    ) + _table(
        top[["churn_probability", "n_orders", "monetary_total", "days_since_last", "value_at_risk"]]
    )


def _rules_table(rules: pd.DataFrame) -> str:
    """Association rules as a table, each itemset written as a sorted, comma-joined list."""
    shown = rules[["antecedent", "consequent", "support", "confidence", "lift"]].copy()
    for side in ("antecedent", "consequent"):
        shown[side] = shown[side].map(lambda items: ", ".join(sorted(map(str, items))))
    return _table(shown, index=False)


def _section_basket(ctx: _Context) -> str:
    from .basket import association_rules, frequent_itemsets
    from .plot import top_rules_bar

    level = schema.CATEGORY if schema.CATEGORY in ctx.orders else None
    item_col = schema.PRODUCT_NAME if schema.PRODUCT_NAME in ctx.orders else schema.PRODUCT_ID
    if item_col not in ctx.orders:
        raise CRMError("the orders have no product column (product_id or product_name).")
    itemsets = frequent_itemsets(ctx.orders, item_col=item_col, min_support=0.002, max_len=3)
    rules = association_rules(itemsets, min_confidence=0.05, min_lift=1.0)
    parts = [
        _note(
            f"Products bought in the same order ({len(itemsets):,} frequent itemsets at "
            f"support 0.2%, {len(rules):,} rules with lift above 1)."
        )
    ]
    if len(rules):
        parts.append(_figure(lambda ax: top_rules_bar(rules, n=10, ax=ax), size=(8.0, 4.0)))
        parts.append(_rules_table(rules.head(15)))
    if level is not None:
        cat_sets = frequent_itemsets(ctx.orders, item_col=level, min_support=0.005, max_len=2)
        cat_rules = association_rules(cat_sets, min_confidence=0.05, min_lift=1.0).head(10)
        if len(cat_rules):
            parts.append(_note("Category pairs:"))
            parts.append(_rules_table(cat_rules))
    return "".join(parts)


_SECTIONS: list[tuple[str, str, Callable[[_Context], str]]] = [
    ("headline", "Headline KPIs", _section_headline),
    ("kpi", "KPI tree: why sales moved", _section_kpi),
    ("rfm", "RFM segments and actions", _section_rfm),
    ("lifecycle", "Lifecycle stages", _section_lifecycle),
    ("value", "Value concentration", _section_value),
    ("cohorts", "Cohorts and repurchase", _section_cohorts),
    ("churn", "Churn risk: who to win back", _section_churn),
    ("clv", "Customer lifetime value", _section_clv),
    ("basket", "Bought together", _section_basket),
    ("service", "After-sales and loyalty", _section_service),
    ("loaded", "What the loader read and rejected", _section_loaded),
]


def build_report(
    orders: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    load: Any = None,
    as_of: Any = None,
    refunds: pd.DataFrame | None = None,
    reviews: pd.DataFrame | None = None,
    points: pd.DataFrame | None = None,
    title: str = "Customer report",
    progress: bool = False,
) -> Report:
    """Compute every section of the customer report.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders.
    customers : pandas.DataFrame, optional
        Customers table (``crm.read_customers``): adds registered non-buyers to the
        lifecycle section.
    load : OrdersLoad, optional
        The loader result, to report what was rejected.
    as_of : datetime-like, optional
        Observation date; default the latest order.
    refunds, reviews, points : pandas.DataFrame, optional
        Refunds, reviews and points tables (``crm.read_refunds``, ``crm.read_reviews``,
        ``crm.read_points``) for the after-sales and loyalty section.
    title : str, default="Customer report"
    progress : bool, default=False
        Print one line per section to standard error while working.

    Returns
    -------
    Report

    Examples
    --------
    >>> import crm_analytics as crm
    >>> from crm_analytics.report import build_report
    >>> report = build_report(crm.datasets.load_sample())
    >>> [s.key for s in report.sections]
    ['headline', 'kpi', 'rfm', 'lifecycle', 'value', 'cohorts', 'churn', 'clv', 'basket', 'service', 'loaded']
    """
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else orders[schema.ORDER_TIME].max()
    ctx = _Context(
        orders=orders,
        customers=customers,
        load=load,
        as_of=as_of_ts,
        refunds=refunds,
        reviews=reviews,
        points=points,
    )
    report = Report(
        title=title,
        meta={
            "as of": f"{as_of_ts:%Y-%m-%d}",
            "order rows": f"{len(orders):,}",
            "period": f"{orders[schema.ORDER_TIME].min():%Y-%m-%d} .. {as_of_ts:%Y-%m-%d}",
        },
    )
    total = len(_SECTIONS)
    for i, (key, heading, make) in enumerate(_SECTIONS, start=1):
        if progress:
            print(f"[{i}/{total}] {heading}", file=sys.stderr, flush=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CRMWarning)
            try:
                body = make(ctx)
            except CRMError as exc:
                body = f'<p class="skip">Not shown: {html.escape(str(exc))}</p>'
        for w in caught:
            if issubclass(w.category, CRMWarning):
                body += f'<p class="skip">Caution: {html.escape(str(w.message))}</p>'
            else:  # pragma: no cover - pass other warnings on unchanged
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        report.sections.append(Section(key=key, title=heading, html=body))
    return report


def write_report(
    source: Any = None,
    *,
    out: str | Path = "report.html",
    platform: str = "auto",
    customers: Any = None,
    as_of: Any = None,
    pseudonymize: str | None = None,
    refunds: Any = None,
    reviews: Any = None,
    points: Any = None,
    progress: bool = False,
) -> Path:
    """Load an orders export and write the HTML report.

    Parameters
    ----------
    source : str, Path, DataFrame or None
        Orders export; None means the bundled Taobao-style sample export.
    out : str or Path, default="report.html"
    platform : str, default="auto"
    customers : str, Path or DataFrame, optional
        Customers export.
    as_of : datetime-like, optional
    pseudonymize : str, optional
        Secret key for pseudonymising customer ids in every table.
    refunds, reviews, points : str, Path or DataFrame, optional
        Refunds, reviews and points exports for the after-sales and loyalty section.
    progress : bool, default=False

    Returns
    -------
    Path
        The file written.
    """
    from . import datasets
    from .io import load_customers, load_orders, read_points, read_refunds, read_reviews

    if source is None:
        source = datasets.sample_path("taobao")
    load = load_orders(source, platform=platform, pseudonymize=pseudonymize)
    customer_table = None
    if customers is not None:
        customer_table = load_customers(customers, pseudonymize=pseudonymize).customers
    extra = {
        "refunds": read_refunds(refunds, pseudonymize=pseudonymize)
        if refunds is not None
        else None,
        "reviews": read_reviews(reviews, pseudonymize=pseudonymize)
        if reviews is not None
        else None,
        "points": read_points(points, pseudonymize=pseudonymize) if points is not None else None,
    }
    name = Path(source).name if isinstance(source, (str, Path)) else "DataFrame"
    report = build_report(
        load.orders,
        customers=customer_table,
        load=load,
        as_of=as_of,
        **extra,
        title=f"Customer report: {name}",
        progress=progress,
    )
    return report.save(out)
