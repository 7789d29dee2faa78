"""Tests of crm_analytics.datasets: the bundled sample shop and the CDNOW data."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics import schema as S
from crm_analytics.datasets import (
    load_cdnow,
    load_cdnow_summary,
    load_sample,
    load_sample_campaign,
    load_sample_customers,
    sample_path,
)
from crm_analytics.exceptions import InvalidDataError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_sample_data.py"
READABLE = ROOT / "data" / "sample"
CAMPAIGN_SEND = pd.Timestamp("2024-08-20 10:00:00")
TAOBAO_HEADER = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,"
    "宝贝标题,宝贝总数量,退款金额,收货人姓名,联系手机,收货地址,"
)


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return load_sample()


@pytest.fixture(scope="module")
def per_order(orders: pd.DataFrame) -> pd.DataFrame:
    return orders.drop_duplicates(S.ORDER_ID)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return load_sample_customers()


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return load_sample_campaign()


@pytest.fixture(scope="module")
def taobao() -> pd.DataFrame:
    return pd.read_csv(sample_path("taobao"), encoding="gb18030", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


def _money(text: pd.Series) -> pd.Series:
    return text.str.replace("¥", "", regex=False).str.replace(",", "", regex=False).astype(float)


# --------------------------------------------------------------------------------------
# sample orders: schema
# --------------------------------------------------------------------------------------
def test_sample_orders_columns_and_dtypes(orders: pd.DataFrame) -> None:
    assert list(orders.columns) == list(S.ORDER_COLUMNS)
    for col in (S.ORDER_ID, S.CUSTOMER_ID, S.PRODUCT_ID, S.PRODUCT_NAME, S.CATEGORY, S.CHANNEL):
        assert pd.api.types.is_string_dtype(orders[col]), col
        assert orders[col].notna().all(), col
    for col in (S.ORDER_TIME, S.PAID_TIME):
        assert orders[col].dtype == np.dtype("datetime64[ns]"), col
    assert isinstance(orders[S.STATUS].dtype, pd.CategoricalDtype)
    assert list(orders[S.STATUS].cat.categories) == list(S.STATUSES)
    assert orders[S.QUANTITY].dtype == np.dtype("int64")
    for col in (S.AMOUNT, S.REFUND_AMOUNT, S.UNIT_PRICE):
        assert orders[col].dtype == np.dtype("float64"), col


def test_sample_orders_ids(orders: pd.DataFrame, per_order: pd.DataFrame) -> None:
    assert orders[S.ORDER_ID].str.fullmatch(r"[1-9]\d{18}").all()
    # one customer, one time, one status and one channel per order
    per = orders.groupby(S.ORDER_ID, observed=True)[
        [S.CUSTOMER_ID, S.ORDER_TIME, S.STATUS, S.CHANNEL]
    ].nunique()
    assert (per == 1).all().all()
    # no product twice in one order
    assert not orders.duplicated([S.ORDER_ID, S.PRODUCT_ID]).any()
    assert orders[S.ORDER_TIME].is_monotonic_increasing


def test_sample_orders_size_and_period(orders: pd.DataFrame, per_order: pd.DataFrame) -> None:
    assert 4_500 <= orders[S.CUSTOMER_ID].nunique() <= 5_500
    assert 8_000 <= len(per_order) <= 12_000
    assert orders[S.ORDER_TIME].min() >= pd.Timestamp("2023-01-01")
    assert orders[S.ORDER_TIME].max() < pd.Timestamp("2025-01-01")
    lines = orders.groupby(S.ORDER_ID).size()
    assert lines.min() == 1 and lines.max() == 4
    assert 6 <= orders[S.CATEGORY].nunique() <= 8
    assert 55 <= orders[S.PRODUCT_ID].nunique() <= 65
    assert set(orders[S.CHANNEL]) == {"淘宝", "天猫", "抖音", "小程序"}


def test_sample_one_order_share(orders: pd.DataFrame) -> None:
    paid = orders[orders[S.STATUS] == S.PAID]
    n_orders = paid.groupby(S.CUSTOMER_ID)[S.ORDER_ID].nunique()
    assert 0.60 <= (n_orders == 1).mean() <= 0.80
    # repeat buyers with very different rates
    assert n_orders.max() >= 10


def test_sample_status_shares(per_order: pd.DataFrame) -> None:
    share = per_order[S.STATUS].value_counts(normalize=True)
    assert set(share.index) == set(S.STATUSES)
    assert 0.05 <= share[S.UNPAID] <= 0.08
    assert 0.02 <= share[S.CANCELLED] <= 0.03
    assert 0.02 <= share[S.REFUNDED] <= 0.04


def test_sample_refunds(orders: pd.DataFrame) -> None:
    refund, amount = orders[S.REFUND_AMOUNT], orders[S.AMOUNT]
    assert (refund >= 0).all()
    assert (refund <= amount).all()
    refunded = orders[S.STATUS] == S.REFUNDED
    assert (refund[refunded] == amount[refunded]).all()
    not_paid = orders[S.STATUS].isin([S.UNPAID, S.CANCELLED])
    assert (refund[not_paid] == 0).all()
    partial = (orders[S.STATUS] == S.PAID) & (refund > 0)
    assert (refund[partial] < amount[partial]).all()
    n_paid_orders = orders.loc[orders[S.STATUS] == S.PAID, S.ORDER_ID].nunique()
    assert 0.02 <= orders.loc[partial, S.ORDER_ID].nunique() / n_paid_orders <= 0.07


def test_sample_prices(orders: pd.DataFrame) -> None:
    assert (orders[S.AMOUNT] > 0).all()
    assert (orders[S.QUANTITY] >= 1).all()
    # the coupon only lowers what a line pays
    assert (orders[S.AMOUNT] <= orders[S.UNIT_PRICE] * orders[S.QUANTITY] + 0.005).all()
    assert (orders[S.AMOUNT] >= 0.5 * orders[S.UNIT_PRICE] * orders[S.QUANTITY]).all()
    # one list price per product, festival prices below it
    assert orders.groupby(S.PRODUCT_ID)[S.PRODUCT_NAME].nunique().eq(1).all()


def test_sample_paid_time(orders: pd.DataFrame) -> None:
    was_paid = orders[S.STATUS].isin([S.PAID, S.REFUNDED])
    assert orders.loc[was_paid, S.PAID_TIME].notna().all()
    assert orders.loc[~was_paid, S.PAID_TIME].isna().all()
    delay = orders[S.PAID_TIME] - orders[S.ORDER_TIME]
    assert (delay[was_paid] >= pd.Timedelta(0)).all()
    assert delay[was_paid].median() < pd.Timedelta(minutes=10)


def test_sample_seasonality(per_order: pd.DataFrame) -> None:
    daily = per_order.groupby(per_order[S.ORDER_TIME].dt.normalize()).size()
    typical = daily.median()
    for day in ("2023-06-18", "2023-11-11", "2024-06-18", "2024-11-11"):
        assert daily[pd.Timestamp(day)] > 3 * typical, day
    weekday = per_order[S.ORDER_TIME].dt.day_of_week
    assert (weekday >= 5).mean() > 2 / 7  # weekends busier than weekdays
    hour = per_order[S.ORDER_TIME].dt.hour
    assert (hour.between(19, 23)).mean() > (hour.between(2, 6)).mean() * 5
    # the shop grows: more orders in 2024 than in 2023
    year = per_order[S.ORDER_TIME].dt.year
    assert (year == 2024).sum() > 1.2 * (year == 2023).sum()


def test_load_sample_returns_new_frames() -> None:
    first = load_sample()
    first.loc[0, S.AMOUNT] = -1.0
    assert load_sample().loc[0, S.AMOUNT] > 0


# --------------------------------------------------------------------------------------
# customers and campaign
# --------------------------------------------------------------------------------------
def test_sample_customers(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    assert list(customers.columns) == [
        S.CUSTOMER_ID,
        S.GENDER,
        S.BIRTHDAY,
        S.REGION,
        S.CITY,
        S.MEMBER_LEVEL,
        S.POINTS,
        S.SIGNUP_TIME,
        S.TAGS,
    ]
    assert customers[S.CUSTOMER_ID].is_unique
    assert set(orders[S.CUSTOMER_ID]) <= set(customers[S.CUSTOMER_ID])
    never = ~customers[S.CUSTOMER_ID].isin(orders[S.CUSTOMER_ID])
    assert 0.08 <= never.mean() <= 0.12
    assert set(customers[S.GENDER]) == set(S.GENDERS)
    assert customers[S.BIRTHDAY].dtype == np.dtype("datetime64[ns]")
    assert customers[S.SIGNUP_TIME].dtype == np.dtype("datetime64[ns]")
    assert customers[S.SIGNUP_TIME].notna().all()
    assert customers[S.POINTS].dtype == np.dtype("int64")
    assert (customers[S.POINTS] >= 0).all()
    assert customers[S.REGION].str.endswith(("省", "市", "自治区")).all()
    assert set(customers[S.MEMBER_LEVEL]) == {"普通会员", "高级会员", "VIP会员", "至尊VIP会员"}
    assert customers[S.TAGS].isna().any() and customers[S.TAGS].notna().any()


def test_sample_campaign_table(campaign: pd.DataFrame, orders: pd.DataFrame) -> None:
    assert list(campaign.columns) == [
        S.CUSTOMER_ID,
        "campaign_id",
        "group",
        "sent_time",
        "opened_time",
        "clicked_time",
    ]
    assert len(campaign) == 2_000
    assert campaign[S.CUSTOMER_ID].is_unique
    assert set(campaign["group"]) == {"treatment", "control"}
    control = campaign["group"] == "control"
    assert 0.2 <= control.mean() <= 0.4
    times = campaign[["sent_time", "opened_time", "clicked_time"]]
    assert times[control].isna().all().all()
    treated = campaign[~control]
    assert treated["sent_time"].notna().all()
    assert (
        treated["opened_time"].dropna() >= treated["sent_time"][treated["opened_time"].notna()]
    ).all()
    assert treated.loc[treated["clicked_time"].notna(), "opened_time"].notna().all()
    assert (
        treated["clicked_time"].dropna() >= treated["opened_time"][treated["clicked_time"].notna()]
    ).all()
    # every targeted customer had lapsed: a paid order before, none in the last 120 days
    paid = orders[orders[S.STATUS] == S.PAID]
    before = paid[paid[S.ORDER_TIME] < CAMPAIGN_SEND].groupby(S.CUSTOMER_ID)[S.ORDER_TIME].max()
    last = before.reindex(campaign[S.CUSTOMER_ID])
    assert last.notna().all()
    assert (last < CAMPAIGN_SEND - pd.Timedelta(days=120)).all()


def test_sample_campaign_uplift(campaign: pd.DataFrame, orders: pd.DataFrame) -> None:
    paid = orders[orders[S.STATUS] == S.PAID]
    window = paid[
        (paid[S.ORDER_TIME] >= CAMPAIGN_SEND)
        & (paid[S.ORDER_TIME] < CAMPAIGN_SEND + pd.Timedelta(days=30))
    ]
    bought = campaign[S.CUSTOMER_ID].isin(window[S.CUSTOMER_ID])
    rate = bought.groupby(campaign["group"]).mean()
    assert rate["treatment"] > rate["control"] + 0.03
    assert rate["treatment"] > 2 * rate["control"]
    # clickers respond most
    clicked = campaign["clicked_time"].notna()
    assert bought[clicked].mean() > bought[(campaign["group"] == "treatment") & ~clicked].mean()


# --------------------------------------------------------------------------------------
# bundled files
# --------------------------------------------------------------------------------------
def test_sample_path_names() -> None:
    for name, file_name in [
        ("orders", "sample_orders.parquet"),
        ("customers", "sample_customers.parquet"),
        ("campaign", "sample_campaign.parquet"),
        ("taobao", "taobao_orders.csv"),
        ("taobao_orders.csv", "taobao_orders.csv"),
    ]:
        path = sample_path(name)
        assert path.name == file_name
        assert path.is_file()
        assert path.stat().st_size < 3_000_000
    assert crm.datasets.sample_path("taobao") == sample_path("taobao")


def test_sample_path_unknown_name_hint() -> None:
    with pytest.raises(InvalidDataError, match="no bundled file called 'tmall'") as info:
        sample_path("tmall")
    message = str(info.value)
    assert "Available names: ['orders', 'customers', 'campaign', 'taobao']" in message
    assert 'Hint: sample_path("taobao")' in message


@pytest.mark.skipif(not READABLE.is_dir(), reason="needs the source checkout")
def test_readable_copies_match_package(orders: pd.DataFrame, customers: pd.DataFrame) -> None:
    for name in ("orders.csv", "customers.csv", "campaign.csv", "taobao_orders.csv"):
        assert (READABLE / name).stat().st_size < 3_000_000, name
    assert (READABLE / "taobao_orders.csv").read_bytes() == sample_path("taobao").read_bytes()
    text = pd.read_csv(READABLE / "orders.csv", dtype={S.ORDER_ID: str, S.CUSTOMER_ID: str})
    assert list(text.columns) == list(orders.columns)
    assert text[S.ORDER_ID].tolist() == orders[S.ORDER_ID].tolist()
    assert text[S.CUSTOMER_ID].tolist() == orders[S.CUSTOMER_ID].tolist()
    assert np.allclose(text[S.AMOUNT], orders[S.AMOUNT])
    assert text[S.STATUS].tolist() == orders[S.STATUS].astype(str).tolist()
    times = pd.to_datetime(text[S.PAID_TIME], format="%Y-%m-%d %H:%M:%S")
    assert times.astype("datetime64[ns]").equals(orders[S.PAID_TIME])
    members = pd.read_csv(READABLE / "customers.csv", dtype={S.CUSTOMER_ID: str})
    assert members[S.CUSTOMER_ID].tolist() == customers[S.CUSTOMER_ID].tolist()
    campaign = pd.read_csv(READABLE / "campaign.csv", dtype={S.CUSTOMER_ID: str})
    assert len(campaign) == 2_000


# --------------------------------------------------------------------------------------
# the Taobao-style export
# --------------------------------------------------------------------------------------
def test_taobao_export_layout() -> None:
    raw = sample_path("taobao").read_bytes()
    text = raw.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[-1] == ""  # the file ends with a line break
    lines = lines[:-1]
    assert lines[0] == TAOBAO_HEADER
    assert all(line.endswith(",") for line in lines)
    assert all(line.startswith('="') for line in lines[1:])


def test_taobao_export_rows(taobao: pd.DataFrame, per_order: pd.DataFrame) -> None:
    assert list(taobao.columns[:12]) == TAOBAO_HEADER.split(",")[:12]
    assert taobao.columns[12].startswith("Unnamed")  # the blank trailing column
    assert (taobao.iloc[:, 12] == "").all()
    # one row per order, plus the two duplicated lines
    assert len(taobao) == len(per_order) + 2
    assert taobao["订单编号"].str.fullmatch(r'="[1-9]\d{18}"').all()
    ids = taobao["订单编号"].str.slice(2, -1)
    assert set(ids) == set(per_order[S.ORDER_ID])
    # the broken rows, as documented in scripts/make_sample_data.py
    assert (taobao["买家会员名"] == "").sum() == 3
    assert (taobao["订单创建时间"] == "--").sum() == 2
    assert taobao.duplicated().sum() == 2
    good_times = taobao.loc[taobao["订单创建时间"] != "--", "订单创建时间"]
    assert good_times.str.fullmatch(r"20\d\d/\d{1,2}/\d{1,2} \d\d:\d\d:\d\d").all()
    assert good_times.str.fullmatch(r"20\d\d/\d/\d \d\d:\d\d:\d\d").any()  # no zero padding
    # money both as ¥1,234.50 and 1234.50
    money = taobao["买家实际支付金额"]
    assert money.str.startswith("¥").any() and (~money.str.startswith("¥")).any()
    assert money.str.fullmatch(r"¥\d{1,3}(,\d{3})+\.\d\d").any()
    assert money.str.fullmatch(r"\d+\.\d\d").any()


def test_taobao_export_matches_sample(taobao: pd.DataFrame, orders: pd.DataFrame) -> None:
    export = taobao.drop_duplicates().copy()
    export[S.ORDER_ID] = export["订单编号"].str.slice(2, -1)
    export = export.set_index(S.ORDER_ID)
    per = orders.groupby(S.ORDER_ID).agg(
        customer=(S.CUSTOMER_ID, "first"),
        status=(S.STATUS, "first"),
        amount=(S.AMOUNT, "sum"),
        refund=(S.REFUND_AMOUNT, "sum"),
        quantity=(S.QUANTITY, "sum"),
        paid_time=(S.PAID_TIME, "first"),
    )
    per = per.reindex(export.index)
    assert np.allclose(_money(export["买家实际支付金额"]), per["amount"], atol=0.005)
    assert np.allclose(_money(export["退款金额"]), per["refund"], atol=0.005)
    assert (export["宝贝总数量"].astype(int) == per["quantity"]).all()
    named = export["买家会员名"] != ""
    assert (export.loc[named, "买家会员名"] == per.loc[named, "customer"]).all()
    status = per["status"].astype(str)
    text = export["订单状态"]
    assert (text[status == S.UNPAID] == "等待买家付款").all()
    assert (text[status.isin([S.CANCELLED, S.REFUNDED])] == "交易关闭").all()
    assert (
        text[status == S.PAID]
        .isin(["交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货"])
        .all()
    )
    assert set(text) == {
        "交易成功",
        "卖家已发货，等待买家确认",
        "买家已付款，等待卖家发货",
        "等待买家付款",
        "交易关闭",
    }
    # 订单付款时间 blank exactly when the order was never paid
    assert ((export["订单付款时间"] == "") == per["paid_time"].isna()).all()
    # closed orders: refunded ones refund everything, cancelled ones nothing
    closed = text == "交易关闭"
    paid_back = _money(export["退款金额"]) == _money(export["买家实际支付金额"])
    assert (paid_back[closed] == (status[closed] == S.REFUNDED)).all()


# --------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.skipif(not SCRIPT.is_file(), reason="needs the source checkout")
def test_generator_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_sample_data", module)  # for its dataclass
    spec.loader.exec_module(module)
    assert module.main(["--out-dir", str(tmp_path), "--quiet"]) == 0
    for name in ("orders.csv", "customers.csv", "campaign.csv", "taobao_orders.csv"):
        assert _sha256(tmp_path / name) == _sha256(READABLE / name), name
    assert _sha256(tmp_path / "taobao_orders.csv") == _sha256(sample_path("taobao"))
    regenerated = pd.read_parquet(tmp_path / "sample_orders.parquet")
    pd.testing.assert_frame_equal(
        crm.datasets._canonical_orders(regenerated), load_sample(), check_exact=True
    )


# --------------------------------------------------------------------------------------
# CDNOW
# --------------------------------------------------------------------------------------
def test_cdnow_master_counts(cdnow: pd.DataFrame) -> None:
    assert cdnow.shape == (69_659, 7)
    assert list(cdnow.columns) == [
        S.ORDER_ID,
        S.CUSTOMER_ID,
        S.ORDER_TIME,
        S.AMOUNT,
        S.STATUS,
        S.REFUND_AMOUNT,
        S.QUANTITY,
    ]
    assert cdnow[S.CUSTOMER_ID].nunique() == 23_570
    assert (cdnow[S.AMOUNT] == 0).sum() == 80
    assert cdnow[S.ORDER_ID].is_unique
    assert cdnow[S.ORDER_TIME].min() == pd.Timestamp("1997-01-01")
    assert cdnow[S.ORDER_TIME].max() == pd.Timestamp("1998-06-30")
    assert cdnow[S.CUSTOMER_ID].iloc[0] == "00001"
    assert cdnow[S.QUANTITY].sum() == 167_881


def test_cdnow_dtypes(cdnow: pd.DataFrame) -> None:
    assert pd.api.types.is_string_dtype(cdnow[S.ORDER_ID])
    assert pd.api.types.is_string_dtype(cdnow[S.CUSTOMER_ID])
    assert cdnow[S.CUSTOMER_ID].str.fullmatch(r"\d{5}").all()
    assert cdnow[S.ORDER_TIME].dtype == np.dtype("datetime64[ns]")
    assert cdnow[S.AMOUNT].dtype == np.dtype("float64")
    assert cdnow[S.QUANTITY].dtype == np.dtype("int64")
    assert list(cdnow[S.STATUS].cat.categories) == list(S.STATUSES)
    assert (cdnow[S.STATUS] == S.PAID).all()
    assert (cdnow[S.REFUND_AMOUNT] == 0).all()
    # order ids count each customer's rows in date order
    second = cdnow[cdnow[S.ORDER_ID].str.endswith("-2")]
    first = cdnow.set_index(S.ORDER_ID).loc[second[S.CUSTOMER_ID] + "-1", S.ORDER_TIME]
    assert (first.to_numpy() <= second[S.ORDER_TIME].to_numpy()).all()


def test_cdnow_sample() -> None:
    sample = load_cdnow(kind="sample")
    assert sample.shape == (6_919, 7)
    assert sample[S.CUSTOMER_ID].nunique() == 2_357
    # the first id column: the master file's ids
    assert sample[S.CUSTOMER_ID].iloc[0] == "00004"
    assert sample[S.CUSTOMER_ID].str.fullmatch(r"\d{5}").all()


def test_cdnow_unknown_kind_hint() -> None:
    with pytest.raises(InvalidDataError, match="kind must be one of") as info:
        load_cdnow(kind="full")  # type: ignore[arg-type]
    assert "got 'full'" in str(info.value)
    assert 'Hint: load_cdnow() or load_cdnow(kind="master")' in str(info.value)


def test_cdnow_summary() -> None:
    summary = load_cdnow_summary()
    assert summary.shape == (2_357, 3)
    assert list(summary.columns) == ["frequency", "recency", "T"]
    assert summary.index.name == S.CUSTOMER_ID
    assert summary.index.is_unique
    assert (summary["frequency"] == 0).sum() == 1_411
    assert summary["frequency"].dtype == np.dtype("int64")
    assert (summary["recency"] <= summary["T"]).all()
    assert summary["T"].max() == pytest.approx(38.86)


def test_cdnow_summary_joins_the_sample_transactions() -> None:
    """The published statistics follow from load_cdnow("sample"), customer by customer.

    Calibration period 1997-01-01 .. 1997-09-30, purchases counted on distinct days,
    times in weeks.
    """
    summary = load_cdnow_summary()
    sample = load_cdnow(kind="sample")
    assert set(summary.index) == set(sample[S.CUSTOMER_ID])
    end = pd.Timestamp("1997-09-30")
    days = sample.loc[sample[S.ORDER_TIME] <= end, [S.CUSTOMER_ID, S.ORDER_TIME]]
    days = days.drop_duplicates()
    stats = days.groupby(S.CUSTOMER_ID)[S.ORDER_TIME].agg(["min", "max", "count"])
    stats = stats.reindex(summary.index)
    assert (stats["count"] - 1 == summary["frequency"]).all()
    weeks = (stats["max"] - stats["min"]).dt.days / 7
    assert np.allclose(weeks, summary["recency"], atol=0.006)
    assert np.allclose((end - stats["min"]).dt.days / 7, summary["T"], atol=0.006)


def test_cdnow_leaves_warning_filters_alone() -> None:
    had_lifetimes = "lifetimes" in sys.modules
    before = list(warnings.filters)
    load_cdnow()
    load_cdnow(kind="sample")
    load_cdnow_summary()
    assert warnings.filters == before
    if not had_lifetimes:
        assert "lifetimes" not in sys.modules


def test_cdnow_does_not_import_lifetimes_in_a_fresh_process() -> None:
    code = (
        "import sys, warnings\n"
        "import pandas\n"
        "import crm_analytics.datasets as datasets\n"
        "before = list(warnings.filters)\n"
        "datasets.load_cdnow(); datasets.load_cdnow_summary()\n"
        "assert warnings.filters == before, 'warning filters changed'\n"
        "assert 'lifetimes' not in sys.modules, 'lifetimes was imported'\n"
        "assert 'pkg_resources' not in sys.modules, 'pkg_resources was imported'\n"
    )
    src = str(Path(crm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
