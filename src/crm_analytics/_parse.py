"""Vectorised parsers for the values found in real shop exports.

Each parser takes a pandas Series as read (strings from CSV/Excel, or typed values from
Parquet/JSON/DataFrames) and returns the parsed values together with masks that tell
missing from unparseable cells, so the loader can quarantine rows with a reason.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
_CURRENCY = r"[¥￥$€£₩₹,\s\u00a0]|元|RMB|CNY|USD|US|HKD|NTD|EUR|GBP"
_SCIENTIFIC = r"[+-]?\d+(?:\.\d+)?[eE]\+?\d+"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_AWARE = r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:Z|[+-]\d{2}:?\d{2})$"
_NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S.%f",
    "ISO8601",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
)


def text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings (pandas "string" dtype); blank cells become <NA>."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan))
        whole &= values.fillna(0) == np.round(values.fillna(0))
        out = values.astype("string")
        if whole.any():
            out[whole] = values[whole].astype("int64").astype("string")
        return out
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d %H:%M:%S").astype("string")
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def final_text(values: pd.Series) -> pd.Series:
    """Convert to the library's text dtype: pandas' default string dtype (object before 3.0)."""
    if _PANDAS_3:
        return values.astype("str")
    return values.astype(object).where(values.notna(), None)


def parse_id(values: pd.Series) -> pd.Series:
    """Identifiers as exact strings.

    Handles the forms spreadsheets leave behind: ``="123"`` (Excel-protected), a leading
    apostrophe or tab, integers read as floats (``123.0``) and scientific notation
    (``1.23E+18`` becomes ``1230000000000000000`` with exact decimal arithmetic; the
    digits Excel dropped cannot be recovered). Never goes through a float, so a
    19-digit order number survives.
    """
    t = text(values)
    t = t.str.replace(r'^=\s*"(.*)"$', r"\1", regex=True)
    t = t.str.replace(r"^=\s*", "", regex=True)
    t = t.str.strip("'\"\t ")
    sci = t.str.fullmatch(_SCIENTIFIC).fillna(False).astype(bool)
    if sci.any():
        codes, uniques = pd.factorize(t[sci])
        exact = np.array([_exact_integer(u) for u in uniques], dtype=object)
        t[sci] = exact[codes]
    t = t.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return t.mask(t == "")


def _exact_integer(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - guarded by the regex
        return value
    return str(int(number)) if number == number.to_integral_value() else value


def parse_money(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Money amounts: ``¥1,234.50``, ``$12.00``, ``12元``, ``(12.00)`` (negative).

    Returns
    -------
    values, missing, unparseable : Series
        Float values (NaN where missing or unparseable) and the two boolean masks.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
        missing = out.isna()
        return out, missing, pd.Series(False, index=values.index)
    t = text(values)
    missing = t.isna()
    cleaned = t.str.replace(_CURRENCY, "", regex=True)
    negative = cleaned.str.fullmatch(r"\(.*\)").fillna(False).astype(bool)
    cleaned = cleaned.str.strip("()")
    out = pd.to_numeric(cleaned.astype(object), errors="coerce").astype("float64")
    out[negative] = -out[negative]
    unparseable = out.isna() & ~missing
    return out, missing.astype(bool), unparseable.astype(bool)


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Plain numbers (quantities, points). Returns values and the unparseable mask."""
    out, _, bad = parse_money(values)
    return out, bad


