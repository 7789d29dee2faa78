"""The command line, the HTML report and the spreadsheet-safe writers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import crm_analytics as crm
from crm_analytics.cli import main
from crm_analytics.exceptions import InvalidDataError
from crm_analytics.export import neutralize_formulas, to_csv, to_excel, write_table


def _orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,order_time,amount,product_name\n"
        '1,a,2024-01-01,10,=HYPERLINK("http://evil")\n'
        "2,a,2024-02-01,20,mug\n"
        "3,b,2024-02-03,5,+cmd\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------- exit codes
def test_summary_is_the_default_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "platform taobao" in capsys.readouterr().out


def test_missing_file_exits_1_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["rfm", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "crm-analytics rfm: error:" in err and "no file or folder" in err


def test_unknown_platform_lists_the_choices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["summary", "--platform", "amazon"]) == 1
    assert "Choose one of ['auto', 'taobao'" in capsys.readouterr().err


def test_missing_column_names_the_nearest_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "o.csv"
    path.write_text("order_id,custmer,order_time,amount\n1,a,2024-01-01,3\n", encoding="utf-8")
    assert main(["summary", str(path)]) == 1
    assert "Nearest match: 'custmer'" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["bogus"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    "command", ["summary", "report", "rfm", "segments", "clv", "summary-table", "sample"]
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: crm-analytics" in capsys.readouterr().out


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_rfm_command_writes_a_readable_file(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"rfm{suffix}"
    assert main(["rfm", "--out", str(out)]) == 0
    if suffix == ".csv":
        table = pd.read_csv(out, encoding="utf-8-sig")
    elif suffix == ".parquet":
        table = pd.read_parquet(out).reset_index()
    else:
        table = pd.read_excel(out)
    assert len(table) == 4_716
    assert {"customer_id", "r_score", "f_score", "m_score", "segment"} <= set(table.columns)


def test_segments_and_summary_table_commands(tmp_path: Path) -> None:
    assert main(["segments", "--out", str(tmp_path / "s.parquet")]) == 0
    seg = pd.read_parquet(tmp_path / "s.parquet")
    assert {"segment", "stage"} <= set(seg.columns)
    assert main(["summary-table", "--as-of", "2024-06-30", "--out", str(tmp_path / "t.csv")]) == 0
    summary = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")
    assert summary["days_since_last"].min() >= 0


def test_kpi_and_basket_commands(tmp_path: Path) -> None:
    assert main(["kpi", "--period", "Q", "--out", str(tmp_path / "k.csv")]) == 0
    kpi = pd.read_csv(tmp_path / "k.csv", encoding="utf-8-sig", index_col=0)
    assert list(kpi.index[:2]) == ["2023Q1", "2023Q2"]
    # the identity holds in the written file
    pd.testing.assert_series_equal(
        kpi["sales"], kpi["customers"] * kpi["orders_per_customer"] * kpi["aov"], check_names=False
    )
    out = tmp_path / "rules.parquet"
    assert main(["sample", "--out", str(tmp_path / "s")]) == 0
    args = ["basket", str(tmp_path / "s" / "orders.csv"), "--item-col", "category"]
    assert main([*args, "--min-support", "0.01", "--out", str(out)]) == 0
    rules = pd.read_parquet(out)
    assert len(rules) > 0 and (rules["lift"].diff().dropna() <= 1e-12).all()  # sorted by lift
    assert {"antecedent", "consequent", "support", "confidence", "lift"} <= set(rules.columns)


def test_exported_text_cannot_run_as_a_formula(tmp_path: Path) -> None:
    orders = crm.read_orders(_orders_csv(tmp_path))
    out = to_csv(orders, tmp_path / "orders_out.csv", index=False)
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert back["product_name"].tolist() == ['\'=HYPERLINK("http://evil")', "mug", "'+cmd"]
    xlsx = to_excel(orders, tmp_path / "orders_out.xlsx", index=False)
    back = pd.read_excel(xlsx, dtype=str)
    assert back["product_name"].iloc[0].startswith("'=")
    assert back["amount"].tolist() == ["10", "20", "5"]  # numbers stay numbers


def test_neutralize_leaves_numbers_and_missing_values() -> None:
    frame = pd.DataFrame(
        {"t": ["-1", "@x", None, "\tx", "ok"], "n": [-1.0, 2.0, 3.0, 4.0, 5.0]},
        index=pd.Index(["=a", "b", "c", "d", "e"], name="k"),
    )
    out = neutralize_formulas(frame)
    assert out["t"].tolist()[:2] == ["'-1", "'@x"] and pd.isna(out["t"].iloc[2])
    assert out["t"].iloc[3] == "'\tx" and out["t"].iloc[4] == "ok"
    assert out["n"].tolist() == frame["n"].tolist()
    assert out.index[0] == "'=a"
    assert frame["t"].iloc[0] == "-1"  # input untouched


def test_write_table_rejects_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"\.csv, \.parquet or \.xlsx"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.json")


def test_sample_command_writes_loadable_exports(tmp_path: Path) -> None:
    assert main(["sample", "--out", str(tmp_path / "s")]) == 0
    load = crm.load_orders(tmp_path / "s" / "taobao_orders.csv")
    assert load.platform == "taobao" and len(load.orders) == 9_236
    orders = crm.read_orders(tmp_path / "s" / "orders.csv")
    assert len(orders) == len(crm.datasets.load_sample())


# --------------------------------------------------------------------------- report
@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--out", str(out), "--quiet"]) == 0
    return out


_SECTION_TITLES = [
    "Headline KPIs",
    "KPI tree: why sales moved",
    "RFM segments and actions",
    "Lifecycle stages",
    "Value concentration",
    "Cohorts and repurchase",
    "Churn risk: who to win back",
    "Customer lifetime value",
    "Bought together",
    "After-sales and loyalty",
    "What the loader read and rejected",
]


def test_report_has_every_section_and_is_self_contained(report_file: Path) -> None:
    text = report_file.read_text(encoding="utf-8")
    for title in _SECTION_TITLES:
        assert f"<h2>{title}</h2>" in text
    assert "Not shown" not in text
    assert "<svg" in text
    for external in ('src="http', "src='http", 'href="http', "url(http", "<link", "@import"):
        assert external not in text  # nothing loaded from elsewhere
    assert "<script" not in text
    assert "missing customer id" in text


def test_report_with_customers_shows_member_tiers(tmp_path: Path) -> None:
    report = crm.report.build_report(
        crm.datasets.load_sample(), customers=crm.datasets.load_sample_customers()
    )
    service = next(s for s in report.sections if s.key == "service")
    assert "会员等级" in service.html and "VIP会员" in service.html
    lifecycle = next(s for s in report.sections if s.key == "lifecycle")
    assert "potential" in lifecycle.html  # registered members who never bought


def test_report_with_refunds_reviews_and_points(tmp_path: Path) -> None:
    orders = crm.datasets.load_sample()
    paid = orders[orders["status"].astype(str) == "paid"].drop_duplicates("order_id").head(6)
    refunds = pd.DataFrame(
        {
            "订单编号": paid["order_id"].tolist()[:3],
            "退款金额": ["10", "5.5", "20"],
            "退款原因": ["质量问题", "尺码不合适", "七天无理由退货"],
            "申请时间": ["2024-12-01 10:00:00"] * 3,
        }
    )
    reviews = pd.DataFrame(
        {
            "订单编号": paid["order_id"].tolist()[3:6],
            "买家": paid["customer_id"].tolist()[3:6],
            "评分": ["好评", "差评", "中评"],
            "评价内容": ["很好", "质量差，有破损", "一般"],
            "评价时间": ["2024-12-02 10:00:00"] * 3,
        }
    )
    points = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "points_time": ["2024-11-01", "2024-12-01", "2024-11-15"],
            "points": [100, -40, 60],
        }
    )
    for name, frame in (("refunds", refunds), ("reviews", reviews), ("points", points)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    out = tmp_path / "r.html"
    args = ["report", "--quiet", "--out", str(out)]
    for name in ("refunds", "reviews", "points"):
        args += [f"--{name}", str(tmp_path / f"{name}.csv")]
    assert main(args) == 0
    html = out.read_text(encoding="utf-8")
    section = html[html.index("After-sales and loyalty</h2>") :]
    assert "quality" in section and "size_fit" in section  # normalised refund reasons
    assert "质量差，有破损" in section  # a review to reply to
    assert "Members holding the most unredeemed points" in section


def test_report_escapes_shop_text(tmp_path: Path) -> None:
    path = _orders_csv(tmp_path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("4,,2024-02-04,7,<script>alert(1)</script>\n")  # rejected: no customer
    load = crm.load_orders(path)
    html = crm.report.build_report(load.orders, load=load).to_html()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Caution: BetaGeo.fit" in html  # a shaky fit on three orders is flagged, not hidden
    assert "Not shown: GammaGamma.fit: need at least 2 repeat customers" in html


def test_report_progress_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crm.report.build_report(crm.datasets.load_sample(), progress=True)
    err = capsys.readouterr().err
    assert "[1/11] Headline KPIs" in err and "[11/11] What the loader read and rejected" in err


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def test_report_opens_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get where it can)")
    shot = tmp_path / "report.png"
    dom = subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--dump-dom", report_file.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    for title in _SECTION_TITLES:
        assert title in dom.stdout
    assert "Uncaught" not in dom.stderr and "CONSOLE(" not in dom.stderr
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}", "--window-size=1200,2400",
            report_file.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 10_000


def test_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crm_analytics", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "report" in out and "sample" in out
