"""Generate the sample data bundled with crm_analytics.

The data describe an invented Chinese marketplace shop (tea, snacks, skin care, personal
care, home, baby, accessories and phone accessories; 60 products in 8 categories) that
sells on 淘宝, 天猫, 抖音 and its own 小程序 from 2023-01-01 to 2024-12-31. Everything is
simulated with ``numpy.random.default_rng(SEED)``, so every run gives the same files.

How the orders are made
-----------------------
* About 5,000 buyers arrive over the two years (more in later months, with the seasonal
  pattern below). Each buys at her own rate (gamma distributed across buyers) and, after
  every purchase, stops buying for good with her own probability (beta distributed): the
  BG/NBD story, so repurchase, churn and lifetime-value models have signal to find.
  Roughly two thirds of the buyers buy once.
* Seasonality works on calendar days: a weekly pattern (weekends higher), a monthly shape,
  the Spring Festival lull (couriers stop), the 618 festival (June 1-18, peak on June 18),
  Double 11 (first wave on October 31 / November 1, peak on November 11 with a midnight
  rush) and Double 12. Buyers order mostly in the evening.
* An order has 1-4 lines; products follow each buyer's favourite category, a few seasonal
  products (sun cream in summer, scarves in winter, gift boxes before the Spring
  Festival) and pairs bought together (shampoo and shower gel, nappies and wipes, ...).
  ``unit_price`` is the item price of the day (festival prices are lower);
  ``amount`` is what the line paid after the order's coupon (满减), split over its lines.
* Status of each order: ``unpaid`` (about 6% of placed orders: abandoned orders, and
  orders placed again a few minutes later and then paid), ``cancelled`` (about 2.5%,
  closed before payment), ``refunded`` (about 3%, every line's ``refund_amount`` equals
  its ``amount``) and ``paid``; about 4.5% of the older paid orders have a partial
  refund on one line (``refund_amount < amount``, status stays ``paid``). ``paid_time``
  is a few minutes after ``order_time`` for ``paid`` and ``refunded`` orders and NaT for
  ``unpaid`` and ``cancelled`` ones.
* A win-back campaign ``WB202408`` goes out on 2024-08-20 to 2,000 lapsed buyers (a paid
  order before, none in the 120 days before sending): 70% ``treatment`` get the message
  (with ``sent_time``, and ``opened_time`` / ``clicked_time`` for those who opened or
  clicked), 30% ``control`` get nothing (all three times NaT). Treated buyers, above all
  those who clicked, come back with extra orders in the weeks after, using a 满99减20
  coupon; the orders table contains these orders.

Files
-----
``src/crm_analytics/datasets/data/``: ``sample_orders.parquet`` (one row per order
line, canonical schema), ``sample_customers.parquet`` (one row per member, including
about 10% who never ordered), ``sample_campaign.parquet`` and ``taobao_orders.csv``.
``data/sample/``: ``orders.csv``, ``customers.csv``, ``campaign.csv`` (UTF-8) and the
same ``taobao_orders.csv``.

``taobao_orders.csv`` is the same orders as a Taobao seller-centre export (one row per
order, newest first, GB18030, CRLF line ends, a trailing comma on every line): order ids
written ``="…"``, money as ``¥1,234.50`` on some rows and ``1234.50`` on others, times as
``2024/3/5 14:22:01``, 订单付款时间 blank for unpaid and cancelled orders, 交易关闭 for
cancelled orders (no payment time, no refund) and fully refunded ones (退款金额 equals
买家实际支付金额). Receiver names (王某某), phones (138****1234) and addresses (示例路)
are made up. Seven rows are broken on purpose, in that file only, so that a loader's
rejected-rows report has something to show; with the default seed they are:

* 买家会员名 empty: orders 2601800087698085167, 2730850195089429838, 3462318434369509222;
* 订单创建时间 ``--``: orders 1534502760252102671, 2314535020821275929;
* exact duplicate lines (each repeated right after itself): orders
  2995502323409269871, 3632702618532029450.

The script prints them too. Loading that file therefore gives the sample's orders less
the five orders whose buyer or time is broken (the duplicates are rejected, their first
copies kept).

Usage::

    python scripts/make_sample_data.py                 # rewrite the bundled files
    python scripts/make_sample_data.py --out-dir DIR   # write every file into DIR only
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
try:
    from crm_analytics import schema as S
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))
    from crm_analytics import schema as S

PACKAGE_DIR = ROOT / "src" / "crm_analytics" / "datasets" / "data"
READABLE_DIR = ROOT / "data" / "sample"

SEED = 20241111
START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2025-01-01")  # exclusive: the data end on 2024-12-31
N_DAYS = (END - START).days
N_BUYERS = 5_000
N_NEVER_BOUGHT = 560  # members who never ordered: about 10% of the customers table

CAMPAIGN_ID = "WB202408"
CAMPAIGN_SEND = pd.Timestamp("2024-08-20 10:00:00")
CAMPAIGN_SIZE = 2_000
LAPSED_DAYS = 120

# (category, [(product name, list price), ...])
CATALOGUE: list[tuple[str, list[tuple[str, float]]]] = [
    (
        "茶饮",
        [
            ("西湖龙井明前特级绿茶250g", 398.0),
            ("福鼎白茶寿眉茶饼350g", 168.0),
            ("云南普洱熟茶七子饼357g", 128.0),
            ("安溪铁观音浓香型礼盒500g", 238.0),
            ("茉莉花茶飘雪罐装100g", 59.0),
            ("冷泡茶三角包组合30袋", 49.9),
            ("桂花乌龙袋泡茶20袋", 39.9),
            ("武夷山大红袍岩茶200g", 268.0),
        ],
    ),
    (
        "零食坚果",
        [
            ("每日坚果混合果仁30包", 129.0),
            ("夏威夷果奶油味500g", 59.9),
            ("碧根果长寿果500g", 69.9),
            ("靖江猪肉脯200g", 39.9),
            ("泰国芒果干500g", 45.9),
            ("内蒙古风干牛肉干250g", 89.0),
            ("坚果炒货礼盒1.5kg", 168.0),
            ("即食海苔脆片40g×6", 29.9),
        ],
    ),
    (
        "美妆护肤",
        [
            ("玻尿酸补水面膜10片", 99.0),
            ("烟酰胺提亮精华液30ml", 229.0),
            ("氨基酸洗面奶120g", 69.0),
            ("清爽防晒霜SPF50 50ml", 129.0),
            ("保湿修护乳液100ml", 159.0),
            ("丝绒哑光口红", 119.0),
            ("抗皱紧致眼霜15g", 299.0),
            ("温和卸妆水500ml", 79.0),
        ],
    ),
    (
        "个护清洁",
        [
            ("无硅油洗发水500ml", 59.9),
            ("香氛沐浴露750ml", 49.9),
            ("美白牙膏三支装", 39.9),
            ("声波电动牙刷", 199.0),
            ("电动牙刷替换刷头4支", 59.0),
            ("洗衣凝珠52颗", 49.9),
            ("原木抽纸24包", 45.9),
            ("泡沫洗手液300ml×3", 35.9),
        ],
    ),
    (
        "家居日用",
        [
            ("全棉四件套1.8m床", 399.0),
            ("泰国乳胶枕", 189.0),
            ("折叠收纳箱三件套", 79.0),
            ("316不锈钢保温杯500ml", 129.0),
            ("香薰蜡烛礼盒", 99.0),
            ("纯棉毛巾三条装", 49.9),
            ("居家防滑拖鞋", 29.9),
            ("硅藻泥浴室地垫", 39.9),
        ],
    ),
    (
        "母婴用品",
        [
            ("婴儿纸尿裤L码52片", 129.0),
            ("婴儿手口湿巾80抽×6包", 49.9),
            ("宽口径PPSU奶瓶240ml", 139.0),
            ("儿童软毛牙刷3支装", 29.9),
            ("婴儿洗衣液1L", 45.9),
            ("婴儿护臀膏", 59.0),
            ("儿童保温水杯", 99.0),
        ],
    ),
    (
        "服饰配件",
        [
            ("纯棉中筒袜5双装", 39.9),
            ("真丝遮光眼罩", 69.0),
            ("羊毛围巾", 199.0),
            ("帆布托特包", 89.0),
            ("遮阳棒球帽", 59.0),
            ("冰丝防晒袖套2双", 25.9),
            ("羊毛保暖手套", 79.0),
        ],
    ),
    (
        "数码配件",
        [
            ("快充数据线1米两根装", 29.9),
            ("20000毫安充电宝", 149.0),
            ("降噪蓝牙耳机", 299.0),
            ("磁吸手机壳", 49.0),
            ("65W氮化镓充电器", 119.0),
            ("无线充电器", 89.0),
        ],
    ),
]

# products often bought together (the second line of an order is the partner 45% of
# the time when the first line has one)
PAIRS = [
    ("无硅油洗发水500ml", "香氛沐浴露750ml"),
    ("声波电动牙刷", "电动牙刷替换刷头4支"),
    ("玻尿酸补水面膜10片", "烟酰胺提亮精华液30ml"),
    ("氨基酸洗面奶120g", "温和卸妆水500ml"),
    ("婴儿纸尿裤L码52片", "婴儿手口湿巾80抽×6包"),
    ("宽口径PPSU奶瓶240ml", "儿童软毛牙刷3支装"),
    ("每日坚果混合果仁30包", "泰国芒果干500g"),
    ("靖江猪肉脯200g", "内蒙古风干牛肉干250g"),
    ("20000毫安充电宝", "快充数据线1米两根装"),
    ("65W氮化镓充电器", "快充数据线1米两根装"),
    ("全棉四件套1.8m床", "泰国乳胶枕"),
    ("羊毛围巾", "羊毛保暖手套"),
    ("清爽防晒霜SPF50 50ml", "冰丝防晒袖套2双"),
]

# month multipliers (Jan..Dec) of seasonal products
SEASONAL = {
    "清爽防晒霜SPF50 50ml": [0.3, 0.3, 0.6, 1.2, 2.2, 2.8, 3.0, 2.6, 1.2, 0.5, 0.3, 0.3],
    "冰丝防晒袖套2双": [0.2, 0.2, 0.4, 1.0, 2.5, 3.2, 3.4, 2.8, 1.0, 0.3, 0.2, 0.2],
    "遮阳棒球帽": [0.4, 0.4, 0.7, 1.2, 1.8, 2.0, 2.0, 1.8, 1.0, 0.7, 0.4, 0.4],
    "羊毛围巾": [2.5, 1.5, 0.6, 0.2, 0.1, 0.1, 0.1, 0.1, 0.4, 1.5, 3.0, 3.2],
    "羊毛保暖手套": [2.5, 1.5, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1.3, 3.0, 3.2],
    "西湖龙井明前特级绿茶250g": [0.6, 0.8, 3.0, 3.0, 1.2, 0.8, 0.6, 0.6, 0.8, 0.8, 1.0, 0.8],
    "坚果炒货礼盒1.5kg": [3.5, 1.5, 0.5, 0.5, 0.5, 0.6, 0.5, 0.6, 2.0, 0.8, 1.2, 1.5],
    "安溪铁观音浓香型礼盒500g": [2.5, 1.2, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 2.0, 0.8, 1.0, 1.2],
    "香薰蜡烛礼盒": [1.5, 1.6, 0.8, 0.6, 0.8, 0.7, 0.6, 0.8, 0.8, 0.8, 1.4, 2.5],
}

CHANNELS = np.array(["淘宝", "天猫", "抖音", "小程序"])
CHANNEL_SHARE = np.array([0.40, 0.30, 0.18, 0.12])

# favourite-category shares by gender (female, male, unknown), categories in CATALOGUE order
CATEGORY_BY_GENDER = np.array(
    [
        [0.10, 0.15, 0.25, 0.15, 0.12, 0.12, 0.07, 0.04],
        [0.20, 0.20, 0.04, 0.15, 0.10, 0.06, 0.07, 0.18],
        [0.15, 0.18, 0.14, 0.15, 0.11, 0.09, 0.07, 0.11],
    ]
)

# order hour of day (0..23), China evening peak
HOUR_WEIGHTS = np.array(
    [3.0, 1.6, 0.8, 0.5, 0.4, 0.4, 0.6, 1.2, 2.2, 3.2, 4.0, 4.2]
    + [4.0, 4.0, 4.2, 4.2, 4.0, 3.8, 3.8, 4.6, 5.6, 6.2, 6.0, 4.6]
)

# (province, city, weight)
PLACES = [
    ("广东省", "广州市", 4.0),
    ("广东省", "深圳市", 5.0),
    ("广东省", "东莞市", 2.0),
    ("广东省", "佛山市", 2.0),
    ("浙江省", "杭州市", 4.0),
    ("浙江省", "宁波市", 2.0),
    ("浙江省", "温州市", 1.5),
    ("江苏省", "南京市", 2.5),
    ("江苏省", "苏州市", 3.0),
    ("江苏省", "无锡市", 1.5),
    ("上海市", "上海市", 5.0),
    ("北京市", "北京市", 4.5),
    ("山东省", "济南市", 1.5),
    ("山东省", "青岛市", 1.5),
    ("四川省", "成都市", 3.0),
    ("湖北省", "武汉市", 2.5),
    ("河南省", "郑州市", 2.0),
    ("福建省", "福州市", 1.2),
    ("福建省", "厦门市", 1.3),
    ("湖南省", "长沙市", 1.8),
    ("安徽省", "合肥市", 1.5),
    ("河北省", "石家庄市", 1.0),
    ("陕西省", "西安市", 1.6),
    ("重庆市", "重庆市", 2.0),
    ("天津市", "天津市", 1.3),
    ("辽宁省", "沈阳市", 1.0),
    ("辽宁省", "大连市", 0.8),
    ("江西省", "南昌市", 0.8),
    ("广西壮族自治区", "南宁市", 0.8),
    ("云南省", "昆明市", 0.9),
    ("黑龙江省", "哈尔滨市", 0.7),
    ("山西省", "太原市", 0.6),
    ("贵州省", "贵阳市", 0.5),
    ("吉林省", "长春市", 0.5),
    ("海南省", "海口市", 0.4),
    ("新疆维吾尔自治区", "乌鲁木齐市", 0.3),
    ("内蒙古自治区", "呼和浩特市", 0.3),
    ("甘肃省", "兰州市", 0.3),
]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
PINYIN = (
    "xiao da mei li an bao chen cheng fei feng hai hua jia jing ke lan le lin ling lu "
    "meng ming nan ning qi qing rui shan tian ting wei wen xin xue yan yang yi ying yu "
    "yue yun zhi zhou zi"
).split()
NICK_HEADS = ["快乐的", "爱吃", "小", "阿", "大", "甜甜的", "努力的", "会飞的", "安静的", "懒懒的"]
NICK_TAILS = ["小猫咪", "鱼", "兔子", "星星", "柠檬", "芒果", "奶茶", "熊", "月亮", "橘子"]

MEMBER_LEVELS = ["普通会员", "高级会员", "VIP会员", "至尊VIP会员"]
LEVEL_THRESHOLDS = [300.0, 1000.0, 3000.0]  # net spend (yuan) to reach the next level
CATEGORY_TAGS = ["茶友", "零食控", "美妆达人", "囤货党", "品质家居", "宝妈宝爸", "穿搭控", "数码控"]

TAOBAO_HEADER = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,"
    "宝贝标题,宝贝总数量,退款金额,收货人姓名,联系手机,收货地址,"
)
PAID, UNPAID, CANCELLED, REFUNDED = range(4)  # status codes, S.STATUSES order
NA_SEC = np.iinfo(np.int64).min  # "no time" in the integer-seconds arrays


@dataclass
class SampleData:
    """The generated tables and the Taobao-style export."""

    orders: pd.DataFrame
    customers: pd.DataFrame
    campaign: pd.DataFrame
    taobao_csv: bytes
    bad_rows: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# calendar
# --------------------------------------------------------------------------------------
def _month_day(dates: pd.DatetimeIndex) -> np.ndarray:
    return (dates.month * 100 + dates.day).to_numpy()


def _day_weights(dates: pd.DatetimeIndex) -> np.ndarray:
    """Relative order intensity of each calendar day."""
    w = np.array([0.96, 0.94, 0.95, 0.97, 1.0, 1.1, 1.13])[dates.day_of_week.to_numpy()]
    month = np.array([1.05, 0.85, 0.95, 0.95, 1.0, 1.05, 0.92, 0.9, 0.97, 1.0, 1.1, 1.08])
    w = w * month[dates.month.to_numpy() - 1]
    md = _month_day(dates)
    factors = [
        ((md >= 601) & (md <= 615), 1.35),  # 618 festival
        ((md >= 616) & (md <= 617), 1.8),
        (md == 618, 4.0),
        ((md >= 619) & (md <= 625), 0.8),  # after the festival
        ((md >= 1024) & (md <= 1030), 0.85),  # waiting for Double 11
        ((md == 1031) | (md == 1101), 2.2),  # Double 11 first wave
        ((md >= 1102) & (md <= 1110), 1.3),
        (md == 1111, 5.5),
        ((md >= 1112) & (md <= 1118), 0.75),
        (md == 1212, 2.0),  # Double 12
    ]
    for spring_festival in ("2023-01-22", "2024-02-10"):
        offset = (dates - pd.Timestamp(spring_festival)).days.to_numpy()
        factors.append(((offset >= -20) & (offset <= -7), 1.15))  # 年货节
        factors.append(((offset >= -6) & (offset <= 6), 0.45))  # couriers stop
    for mask, factor in factors:
        w = np.where(mask, w * factor, w)
    return w


def _promo_day(dates: pd.DatetimeIndex) -> np.ndarray:
    """Days with festival prices and the 每满300减50 coupon."""
    md = _month_day(dates)
    return ((md >= 601) & (md <= 618)) | ((md >= 1031) & (md <= 1111)) | (md == 1212)


def _seconds_in_day(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Draw a time of day (seconds) for orders placed on calendar ``day`` (days from START)."""
    n = len(day)
    dates = START + pd.to_timedelta(day, unit="D")
    md = _month_day(pd.DatetimeIndex(dates))
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    midnight_rush = ((md == 1111) | (md == 618)) & (rng.random(n) < 0.3)
    hour = np.where(midnight_rush, 0, hour)
    return hour * 3600 + rng.integers(0, 3600, n)


