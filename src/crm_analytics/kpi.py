"""KPI trees and period-over-period driver decomposition.

A KPI tree is data: a set of named nodes, each either a :class:`Measure` computed from
the orders (a sum, a count or a distinct count over filtered rows) or a
:class:`Formula` of other nodes (their product, ratio or sum). The built-in
:data:`ECOMMERCE` tree is::

    sales = customers × orders_per_customer × aov
        customers = new_customers + returning_customers
        orders_per_customer = orders / customers
        aov = items_per_order × avg_item_price
            items_per_order = items / orders
            avg_item_price = revenue / items

so that ``sales`` equals the net revenue of the period, and its side measures
``sales_per_customer``, ``unpaid_order_rate``, ``refund_rate`` and ``repurchase_rate``.
With a traffic table, :data:`ECOMMERCE_TRAFFIC` has ``customers = visitors ×
conversion_rate`` instead.

客单价 is revenue per *order* in some Chinese tools and revenue per *buyer* in others.
The tree keeps both, under two names: ``aov`` (sales per order) and
``sales_per_customer`` (sales per buyer), and the Chinese labels say which is which.

:func:`kpi_tree` evaluates a tree per period (and group); :func:`decompose` splits the
change of the root between two periods into the contributions of its drivers.

Decomposition
-------------
Each node of the decomposition tree (the root, and below it the children of product
and sum nodes; ratio nodes and measures are its leaves) gets a contribution to the
change of the root, and the leaves' contributions add up to the root's change exactly
(up to float rounding). Contributions are passed down the tree with a weight ``v``
(``contribution = v × change of the node``; ``v = 1`` at the root):

* a sum node passes its own weight to every child (a proportional split);
* a product node P with children x_i passes, with ``method="lmdi"`` (the additive
  logarithmic mean Divisia index, Ang 2005), ``v_i = v_P · L(P1, P0) / L(x_i1, x_i0)``
  with the logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)`` (``L(a, a) = a``),
  i.e. ``contribution_i = v_P · L(P1, P0) · ln(x_i1 / x_i0)``; with
  ``method="shapley"``, the Shapley value of factor i in the product (the average of
  its effect over every order of substituting the factors), which for two factors is
  ``Δx_i × (other_0 + other_1) / 2``.

Worked example: sales 1000 customers × 50 = 50,000 → 1200 × 45 = 54,000. LMDI gives
the customers ``L(54000, 50000) · ln(1.2) = 9,476`` and the order value ``-5,476``;
Shapley gives ``200 × 47.5 = 9,500`` and ``-5 × 1100 = -5,500``. Substituting one
factor at a time would give the customers +10,000 or +9,000 depending on the order.
LMDI needs positive values (zero or negative values are an error that suggests
Shapley).

References
----------
Ang, B. W. (2005). The LMDI approach to decomposition analysis: a practical guide.
Energy Policy 33(7), 867-871.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import schema
from ._purchases import period_ordinal
from ._validation import as_frame, check_choice, check_columns, check_datetime_dtype, nearest
from .exceptions import ColumnNotFoundError, InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ECOMMERCE",
    "ECOMMERCE_TRAFFIC",
    "FILTERS",
    "Formula",
    "KpiResult",
    "KpiTree",
    "Measure",
    "decompose",
    "kpi_tree",
]

#: Row filters a :class:`Measure` can use (``where=``).
FILTERS: tuple[str, ...] = (
    "purchase",  # status paid, refund not covering the amount (the library's purchases)
    "placed",  # every order row, any status
    "unpaid",  # status unpaid
    "cancelled",  # status cancelled
    "paid_or_refunded",  # money was paid: status paid or refunded
    "new",  # purchases of customers whose first purchase in the data is in this period
    "returning",  # purchases of customers who bought in an earlier period
    "repeat",  # purchases of customers with 2+ distinct orders in this period (and group)
    "all",  # every row (for events tables)
)
_AGGS = ("sum", "count", "nunique")
_OPS = ("product", "ratio", "sum")
_TABLES = ("orders", "events")
_PERIODS = ("D", "W", "M", "Q", "Y")
_METHODS = ("lmdi", "shapley")
_MAX_SHAPLEY_FACTORS = 12


# ------------------------------------------------------------------------------------
# tree definition
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    """A KPI computed from the rows of the orders (or events) table.

    Parameters
    ----------
    name : str
        Node name (a column of ``KpiResult.wide``).
    agg : {"sum", "count", "nunique"}
        Sum of ``of``, number of rows, or number of distinct values of ``of``.
    of : str, optional
        What to aggregate: ``"net_amount"`` (amount - refund_amount), ``"amount"``,
        ``"refund_amount"``, ``"quantity"``, ``"order_id"``, ``"customer_id"`` (these
        follow the ``*_col`` keywords of :func:`kpi_tree`), or any other column of the
        table. Not needed for ``"count"``.
    where : str, default="purchase"
        Row filter, one of :data:`FILTERS`.
    match : mapping, optional
        Extra filter ``{column: value or list of values}``, e.g.
        ``{"category": ["茶饮"]}`` for a category branch.
    table : {"orders", "events"}, default="orders"
        The table the rows come from.
    label, label_zh : str
        Display names in English and Chinese.
    """

    name: str
    agg: Literal["sum", "count", "nunique"]
    of: str | None = None
    where: str = "purchase"
    match: Mapping[str, Any] | None = None
    table: Literal["orders", "events"] = "orders"
    label: str = ""
    label_zh: str = ""

    @property
    def children(self) -> tuple[str, ...]:
        """Measures have no children."""
        return ()

    def describe(self) -> str:
        """The definition as text, e.g. ``nunique(order_id | purchase)``."""
        what = self.of if self.of is not None else "rows"
        extra = f", {dict(self.match)}" if self.match else ""
        table = "" if self.table == "orders" else f" in {self.table}"
        return f"{self.agg}({what} | {self.where}{extra}){table}"


@dataclass(frozen=True)
class Formula:
    """A KPI computed from other nodes: their product, ratio or sum.

    Parameters
    ----------
    name : str
        Node name.
    op : {"product", "ratio", "sum"}
        ``product`` and ``sum`` of two or more children (their drivers in a
        decomposition); ``ratio`` of exactly two (numerator, denominator), a leaf of
        the decomposition.
    children : tuple of str
        Names of the nodes it is computed from.
    label, label_zh : str
        Display names in English and Chinese.
    """

    name: str
    op: Literal["product", "ratio", "sum"]
    children: tuple[str, ...]
    label: str = ""
    label_zh: str = ""

    def describe(self) -> str:
        """The definition as text, e.g. ``orders / customers``."""
        sign = {"product": " × ", "ratio": " / ", "sum": " + "}[self.op]
        return sign.join(self.children)


Node = Measure | Formula


@dataclass(frozen=True)
class KpiTree:
    """A KPI tree: named nodes and the root whose changes are decomposed.

    Parameters
    ----------
    nodes : sequence of Measure or Formula
        Every node, in display order. Formulas may only refer to nodes of the tree,
        and no node may depend on itself.
    root : str
        The node whose change :func:`decompose` splits. Its drivers are the children
        of product and sum nodes, from the root down; nodes not below the root are
        side measures (computed, not decomposed).

    Raises
    ------
    InvalidDataError
        A formula refers to an unknown node, the nodes form a cycle, a name is used
        twice, or a node's definition is invalid; the message names the node.

    Examples
    --------
    >>> from crm_analytics.kpi import Formula, KpiTree, Measure
    >>> tree = KpiTree(
    ...     [
    ...         Formula("sales", "product", ("customers", "sales_per_customer")),
    ...         Measure("customers", "nunique", of="customer_id"),
    ...         Formula("sales_per_customer", "ratio", ("revenue", "customers")),
    ...         Measure("revenue", "sum", of="net_amount"),
    ...     ],
    ...     root="sales",
    ... )
    >>> print(tree.to_text())
    sales = customers × sales_per_customer
    ├─ customers = nunique(customer_id | purchase)
    └─ sales_per_customer = revenue / customers
    side: revenue = sum(net_amount | purchase)
    >>> KpiTree([Formula("a", "sum", ("b", "c")), Measure("b", "count")], root="a")
    Traceback (most recent call last):
    ...
    crm_analytics.exceptions.InvalidDataError: KpiTree: node 'a' (a = b + ...) refers to unknown node 'c'.
    Known nodes: ['a', 'b'].
    Hint: add a Measure or Formula named 'c', or fix the name.
    """

    nodes: tuple[Node, ...]
    root: str
    _by_name: dict[str, Node] = field(init=False, repr=False, compare=False)

    def __init__(self, nodes: Iterable[Node], *, root: str) -> None:
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "_by_name", _validate_tree(self.nodes, root))

    def __getitem__(self, name: str) -> Node:
        try:
            return self._by_name[name]
        except KeyError:
            raise _unknown_node(name, list(self._by_name), caller="KpiTree") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return f"KpiTree(root={self.root!r}, nodes={len(self.nodes)}: {list(self._by_name)})"

    @property
    def names(self) -> list[str]:
        """Node names, in display order."""
        return list(self._by_name)

    def drivers(self, root: str | None = None) -> list[tuple[str, str | None, int]]:
        """The decomposition tree below ``root`` as ``(node, parent, depth)``, preorder."""
        out: list[tuple[str, str | None, int]] = []

        def visit(name: str, parent: str | None, depth: int) -> None:
            out.append((name, parent, depth))
            node = self[name]
            if isinstance(node, Formula) and node.op in ("product", "sum"):
                for child in node.children:
                    visit(child, name, depth + 1)

        visit(self.root if root is None else root, None, 0)
        return out

    def replace(self, *nodes: Node, root: str | None = None) -> KpiTree:
        """A new tree with ``nodes`` replacing (by name) or added to this tree's nodes."""
        new = {n.name: n for n in nodes}
        kept = [new.pop(n.name, n) for n in self.nodes]
        return KpiTree([*kept, *new.values()], root=self.root if root is None else root)

    def to_text(self, *, lang: Literal["en", "zh"] = "en") -> str:
        """The tree's definitions as indented text (``lang="zh"`` adds Chinese labels)."""
        check_choice(lang, ("en", "zh"), name="lang", caller="KpiTree.to_text")
        drivers = self.drivers()
        lines = []
        for prefix, (name, _, _) in zip(_tree_prefixes(drivers), drivers, strict=True):
            lines.append(f"{prefix}{self._title(name, lang)} = {self[name].describe()}")
        in_tree = {d[0] for d in drivers}
        for name in self._by_name:
            if name not in in_tree:
                lines.append(f"side: {self._title(name, lang)} = {self[name].describe()}")
        return "\n".join(lines)

    def _title(self, name: str, lang: str) -> str:
        node = self[name]
        if lang == "zh" and node.label_zh:
            return f"{node.label_zh} [{name}]"
        return name


def _unknown_node(name: str, known: list[str], *, caller: str, owner: str = "") -> Exception:
    guess = nearest(name, known)
    hint = (
        f"Hint: did you mean {guess!r}? Otherwise add a Measure or Formula named {name!r}."
        if guess
        else f"Hint: add a Measure or Formula named {name!r}, or fix the name."
    )
    return InvalidDataError(
        f"{caller}: {owner}refers to unknown node {name!r}.\nKnown nodes: {known}.\n{hint}"
    )


def _validate_tree(nodes: tuple[Node, ...], root: str) -> dict[str, Node]:
    caller = "KpiTree"
    by_name: dict[str, Node] = {}
    for node in nodes:
        if not isinstance(node, (Measure, Formula)):
            raise InvalidDataError(
                f"{caller}: nodes must be Measure or Formula objects, got {type(node).__name__}."
            )
        if node.name in by_name:
            raise InvalidDataError(
                f"{caller}: two nodes are named {node.name!r}. Hint: give each node its own name."
            )
        by_name[node.name] = node
    known = list(by_name)
    for node in nodes:
        if isinstance(node, Measure):
            check_choice(node.agg, _AGGS, name=f"{node.name}: agg", caller=caller)
            check_choice(node.where, FILTERS, name=f"{node.name}: where", caller=caller)
            check_choice(node.table, _TABLES, name=f"{node.name}: table", caller=caller)
            if node.agg != "count" and not node.of:
                raise InvalidDataError(
                    f"{caller}: measure {node.name!r} ({node.agg}) needs of= (what to "
                    f"aggregate). Hint: Measure({node.name!r}, {node.agg!r}, of='net_amount')."
                )
            continue
        check_choice(node.op, _OPS, name=f"{node.name}: op", caller=caller)
        n_min, n_max = (2, 2) if node.op == "ratio" else (2, None)
        if len(node.children) < n_min or (n_max is not None and len(node.children) > n_max):
            need = "exactly 2 (numerator, denominator)" if node.op == "ratio" else "2 or more"
            raise InvalidDataError(
                f"{caller}: formula {node.name!r} ({node.op}) has {len(node.children)} "
                f"children {list(node.children)}; a {node.op} needs {need}."
            )
        for child in node.children:
            if child not in by_name:
                owner = f"node {node.name!r} ({' '.join(_head(node))} ...) "
                raise _unknown_node(child, known, caller=caller, owner=owner)
    if root not in by_name:
        raise _unknown_node(root, known, caller=caller, owner="root= ")
    _check_cycles(by_name)
    # a node may appear only once in the decomposition tree
    seen: dict[str, str | None] = {}

    def visit(name: str, parent: str | None) -> None:
        if name in seen:
            raise InvalidDataError(
                f"{caller}: node {name!r} appears twice under the root {root!r} (below "
                f"{seen[name]!r} and {parent!r}); its contribution would be counted twice.\n"
                "Hint: make one of them a ratio, or give the second use its own node."
            )
        seen[name] = parent
        node = by_name[name]
        if isinstance(node, Formula) and node.op in ("product", "sum"):
            for child in node.children:
                visit(child, name)

    visit(root, None)
    return by_name


def _head(node: Formula) -> list[str]:
    sign = {"product": "×", "ratio": "/", "sum": "+"}[node.op]
    return [node.name, "=", node.children[0], sign]


def _check_cycles(by_name: Mapping[str, Node]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for child in by_name[name].children:
            if state.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                raise InvalidDataError(
                    f"KpiTree: the nodes form a cycle: {' -> '.join(cycle)}.\n"
                    "Hint: a node cannot depend on itself; compute one of them from the orders "
                    f"with a Measure (e.g. Measure({child!r}, 'sum', of='net_amount'))."
                )
            if state.get(child) is None:
                visit(child)
        path.pop()
        state[name] = 2

    for name in by_name:
        if state.get(name) is None:
            visit(name)


def _tree_prefixes(drivers: Sequence[tuple[str, str | None, int]]) -> list[str]:
    """Box-drawing prefixes (├─, └─, │) for a preorder list of (node, parent, depth)."""
    n = len(drivers)
    last = [True] * n  # is the node the last child of its parent?
    for i, (_, parent, depth) in enumerate(drivers):
        for j in range(i + 1, n):
            if drivers[j][2] < depth:
                break
            if drivers[j][2] == depth and drivers[j][1] == parent:
                last[i] = False
                break
    prefixes = []
    open_levels: list[bool] = []  # per depth: does a sibling follow?
    for i, (_, _, depth) in enumerate(drivers):
        if depth == 0:
            prefixes.append("")
            open_levels = []
            continue
        del open_levels[depth - 1 :]
        bars = "".join("│  " if more else "   " for more in open_levels)
        prefixes.append(bars + ("└─ " if last[i] else "├─ "))
        open_levels.append(not last[i])
    return prefixes


def _m(name: str, agg: Any, of: str | None, where: str, en: str, zh: str) -> Measure:
    return Measure(name, agg, of=of, where=where, label=en, label_zh=zh)


def _f(name: str, op: Any, children: tuple[str, ...], en: str, zh: str) -> Formula:
    return Formula(name, op, children, label=en, label_zh=zh)


_BASE_NODES: tuple[Node, ...] = (
    _f("sales", "product", ("customers", "orders_per_customer", "aov"), "Sales", "销售额"),
    _f("customers", "sum", ("new_customers", "returning_customers"), "Customers (buyers)", "成交客户数"),
    _m("new_customers", "nunique", "customer_id", "new", "New customers", "新客数"),
    _m("returning_customers", "nunique", "customer_id", "returning", "Returning customers", "老客数"),
    _f("orders_per_customer", "ratio", ("orders", "customers"), "Orders per customer", "人均订单数"),
    _f("aov", "product", ("items_per_order", "avg_item_price"), "Average order value (sales per order)", "客单价(按订单,笔单价)"),
    _f("items_per_order", "ratio", ("items", "orders"), "Items per order", "单次购买件数"),
    _f("avg_item_price", "ratio", ("revenue", "items"), "Average item price", "平均件单价"),
    _m("orders", "nunique", "order_id", "purchase", "Orders (paid)", "订单数"),
    _m("items", "sum", "quantity", "purchase", "Items sold", "销售件数"),
    _m("revenue", "sum", "net_amount", "purchase", "Revenue (net of refunds)", "净销售额"),
    _f("sales_per_customer", "ratio", ("revenue", "customers"), "Sales per customer", "客单价(按买家)"),
    _f("unpaid_order_rate", "ratio", ("unpaid_orders", "placed_orders"), "Unpaid order rate", "拍下未付款率"),
    _m("unpaid_orders", "nunique", "order_id", "unpaid", "Unpaid orders", "未付款订单数"),
    _m("placed_orders", "nunique", "order_id", "placed", "Placed orders (any status)", "下单数"),
    _f("refund_rate", "ratio", ("refunds", "gross_sales"), "Refund rate (refunded / paid money)", "退款率(金额)"),
    _m("refunds", "sum", "refund_amount", "paid_or_refunded", "Refunded money", "退款金额"),
    _m("gross_sales", "sum", "amount", "paid_or_refunded", "Paid money before refunds", "支付金额"),
    _f("repurchase_rate", "ratio", ("repeat_customers", "customers"), "Repurchase rate (buyers with 2+ orders)", "复购率(期内2单及以上买家占比)"),
    _m("repeat_customers", "nunique", "customer_id", "repeat", "Customers with 2+ orders", "复购客户数"),
)  # fmt: skip

#: The built-in e-commerce tree: ``sales = customers × orders_per_customer × aov``,
#: ``customers = new_customers + returning_customers``,
#: ``aov = items_per_order × avg_item_price``, and the side measures
#: ``sales_per_customer``, ``unpaid_order_rate``, ``refund_rate``, ``repurchase_rate``.
ECOMMERCE = KpiTree(_BASE_NODES, root="sales")

#: :data:`ECOMMERCE` with traffic: ``customers = visitors × conversion_rate``, where
#: ``visitors`` are the distinct ids of the events table and
#: ``conversion_rate = buyers / visitors``. Used by :func:`kpi_tree` when ``events`` is
#: given with the default tree.
ECOMMERCE_TRAFFIC = ECOMMERCE.replace(
    _f("customers", "product", ("visitors", "conversion_rate"), "Customers (buyers)", "成交客户数"),
    Measure("visitors", "nunique", of="customer_id", where="all", table="events",
            label="Visitors", label_zh="访客数"),
    _f("conversion_rate", "ratio", ("buyers", "visitors"), "Conversion rate (buyers / visitors)", "转化率"),
    _m("buyers", "nunique", "customer_id", "purchase", "Buyers", "买家数"),
)  # fmt: skip


# ------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------
@dataclass
class KpiResult:
    """Values of a KPI tree per period (and group), from :func:`kpi_tree`.

    Attributes
    ----------
    wide : pandas.DataFrame
        Indexed by ``period`` (a pandas PeriodIndex) and, with ``by``, the group; one
        column per node of the tree (in the tree's order).
    long : pandas.DataFrame
        The same values as columns ``period``, [by], ``node``, ``value``.
    tree : KpiTree
        The tree that was evaluated.
    period : str
        The period frequency (``"M"``, ...).
    by : str or None
        The grouping column.
    total : pandas.DataFrame
        The tree over all groups, indexed by ``period`` (equal to ``wide`` without
        ``by``).
    """

    wide: pd.DataFrame
    tree: KpiTree
    period: str
    by: str | None
    total: pd.DataFrame

    @property
    def long(self) -> pd.DataFrame:
        """Tidy values: ``period``, [by], ``node``, ``value``."""
        frame = self.wide.reset_index()
        ids = [c for c in ("period", self.by) if c is not None]
        out = frame.melt(id_vars=ids, var_name="node", value_name="value")
        return out.sort_values(ids, kind="stable").reset_index(drop=True)

    @property
    def periods(self) -> list[str]:
        """Periods present in the result, as strings, in time order."""
        return [str(p) for p in self.total.index]

    def __repr__(self) -> str:
        periods = self.periods
        span = f"{periods[0]}..{periods[-1]}" if periods else "no periods"
        by = f", by={self.by!r}" if self.by else ""
        return f"KpiResult(root={self.tree.root!r}, period={self.period!r}{by}, {len(periods)} periods: {span})"

    def to_text(
        self,
        period: Any = None,
        *,
        base: Any = None,
        method: Literal["lmdi", "shapley"] = "lmdi",
        lang: Literal["en", "zh"] = "en",
    ) -> str:
        """Draw the tree with each node's value, change and contribution.

        Parameters
        ----------
        period : str or Period, optional
            The period to show (``"2024-08"``). Default: the last one.
        base : str or Period, optional
            The period to compare with. Default: the one before ``period``.
        method : {"lmdi", "shapley"}, default="lmdi"
            How contributions are computed (see :func:`decompose`).
        lang : {"en", "zh"}, default="en"
            Node names, or Chinese labels with the node name in brackets.

        Returns
        -------
        str
            One line per node of the decomposition tree, then the side measures.
        """
        check_choice(lang, ("en", "zh"), name="lang", caller="KpiResult.to_text")
        periods = list(self.total.index)
        if not periods:
            return repr(self)
        current = periods[-1] if period is None else _as_period(period, self, "to_text")
        if base is None:
            pos = periods.index(current)
            base_p = periods[pos - 1] if pos > 0 else None
        else:
            base_p = _as_period(base, self, "to_text")
        tree = self.tree
        drivers = tree.drivers()
        titles = [tree._title(name, lang) for name, _, _ in drivers]
        prefixes = _tree_prefixes(drivers)
        width = max(len(p) + _display_len(t) for p, t in zip(prefixes, titles, strict=True))
        values = self.total.loc[current]
        if base_p is None:
            head = f"{tree.root} in {current}"
            lines = [head, f"{'node':<{width}}  {'value':>14}"]
            for prefix, title, (name, _, _) in zip(prefixes, titles, drivers, strict=True):
                pad = width - len(prefix) - _display_len(title)
                lines.append(f"{prefix}{title}{' ' * pad}  {_fmt(values[name]):>14}")
        else:
            dec = decompose(self, base=base_p, current=current, method=method)
            lines = [
                f"{tree.root}: {base_p} -> {current} ({method})",
                f"{'node':<{width}}  {'base':>14}  {'current':>14}  {'change':>14}  {'contribution':>14}",
            ]
            for prefix, title, (name, _, _) in zip(prefixes, titles, drivers, strict=True):
                row = dec.loc[name]
                pad = width - len(prefix) - _display_len(title)
                lines.append(
                    f"{prefix}{title}{' ' * pad}  {_fmt(row['base']):>14}  "
                    f"{_fmt(row['current']):>14}  {_fmt(row['change'], sign=True):>14}  "
                    f"{_fmt(row['contribution'], sign=True):>14}"
                )
        in_tree = {d[0] for d in drivers}
        side = [n for n in tree.names if n not in in_tree and isinstance(tree[n], Formula)]
        if side:
            lines.append("side measures: " + ", ".join(
                f"{tree._title(n, lang)} {_fmt(values[n])}" for n in side
            ))  # fmt: skip
        return "\n".join(lines)


def _display_len(text: str) -> int:
    """Terminal width of ``text`` (CJK characters take two columns)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fmt(value: Any, *, sign: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    v = float(value)
    if v == round(v) and abs(v) >= 1:
        text = f"{v:+,.0f}" if sign else f"{v:,.0f}"
    elif abs(v) >= 100:
        text = f"{v:+,.1f}" if sign else f"{v:,.1f}"
    else:
        text = f"{v:+,.4g}" if sign else f"{v:,.4g}"
    return text


def _as_period(value: Any, result: KpiResult, caller: str) -> Any:
    import pandas as pd

    try:
        p = pd.Period(value, freq=result.period)
    except (ValueError, TypeError) as exc:
        raise InvalidDataError(
            f"{caller}: {value!r} is not a period of frequency {result.period!r}. "
            f"Hint: use one of {result.periods[:3]}..."
        ) from exc
    if p not in result.total.index:
        raise InvalidDataError(
            f"{caller}: period {str(p)!r} is not in the result.\n"
            f"Available periods: {result.periods}.\nHint: pass one of them, e.g. "
            f"{result.periods[-1]!r}."
        )
    return p


# ------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------
def kpi_tree(
    orders: Any,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] = "M",
    by: str | None = None,
    tree: KpiTree | None = None,
    events: Any = None,
    as_of: Any = None,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
    status_col: str | None = schema.STATUS,
    refund_col: str | None = schema.REFUND_AMOUNT,
    quantity_col: str | None = schema.QUANTITY,
    event_time_col: str = "event_time",
) -> KpiResult:
    """Evaluate a KPI tree per period (and group).

    Purchases are rows with status ``paid`` valued at ``amount - refund_amount``; a row
    whose refund covers its amount is not a purchase. Unpaid and cancelled rows count
    only for the measures that ask for them (``unpaid_order_rate``).

    Parameters
    ----------
    orders : DataFrame
        Canonical orders: a pandas DataFrame, a polars DataFrame or LazyFrame, a DuckDB
        relation, a Dask or PySpark DataFrame, or any frame narwhals supports. The
        per-period (and group) aggregation runs in that engine; only the aggregates,
        one row per period and group, are collected, as pandas.
    period : {"D", "W", "M", "Q", "Y"}, default="M"
        Calendar period of each row's ``order_time`` (weeks run Monday to Sunday).
    by : str, optional
        A column to evaluate the tree per group (channel, category, ...).
    tree : KpiTree, default=ECOMMERCE
        The tree. With ``events`` and no tree, :data:`ECOMMERCE_TRAFFIC`.
    events : DataFrame, optional
        Traffic events (``customer_id``, ``event_time``, ...; see
        ``crm.read_events``) for measures with ``table="events"`` (visitors), as pandas
        or any frame ``orders`` may be (aggregated in its own engine likewise).
    as_of : datetime-like, optional
        Ignore rows after this time. Default: keep every row (never the wall clock).
        A period cut by ``as_of`` is partial: compare it with care.
    customer_col, time_col, amount_col, order_col : str
        Column names; the defaults are the canonical ones.
    status_col : str or None, default="status"
        None (or absent) treats every row as paid.
    refund_col : str or None, default="refund_amount"
        None (or absent) means no refunds.
    quantity_col : str or None, default="quantity"
        None (or absent) counts one item per row.
    event_time_col : str, default="event_time"
        Time column of ``events``.

    Returns
    -------
    KpiResult
        ``.wide`` (index ``period`` [, by]; one column per node), ``.long``,
        ``.total`` and ``.to_text()``. With the default tree the columns are
        ``sales``, ``customers``, ``new_customers``, ``returning_customers``,
        ``orders_per_customer``, ``aov``, ``items_per_order``, ``avg_item_price``,
        ``orders``, ``items``, ``revenue``, ``sales_per_customer``,
        ``unpaid_order_rate``, ``unpaid_orders``, ``placed_orders``, ``refund_rate``,
        ``refunds``, ``gross_sales``, ``repurchase_rate``, ``repeat_customers``.
        Product and sum nodes are computed from their children, so the identities
        (``sales == customers × orders_per_customer × aov``) hold up to float
        rounding; ratios with a zero denominator are NaN, a product with a zero
        factor is 0.

    Raises
    ------
    ColumnNotFoundError
        A named column (or ``by``) is missing.
    InvalidDataError
        ``order_time`` is not datetime64, an unknown ``period``, or a tree that needs
        ``events`` without them.

    Notes
    -----
    ``new_customers`` bought for the first time *in the data* in that period, so in the
    first periods of an export every buyer looks new. With ``by``, newness is
    shop-wide (a returning customer's first order in a new channel is returning), so
    ``new_customers + returning_customers == customers`` in every group.
    ``repurchase_rate`` is the share of the period's buyers with two or more distinct
    paid orders in the period (one of the many 复购率 definitions).

    See Also
    --------
    decompose : split the root's change between two periods.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4", "5"],
    ...     "customer_id": ["ann", "bob", "ann", "cat", "bob"],
    ...     "order_time": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-02",
    ...                                   "2024-02-10", "2024-02-11"]),
    ...     "amount": [100.0, 50.0, 80.0, 40.0, 60.0],
    ...     "status": ["paid", "paid", "paid", "paid", "unpaid"],
    ...     "quantity": [2, 1, 2, 1, 1],
    ... })
    >>> result = crm.kpi.kpi_tree(orders)
    >>> result.wide[["sales", "customers", "new_customers", "orders_per_customer", "aov",
    ...              "items_per_order", "avg_item_price", "unpaid_order_rate"]]
            sales  customers  new_customers  orders_per_customer   aov  items_per_order  avg_item_price  unpaid_order_rate
    period
    2024-01  150.0        2.0            2.0                  1.0  75.0              1.5            50.0           0.000000
    2024-02  120.0        2.0            1.0                  1.0  60.0              1.5            40.0           0.333333
    >>> print(result.to_text())
    sales: 2024-01 -> 2024-02 (lmdi)
    node                                 base         current          change    contribution
    sales                                 150             120             -30             -30
    ├─ customers                            2               2              +0              +0
    │  ├─ new_customers                     2               1              -1          -67.22
    │  └─ returning_customers               0               1              +1          +67.22
    ├─ orders_per_customer                  1               1              +0              +0
    └─ aov                                 75              60             -15             -30
       ├─ items_per_order                 1.5             1.5              +0              +0
       └─ avg_item_price                   50              40             -10             -30
    side measures: sales_per_customer 60, unpaid_order_rate 0.3333, refund_rate 0, repurchase_rate 0
    """
    caller = "kpi_tree"
    import pandas as pd

    check_choice(period, _PERIODS, name="period", caller=caller)
    if tree is None:
        tree = ECOMMERCE if events is None else ECOMMERCE_TRAFFIC
    if not isinstance(tree, KpiTree):
        raise InvalidDataError(
            f"{caller}: tree must be a KpiTree, got {type(tree).__name__}. "
            "Hint: tree=crm.kpi.ECOMMERCE, or KpiTree([...], root=...)."
        )
    measures = [n for n in tree.nodes if isinstance(n, Measure)]
    event_measures = [m for m in measures if m.table == "events"]
    if event_measures and events is None:
        raise InvalidDataError(
            f"{caller}: node {event_measures[0].name!r} is computed from an events table, "
            "but events= was not given.\nHint: kpi_tree(orders, events=crm.read_events(path)), "
            "or use tree=crm.kpi.ECOMMERCE."
        )
    roles = {
        "customer_col": customer_col,
        "time_col": time_col,
        "amount_col": amount_col,
        "order_col": order_col,
    }

    def in_engine(frame: Any, events: Any) -> KpiResult:
        return _kpi_tree_in_engine(
            frame,
            tree=tree,
            period=period,
            by=by,
            events=events,
            as_of=as_of,
            roles=roles,
            status_col=status_col,
            refund_col=refund_col,
            quantity_col=quantity_col,
            event_time_col=event_time_col,
            caller=caller,
        )

    engine = _engine_frame(orders, caller=caller)
    if engine is not None:
        return in_engine(engine, events)
    frame = _to_pandas(orders, caller=caller)
    check_columns(list(frame.columns), roles, caller=caller)
    if by is not None:
        check_columns(list(frame.columns), {"by": by}, caller=caller)
    check_datetime_dtype(frame[time_col].dtype, time_col, caller=caller)
    cols = _Columns(
        customer=customer_col,
        time=time_col,
        amount=amount_col,
        order=order_col,
        status=status_col if status_col in frame.columns else None,
        refund=refund_col if refund_col in frame.columns else None,
        quantity=quantity_col if quantity_col in frame.columns else None,
    )
    ev = None
    if events is not None and event_measures:
        ev = _to_pandas(events, caller=caller, name="events")
        check_columns(
            list(ev.columns),
            {"customer_col": customer_col, "event_time_col": event_time_col},
            caller=caller,
            frame_name="events",
        )
        if by is not None:
            check_columns(list(ev.columns), {"by": by}, caller=caller, frame_name="events")
        check_datetime_dtype(
            ev[event_time_col].dtype, event_time_col, caller=caller, frame_name="events"
        )
    accelerated = _through_polars(frame, by, cols, measures)
    ev_accelerated = _through_polars(ev, by, None, []) if ev is not None else None
    if accelerated is not None and (ev is None or ev_accelerated is not None):
        result = in_engine(accelerated, ev_accelerated)
        if by is not None and isinstance(frame[by].dtype, pd.CategoricalDtype):
            result = _in_category_order(result, frame[by].dtype)
        return result

    times = _naive(frame[time_col])
    ev_times = _naive(ev[event_time_col]) if ev is not None else None
    cutoff = None if as_of is None else pd.Timestamp(as_of)
    keep = np.ones(len(frame), bool) if cutoff is None else (times <= cutoff).to_numpy()
    ev_keep = None
    if ev is not None and ev_times is not None:
        ev_keep = np.ones(len(ev), bool) if cutoff is None else (ev_times <= cutoff).to_numpy()

    # periods of both tables, one code space
    p_orders = times.dt.to_period(period)
    if ev_times is not None:
        p_all = pd.concat([p_orders, ev_times.dt.to_period(period)], ignore_index=True)
    else:
        p_all = p_orders
    p_codes, p_uniques = pd.factorize(p_all, sort=True)
    order_period = p_codes[: len(frame)]
    event_period = p_codes[len(frame) :] if ev is not None else None
    if by is not None:
        g_all = frame[by] if ev is None else pd.concat([frame[by], ev[by]], ignore_index=True)
        g_codes, g_uniques = pd.factorize(g_all, sort=True, use_na_sentinel=False)
        order_group = g_codes[: len(frame)]
        event_group = g_codes[len(frame) :] if ev is not None else None
    else:
        g_uniques = None
        order_group = np.zeros(len(frame), np.int64)
        event_group = np.zeros(len(ev), np.int64) if ev is not None else None

    rows = _OrderRows.build(frame, cols, order_period, keep)
    ev_rows = _EventRows(ev, customer_col, event_period, ev_keep) if ev is not None else None
    n_periods = len(p_uniques)

    def evaluate(n_groups: int, og: np.ndarray, eg: np.ndarray | None) -> tuple[np.ndarray, dict]:
        key = order_period.astype(np.int64) * n_groups + og
        ekey = None
        if ev_rows is not None and event_period is not None and eg is not None:
            ekey = event_period.astype(np.int64) * n_groups + eg
        present = [key[keep]]
        if ekey is not None and ev_keep is not None:
            present.append(ekey[ev_keep])
        keys = np.unique(np.concatenate(present)) if present else np.array([], np.int64)
        n_keys = n_periods * n_groups
        values: dict[str, np.ndarray] = {}
        for m in measures:
            if m.table == "events":
                assert ev_rows is not None and ekey is not None
                full = ev_rows.measure(m, ekey, n_keys, caller)
            else:
                full = rows.measure(m, key, n_keys, caller)
            values[m.name] = full[keys]
        _evaluate_formulas(tree, values)
        return keys, values

    keys, values = evaluate(
        len(g_uniques) if g_uniques is not None else 1, order_group, event_group
    )
    names = tree.names
    if by is None:
        index = pd.PeriodIndex(p_uniques[keys], name="period")
        wide = pd.DataFrame({n: values[n] for n in names}, index=index)
        total = wide
    else:
        assert g_uniques is not None
        n_groups = len(g_uniques)
        index = pd.MultiIndex.from_arrays(
            [p_uniques[keys // n_groups], pd.Index(g_uniques).take(keys % n_groups)],
            names=["period", by],
        )
        wide = pd.DataFrame({n: values[n] for n in names}, index=index)
        t_keys, t_values = evaluate(
            1,
            np.zeros(len(frame), np.int64),
            np.zeros(len(ev), np.int64) if ev is not None else None,
        )
        total = pd.DataFrame(
            {n: t_values[n] for n in names},
            index=pd.PeriodIndex(p_uniques[t_keys], name="period"),
        )
    return KpiResult(wide=wide, tree=tree, period=period, by=by, total=total)


@dataclass
class _Columns:
    customer: str
    time: str
    amount: str
    order: str
    status: str | None
    refund: str | None
    quantity: str | None


def _to_pandas(frame: Any, *, caller: str, name: str = "orders") -> pd.DataFrame:
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame
    import narwhals as nw

    native = as_frame(frame, caller=caller, name=name)
    if isinstance(native, nw.LazyFrame):
        return native.collect().to_pandas()
    return native.to_pandas()


def _naive(times: pd.Series) -> pd.Series:
    if getattr(times.dt, "tz", None) is not None:
        return times.dt.tz_localize(None)
    return times


class _OrderRows:
    """Row-level arrays of the orders, computed once and shared by every measure."""

    def __init__(self) -> None:
        self.frame: Any = None
        self.cols: _Columns
        self.keep: np.ndarray
        self.period: np.ndarray
        self.masks: dict[str, np.ndarray] = {}
        self.codes: dict[str, tuple[np.ndarray, int]] = {}
        self.values: dict[str, np.ndarray] = {}

    @classmethod
    def build(
        cls, frame: pd.DataFrame, cols: _Columns, period: np.ndarray, keep: np.ndarray
    ) -> _OrderRows:
        self = cls()
        self.frame, self.cols, self.keep, self.period = frame, cols, keep, period
        n = len(frame)
        amount = frame[cols.amount].to_numpy(dtype="float64", na_value=np.nan)
        amount = np.nan_to_num(amount, nan=0.0)
        refund = (
            np.nan_to_num(frame[cols.refund].to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
            if cols.refund
            else np.zeros(n)
        )
        if cols.status:
            status = frame[cols.status].astype("string").to_numpy(dtype=object, na_value="")
            paid = status == schema.PAID
            self.masks["unpaid"] = (status == schema.UNPAID) & keep
            self.masks["cancelled"] = (status == schema.CANCELLED) & keep
            self.masks["paid_or_refunded"] = (paid | (status == schema.REFUNDED)) & keep
        else:
            paid = np.ones(n, bool)
            self.masks["unpaid"] = np.zeros(n, bool)
            self.masks["cancelled"] = np.zeros(n, bool)
            self.masks["paid_or_refunded"] = keep.copy()
        purchase = paid & ~((refund > 0) & (refund >= amount)) & keep
        self.masks["purchase"] = purchase
        self.masks["placed"] = keep
        self.masks["all"] = keep
        self.values["amount"] = amount
        self.values["refund_amount"] = refund
        self.values["net_amount"] = amount - refund
        if cols.quantity:
            q = frame[cols.quantity].to_numpy(dtype="float64", na_value=np.nan)
            self.values["quantity"] = np.nan_to_num(q, nan=1.0)
        else:
            self.values["quantity"] = np.ones(n)
        return self

    def column_name(self, of: str) -> str:
        c = self.cols
        return {"customer_id": c.customer, "order_id": c.order, "amount": c.amount}.get(of, of)

    def code(self, of: str) -> tuple[np.ndarray, int]:
        if of not in self.codes:
            import pandas as pd

            codes, uniques = pd.factorize(self.frame[self.column_name(of)])
            self.codes[of] = (codes.astype(np.int64), len(uniques))
        return self.codes[of]

    def numbers(self, of: str, caller: str) -> np.ndarray:
        if of in self.values:
            return self.values[of]
        col = self.column_name(of)
        self.values[of] = np.nan_to_num(
            self.frame[col].to_numpy(dtype="float64", na_value=np.nan), nan=0.0
        )
        return self.values[of]

    def filter(self, where: str) -> np.ndarray:
        if where in self.masks:
            return self.masks[where]
        purchase = self.masks["purchase"]
        customer, n_customers = self.code("customer_id")
        if where in ("new", "returning"):
            first = np.full(max(n_customers, 1), np.iinfo(np.int64).max)
            np.minimum.at(first, customer[purchase], self.period[purchase])
            is_new = first[np.maximum(customer, 0)] == self.period
            self.masks["new"] = purchase & is_new
            self.masks["returning"] = purchase & ~is_new
        elif where == "repeat":
            raise RuntimeError("repeat needs the group key; use repeat_mask")  # pragma: no cover
        return self.masks[where]

    def repeat_mask(self, key: np.ndarray, n_keys: int) -> np.ndarray:
        """Purchases of customers with 2+ distinct orders in their (period, group) key."""
        purchase = self.masks["purchase"]
        customer, n_customers = self.code("customer_id")
        order, n_orders = self.code("order_id")
        kc = _combine(key, customer, n_customers)  # one code per (key, customer)
        top = int(kc.max()) + 1 if len(kc) else 1
        kc_codes, n_kc = (kc, top) if top <= _BITMAP_LIMIT else _dense(kc)
        n_distinct = _count_distinct(kc_codes[purchase], order[purchase], n_orders, n_kc)
        return purchase & (n_distinct[kc_codes] >= 2)

    def measure(self, m: Measure, key: np.ndarray, n_keys: int, caller: str) -> np.ndarray:
        if m.where == "repeat":
            mask = self.repeat_mask(key, n_keys)
        else:
            mask = self.filter(m.where)
        mask = mask & _match_mask(self.frame, m, caller, "orders")
        if m.agg == "count":
            return np.bincount(key[mask], minlength=n_keys).astype("float64")
        assert m.of is not None
        self._check_of(m, caller)
        if m.agg == "sum":
            return np.bincount(
                key[mask], weights=self.numbers(m.of, caller)[mask], minlength=n_keys
            )
        codes, n_codes = self.code(m.of)
        mask = mask & (codes >= 0)
        return _count_distinct(key[mask], codes[mask], n_codes, n_keys)

    def _check_of(self, m: Measure, caller: str) -> None:
        assert m.of is not None
        if m.of in self.values:
            return
        col = self.column_name(m.of)
        if col not in self.frame.columns:
            raise ColumnNotFoundError(
                f"{caller}: measure {m.name!r} aggregates column {col!r}, not found in "
                f"`orders`.\nAvailable columns: {list(self.frame.columns)}.\n"
                f"Hint: change the measure's of=, or add the column to the orders."
            )


class _EventRows:
    def __init__(self, frame: pd.DataFrame, customer_col: str, period: Any, keep: Any) -> None:
        self.frame, self.customer_col, self.keep = frame, customer_col, keep

    def measure(self, m: Measure, key: np.ndarray, n_keys: int, caller: str) -> np.ndarray:
        import pandas as pd

        if m.where not in ("all", "placed"):
            raise InvalidDataError(
                f"{caller}: events measure {m.name!r} uses where={m.where!r}; events support "
                "where='all' with match= (e.g. match={'event_type': 'visit'})."
            )
        mask = self.keep & _match_mask(self.frame, m, caller, "events")
        if m.agg == "count":
            return np.bincount(key[mask], minlength=n_keys).astype("float64")
        assert m.of is not None
        col = self.customer_col if m.of == "customer_id" else m.of
        if col not in self.frame.columns:
            raise ColumnNotFoundError(
                f"{caller}: measure {m.name!r} aggregates column {col!r}, not found in "
                f"`events`.\nAvailable columns: {list(self.frame.columns)}.\n"
                "Hint: change the measure's of=."
            )
        if m.agg == "sum":
            values = np.nan_to_num(
                self.frame[col].to_numpy(dtype="float64", na_value=np.nan), nan=0.0
            )
            return np.bincount(key[mask], weights=values[mask], minlength=n_keys)
        codes, uniques = pd.factorize(self.frame[col])
        mask = mask & (codes >= 0)
        return _count_distinct(key[mask], codes[mask].astype(np.int64), len(uniques), n_keys)


def _match_mask(frame: pd.DataFrame, m: Measure, caller: str, name: str) -> np.ndarray | bool:
    if not m.match:
        return True
    mask = np.ones(len(frame), bool)
    for col, wanted in m.match.items():
        if col not in frame.columns:
            raise ColumnNotFoundError(
                f"{caller}: measure {m.name!r} filters on column {col!r}, not found in "
                f"`{name}`.\nAvailable columns: {list(frame.columns)}.\n"
                "Hint: fix the measure's match=."
            )
        values = (
            [wanted]
            if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Iterable)
            else list(wanted)
        )
        mask &= frame[col].isin(values).to_numpy(dtype=bool, na_value=False)
    return mask


def _fits(a: np.ndarray, n_b: int) -> bool:
    top = int(a.max()) + 1 if len(a) else 1
    return top * max(n_b, 1) < 2**62


def _combine(a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    if not _fits(a, n_b):  # pragma: no cover - only for astronomically many keys
        import pandas as pd

        return pd.MultiIndex.from_arrays([a, b]).factorize()[0].astype(np.int64)
    return a.astype(np.int64) * max(n_b, 1) + b


_BITMAP_LIMIT = 1 << 26  # pairs counted with a bitmap up to this many cells (64 MB)


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), len(uniques)


def _count_distinct(key: np.ndarray, codes: np.ndarray, n_codes: int, n_keys: int) -> np.ndarray:
    """Number of distinct ``codes`` per ``key``: a bitmap when small, else a sort."""
    width = max(n_codes, 1)
    if n_keys * width <= _BITMAP_LIMIT:
        seen = np.zeros(n_keys * width, dtype=bool)
        seen[key * width + codes] = True
        return seen.reshape(n_keys, width).sum(axis=1).astype("float64")
    if not _fits(key, width):  # pragma: no cover - only for astronomically many keys
        import pandas as pd

        df = pd.DataFrame({"k": key, "c": codes}).drop_duplicates()
        return np.bincount(df["k"].to_numpy(), minlength=n_keys).astype("float64")
    pairs = np.sort(key * width + codes)  # a radix-friendly sort beats hashing here
    first = np.empty(len(pairs), dtype=bool)
    first[:1] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    return np.bincount(pairs[first] // width, minlength=n_keys).astype("float64")


def _evaluate_formulas(tree: KpiTree, values: dict[str, np.ndarray]) -> None:
    """Fill in every formula node, children first."""

    def value(name: str) -> np.ndarray:
        if name in values:
            return values[name]
        node = tree[name]
        assert isinstance(node, Formula)
        kids = [value(c) for c in node.children]
        if node.op == "sum":
            out = np.sum(kids, axis=0)
        elif node.op == "product":
            stacked = np.vstack(kids)
            out = np.where((stacked == 0).any(axis=0), 0.0, np.prod(stacked, axis=0))
        else:
            num, den = kids
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
        values[name] = np.asarray(out, dtype="float64")
        return values[name]

    for name in tree.names:
        value(name)


# ------------------------------------------------------------------------------------
# evaluation inside the engine (polars, DuckDB, Dask, PySpark, ...)
# ------------------------------------------------------------------------------------
def _engine_frame(data: Any, *, caller: str, name: str = "orders") -> Any:
    """``data`` as a narwhals frame to aggregate in its engine, or None for pandas-like data.

    pandas, Modin, cuDF and pyarrow tables are evaluated with numpy, through pandas.
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return None
    import narwhals as nw

    frame = as_frame(data, caller=caller, name=name)
    impl = nw.Implementation
    if frame.implementation in (impl.PANDAS, impl.MODIN, impl.CUDF, impl.PYARROW):
        return None
    if isinstance(frame, nw.DataFrame) and frame.implementation is impl.POLARS:
        frame = frame.lazy()
    return frame


