"""Load shop exports (orders and customers) into the canonical schema.

Platforms are data: each file in ``crm_analytics/profiles/`` maps a platform's header
names to canonical columns and its status values to ``paid`` / ``unpaid`` /
``cancelled`` / ``refunded``. Bad rows are never dropped silently: they are returned
unchanged in ``rejected`` with a ``reason``, and valid + rejected = input, always.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import hmac
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _parse, schema
from ._validation import check_choice, nearest
from .exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError

__all__ = [
    "PLATFORMS",
    "CustomersLoad",
    "OrdersLoad",
    "load_customers",
    "load_orders",
    "platform_profile",
    "read_customers",
    "read_orders",
]

#: Platforms with a shipped profile; ``"auto"`` picks one from the headers.
PLATFORMS = ("auto", "taobao", "jd", "douyin", "shopify", "generic")

# rejection reasons, in priority order (a row gets the first that applies)
DUPLICATE = "duplicate"
MISSING_ORDER_ID = "missing order id"
MISSING_CUSTOMER = "missing customer id"
MISSING_TIME = "missing order time"
BAD_TIME = "unparseable order time"
MISSING_AMOUNT = "missing amount"
BAD_AMOUNT = "unparseable amount"
BAD_REFUND = "unparseable refund amount"
BAD_STATUS = "unknown status"
OLDER_RECORD = "duplicate customer id (older record)"

_ROLE_TEXT = {
    schema.ORDER_ID: "order id",
    schema.CUSTOMER_ID: "customer id",
    schema.ORDER_TIME: "order time",
    schema.AMOUNT: "amount paid",
}
_PERSONAL_PATTERN = re.compile(
    r"name|phone|mobile|tel\b|address|street|zip|postcode|e-?mail|姓名|收货人|收件人|电话|手机|地址|邮箱",
    re.IGNORECASE,
)
_TRUE = {"yes", "y", "true", "t", "1", "是", "subscribed", "opted in", "opt in"}
_FALSE = {
    "no",
    "n",
    "false",
    "f",
    "0",
    "否",
    "unsubscribed",
    "not subscribed",
    "not_subscribed",
    "opted out",
}
_GENDER = {
    "f": "female", "female": "female", "woman": "female", "w": "female", "女": "female", "女性": "female", "2": "female",
    "m": "male", "male": "male", "man": "male", "男": "male", "男性": "male", "1": "male",
}  # fmt: skip


# ------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------
@dataclass
class _Load:
    rejected: pd.DataFrame
    platform: str
    encoding: str | None
    mapping: dict[str, str]
    n_input: int
    notes: list[str] = field(default_factory=list)

    def report(self) -> pd.DataFrame:
        """Rejected rows per reason.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``reason``, columns ``rows`` and ``share`` (of the input rows),
            most frequent first; empty when nothing was rejected.
        """
        counts = self.rejected["reason"].value_counts(sort=True) if len(self.rejected) else None
        if counts is None:
            return pd.DataFrame(
                {"rows": pd.Series(dtype="int64"), "share": pd.Series(dtype="float64")},
                index=pd.Index([], name="reason", dtype=object),
            )
        out = pd.DataFrame({"rows": counts.astype("int64")})
        out["share"] = out["rows"] / max(self.n_input, 1)
        out.index = pd.Index(out.index.astype(object), name="reason")
        return out

    def _describe(self, kind: str, n_valid: int) -> str:
        reasons = ", ".join(f"{r} {n}" for r, n in self.report()["rows"].items())
        text = (
            f"{type(self).__name__}(platform={self.platform!r}, encoding={self.encoding!r}, "
            f"rows={self.n_input}: {n_valid} {kind}, {len(self.rejected)} rejected"
        )
        return text + (f" [{reasons}])" if reasons else ")")


@dataclass
class OrdersLoad(_Load):
    """What ``load_orders`` read: the canonical orders and everything it set aside.

    Attributes
    ----------
    orders : pandas.DataFrame
        Valid rows in the canonical schema (see ``crm_analytics.schema``), input order,
        followed by the export's other columns unchanged.
    rejected : pandas.DataFrame
        The offending input rows exactly as read (index = input row number), plus a
        ``reason`` column. ``len(orders) + len(rejected)`` equals the input rows.
    platform : str
        The profile used (``"taobao"``, ``"jd"``, ``"douyin"``, ``"shopify"``, ``"generic"``).
    encoding : str or None
        Detected or given text encoding (None for Parquet and DataFrames).
    mapping : dict
        Canonical column -> source header actually used.
    n_input : int
        Rows in the input.
    notes : list of str
        Repairs made to valid rows (negative rows turned into refunds, times that
        could not be read in optional columns, ...).
    """

    orders: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("orders", len(self.orders))


@dataclass
class CustomersLoad(_Load):
    """What ``load_customers`` read: one row per customer and everything set aside.

    Attributes
    ----------
    customers : pandas.DataFrame
        Indexed by ``customer_id`` (unique), canonical customer columns first.
    rejected : pandas.DataFrame
        Input rows set aside, exactly as read, plus a ``reason`` column (missing
        customer id, exact duplicate, or an older record of a customer id seen twice).
    platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    customers: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("customers", len(self.customers))


# ------------------------------------------------------------------------------------
# public entry points
# ------------------------------------------------------------------------------------
def read_orders(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    status_map: Mapping[str, str] | None = None,
    engine: str = "pandas",
) -> Any:
    """Read an orders export into canonical orders.

    The same as ``load_orders(...).orders``, with a ``DataQualityWarning`` that gives
    the number of rejected rows and the top reasons when any row was rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz, status_map
        See :func:`load_orders`.
    engine : {"pandas", "duckdb", "polars"}, default="pandas"
        ``"duckdb"`` or ``"polars"`` open Parquet files (a file, a folder of files or
        a glob such as ``"orders/*.parquet"``) lazily, without loading them, and
        return a DuckDB relation or a polars LazyFrame that every order-level
        function accepts (see docs/scaling.md). The files must already hold canonical
        orders (``mapping`` may rename columns); rows are not checked one by one, so
        validate a sample with :func:`load_orders` first.

    Returns
    -------
    pandas.DataFrame, or a DuckDB relation / polars LazyFrame with ``engine``
        Canonical orders: ``order_id``, ``customer_id``, ``order_time``, ``amount``,
        ``status``, ``refund_amount``, ``quantity`` and, when the export has them,
        ``paid_time``, ``product_id``, ``product_name``, ``category``, ``unit_price``,
        ``channel``; then the export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "订单编号": ['="4031234567890123456"', '="4031234567890123457"'],
    ...     "买家会员名": ["tb_anna", "tb_bo"],
    ...     "买家实际支付金额": ["¥1,234.50", "88.00"],
    ...     "订单状态": ["交易成功", "等待买家付款"],
    ...     "订单创建时间": ["2024/3/5 14:22:01", "2024-03-06 09:00:00"],
    ... })
    >>> crm.read_orders(export)[["order_id", "customer_id", "order_time", "amount", "status"]]
                  order_id customer_id          order_time  amount  status
    0  4031234567890123456     tb_anna 2024-03-05 14:22:01  1234.5    paid
    1  4031234567890123457       tb_bo 2024-03-06 09:00:00    88.0  unpaid
    """
    check_choice(engine, ("pandas", "duckdb", "polars"), name="engine", caller="read_orders")
    if engine != "pandas":
        return _lazy_parquet(source, engine=engine, mapping=mapping)
    load = load_orders(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
        status_map=status_map,
    )
    _warn_rejected("read_orders", load, "load_orders")
    return load.orders


def _lazy_parquet(source: Any, *, engine: str, mapping: Mapping[str, str | None] | None) -> Any:
    """Canonical orders in Parquet files as a lazy DuckDB relation or polars LazyFrame."""
    caller = "read_orders"
    path = Path(source)
    if path.is_dir():
        pattern = str(path / "*.parquet")
    elif any(ch in str(source) for ch in "*?["):
        pattern = str(source)
    elif path.exists():
        pattern = str(path)
    else:
        raise FileNotFoundError(f"{caller}: no file or folder at {str(path)!r}.")
    from ._optional import import_optional

    if engine == "duckdb":
        duckdb = import_optional("duckdb", extra="duckdb", caller=caller)
        frame: Any = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}')")
        columns = list(frame.columns)
    else:
        pl = import_optional("polars", extra="polars", caller=caller)
        frame = pl.scan_parquet(pattern)
        columns = list(frame.collect_schema().names())
    renames = {
        header: role
        for role, header in _normalise_mapping(mapping, columns, caller).items()
        if header is not None and header != role
    }
    if renames:
        import narwhals as nw

        frame = nw.from_native(frame).rename(renames).to_native()
        columns = [renames.get(c, c) for c in columns]
    missing = [
        c
        for c in (schema.ORDER_ID, schema.CUSTOMER_ID, schema.ORDER_TIME, schema.AMOUNT)
        if c not in columns
    ]
    if missing:
        aliases = _load_profile("generic")["orders"]["columns"].get(missing[0], [])
        keys = {_parse.lowercase_key(a) for a in aliases}
        guess = next((c for c in columns if _parse.lowercase_key(c) in keys), None)
        guess = guess or nearest(missing[0], columns)
        raise ColumnNotFoundError(
            f"{caller}: the Parquet files have no column {missing[0]!r}, which engine={engine!r} "
            f"needs (files must hold canonical orders).\nColumns found: {columns}.\n"
            f"Hint: pass mapping={{{missing[0]!r}: {guess or '<column>'!r}}}."
        )
    return frame


