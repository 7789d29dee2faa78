"""Write results to files other systems and spreadsheets can open safely.

Text that came from shop data (product titles, buyer notes, tags) may begin with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return; a spreadsheet opening such a cell from a
CSV or XLSX file would run it as a formula (CSV injection). The writers here prefix such
text with an apostrophe, the neutralisation OWASP recommends, and leave numbers alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ._optional import import_optional
from .exceptions import InvalidDataError

__all__ = ["neutralize_formulas", "to_csv", "to_excel", "write_table"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot run as spreadsheet formulas.

    Text cells (and the index, and column names) starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return get a leading apostrophe. Numbers, dates and missing
    values are unchanged, so ``-3.5`` stays a number.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_analytics.export import neutralize_formulas
    >>> df = pd.DataFrame({"title": ["=HYPERLINK(\\"http://x\\")", "mug"], "amount": [-3.5, 2.0]})
    >>> neutralize_formulas(df)
                           title  amount
    0  '=HYPERLINK("http://x")    -3.5
    1                        mug     2.0
    """
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = _neutralize(out[col].astype(object))
        elif pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            out[col] = _neutralize(out[col])
    if pd.api.types.is_object_dtype(out.index) or pd.api.types.is_string_dtype(out.index):
        out.index = pd.Index(_neutralize(pd.Series(out.index, dtype=object)), name=out.index.name)
    out.columns = [_neutralize_one(c) for c in out.columns]
    return out


def _neutralize(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        risky = values.str.startswith(_FORMULA_START).fillna(False).astype(bool)
        return values.where(~risky, "'" + values)
    text = values.astype(object)
    # object columns may mix text and numbers: only text cells are candidates
    is_text = text.map(lambda v: isinstance(v, str))
    risky = is_text & text.where(is_text, "").astype(str).str.startswith(_FORMULA_START)
    return text.where(~risky, "'" + text.where(risky, "").astype(str))


def _neutralize_one(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def to_csv(
    frame: pd.DataFrame, path: str | Path, *, index: bool = True, encoding: str = "utf-8-sig"
) -> Path:
    """Write ``frame`` to CSV with formula-like text neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path
    index : bool, default=True
        Write the index (customer ids, segment names, ...) as the first column.
    encoding : str, default="utf-8-sig"
        UTF-8 with a byte-order mark, so Excel shows Chinese text correctly.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from crm_analytics.export import to_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
    >>> _ = to_csv(pd.DataFrame({"title": ["@SUM(A1)"]}), path, index=False)
    >>> path.read_text(encoding="utf-8-sig").splitlines()
    ['title', "'@SUM(A1)"]
    """
    path = Path(path)
    neutralize_formulas(frame).to_csv(path, index=index, encoding=encoding)
    return path


def to_excel(
    frame: pd.DataFrame, path: str | Path, *, index: bool = True, sheet_name: str = "data"
) -> Path:
    """Write ``frame`` to an XLSX file with formula-like text neutralised.

    Needs ``openpyxl`` (``pip install 'crm-analytics[excel]'``). Time-zone-aware
    timestamps are written as naive local times (Excel has no time zones).

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path
    index : bool, default=True
    sheet_name : str, default="data"

    Returns
    -------
    Path
    """
    import_optional("openpyxl", extra="excel", caller="to_excel")
    path = Path(path)
    out = neutralize_formulas(frame)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    out.to_excel(path, index=index, sheet_name=sheet_name)
    return path


def write_table(frame: pd.DataFrame, path: str | Path, *, index: bool = True) -> Path:
    """Write ``frame`` by the file's extension: ``.csv``, ``.parquet`` or ``.xlsx``.

    CSV and XLSX text is neutralised (see :func:`neutralize_formulas`); Parquet keeps
    the values exactly, as it is read by programs, not spreadsheets.

    Raises
    ------
    InvalidDataError
        For another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return to_csv(frame, path, index=index)
    if suffix in (".xlsx", ".xlsm"):
        return to_excel(frame, path, index=index)
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=index)
        return path
    raise InvalidDataError(
        f"write_table: cannot write {path.name!r}: use a .csv, .parquet or .xlsx file name."
    )