def _through_polars(
    data: pd.DataFrame, by: str | None, cols: _Columns | None, measures: list[Measure]
) -> Any:
    """Checked pandas ``data`` as a narwhals polars LazyFrame, or None for the numpy path.

    When polars is installed (``crm_analytics.summary.USE_POLARS``), the tree is
    aggregated by polars: several times faster than the numpy path, with the same
    tables (a categorical ``by`` is put back in its categories' order afterwards). None
    (the numpy path, with its own errors) for a categorical ``by`` with missing values,
    column names that are not unique text, money or summed columns that are not
    numeric, or a column polars cannot hold.
    """
    import pandas as pd

    from .summary import _polars_available

    if not _polars_available():
        return None
    if not all(isinstance(c, str) for c in data.columns) or not data.columns.is_unique:
        return None
    if by is not None and data[by].isna().any() and isinstance(data[by].dtype, pd.CategoricalDtype):
        return None  # where the numpy path puts a missing category is its own
    summed = [m.of for m in measures if m.agg == "sum" and m.of is not None]
    if cols is not None:
        summed += [c for c in (cols.amount, cols.refund, cols.quantity) if c is not None]
    for col in summed:
        if col in data.columns and not (
            pd.api.types.is_numeric_dtype(data[col]) and not pd.api.types.is_bool_dtype(data[col])
        ):
            return None
    import narwhals as nw
    import polars as pl

    try:
        return nw.from_native(pl.from_pandas(data).lazy())
    except Exception:  # a column polars cannot hold: the numpy path takes it
        return None


