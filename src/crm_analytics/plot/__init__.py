"""Plots of computed results.

Each function takes the output of a compute function and an optional matplotlib ``ax``,
draws on it and returns the Axes. Nothing here computes an analysis and nothing calls
``show()``; matplotlib is imported on first use, not when this module is imported.
"""

from __future__ import annotations

from ._base import get_ax

__all__: list[str] = []
