"""Exceptions and warnings raised by crm_analytics.

Every message says who raised it, what was expected, what was found and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CRMError",
    "CRMWarning",
    "ColumnNotFoundError",
    "ConvergenceWarning",
    "DataQualityWarning",
    "InvalidDataError",
    "NotFittedError",
    "StatisticalWarning",
]


class CRMError(Exception):
    """Base class of every error raised by crm_analytics."""


class ColumnNotFoundError(CRMError, KeyError):
    """A column named by the caller (or required by the schema) is missing.

    Also a ``KeyError`` so ``except KeyError`` keeps working, but printed as plain text
    (``KeyError`` would wrap the message in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidDataError(CRMError, ValueError):
    """The data has the wrong type, impossible values, or is empty."""


class NotFittedError(CRMError, ValueError):
    """A model method that needs a fitted model was called before ``fit``."""


class CRMWarning(UserWarning):
    """Base class of every warning issued by crm_analytics."""


class DataQualityWarning(CRMWarning):
    """Input rows were rejected or repaired while loading; the result is still usable."""


class ConvergenceWarning(CRMWarning):
    """An optimiser stopped before converging; the model's ``converged_`` is False."""


class StatisticalWarning(CRMWarning):
    """A result is valid but statistically shaky (few customers, boundary estimate, ...)."""
