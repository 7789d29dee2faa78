"""Loading real exports: platforms, encodings, quirks, quarantine, pseudonymisation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError

TAOBAO_HEADER = (
    "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,退款金额,"
    "收货人姓名,联系手机,收货地址,"
)
TAOBAO_ROWS = [
    '="4031234567890123456",tb_anna,"¥1,234.50",交易成功,2024/3/5 14:22:01,2024/3/5 14:25:00,连衣裙,2,0,张三,13800000000,北京市,',
    '="4031234567890123457",tb_bo,88.00,等待买家付款,2024/3/6 09:00:00,,T恤,1,0,李四,13900000000,上海市,',
    '="4031234567890123458",tb_anna,120.00,交易关闭,2024/3/7 10:00:00,2024/3/7 10:01:00,外套,1,120.00,张三,13800000000,北京市,',
    '="4031234567890123459",tb_cy,200.00,交易成功,2024/3/8 11:00:00,2024/3/8 11:02:00,裤子,1,50.00,王五,13700000000,广州市,',
    '="4031234567890123460",tb_dd,99.00,"买家已付款，等待卖家发货",2024/3/9 12:00:00,2024/3/9 12:00:30,帽子,3,0,赵六,13600000000,深圳市,',
    '="4031234567890123461",,15.00,交易成功,2024/3/9 13:00:00,2024/3/9 13:00:30,袜子,1,0,钱七,13500000000,杭州市,',
    '="4031234567890123462",tb_ee,15.00,交易成功,--,,袜子,1,0,孙八,13400000000,南京市,',
    '="4031234567890123460",tb_dd,99.00,"买家已付款，等待卖家发货",2024/3/9 12:00:00,2024/3/9 12:00:30,帽子,3,0,赵六,13600000000,深圳市,',
]


@pytest.fixture
def taobao_file(tmp_path: Path) -> Path:
    path = tmp_path / "ExportOrderList202403.csv"
    path.write_bytes(("\n".join([TAOBAO_HEADER, *TAOBAO_ROWS]) + "\n").encode("gb18030"))
    return path


# --------------------------------------------------------------------------- taobao
def test_taobao_gb18030_export(taobao_file: Path) -> None:
    load = crm.load_orders(taobao_file)
    assert load.platform == "taobao"
    assert load.encoding == "gb18030"
    orders = load.orders
    # 8 input rows: 1 missing buyer, 1 unparseable time, 1 exact duplicate
    assert len(orders) == 5 and len(load.rejected) == 3
    assert list(orders["order_id"][:2]) == ["4031234567890123456", "4031234567890123457"]
    assert orders["amount"].tolist() == [1234.5, 88.0, 120.0, 200.0, 99.0]
    # 交易关闭 with 退款金额 == paid -> refunded; partial refund stays paid
    assert orders["status"].astype(str).tolist() == ["paid", "unpaid", "refunded", "paid", "paid"]
    assert orders["refund_amount"].tolist() == [0.0, 0.0, 120.0, 50.0, 0.0]
    assert orders["quantity"].tolist() == [2, 1, 1, 1, 3]
    assert orders["order_time"].iloc[0] == pd.Timestamp("2024-03-05 14:22:01")
    assert pd.isna(orders["paid_time"].iloc[1])
    assert orders["product_name"].iloc[0] == "连衣裙"
    # the blank trailing column is gone, the unmapped ones are kept
    assert not any(c.startswith("Unnamed") for c in orders.columns)
    assert "收货地址" in orders.columns
    assert load.report()["rows"].to_dict() == {
        "missing customer id": 1,
        "unparseable order time": 1,
        "duplicate": 1,
    }


def test_rejected_rows_are_the_input_rows_unchanged(taobao_file: Path) -> None:
    load = crm.load_orders(taobao_file)
    raw = pd.read_csv(
        taobao_file, encoding="gb18030", dtype=str, keep_default_na=False, index_col=False
    )
    assert list(load.rejected.index) == [5, 6, 7]
    # the rows as read, less the blank column the trailing comma leaves behind
    blank = [c for c in raw.columns if c.startswith("Unnamed")]
    assert len(blank) == 1
    pd.testing.assert_frame_equal(
        load.rejected.drop(columns="reason"), raw.loc[[5, 6, 7]].drop(columns=blank)
    )


def test_read_orders_warns_with_counts_and_reasons(taobao_file: Path) -> None:
    with pytest.warns(DataQualityWarning, match=r"3 of 8 rows rejected \(.*missing customer id: 1"):
        orders = crm.read_orders(taobao_file)
    assert len(orders) == 5


def test_load_orders_does_not_warn(taobao_file: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        crm.load_orders(taobao_file)


def test_taobao_new_layout_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    content = (
        ' 订单编号 ,"买家会员名",买家实付金额,订单状态,买家下单时间,宝贝规格\n'
        "'4031234567890123456,tb_x,12元,交易成功,2024-01-02 03:04:05,红色;M\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    load = crm.load_orders(path)
    assert (load.platform, load.encoding) == ("taobao", "utf-8-sig")
    row = load.orders.iloc[0]
    assert row["order_id"] == "4031234567890123456"
    assert row["amount"] == 12.0
    assert row["order_time"] == pd.Timestamp("2024-01-02 03:04:05")
    assert row["宝贝规格"] == "红色;M"


# --------------------------------------------------------------------------- JD, Douyin, Shopify
def test_jd_order_total_is_split_over_lines() -> None:
    export = pd.DataFrame(
        {
            "订单号": ["2001", "2001", "2002"],
            "下单帐号": ["jd_u1", "jd_u1", "jd_u2"],
            "下单时间": ["2024-05-01 10:00:00"] * 2 + ["2024-05-02 10:00:00"],
            "应付金额": ["90.00", "90.00", "30.00"],
            "订单状态": ["完成", "完成", "等待付款"],
            "商品名称": ["A", "B", "C"],
            "订购数量": ["1", "2", "1"],
            "京东价": ["40", "25", "30"],
            "付款确认时间": ["2024-05-01 10:05:00"] * 2 + [""],
        }
    )
    load = crm.load_orders(export)
    assert load.platform == "jd"
    o = load.orders
    # order 2001 pays 90 for lines worth 40*1 and 25*2: 90*40/90 = 40, 90*50/90 = 50
    assert o["amount"].tolist() == pytest.approx([40.0, 50.0, 30.0])
    assert o.groupby("order_id")["amount"].sum().to_dict() == pytest.approx(
        {"2001": 90.0, "2002": 30.0}
    )
    assert o["status"].astype(str).tolist() == ["paid", "paid", "unpaid"]
    assert o["unit_price"].tolist() == [40.0, 25.0, 30.0]


def test_douyin_unit_price_and_after_sales_refund() -> None:
    export = pd.DataFrame(
        {
            "主订单编号": ["6911", "6912", "6913"],
            "买家昵称": ["dy_a", "dy_b", "dy_c"],
            "订单提交时间": ["2024-06-18 00:01:00", "2024-06-18 00:02:00", "2024-06-18 00:03:00"],
            "支付完成时间": ["2024-06-18 00:01:30", "2024-06-18 00:02:30", ""],
            "订单应付金额": ["59.8", "19.9", "9.9"],
            "商品金额": ["29.9", "19.9", "9.9"],
            "商品数量": ["2", "1", "1"],
            "订单状态": ["已完成", "已完成", "已关闭"],
            "售后状态": ["", "退款成功", ""],
        }
    )
    load = crm.load_orders(export)
    assert load.platform == "douyin"
    o = load.orders
    assert o["unit_price"].tolist() == [29.9, 19.9, 9.9]
    assert o["status"].astype(str).tolist() == ["paid", "refunded", "cancelled"]
    assert o["refund_amount"].tolist() == [0.0, 19.9, 0.0]


def test_shopify_line_items_and_time_zones() -> None:
    export = pd.DataFrame(
        {
            "Name": ["#1001", "#1001", "#1002"],
            "Email": ["ann@example.com", "ann@example.com", "bob@example.com"],
            "Financial Status": ["partially_refunded", "", "pending"],
            "Paid at": ["2024-03-01 23:30:00 +0800", "", ""],
            "Created at": [
                "2024-03-01 23:30:00 +0800",
                "2024-03-01 23:30:00 +0800",
                "2024-03-02 10:00:00 -0500",
            ],
            "Total": ["100.00", "", "20.00"],
            "Refunded Amount": ["10.00", "", "0.00"],
            "Lineitem name": ["Mug", "Tea", "Cap"],
            "Lineitem quantity": ["1", "3", "1"],
            "Lineitem price": ["25.00", "25.00", "20.00"],
            "Lineitem sku": ["MUG-1", "TEA-3", "CAP-2"],
            "Billing Name": ["Ann Lee", "Ann Lee", "Bob Ray"],
        }
    )
    load = crm.load_orders(export)
    assert load.platform == "shopify"
    o = load.orders
    assert o["customer_id"].tolist() == ["ann@example.com"] * 2 + ["bob@example.com"]
    # total 100 split 25:75 by line value; refund 10 split the same way
    assert o["amount"].tolist() == pytest.approx([25.0, 75.0, 20.0])
    assert o["refund_amount"].tolist() == pytest.approx([2.5, 7.5, 0.0])
    assert o["status"].astype(str).tolist() == ["paid", "paid", "unpaid"]
    # without tz= the wall-clock time of the export is kept
    assert o["order_time"].iloc[0] == pd.Timestamp("2024-03-01 23:30:00")
    in_utc = crm.load_orders(export, tz="UTC").orders
    assert in_utc["order_time"].iloc[0] == pd.Timestamp("2024-03-01 15:30:00")
    assert in_utc["order_time"].iloc[2] == pd.Timestamp("2024-03-02 15:00:00")
    assert o["product_id"].tolist() == ["MUG-1", "TEA-3", "CAP-2"]


def test_aware_column_converted_to_shop_zone() -> None:
    # 23:30 and 00:30 Asia/Shanghai: two local days, one UTC day
    utc = pd.to_datetime(["2024-01-01 15:30", "2024-01-01 16:30"]).tz_localize("UTC")
    frame = pd.DataFrame(
        {"order_id": ["1", "2"], "customer_id": ["a", "a"], "order_time": utc, "amount": [1.0, 2.0]}
    )
    o = crm.read_orders(frame, tz="Asia/Shanghai")
    assert o["order_time"].dt.day.tolist() == [1, 2]
    assert o["order_time"].dt.tz is None
    assert crm.customer_summary(o)["frequency"].iloc[0] == 1.0


# --------------------------------------------------------------------------- values
def test_ids_from_spreadsheets_survive_exactly() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ['="1234567890123456789"', "'0012", "\t77", "123.0", "1.23457E+18"],
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "order_time": ["2024-01-01"] * 5,
            "amount": ["1"] * 5,
        }
    )
    ids = crm.read_orders(frame)["order_id"].tolist()
    assert ids == ["1234567890123456789", "0012", "77", "123", "1234570000000000000"]


def test_money_formats() -> None:
    amounts = ["¥1,234.50", "$12.00", "12元", "￥ 8", "(3.50)", "1 000", "abc"]
    frame = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(7)],
            "customer_id": ["c"] * 7,
            "order_time": ["2024-01-01"] * 7,
            "amount": amounts,
        }
    )
    load = crm.load_orders(frame)
    assert load.orders["amount"].tolist() == [1234.5, 12.0, 12.0, 8.0, 0.0, 1000.0]
    assert load.rejected["reason"].tolist() == ["unparseable amount"]


def test_mixed_date_formats_in_one_column_do_not_shift_each_other() -> None:
    times = [
        "2024/3/5 14:22:01",  # an odd first value must not fix the format of the rest
        "2024-03-06",
        "45356.5",  # Excel serial: 2024-03-05 12:00
        "2024-03-07T08:00:00",
        "20240308",
        "2024年3月9日 10:00",
        "March 10, 2024",
        "2024-03-11 08:00:00.250",
        "--",
    ]
    frame = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(9)],
            "customer_id": ["c"] * 9,
            "order_time": times,
            "amount": [1.0] * 9,
        }
    )
    load = crm.load_orders(frame)
    assert load.orders["order_time"].tolist() == [
        pd.Timestamp("2024-03-05 14:22:01"),
        pd.Timestamp("2024-03-06"),
        pd.Timestamp("2024-03-05 12:00"),
        pd.Timestamp("2024-03-07 08:00"),
        pd.Timestamp("2024-03-08"),
        pd.Timestamp("2024-03-09 10:00"),
        pd.Timestamp("2024-03-10"),
        pd.Timestamp("2024-03-11 08:00:00.250"),
    ]
    assert load.rejected["reason"].tolist() == ["unparseable order time"]


def test_negative_amounts_are_refunds_netted_against_their_order() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["A", "A", "B", "C"],
            "customer_id": ["u", "u", "v", "w"],
            "order_time": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-03"],
            "amount": [100.0, -30.0, 50.0, -20.0],
        }
    )
    load = crm.load_orders(frame)
    o = load.orders
    assert len(o) == 4  # no row lost
    assert o["status"].astype(str).tolist() == ["paid", "refunded", "paid", "refunded"]
    assert o["refund_amount"].tolist() == [30.0, 0.0, 0.0, 20.0]  # C has no sale in the file
    assert o["amount"].tolist() == [100.0, 0.0, 50.0, 0.0]
    s = crm.customer_summary(o)
    assert s["monetary_total"].to_dict() == {"u": 70.0, "v": 50.0}
    assert s.loc["u", "n_orders"] == 1 and s.loc["u", "frequency"] == 0  # the refund is no repeat
    assert "netted" in " ".join(load.notes)


def test_negative_row_covering_the_order_makes_it_refunded() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["A", "A"],
            "customer_id": ["u", "u"],
            "order_time": ["2024-01-01", "2024-01-02"],
            "amount": [40, -40],
        }
    )
    o = crm.read_orders(frame)
    assert o["status"].astype(str).tolist() == ["refunded", "refunded"]
    assert crm.customer_summary(o.assign(customer_id=["u", "u"])).empty


def test_unknown_status_rejected_and_status_map_fixes_it() -> None:
    frame = pd.DataFrame(
        {"order_id": ["1", "2"], "customer_id": ["a", "b"], "order_time": ["2024-01-01"] * 2,
         "amount": [1.0, 2.0], "status": ["completed", "awaiting_pickup"]}
    )  # fmt: skip
    load = crm.load_orders(frame)
    assert load.rejected["reason"].tolist() == ["unknown status"]
    fixed = crm.load_orders(frame, status_map={"awaiting_pickup": "paid"})
    assert fixed.orders["status"].astype(str).tolist() == ["paid", "paid"]
    with pytest.raises(InvalidDataError, match="status_map"):
        crm.load_orders(frame, status_map={"awaiting_pickup": "done"})


# --------------------------------------------------------------------------- columns and errors
def test_missing_required_column_names_it_and_the_nearest_header() -> None:
    frame = pd.DataFrame(
        {"order_id": ["1"], "customr": ["a"], "order_time": ["2024-01-01"], "amount": ["1"]}
    )
    with pytest.raises(ColumnNotFoundError) as info:
        crm.read_orders(frame)
    message = str(info.value)
    assert "'customer_id'" in message
    assert "Headers found: ['order_id', 'customr', 'order_time', 'amount']" in message
    assert "Nearest match: 'customr'" in message
    assert "mapping={'customer_id': 'customr'}" in message
    assert isinstance(info.value, KeyError)


def test_mapping_override_in_either_direction_and_own_order_ids() -> None:
    frame = pd.DataFrame(
        {"Buyer Nick": ["a", "b"], "When": ["2024-01-01", "2024-01-02"], "Paid": ["1", "2"]}
    )
    a = crm.read_orders(
        frame,
        mapping={
            "customer_id": "Buyer Nick",
            "order_time": "When",
            "amount": "Paid",
            "order_id": None,
        },
    )
    b = crm.read_orders(
        frame,
        mapping={
            "Buyer Nick": "customer_id",
            "When": "order_time",
            "Paid": "amount",
            "order_id": None,
        },
    )
    pd.testing.assert_frame_equal(a, b)
    assert a["order_id"].tolist() == ["0", "1"]
    with pytest.raises(ColumnNotFoundError, match="did you mean 'Buyer Nick'"):
        crm.read_orders(frame, mapping={"customer_id": "Buyer Nik"})
    with pytest.raises(InvalidDataError, match="names no canonical column"):
        crm.read_orders(frame, mapping={"Buyer Nick": "buyer"})


def test_unknown_platform_is_a_clear_error() -> None:
    with pytest.raises(InvalidDataError, match="Choose one of"):
        crm.read_orders(pd.DataFrame(), platform="amazon")


def test_platform_profiles_are_data() -> None:
    profile = crm.io.platform_profile("jd")
    assert profile["orders"]["status"]["等待付款"] == "unpaid"
    profile["orders"]["status"]["等待付款"] = "paid"  # a copy: the shipped profile is unchanged
    assert crm.io.platform_profile("jd")["orders"]["status"]["等待付款"] == "unpaid"


# --------------------------------------------------------------------------- sources
def _generic_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["10", "11", "12"],
            "customer_id": ["a", "b", "a"],
            "order_time": ["2024-01-01 10:00", "2024-01-02 11:00", "2024-02-01 12:00"],
            "amount": ["10.5", "20", "30"],
            "status": ["paid", "paid", "refunded"],
        }
    )


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "jsonl", "xlsx", "folder", "csv.gz"])
def test_every_source_kind_gives_the_same_orders(tmp_path: Path, kind: str) -> None:
    frame = _generic_frame()
    if kind == "csv":
        path = tmp_path / "o.csv"
        frame.to_csv(path, index=False)
    elif kind == "csv.gz":
        path = tmp_path / "o.csv.gz"
        frame.to_csv(path, index=False)
    elif kind == "tsv":
        path = tmp_path / "o.tsv"
        frame.to_csv(path, index=False, sep="\t")
    elif kind == "parquet":
        path = tmp_path / "o.parquet"
        frame.to_parquet(path)
    elif kind == "jsonl":
        path = tmp_path / "o.jsonl"
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif kind == "xlsx":
        path = tmp_path / "o.xlsx"
        frame.to_excel(path, index=False)
    else:
        path = tmp_path / "parts"
        path.mkdir()
        frame.iloc[:2].to_parquet(path / "part-0.parquet")
        frame.iloc[2:].to_parquet(path / "part-1.parquet")
    got = crm.read_orders(path)
    expected = crm.read_orders(frame)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert got["status"].astype(str).tolist() == ["paid", "paid", "refunded"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no file or folder"):
        crm.read_orders(tmp_path / "nope.csv")


def test_polars_frame_as_source() -> None:
    pl = pytest.importorskip("polars")
    frame = _generic_frame()
    pd.testing.assert_frame_equal(crm.read_orders(pl.from_pandas(frame)), crm.read_orders(frame))


def test_input_frame_is_not_mutated(taobao_file: Path) -> None:
    frame = pd.read_csv(
        taobao_file, encoding="gb18030", dtype=str, keep_default_na=False, index_col=False
    )
    before = frame.copy(deep=True)
    crm.load_orders(frame)
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------- pseudonymisation
def test_pseudonymize_is_keyed_stable_and_drops_personal_columns(taobao_file: Path) -> None:
    a = crm.load_orders(taobao_file, pseudonymize="k1").orders
    b = crm.load_orders(taobao_file, pseudonymize="k1").orders
    c = crm.load_orders(taobao_file, pseudonymize="k2").orders
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    assert set(a["customer_id"]).isdisjoint(c["customer_id"])
    assert not {"tb_anna", "tb_bo"} & set(a["customer_id"])
    assert a["customer_id"].str.fullmatch(r"[0-9a-f]{20}").all()
    # same customer, same pseudonym
    assert a["customer_id"].iloc[0] == a["customer_id"].iloc[2]
    for personal in ("收货人姓名", "联系手机", "收货地址"):
        assert personal not in a.columns
    kept = crm.load_orders(taobao_file, pseudonymize="k1", keep_personal=True).orders
    assert "收货地址" in kept.columns


def test_pseudonymized_customers_join_orders() -> None:
    orders = pd.DataFrame(
        {
            "order_id": ["1"],
            "customer_id": ["tb_anna"],
            "order_time": ["2024-01-01"],
            "amount": ["5"],
        }
    )
    customers = pd.DataFrame({"会员名": ["tb_anna"], "性别": ["女"], "手机号": ["13800000000"]})
    o = crm.read_orders(orders, pseudonymize="secret")
    c = crm.read_customers(customers, pseudonymize="secret")
    assert o["customer_id"].iloc[0] in c.index
    assert "phone" not in c.columns


# --------------------------------------------------------------------------- customers
def test_customers_taobao_members() -> None:
    export = pd.DataFrame(
        {
            "会员名": ["tb_a", "tb_b", "tb_a", ""],
            "性别": ["女", "男", "女", "男"],
            "生日": ["1990-05-01", "2000/01/31", "1990-05-01", ""],
            "省份": ["浙江", "广东", "浙江", "北京"],
            "会员等级": ["VIP1", "VIP2", "VIP3", "VIP1"],
            "积分": ["1,200", "30", "1,500", "0"],
            "入会时间": ["2022-01-01", "2023-06-30", "2022-01-01", "2023-01-01"],
            "更新时间": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-01"],
        }
    )
    load = crm.load_customers(export)
    assert load.platform == "taobao"
    c = load.customers
    assert list(c.index) == ["tb_b", "tb_a"]
    assert c.loc["tb_a", "member_level"] == "VIP3"  # newest record (updated 2024-03-01) wins
    assert c.loc["tb_a", "points"] == 1500
    assert c["gender"].tolist() == ["male", "female"]
    assert c["region"].tolist() == ["广东", "浙江"]
    # age at the latest update (2024-03-01): born 2000-01-31 -> 24, 1990-05-01 -> 33
    assert c["age"].tolist() == [24, 33]
    assert load.report()["rows"].to_dict() == {
        "duplicate customer id (older record)": 1,
        "missing customer id": 1,
    }
    assert len(c) + len(load.rejected) == len(export)


def test_customers_shopify_export() -> None:
    export = pd.DataFrame(
        {
            "Customer ID": ["1", "2"],
            "First Name": ["Ann", "Bob"],
            "Last Name": ["Lee", "Ray"],
            "Email": ["ann@example.com", "bob@example.com"],
            "Accepts Email Marketing": ["yes", "no"],
            "Province": ["Ontario", "Quebec"],
            "Country": ["Canada", "Canada"],
            "Tags": ["vip", ""],
            "Created at": ["2023-01-01 10:00:00 -0500", "2023-02-01 10:00:00 -0500"],
        }
    )
    c = crm.read_customers(export)
    assert list(c.index) == ["ann@example.com", "bob@example.com"]
    assert c["accepts_marketing"].tolist() == [True, False]
    assert c["signup_time"].iloc[0] == pd.Timestamp("2023-01-01 10:00")
    assert c["first_name"].tolist() == ["Ann", "Bob"]
    assert "Customer ID" in c.columns  # unmapped columns are kept


def test_customers_without_id_column_is_an_error() -> None:
    with pytest.raises(ColumnNotFoundError, match="customer_id"):
        crm.read_customers(pd.DataFrame({"性别": ["女"]}))


# --------------------------------------------------------------------------- properties
_cell = st.one_of(
    st.just(""),
    st.text(alphabet="0123456789", min_size=1, max_size=22),
    st.text(alphabet="abcxyz-=' ¥$,.", min_size=1, max_size=6),
    st.sampled_from(["2024-01-02", "2024/1/3 10:00", "45300", "--", "12.5", "¥1,000", "-3"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_cell, _cell, _cell, _cell), min_size=1, max_size=25))
def test_loader_never_loses_or_invents_rows(rows: list[tuple[str, str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_time", "amount"])
    load = crm.load_orders(frame)
    assert len(load.orders) + len(load.rejected) == len(frame)
    assert load.rejected.index.is_unique
    assert set(load.rejected.index) <= set(range(len(frame)))
    assert load.orders["order_time"].notna().all()
    assert load.orders["customer_id"].notna().all()
    assert np.isfinite(load.orders["amount"]).all()
    assert set(load.orders["status"].astype(str)) <= set(crm.schema.STATUSES)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789", min_size=1, max_size=25),
        min_size=1,
        max_size=20,
        unique=True,
    )
)
def test_numeric_ids_survive_exactly(ids: list[str]) -> None:
    frame = pd.DataFrame(
        {
            "order_id": ids,
            "customer_id": ['="' + i + '"' for i in ids],
            "order_time": ["2024-01-01"] * len(ids),
            "amount": ["1"] * len(ids),
        }
    )
    orders = crm.read_orders(frame)
    assert orders["order_id"].tolist() == ids
    assert orders["customer_id"].tolist() == ids


def test_loading_canonical_orders_is_the_identity() -> None:
    sample = crm.datasets.load_sample()
    load = crm.load_orders(sample)
    assert (load.platform, len(load.rejected)) == ("generic", 0)
    pd.testing.assert_frame_equal(load.orders, sample)


def test_sample_taobao_export_matches_the_canonical_sample() -> None:
    load = crm.load_orders(crm.datasets.sample_path("taobao"))
    assert (load.platform, load.encoding) == ("taobao", "gb18030")
    assert load.report()["rows"].to_dict() == {
        "missing customer id": 3,
        "duplicate": 2,
        "unparseable order time": 2,
    }
    exported = load.orders.set_index("order_id")
    sample = crm.datasets.load_sample()
    per_order = sample.groupby("order_id").agg(
        amount=("amount", "sum"), refund=("refund_amount", "sum"), status=("status", "first")
    )
    common = exported.index.intersection(per_order.index)
    assert len(common) == len(exported)  # every loaded order is a sample order
    np.testing.assert_allclose(
        exported.loc[common, "amount"], per_order.loc[common, "amount"], atol=0.005
    )
    np.testing.assert_allclose(
        exported.loc[common, "refund_amount"], per_order.loc[common, "refund"], atol=0.005
    )
    assert (
        exported.loc[common, "status"].astype(str) == per_order.loc[common, "status"].astype(str)
    ).all()


def test_rejected_rows_do_not_carry_the_blank_trailing_column(taobao_file: Path) -> None:
    rejected = crm.load_orders(taobao_file).rejected
    assert not [c for c in rejected.columns if str(c).startswith("Unnamed")]
    assert list(rejected.columns[:3]) == ["订单编号", "买家会员名", "买家实际支付金额"]


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_lazy_parquet_engines(tmp_path: Path, engine: str) -> None:
    pytest.importorskip(engine)
    sample = crm.datasets.load_sample()
    folder = tmp_path / "orders"
    folder.mkdir()
    plain = sample.assign(status=sample["status"].astype(str))
    plain.iloc[:5000].to_parquet(folder / "part-0.parquet")
    plain.iloc[5000:].to_parquet(folder / "part-1.parquet")
    expected = crm.customer_summary(sample)
    for source in (folder, str(folder / "*.parquet")):
        lazy = crm.read_orders(source, engine=engine)
        assert not isinstance(lazy, pd.DataFrame)  # nothing loaded yet
        got = crm.customer_summary(lazy)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)
    renamed = plain.rename(columns={"customer_id": "buyer"})
    renamed.to_parquet(tmp_path / "renamed.parquet")
    lazy = crm.read_orders(
        tmp_path / "renamed.parquet", engine=engine, mapping={"customer_id": "buyer"}
    )
    pd.testing.assert_frame_equal(
        crm.customer_summary(lazy), expected, check_dtype=False, check_index_type=False
    )
    with pytest.raises(ColumnNotFoundError, match=r"mapping=\{'customer_id': 'buyer'\}"):
        crm.read_orders(tmp_path / "renamed.parquet", engine=engine)
    with pytest.raises(FileNotFoundError, match="no file or folder"):
        crm.read_orders(tmp_path / "nope.parquet", engine=engine)
