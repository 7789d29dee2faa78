"""Data sets to learn, test and demonstrate with.

Two kinds of data:

* The **sample shop** (:func:`load_sample`, :func:`load_sample_customers`,
  :func:`load_sample_campaign`): two years (2023-2024) of an invented Chinese
  marketplace shop with about 5,000 buyers, 60 products in 8 categories, four sales
  channels, unpaid and cancelled orders, partial and full refunds, seasonality (618,
  Double 11) and a win-back campaign with a control group. It is simulated by
  ``scripts/make_sample_data.py`` with a fixed seed and ships inside the package, in the
  canonical schema, and as a raw Taobao seller-centre export (``sample_path("taobao")``)
  to try :func:`crm_analytics.read_orders` on.
* The **CDNOW** data (:func:`load_cdnow`, :func:`load_cdnow_summary`): the real
  transactions of the CDNOW music store's 1997 cohort used throughout the buy-till-you-die
  literature (Fader, Hardie & Lee 2005), read from the files that the ``lifetimes``
  package ships, without importing ``lifetimes``.

Every loader returns a new pandas DataFrame; the files are never changed.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .. import schema as S
from ..exceptions import InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "load_cdnow",
    "load_cdnow_summary",
    "load_sample",
    "load_sample_campaign",
    "load_sample_customers",
    "sample_path",
]

#: Bundled files by short name (``sample_path`` also accepts the file names).
_SAMPLE_FILES: dict[str, str] = {
    "orders": "sample_orders.parquet",
    "customers": "sample_customers.parquet",
    "campaign": "sample_campaign.parquet",
    "taobao": "taobao_orders.csv",
}
_CDNOW_FILES: dict[str, str] = {"master": "CDNOW_master.txt", "sample": "CDNOW_sample.txt"}
_CDNOW_SUMMARY_FILE = "cdnow_customers_summary.csv"

_TEXT_ORDER_COLUMNS = (
    S.ORDER_ID,
    S.CUSTOMER_ID,
    S.PRODUCT_ID,
    S.PRODUCT_NAME,
    S.CATEGORY,
    S.CHANNEL,
)
_MONEY_ORDER_COLUMNS = (S.AMOUNT, S.REFUND_AMOUNT, S.UNIT_PRICE)
_TIME_ORDER_COLUMNS = (S.ORDER_TIME, S.PAID_TIME)


def sample_path(name: str) -> Path:
    """Return the path of a file bundled with the package.

    Parameters
    ----------
    name : str
        One of ``"orders"`` (``sample_orders.parquet``), ``"customers"``
        (``sample_customers.parquet``), ``"campaign"`` (``sample_campaign.parquet``) or
        ``"taobao"`` (``taobao_orders.csv``: the sample's orders as a Taobao
        seller-centre export, GB18030-encoded, one row per order, with seven broken rows
        for the loader to reject). The file name itself is accepted too.

    Returns
    -------
    pathlib.Path
        Path of the file inside the installed package.

    Raises
    ------
    InvalidDataError
        If ``name`` is not one of the bundled files.

    See Also
    --------
    load_sample : the sample orders, already in the canonical schema.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> path = crm.datasets.sample_path("taobao")
    >>> path.name
    'taobao_orders.csv'
    >>> with open(path, encoding="gb18030") as f:
    ...     print(f.readline().rstrip())
    订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,退款金额,收货人姓名,联系手机,收货地址,

    Load it as canonical orders with ``crm.read_orders(path)``.
    """
    file_name = _SAMPLE_FILES.get(name, name)
    if not isinstance(name, str) or file_name not in _SAMPLE_FILES.values():
        raise InvalidDataError(
            f"sample_path: no bundled file called {name!r}.\n"
            f"Available names: {list(_SAMPLE_FILES)} "
            f"(or the file names {list(_SAMPLE_FILES.values())}).\n"
            'Hint: sample_path("taobao") is the raw Taobao export, '
            'sample_path("orders") the canonical orders.'
        )
    resource = importlib.resources.files(__name__) / "data" / file_name
    return Path(str(resource))


def load_sample() -> pd.DataFrame:
    """Load the sample shop's orders, one row per order line, in the canonical schema.

    Two years (2023-01-01 to 2024-12-31) of an invented Chinese marketplace shop: about
    5,000 buyers (about two thirds buy once), 60 products in 8 categories, channels
    淘宝 / 天猫 / 抖音 / 小程序, seasonality with 618 and Double 11 peaks, and a win-back
    campaign in August 2024 (see :func:`load_sample_campaign`) whose treatment group
    buys more afterwards. Statuses: ``unpaid`` (about 6% of orders), ``cancelled``
    (about 2.5%), ``refunded`` (about 3%, ``refund_amount == amount``) and ``paid``
    (about 4.5% of them with a partial refund on one line). Purchases are the ``paid``
    rows valued at ``amount - refund_amount``.

    Returns
    -------
    pandas.DataFrame
        One row per order line, sorted by ``order_time``, with the columns

        - ``order_id`` (str): 19-digit order number
        - ``customer_id`` (str): buyer nick
        - ``order_time`` (datetime64[ns]): when the order was placed
        - ``amount`` (float): paid for the line after the order's coupon, before refunds
        - ``status`` (category): ``paid``, ``unpaid``, ``cancelled`` or ``refunded``
        - ``refund_amount`` (float): money returned for the line (0 when none)
        - ``paid_time`` (datetime64[ns]): a few minutes after ``order_time`` for paid and
          refunded orders, NaT for unpaid and cancelled ones
        - ``product_id``, ``product_name``, ``category`` (str): what was bought
        - ``quantity`` (int64): items in the line
        - ``unit_price`` (float): price per item on that day (before the coupon)
        - ``channel`` (str): 淘宝, 天猫, 抖音 or 小程序

    See Also
    --------
    load_sample_customers : the shop's members.
    load_sample_campaign : the win-back campaign and its control group.
    sample_path : the same orders as a raw Taobao export.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> orders = crm.datasets.load_sample()
    >>> orders.shape
    (13976, 13)
    >>> orders[["order_id", "order_time", "amount", "status", "quantity"]].head(3)
                  order_id          order_time  amount status  quantity
    0  3645984059678557531 2023-01-01 03:44:42    29.9   paid         1
    1  3725446868007480629 2023-01-01 17:21:20   129.0   paid         1
    2  1619720899925175263 2023-01-01 23:05:04    39.9   paid         1
    >>> orders.drop_duplicates("order_id")["status"].value_counts()
    status
    paid         8115
    unpaid        602
    refunded      277
    cancelled     247
    Name: count, dtype: int64
    """
    import pandas as pd

    frame = pd.read_parquet(sample_path("orders"))
    return _canonical_orders(frame)


def load_sample_customers() -> pd.DataFrame:
    """Load the sample shop's members, one row per customer.

    Every buyer of :func:`load_sample` plus about 10% registered members who never
    ordered. ``customer_id`` joins to the orders.

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by ``signup_time``, with the columns

        - ``customer_id`` (str)
        - ``gender`` (str): ``female``, ``male`` or ``unknown``
        - ``birthday`` (datetime64[ns]): NaT when the member did not give it
        - ``region`` (str): province, e.g. 广东省
        - ``city`` (str): e.g. 深圳市
        - ``member_level`` (str): 普通会员 < 高级会员 < VIP会员 < 至尊VIP会员, by net spend
        - ``points`` (int64): points balance at the end of 2024
        - ``signup_time`` (datetime64[ns]): when the customer joined the membership
        - ``tags`` (str): the shop's tags separated by ``;`` (e.g. ``美妆达人;高价值``),
          missing when none

    See Also
    --------
    load_sample : the orders of these customers.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> customers = crm.datasets.load_sample_customers()
    >>> customers.shape
    (5560, 9)
    >>> customers["gender"].value_counts()
    gender
    female     3380
    male       1593
    unknown     587
    Name: count, dtype: int64
    """
    import pandas as pd

    frame = pd.read_parquet(sample_path("customers"))
    columns = [c for c in S.CUSTOMER_COLUMNS if c in frame.columns]
    out = frame[columns].copy()
    for col in (S.CUSTOMER_ID, S.GENDER, S.REGION, S.CITY, S.MEMBER_LEVEL, S.TAGS):
        if col in out.columns:
            out[col] = out[col].astype("str").where(out[col].notna())
    for col in (S.BIRTHDAY, S.SIGNUP_TIME):
        if col in out.columns:
            out[col] = out[col].astype("datetime64[ns]")
    if S.POINTS in out.columns:
        out[S.POINTS] = out[S.POINTS].astype("int64")
    return out


def load_sample_campaign() -> pd.DataFrame:
    """Load the sample shop's win-back campaign, one row per targeted customer.

    Campaign ``WB202408``: on 2024-08-20 about 10:00 the shop picked 2,000 lapsed buyers
    (a paid order before, none in the previous 120 days) and held out a random 30% as
    ``control`` (no message: all three times NaT). The ``treatment`` group got a text
    with a 满99减20 coupon; those who opened or clicked have ``opened_time`` /
    ``clicked_time``. In :func:`load_sample`, the treatment group places more orders in
    the following weeks than the control group.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (str), ``campaign_id`` (str), ``group`` (str:
        ``treatment`` or ``control``), ``sent_time``, ``opened_time``, ``clicked_time``
        (datetime64[ns], NaT when it did not happen).

    See Also
    --------
    load_sample : the orders, including those the campaign brought.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> campaign = crm.datasets.load_sample_campaign()
    >>> campaign.groupby("group")[["sent_time", "opened_time", "clicked_time"]].count()
               sent_time  opened_time  clicked_time
    group
    control            0            0             0
    treatment       1430          459           210
    """
    import pandas as pd

    frame = pd.read_parquet(sample_path("campaign"))
    out = frame.copy()
    for col in (S.CUSTOMER_ID, "campaign_id", "group"):
        out[col] = out[col].astype("str")
    for col in ("sent_time", "opened_time", "clicked_time"):
        out[col] = out[col].astype("datetime64[ns]")
    return out


def load_cdnow(kind: Literal["master", "sample"] = "master") -> pd.DataFrame:
    """Load the real CDNOW transactions as canonical orders.

    The customers who made their first purchase at CDNOW (an online music store) in the
    first quarter of 1997, followed until the end of June 1998: the data set of Fader,
    Hardie & Lee's BG/NBD and Pareto/NBD papers. The files come with the ``lifetimes``
    package; they are located without importing it, so the caller's warning filters and
    ``sys.modules`` stay as they were.

    Parameters
    ----------
    kind : {"master", "sample"}, default="master"
        ``"master"``: all 23,570 customers (69,659 rows). ``"sample"``: the 1/10 sample
        of 2,357 customers (6,919 rows) behind the published summary
        (:func:`load_cdnow_summary`).

    Returns
    -------
    pandas.DataFrame
        One row per purchase record of the file (a customer can have several on one
        day), in file order (by customer, then date), with the columns

        - ``order_id`` (str): ``"<customer_id>-<n>"``, n counting the customer's rows
        - ``customer_id`` (str): the zero-padded id of the file, e.g. ``"00001"``
        - ``order_time`` (datetime64[ns]): the purchase date (no time of day)
        - ``amount`` (float): dollar value (80 rows of the master file are 0)
        - ``status`` (category): always ``paid``
        - ``refund_amount`` (float): always 0
        - ``quantity`` (int64): number of CDs

    Raises
    ------
    InvalidDataError
        If ``kind`` is neither ``"master"`` nor ``"sample"``.
    ModuleNotFoundError
        If ``lifetimes`` (which ships the files) is not installed.

    See Also
    --------
    load_cdnow_summary : the published per-customer summary of the sample.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers" the
    Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> cdnow = crm.datasets.load_cdnow()
    >>> cdnow.shape
    (69659, 7)
    >>> cdnow["customer_id"].nunique()
    23570
    >>> cdnow.head(3)
      order_id customer_id order_time  amount status  refund_amount  quantity
    0  00001-1       00001 1997-01-01   11.77   paid            0.0         1
    1  00002-1       00002 1997-01-12   12.00   paid            0.0         1
    2  00002-2       00002 1997-01-12   77.00   paid            0.0         5
    """
    import pandas as pd

    if kind not in _CDNOW_FILES:
        raise InvalidDataError(
            f"load_cdnow: kind must be one of {list(_CDNOW_FILES)}, got {kind!r}.\n"
            'Hint: load_cdnow() or load_cdnow(kind="master") for all 23,570 customers, '
            'load_cdnow(kind="sample") for the 2,357-customer sample.'
        )
    raw = _read_cdnow(kind, caller="load_cdnow")
    # number each customer's rows in date order (the file is already in that order)
    raw = raw.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    n = raw.groupby("customer_id", sort=False).cumcount() + 1
    frame = pd.DataFrame(
        {
            S.ORDER_ID: raw["customer_id"] + "-" + n.astype("str"),
            S.CUSTOMER_ID: raw["customer_id"],
            S.ORDER_TIME: pd.to_datetime(raw["date"], format="%Y%m%d"),
            S.AMOUNT: raw["dollar_value"],
            S.STATUS: S.PAID,
            S.REFUND_AMOUNT: 0.0,
            S.QUANTITY: raw["number_of_cds"],
        }
    )
    return _canonical_orders(frame)


def load_cdnow_summary() -> pd.DataFrame:
    """Load the published weekly summary of the CDNOW sample (2,357 customers).

    The per-customer statistics that Fader, Hardie & Lee fit the BG/NBD model on
    (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426): the calibration period runs from
    1997-01-01 to 1997-09-30 (39 weeks), purchases are counted on distinct days, and
    times are in weeks. The published id (1..2357, the second column of the sample file)
    is replaced by the customer's id in :func:`load_cdnow` ``(kind="sample")``, so the
    two join; rows keep the published order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (str), with the columns

        - ``frequency`` (int64): number of repeat purchases in the calibration period
          (x in the papers)
        - ``recency`` (float): weeks from the first to the last purchase (t_x)
        - ``T`` (float): weeks from the first purchase to 1997-09-30 (T)

    Raises
    ------
    ModuleNotFoundError
        If ``lifetimes`` (which ships the file) is not installed.

    See Also
    --------
    load_cdnow : the transactions these statistics summarise.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers" the
    Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> import crm_analytics as crm
    >>> summary = crm.datasets.load_cdnow_summary()
    >>> summary.shape
    (2357, 3)
    >>> summary.head(3)
                 frequency  recency      T
    customer_id
    00004                2    30.43  38.86
    00021                1     1.71  38.86
    00050                0     0.00  38.86
    """
    import pandas as pd

    published = pd.read_csv(_lifetimes_file(_CDNOW_SUMMARY_FILE, caller="load_cdnow_summary"))
    ids = _read_cdnow("sample", caller="load_cdnow_summary").drop_duplicates("sample_id")
    to_customer = pd.Series(
        ids["customer_id"].to_numpy(), index=ids["sample_id"].astype("int64").to_numpy()
    )
    customer_id = to_customer.reindex(published["ID"].to_numpy())
    out = pd.DataFrame(
        {
            "frequency": published["frequency"].astype("int64").to_numpy(),
            "recency": published["recency"].astype("float64").to_numpy(),
            "T": published["T"].astype("float64").to_numpy(),
        },
        index=pd.Index(customer_id.to_numpy(), name=S.CUSTOMER_ID, dtype="str"),
    )
    return out


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _canonical_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order and dtypes (columns absent from ``frame`` stay absent)."""
    import pandas as pd

    columns = [c for c in S.ORDER_COLUMNS if c in frame.columns]
    out = frame[columns].copy()
    for col in _TEXT_ORDER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("str")
    for col in _TIME_ORDER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("datetime64[ns]")
    for col in _MONEY_ORDER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype("float64")
    if S.QUANTITY in out.columns:
        out[S.QUANTITY] = out[S.QUANTITY].astype("int64")
    out[S.STATUS] = out[S.STATUS].astype(pd.CategoricalDtype(list(S.STATUSES)))
    return out