def _draw_categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each i, draw an index from the distribution ``probs[rows[i]]``."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    out = (cum[rows] < u[:, None]).sum(axis=1)
    return np.minimum(out, probs.shape[1] - 1)


# --------------------------------------------------------------------------------------
# the tables
# --------------------------------------------------------------------------------------
def _products() -> pd.DataFrame:
    rows = [(cat, name, price) for cat, items in CATALOGUE for name, price in items]
    products = pd.DataFrame(rows, columns=[S.CATEGORY, S.PRODUCT_NAME, "list_price"])
    products.insert(0, S.PRODUCT_ID, [f"SP{i + 1:03d}" for i in range(len(products))])
    return products


def _nicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct nick-like buyer ids (tb1234567890, xiaoyu_0823, 爱吃芒果88, ...)."""
    m = int(n * 1.5)
    kind = rng.choice(3, size=m, p=[0.35, 0.40, 0.25])
    tb = pd.Series(rng.integers(10**8, 10**10, m)).astype(str)
    tb = "tb" + tb
    p1 = pd.Series(np.asarray(PINYIN)[rng.integers(0, len(PINYIN), m)])
    p2 = pd.Series(np.asarray(PINYIN)[rng.integers(0, len(PINYIN), m)])
    sep = pd.Series(np.array(["", "_", ""])[rng.integers(0, 3, m)])
    year = pd.Series(rng.integers(1975, 2006, m)).astype(str)
    mmdd = pd.Series(rng.integers(101, 1232, m)).astype(str).str.zfill(4)
    tail = pd.Series(np.where(rng.random(m) < 0.5, year, mmdd))
    pinyin = p1 + p2 + sep + tail
    head = pd.Series(np.asarray(NICK_HEADS)[rng.integers(0, len(NICK_HEADS), m)])
    noun = pd.Series(np.asarray(NICK_TAILS)[rng.integers(0, len(NICK_TAILS), m)])
    digits = pd.Series(rng.integers(0, 1000, m)).astype(str)
    digits = digits.where(rng.random(m) < 0.8, "")
    chinese = head + noun + digits
    nicks = pd.Series(np.select([kind == 0, kind == 1], [tb, pinyin], chinese))
    nicks = pd.unique(nicks)
    if len(nicks) < n:  # pragma: no cover - 1.5x candidates always suffice
        raise RuntimeError("not enough distinct nicks")
    return np.asarray(nicks[:n], dtype=object)


def _simulate_purchases(
    rng: np.random.Generator, n: int, channel: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD-like purchase times (fractional days from START) of ``n`` buyers."""
    days = pd.date_range(START, periods=N_DAYS, freq="D")
    season = _day_weights(days)
    season /= season.mean()
    grid = np.arange(N_DAYS + 1, dtype=float)
    trend = 1.0 + 0.5 * np.arange(N_DAYS) / N_DAYS
    cum_arrival = np.concatenate([[0.0], np.cumsum(season * trend)])
    cum_season = np.concatenate([[0.0], np.cumsum(season)])
    # first purchase: arrival intensity = season x growth; then purchases at rate lam in
    # "seasonal time" (the season-weighted day count), so repeat orders follow the season
    first = np.interp(rng.uniform(0, cum_arrival[-1], n), cum_arrival, grid)
    u_first = np.interp(first, grid, cum_season)
    lam = rng.gamma(shape=0.6, scale=1 / 30.0, size=n)  # purchases per (seasonal) day
    p_drop = rng.beta(2.4, 2.4, size=n)  # P(stop buying) after each purchase
    p_drop = np.where(channel == 2, np.minimum(1.0, p_drop * 1.25), p_drop)  # 抖音 buyers
    n_max = rng.geometric(p_drop)
    k_max = 40
    gaps = rng.exponential(1.0, size=(n, k_max - 1)) / lam[:, None]
    u = u_first[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)], axis=1)
    valid = (np.arange(k_max)[None, :] < n_max[:, None]) & (u < cum_season[-1])
    buyer, _ = np.nonzero(valid)
    t = np.interp(u[valid], cum_season, grid)
    return buyer, t