def load_orders(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    status_map: Mapping[str, str] | None = None,
) -> OrdersLoad:
    """Load an orders export, keeping every rejected row with its reason.

    Parameters
    ----------
    source : str, Path or DataFrame
        A file (``.csv``, ``.tsv``, ``.txt``, ``.xlsx``, ``.parquet``, ``.jsonl``; ``.gz``
        compressed text works too), a folder of Parquet files, or a DataFrame (pandas,
        or polars) already in memory. The input is never modified.
    platform : {"auto", "taobao", "jd", "douyin", "shopify", "generic"}, default="auto"
        Which export layout to expect; "auto" picks the platform whose headers match.
        ``crm.io.platform_profile(name)`` shows a profile.
    mapping : dict, optional
        Overrides: ``{canonical column: source header}`` (e.g.
        ``{"customer_id": "Buyer Nick"}``); the reverse direction is accepted too.
        ``{"order_id": None}`` makes every row its own order (for exports without
        order numbers).
    encoding : str, optional
        Text encoding. By default detected: UTF-8, UTF-8 with BOM, UTF-16 with BOM, or
        GB18030 (a superset of GBK, used by Chinese seller centres).
    sheet_name : str or int, optional
        Excel sheet (default the first).
    pseudonymize : str or bytes, optional
        A secret key. Customer ids are replaced by keyed hashes (HMAC-SHA256, 20 hex
        characters; the same key gives the same pseudonym in every file, so orders and
        customers still join) and personal columns (names, phones, addresses, emails)
        are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.
    tz : str, optional
        The shop's time zone (e.g. "Asia/Shanghai"). Timestamps that carry an offset
        are converted to it. Default: the platform's zone for Chinese platforms;
        otherwise an offset's wall-clock time is kept. Times are stored naive, so a day
        boundary is the shop's day.
    status_map : dict, optional
        Extra ``{export status: canonical status}`` entries for values the profile
        does not know (an unknown status is a rejection reason).

    Returns
    -------
    OrdersLoad
        ``.orders`` (canonical orders), ``.rejected``, ``.platform``, ``.encoding``,
        ``.mapping``, ``.notes`` and ``.report()``.

    Raises
    ------
    ColumnNotFoundError
        A required column (order id, customer id, order time, amount) has no match;
        the message lists the headers found and the nearest one.
    InvalidDataError
        Unknown platform, unreadable file, or a file that is not text in a known
        encoding.

    Notes
    -----
    Row rules, in this order:

    - Rejected (first reason that applies): ``duplicate`` (repeats an earlier input
      row exactly), ``missing order id``, ``missing customer id``, ``missing order
      time``, ``unparseable order time``, ``missing amount``, ``unparseable amount``,
      ``unparseable refund amount``, ``unknown status``.
    - Ids are read as exact text: ``="123"``, a leading ``'`` or tab, ``123.0`` and
      scientific notation are repaired; a 19-digit order number is never a float.
    - Money may carry currency signs, thousands separators, ``元``, or parentheses.
    - Exports with one total per order on several line rows (JD, Shopify) have the
      total split over the lines by line value, so the lines add up to the order.
    - A negative amount is a refund: the row becomes ``refunded`` and its value is
      netted against the rows of the same order (as ``refund_amount``) when the order
      is in the file; otherwise the row keeps it as its own ``refund_amount``.
    - A row whose refund covers what was paid is ``refunded``; a partial refund
      stays ``paid`` with its ``refund_amount``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "order": ["1001", "1002", "1002", "1003"],
    ...     "customer": ["ann", "", "", "bob"],
    ...     "date": ["2024-03-01", "2024-03-02", "2024-03-02", "2024-13-45"],
    ...     "total": ["$12.00", "$8.00", "$8.00", "$5.00"],
    ... })
    >>> load = crm.load_orders(export)
    >>> load
    OrdersLoad(platform='generic', encoding=None, rows=4: 1 orders, 3 rejected [missing customer id 1, duplicate 1, unparseable order time 1])
    >>> load.rejected
      order customer        date   total                  reason
    1  1002           2024-03-02   $8.00     missing customer id
    2  1002           2024-03-02   $8.00               duplicate
    3  1003      bob  2024-13-45   $5.00  unparseable order time
    """
    caller = "load_orders"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile = _choose_profile("orders", list(work.columns), platform)
    spec = profile["orders"]
    cols = _resolve_columns(spec, list(work.columns), mapping, caller=caller, kind="orders")
    n = len(work)
    notes: list[str] = []

    own_order = cols.get(schema.ORDER_ID) is None
    role_missing = [
        role
        for role in (schema.ORDER_ID, schema.CUSTOMER_ID, schema.ORDER_TIME)
        if role not in cols and not (role == schema.ORDER_ID and own_order)
    ]
    if schema.AMOUNT not in cols and schema.UNIT_PRICE not in cols:
        role_missing.append(schema.AMOUNT)
    if role_missing:
        _raise_missing(role_missing, list(work.columns), profile["name"], caller)

    # --- raw text per canonical role ----------------------------------------------
    def cell(role: str) -> pd.Series | None:
        header = cols.get(role)
        return None if header is None else work[header]

    if own_order:
        order_id = pd.Series(np.arange(n).astype(str), index=work.index, dtype="string")
    else:
        order_id = _parse.parse_id(cell(schema.ORDER_ID))
    fill_roles = set(spec.get("fill_within_order", ())) if not own_order else set()
    values: dict[str, pd.Series] = {}
    for role in cols:
        if role == schema.ORDER_ID:
            continue
        series = cell(role)
        if role in fill_roles:
            series = _parse.first_in_group(_parse.text(series), order_id)
        values[role] = series
    rule = spec.get("refund_status")
    if rule:
        header = next((h for h in rule["columns"] if h in work.columns), None)
        if header is not None:
            values["_refund_status"] = work[header]

    customer = _parse.parse_id(values[schema.CUSTOMER_ID])
    zone = tz or profile.get("zone")
    order_time, time_missing, time_bad = _parse.parse_datetime(values[schema.ORDER_TIME], tz=zone)

    quantity = pd.Series(1.0, index=work.index)
    if schema.QUANTITY in values:
        q, q_bad = _parse.parse_number(values[schema.QUANTITY])
        if q_bad.any():
            notes.append(f"{int(q_bad.sum())} unreadable quantities set to 1")
        quantity = q.fillna(1.0)
    unit_price = None
    if schema.UNIT_PRICE in values:
        unit_price, _, up_bad = _parse.parse_money(values[schema.UNIT_PRICE])
        if up_bad.any():
            notes.append(f"{int(up_bad.sum())} unreadable unit prices left empty")

    if schema.AMOUNT in values:
        amount, amount_missing, amount_bad = _parse.parse_money(values[schema.AMOUNT])
    else:
        assert unit_price is not None
        amount = unit_price * quantity
        amount_missing, amount_bad = amount.isna(), pd.Series(False, index=work.index)
        notes.append("amount computed as unit_price × quantity (the export has no amount column)")

    refund = pd.Series(0.0, index=work.index)
    refund_bad = pd.Series(False, index=work.index)
    if schema.REFUND_AMOUNT in values:
        r, _, refund_bad = _parse.parse_money(values[schema.REFUND_AMOUNT])
        refund = r.fillna(0.0)

    status, status_bad, status_blank = _map_status(
        values.get(schema.STATUS), spec, status_map, work.index
    )

    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (order_id.isna(), MISSING_ORDER_ID),
            (customer.isna(), MISSING_CUSTOMER),
            (time_missing, MISSING_TIME),
            (time_bad, BAD_TIME),
            (amount_missing, MISSING_AMOUNT),
            (amount_bad, BAD_AMOUNT),
            (refund_bad, BAD_REFUND),
            (status_bad, BAD_STATUS),
        ],
    )
    valid = pd.isna(reason)
    if status_blank[valid].any():
        notes.append(f"{int(status_blank[valid].sum())} rows with an empty status read as paid")

    # --- canonical frame from the valid rows --------------------------------------
    keep = np.flatnonzero(valid)
    out = pd.DataFrame(
        {
            schema.ORDER_ID: order_id.iloc[keep].to_numpy(),
            schema.CUSTOMER_ID: customer.iloc[keep].to_numpy(),
            schema.ORDER_TIME: order_time.iloc[keep].to_numpy(),
            schema.AMOUNT: amount.iloc[keep].to_numpy(dtype="float64"),
            schema.STATUS: status.iloc[keep].to_numpy(dtype=object),
            schema.REFUND_AMOUNT: refund.iloc[keep].to_numpy(dtype="float64"),
        }
    )
    line_value = None
    if unit_price is not None:
        line_value = (unit_price * quantity).iloc[keep].to_numpy(dtype="float64")
    for role in spec.get("order_level", ()):
        if role in (schema.AMOUNT, schema.REFUND_AMOUNT) and role in values and not own_order:
            out[role] = _allocate_order_level(out[role], out[schema.ORDER_ID], line_value)

    if schema.PAID_TIME in values:
        paid, _, paid_bad = _parse.parse_datetime(values[schema.PAID_TIME], tz=zone)
        if paid_bad.iloc[keep].any():
            notes.append(f"{int(paid_bad.iloc[keep].sum())} unreadable paid times left empty")
        out[schema.PAID_TIME] = paid.iloc[keep].to_numpy()
    if schema.PRODUCT_ID in values:
        out[schema.PRODUCT_ID] = _parse.parse_id(values[schema.PRODUCT_ID]).iloc[keep].to_numpy()
    for role in (schema.PRODUCT_NAME, schema.CATEGORY):
        if role in values:
            out[role] = _parse.text(values[role]).iloc[keep].to_numpy()
    out[schema.QUANTITY] = np.round(quantity.iloc[keep].to_numpy()).astype("int64")
    if unit_price is not None:
        out[schema.UNIT_PRICE] = unit_price.iloc[keep].to_numpy(dtype="float64")
    if schema.CHANNEL in values:
        out[schema.CHANNEL] = _parse.text(values[schema.CHANNEL]).iloc[keep].to_numpy()

    _apply_refund_status(out, values, spec, keep)
    notes.extend(_net_negative_amounts(out))
    _refund_covers_paid(out)

    out = _finish_orders(out, work, keep, cols, spec, pseudonymize, keep_personal, notes)
    rejected = _rejected_rows(raw, valid, reason)
    return OrdersLoad(
        orders=out,
        rejected=rejected,
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def read_customers(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    as_of: Any = None,
) -> pd.DataFrame:
    """Read a customers (members) export: one row per customer.

    The same as ``load_customers(...).customers``, warning when rows were set aside.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, as_of
        See :func:`load_customers`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``; see :func:`load_customers` for the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "会员名": ["tb_anna", "tb_bo"],
    ...     "性别": ["女", "男"],
    ...     "生日": ["1990-05-01", "2001/12/24"],
    ...     "会员等级": ["VIP2", "VIP1"],
    ...     "入会时间": ["2023-01-15 10:00:00", "2024-06-30 18:00:00"],
    ... })
    >>> crm.read_customers(export)[["gender", "birthday", "age", "member_level"]]
                 gender   birthday  age member_level
    customer_id
    tb_anna      female 1990-05-01   34         VIP2
    tb_bo          male 2001-12-24   22         VIP1
    """
    load = load_customers(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        as_of=as_of,
    )
    _warn_rejected("read_customers", load, "load_customers")
    return load.customers


def load_customers(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    as_of: Any = None,
) -> CustomersLoad:
    """Load a customers (members) export, keeping every set-aside row with its reason.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name
        As in :func:`load_orders` (the profiles have a ``customers`` section: Taobao
        member exports with 会员名/昵称, 性别, 生日, 省/市, 会员等级, 积分, 入会时间, 标签;
        Shopify's customers export with Email, First/Last Name, Province, Country,
        Tags, Accepts Email Marketing, Created at; and generic names).
    pseudonymize : str or bytes, optional
        Secret key: customer ids become the same keyed hashes as in
        :func:`load_orders` with that key, so the tables still join; personal columns
        (name, first/last name, email, phone, addresses) are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.
    as_of : datetime-like, optional
        Date at which ``age`` is computed from ``birthday``. Default: the latest
        signup or update time in the table (never the wall clock); without one,
        there is no ``age`` column.

    Returns
    -------
    CustomersLoad
        ``.customers`` indexed by ``customer_id`` with, when the export has them,
        ``name``, ``first_name``, ``last_name``, ``gender`` (``female``, ``male``,
        ``unknown``), ``birthday``, ``age`` (whole years), ``country``, ``region``,
        ``city``, ``member_level``, ``points``, ``signup_time``, ``updated_time``,
        ``tags``, ``email``, ``phone``, ``accepts_marketing`` (boolean), then the
        export's other columns. A customer id that appears more than once keeps its
        newest record (latest ``updated_time``, else ``signup_time``, else the last
        row); the older records are in ``.rejected``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "Email": ["ann@example.com", "bob@example.com", "ann@example.com"],
    ...     "First Name": ["Ann", "Bob", "Ann"],
    ...     "Last Name": ["Lee", "Ray", "Lee"],
    ...     "Tags": ["vip", "", "vip, wholesale"],
    ...     "Accepts Email Marketing": ["yes", "no", "yes"],
    ...     "Updated at": ["2024-01-01", "2024-02-01", "2024-03-01"],
    ... })
    >>> load = crm.load_customers(export, pseudonymize="shop-secret")
    >>> load.customers[["tags", "accepts_marketing"]]
                                    tags  accepts_marketing
    customer_id
    7d4427b9e384589d5551             NaN              False
    dc1e2b56ca64d34d4eac  vip, wholesale               True
    >>> load.report()
                                          rows     share
    reason
    duplicate customer id (older record)     1  0.333333
    """
    caller = "load_customers"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile = _choose_profile("customers", list(work.columns), platform)
    spec = profile.get("customers") or _load_profile("generic")["customers"]
    cols = _resolve_columns(spec, list(work.columns), mapping, caller=caller, kind="customers")
    if schema.CUSTOMER_ID not in cols or cols[schema.CUSTOMER_ID] is None:
        _raise_missing([schema.CUSTOMER_ID], list(work.columns), profile["name"], caller)
    n = len(work)
    notes: list[str] = []

    customer = _parse.parse_id(work[cols[schema.CUSTOMER_ID]])
    out = pd.DataFrame({schema.CUSTOMER_ID: customer.to_numpy()}, index=work.index)
    for role in (schema.BIRTHDAY, schema.SIGNUP_TIME, schema.UPDATED_TIME):
        if role in cols:
            parsed, _, bad = _parse.parse_datetime(work[cols[role]], tz=profile.get("zone"))
            if bad.any():
                notes.append(f"{int(bad.sum())} unreadable values in {role!r} left empty")
            out[role] = parsed.to_numpy()
    if schema.BIRTHDAY in out:
        out[schema.BIRTHDAY] = out[schema.BIRTHDAY].dt.normalize()
    if schema.GENDER in cols:
        key = _parse.text(work[cols[schema.GENDER]]).str.lower()
        out[schema.GENDER] = key.map(_GENDER).fillna("unknown").to_numpy(dtype=object)
    if schema.POINTS in cols:
        points, bad = _parse.parse_number(work[cols[schema.POINTS]])
        if bad.any():
            notes.append(f"{int(bad.sum())} unreadable points left empty")
        out[schema.POINTS] = points.to_numpy()
    if schema.ACCEPTS_MARKETING in cols:
        key = _parse.text(work[cols[schema.ACCEPTS_MARKETING]]).str.lower()
        flag = pd.Series(pd.NA, index=work.index, dtype="boolean")
        flag[key.isin(_TRUE).fillna(False).astype(bool)] = True
        flag[key.isin(_FALSE).fillna(False).astype(bool)] = False
        out[schema.ACCEPTS_MARKETING] = flag.to_numpy()
    for role in (schema.NAME, schema.FIRST_NAME, schema.LAST_NAME, schema.COUNTRY, schema.REGION,
                 schema.CITY, schema.MEMBER_LEVEL, schema.TAGS, schema.EMAIL, schema.PHONE):  # fmt: skip
        if role in cols:
            out[role] = _parse.text(work[cols[role]]).to_numpy()

    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(n, [(duplicate, DUPLICATE), (customer.isna(), MISSING_CUSTOMER)])
    candidate = pd.isna(reason)
    # newest record per customer id: latest update, else signup, else the last row
    order_cols = [c for c in (schema.UPDATED_TIME, schema.SIGNUP_TIME) if c in out]
    ranked = out[candidate].assign(_row=np.flatnonzero(candidate))
    ranked = ranked.sort_values([*order_cols, "_row"], na_position="first", kind="stable")
    newest = ranked.drop_duplicates(schema.CUSTOMER_ID, keep="last")["_row"].to_numpy()
    older = np.setdiff1d(np.flatnonzero(candidate), newest)
    reason[older] = OLDER_RECORD
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)

    customers = out.iloc[keep].reset_index(drop=True)
    if schema.BIRTHDAY in customers:
        reference = _age_reference(customers, as_of)
        if reference is not None:
            customers.insert(
                list(customers.columns).index(schema.BIRTHDAY) + 1,
                schema.AGE,
                _age_in_years(customers[schema.BIRTHDAY], reference),
            )
        else:
            notes.append("no age: pass as_of= (the table has no signup or update time)")
    customers = _order_columns(customers, schema.CUSTOMER_COLUMNS)
    extras = _extra_columns(
        work, keep, cols, spec, pseudonymize, keep_personal, set(customers.columns)
    )
    customers = pd.concat([customers, extras], axis=1)
    if pseudonymize is not None:
        customers[schema.CUSTOMER_ID] = _pseudonymize(customers[schema.CUSTOMER_ID], pseudonymize)
        if not keep_personal:
            customers = customers.drop(
                columns=[c for c in schema.PERSONAL_COLUMNS if c in customers], errors="ignore"
            )
    customers[schema.CUSTOMER_ID] = _parse.final_text(customers[schema.CUSTOMER_ID])
    for role in customers.columns:
        if role != schema.CUSTOMER_ID and pd.api.types.is_string_dtype(customers[role]):
            customers[role] = _parse.final_text(customers[role])
    customers = customers.set_index(schema.CUSTOMER_ID)

    rejected = _rejected_rows(raw, valid, reason)
    return CustomersLoad(
        customers=customers,
        rejected=rejected,
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def platform_profile(name: str) -> dict[str, Any]:
    """Return a shipped platform profile (header aliases, status values) as a dict.

    Parameters
    ----------
    name : {"taobao", "jd", "douyin", "shopify", "generic"}

    Examples
    --------
    >>> import crm_analytics as crm
    >>> profile = crm.io.platform_profile("taobao")
    >>> profile["orders"]["status"]["等待买家付款"]
    'unpaid'
    """
    check_choice(name, PLATFORMS[1:], name="name", caller="platform_profile")
    return json.loads(json.dumps(_load_profile(name)))


# ------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------
_TEXT_SUFFIXES = {".csv": ",", ".txt": None, ".tsv": "\t", ".tab": "\t"}
_COMPRESSION = {".gz", ".bz2", ".xz", ".zip", ".zst"}


def _read_source(
    source: Any, *, encoding: str | None, sheet_name: str | int | None, caller: str
) -> tuple[pd.DataFrame, str | None]:
    if isinstance(source, pd.DataFrame):
        return source, None
    if not isinstance(source, (str, Path)):
        try:
            import narwhals as nw

            return nw.from_native(source, eager_only=True).to_pandas(), None
        except TypeError as exc:
            raise InvalidDataError(
                f"{caller}: `source` must be a path or a DataFrame, got {type(source).__name__}."
            ) from exc
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{caller}: no file or folder at {str(path)!r}.")
    if path.is_dir():
        return pd.read_parquet(path), None
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path), None
    if suffix in (".xlsx", ".xlsm", ".xls"):
        from ._optional import import_optional

        import_optional("openpyxl", extra="excel", caller=caller)
        frame = pd.read_excel(path, sheet_name=sheet_name or 0, dtype=str, keep_default_na=False)
        return frame, None
    enc = encoding or _detect_encoding(path, caller)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return pd.read_json(path, lines=True, dtype=False, encoding=enc), enc
    sep = _TEXT_SUFFIXES.get(suffix)
    if sep is None:
        sep = _sniff_separator(path, enc)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=enc,
            index_col=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidDataError(
            f"{caller}: could not read {path.name!r} as delimited text (encoding {enc!r}, "
            f"separator {sep!r}): {exc}. Hint: pass encoding= or check the file."
        ) from exc
    return frame, enc