def _lifetimes_file(file_name: str, *, caller: str) -> Path:
    """Path of a file in lifetimes' ``datasets`` folder, found without importing lifetimes.

    ``importlib.util.find_spec`` on the top-level name only locates the package: it does
    not run ``lifetimes/__init__.py`` (which silences FutureWarnings process-wide) nor
    ``lifetimes.datasets`` (which needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("lifetimes")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModuleNotFoundError(
            f"{caller}: the CDNOW files ship with the 'lifetimes' package, "
            "which is not installed.\nHint: pip install lifetimes"
        )
    path = Path(locations[0]) / "datasets" / file_name
    if not path.is_file():
        raise FileNotFoundError(
            f"{caller}: expected {file_name!r} in lifetimes' datasets folder, "
            f"not found at {path}.\nHint: reinstall it with pip install --force-reinstall lifetimes"
        )
    return path


def _read_cdnow(kind: str, *, caller: str) -> pd.DataFrame:
    """The raw CDNOW file as text ids and dates: customer_id, date, number_of_cds, ...

    The master file has a header; the sample file has none and a second id column (the
    customer's number within the sample, 0001..2357), kept here as ``sample_id``.
    """
    import pandas as pd

    path = _lifetimes_file(_CDNOW_FILES[kind], caller=caller)
    text = {"customer_id": "str", "sample_id": "str", "date": "str"}
    if kind == "master":
        return pd.read_csv(path, sep=r"\s+", dtype=text)
    names = ["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"]
    return pd.read_csv(path, sep=r"\s+", header=None, names=names, dtype=text)