def _statuses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Status codes of placed orders (the re-placed unpaid copies come on top)."""
    return rng.choice(4, size=n, p=[0.914, 0.028, 0.026, 0.032])


def _campaign(
    rng: np.random.Generator,
    buyer: np.ndarray,
    t_sec: np.ndarray,
    status: np.ndarray,
    n_buyers: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Pick lapsed buyers, split them, and draw the campaign's engagement and extra orders.

    Returns the campaign frame (customer index, group and times in seconds from START) and
    the buyer index and time (seconds) of the extra orders it causes.
    """
    send = int((CAMPAIGN_SEND - START).total_seconds())
    paid_before = (status == PAID) & (t_sec < send)
    last = np.full(n_buyers, -1, dtype=np.int64)
    np.maximum.at(last, buyer[paid_before], t_sec[paid_before])
    lapsed = np.flatnonzero((last >= 0) & (last < send - LAPSED_DAYS * 86400))
    chosen = np.sort(rng.choice(lapsed, size=min(CAMPAIGN_SIZE, len(lapsed)), replace=False))
    n = len(chosen)
    treated = rng.random(n) < 0.7
    sent = np.where(treated, send + rng.integers(0, 1800, n), NA_SEC)
    opened = treated & (rng.random(n) < 0.32)
    clicked = opened & (rng.random(n) < 0.45)
    opened_t = np.where(
        opened, sent + rng.lognormal(np.log(2.5 * 3600), 1.0, n).astype(int), NA_SEC
    )
    clicked_t = np.where(clicked, opened_t + rng.integers(5, 600, n), NA_SEC)
    frame = pd.DataFrame(
        {
            "buyer": chosen,
            "group": np.where(treated, "treatment", "control"),
            "sent": sent,
            "opened": opened_t,
            "clicked": clicked_t,
        }
    )
    # extra orders of treated buyers: most after a click, some after only reading
    p_buy = np.select([clicked, opened, treated], [0.38, 0.09, 0.02], 0.0)
    buys = rng.random(n) < p_buy
    delay = np.where(
        clicked,
        np.where(
            rng.random(n) < 0.4,
            rng.integers(60, 1800, n),
            rng.exponential(2 * 86400, n).astype(int),
        ),
        rng.exponential(5 * 86400, n).astype(int),
    )
    start = np.where(clicked, clicked_t, sent)
    extra_t = np.minimum(start + delay, send + 30 * 86400)
    return frame, chosen[buys], extra_t[buys]


