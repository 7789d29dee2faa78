"""Tests of the refunds, reviews and points loaders (crm_analytics.io)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics.exceptions import ColumnNotFoundError, DataQualityWarning
from crm_analytics.io import (
    load_points,
    load_refunds,
    load_reviews,
    read_points,
    read_refunds,
)


def _taobao_refunds() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "退款编号": ["180001", "180002", "180003", "180003", "180004", "180005"],
            "订单编号": [
                '="4031234567890123456"',
                "4031234567890123457",
                "4031234567890123458",
                "4031234567890123458",
                "",
                "4031234567890123459",
            ],  # fmt: skip
            "买家会员名": ["tb_anna", "tb_bo", "tb_cy", "tb_cy", "tb_dd", "tb_ee"],
            "退款金额": ["¥59.00", "120.5", "30", "30", "10", "abc"],
            "退款原因": [
                "质量问题",
                "尺码拍错/不喜欢/效果不好",
                "快递一直未送达",
                "快递一直未送达",
                "其他",
                "七天无理由退换货",
            ],  # fmt: skip
            "申请时间": [
                "2024-06-03 10:00:00",
                "2024/6/5 21:30",
                "2024-06-07",
                "2024-06-07",
                "2024-06-08",
                "2024-06-09",
            ],  # fmt: skip
            "退款状态": [
                "退款成功",
                "退款关闭",
                "买家已经申请退款，等待卖家同意",
                "退款成功",
                "退款成功",
                "退款成功",
            ],  # fmt: skip
            "收货人姓名": ["安娜", "波", "cy", "cy", "dd", "ee"],
        }
    )


def test_taobao_refunds_from_a_gb18030_file(tmp_path) -> None:
    path = tmp_path / "退款管理.csv"
    _taobao_refunds().to_csv(path, index=False, encoding="gb18030")
    load = load_refunds(path)
    assert load.platform == "taobao"
    assert load.encoding == "gb18030"
    r = load.refunds
    # 6 rows: 180003 repeats its id (a later status), 180004 has no order, 180005 bad amount
    assert len(r) + len(load.rejected) == 6
    assert list(r["refund_id"]) == ["180001", "180002", "180003"]
    assert r["order_id"].iloc[0] == "4031234567890123456"  # ="..." repaired, never a float
    assert list(r["refund_amount"]) == [59.0, 120.5, 30.0]
    assert list(r["refund_status"]) == ["succeeded", "closed", "pending"]
    assert r["refund_time"].iloc[1] == pd.Timestamp("2024-06-05 21:30")
    assert list(load.rejected["reason"]) == [
        "refund id repeated",
        "missing order id",
        "unparseable refund amount",
    ]
    assert list(r.columns[:8]) == ["refund_id", "order_id", "customer_id", "refund_time",
                                   "refund_amount", "reason", "refund_status", "收货人姓名"]  # fmt: skip


def test_refunds_pseudonymised_with_the_orders_key() -> None:
    orders = pd.DataFrame(
        {
            "订单编号": ["4031234567890123456"],
            "买家会员名": ["tb_anna"],
            "买家实际支付金额": ["59"],
            "订单状态": ["交易成功"],
            "订单创建时间": ["2024-06-01 10:00:00"],
        }  # fmt: skip
    )
    o = crm.read_orders(orders, pseudonymize="k")
    with pytest.warns(DataQualityWarning, match="3 of 6 rows rejected"):
        r = read_refunds(_taobao_refunds(), pseudonymize="k")
    assert r["customer_id"].iloc[0] == o["customer_id"].iloc[0] != "tb_anna"
    assert "收货人姓名" not in r.columns  # personal column dropped
    kept = read_refunds(_taobao_refunds().iloc[:2], pseudonymize="k", keep_personal=True)
    assert "收货人姓名" in kept.columns


def test_refunds_generic_english_and_negative_amounts() -> None:
    export = pd.DataFrame(
        {
            "Order Number": ["#1001", "#1002"],
            "Refund Amount": ["-$12.50", "$8.00"],
            "Refund Reason": ["Item arrived damaged", "Too small"],
            "Refunded At": ["2024-05-01T10:00:00Z", "2024-05-02T10:00:00+08:00"],
            "Status": ["success", "Pending"],
        }
    )
    load = load_refunds(export, tz="Asia/Shanghai")
    r = load.refunds
    assert list(r["refund_amount"]) == [12.5, 8.0]
    assert "1 negative refund amounts read as their size" in load.notes
    assert list(r["refund_status"]) == ["succeeded", "pending"]
    assert list(r["refund_time"]) == [pd.Timestamp("2024-05-01 18:00"),
                                      pd.Timestamp("2024-05-02 10:00")]  # fmt: skip


def test_refunds_missing_column_error_names_the_fix() -> None:
    export = pd.DataFrame({"order": ["1"], "refnd": ["3"]})
    with pytest.raises(ColumnNotFoundError, match=r"refund_amount.*\n.*Headers found.*\n.*refnd"):
        load_refunds(export)
    r = load_refunds(export, mapping={"refund_amount": "refnd"}).refunds
    assert r["refund_amount"].tolist() == [3.0]


def test_refunds_unknown_status_kept_in_lower_case() -> None:
    export = pd.DataFrame({"order": ["1", "2"], "amount": ["3", "4"], "status": ["Escalated", ""]})
    r = load_refunds(export).refunds
    assert r["refund_status"].iloc[0] == "escalated"
    assert pd.isna(r["refund_status"].iloc[1])


# --------------------------------------------------------------------------- reviews
def test_taobao_reviews_with_labels() -> None:
    export = pd.DataFrame(
        {
            "订单编号": [
                "4031234567890123456",
                "4031234567890123457",
                "4031234567890123458",
                "4031234567890123459",
            ],  # fmt: skip
            "买家": ["t**a", "b**o", "c**y", ""],
            "评价": ["好评", "中评", "差评", "好评"],
            "评价内容": ["包装完好，没有破损", "一般般", "质量差，有破损，假货", "不错"],
            "评价时间": ["2024-06-08 12:00:00", "2024-06-09", "2024-06-10 08:30", "2024-06-11"],
        }
    )
    load = load_reviews(export)
    assert load.platform == "taobao"
    rv = load.reviews
    assert list(rv["rating"]) == [5.0, 3.0, 1.0, 5.0]  # the last has an order id: kept
    assert rv["customer_id"].isna().sum() == 1
    assert list(rv.columns) == ["order_id", "customer_id", "review_time", "rating", "text"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", 5.0), ("4.5", 4.5), ("4/5", 4.0), ("3 stars", 3.0), ("★★★★", 4.0), ("4星", 4.0),
     ("Positive", 5.0), ("negative", 1.0), ("5分", 5.0)],
)  # fmt: skip
def test_rating_forms(raw: str, expected: float) -> None:
    rv = load_reviews(pd.DataFrame({"customer": ["a"], "rating": [raw]})).reviews
    assert rv["rating"].iloc[0] == expected


def test_review_rejections_and_rating_map() -> None:
    export = pd.DataFrame(
        {
            "customer": ["a", "b", "c", "d", "e", ""],
            "score": ["5", "great", "0", "", "", "4"],
            "comment": ["ok", "", "bad", "no score but text", "", "x"],
        }
    )
    load = load_reviews(export)
    assert len(load.reviews) + len(load.rejected) == 6
    assert dict(zip(load.rejected["customer"], load.rejected["reason"], strict=True)) == {
        "b": "unreadable rating",
        "c": "rating outside 1-5",
        "e": "no rating and no text",
        "": "missing order and customer id",
    }
    assert np.isnan(load.reviews.set_index("customer_id").loc["d", "rating"])
    mapped = load_reviews(export, rating_map={"Great": 5}).reviews
    assert mapped.set_index("customer_id").loc["b", "rating"] == 5.0


def test_shopify_product_reviews_detected() -> None:
    export = pd.DataFrame(
        {
            "product_handle": ["tea-set", "mug"],
            "state": ["published", "published"],
            "rating": [5, 2],
            "title": ["Lovely", "Chipped"],
            "author": ["Ann", "Bob"],
            "email": ["ann@example.com", "bob@example.com"],
            "body": ["Lovely set", "Arrived broken"],
            "created_at": ["2024-05-01 10:00:00 UTC", "2024-05-03 11:00:00 UTC"],
        }
    )
    load = load_reviews(export, pseudonymize="k")
    assert load.platform == "shopify"
    rv = load.reviews
    assert list(rv["product_id"]) == ["tea-set", "mug"]
    assert list(rv["rating"]) == [5.0, 2.0]
    assert "author" not in rv.columns and "email" not in rv.columns
    o = crm.read_orders(pd.DataFrame({"order": ["1"], "customer": ["ann@example.com"],
                                      "date": ["2024-05-01"], "total": ["5"]}), pseudonymize="k")  # fmt: skip
    assert rv["customer_id"].iloc[0] == o["customer_id"].iloc[0]


def test_reviews_need_an_id_column() -> None:
    with pytest.raises(ColumnNotFoundError, match="order_id"):
        load_reviews(pd.DataFrame({"rating": ["5"]}))


# --------------------------------------------------------------------------- points
def test_points_types_and_signs() -> None:
    export = pd.DataFrame(
        {
            "会员名": ["tb_anna"] * 5,
            "变动时间": [
                "2024-01-05 10:00:00",
                "2024-03-01",
                "2024-12-31 23:59:59",
                "2024-04-01",
                "2024-05-01",
            ],  # fmt: skip
            "积分变动": ["120", "50", "20", "-5", "-7"],
            "变动类型": ["购物获得", "积分兑换", "过期", "调整", "签到"],
            "过期时间": ["2025-12-31", "", "", "", ""],
        }
    )
    load = load_points(export)
    assert load.platform == "taobao"
    p = load.points
    # positive redemptions and expiries negated; a negative "earned" is an adjustment
    assert list(p["points"]) == [120.0, -50.0, -20.0, -5.0, -7.0]
    assert list(p["movement"]) == ["earned", "redeemed", "expired", "adjusted", "adjusted"]
    assert p["expire_time"].iloc[0] == pd.Timestamp("2025-12-31")
    assert len(load.notes) == 2


def test_points_from_sign_and_reason() -> None:
    export = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1"],
            "date": ["2024-01-01", "2024-02-01", "2024-03-01"],
            "points": [100, -40, -10],
            "reason": ["order 1001", "coupon", "points expired"],
        }
    )
    p = read_points(export)
    assert list(p["movement"]) == ["earned", "redeemed", "expired"]
    assert p["reason"].iloc[1] == "coupon"


def test_points_rejections_add_up() -> None:
    export = pd.DataFrame(
        {
            "customer": ["a", "a", "", "b", "c"],
            "time": ["2024-01-01", "2024-01-01", "2024-01-02", "2024-99-01", "2024-01-03"],
            "points": ["10", "10", "5", "5", ""],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load = load_points(export)
    assert len(load.points) + len(load.rejected) == 5
    assert list(load.rejected["reason"]) == ["duplicate", "missing customer id",
                                             "unparseable points time", "missing points"]  # fmt: skip
    assert load.report()["rows"].sum() == 4
