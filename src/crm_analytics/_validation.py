"""Small shared checks that turn bad input into errors a user can act on."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .exceptions import ColumnNotFoundError, InvalidDataError


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``name`` (case-insensitive), or None."""
    candidates = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None


# the canonical column of each role keyword: the best hint when it is present
_ROLE_DEFAULTS = {
    "customer_col": "customer_id",
    "time_col": "order_time",
    "amount_col": "amount",
    "order_col": "order_id",
    "item_col": "product_id",
    "status_col": "status",
    "refund_col": "refund_amount",
    "quantity_col": "quantity",
    "frequency_col": "frequency",
    "recency_col": "recency",
    "T_col": "T",
    "monetary_col": "monetary_value",
}


def check_columns(
    columns: Sequence[str],
    roles: Mapping[str, str],
    *,
    caller: str,
    frame_name: str = "orders",
) -> None:
    """Raise ColumnNotFoundError for the first role whose column is absent.

    Parameters
    ----------
    columns : sequence of str
        Columns of the frame.
    roles : mapping
        ``{keyword: column}``, e.g. ``{"time_col": "order_time"}``.
    caller : str
        Name of the public function, first word of the message.
    frame_name : str
        How the frame is called in the message.
    """
    present = list(columns)
    for role, col in roles.items():
        if col not in present:
            default = _ROLE_DEFAULTS.get(role)
            guess = default if default in present else nearest(col, present)
            hint = (
                f"Hint: pass {role}={guess!r}."
                if guess is not None
                else f"Hint: pass {role}= with the name of the column that holds it."
            )
            raise ColumnNotFoundError(
                f"{caller}: column {col!r} ({role}) not found in `{frame_name}`.\n"
                f"Available columns: {present}.\n{hint}"
            )


def example_values(values: Any, n: int = 3) -> list[Any]:
    """Up to ``n`` distinct example values, for error messages."""
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
        if len(out) >= n:
            break
    return out


def check_datetime_dtype(dtype: Any, col: str, *, caller: str, frame_name: str = "orders") -> None:
    """Raise InvalidDataError unless ``dtype`` (pandas or narwhals) is a datetime type."""
    import narwhals as nw

    ok = False
    if isinstance(dtype, nw.dtypes.DType) or (
        isinstance(dtype, type) and issubclass(dtype, nw.dtypes.DType)
    ):
        ok = dtype == nw.Datetime or dtype == nw.Date
    else:
        import pandas as pd

        ok = pd.api.types.is_datetime64_any_dtype(dtype)
    if not ok:
        raise InvalidDataError(
            f"{caller}: column {col!r} must be datetime64, got {dtype}.\n"
            f"Load with crm.read_orders(path), or parse first: "
            f"{frame_name}[{col!r}] = pd.to_datetime({frame_name}[{col!r}], format='mixed')."
        )


def as_frame(data: Any, *, caller: str, name: str = "orders") -> Any:
    """``data`` as a narwhals DataFrame or LazyFrame, or a clear error naming the argument."""
    import narwhals as nw

    try:
        return nw.from_native(data)
    except TypeError as exc:
        raise InvalidDataError(
            f"{caller}: `{name}` must be a DataFrame (pandas, polars, DuckDB, ...), "
            f"got {type(data).__name__}."
        ) from exc


def check_choice(value: Any, choices: Sequence[Any], *, name: str, caller: str) -> None:
    """Raise InvalidDataError when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise InvalidDataError(
            f"{caller}: {name}={value!r} is not supported. Choose one of {list(choices)}."
        )


def warn_external(message: str, category: type[Warning]) -> None:
    """Warn at the caller's line: the first stack frame outside crm_analytics.

    A fixed ``stacklevel`` points inside the package when a public function reaches the
    warning through another one (``fit_clv`` -> ``GammaGamma.fit``); walking the stack
    always names the user's own line.
    """
    import inspect
    import os
    import warnings

    package_dir = os.path.dirname(os.path.abspath(__file__))
    frame = inspect.currentframe()
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package_dir):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