def _lines(
    rng: np.random.Generator,
    products: pd.DataFrame,
    order_month: np.ndarray,
    order_pref: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Order index and product index of every line."""
    n_orders = len(order_month)
    n_lines = rng.choice([1, 2, 3, 4], size=n_orders, p=[0.62, 0.25, 0.09, 0.04])
    order_of_line = np.repeat(np.arange(n_orders), n_lines)
    line_no = np.arange(len(order_of_line)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)

    n_prod = len(products)
    cat_codes = pd.Categorical(products[S.CATEGORY], categories=[c for c, _ in CATALOGUE]).codes
    n_cat = len(CATALOGUE)
    # within a category the first products sell best; cheaper products sell more
    rank_in_category = products.groupby(S.CATEGORY, sort=False).cumcount().to_numpy()
    popularity = 1.0 / (1.0 + 0.35 * rank_in_category)
    popularity *= 1.0 / np.sqrt(products["list_price"].to_numpy() / 50.0)
    season = np.ones((12, n_prod))
    names = products[S.PRODUCT_NAME].tolist()
    for name, months in SEASONAL.items():
        season[:, names.index(name)] = months
    base = popularity[None, :] * season  # (month, product)
    global_p = base / base.sum(axis=1, keepdims=True)
    in_cat = (cat_codes[None, :] == np.arange(n_cat)[:, None]).astype(float)  # (cat, product)
    fav = base[:, None, :] * in_cat[None, :, :]
    fav /= fav.sum(axis=2, keepdims=True)
    probs = (0.55 * fav + 0.45 * global_p[:, None, :]).reshape(12 * n_cat, n_prod)

    rows = order_month[order_of_line] * n_cat + order_pref[order_of_line]
    product = _draw_categorical(rng, probs, rows)
    partner = np.full(n_prod, -1)
    for a, b in PAIRS:
        ia, ib = names.index(a), names.index(b)
        partner[ia], partner[ib] = ib, ia
    first_product = product[np.cumsum(n_lines) - n_lines][order_of_line]
    use_partner = (line_no == 1) & (partner[first_product] >= 0) & (rng.random(len(product)) < 0.45)
    product = np.where(use_partner, partner[first_product], product)
    keep = ~pd.DataFrame({"o": order_of_line, "p": product}).duplicated().to_numpy()
    return order_of_line[keep], product[keep]


def _price_lines(
    rng: np.random.Generator,
    products: pd.DataFrame,
    line_order: np.ndarray,
    line_product: np.ndarray,
    order_promo: np.ndarray,
    order_coupon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantity, unit price and paid amount of every line."""
    n = len(line_order)
    list_price = products["list_price"].to_numpy()[line_product]
    quantity = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.74, 0.16, 0.05, 0.03, 0.01, 0.01])
    quantity = np.where(list_price >= 150, np.where(rng.random(n) < 0.93, 1, 2), quantity)
    promo = order_promo[line_order]
    shop_sale = rng.random(n) < 0.12  # an ordinary-day 9折
    factor = np.where(promo, 0.85, np.where(shop_sale, 0.9, 1.0))
    unit_price = np.round(list_price * factor, 1)
    gross = unit_price * quantity
    subtotal = np.bincount(line_order, weights=gross, minlength=len(order_promo))
    # order coupon (满减): festival 每满300减50; campaign 满99减20; otherwise half the
    # orders use the shop's 满199减20
    n_orders = len(order_promo)
    uses_shop_coupon = rng.random(n_orders) < 0.5
    discount = np.where(
        order_promo,
        np.minimum(np.floor(subtotal / 300.0), 3) * 50.0,
        np.where(uses_shop_coupon & (subtotal >= 199), 20.0, 0.0),
    )
    discount = np.where(order_coupon & (subtotal >= 99), np.maximum(discount, 20.0), discount)
    share = 1.0 - discount / subtotal
    amount = np.round(gross * share[line_order], 2)
    return quantity.astype(np.int64), unit_price, amount


