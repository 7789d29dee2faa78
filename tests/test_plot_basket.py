"""Tests of the basket plots: each takes a rules table and returns the Axes."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_analytics import datasets
from crm_analytics.basket import association_rules, frequent_itemsets
from crm_analytics.exceptions import ColumnNotFoundError, InvalidDataError
from crm_analytics.plot._basket import item_network, rule_labels, rules_scatter, top_rules_bar


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def rules() -> pd.DataFrame:
    sets = frequent_itemsets(datasets.load_sample(), min_support=0.001)
    return association_rules(sets, min_confidence=0.05)


def test_rules_scatter_draws_every_rule(rules):
    before = rules.copy()
    fig, ax = plt.subplots()
    out = rules_scatter(rules, ax=ax)
    assert out is ax
    pd.testing.assert_frame_equal(rules, before)
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == len(rules)
    np.testing.assert_allclose(offsets[:, 0], rules["support"])
    np.testing.assert_allclose(offsets[:, 1], rules["confidence"])
    np.testing.assert_allclose(ax.collections[0].get_array(), rules["lift"])
    assert ax.get_xlabel() == "support" and ax.get_ylabel() == "confidence"
    other = rules_scatter(rules, x="lift", y="leverage", color="confidence")
    assert other.get_xlabel() == "lift"


def test_top_rules_bar_shows_the_best_first(rules):
    ax = top_rules_bar(rules, n=5)
    bars = [p.get_width() for p in ax.patches]
    best = rules.sort_values("lift", ascending=False).head(5)
    np.testing.assert_allclose(bars, best["lift"])
    # the best rule at the top: labels read from the highest tick down
    ticks = sorted(
        zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True),
        reverse=True,
    )
    assert [label for _, label in ticks] == rule_labels(best)
    assert "→" in ticks[0][1]
    by_conf = top_rules_bar(rules, n=3, metric="confidence")
    assert len(by_conf.patches) == 3


def test_item_network_draws_items_and_arrows(rules):
    ax = item_network(rules, n=8, layout="circle")
    top = rules.sort_values("lift", ascending=False).head(8)
    items = set().union(*top["antecedent"], *top["consequent"])
    assert {t.get_text() for t in ax.texts} == {str(i) for i in items}
    arrows = sum(len(a) * len(c) for a, c in zip(top.antecedent, top.consequent, strict=True))
    assert (
        len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) - len(ax.texts)
        == arrows
        or len(ax.texts) >= 1
    )
    auto = item_network(rules, n=5)  # spring with networkx, circle without
    assert auto.texts


def test_item_network_without_networkx_uses_a_circle(rules):
    code = (
        "import sys; sys.modules['networkx'] = None\n"
        "import matplotlib; matplotlib.use('Agg')\n"
        "from crm_analytics import datasets\n"
        "from crm_analytics.basket import association_rules, frequent_itemsets\n"
        "from crm_analytics.plot._basket import item_network\n"
        "r = association_rules(frequent_itemsets(datasets.load_sample(), min_support=0.002))\n"
        "ax = item_network(r, n=5)\n"
        "print(len(ax.texts) > 0)\n"
        "try:\n    item_network(r, layout='spring')\nexcept Exception as e:\n    print(type(e).__name__, 'networkx' in str(e))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "InvalidDataError", "True"]


def test_plots_check_their_input(rules):
    with pytest.raises(ColumnNotFoundError, match="(?s)'lift' not found.*association_rules"):
        rules_scatter(rules.drop(columns="lift"))
    with pytest.raises(ColumnNotFoundError, match="'antecedent'"):
        top_rules_bar(rules.drop(columns="antecedent"))
    with pytest.raises(InvalidDataError, match="n must be a positive integer"):
        top_rules_bar(rules, n=0)
    with pytest.raises(InvalidDataError, match="layout='grid' is not supported"):
        item_network(rules, layout="grid")
    with pytest.raises(ColumnNotFoundError, match="'zhang'"):
        item_network(rules, metric="zhang")


def test_empty_rules_still_give_axes(rules):
    empty = rules.iloc[:0]
    assert rules_scatter(empty) is not None
    assert len(top_rules_bar(empty).patches) == 0
    assert len(item_network(empty, layout="circle").texts) == 0