def _in_category_order(result: KpiResult, dtype: Any) -> KpiResult:
    """``result`` with its groups as ``dtype`` categories, in the categories' order.

    What the numpy path gives for a categorical ``by``.
    """
    import dataclasses

    import pandas as pd

    wide = result.wide
    periods = wide.index.get_level_values(0)
    groups = pd.Categorical(wide.index.get_level_values(1), dtype=dtype)
    order = np.lexsort((groups.codes, periods.asi8))
    index = pd.MultiIndex.from_arrays([periods[order], groups[order]], names=wide.index.names)
    return dataclasses.replace(result, wide=wide.iloc[order].set_axis(index))


def _collect(frame: Any) -> pd.DataFrame:
    """Collect an aggregated narwhals frame (one row per period and group) as pandas."""
    import narwhals as nw

    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    return frame.to_pandas()


def _number(expr: Any, fill: float) -> Any:
    """A column as Float64, with nulls and NaNs replaced by ``fill``."""
    import narwhals as nw

    return expr.cast(nw.Float64).fill_nan(fill).fill_null(fill)


def _and(a: Any, b: Any) -> Any:
    """Conjunction of two row conditions, each an expression or a Python bool."""
    if a is True or b is False:
        return b
    if b is True or a is False:
        return a
    return a & b


def _indicator(condition: Any) -> Any:
    """A 0.0 / 1.0 column from a row condition (an expression or a Python bool)."""
    import narwhals as nw

    if isinstance(condition, bool):
        return nw.lit(1.0 if condition else 0.0, dtype=nw.Float64)
    return nw.when(condition).then(nw.lit(1.0)).otherwise(nw.lit(0.0)).cast(nw.Float64)


def _match_values(wanted: Any) -> list[Any]:
    if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Iterable):
        return [wanted]
    return list(wanted)


_POST = ("new", "returning", "repeat")
_PURCHASE = ("purchase", repr([]))  # the flag key of every purchase (no match=)


@dataclass
class _Use:
    """Where a measure's value comes from in the engine queries of its table."""

    index: int
    flag: str  # 0/1 column: the row (or customer) counts for the measure
    flag_total: str  # the same for the total over groups (differs for where="repeat")
    value: str | None = None  # summed column (sum measures)
    post: str | None = None  # new / returning / repeat, decided per customer and period


