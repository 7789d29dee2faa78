"""The package as a dependency sees it: light import, public names, the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

import crm_analytics as crm


def test_import_is_light() -> None:
    code = (
        "import sys, crm_analytics as crm; "
        "heavy = [m for m in ('pandas', 'numpy', 'matplotlib', 'sklearn', 'lifetimes', 'scipy', 'narwhals') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_entry_points_do_not_import_plotting_or_models() -> None:
    code = (
        "import sys, crm_analytics as crm; crm.customer_summary; crm.read_orders; crm.rfm_table; "
        "crm.datasets.load_sample(); "
        "print([m for m in ('matplotlib', 'sklearn', 'lifetimes') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", crm.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(crm, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        crm.nope  # noqa: B018


def test_version() -> None:
    assert crm.__version__.count(".") == 2


def test_command_line_summary_of_the_sample() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crm_analytics", "summary"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "platform taobao, encoding gb18030, 9,243 rows -> 9,236 orders, 7 rejected" in out
    assert "rejected: missing customer id" in out
    assert "Buyers: 4,716" in out
    assert "RFM segments" in out and "Champions" in out


def test_command_line_on_a_file(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,order_time,amount\n1,a,2024-01-01,10\n2,a,2024-02-01,20\n3,b,2024-02-03,5\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "crm_analytics", "summary", str(path), "--months", "2"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "3 rows -> 3 orders, 0 rejected" in out
    assert "Buyers: 2  repeat buyers 50.0%" in out
    assert "Revenue (net of refunds): 35.00" in out


def test_warnings_point_at_the_callers_line() -> None:
    import pandas as pd

    from crm_analytics.exceptions import DataQualityWarning

    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(6)],
            "customer_id": ["a", "a", "b", "b", "c", "c"],
            "order_time": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01", "2024-01-09", "2024-02-20"]
            ),
            "amount": [10.0, 0.0, 20.0, 25.0, 5.0, 7.0],  # a's repeat purchase is worth 0
        }
    )
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        crm.fit_clv(orders, freq="W", penalizer=0.1)  # reaches the models' fit inside
    ours = [w for w in record if issubclass(w.category, crm.exceptions.CRMWarning)]
    assert any(issubclass(w.category, DataQualityWarning) for w in ours)
    assert {w.filename for w in ours} == {__file__}
