"""Tests of loading campaign logs and traffic events (crm.io.load_campaign / load_events)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics.campaign import uplift
from crm_analytics.exceptions import ColumnNotFoundError, DataQualityWarning, InvalidDataError
from crm_analytics.io import load_campaign, load_events, read_campaign, read_events
from crm_analytics.kpi import kpi_tree

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


# --------------------------------------------------------------------------- campaign
def test_sample_campaign_csv_reads_like_the_bundled_table() -> None:
    campaign = read_campaign(SAMPLE_DIR / "campaign.csv")
    expected = crm.datasets.load_sample_campaign()
    pd.testing.assert_frame_equal(campaign, expected, check_dtype=False)
    assert str(campaign["sent_time"].dtype) == "datetime64[ns]"
    orders = crm.datasets.load_sample()
    row = uplift(campaign, orders, window_days=30).loc["WB202408"]
    assert row["ci_low"] > 0


def test_campaign_rejections_have_reasons() -> None:
    export = pd.DataFrame(
        {
            "customer": ["ann", "bob", "bob", "cy", "", "dan", "eve", "eve"],
            "campaign": ["C1", "C1", "C1", "C1", "C1", "", "C1", "C1"],
            "variant": ["test", "holdout", "test", "vip", "test", "test", "", "test"],
            "sent at": ["2024-05-01 10:00", "", "", "", "2024-05-01", "2024-05-01", "", "99/99"],
        }
    )
    before = export.copy()
    load = load_campaign(export)
    pd.testing.assert_frame_equal(export, before)
    assert len(load.campaign) + len(load.rejected) == len(export) == load.n_input
    reasons = dict(zip(load.rejected.index, load.rejected["reason"], strict=True))
    assert reasons == {
        2: "customer repeated in campaign",
        3: "unknown group",
        4: "missing customer id",
        5: "missing campaign id",
        6: "missing group",
        7: "unparseable sent time",
    }
    assert load.campaign["customer_id"].tolist() == ["ann", "bob"]
    assert load.campaign["group"].tolist() == ["treatment", "control"]
    assert load.mapping == {
        "customer_id": "customer",
        "campaign_id": "campaign",
        "group": "variant",
        "sent_time": "sent at",
    }
    with pytest.warns(DataQualityWarning, match=r"6 of 8 rows rejected.*load_campaign"):
        read_campaign(export)


def test_campaign_chinese_headers_and_gb18030_file(tmp_path: Path) -> None:
    path = tmp_path / "活动.csv"
    text = (
        "客户昵称,活动名称,分组,发送时间,打开时间,点击时间,短信费用\n"
        "tb_anna,双11召回,实验组,2024/11/1 10:00:03,2024/11/1 10:20:00,,¥0.05\n"
        "tb_bo,双11召回,对照组,,,,\n"
    )
    path.write_bytes(text.encode("gb18030"))
    load = load_campaign(path)
    assert load.encoding == "gb18030"
    c = load.campaign
    assert list(c.columns) == [
        "customer_id",
        "campaign_id",
        "group",
        "sent_time",
        "opened_time",
        "clicked_time",
        "cost",
    ]
    assert c["group"].tolist() == ["treatment", "control"]
    assert c["sent_time"].iloc[0] == pd.Timestamp("2024-11-01 10:00:03")
    assert c["cost"].iloc[0] == pytest.approx(0.05)
    assert c["clicked_time"].isna().all()


def test_campaign_options_and_notes() -> None:
    export = pd.DataFrame({"member": ["a", "b"], "sent": ["2024-05-01", "2024-05-01"]})
    load = load_campaign(export, campaign_id="WB1")
    assert load.campaign["campaign_id"].tolist() == ["WB1", "WB1"]
    assert load.campaign["group"].tolist() == ["treatment", "treatment"]
    assert any("no group column" in note for note in load.notes)
    labelled = pd.DataFrame({"uid": ["a", "b"], "arm": ["A", "B"], "when": ["2024-05-01"] * 2})
    out = load_campaign(
        labelled,
        mapping={"customer_id": "uid", "sent_time": "when"},
        group_map={"A": "control", "B": "treatment"},
    ).campaign
    assert out["group"].tolist() == ["control", "treatment"]
    assert out["customer_id"].tolist() == ["a", "b"]
    with pytest.raises(InvalidDataError, match="group_map\\['A'\\]='ctrl' is not supported"):
        load_campaign(labelled, mapping={"customer_id": "uid"}, group_map={"A": "ctrl"})


def test_campaign_ids_pseudonymised_like_the_orders() -> None:
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["ann", "bob"],
            "order_time": ["2024-05-02", "2024-05-03"],
            "amount": ["10", "20"],
        }
    )
    export = pd.DataFrame(
        {
            "customer_id": ["ann", "bob"],
            "campaign_id": ["C1", "C1"],
            "group": ["treatment", "control"],
            "sent_time": ["2024-05-01 10:00", ""],
            "phone": ["138****0000", "139****1111"],
        }
    )
    key = "shop-secret"
    o = crm.read_orders(orders, pseudonymize=key)
    c = read_campaign(export, pseudonymize=key)
    assert set(c["customer_id"]) == set(o["customer_id"])
    assert "ann" not in set(c["customer_id"])
    assert "phone" not in c.columns
    assert "phone" in read_campaign(export, pseudonymize=key, keep_personal=True).columns
    assert "phone" in read_campaign(export).columns  # not pseudonymising: kept


def test_campaign_errors_name_the_fix() -> None:
    with pytest.raises(ColumnNotFoundError, match=r"no column for 'customer_id'") as info:
        load_campaign(pd.DataFrame({"klant": ["a"], "sent_time": ["2024-05-01"]}))
    assert "Hint: pass mapping={'customer_id':" in str(info.value)
    with pytest.raises(ColumnNotFoundError, match=r"did you mean 'customer'"):
        load_campaign(pd.DataFrame({"customer": ["a"]}), mapping={"customer_id": "custome"})
    with pytest.raises(InvalidDataError, match="names no column of this table"):
        load_campaign(pd.DataFrame({"customer": ["a"]}), mapping={"amount": "customer"})
    with pytest.raises(InvalidDataError, match="Choose one of"):
        load_campaign(pd.DataFrame({"customer": ["a"]}), platform="wechat")


def test_platform_profile_without_a_campaign_section_falls_back() -> None:
    export = pd.DataFrame({"会员名": ["a"], "活动名称": ["C"], "发送时间": ["2024-05-01"]})
    load = load_campaign(export, platform="taobao")
    assert load.platform == "taobao"
    assert load.campaign["campaign_id"].tolist() == ["C"]


# --------------------------------------------------------------------------- events
def test_events_types_times_and_rejections(tmp_path: Path) -> None:
    path = tmp_path / "traffic.csv"
    path.write_text(
        "visitor_id,action,timestamp,sku,channel,session\n"
        "v1,page_view,2024-06-01T12:00:00Z,1001,app,s1\n"
        "v1,add_to_cart,2024-06-01T12:05:00Z,1001,app,s1\n"
        "v1,add_to_cart,2024-06-01T12:05:00Z,1001,app,s1\n"
        "v2,Share,2024-06-02 08:00,,web,s2\n"
        ",page_view,2024-06-02 09:00,,web,s3\n"
        "v3,page_view,,,web,s4\n"
        "v4,page_view,tomorrow-ish,,web,s5\n",
        encoding="utf-8",
    )
    load = load_events(path, tz="Asia/Shanghai")
    e = load.events
    assert list(e.columns) == [
        "customer_id",
        "event_time",
        "event_type",
        "product_id",
        "channel",
        "session_id",
    ]
    assert e["event_type"].tolist() == ["visit", "cart", "share"]
    assert e["event_time"].iloc[0] == pd.Timestamp("2024-06-01 20:00:00")  # UTC -> Shanghai
    assert e["product_id"].iloc[0] == "1001"
    assert load.rejected["reason"].tolist() == [
        "duplicate",
        "missing customer id",
        "missing event time",
        "unparseable event time",
    ]
    assert len(e) + len(load.rejected) == 7
    assert repr(load).startswith(
        "EventsLoad(platform='generic', encoding='utf-8', rows=7: 3 events"
    )


def test_events_feed_the_traffic_tree() -> None:
    export = pd.DataFrame(
        {
            "访客ID": ["a", "x", "y", "a", "b", "z"],
            "行为类型": ["浏览", "浏览", "加购", "浏览", "访问", "收藏"],
            "行为时间": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-02",
                "2024-02-01",
                "2024-02-01",
                "2024-02-03",
            ],
        }
    )
    events = read_events(export)
    assert events["event_type"].tolist() == ["visit", "visit", "cart", "visit", "visit", "favorite"]
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["a", "b"],
            "order_time": pd.to_datetime(["2024-01-05", "2024-02-05"]),
            "amount": [10.0, 20.0],
            "status": "paid",
        }
    )
    w = kpi_tree(orders, events=events).wide
    assert w["visitors"].tolist() == [3, 3]
    assert w["conversion_rate"].tolist() == pytest.approx([1 / 3, 1 / 3])


def test_events_pseudonymised_and_missing_time_column() -> None:
    export = pd.DataFrame({"user_id": ["ann"], "time": ["2024-06-01"], "email": ["a@x.org"]})
    e = read_events(export, pseudonymize="k")
    o = crm.read_orders(
        pd.DataFrame({"order_id": ["1"], "customer_id": ["ann"], "date": ["2024-06-01"],
                      "amount": ["1"]}),
        pseudonymize="k",
    )  # fmt: skip
    assert e["customer_id"].tolist() == o["customer_id"].tolist()
    assert "email" not in e.columns
    with pytest.raises(ColumnNotFoundError, match=r"no column for 'event_time'") as info:
        load_events(pd.DataFrame({"user_id": ["a"], "wann": ["2024-06-01"]}))
    assert "Hint: pass mapping={'event_time':" in str(info.value)
    ok = load_events(pd.DataFrame({"user_id": ["a"], "wann": ["2024-06-01"]}),
                     mapping={"event_time": "wann"})  # fmt: skip
    assert ok.events["event_time"].tolist() == [pd.Timestamp("2024-06-01")]