def _open_bytes(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _detect_encoding(path: Path, caller: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030; checks the whole file."""
    with _open_bytes(path) as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
    for candidate in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(candidate)()
        try:
            with _open_bytes(path) as fh:
                while chunk := fh.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return candidate
    raise InvalidDataError(
        f"{caller}: {path.name!r} is neither UTF-8 nor GB18030 text. "
        "Hint: pass encoding='...' (e.g. 'cp1252', 'big5')."
    )


def _sniff_separator(path: Path, encoding: str) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding, errors="replace") as fh:
        first = fh.readline()
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    return max(counts, key=lambda s: counts[s]) if max(counts.values()) else ","


def _clean_header(header: Any) -> str:
    h = str(header).replace("\ufeff", "").strip()
    h = re.sub(r'^=\s*"?|"$', "", h).strip().strip("'\"").strip()
    return h


def _set_aside(raw: pd.DataFrame, mask: Any) -> pd.DataFrame:
    """The masked input rows as read (index = input row number), without the blank
    unnamed columns a trailing delimiter leaves behind."""
    blank = [
        c
        for c in raw.columns
        if (_clean_header(c) == "" or str(c).startswith("Unnamed:"))
        and _parse.text(raw[c]).isna().all()
    ]
    return raw.drop(columns=blank).iloc[np.flatnonzero(np.asarray(mask, dtype=bool))].copy()


def _clean_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Headers cleaned (stray spaces, ``=``, quotes); blank unnamed columns dropped."""
    work = raw.reset_index(drop=True)
    work.columns = [_clean_header(c) for c in work.columns]
    blank_named = [
        i
        for i, c in enumerate(work.columns)
        if (c == "" or c.startswith("Unnamed:")) and _parse.text(work.iloc[:, i]).isna().all()
    ]
    if blank_named:
        work = work.drop(columns=work.columns[blank_named])
    return work


# ------------------------------------------------------------------------------------
# profiles and column mapping
# ------------------------------------------------------------------------------------
@cache
def _load_profile(name: str) -> dict[str, Any]:
    text = (
        resources.files("crm_analytics")
        .joinpath("profiles")
        .joinpath(f"{name}.json")
        .read_text("utf-8")
    )
    return json.loads(text)


def _choose_profile(kind: str, headers: list[str], platform: str) -> dict[str, Any]:
    if platform != "auto":
        return _load_profile(platform)
    keys = {_parse.lowercase_key(h) for h in headers}
    best, best_score = _load_profile("generic"), 0
    for name in PLATFORMS[1:-1]:
        profile = _load_profile(name)
        spec = profile.get(kind)
        if not spec:
            continue
        groups = spec.get("detect", [])
        if not groups or not all(
            any(_parse.lowercase_key(alias) in keys for alias in group) for group in groups
        ):
            continue
        score = sum(
            any(_parse.lowercase_key(a) in keys for a in aliases)
            for aliases in spec["columns"].values()
        )
        if score > best_score:
            best, best_score = profile, score
    return best


_CANONICAL = set(schema.ORDER_COLUMNS) | set(schema.CUSTOMER_COLUMNS)


def _resolve_columns(
    spec: Mapping[str, Any],
    headers: list[str],
    mapping: Mapping[str, str | None] | None,
    *,
    caller: str,
    kind: str,
) -> dict[str, str | None]:
    """Canonical role -> source header (None when the user set a role to None)."""
    by_key: dict[str, str] = {}
    for h in headers:
        by_key.setdefault(_parse.lowercase_key(h), h)
    cols: dict[str, str | None] = {}
    used: set[str] = set()
    overrides = _normalise_mapping(mapping, headers, caller)
    for role, header in overrides.items():
        cols[role] = header
        if header is not None:
            used.add(header)
    for role, aliases in spec["columns"].items():
        if role in cols:
            continue
        for alias in [*aliases, role]:
            header = by_key.get(_parse.lowercase_key(alias))
            if header is not None and header not in used:
                cols[role] = header
                used.add(header)
                break
    return cols


def _normalise_mapping(
    mapping: Mapping[str, str | None] | None, headers: list[str], caller: str
) -> dict[str, str | None]:
    if not mapping:
        return {}
    out: dict[str, str | None] = {}
    for key, value in mapping.items():
        if key in _CANONICAL:
            role, header = key, value
        elif value in _CANONICAL:
            role, header = str(value), key
        else:
            raise InvalidDataError(
                f"{caller}: mapping entry {key!r}: {value!r} names no canonical column. "
                f"Use {{canonical: header}}, canonical one of {sorted(_CANONICAL)}."
            )
        if header is not None:
            header = _clean_header(header)
            if header not in headers:
                guess = nearest(header, headers)
                raise ColumnNotFoundError(
                    f"{caller}: mapping names column {header!r} for {role!r}, which is not in the "
                    f"source.\nHeaders found: {headers}.\n"
                    + (f"Hint: did you mean {guess!r}?" if guess else "Hint: check the spelling.")
                )
        out[role] = header
    return out


def _raise_missing(roles: list[str], headers: list[str], platform: str, caller: str) -> None:
    role = roles[0]
    spec = _load_profile(platform).get("orders" if caller.endswith("orders") else "customers", {})
    aliases = spec.get("columns", {}).get(role, []) if spec else []
    guesses = [g for g in (nearest(a, headers) for a in [role, *aliases]) if g]
    guess = guesses[0] if guesses else nearest(role, headers)
    hint = f"Hint: pass mapping={{{role!r}: {guess or '<header>'!r}}}"
    if role == schema.ORDER_ID:
        hint += " (or mapping={'order_id': None} to make every row its own order)"
    others = f" Also missing: {roles[1:]}." if len(roles) > 1 else ""
    raise ColumnNotFoundError(
        f"{caller}: no column for {role!r} ({_ROLE_TEXT.get(role, role)}) in the source "
        f"(platform {platform!r}).{others}\nHeaders found: {headers}.\n"
        f"Nearest match: {guess!r}.\n{hint}."
    )


# ------------------------------------------------------------------------------------
# row rules
# ------------------------------------------------------------------------------------
def _first_reason(n: int, rules: list[tuple[pd.Series, str]]) -> np.ndarray:
    reason = np.full(n, None, dtype=object)
    for mask, text in rules:
        hit = np.asarray(mask, dtype=bool) & pd.isna(reason)
        reason[hit] = text
    return reason


def _map_status(
    series: pd.Series | None,
    spec: Mapping[str, Any],
    status_map: Mapping[str, str] | None,
    index: pd.Index,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Map export statuses to canonical ones: (status, unknown mask, blank mask)."""
    none = pd.Series(False, index=index)
    if series is None:
        return pd.Series(schema.PAID, index=index, dtype=object), none, none
    table = {_parse.lowercase_key(k): v for k, v in spec.get("status", {}).items()}
    table.update({s: s for s in schema.STATUSES})
    for k, v in (status_map or {}).items():
        check_choice(v, schema.STATUSES, name=f"status_map[{k!r}]", caller="load_orders")
        table[_parse.lowercase_key(k)] = v
    raw = _parse.text(series)
    key = raw.str.replace(r"[\s_\-]+", " ", regex=True).str.strip().str.lower()
    mapped = key.map(table)
    bad = (mapped.isna() & raw.notna()).astype(bool)
    blank = raw.isna().astype(bool)
    return mapped.fillna(schema.PAID).astype(object), bad, blank


def _allocate_order_level(
    order_values: pd.Series, order_id: pd.Series, line_value: Any
) -> pd.Series:
    """Split a per-order value repeated (or given once) on line rows over the lines."""
    total = order_values.groupby(order_id, sort=False).transform("first")
    size = order_id.groupby(order_id, sort=False).transform("size")
    if line_value is not None:
        lv = pd.Series(np.nan_to_num(line_value, nan=0.0), index=order_values.index).clip(lower=0)
        lv_sum = lv.groupby(order_id, sort=False).transform("sum")
        weight = np.where(lv_sum > 0, lv / lv_sum.where(lv_sum > 0, 1.0), 1.0 / size)
    else:
        weight = 1.0 / size
    return (total * weight).where(size > 1, order_values)


def _apply_refund_status(
    out: pd.DataFrame, values: Mapping[str, pd.Series], spec: Mapping[str, Any], keep: np.ndarray
) -> None:
    rule = spec.get("refund_status")
    if not rule:
        return
    raw_cols = values.get("_refund_status")
    if raw_cols is None:
        return
    refunded = _parse.text(raw_cols).isin(rule["refunded"]).fillna(False).to_numpy(bool)[keep]
    out.loc[refunded, schema.REFUND_AMOUNT] = np.maximum(
        out.loc[refunded, schema.REFUND_AMOUNT], out.loc[refunded, schema.AMOUNT]
    )


def _net_negative_amounts(out: pd.DataFrame) -> list[str]:
    """Negative rows are refunds: net them against their order, never count them."""
    negative = (out[schema.AMOUNT] < 0).to_numpy()
    if not negative.any():
        return []
    refund_value = -out[schema.AMOUNT].where(negative, 0.0)
    order = out[schema.ORDER_ID]
    per_order = refund_value.groupby(order, sort=False).transform("sum")
    positive = ~negative & (out[schema.AMOUNT] >= 0).to_numpy()
    base = out[schema.AMOUNT].where(positive, 0.0)
    base_sum = base.groupby(order, sort=False).transform("sum")
    rows = pd.Series(positive, index=out.index).groupby(order, sort=False).transform("sum")
    matched = negative & (rows > 0).to_numpy()
    share = np.where(
        base_sum > 0, base / base_sum.where(base_sum > 0, 1.0), 1.0 / rows.clip(lower=1)
    )
    add = np.where(positive & (per_order > 0).to_numpy(), per_order * share, 0.0)
    out[schema.REFUND_AMOUNT] = out[schema.REFUND_AMOUNT].to_numpy() + add
    out.loc[negative, schema.STATUS] = schema.REFUNDED
    out.loc[negative, schema.REFUND_AMOUNT] = np.where(
        matched[negative], 0.0, refund_value[negative]
    )
    out.loc[negative, schema.AMOUNT] = 0.0
    n_neg, n_matched = int(negative.sum()), int(matched.sum())
    return [
        f"{n_neg} negative-amount rows treated as refunds "
        f"({n_matched} netted against their orders, {n_neg - n_matched} kept as refund rows)"
    ]


def _refund_covers_paid(out: pd.DataFrame) -> None:
    amount, refund = out[schema.AMOUNT], out[schema.REFUND_AMOUNT]
    status = out[schema.STATUS]
    covered = (refund > 0) & (refund >= amount) & status.isin([schema.PAID, schema.CANCELLED])
    out.loc[covered, schema.STATUS] = schema.REFUNDED
    marked = (status == schema.REFUNDED) & (refund <= 0) & (amount > 0)
    out.loc[marked, schema.REFUND_AMOUNT] = amount[marked]


def _finish_orders(
    out: pd.DataFrame,
    work: pd.DataFrame,
    keep: np.ndarray,
    cols: Mapping[str, str | None],
    spec: Mapping[str, Any],
    pseudonymize: str | bytes | None,
    keep_personal: bool,
    notes: list[str],
) -> pd.DataFrame:
    out[schema.STATUS] = pd.Categorical(out[schema.STATUS], categories=list(schema.STATUSES))
    for col in (schema.ORDER_ID, schema.CUSTOMER_ID, schema.PRODUCT_ID, schema.PRODUCT_NAME,
                schema.CATEGORY, schema.CHANNEL):  # fmt: skip
        if col in out:
            out[col] = _parse.final_text(pd.Series(out[col], dtype="string"))
    if pseudonymize is not None:
        out[schema.CUSTOMER_ID] = _pseudonymize(out[schema.CUSTOMER_ID], pseudonymize)
    out = _order_columns(out, schema.ORDER_COLUMNS)
    extras = _extra_columns(work, keep, cols, spec, pseudonymize, keep_personal, set(out.columns))
    return pd.concat([out, extras], axis=1)


def _order_columns(frame: pd.DataFrame, canonical: tuple[str, ...]) -> pd.DataFrame:
    return frame[[c for c in canonical if c in frame.columns]]


def _extra_columns(
    work: pd.DataFrame,
    keep: np.ndarray,
    cols: Mapping[str, str | None],
    spec: Mapping[str, Any],
    pseudonymize: str | bytes | None,
    keep_personal: bool,
    taken: set[str],
) -> pd.DataFrame:
    """The export's unmapped columns, unchanged; personal ones dropped when pseudonymising."""
    mapped = {h for h in cols.values() if h is not None}
    personal = {_parse.lowercase_key(p) for p in spec.get("personal", ())}
    names = []
    for h in work.columns:
        if h in mapped:
            continue
        if pseudonymize is not None and not keep_personal:
            if _parse.lowercase_key(h) in personal or _PERSONAL_PATTERN.search(h):
                continue
        names.append(h)
    extras = work.iloc[keep][names].reset_index(drop=True)
    extras.columns = [f"{h}_source" if h in taken else h for h in names]
    return extras


def _pseudonymize(ids: pd.Series, key: str | bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, first 20 hex digits) of each distinct id.

    One HMAC per distinct customer: hashing has no vectorised form, so the loop runs
    over ``pd.factorize``'s uniques, not over rows.
    """
    secret = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    hashed = np.array(
        [
            hmac.new(secret, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:20]
            for u in uniques
        ],
        dtype=object,
    )
    values = np.where(codes >= 0, hashed[np.maximum(codes, 0)] if len(hashed) else None, None)
    return _parse.final_text(pd.Series(values, index=ids.index, dtype="string"))


def _age_reference(customers: pd.DataFrame, as_of: Any) -> pd.Timestamp | None:
    if as_of is not None:
        return pd.Timestamp(as_of)
    times = [
        customers[c].max() for c in (schema.UPDATED_TIME, schema.SIGNUP_TIME) if c in customers
    ]
    times = [t for t in times if pd.notna(t)]
    return max(times) if times else None


def _age_in_years(birthday: pd.Series, reference: pd.Timestamp) -> pd.Series:
    b = pd.to_datetime(birthday)
    years = reference.year - b.dt.year
    before_birthday = (b.dt.month > reference.month) | (
        (b.dt.month == reference.month) & (b.dt.day > reference.day)
    )
    age = (years - before_birthday.astype("int64")).astype("Int64")
    return age.where(b.notna() & (age >= 0))


def _warn_rejected(caller: str, load: _Load, loader: str) -> None:
    if not len(load.rejected):
        return
    report = load.report()
    top = ", ".join(f"{reason}: {rows}" for reason, rows in report["rows"].head(3).items())
    warnings.warn(
        f"{caller}: {len(load.rejected)} of {load.n_input} rows rejected ({top}). "
        f"See crm.{loader}(...).rejected for the rows and .report() for the counts.",
        DataQualityWarning,
        stacklevel=3,
    )


# ------------------------------------------------------------------------------------
# campaign and events tables
# ------------------------------------------------------------------------------------
__all__ += [
    "CampaignLoad",
    "EventsLoad",
    "load_campaign",
    "load_events",
    "read_campaign",
    "read_events",
]

CAMPAIGN_COLUMNS = (
    schema.CUSTOMER_ID, "campaign_id", "group", "sent_time", "opened_time", "clicked_time", "cost",
)  # fmt: skip
EVENT_COLUMNS = (
    schema.CUSTOMER_ID, "event_time", "event_type", schema.PRODUCT_ID, schema.CHANNEL, "session_id",
)  # fmt: skip
MISSING_CAMPAIGN = "missing campaign id"
MISSING_GROUP = "missing group"
BAD_GROUP = "unknown group"
BAD_SENT_TIME = "unparseable sent time"
REPEATED_TARGET = "customer repeated in campaign"
MISSING_EVENT_TIME = "missing event time"
BAD_EVENT_TIME = "unparseable event time"


@dataclass
class CampaignLoad(_Load):
    """What ``load_campaign`` read: one row per targeted customer and campaign.

    Attributes
    ----------
    campaign : pandas.DataFrame
        Columns ``customer_id``, ``campaign_id``, ``group`` (``treatment`` or
        ``control``), ``sent_time`` and, when the export has them, ``opened_time``,
        ``clicked_time``, ``cost``; then the export's other columns.
    rejected, platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    campaign: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("targets", len(self.campaign))


@dataclass
class EventsLoad(_Load):
    """What ``load_events`` read: one row per traffic event.

    Attributes
    ----------
    events : pandas.DataFrame
        Columns ``customer_id``, ``event_time`` and, when the export has them,
        ``event_type`` (``visit``, ``click``, ``cart``, ``favorite``, ``purchase``, or
        the export's own value in lower case), ``product_id``, ``channel``,
        ``session_id``; then the export's other columns.
    rejected, platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    events: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("events", len(self.events))


def read_campaign(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    campaign_id: str | None = None,
    group_map: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a campaign log (who was targeted, in which group, when sent/opened/clicked).

    The same as ``load_campaign(...).campaign``, with a ``DataQualityWarning`` when
    rows were rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz, campaign_id, group_map
        See :func:`load_campaign`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``campaign_id``, ``group``, ``sent_time`` [, ``opened_time``,
        ``clicked_time``, ``cost``], then the export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "会员名": ["tb_anna", "tb_bo", "tb_cy"],
    ...     "活动名称": ["双11召回", "双11召回", "双11召回"],
    ...     "分组": ["实验组", "实验组", "对照组"],
    ...     "发送时间": ["2024-11-01 10:00:03", "2024/11/1 10:00:05", ""],
    ...     "点击时间": ["2024-11-01 10:30:00", "", ""],
    ... })
    >>> crm.read_campaign(export)
      customer_id campaign_id      group           sent_time        clicked_time
    0     tb_anna       双11召回  treatment 2024-11-01 10:00:03 2024-11-01 10:30:00
    1       tb_bo       双11召回  treatment 2024-11-01 10:00:05                 NaT
    2       tb_cy       双11召回    control                 NaT                 NaT
    """
    load = load_campaign(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
        campaign_id=campaign_id,
        group_map=group_map,
    )
    _warn_rejected("read_campaign", load, "load_campaign")
    return load.campaign


def load_campaign(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    campaign_id: str | None = None,
    group_map: Mapping[str, str] | None = None,
) -> CampaignLoad:
    """Load a campaign log, keeping every rejected row with its reason.

    Parameters
    ----------
    source, platform, encoding, sheet_name, tz
        As in :func:`load_orders` (files, folders or DataFrames in any supported
        format and encoding). The profiles' ``campaign`` section lists the header
        aliases (English and Chinese: 会员名, 活动名称, 分组, 发送时间, 打开时间, 点击时间,
        费用, ...).
    mapping : dict, optional
        ``{canonical column: source header}`` overrides, for the columns
        ``customer_id``, ``campaign_id``, ``group``, ``sent_time``, ``opened_time``,
        ``clicked_time``, ``cost``.
    pseudonymize : str or bytes, optional
        Secret key: customer ids become the same keyed hashes as in
        :func:`load_orders` with that key, so the tables join; personal columns are
        dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.
    campaign_id : str, optional
        The campaign id for exports without a campaign column (default ``"campaign"``).
    group_map : dict, optional
        Extra ``{export value: "treatment" or "control"}`` entries for group labels
        the profile does not know.

    Returns
    -------
    CampaignLoad
        ``.campaign``, ``.rejected`` (with ``reason``), ``.report()``, ``.notes``.

    Notes
    -----
    Rejected (first reason that applies): ``duplicate`` (an exact repeat of an earlier
    row), ``missing customer id``, ``missing campaign id``, ``missing group``,
    ``unknown group``, ``unparseable sent time``, ``customer repeated in campaign``
    (a later row for a customer already in that campaign). Without a group column
    every row is ``treatment`` (and uplift cannot be measured); unreadable opened or
    clicked times are left empty and reported in ``notes``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "customer": ["ann", "bob", "bob", "cy", ""],
    ...     "campaign": ["C1", "C1", "C1", "C1", "C1"],
    ...     "variant": ["test", "holdout", "test", "vip", "test"],
    ...     "sent at": ["2024-05-01T10:00:00+08:00", "", "", "", "2024-05-01 10:00"],
    ... })
    >>> load = crm.load_campaign(export, tz="Asia/Shanghai")
    >>> load.campaign
      customer_id campaign_id      group           sent_time
    0         ann          C1  treatment 2024-05-01 10:00:00
    1         bob          C1    control                 NaT
    >>> load.report()
                                   rows  share
    reason
    customer repeated in campaign     1    0.2
    unknown group                     1    0.2
    missing customer id               1    0.2
    """
    caller = "load_campaign"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile, spec = _table_profile("campaign", list(work.columns), platform)
    cols = _table_columns(spec, list(work.columns), mapping, CAMPAIGN_COLUMNS, caller)
    if cols.get(schema.CUSTOMER_ID) is None:
        _raise_missing_table(schema.CUSTOMER_ID, spec, list(work.columns), profile, caller)
    n = len(work)
    notes: list[str] = []
    customer = _parse.parse_id(work[cols[schema.CUSTOMER_ID]])
    if cols.get("campaign_id") is not None:
        campaign = _parse.text(work[cols["campaign_id"]])
    else:
        campaign = pd.Series(campaign_id or "campaign", index=work.index, dtype="string")
        notes.append(f"no campaign column: every row is campaign {campaign_id or 'campaign'!r}")
    none = pd.Series(False, index=work.index)
    if cols.get("group") is not None:
        table = {_parse.lowercase_key(v): g for g, vs in spec.get("groups", {}).items() for v in vs}
        table.update({g: g for g in ("treatment", "control")})
        for k, v in (group_map or {}).items():
            check_choice(v, ("treatment", "control"), name=f"group_map[{k!r}]", caller=caller)
            table[_parse.lowercase_key(k)] = v
        raw_group = _parse.text(work[cols["group"]])
        group = raw_group.map(lambda v: table.get(_parse.lowercase_key(v)), na_action="ignore")
        group_missing = raw_group.isna().astype(bool)
        group_bad = (group.isna() & raw_group.notna()).astype(bool)
    else:
        group = pd.Series("treatment", index=work.index, dtype=object)
        group_missing = group_bad = none
        notes.append(
            "no group column: every row read as treatment (no control group, so uplift "
            "cannot be measured)"
        )
    zone = tz or profile.get("zone")
    times: dict[str, pd.Series] = {}
    sent_bad = none
    for role in ("sent_time", "opened_time", "clicked_time"):
        if cols.get(role) is None:
            continue
        parsed, _, bad = _parse.parse_datetime(work[cols[role]], tz=zone)
        times[role] = parsed
        if role == "sent_time":
            sent_bad = bad
        elif bad.any():
            notes.append(f"{int(bad.sum())} unreadable values in {role!r} left empty")
    if "sent_time" not in times:
        times["sent_time"] = pd.Series(pd.NaT, index=work.index, dtype="datetime64[ns]")
        notes.append("no sent time column: sent_time is empty")
    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (customer.isna(), MISSING_CUSTOMER),
            (campaign.isna(), MISSING_CAMPAIGN),
            (group_missing, MISSING_GROUP),
            (group_bad, BAD_GROUP),
            (sent_bad, BAD_SENT_TIME),
        ],
    )
    candidate = pd.isna(reason)
    pair = pd.DataFrame({"c": campaign, "k": customer})
    rows = np.flatnonzero(candidate)
    repeated = np.zeros(n, dtype=bool)
    repeated[rows[pair.iloc[rows].duplicated(keep="first").to_numpy()]] = True
    reason[repeated] = REPEATED_TARGET
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)
    out = pd.DataFrame(
        {
            schema.CUSTOMER_ID: customer.iloc[keep].to_numpy(),
            "campaign_id": campaign.iloc[keep].to_numpy(),
            "group": group.iloc[keep].to_numpy(dtype=object),
        }
    )
    for role in ("sent_time", "opened_time", "clicked_time"):
        if role in times:
            out[role] = times[role].iloc[keep].to_numpy()
    if cols.get("cost") is not None:
        cost, _, cost_bad = _parse.parse_money(work[cols["cost"]])
        if cost_bad.iloc[keep].any():
            notes.append(f"{int(cost_bad.iloc[keep].sum())} unreadable costs left empty")
        out["cost"] = cost.iloc[keep].to_numpy(dtype="float64")
    return CampaignLoad(
        campaign=_finish_table(
            out, work, keep, cols, spec, pseudonymize, keep_personal, CAMPAIGN_COLUMNS
        ),
        rejected=_rejected_rows(raw, valid, reason),
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def read_events(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> pd.DataFrame:
    """Read a traffic export (visits, clicks, add-to-cart events) into an events table.

    The same as ``load_events(...).events``, with a ``DataQualityWarning`` when rows
    were rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz
        See :func:`load_events`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``event_time`` [, ``event_type``, ``product_id``,
        ``channel``, ``session_id``], then the export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "访客ID": ["tb_anna", "tb_anna", "tb_bo"],
    ...     "行为类型": ["浏览", "加购", "pv"],
    ...     "行为时间": ["2024-06-01 20:00:00", "2024-06-01 20:03:10", "2024/6/2 9:15"],
    ...     "商品ID": ["1001", "1001", "2002"],
    ... })
    >>> crm.read_events(export)
      customer_id          event_time event_type product_id
    0     tb_anna 2024-06-01 20:00:00      visit       1001
    1     tb_anna 2024-06-01 20:03:10       cart       1001
    2       tb_bo 2024-06-02 09:15:00      visit       2002
    """
    load = load_events(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
    )
    _warn_rejected("read_events", load, "load_events")
    return load.events


def load_events(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> EventsLoad:
    """Load a traffic export, keeping every rejected row with its reason.

    Parameters
    ----------
    source, platform, encoding, sheet_name, tz
        As in :func:`load_orders`. The profiles' ``events`` section lists the header
        aliases (visitor / user / 访客ID, event / 行为类型, time / 行为时间, ...) and the
        event type values read as ``visit`` (pv, view, 浏览, 访问), ``click``, ``cart``
        (add_to_cart, 加购), ``favorite`` (收藏) and ``purchase``.
    mapping : dict, optional
        ``{canonical column: source header}`` overrides, for the columns
        ``customer_id``, ``event_time``, ``event_type``, ``product_id``, ``channel``,
        ``session_id``.
    pseudonymize : str or bytes, optional
        Secret key: ids become the same keyed hashes as in :func:`load_orders` with
        that key, so events join to orders; personal columns are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.

    Returns
    -------
    EventsLoad
        ``.events``, ``.rejected`` (with ``reason``), ``.report()``, ``.notes``.

    Notes
    -----
    Rejected (first reason that applies): ``duplicate``, ``missing customer id``,
    ``missing event time``, ``unparseable event time``. Event types the profile does
    not know are kept, in lower case.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "user_id": ["u1", "u2", "u2", ""],
    ...     "event": ["page_view", "add_to_cart", "add_to_cart", "page_view"],
    ...     "timestamp": ["2024-06-01 20:00", "2024-06-01 21:00", "2024-06-01 21:00", "2024-06-01 22:00"],
    ... })
    >>> load = crm.load_events(export)
    >>> load
    EventsLoad(platform='generic', encoding=None, rows=4: 2 events, 2 rejected [duplicate 1, missing customer id 1])
    >>> load.events
      customer_id          event_time event_type
    0          u1 2024-06-01 20:00:00      visit
    1          u2 2024-06-01 21:00:00       cart
    """
    caller = "load_events"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile, spec = _table_profile("events", list(work.columns), platform)
    cols = _table_columns(spec, list(work.columns), mapping, EVENT_COLUMNS, caller)
    for role in (schema.CUSTOMER_ID, "event_time"):
        if cols.get(role) is None:
            _raise_missing_table(role, spec, list(work.columns), profile, caller)
    n = len(work)
    notes: list[str] = []
    customer = _parse.parse_id(work[cols[schema.CUSTOMER_ID]])
    when, time_missing, time_bad = _parse.parse_datetime(
        work[cols["event_time"]], tz=tz or profile.get("zone")
    )
    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (customer.isna(), MISSING_CUSTOMER),
            (time_missing, MISSING_EVENT_TIME),
            (time_bad, BAD_EVENT_TIME),
        ],
    )
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)
    out = pd.DataFrame(
        {
            schema.CUSTOMER_ID: customer.iloc[keep].to_numpy(),
            "event_time": when.iloc[keep].to_numpy(),
        }
    )
    if cols.get("event_type") is not None:
        table = {
            _parse.lowercase_key(v): t for t, vs in spec.get("event_types", {}).items() for v in vs
        }
        raw_type = _parse.text(work[cols["event_type"]]).iloc[keep]
        key = raw_type.map(_parse.lowercase_key, na_action="ignore")
        out["event_type"] = key.map(lambda k: table.get(k, k), na_action="ignore").to_numpy()
    if cols.get(schema.PRODUCT_ID) is not None:
        out[schema.PRODUCT_ID] = (
            _parse.parse_id(work[cols[schema.PRODUCT_ID]]).iloc[keep].to_numpy()
        )
    for role in (schema.CHANNEL, "session_id"):
        if cols.get(role) is not None:
            out[role] = _parse.text(work[cols[role]]).iloc[keep].to_numpy()
    return EventsLoad(
        events=_finish_table(
            out, work, keep, cols, spec, pseudonymize, keep_personal, EVENT_COLUMNS
        ),
        rejected=_rejected_rows(raw, valid, reason),
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def _table_profile(kind: str, headers: list[str], platform: str) -> tuple[dict[str, Any], Any]:
    """The platform profile and its ``kind`` section (the generic one when it has none)."""
    profile = _choose_profile(kind, headers, platform)
    spec = profile.get(kind) or _load_profile("generic")[kind]
    return profile, spec


def _table_columns(
    spec: Mapping[str, Any],
    headers: list[str],
    mapping: Mapping[str, str | None] | None,
    canonical: tuple[str, ...],
    caller: str,
) -> dict[str, str | None]:
    """Canonical role -> source header for a campaign or events table."""
    overrides: dict[str, str | None] = {}
    for key, value in (mapping or {}).items():
        if key in canonical:
            role, header = key, value
        elif value in canonical:
            role, header = str(value), key
        else:
            raise InvalidDataError(
                f"{caller}: mapping entry {key!r}: {value!r} names no column of this table. "
                f"Use {{canonical: header}}, canonical one of {list(canonical)}."
            )
        if header is not None:
            header = _clean_header(header)
            if header not in headers:
                guess = nearest(header, headers)
                raise ColumnNotFoundError(
                    f"{caller}: mapping names column {header!r} for {role!r}, which is not in the "
                    f"source.\nHeaders found: {headers}.\n"
                    + (f"Hint: did you mean {guess!r}?" if guess else "Hint: check the spelling.")
                )
        overrides[role] = header
    taken = {h for h in overrides.values() if h is not None}
    rest = {
        "columns": {
            r: a for r, a in spec["columns"].items() if r not in overrides and r in canonical
        }
    }
    free = [h for h in headers if h not in taken]
    found = _resolve_columns(rest, free, None, caller=caller, kind="table")
    return {**overrides, **found}


def _raise_missing_table(
    role: str, spec: Mapping[str, Any], headers: list[str], profile: Mapping[str, Any], caller: str
) -> None:
    aliases = spec.get("columns", {}).get(role, [])
    guesses = [g for g in (nearest(a, headers) for a in [role, *aliases]) if g]
    guess = guesses[0] if guesses else None
    raise ColumnNotFoundError(
        f"{caller}: no column for {role!r} in the source (platform {profile['name']!r}).\n"
        f"Headers found: {headers}.\nNearest match: {guess!r}.\n"
        f"Hint: pass mapping={{{role!r}: {guess or '<header>'!r}}}."
    )


def _finish_table(
    out: pd.DataFrame,
    work: pd.DataFrame,
    keep: np.ndarray,
    cols: Mapping[str, str | None],
    spec: Mapping[str, Any],
    pseudonymize: str | bytes | None,
    keep_personal: bool,
    canonical: tuple[str, ...],
) -> pd.DataFrame:
    for col in out.columns:
        if col in (schema.CUSTOMER_ID, "campaign_id", "group", "event_type", schema.PRODUCT_ID,
                   schema.CHANNEL, "session_id"):  # fmt: skip
            out[col] = _parse.final_text(pd.Series(out[col], dtype="string"))
    if pseudonymize is not None:
        out[schema.CUSTOMER_ID] = _pseudonymize(out[schema.CUSTOMER_ID], pseudonymize)
    out = _order_columns(out, canonical)
    extras = _extra_columns(work, keep, cols, spec, pseudonymize, keep_personal, set(out.columns))
    return pd.concat([out, extras], axis=1)


def _rejected_rows(raw: pd.DataFrame, valid: np.ndarray, reason: np.ndarray) -> pd.DataFrame:
    """The input rows that were not kept, as read, with their ``reason``."""
    rejected = _set_aside(raw, ~valid)
    rejected["reason"] = reason[~valid]
    return rejected


# ------------------------------------------------------------------------------------
# refunds, reviews and points tables
# ------------------------------------------------------------------------------------
__all__ += [
    "PointsLoad",
    "RefundsLoad",
    "ReviewsLoad",
    "load_points",
    "load_refunds",
    "load_reviews",
    "read_points",
    "read_refunds",
    "read_reviews",
]

REFUND_COLUMNS = (
    "refund_id", schema.ORDER_ID, schema.CUSTOMER_ID, "refund_time", schema.REFUND_AMOUNT,
    "reason", "refund_status", schema.PRODUCT_ID,
)  # fmt: skip
REVIEW_COLUMNS = (
    schema.ORDER_ID, schema.CUSTOMER_ID, schema.PRODUCT_ID, "review_time", "rating", "text",
)  # fmt: skip
POINTS_COLUMNS = (
    schema.CUSTOMER_ID, "points_time", "points", "movement", "reason", "expire_time",
    schema.ORDER_ID,
)  # fmt: skip
#: Canonical refund statuses (``refund_status``); other values are kept in lower case.
REFUND_STATUSES = ("succeeded", "pending", "closed")
#: Canonical point movements (``movement``).
MOVEMENTS = ("earned", "redeemed", "expired", "adjusted")

MISSING_REFUND_AMOUNT = "missing refund amount"
BAD_REFUND_AMOUNT = "unparseable refund amount"
BAD_REFUND_TIME = "unparseable refund time"
REPEATED_REFUND = "refund id repeated"
MISSING_REVIEWER = "missing order and customer id"
EMPTY_REVIEW = "no rating and no text"
BAD_RATING = "unreadable rating"
RATING_RANGE = "rating outside 1-5"
BAD_REVIEW_TIME = "unparseable review time"
MISSING_POINTS_TIME = "missing points time"
BAD_POINTS_TIME = "unparseable points time"
MISSING_POINTS = "missing points"
BAD_POINTS = "unparseable points"
_STAR = "★"


@dataclass
class RefundsLoad(_Load):
    """What ``load_refunds`` read: one row per refund (after-sales) request.

    Attributes
    ----------
    refunds : pandas.DataFrame
        Columns ``order_id``, ``refund_amount`` and, when the export has them,
        ``refund_id``, ``customer_id``, ``refund_time``, ``reason`` (the free text as
        written), ``refund_status`` (``succeeded``, ``pending``, ``closed``, or the
        export's own value in lower case), ``product_id``; then the export's other
        columns.
    rejected, platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    refunds: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("refunds", len(self.refunds))


@dataclass
class ReviewsLoad(_Load):
    """What ``load_reviews`` read: one row per review.

    Attributes
    ----------
    reviews : pandas.DataFrame
        Columns (those the export has) ``order_id``, ``customer_id``, ``product_id``,
        ``review_time``, ``rating`` (float, 1-5; 好评/中评/差评 read as 5/3/1) and
        ``text``; then the export's other columns.
    rejected, platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("reviews", len(self.reviews))


@dataclass
class PointsLoad(_Load):
    """What ``load_points`` read: one row per points movement (积分流水).

    Attributes
    ----------
    points : pandas.DataFrame
        Columns ``customer_id``, ``points_time``, ``points`` (signed: earned > 0,
        redeemed and expired < 0), ``movement`` (``earned``, ``redeemed``,
        ``expired``, ``adjusted``) and, when the export has them, ``reason``,
        ``expire_time``, ``order_id``; then the export's other columns.
    rejected, platform, encoding, mapping, n_input, notes
        As in ``OrdersLoad``.
    """

    points: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return self._describe("movements", len(self.points))


def read_refunds(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> pd.DataFrame:
    """Read a refunds (after-sales, 退款管理) export into a refunds table.

    The same as ``load_refunds(...).refunds``, with a ``DataQualityWarning`` when rows
    were rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz
        See :func:`load_refunds`.

    Returns
    -------
    pandas.DataFrame
        ``order_id``, ``refund_amount`` [, ``refund_id``, ``customer_id``,
        ``refund_time``, ``reason``, ``refund_status``, ``product_id``], then the
        export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "退款编号": ["R1", "R2"],
    ...     "订单编号": ['="4031234567890123456"', "4031234567890123457"],
    ...     "退款金额": ["¥59.00", "120"],
    ...     "退款原因": ["质量问题", "七天无理由退换货"],
    ...     "申请时间": ["2024-06-03 10:00:00", "2024/6/5 21:30"],
    ...     "退款状态": ["退款成功", "退款关闭"],
    ... })
    >>> crm.read_refunds(export)[["order_id", "refund_amount", "reason", "refund_status"]]
                  order_id  refund_amount    reason refund_status
    0  4031234567890123456           59.0      质量问题     succeeded
    1  4031234567890123457          120.0  七天无理由退换货        closed
    """
    load = load_refunds(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
    )
    _warn_rejected("read_refunds", load, "load_refunds")
    return load.refunds


def load_refunds(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> RefundsLoad:
    """Load a refunds export, keeping every rejected row with its reason.

    Parameters
    ----------
    source, platform, encoding, sheet_name, tz
        As in :func:`load_orders`. The profiles' ``refunds`` section lists the header
        aliases (退款编号, 订单编号, 退款金额, 退款原因, 申请时间, 退款状态; refund id,
        order, amount, reason, created at, status, ...) and the status values read as
        ``succeeded`` (退款成功), ``pending`` (退款中, 等待卖家同意, ...) and ``closed``
        (退款关闭, 卖家拒绝退款, ...).
    mapping : dict, optional
        ``{canonical column: source header}`` overrides, for the columns
        ``refund_id``, ``order_id``, ``customer_id``, ``refund_time``,
        ``refund_amount``, ``reason``, ``refund_status``, ``product_id``.
    pseudonymize : str or bytes, optional
        Secret key: customer ids become the same keyed hashes as in
        :func:`load_orders` with that key; personal columns are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.

    Returns
    -------
    RefundsLoad
        ``.refunds``, ``.rejected`` (with ``reason``), ``.report()``, ``.notes``.

    Notes
    -----
    Rejected (first reason that applies): ``duplicate``, ``missing order id``,
    ``missing refund amount``, ``unparseable refund amount``, ``unparseable refund
    time``, ``refund id repeated`` (a later row with a refund id already read). An
    empty refund time is kept (NaT); a negative amount is read as its size (some
    exports sign refunds), with a note. The reason text is kept as written:
    ``crm.service.normalize_reasons`` maps it to canonical groups.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "refund id": ["R1", "R2", "R2", "R3"],
    ...     "order": ["1001", "1002", "1002", ""],
    ...     "amount": ["-12.50", "8", "8", "5"],
    ...     "reason": ["arrived damaged", "wrong size", "wrong size", "changed my mind"],
    ... })
    >>> load = crm.load_refunds(export)
    >>> load
    RefundsLoad(platform='generic', encoding=None, rows=4: 2 refunds, 2 rejected [duplicate 1, missing order id 1])
    >>> load.refunds
      refund_id order_id  refund_amount           reason
    0        R1     1001           12.5  arrived damaged
    1        R2     1002            8.0       wrong size
    """
    caller = "load_refunds"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile, spec = _table_profile("refunds", list(work.columns), platform)
    cols = _table_columns(spec, list(work.columns), mapping, REFUND_COLUMNS, caller)
    for role in (schema.ORDER_ID, schema.REFUND_AMOUNT):
        if cols.get(role) is None:
            _raise_missing_table(role, spec, list(work.columns), profile, caller)
    n = len(work)
    notes: list[str] = []
    none = pd.Series(False, index=work.index)
    order = _parse.parse_id(work[cols[schema.ORDER_ID]])
    amount, amount_missing, amount_bad = _parse.parse_money(work[cols[schema.REFUND_AMOUNT]])
    time_bad = none
    when = None
    if cols.get("refund_time") is not None:
        when, _, time_bad = _parse.parse_datetime(
            work[cols["refund_time"]], tz=tz or profile.get("zone")
        )
    refund_id = None
    if cols.get("refund_id") is not None:
        refund_id = _parse.parse_id(work[cols["refund_id"]])
    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (order.isna(), MISSING_ORDER_ID),
            (amount_missing, MISSING_REFUND_AMOUNT),
            (amount_bad, BAD_REFUND_AMOUNT),
            (time_bad, BAD_REFUND_TIME),
        ],
    )
    if refund_id is not None:
        reason[_repeated_key(refund_id, reason)] = REPEATED_REFUND
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)
    values = amount.iloc[keep].to_numpy(dtype="float64")
    if (values < 0).any():
        notes.append(f"{int((values < 0).sum())} negative refund amounts read as their size")
    out = pd.DataFrame(
        {
            schema.ORDER_ID: order.iloc[keep].to_numpy(),
            schema.REFUND_AMOUNT: np.abs(values),
        }
    )
    if refund_id is not None:
        out["refund_id"] = refund_id.iloc[keep].to_numpy()
    if cols.get(schema.CUSTOMER_ID) is not None:
        out[schema.CUSTOMER_ID] = (
            _parse.parse_id(work[cols[schema.CUSTOMER_ID]]).iloc[keep].to_numpy()
        )
    if when is not None:
        out["refund_time"] = when.iloc[keep].to_numpy()
    if cols.get("reason") is not None:
        out["reason"] = _parse.text(work[cols["reason"]]).iloc[keep].to_numpy()
    if cols.get("refund_status") is not None:
        table = _value_table(profile, "refunds", "refund_statuses")
        table.update({s: s for s in REFUND_STATUSES})
        out["refund_status"] = _map_values(work[cols["refund_status"]].iloc[keep], table)
    if cols.get(schema.PRODUCT_ID) is not None:
        out[schema.PRODUCT_ID] = (
            _parse.parse_id(work[cols[schema.PRODUCT_ID]]).iloc[keep].to_numpy()
        )
    return RefundsLoad(
        refunds=_finish_service_table(
            out, work, keep, cols, spec, pseudonymize, keep_personal, REFUND_COLUMNS
        ),
        rejected=_rejected_rows(raw, valid, reason),
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def read_reviews(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    rating_map: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Read a reviews export (评价 / product reviews) into a reviews table.

    The same as ``load_reviews(...).reviews``, with a ``DataQualityWarning`` when rows
    were rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz, rating_map
        See :func:`load_reviews`.

    Returns
    -------
    pandas.DataFrame
        [``order_id``, ``customer_id``, ``product_id``, ``review_time``], ``rating``
        (1-5), ``text``, then the export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "订单编号": ["4031234567890123456", "4031234567890123457"],
    ...     "买家": ["tb_anna", "tb_bo"],
    ...     "评价": ["好评", "差评"],
    ...     "评价内容": ["包装完好，没有破损", "质量差，有破损"],
    ...     "评价时间": ["2024-06-08 12:00:00", "2024-06-09 08:30:00"],
    ... })
    >>> crm.read_reviews(export)[["customer_id", "rating", "text"]]
      customer_id  rating       text
    0     tb_anna     5.0  包装完好，没有破损
    1       tb_bo     1.0    质量差，有破损
    """
    load = load_reviews(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
        rating_map=rating_map,
    )
    _warn_rejected("read_reviews", load, "load_reviews")
    return load.reviews


def load_reviews(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
    rating_map: Mapping[str, float] | None = None,
) -> ReviewsLoad:
    """Load a reviews export, keeping every rejected row with its reason.

    Parameters
    ----------
    source, platform, encoding, sheet_name, tz
        As in :func:`load_orders`. The profiles' ``reviews`` section lists the header
        aliases (订单编号, 买家, 评分 / 评价, 评价内容, 评价时间; rating, body, created_at,
        product_handle, ...) and the rating labels (好评 5, 中评 3, 差评 1, ★★★★ 4,
        "4星" 4, positive / neutral / negative, ...).
    mapping : dict, optional
        ``{canonical column: source header}`` overrides, for the columns
        ``order_id``, ``customer_id``, ``product_id``, ``review_time``, ``rating``,
        ``text``.
    pseudonymize : str or bytes, optional
        Secret key: customer ids become the same keyed hashes as in
        :func:`load_orders` with that key; personal columns are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.
    rating_map : dict, optional
        Extra ``{export label: rating 1-5}`` entries for labels the profile does
        not know.

    Returns
    -------
    ReviewsLoad
        ``.reviews``, ``.rejected`` (with ``reason``), ``.report()``, ``.notes``.

    Notes
    -----
    Ratings are numbers 1-5 (``4``, ``4.5``, ``4/5``, ``4 stars``), star strings, or
    labels. Rejected (first reason that applies): ``duplicate``, ``missing order and
    customer id`` (a review must belong to an order or a customer), ``no rating and no
    text``, ``unreadable rating``, ``rating outside 1-5``, ``unparseable review
    time``. A review without a rating but with text is kept (rating NaN).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "order_id": ["1001", "1002", "1003", "1004"],
    ...     "rating": ["5", "2 stars", "11", "★★★"],
    ...     "body": ["Love it", "Arrived late", "", "ok"],
    ... })
    >>> load = crm.load_reviews(export)
    >>> load
    ReviewsLoad(platform='generic', encoding=None, rows=4: 3 reviews, 1 rejected [rating outside 1-5 1])
    >>> load.reviews
      order_id  rating          text
    0     1001     5.0       Love it
    1     1002     2.0  Arrived late
    2     1004     3.0            ok
    """
    caller = "load_reviews"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile, spec = _table_profile("reviews", list(work.columns), platform)
    cols = _table_columns(spec, list(work.columns), mapping, REVIEW_COLUMNS, caller)
    if cols.get(schema.ORDER_ID) is None and cols.get(schema.CUSTOMER_ID) is None:
        _raise_missing_table(schema.ORDER_ID, spec, list(work.columns), profile, caller)
    if cols.get("rating") is None and cols.get("text") is None:
        _raise_missing_table("rating", spec, list(work.columns), profile, caller)
    n = len(work)
    notes: list[str] = []
    none = pd.Series(False, index=work.index)
    missing_id = pd.Series(True, index=work.index)
    ids: dict[str, pd.Series] = {}
    for role in (schema.ORDER_ID, schema.CUSTOMER_ID, schema.PRODUCT_ID):
        if cols.get(role) is not None:
            ids[role] = _parse.parse_id(work[cols[role]])
            if role != schema.PRODUCT_ID:
                missing_id &= ids[role].isna()
    rating = pd.Series(np.nan, index=work.index)
    rating_bad = rating_range = none
    if cols.get("rating") is not None:
        table = {k: float(v) for k, v in _value_table(profile, "reviews", "ratings").items()}
        for k, v in (rating_map or {}).items():
            table[_parse.lowercase_key(k)] = float(v)
        rating, rating_bad = _parse_rating(work[cols["rating"]], table)
        rating_range = (rating.notna() & ((rating < 1) | (rating > 5))).astype(bool)
    text = (
        _parse.text(work[cols["text"]])
        if cols.get("text") is not None
        else pd.Series(pd.NA, index=work.index, dtype="string")
    )
    empty = (rating.isna() & ~rating_bad & text.isna()).astype(bool)
    time_bad = none
    when = None
    if cols.get("review_time") is not None:
        when, _, time_bad = _parse.parse_datetime(
            work[cols["review_time"]], tz=tz or profile.get("zone")
        )
    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (missing_id, MISSING_REVIEWER),
            (empty, EMPTY_REVIEW),
            (rating_bad, BAD_RATING),
            (rating_range, RATING_RANGE),
            (time_bad, BAD_REVIEW_TIME),
        ],
    )
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)
    out = pd.DataFrame({role: ids[role].iloc[keep].to_numpy() for role in ids})
    if when is not None:
        out["review_time"] = when.iloc[keep].to_numpy()
    out["rating"] = rating.iloc[keep].to_numpy(dtype="float64")
    if cols.get("rating") is None:
        notes.append("no rating column: rating is empty (text only)")
    out["text"] = text.iloc[keep].to_numpy()
    return ReviewsLoad(
        reviews=_finish_service_table(
            out, work, keep, cols, spec, pseudonymize, keep_personal, REVIEW_COLUMNS
        ),
        rejected=_rejected_rows(raw, valid, reason),
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def read_points(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> pd.DataFrame:
    """Read a points ledger export (积分流水) into a points table.

    The same as ``load_points(...).points``, with a ``DataQualityWarning`` when rows
    were rejected.

    Parameters
    ----------
    source, platform, mapping, encoding, sheet_name, pseudonymize, keep_personal, tz
        See :func:`load_points`.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``points_time``, ``points`` (signed), ``movement``
        [, ``reason``, ``expire_time``, ``order_id``], then the export's other columns.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "会员名": ["tb_anna", "tb_anna", "tb_anna"],
    ...     "变动时间": ["2024-01-05 10:00:00", "2024-03-01 09:00:00", "2024-12-31 23:59:59"],
    ...     "积分变动": ["+120", "-50", "20"],
    ...     "变动类型": ["购物获得", "兑换", "过期"],
    ... })
    >>> crm.read_points(export)
      customer_id         points_time  points  movement
    0     tb_anna 2024-01-05 10:00:00   120.0    earned
    1     tb_anna 2024-03-01 09:00:00   -50.0  redeemed
    2     tb_anna 2024-12-31 23:59:59   -20.0   expired
    """
    load = load_points(
        source,
        platform=platform,
        mapping=mapping,
        encoding=encoding,
        sheet_name=sheet_name,
        pseudonymize=pseudonymize,
        keep_personal=keep_personal,
        tz=tz,
    )
    _warn_rejected("read_points", load, "load_points")
    return load.points


def load_points(
    source: Any,
    *,
    platform: str = "auto",
    mapping: Mapping[str, str | None] | None = None,
    encoding: str | None = None,
    sheet_name: str | int | None = None,
    pseudonymize: str | bytes | None = None,
    keep_personal: bool = False,
    tz: str | None = None,
) -> PointsLoad:
    """Load a points ledger export, keeping every rejected row with its reason.

    Parameters
    ----------
    source, platform, encoding, sheet_name, tz
        As in :func:`load_orders`. The profiles' ``points`` section lists the header
        aliases (会员名, 变动时间, 积分变动, 变动类型, 变动原因, 过期时间; customer, time,
        points, type, reason, expires_at, ...) and the movement values read as
        ``earned`` (获得, 赠送, 签到, earn, ...), ``redeemed`` (兑换, 抵扣, 使用, redeem,
        ...), ``expired`` (过期, 清零, expire, ...) and ``adjusted`` (调整, ...).
    mapping : dict, optional
        ``{canonical column: source header}`` overrides, for the columns
        ``customer_id``, ``points_time``, ``points``, ``movement``, ``reason``,
        ``expire_time``, ``order_id``.
    pseudonymize : str or bytes, optional
        Secret key: customer ids become the same keyed hashes as in
        :func:`load_orders` with that key, so the ledger joins the customers;
        personal columns are dropped.
    keep_personal : bool, default=False
        Keep personal columns even when pseudonymising.

    Returns
    -------
    PointsLoad
        ``.points``, ``.rejected`` (with ``reason``), ``.report()``, ``.notes``.

    Notes
    -----
    ``points`` is signed: exports that write every movement as a positive number
    with a type column get redeemed and expired movements negated. The movement is
    read from the type column (then the reason, when there is no type column or its
    value is unknown), else from the sign: positive earned, negative redeemed.
    Rejected (first reason that applies): ``duplicate``, ``missing customer id``,
    ``missing points time``, ``unparseable points time``, ``missing points``,
    ``unparseable points``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics as crm
    >>> export = pd.DataFrame({
    ...     "customer": ["ann", "ann", "bob", "bob"],
    ...     "date": ["2024-01-01", "2024-02-01", "2024-01-15", ""],
    ...     "points": ["100", "30", "abc", "10"],
    ...     "type": ["earn", "redeem", "earn", "earn"],
    ... })
    >>> load = crm.load_points(export)
    >>> load
    PointsLoad(platform='generic', encoding=None, rows=4: 2 movements, 2 rejected [unparseable points 1, missing points time 1])
    >>> load.points
      customer_id points_time  points  movement
    0         ann  2024-01-01   100.0    earned
    1         ann  2024-02-01   -30.0  redeemed
    """
    caller = "load_points"
    check_choice(platform, PLATFORMS, name="platform", caller=caller)
    raw, used_encoding = _read_source(
        source, encoding=encoding, sheet_name=sheet_name, caller=caller
    )
    work = _clean_frame(raw)
    profile, spec = _table_profile("points", list(work.columns), platform)
    cols = _table_columns(spec, list(work.columns), mapping, POINTS_COLUMNS, caller)
    for role in (schema.CUSTOMER_ID, "points_time", "points"):
        if cols.get(role) is None:
            _raise_missing_table(role, spec, list(work.columns), profile, caller)
    n = len(work)
    notes: list[str] = []
    zone = tz or profile.get("zone")
    customer = _parse.parse_id(work[cols[schema.CUSTOMER_ID]])
    when, time_missing, time_bad = _parse.parse_datetime(work[cols["points_time"]], tz=zone)
    points, points_missing, points_bad = _parse.parse_money(work[cols["points"]])
    duplicate = pd.Series(raw.duplicated(keep="first").to_numpy(), index=work.index)
    reason = _first_reason(
        n,
        [
            (duplicate, DUPLICATE),
            (customer.isna(), MISSING_CUSTOMER),
            (time_missing, MISSING_POINTS_TIME),
            (time_bad, BAD_POINTS_TIME),
            (points_missing, MISSING_POINTS),
            (points_bad, BAD_POINTS),
        ],
    )
    valid = pd.isna(reason)
    keep = np.flatnonzero(valid)
    value = points.iloc[keep].to_numpy(dtype="float64")
    table = _value_table(profile, "points", "movements")
    table.update({m: m for m in MOVEMENTS})
    movement = pd.Series(None, index=range(len(keep)), dtype=object)
    for role in ("movement", "reason"):
        if cols.get(role) is not None:
            found = _label_in_text(work[cols[role]].iloc[keep], table)
            movement = movement.fillna(pd.Series(found, index=movement.index))
    sign = pd.Series(np.where(value < 0, "redeemed", "earned"), index=movement.index)
    movement = np.array(movement.fillna(sign).to_numpy(dtype=object), copy=True)
    outflow = np.isin(movement, ("redeemed", "expired")) & (value > 0)
    if outflow.any():
        notes.append(
            f"{int(outflow.sum())} redeemed or expired movements written as positive negated"
        )
    inflow = (movement == "earned") & (value < 0)
    if inflow.any():
        notes.append(f"{int(inflow.sum())} negative movements typed as earned read as adjusted")
        movement[inflow] = "adjusted"
    out = pd.DataFrame(
        {
            schema.CUSTOMER_ID: customer.iloc[keep].to_numpy(),
            "points_time": when.iloc[keep].to_numpy(),
            "points": np.where(outflow, -value, value),
            "movement": movement,
        }
    )
    if cols.get("reason") is not None:
        out["reason"] = _parse.text(work[cols["reason"]]).iloc[keep].to_numpy()
    if cols.get("expire_time") is not None:
        expire, _, expire_bad = _parse.parse_datetime(work[cols["expire_time"]], tz=zone)
        if expire_bad.iloc[keep].any():
            notes.append(f"{int(expire_bad.iloc[keep].sum())} unreadable expire times left empty")
        out["expire_time"] = expire.iloc[keep].to_numpy()
    if cols.get(schema.ORDER_ID) is not None:
        out[schema.ORDER_ID] = _parse.parse_id(work[cols[schema.ORDER_ID]]).iloc[keep].to_numpy()
    return PointsLoad(
        points=_finish_service_table(
            out, work, keep, cols, spec, pseudonymize, keep_personal, POINTS_COLUMNS
        ),
        rejected=_rejected_rows(raw, valid, reason),
        platform=profile["name"],
        encoding=used_encoding,
        mapping={role: header for role, header in cols.items() if header is not None},
        n_input=n,
        notes=notes,
    )


def _repeated_key(key: pd.Series, reason: np.ndarray) -> np.ndarray:
    """Rows (not yet rejected) whose non-empty key repeats an earlier such row."""
    candidate = pd.isna(reason) & key.notna().to_numpy()
    rows = np.flatnonzero(candidate)
    repeated = np.zeros(len(reason), dtype=bool)
    repeated[rows[key.iloc[rows].duplicated(keep="first").to_numpy()]] = True
    return repeated


def _value_table(profile: Mapping[str, Any], kind: str, key: str) -> dict[str, Any]:
    """``{normalised export value: canonical value}`` from the generic and platform lists."""
    table: dict[str, Any] = {}
    for source in (_load_profile("generic").get(kind, {}), profile.get(kind) or {}):
        for canonical, labels in source.get(key, {}).items():
            table.update({_parse.lowercase_key(label): canonical for label in labels})
    return table


def _map_values(values: pd.Series, table: Mapping[str, Any], *, keep_unknown: bool = True) -> Any:
    """Map export labels through ``table``; unknown ones kept in lower case (or None)."""
    key = _parse.text(values).map(_parse.lowercase_key, na_action="ignore")
    mapped = key.map(lambda k: table.get(k, k if keep_unknown else None), na_action="ignore")
    return mapped.to_numpy(dtype=object)


def _label_in_text(values: pd.Series, table: Mapping[str, Any]) -> Any:
    """Canonical value of the whole label, else of the first known label inside the text."""
    exact = _map_values(values, table, keep_unknown=False)
    labels = sorted(table, key=len, reverse=True)
    if not labels:
        return exact
    parts = [
        rf"\b{re.escape(label)}\b" if label.isascii() else re.escape(label) for label in labels
    ]
    key = _parse.text(values).map(_parse.lowercase_key, na_action="ignore").astype("string")
    found = key.str.extract(f"({'|'.join(parts)})", expand=False)
    inside = found.map(table.get, na_action="ignore").to_numpy(dtype=object)
    return np.where(pd.isna(exact), inside, exact)


def _parse_rating(values: pd.Series, table: Mapping[str, float]) -> tuple[pd.Series, pd.Series]:
    """Ratings from numbers, ``4/5``, ``4 stars``, ``★★★★`` or labels; (rating, unreadable)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64"), pd.Series(False, index=values.index)
    t = _parse.text(values)
    key = t.map(_parse.lowercase_key, na_action="ignore")
    out = key.map(table).astype("float64")
    stars = t.str.fullmatch(f"{_STAR}+\\s*(?:☆*)").fillna(False).astype(bool)
    out = out.fillna(t.str.count(_STAR).where(stars).astype("float64"))
    number = t.str.extract(
        r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*5|分|星|颗星|stars?|points?)?\s*$", expand=False
    )
    out = out.fillna(pd.to_numeric(number.astype(object), errors="coerce").astype("float64"))
    bad = (out.isna() & t.notna()).astype(bool)
    return out, bad


def _finish_service_table(
    out: pd.DataFrame,
    work: pd.DataFrame,
    keep: np.ndarray,
    cols: Mapping[str, str | None],
    spec: Mapping[str, Any],
    pseudonymize: str | bytes | None,
    keep_personal: bool,
    canonical: tuple[str, ...],
) -> pd.DataFrame:
    for col in out.columns:
        if col in ("refund_id", schema.ORDER_ID, schema.CUSTOMER_ID, schema.PRODUCT_ID, "reason",
                   "refund_status", "text", "movement"):  # fmt: skip
            out[col] = _parse.final_text(pd.Series(out[col], dtype="string"))
    if pseudonymize is not None and schema.CUSTOMER_ID in out:
        out[schema.CUSTOMER_ID] = _pseudonymize(out[schema.CUSTOMER_ID], pseudonymize)
    out = _order_columns(out, canonical)
    extras = _extra_columns(work, keep, cols, spec, pseudonymize, keep_personal, set(out.columns))
    return pd.concat([out, extras], axis=1)