def _to_time(seconds: np.ndarray) -> pd.Series:
    """Seconds from START (``NA_SEC`` = missing) as datetime64[ns]."""
    seconds = np.asarray(seconds, dtype=np.int64)
    known = seconds != NA_SEC
    out = pd.Series(START + pd.to_timedelta(np.where(known, seconds, 0), unit="s"))
    return out.astype("datetime64[ns]").where(known)


def generate(seed: int = SEED) -> SampleData:
    """Simulate the shop; return the tables and the Taobao export."""
    rng = np.random.default_rng(seed)
    products = _products()
    n_total = N_BUYERS + N_NEVER_BOUGHT
    customer_ids = _nicks(rng, n_total)

    # ---- buyers' attributes --------------------------------------------------------
    gender = rng.choice(3, size=n_total, p=[0.6, 0.3, 0.1])  # female, male, unknown
    cum_cat = np.cumsum(CATEGORY_BY_GENDER, axis=1)
    pref = np.minimum((cum_cat[gender] < rng.random(n_total)[:, None]).sum(axis=1), 7)
    channel = rng.choice(4, size=n_total, p=CHANNEL_SHARE)
    place_w = np.array([w for _, _, w in PLACES])
    place = rng.choice(len(PLACES), size=n_total, p=place_w / place_w.sum())

    # ---- purchase process ------------------------------------------------------------
    buyer, t_days = _simulate_purchases(rng, N_BUYERS, channel[:N_BUYERS])
    day = np.minimum(np.floor(t_days).astype(np.int64), N_DAYS - 1)
    t_sec = day * 86400 + _seconds_in_day(rng, day)
    status = _statuses(rng, len(buyer))

    campaign, extra_buyer, extra_t = _campaign(rng, buyer, t_sec, status, N_BUYERS)
    coupon = np.r_[np.zeros(len(buyer), bool), np.ones(len(extra_buyer), bool)]
    buyer = np.r_[buyer, extra_buyer]
    t_sec = np.r_[t_sec, extra_t]
    status = np.r_[status, _statuses(rng, len(extra_buyer))]
    n_orders = len(buyer)
    order_channel = np.where(
        rng.random(n_orders) < 0.85, channel[buyer], rng.choice(4, size=n_orders, p=CHANNEL_SHARE)
    )

    # ---- lines and prices ------------------------------------------------------------
    order_dates = pd.DatetimeIndex(START + pd.to_timedelta(t_sec // 86400, unit="D"))
    line_order, line_product = _lines(rng, products, order_dates.month.to_numpy() - 1, pref[buyer])
    promo = _promo_day(order_dates)
    quantity, unit_price, amount = _price_lines(
        rng, products, line_order, line_product, promo, coupon
    )

    # ---- refunds -----------------------------------------------------------------------
    refund = np.where(status[line_order] == REFUNDED, amount, 0.0)
    end_sec = N_DAYS * 86400
    first_line = np.r_[True, line_order[1:] != line_order[:-1]]
    partial_order = (
        (status == PAID) & (t_sec < end_sec - 14 * 86400) & (rng.random(n_orders) < 0.045)
    )
    partial = first_line & partial_order[line_order]
    one_unit = np.round(amount / quantity, 2)
    share = np.round(amount * rng.uniform(0.1, 0.5, len(amount)), 2)
    partial_refund = np.where(quantity >= 2, one_unit, share)
    refund = np.where(partial, np.clip(partial_refund, 0.01, amount - 0.01), refund)

    # ---- payment times -------------------------------------------------------------------
    delay = np.maximum(5, rng.lognormal(np.log(75.0), 1.0, n_orders)).astype(np.int64)
    late = rng.random(n_orders) < 0.03
    delay = np.where(late, rng.integers(3600, 6 * 3600, n_orders), delay)
    was_paid = (status == PAID) | (status == REFUNDED)
    paid_sec = np.where(was_paid, t_sec + delay, NA_SEC)

    # ---- unpaid orders placed again and then paid (拍下未付款, 重新下单) -------------------
    again = np.flatnonzero((status == PAID) & (rng.random(n_orders) < 0.04))
    n_again = len(again)
    copy_of = np.r_[np.arange(n_orders), again]
    t_all = np.r_[t_sec, np.maximum(t_sec[again] - rng.integers(60, 1800, n_again), 0)]
    status_all = np.r_[status, np.full(n_again, UNPAID)]
    paid_all = np.r_[paid_sec, np.full(n_again, NA_SEC)]
    # lines of the copies: same products, quantities and amounts, no refund
    copy_lines = np.flatnonzero(np.isin(line_order, again))
    copy_index = pd.Series(np.arange(n_orders, n_orders + n_again), index=again)
    l_order = np.r_[line_order, copy_index.loc[line_order[copy_lines]].to_numpy()]
    l_product = np.r_[line_product, line_product[copy_lines]]
    l_quantity = np.r_[quantity, quantity[copy_lines]]
    l_unit = np.r_[unit_price, unit_price[copy_lines]]
    l_amount = np.r_[amount, amount[copy_lines]]
    l_refund = np.r_[refund, np.zeros(len(copy_lines))]
    all_buyer = buyer[copy_of]
    all_channel = order_channel[copy_of]

    # ---- order ids: 19 digits, distinct ------------------------------------------------
    n_all = len(copy_of)
    ids = pd.unique(pd.Series(rng.integers(10**18, 4 * 10**18, int(n_all * 1.01) + 10)))
    order_ids = pd.Series(ids[:n_all]).astype(str).to_numpy()

    statuses = np.asarray(S.STATUSES)
    orders = pd.DataFrame(
        {
            S.ORDER_ID: order_ids[l_order],
            S.CUSTOMER_ID: customer_ids[all_buyer[l_order]],
            S.ORDER_TIME: _to_time(t_all[l_order]),
            S.AMOUNT: l_amount,
            S.STATUS: statuses[status_all[l_order]],
            S.REFUND_AMOUNT: l_refund,
            S.PAID_TIME: _to_time(paid_all[l_order]),
            S.PRODUCT_ID: products[S.PRODUCT_ID].to_numpy()[l_product],
            S.PRODUCT_NAME: products[S.PRODUCT_NAME].to_numpy()[l_product],
            S.CATEGORY: products[S.CATEGORY].to_numpy()[l_product],
            S.QUANTITY: l_quantity,
            S.UNIT_PRICE: l_unit,
            S.CHANNEL: CHANNELS[all_channel[l_order]],
        }
    )
    orders["_line"] = np.arange(len(orders))
    orders = orders.sort_values([S.ORDER_TIME, S.ORDER_ID, "_line"], kind="stable")
    orders = orders.drop(columns="_line").reset_index(drop=True)
    orders[S.STATUS] = pd.Categorical(orders[S.STATUS], categories=list(S.STATUSES))

    customers = _customers(rng, orders, customer_ids, gender, pref, place, t_all, all_buyer)
    campaign_frame = pd.DataFrame(
        {
            S.CUSTOMER_ID: customer_ids[campaign["buyer"].to_numpy()],
            "campaign_id": CAMPAIGN_ID,
            "group": campaign["group"].to_numpy(),
            "sent_time": _to_time(campaign["sent"].to_numpy()),
            "opened_time": _to_time(campaign["opened"].to_numpy()),
            "clicked_time": _to_time(campaign["clicked"].to_numpy()),
        }
    )
    taobao_csv, bad_rows = _taobao_export(rng, orders, customers)
    return SampleData(orders, customers, campaign_frame, taobao_csv, bad_rows)


def _customers(
    rng: np.random.Generator,
    orders: pd.DataFrame,
    customer_ids: np.ndarray,
    gender: np.ndarray,
    pref: np.ndarray,
    place: np.ndarray,
    t_all: np.ndarray,
    all_buyer: np.ndarray,
) -> pd.DataFrame:
    """One row per member: every buyer and the members who never ordered."""
    n = len(customer_ids)
    # first order (any status) and net paid spend per customer
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, all_buyer, t_all)
    ordered = first < np.iinfo(np.int64).max
    paid = orders[orders[S.STATUS] == S.PAID]
    net = (paid[S.AMOUNT] - paid[S.REFUND_AMOUNT]).groupby(paid[S.CUSTOMER_ID]).sum()
    net = net.reindex(customer_ids, fill_value=0.0).to_numpy()

    # membership: at the first order, before it, or some weeks later; the never-buyers
    # joined on some day of the two years (more on festival days)
    how = rng.choice(3, size=n, p=[0.5, 0.2, 0.3])
    offset = np.select(
        [how == 0, how == 1],
        [rng.integers(30, 900, n), -rng.integers(86400, 200 * 86400, n)],
        rng.integers(86400, 120 * 86400, n),
    )
    end_sec = N_DAYS * 86400
    signup = np.where(ordered, np.minimum(first + offset, end_sec - 60), 0)
    days = pd.date_range(START, periods=N_DAYS, freq="D")
    w = _day_weights(days)
    join_day = rng.choice(N_DAYS, size=n, p=w / w.sum())
    signup = np.where(ordered, signup, join_day * 86400 + _seconds_in_day(rng, join_day))

    age = np.clip(np.round(rng.normal(33, 8, n)), 18, 65).astype(int)
    birth = pd.to_datetime(pd.DataFrame({"year": 2024 - age, "month": 1, "day": 1}))
    birth = birth + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    no_birthday = rng.random(n) < np.where(gender == 2, 0.6, 0.25)
    birthday = birth.astype("datetime64[ns]").where(~no_birthday)

    level = np.searchsorted(LEVEL_THRESHOLDS, net, side="right")
    redeemed = np.where(rng.random(n) < 0.4, rng.uniform(0, 0.6, n), 0.0)
    points = (np.floor(net * (1 - redeemed)) + 100).astype(np.int64)

    # tags the shop set: favourite category, high value, festival buyers
    fav_tag = np.where(rng.random(n) < 0.6, np.asarray(CATEGORY_TAGS)[pref], "")
    fav_tag = np.where(net > 0, fav_tag, "")
    top = net >= np.quantile(net[net > 0], 0.9)
    promo_orders = paid.assign(
        _promo=_promo_day(pd.DatetimeIndex(paid[S.ORDER_TIME]))
    ).drop_duplicates(S.ORDER_ID)
    promo_share = promo_orders.groupby(S.CUSTOMER_ID)["_promo"].agg(["mean", "size"])
    promo_share = promo_share.reindex(customer_ids)
    festival = (promo_share["mean"].fillna(0).to_numpy() >= 0.5) & (
        promo_share["size"].fillna(0).to_numpy() >= 2
    )
    parts = pd.DataFrame(
        {
            "a": fav_tag,
            "b": np.where(top, "高价值", ""),
            "c": np.where(festival, "大促敏感", ""),
        }
    )
    tags = (
        parts["a"]
        .str.cat(parts[["b", "c"]], sep=";")
        .str.replace(r";+", ";", regex=True)
        .str.strip(";")
    )
    tags = tags.where(tags != "")

    customers = pd.DataFrame(
        {
            S.CUSTOMER_ID: customer_ids,
            S.GENDER: np.asarray(S.GENDERS)[gender],
            S.BIRTHDAY: birthday.to_numpy(),
            S.REGION: np.asarray([p for p, _, _ in PLACES])[place],
            S.CITY: np.asarray([c for _, c, _ in PLACES])[place],
            S.MEMBER_LEVEL: np.asarray(MEMBER_LEVELS)[level],
            S.POINTS: points,
            S.SIGNUP_TIME: _to_time(signup).to_numpy(),
            S.TAGS: tags.to_numpy(),
        }
    )
    customers = customers.sort_values(S.SIGNUP_TIME, kind="stable").reset_index(drop=True)
    return customers


# --------------------------------------------------------------------------------------
# Taobao seller-centre export
# --------------------------------------------------------------------------------------
def _taobao_time(times: pd.Series) -> pd.Series:
    """``2024/3/5 14:22:01``; blank when missing."""
    text = (
        times.dt.year.astype("Int64").astype(str)
        + "/"
        + times.dt.month.astype("Int64").astype(str)
        + "/"
        + times.dt.day.astype("Int64").astype(str)
        + " "
        + times.dt.strftime("%H:%M:%S")
    )
    return text.where(times.notna(), "")


def _csv_field(values: pd.Series) -> pd.Series:
    """Quote the fields that need it (a comma or a quote inside)."""
    values = values.astype(str)
    needs = values.str.contains('[,"]', regex=True)
    quoted = '"' + values.str.replace('"', '""', regex=False) + '"'
    return quoted.where(needs, values)


def _taobao_export(
    rng: np.random.Generator, orders: pd.DataFrame, customers: pd.DataFrame
) -> tuple[bytes, dict[str, list[str]]]:
    """One row per order, as the seller centre's ExportOrderList writes it."""
    per = orders.groupby(S.ORDER_ID, sort=False).agg(
        customer=(S.CUSTOMER_ID, "first"),
        time=(S.ORDER_TIME, "first"),
        paid_time=(S.PAID_TIME, "first"),
        status=(S.STATUS, "first"),
        amount=(S.AMOUNT, "sum"),
        refund=(S.REFUND_AMOUNT, "sum"),
        quantity=(S.QUANTITY, "sum"),
        title=(S.PRODUCT_NAME, "，".join),
    )
    per = per.reset_index().sort_values(["time", S.ORDER_ID], ascending=False, kind="stable")
    per = per.reset_index(drop=True)
    n = len(per)

    age_days = (END - per["time"]).dt.total_seconds().to_numpy() / 86400
    status = per["status"].astype(str).to_numpy()
    paid_text = np.where(
        age_days < 2,
        "买家已付款，等待卖家发货",
        np.where(age_days < 10, "卖家已发货，等待买家确认", "交易成功"),
    )
    status_text = np.select(
        [status == S.PAID, status == S.UNPAID],
        [paid_text, "等待买家付款"],
        "交易关闭",  # cancelled, and fully refunded
    )

    # receiver of each customer: a made-up name, a masked phone and an example address
    cust = customers.set_index(S.CUSTOMER_ID)
    m = len(cust)
    receiver = pd.DataFrame(
        {
            "name": np.asarray(SURNAMES)[rng.integers(0, len(SURNAMES), m)],
            "phone": np.asarray(["138", "139", "186", "151", "177", "135"])[rng.integers(0, 6, m)],
            "tail": pd.Series(rng.integers(0, 10000, m)).astype(str).str.zfill(4).to_numpy(),
            "road": rng.integers(1, 300, m),
            "building": rng.integers(1, 30, m),
            "room": rng.integers(1, 33, m) * 100 + rng.integers(1, 5, m),
        },
        index=cust.index,
    )
    receiver["name"] = receiver["name"] + "某某"
    receiver["phone"] = receiver["phone"] + "****" + receiver["tail"]
    receiver["address"] = (
        cust[S.REGION]
        + " "
        + cust[S.CITY]
        + " 示例区 示例路"
        + receiver["road"].astype(str)
        + "号 演示小区"
        + receiver["building"].astype(str)
        + "栋"
        + receiver["room"].astype(str)
        + "室"
    )
    rec = receiver.reindex(per["customer"].to_numpy())

    yen = rng.random(n) < 0.35
    amount = per["amount"].round(2).to_numpy()
    refund = per["refund"].round(2).to_numpy()

    def money(values: np.ndarray) -> pd.Series:
        plain = [f"{v:.2f}" for v in values]
        with_yen = [f"¥{v:,.2f}" for v in values]
        return pd.Series(np.where(yen, with_yen, plain))

    fields = pd.DataFrame(
        {
            "订单编号": '="' + per[S.ORDER_ID].astype(str) + '"',
            "买家会员名": per["customer"].astype(str),
            "买家实际支付金额": money(amount),
            "订单状态": status_text,
            "订单创建时间": _taobao_time(per["time"]),
            "订单付款时间": _taobao_time(per["paid_time"]),
            "宝贝标题": per["title"].astype(str),
            "宝贝总数量": per["quantity"].astype(str),
            "退款金额": money(refund),
            "收货人姓名": rec["name"].to_numpy(),
            "联系手机": rec["phone"].to_numpy(),
            "收货地址": rec["address"].to_numpy(),
        }
    )

    # rows broken on purpose (see the module docstring)
    picks = rng.choice(np.arange(50, n - 50), size=7, replace=False)
    no_buyer, bad_time, duplicated = picks[:3], picks[3:5], np.sort(picks[5:])
    fields.loc[no_buyer, "买家会员名"] = ""
    fields.loc[bad_time, "订单创建时间"] = "--"
    order_ids = per[S.ORDER_ID].astype(str).to_numpy()
    bad_rows = {
        "empty 买家会员名": sorted(order_ids[no_buyer]),
        "订单创建时间 '--'": sorted(order_ids[bad_time]),
        "duplicate line": sorted(order_ids[duplicated]),
    }

    text = fields["订单编号"]  # written as is: ="…" is never quoted in these exports
    for col in fields.columns[1:]:
        text = text + "," + _csv_field(fields[col])
    lines = (text + ",").tolist()
    for pos in duplicated[::-1]:
        lines.insert(pos + 1, lines[pos])
    body = "\r\n".join([TAOBAO_HEADER, *lines]) + "\r\n"
    return body.encode("gb18030"), bad_rows


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def _csv_bytes(frame: pd.DataFrame, formats: dict[str, str]) -> bytes:
    """UTF-8 CSV with fixed time formats and two decimals for money."""
    out = frame.copy()
    for col, fmt in formats.items():
        out[col] = out[col].dt.strftime(fmt)
    text = out.to_csv(index=False, lineterminator="\n", float_format="%.2f")
    return text.encode("utf-8")


def write_outputs(data: SampleData, package_dir: Path, readable_dir: Path) -> list[Path]:
    """Write the package copies into ``package_dir`` and the CSVs into ``readable_dir``."""
    package_dir.mkdir(parents=True, exist_ok=True)
    readable_dir.mkdir(parents=True, exist_ok=True)
    seconds = "%Y-%m-%d %H:%M:%S"
    written = []
    tables = {
        "orders": (data.orders, {S.ORDER_TIME: seconds, S.PAID_TIME: seconds}),
        "customers": (data.customers, {S.BIRTHDAY: "%Y-%m-%d", S.SIGNUP_TIME: seconds}),
        "campaign": (
            data.campaign,
            {"sent_time": seconds, "opened_time": seconds, "clicked_time": seconds},
        ),
    }
    for name, (frame, formats) in tables.items():
        path = package_dir / f"sample_{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
        path = readable_dir / f"{name}.csv"
        path.write_bytes(_csv_bytes(frame, formats))
        written.append(path)
    for folder in dict.fromkeys([package_dir, readable_dir]):
        path = folder / "taobao_orders.csv"
        path.write_bytes(data.taobao_csv)
        written.append(path)
    return written


def describe(data: SampleData) -> str:
    """Counts and shares of the generated sample, for the console."""
    o = data.orders
    per_order = o.drop_duplicates(S.ORDER_ID)
    paid = o[o[S.STATUS] == S.PAID]
    n_paid_orders = paid.groupby(S.CUSTOMER_ID)[S.ORDER_ID].nunique()
    status_share = per_order[S.STATUS].value_counts(normalize=True).reindex(list(S.STATUSES))
    partial = paid.loc[paid[S.REFUND_AMOUNT] > 0, S.ORDER_ID].nunique()
    c = data.campaign
    lines = [
        f"orders: {per_order.shape[0]:,} orders, {len(o):,} lines, "
        f"{o[S.CUSTOMER_ID].nunique():,} customers with an order, "
        f"{len(n_paid_orders):,} with a paid order",
        f"one-order share (paid orders): {(n_paid_orders == 1).mean():.1%}",
        "order status shares: " + ", ".join(f"{k} {v:.1%}" for k, v in status_share.items()),
        f"paid orders with a partial refund: {partial / (per_order[S.STATUS] == S.PAID).sum():.1%}",
        f"customers table: {len(data.customers):,} rows, "
        f"{(~data.customers[S.CUSTOMER_ID].isin(o[S.CUSTOMER_ID])).sum():,} never ordered",
        f"campaign: {len(c):,} rows, {(c['group'] == 'treatment').sum():,} treatment",
        "broken rows in taobao_orders.csv: "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in data.bad_rows.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="write every file into this folder instead of the package and data/sample/",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--quiet", action="store_true", help="do not print the summary")
    args = parser.parse_args(argv)
    data = generate(args.seed)
    if args.out_dir is None:
        written = write_outputs(data, PACKAGE_DIR, READABLE_DIR)
    else:
        written = write_outputs(data, args.out_dir, args.out_dir)
    if not args.quiet:
        print(describe(data))
        for path in written:
            print(f"{path.stat().st_size / 1e6:6.2f} MB  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
