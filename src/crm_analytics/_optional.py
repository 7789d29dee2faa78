"""Import optional dependencies with an error that says which extra installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .exceptions import CRMError


class MissingDependencyError(CRMError, ImportError):
    """An optional dependency needed by the called function is not installed."""


def import_optional(name: str, *, extra: str, caller: str) -> ModuleType:
    """Import ``name`` or raise an error naming the ``pip install`` line that fixes it.

    Examples
    --------
    >>> import_optional("json", extra="none", caller="example").__name__
    'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{caller}: needs the optional package {name!r}, which is not installed.\n"
            f"Install it with: pip install 'crm-analytics[{extra}]'"
        ) from exc
