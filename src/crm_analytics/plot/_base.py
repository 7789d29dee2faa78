"""Shared plotting helpers (matplotlib imported lazily)."""

from __future__ import annotations

from typing import Any


def get_ax(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 4.5)) -> Any:
    """Return ``ax``, or a new Axes on a new figure when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax
