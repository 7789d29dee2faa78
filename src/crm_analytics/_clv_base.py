"""Shared machinery of the CLV models (private): input validation, the model base class
with its parameter table and JSON persistence."""

from __future__ import annotations

import json
import math
from abc import ABC
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from . import _btyd
from ._validation import check_columns, example_values, warn_external
from .exceptions import (
    ConvergenceWarning,
    InvalidDataError,
    NotFittedError,
    StatisticalWarning,
)

_JSON_FORMAT = "crm_analytics.clv/1"


# --------------------------------------------------------------------------- validation


def _check_frame(frame: Any, caller: str, name: str = "summary") -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(
            f"{caller}: `{name}` must be a pandas DataFrame (the output of "
            f"crm.customer_summary), got {type(frame).__name__}."
        )


def _bad(caller: str, frame: pd.DataFrame, mask: np.ndarray, what: str, hint: str) -> None:
    if mask.any():
        labels = example_values(frame.index[mask])
        raise InvalidDataError(
            f"{caller}: {int(mask.sum())} row(s) of `summary` have {what}, "
            f"e.g. {frame.index.name or 'index'}={labels[0]!r}.\n{hint}"
        )


def _numeric(frame: pd.DataFrame, col: str, role: str, caller: str) -> np.ndarray:
    series = frame[col]
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        raise InvalidDataError(
            f"{caller}: column {col!r} ({role}) must be numeric, got {series.dtype}.\n"
            f"Build the summary with crm.customer_summary(orders)."
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        labels = example_values(frame.index[bad])
        raise InvalidDataError(
            f"{caller}: column {col!r} ({role}) has {int(bad.sum())} missing or infinite "
            f"value(s), e.g. {frame.index.name or 'index'}={labels[0]!r}.\n"
            f"Drop or fill those rows first."
        )
    return values


def _btyd_arrays(
    summary: Any,
    *,
    frequency_col: str,
    recency_col: str,
    T_col: str,
    caller: str,
    weight_col: str | None = None,
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate the (x, t_x, T) columns of a summary and return them as float arrays."""
    _check_frame(summary, caller)
    roles = {"frequency_col": frequency_col, "recency_col": recency_col, "T_col": T_col}
    if weight_col is not None:
        roles["weight_col"] = weight_col
    check_columns(list(map(str, summary.columns)), roles, caller=caller, frame_name="summary")
    if len(summary) == 0 and not allow_empty:
        raise InvalidDataError(f"{caller}: `summary` has no rows; there is nothing to fit.")
    x = _numeric(summary, frequency_col, "frequency_col", caller)
    tx = _numeric(summary, recency_col, "recency_col", caller)
    T = _numeric(summary, T_col, "T_col", caller)
    idx = summary.index
    fix = "Build the summary with crm.customer_summary(orders), which guarantees these ranges."
    _bad(caller, summary, x < 0, f"negative {frequency_col!r}", fix)
    _bad(
        caller,
        summary,
        x != np.round(x),
        f"non-integer {frequency_col!r} (frequency counts repeat purchase periods)",
        fix,
    )
    _bad(caller, summary, tx < 0, f"negative {recency_col!r}", fix)
    tol = 1e-9 * np.maximum(1.0, np.abs(T))
    mask = tx > T + tol
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise InvalidDataError(
            f"{caller}: {int(mask.sum())} row(s) of `summary` have {recency_col!r} > {T_col!r}, "
            f"e.g. {idx.name or 'index'}={idx[i]!r}: {recency_col}={tx[i]}, {T_col}={T[i]}.\n"
            f"recency (t_x) is measured from the first purchase to the last, T from the "
            f"first purchase to as_of; both must use the same unit and as_of."
        )
    _bad(
        caller,
        summary,
        (x > 0) & (tx == 0),
        f"{frequency_col!r} > 0 with {recency_col!r} == 0",
        "A repeat purchase needs a later purchase period; " + fix,
    )
    w = None
    if weight_col is not None:
        w = _numeric(summary, weight_col, "weight_col", caller)
        _bad(caller, summary, w < 0, f"negative {weight_col!r}", "Weights count customers.")
    return x, np.minimum(tx, T), T, w


def _check_t(t: Any, caller: str, name: str = "t") -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if arr.ndim > 0 or not np.isfinite(arr) or arr < 0:
        raise InvalidDataError(
            f"{caller}: `{name}` must be one finite number >= 0 (a duration in the unit of "
            f"recency and T), got {t!r}."
        )
    return arr


# --------------------------------------------------------------------------- base class


class _Model(ABC):
    """Shared machinery: parameter table, JSON persistence, repr."""

    _param_names: ClassVar[tuple[str, ...]] = ()
    _short: ClassVar[str] = ""

    penalizer: float

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{type(self).__name__}.{method}: this {type(self).__name__} model is not "
                f"fitted yet. Call .fit(summary) first."
            )

    def _params(self) -> np.ndarray:
        return self.params_.to_numpy(dtype=float)

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Parameter estimates with standard errors and confidence intervals.

        Parameters
        ----------
        level : float, default=0.95
            Confidence level of the intervals.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, with columns ``estimate``, ``std_error``
            (from the inverse Hessian of the log-likelihood), ``ci_lower`` and
            ``ci_upper`` (Wald intervals on the log scale, so they stay positive).
            ``attrs`` holds ``log_likelihood`` (in the data's own units), ``aic``,
            ``bic``, ``n_customers`` and ``converged``.
        """
        self._check_fitted("summary")
        if not 0 < level < 1:
            raise InvalidDataError(
                f"{type(self).__name__}.summary: level must be in (0, 1), got {level}."
            )
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + level / 2.0))
        est = self.params_
        se = self.standard_errors_
        rel = se / est
        out = pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "ci_lower": est * np.exp(-z * rel),
                "ci_upper": est * np.exp(z * rel),
            }
        )
        out.index.name = "parameter"
        out.attrs.update(
            log_likelihood=self.log_likelihood_,
            aic=self.aic_,
            bic=self.bic_,
            n_customers=self.n_customers_,
            converged=self.converged_,
        )
        return out

    @property
    def aic_(self) -> float:
        return 2.0 * len(self._param_names) - 2.0 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        return (
            len(self._param_names) * math.log(max(self.n_customers_, 1))
            - 2.0 * self.log_likelihood_
        )

    def _set_fit(self, params: np.ndarray, loglik: float, res: _btyd.FitResult, n: float) -> None:
        names = list(self._param_names)
        self.params_ = pd.Series(params, index=names, name="estimate", dtype=float)
        cov = np.full((len(names), len(names)), np.nan)
        ok = False
        if res.hessian is not None and np.all(np.isfinite(res.hessian)):
            try:
                cov_log = np.linalg.inv(res.hessian)
                ok = bool(np.all(np.diag(cov_log) > 0))
            except np.linalg.LinAlgError:
                ok = False
            if ok:
                cov = cov_log * np.outer(params, params)
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(cov)), index=names, name="std_error", dtype=float
        )
        self.log_likelihood_ = float(loglik)
        self.converged_ = bool(res.converged)
        self.n_iter_ = int(res.n_iter)
        self.n_customers_ = int(round(n))
        caller = f"{type(self).__name__}.fit"
        if not res.converged:
            warn_external(
                f"{caller}: the optimiser did not converge ({res.message}; largest gradient "
                f"{res.grad_norm:.2g}). converged_ is False and the estimates may be off. "
                f"Try penalizer=0.001, or a coarser time unit (weeks instead of days).",
                ConvergenceWarning,
            )
        elif np.any(np.abs(res.log_params) > 25.0):
            name = names[int(np.argmax(np.abs(res.log_params)))]
            warn_external(
                f"{caller}: parameter {name!r} is at the edge of the parameter space "
                f"({self.params_[name]:.3g}); the data do not identify it. Try "
                f"penalizer=0.001 or more data.",
                StatisticalWarning,
            )
        elif not ok:
            warn_external(
                f"{caller}: the Hessian is not positive definite, so standard errors are "
                f"unavailable (NaN). Try penalizer=0.001.",
                StatisticalWarning,
            )

    # -- persistence
    def to_json(self) -> str:
        """Serialise the settings and the fitted state to a JSON string (no pickle).

        Returns
        -------
        str
            JSON that :meth:`from_json` (or :func:`model_from_json`) turns back into an
            equal model with the same predictions.
        """
        state: dict[str, Any] = {
            "format": _JSON_FORMAT,
            "model": type(self).__name__,
            "settings": {"penalizer": self.penalizer},
        }
        if hasattr(self, "params_"):
            state["fitted"] = {
                "params": [float(v) for v in self.params_],
                "standard_errors": [float(v) for v in self.standard_errors_],
                "covariance": [[float(v) for v in row] for row in self.covariance_.to_numpy()],
                "log_likelihood": self.log_likelihood_,
                "converged": self.converged_,
                "n_iter": self.n_iter_,
                "n_customers": self.n_customers_,
                "extra": self._extra_state(),
            }
        return json.dumps(state, allow_nan=True)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        return None

    @classmethod
    def from_json(cls, text: str) -> Any:
        """Rebuild a model saved with :meth:`to_json`.

        Parameters
        ----------
        text : str
            The JSON string.

        Returns
        -------
        model
            A model of the class named in the JSON (which must be this class).
        """
        state = json.loads(text)
        if not isinstance(state, dict) or state.get("format") != _JSON_FORMAT:
            raise InvalidDataError(
                f"{cls.__name__}.from_json: not a crm_analytics CLV model (expected format "
                f"{_JSON_FORMAT!r})."
            )
        if state["model"] != cls.__name__:
            raise InvalidDataError(
                f"{cls.__name__}.from_json: the JSON holds a {state['model']} model. "
                f"Use crm.clv.{state['model']}.from_json or crm.clv.model_from_json."
            )
        model = cls(**state["settings"])
        fitted = state.get("fitted")
        if fitted:
            names = list(cls._param_names)
            model.params_ = pd.Series(fitted["params"], index=names, name="estimate", dtype=float)
            model.standard_errors_ = pd.Series(
                fitted["standard_errors"], index=names, name="std_error", dtype=float
            )
            model.covariance_ = pd.DataFrame(
                fitted["covariance"], index=names, columns=names, dtype=float
            )
            model.log_likelihood_ = float(fitted["log_likelihood"])
            model.converged_ = bool(fitted["converged"])
            model.n_iter_ = int(fitted["n_iter"])
            model.n_customers_ = int(fitted["n_customers"])
            model._load_extra_state(fitted.get("extra", {}))
        return model

    def __repr__(self) -> str:
        settings = f"{type(self).__name__}(penalizer={self.penalizer!r})"
        if not hasattr(self, "params_"):
            return f"{settings}, not fitted"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        flag = "" if self.converged_ else ", NOT converged"
        return f"{settings}, fitted on {self.n_customers_:,} customers: {params}{flag}"


def _check_n(n: Any, caller: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InvalidDataError(f"{caller}: `n` must be an integer >= 0, got {n!r}.")
    return int(n)