def parse_datetime(
    values: pd.Series, *, tz: str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Timestamps in the many forms exports use, stored naive in the shop's zone.

    Accepted: ``2024/3/5 14:22:01``, ISO 8601 (with ``T``, fractions, offsets),
    ``2024年3月5日``, ``20240305``, Excel serial day numbers (``45356.6``), epoch
    seconds or milliseconds (numeric columns), and any other form pandas can read
    element by element; one odd row never changes how the others are read.
    Aware values (an offset or ``Z``, or a tz-aware column) are converted to ``tz``
    when given, otherwise their wall-clock time is kept; the result is always naive.

    Returns
    -------
    values, missing, unparseable : Series
        datetime64[ns] values (NaT where missing or unparseable) and the two masks.
    """
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert(tz).dt.tz_localize(None) if tz else out.dt.tz_localize(None)
        out = out.astype("datetime64[ns]")
        missing = out.isna()
        return out, missing, pd.Series(False, index=index)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = _from_numbers(values.astype("float64"))
        missing = values.isna()
        return out, missing, out.isna() & ~missing

    t = text(values)
    missing = t.isna()
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    aware = t.str.contains(_AWARE, regex=True).fillna(False).astype(bool)
    if aware.any():
        parts = t[aware].str.extract(r"^(?P<wall>.*?\d)\s*(?P<off>Z|[+-]\d{2}:?\d{2})$")
        wall = _parse_naive(parts["wall"].astype("string"))
        if tz:
            off = parts["off"].fillna("Z")
            sign = np.where(off.str.startswith("-"), -1, 1)
            digits = off.str.replace(r"[^0-9]", "", regex=True).str.pad(
                4, side="right", fillchar="0"
            )
            hours = pd.to_numeric(digits.str[:2], errors="coerce").fillna(0).to_numpy()
            minutes = pd.to_numeric(digits.str[2:4], errors="coerce").fillna(0).to_numpy()
            offset = pd.to_timedelta(sign * (hours * 60 + minutes), unit="min")
            utc = (wall - offset).dt.tz_localize("UTC")
            wall = utc.dt.tz_convert(tz).dt.tz_localize(None)
        out[aware] = wall.astype("datetime64[ns]")
    naive = ~aware & ~missing
    if naive.any():
        out[naive] = _parse_naive(t[naive])
    unparseable = out.isna() & ~missing
    return out, missing.astype(bool), unparseable.astype(bool)


def _parse_naive(t: pd.Series) -> pd.Series:
    """Parse naive timestamp strings with a cascade of exact formats, then per element."""
    norm = (
        t.str.replace(r"[/年月]", "-", regex=True)
        .str.replace("日", " ", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[ns]")
    todo = norm.notna()
    for fmt in _NAIVE_FORMATS:
        if not todo.any():
            return out
        parsed = pd.to_datetime(norm[todo].astype(object), format=fmt, errors="coerce")
        out[todo] = _in_range(parsed)
        todo = out.isna() & norm.notna()
    serial = todo & norm.str.fullmatch(r"\d{4,5}(?:\.\d+)?").fillna(False).astype(bool)
    if serial.any():
        out[serial] = _from_numbers(pd.to_numeric(norm[serial].astype(object), errors="coerce"))
        todo = out.isna() & norm.notna()
    if todo.any():
        rest = norm[todo].astype(object)
        try:
            parsed = pd.to_datetime(rest, format="mixed", errors="coerce")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(rest, format="mixed", errors="coerce", utc=True)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        out[todo] = _in_range(parsed)
    return out


_FIRST_DAY = pd.Timestamp("1900-01-01")
_LAST_DAY = pd.Timestamp("2200-12-31")


def _in_range(parsed: pd.Series) -> pd.Series:
    """Nanosecond timestamps; dates outside 1900-2200 (year 0, typos) count as unparseable."""
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        parsed = pd.to_datetime(parsed, errors="coerce")
    ok = (parsed >= _FIRST_DAY) & (parsed <= _LAST_DAY)
    return parsed.where(ok).astype("datetime64[ns]")


def _from_numbers(numbers: pd.Series) -> pd.Series:
    """Numeric timestamps: Excel serials, yyyymmdd, epoch seconds or milliseconds."""
    out = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]")
    x = numbers.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        excel = (x >= 20_000) & (x < 80_000)
        ymd = (x >= 19_000_101) & (x <= 21_001_231) & (x == np.floor(x))
        seconds = (x >= 1e8) & (x < 1e10)
        millis = (x >= 1e11) & (x < 1e13)
    if excel.any():
        out[excel] = _EXCEL_EPOCH + pd.to_timedelta(np.round(x[excel] * 86_400_000), unit="ms")
    if ymd.any():
        out[ymd] = pd.to_datetime(
            pd.Series(x[ymd].astype("int64")).astype(str), format="%Y%m%d", errors="coerce"
        ).to_numpy()
    if seconds.any():
        out[seconds] = pd.to_datetime(x[seconds], unit="s")
    if millis.any():
        out[millis] = pd.to_datetime(x[millis], unit="ms")
    return out


def first_in_group(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Fill each missing cell with the first non-missing value of its group."""
    return values.fillna(values.groupby(groups, sort=False, dropna=False).transform("first"))


def lowercase_key(value: Any) -> str:
    """Normalise a header or category label for matching: case, spaces, ``_`` and ``-``."""
    import re

    return re.sub(r"[\s_\-]+", " ", str(value)).strip().lower()