class _EngineTable:
    """The per-period (and group) aggregates of one table, computed in its engine.

    The kept rows are projected once to internal columns: ``_p`` (the period ordinal),
    ``_g`` (the ``by`` value), a 0/1 flag per filter of the measures, the summed values
    and the distinct-counted columns. Sums and counts are one group-by per (period,
    group). Each distinct-counted column is a group-by per (period, group, value), then
    per (period, group); with ``by``, the (period, group, value) rows grouped again per
    (period, value), then per period, give the distinct counts over all groups. The
    queries run as one union; only the aggregates (one row per period and group) are
    collected.
    """

    def __init__(
        self,
        frame: Any,
        *,
        name: str,
        time_col: str,
        period: str,
        by: str | None,
        cutoff: pd.Timestamp | None,
    ) -> None:
        import narwhals as nw

        self.frame = frame
        self.name = name
        schema_ = frame.collect_schema()
        self.columns = list(schema_.names())
        self.by = by
        time = nw.col(time_col)
        if getattr(schema_[time_col], "time_zone", None):
            # aware timestamps: their wall-clock time, as pandas' tz_localize(None)
            time = time.dt.replace_time_zone(None)
        keep = ~time.is_null()
        if cutoff is not None:
            keep = keep & (time <= nw.lit(cutoff.to_pydatetime()))
        self.keep = keep
        self.keys = ["_p", "_g"] if by is not None else ["_p"]
        self.row: dict[str, Any] = {"_p": period_ordinal(time, period, frame.implementation)}
        if by is not None:
            self.row["_g"] = nw.col(by)
        self.flags: dict[Any, str] = {}  # (filter, match) -> 0/1 column
        self.late: dict[str, Any] = {}  # flags that need the row-level windows
        self.windows: set[str] = set()  # row-level new / returning / repeat
        self.sums: list[_Use] = []
        self.distinct: dict[str, list[_Use]] = {}  # column -> its measures
        self.conditions: dict[str, Any] = {"all": True, "placed": True}
        self.values: dict[str, Any] = {}
        self.summed_columns: dict[str, str] = {}
        self.customer_col = ""
        self.order_col = ""

    # ---- planning ------------------------------------------------------------------
    def flag(self, key: Any, condition: Any) -> str:
        """The 0/1 column of a row condition (one per distinct filter)."""
        if key not in self.flags:
            self.flags[key] = f"_f{len(self.flags)}"
            self.row[self.flags[key]] = _indicator(condition)
        return self.flags[key]

    def match(self, m: Measure, caller: str) -> tuple[Any, str]:
        """The row condition of ``m.match``, and a key that names it."""
        import narwhals as nw

        condition: Any = True
        for col, wanted in (m.match or {}).items():
            if col not in self.columns:
                raise ColumnNotFoundError(
                    f"{caller}: measure {m.name!r} filters on column {col!r}, not found in "
                    f"`{self.name}`.\nAvailable columns: {self.columns}.\n"
                    "Hint: fix the measure's match=."
                )
            condition = _and(condition, nw.col(col).is_in(_match_values(wanted)).fill_null(False))
        key = repr(sorted((str(c), repr(_match_values(w))) for c, w in (m.match or {}).items()))
        return condition, key

    def use_distinct(self, col: str, use: _Use) -> None:
        import narwhals as nw

        if col not in self.distinct:
            self.row[f"_x{len(self.distinct)}"] = nw.col(col)
            self.distinct[col] = []
        self.distinct[col].append(use)

    def add_orders_rules(self, cols: _Columns) -> None:
        """Row conditions and values of the orders: the library's purchase rules."""
        import narwhals as nw

        amount = _number(nw.col(cols.amount), 0.0)
        refund = _number(nw.col(cols.refund), 0.0) if cols.refund else None
        paid: Any = True
        if cols.status:
            status = nw.col(cols.status).cast(nw.String).fill_null("")
            paid = status == schema.PAID
            self.conditions["unpaid"] = status == schema.UNPAID
            self.conditions["cancelled"] = status == schema.CANCELLED
            self.conditions["paid_or_refunded"] = paid | (status == schema.REFUNDED)
        else:
            self.conditions.update(unpaid=False, cancelled=False, paid_or_refunded=True)
        if refund is None:
            self.conditions["purchase"] = paid
        else:
            # a row whose refund covers what was paid is not a purchase
            self.conditions["purchase"] = _and(paid, ~((refund > 0) & (refund >= amount)))
        zero, one = nw.lit(0.0, dtype=nw.Float64), nw.lit(1.0, dtype=nw.Float64)
        self.values = {
            "amount": amount,
            "refund_amount": zero if refund is None else refund,
            "net_amount": amount if refund is None else amount - refund,
            "quantity": _number(nw.col(cols.quantity), 1.0) if cols.quantity else one,
        }
        self.customer_col, self.order_col = cols.customer, cols.order

    def summed(self, of: str, col: str) -> str:
        """The internal column of summed values (nulls and NaNs count as 0)."""
        import narwhals as nw

        if of not in self.summed_columns:
            name = f"_s{len(self.summed_columns)}"
            self.row[name] = self.values[of] if of in self.values else _number(nw.col(col), 0.0)
            self.summed_columns[of] = name
        return self.summed_columns[of]

    def add_order_measure(self, i: int, m: Measure, cols: _Columns, caller: str) -> None:
        match, match_key = self.match(m, caller)
        post = m.where if m.where in _POST else None
        where = "purchase" if post else m.where
        col = None
        if m.agg != "count":
            assert m.of is not None
            names = {"customer_id": cols.customer, "order_id": cols.order, "amount": cols.amount}
            col = names.get(m.of, m.of)
            if not (m.agg == "sum" and m.of in self.values) and col not in self.columns:
                raise ColumnNotFoundError(
                    f"{caller}: measure {m.name!r} aggregates column {col!r}, not found in "
                    f"`orders`.\nAvailable columns: {self.columns}.\n"
                    f"Hint: change the measure's of=, or add the column to the orders."
                )
        flag = self.flag((where, match_key), _and(self.conditions[where], match))
        if m.agg == "nunique" and col == cols.customer and post:
            # new / returning / repeat are properties of a (customer, period[, group]):
            # decided on the per-customer rows of the distinct count
            assert col is not None
            self.use_distinct(col, _Use(i, flag, flag, post=post))
            return
        flag_total = flag
        if post:
            flag, flag_total = self.row_post(post, flag)
        use = _Use(i, flag, flag_total)
        if m.agg == "nunique":
            assert col is not None
            self.use_distinct(col, use)
            return
        if m.agg == "sum":
            assert m.of is not None and col is not None
            use.value = self.summed(m.of, col)
        self.sums.append(use)

    def add_event_measure(self, i: int, m: Measure, customer_col: str, caller: str) -> None:
        if m.where not in ("all", "placed"):
            raise InvalidDataError(
                f"{caller}: events measure {m.name!r} uses where={m.where!r}; events support "
                "where='all' with match= (e.g. match={'event_type': 'visit'})."
            )
        match, match_key = self.match(m, caller)
        flag = self.flag(("all", match_key), match)
        use = _Use(i, flag, flag)
        if m.agg == "count":
            self.sums.append(use)
            return
        assert m.of is not None
        col = customer_col if m.of == "customer_id" else m.of
        if col not in self.columns:
            raise ColumnNotFoundError(
                f"{caller}: measure {m.name!r} aggregates column {col!r}, not found in "
                f"`events`.\nAvailable columns: {self.columns}.\n"
                "Hint: change the measure's of=."
            )
        if m.agg == "sum":
            use.value = self.summed(col, col)
            self.sums.append(use)
        else:
            self.use_distinct(col, use)

    def row_post(self, post: str, flag: str) -> tuple[str, str]:
        """Row-level flags of new / returning / repeat purchases (grouped, total).

        They come from windows over the customer: the period of their first purchase,
        and their smallest and largest purchase order in the (period[, group]) and, with
        ``by``, in the period.
        """
        import narwhals as nw

        self.windows.add(post)
        self.flag(_PURCHASE, self.conditions["purchase"])
        is_flag, first = nw.col(flag) == 1, nw.col("_first")
        if post == "repeat":
            grouped = is_flag & (nw.col("_omin") != nw.col("_omax"))
            total = is_flag & (nw.col("_omin_t") != nw.col("_omax_t")) if self.by else None
        else:
            is_new = nw.col("_p") == first
            grouped, total = (is_flag & (is_new if post == "new" else ~is_new)), None
        self.late[f"{flag}_{post}"] = _indicator(grouped)
        if total is None:
            return f"{flag}_{post}", f"{flag}_{post}"
        self.late[f"{flag}_{post}_t"] = _indicator(total)
        return f"{flag}_{post}", f"{flag}_{post}_t"

    # ---- queries -------------------------------------------------------------------
    def rows(self) -> Any:
        """The kept rows, projected to the internal columns (lazy where the engine is)."""
        import narwhals as nw

        posts = self.windows | {u.post for uses in self.distinct.values() for u in uses}
        purchase = self.conditions.get("purchase", True)
        if posts & set(_POST):
            self.flag(_PURCHASE, purchase)
        if "repeat" in posts:
            order = nw.col(self.order_col)
            self.row["_ob"] = order if purchase is True else nw.when(purchase).then(order)
        if self.windows:
            self.row["_c"] = nw.col(self.customer_col)
        return self.frame.filter(self.keep).select(
            *(expr.alias(name) for name, expr in self.row.items())
        )

    def with_windows(self, frame: Any) -> Any:
        """The rows with the row-level new / returning / repeat flags."""
        import narwhals as nw

        windows: dict[str, Any] = {}
        if self.windows & {"new", "returning"}:
            bought = nw.when(nw.col(self.flags[_PURCHASE]) == 1).then(nw.col("_p"))
            windows["_first"] = bought.min().over("_c")
        if "repeat" in self.windows:
            windows["_omin"] = nw.col("_ob").min().over(*self.keys, "_c")
            windows["_omax"] = nw.col("_ob").max().over(*self.keys, "_c")
            if self.by is not None:
                windows["_omin_t"] = nw.col("_ob").min().over("_p", "_c")
                windows["_omax_t"] = nw.col("_ob").max().over("_p", "_c")
        return frame.with_columns(**windows).with_columns(**self.late)

    def run(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The aggregates, per (period[, group]) and, with ``by``, per period.

        The first has ``_p`` [, ``_g``], ``_v{i}`` (and ``_t{i}``, sums of the flags
        over all groups); the second ``_p`` and ``_t{i}``, the distinct counts over all
        groups. The queries run as one union, collected once.
        """
        import narwhals as nw

        rows = self.rows()
        windowed = self.with_windows(rows) if self.windows else rows

        def source(uses: list[_Use]) -> Any:  # the windows only where they are needed
            late = any(u.flag in self.late or u.flag_total in self.late for u in uses)
            return windowed if late else rows

        parts = [self.sums_query(source(self.sums))]
        total_columns = []
        for k, uses in enumerate(self.distinct.values()):
            parts += self.distinct_queries(source(uses), f"_x{k}", uses)
            if self.by is not None:
                total_columns += [f"_t{u.index}" for u in uses]
        out = _collect(nw.concat(parts, how="diagonal") if len(parts) > 1 else parts[0])
        if not total_columns:
            return out, None
        # the rows of the totals are those with their sums (never null)
        total = out[total_columns].notna().any(axis=1).to_numpy()
        return out.loc[~total].drop(columns=total_columns), out.loc[total, ["_p", *total_columns]]

    def sums_query(self, rows: Any) -> Any:
        """Sums and counts per (period[, group]); also every present key."""
        import narwhals as nw

        columns: dict[str, Any] = {}
        for use in self.sums:
            for prefix, flag in (("_v", use.flag), ("_t", use.flag_total)):
                if prefix == "_t" and flag == use.flag:
                    continue
                f = nw.col(flag)
                columns[f"{prefix}{use.index}"] = f * nw.col(use.value) if use.value else f
        if columns:
            rows = rows.with_columns(**columns)
        query = rows.group_by(*self.keys).agg(
            nw.len().alias("_n"), *(nw.col(c).sum() for c in columns)
        )
        return query

    def distinct_queries(self, rows: Any, x: str, uses: list[_Use]) -> list[Any]:
        """Distinct counts of column ``x`` per (period[, group]) and, with ``by``, per period.

        Both come from one group-by per (period[, group], value), which the totals group
        again per (period, value).
        """
        import narwhals as nw

        posts = {u.post for u in uses} - {None}
        flags = [u.flag for u in uses] + [u.flag_total for u in uses]
        if posts:
            flags.append(self.flags[_PURCHASE])
        flags = list(dict.fromkeys(flags))
        wanted = nw.col(flags[0]) == 1
        for f in flags[1:]:
            wanted = wanted | (nw.col(f) == 1)
        again = [nw.col(f).max() for f in flags]
        if "repeat" in posts:
            again += [nw.col("_omin").min(), nw.col("_omax").max()]
        aggs = [nw.col(f).max() for f in flags]
        if "repeat" in posts:
            aggs += [nw.col("_ob").min().alias("_omin"), nw.col("_ob").max().alias("_omax")]
        per_value = rows.filter(wanted & ~nw.col(x).is_null()).group_by(*self.keys, x).agg(*aggs)
        if posts & {"new", "returning"}:
            # a customer is new in the period of their first purchase (shop-wide)
            bought = nw.when(nw.col(self.flags[_PURCHASE]) == 1).then(nw.col("_p"))
            per_value = per_value.with_columns(_first=bought.min().over(x))
            again.append(nw.col("_first").min())
        queries = [_distinct_counts(per_value, uses, self.keys, total=False)]
        if self.by is not None:
            per_period = per_value.group_by("_p", x).agg(*again)
            queries.append(_distinct_counts(per_period, uses, ["_p"], total=True))
        return queries


def _distinct_counts(per_value: Any, uses: list[_Use], keys: list[str], *, total: bool) -> Any:
    """Count the rows of a per-(key, value) table that each measure counts."""
    import narwhals as nw

    counts = {}
    for u in uses:
        condition = nw.col(u.flag_total if total else u.flag) == 1
        if u.post == "new":
            condition = condition & (nw.col("_p") == nw.col("_first"))
        elif u.post == "returning":
            condition = condition & (nw.col("_p") != nw.col("_first"))
        elif u.post == "repeat":  # two or more distinct purchase orders
            condition = condition & (nw.col("_omin") != nw.col("_omax"))
        counts[f"{'_t' if total else '_v'}{u.index}"] = _indicator(condition)
    return per_value.with_columns(**counts).group_by(*keys).agg(*(nw.col(c).sum() for c in counts))


def _kpi_tree_in_engine(
    frame: Any,
    *,
    tree: KpiTree,
    period: str,
    by: str | None,
    events: Any,
    as_of: Any,
    roles: dict[str, str],
    status_col: str | None,
    refund_col: str | None,
    quantity_col: str | None,
    event_time_col: str,
    caller: str,
) -> KpiResult:
    """:func:`kpi_tree` on a frame of another engine: aggregates computed in the engine."""
    import narwhals as nw
    import pandas as pd

    schema_ = frame.collect_schema()
    columns = list(schema_.names())
    check_columns(columns, roles, caller=caller)
    if by is not None:
        check_columns(columns, {"by": by}, caller=caller)
    time_col = roles["time_col"]
    check_datetime_dtype(schema_[time_col], time_col, caller=caller)
    cols = _Columns(
        customer=roles["customer_col"],
        time=time_col,
        amount=roles["amount_col"],
        order=roles["order_col"],
        status=status_col if status_col in columns else None,
        refund=refund_col if refund_col in columns else None,
        quantity=quantity_col if quantity_col in columns else None,
    )
    measures = [n for n in tree.nodes if isinstance(n, Measure)]
    ev = None
    if events is not None and any(m.table == "events" for m in measures):
        ev = _engine_frame(events, caller=caller, name="events")
        if ev is None:
            ev = nw.from_native(_to_pandas(events, caller=caller, name="events"))
        ev_schema = ev.collect_schema()
        ev_columns = list(ev_schema.names())
        check_columns(
            ev_columns,
            {"customer_col": cols.customer, "event_time_col": event_time_col},
            caller=caller,
            frame_name="events",
        )
        if by is not None:
            check_columns(ev_columns, {"by": by}, caller=caller, frame_name="events")
        check_datetime_dtype(
            ev_schema[event_time_col], event_time_col, caller=caller, frame_name="events"
        )
    cutoff = None
    if as_of is not None:
        cutoff = pd.Timestamp(as_of)
        if cutoff.tzinfo is not None:
            cutoff = cutoff.tz_localize(None)
    table = {
        "orders": _EngineTable(
            frame, name="orders", time_col=time_col, period=period, by=by, cutoff=cutoff
        )
    }
    table["orders"].add_orders_rules(cols)
    if ev is not None:
        table["events"] = _EngineTable(
            ev, name="events", time_col=event_time_col, period=period, by=by, cutoff=cutoff
        )
    for i, m in enumerate(measures):
        if m.table == "events":
            table["events"].add_event_measure(i, m, cols.customer, caller)
        else:
            table["orders"].add_order_measure(i, m, cols, caller)
    grouped, totals = [], []
    for t in table.values():
        per_key, per_period = t.run()
        grouped.append(per_key)
        if per_period is not None:
            totals.append(per_period)
    return _engine_result(grouped, totals, tree, measures, period, by)


def _engine_result(
    grouped: list[pd.DataFrame],
    totals: list[pd.DataFrame],
    tree: KpiTree,
    measures: list[Measure],
    period: str,
    by: str | None,
) -> KpiResult:
    """The KpiResult from the collected aggregates (see :meth:`_EngineTable.run`)."""
    import pandas as pd

    frame = pd.concat(grouped, ignore_index=True)
    if by is not None:
        g_codes, g_uniques = pd.factorize(frame["_g"], sort=True, use_na_sentinel=False)
        frame = frame.drop(columns="_g")
    else:
        g_codes, g_uniques = np.zeros(len(frame), np.int64), None
    frame["_p"] = frame["_p"].to_numpy(dtype="int64")
    frame["_gc"] = g_codes
    per_key = frame.groupby(["_p", "_gc"], sort=True).sum()

    def column(table: pd.DataFrame, name: str) -> np.ndarray:
        return table[name].to_numpy(dtype="float64") if name in table else np.zeros(len(table))

    values = {m.name: column(per_key, f"_v{i}") for i, m in enumerate(measures)}
    _evaluate_formulas(tree, values)
    names = tree.names
    periods = per_key.index.get_level_values("_p").to_numpy()
    index: Any = pd.PeriodIndex.from_ordinals(periods, freq=period).rename("period")
    if by is not None:
        assert g_uniques is not None
        groups = pd.Index(g_uniques).take(per_key.index.get_level_values("_gc").to_numpy())
        index = pd.MultiIndex.from_arrays([index, groups], names=["period", by])
    wide = pd.DataFrame({n: values[n] for n in names}, index=index)
    if by is None:
        return KpiResult(wide=wide, tree=tree, period=period, by=by, total=wide)
    # over all groups: sums and counts add up; distinct counts come per period
    per_period = per_key.groupby(level="_p", sort=True).sum()
    if totals:
        distinct = pd.concat(totals, ignore_index=True)
        distinct["_p"] = distinct["_p"].to_numpy(dtype="int64")
        distinct = distinct.groupby("_p").sum().reindex(per_period.index, fill_value=0.0)
        per_period = per_period.drop(columns=list(distinct.columns), errors="ignore").join(distinct)
    total_values = {
        m.name: column(per_period, f"_t{i}" if f"_t{i}" in per_period else f"_v{i}")
        for i, m in enumerate(measures)
    }
    _evaluate_formulas(tree, total_values)
    total = pd.DataFrame(
        {n: total_values[n] for n in names},
        index=pd.PeriodIndex.from_ordinals(per_period.index.to_numpy(), freq=period).rename(
            "period"
        ),
    )
    return KpiResult(wide=wide, tree=tree, period=period, by=by, total=total)


# ------------------------------------------------------------------------------------
# decomposition
# ------------------------------------------------------------------------------------
def decompose(
    result: KpiResult,
    *,
    base: Any,
    current: Any,
    method: Literal["lmdi", "shapley"] = "lmdi",
    by: str | None = None,
) -> pd.DataFrame:
    """Split the change of the tree's root between two periods into driver contributions.

    Parameters
    ----------
    result : KpiResult
        Output of :func:`kpi_tree`.
    base, current : str or Period
        The two periods, e.g. ``base="2024-07", current="2024-08"``.
    method : {"lmdi", "shapley"}, default="lmdi"
        ``"lmdi"``: additive log-mean Divisia index for products (needs positive
        values); ``"shapley"``: the order-free Shapley split of each product. Sum nodes
        pass their contribution to their children in proportion to their changes.
    by : str, optional
        The grouping column of ``result`` (computed with ``kpi_tree(..., by=...)``).
        The change is then split into within-group effects and the shift in group mix:
        the root of every group is written as ``X × s_g × (other drivers of the
        group)``, with ``X`` the total of the root's first driver over the groups
        (e.g. customers, summed over channels) and ``s_g`` the group's share of it.
        ``X`` and the other drivers give the node contributions (summed over groups);
        the shares give the extra row ``"<by> mix"``. A group present in only one of
        the two periods counts entirely as mix. The first driver's own subtree is
        decomposed only when it is additive (sums of measures).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``node`` (the root, then its drivers, depth-first), with columns

        - ``parent``: the node above (missing for the root), ``depth``: 0 for the root;
        - ``op``: ``product``, ``sum``, ``ratio`` or ``measure``;
        - ``base``, ``current``, ``change``: the node's values and their difference
          (with ``by``: over all groups);
        - ``contribution``: the part of the root's change due to the node; the
          contributions of the leaves (nodes without children here, and the mix row)
          add up to the root's change, and a node's contribution is the sum of its
          children's;
        - ``share``: contribution / change of the root.

    Raises
    ------
    InvalidDataError
        A period not in the result, LMDI with a zero, negative or undefined value (the
        message names the node and suggests ``method="shapley"``), or ``by`` that
        does not match the result.

    Examples
    --------
    The worked example: 1000 customers × 50 → 1200 × 45.

    >>> import pandas as pd
    >>> from crm_analytics.kpi import Formula, KpiTree, Measure, decompose, kpi_tree
    >>> tree = KpiTree(
    ...     [
    ...         Formula("sales", "product", ("customers", "sales_per_customer")),
    ...         Measure("customers", "nunique", of="customer_id"),
    ...         Formula("sales_per_customer", "ratio", ("revenue", "customers")),
    ...         Measure("revenue", "sum", of="net_amount"),
    ...     ],
    ...     root="sales",
    ... )
    >>> orders = pd.DataFrame({
    ...     "order_id": [f"o{i}" for i in range(2200)],
    ...     "customer_id": [f"c{i}" for i in range(2200)],
    ...     "order_time": pd.to_datetime(["2024-01-15"] * 1000 + ["2024-02-15"] * 1200),
    ...     "amount": [50.0] * 1000 + [45.0] * 1200,
    ... })
    >>> result = kpi_tree(orders, tree=tree)
    >>> decompose(result, base="2024-01", current="2024-02")[["base", "current", "change", "contribution"]].round(1)
                           base  current  change  contribution
    node
    sales               50000.0  54000.0  4000.0        4000.0
    customers            1000.0   1200.0   200.0        9476.0
    sales_per_customer     50.0     45.0    -5.0       -5476.0
    >>> decompose(result, base="2024-01", current="2024-02", method="shapley")["contribution"]
    node
    sales                 4000.0
    customers             9500.0
    sales_per_customer   -5500.0
    Name: contribution, dtype: float64
    """
    caller = "decompose"
    import pandas as pd

    check_choice(method, _METHODS, name="method", caller=caller)
    if not isinstance(result, KpiResult):
        raise InvalidDataError(
            f"{caller}: expected the KpiResult of crm.kpi.kpi_tree(...), got "
            f"{type(result).__name__}."
        )
    if by is not None and by != result.by:
        raise InvalidDataError(
            f"{caller}: by={by!r}, but the result was computed with by={result.by!r}.\n"
            f"Hint: result = crm.kpi.kpi_tree(orders, by={by!r}) first."
        )
    b = _as_period(base, result, caller)
    c = _as_period(current, result, caller)
    tree = result.tree
    drivers = tree.drivers()
    totals0 = {n: np.array([result.total.at[b, n]], dtype="float64") for n in tree.names}
    totals1 = {n: np.array([result.total.at[c, n]], dtype="float64") for n in tree.names}
    mix_row = None
    if by is None:
        parts = _propagate(
            tree, tree.root, np.ones(1), totals0, totals1, method, caller, periods=(b, c)
        )
        contrib = {k: float(v.sum()) for k, v in parts.items()}
        base_v = {n: float(totals0[n][0]) for n in tree.names}
        cur_v = {n: float(totals1[n][0]) for n in tree.names}
    else:
        contrib, base_v, cur_v, mix_row, drivers = _decompose_by(
            result, b, c, method, caller, totals0, totals1
        )
    rows = []
    for name, parent, depth in drivers:
        node = tree[name]
        op = node.op if isinstance(node, Formula) else "measure"
        rows.append((name, parent, depth, op, base_v[name], cur_v[name]))
    frame = pd.DataFrame(rows, columns=["node", "parent", "depth", "op", "base", "current"])
    frame["change"] = frame["current"] - frame["base"]
    frame["contribution"] = [contrib[n] for n in frame["node"]]
    if mix_row is not None:
        frame.loc[len(frame)] = [f"{by} mix", tree.root, 1, "mix", np.nan, np.nan, np.nan, mix_row]
    root_change = float(frame["change"].iloc[0])
    frame["share"] = frame["contribution"] / root_change if root_change != 0 else np.nan
    frame = frame.set_index("node")
    frame.attrs["kpi_decomposition"] = {
        "base": str(b),
        "current": str(c),
        "method": method,
        "root": tree.root,
        "by": by,
    }
    return frame


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        same = np.isclose(a, b, rtol=1e-13, atol=0.0)
        out = np.where(same, a, (a - b) / (np.log(a) - np.log(np.where(same, 1.0, b))))
    return out


def _shapley_weights(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """m_i such that the Shapley value of factor i in prod(x) is Δx_i · m_i.

    ``x0``, ``x1``: arrays (k factors × G groups). m_i averages the product of the other
    factors over every subset S of them taken at their current value (the rest at the
    base value), weighted |S|! (k-1-|S|)! / k!.
    """
    k = x0.shape[0]
    if k > _MAX_SHAPLEY_FACTORS:
        raise InvalidDataError(
            f"decompose: a product of {k} factors is too large for the exact Shapley split "
            f"(at most {_MAX_SHAPLEY_FACTORS}). Hint: group factors into sub-products, or "
            "use method='lmdi'."
        )
    out = np.zeros_like(x0)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for size in range(len(others) + 1):
            weight = math.factorial(size) * math.factorial(k - 1 - size) / math.factorial(k)
            for subset in combinations(others, size):
                term = np.full(x0.shape[1], weight)
                for j in others:
                    term = term * (x1[j] if j in subset else x0[j])
                out[i] += term
    return out


def _check_lmdi(name: str, values: Sequence[np.ndarray], periods: tuple[Any, Any], caller: str,
                groups: Any = None) -> None:  # fmt: skip
    for which, arr in zip(periods, values, strict=True):
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            where = "" if groups is None else f" (group {groups[int(np.argmax(bad))]!r})"
            raise InvalidDataError(
                f"{caller}: LMDI needs positive values, but {name!r} is "
                f"{float(arr[int(np.argmax(bad))])!r} in {which}{where}.\n"
                "Hint: use method='shapley', which handles zeros; or compare other periods."
            )


def _check_defined(name: str, values: Sequence[np.ndarray], periods: tuple[Any, Any],
                   caller: str) -> None:  # fmt: skip
    for which, arr in zip(periods, values, strict=True):
        if not np.isfinite(arr).all():
            raise InvalidDataError(
                f"{caller}: {name!r} is undefined (a ratio with a zero denominator) in {which}, "
                "so its contribution cannot be computed.\nHint: compare periods with "
                "purchases in both, or use a tree without that ratio."
            )


def _propagate(
    tree: KpiTree,
    start: str,
    v_start: np.ndarray,
    x0: Mapping[str, np.ndarray],
    x1: Mapping[str, np.ndarray],
    method: str,
    caller: str,
    *,
    periods: tuple[Any, Any],
    groups: Any = None,
) -> dict[str, np.ndarray]:
    """Contributions (per group) of every node below ``start`` given its weight ``v``."""
    out: dict[str, np.ndarray] = {}

    def visit(name: str, v: np.ndarray) -> None:
        _check_defined(name, (x0[name], x1[name]), periods, caller)
        out[name] = v * (x1[name] - x0[name])
        node = tree[name]
        if not isinstance(node, Formula) or node.op == "ratio":
            return
        kids = list(node.children)
        if node.op == "sum":
            for kid in kids:
                visit(kid, v)
            return
        for kid in kids:
            _check_defined(kid, (x0[kid], x1[kid]), periods, caller)
        if method == "lmdi":
            _check_lmdi(name, (x0[name], x1[name]), periods, caller, groups)
            w = v * _log_mean(x1[name], x0[name])
            for kid in kids:
                _check_lmdi(kid, (x0[kid], x1[kid]), periods, caller, groups)
                visit(kid, w / _log_mean(x1[kid], x0[kid]))
        else:
            m = _shapley_weights(np.vstack([x0[k] for k in kids]), np.vstack([x1[k] for k in kids]))
            for i, kid in enumerate(kids):
                visit(kid, v * m[i])

    visit(start, v_start)
    return out


def _decompose_by(
    result: KpiResult,
    b: Any,
    c: Any,
    method: str,
    caller: str,
    totals0: Mapping[str, np.ndarray],
    totals1: Mapping[str, np.ndarray],
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float, list]:
    import pandas as pd

    tree = result.tree
    root = tree[tree.root]
    if not (isinstance(root, Formula) and root.op == "product"):
        raise InvalidDataError(
            f"{caller}: by= needs a root that is a product of drivers; {tree.root!r} is a "
            f"{getattr(root, 'op', 'measure')}.\nHint: decompose without by=, or per group."
        )
    wide = result.wide
    groups = wide.index.get_level_values(1).unique()
    groups = pd.Index(sorted(groups, key=str))

    def frame_at(p: Any) -> pd.DataFrame:
        at = wide.xs(p, level=0) if p in wide.index.get_level_values(0) else wide.iloc[:0]
        return at.reindex(groups)

    g0, g1 = frame_at(b), frame_at(c)
    names = tree.names
    x0 = {n: g0[n].to_numpy(dtype="float64") for n in names}
    x1 = {n: g1[n].to_numpy(dtype="float64") for n in names}
    kids = list(root.children)
    first, rest = kids[0], kids[1:]
    r0 = np.nan_to_num(x0[tree.root], nan=0.0)
    r1 = np.nan_to_num(x1[tree.root], nan=0.0)
    vol0 = np.nansum(x0[first])
    vol1 = np.nansum(x1[first])
    with np.errstate(divide="ignore", invalid="ignore"):
        s0 = x0[first] / vol0
        s1 = x1[first] / vol1
    factors0 = [np.full(len(groups), vol0), s0, *[x0[k] for k in rest]]
    factors1 = [np.full(len(groups), vol1), s1, *[x1[k] for k in rest]]
    stack0, stack1 = np.vstack(factors0), np.vstack(factors1)
    ok = np.isfinite(stack0).all(axis=0) & np.isfinite(stack1).all(axis=0)
    if method == "lmdi":
        ok &= (stack0 > 0).all(axis=0) & (stack1 > 0).all(axis=0)
    ok &= np.isfinite(x0[tree.root]) & np.isfinite(x1[tree.root])
    entering = ~ok  # groups present in one period only (or undefined): all mix
    f0 = np.where(ok, stack0, 1.0)
    f1 = np.where(ok, stack1, 1.0)
    if method == "lmdi":
        w = _log_mean(np.prod(f1, axis=0), np.prod(f0, axis=0))
        v = w / _log_mean(f1, f0)
    else:
        v = _shapley_weights(f0, f1)
    v = np.where(ok, v, 0.0)
    contrib: dict[str, float] = {tree.root: float((r1 - r0).sum())}
    mix = float((v[1] * np.where(ok, s1 - s0, 0.0)).sum() + (r1 - r0)[entering].sum())
    # the volume driver: X at the total level (sum over groups), its additive subtree
    v_vol = float(v[0].sum())
    sub = [d for d in tree.drivers(first)]
    additive = all(
        isinstance(tree[n], Measure) or tree[n].op == "sum"  # type: ignore[union-attr]
        for n, _, _ in sub
    )
    base_v = {n: float(totals0[n][0]) for n in names}
    cur_v = {n: float(totals1[n][0]) for n in names}
    base_v[tree.root] = float(r0.sum())
    cur_v[tree.root] = float(r1.sum())
    drivers = tree.drivers()
    if additive:
        sub_names = [n for n, _, _ in sub]
    else:
        sub_names = [first]
        below = {n for n, _, _ in sub} - {first}
        drivers = [d for d in drivers if d[0] not in below]
    for n in sub_names:
        base_v[n] = float(np.nansum(x0[n]))
        cur_v[n] = float(np.nansum(x1[n]))
        contrib[n] = v_vol * (cur_v[n] - base_v[n])
    # the other drivers: per group, with their subtrees, summed over groups
    k0 = {n: np.where(ok, x0[n], 1.0) for n in names}
    k1 = {n: np.where(ok, x1[n], 1.0) for n in names}
    for i, kid in enumerate(rest):
        part = _propagate(tree, kid, v[2 + i], k0, k1, method, caller, periods=(b, c),
                          groups=list(groups))  # fmt: skip
        for n, arr in part.items():
            contrib[n] = float(arr.sum())
    return contrib, base_v, cur_v, mix, drivers
