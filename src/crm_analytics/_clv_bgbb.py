"""The BG/BB model of discrete-time repeat transactions (private; public as
``crm_analytics.clv.BetaGeoBetaBinom``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _btyd
from ._clv_base import _bad, _check_frame, _Model, _numeric
from ._validation import check_columns
from .exceptions import InvalidDataError


def _bgbb_arrays(
    summary: Any,
    *,
    frequency_col: str,
    recency_col: str,
    n_periods_col: str,
    caller: str,
    weight_col: str | None = None,
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate the (x, t_x, n) columns of a discrete-time summary."""
    _check_frame(summary, caller)
    roles = {
        "frequency_col": frequency_col,
        "recency_col": recency_col,
        "n_periods_col": n_periods_col,
    }
    if weight_col is not None:
        roles["weight_col"] = weight_col
    check_columns(list(map(str, summary.columns)), roles, caller=caller, frame_name="summary")
    if len(summary) == 0 and not allow_empty:
        raise InvalidDataError(f"{caller}: `summary` has no rows; there is nothing to fit.")
    x = _numeric(summary, frequency_col, "frequency_col", caller)
    tx = _numeric(summary, recency_col, "recency_col", caller)
    n = _numeric(summary, n_periods_col, "n_periods_col", caller)
    fix = (
        "In discrete time, frequency counts the opportunities with a repeat transaction, "
        "recency is the last such opportunity (0 without one) and n_periods the number of "
        "opportunities since the first transaction."
    )
    for values, col in ((x, frequency_col), (tx, recency_col), (n, n_periods_col)):
        _bad(caller, summary, values < 0, f"negative {col!r}", fix)
        _bad(caller, summary, values != np.round(values), f"non-integer {col!r}", fix)
    _bad(caller, summary, tx > n, f"{recency_col!r} > {n_periods_col!r}", fix)
    _bad(caller, summary, x > tx, f"{frequency_col!r} > {recency_col!r}", fix)
    _bad(
        caller,
        summary,
        (x > 0) & (tx == 0),
        f"{frequency_col!r} > 0 with {recency_col!r} == 0",
        fix,
    )
    w = None
    if weight_col is not None:
        w = _numeric(summary, weight_col, "weight_col", caller)
        _bad(caller, summary, w < 0, f"negative {weight_col!r}", "Weights count customers.")
    return x, tx, n, w


class BetaGeoBetaBinom(_Model):
    """BG/BB purchase model for discrete-time data (beta-geometric / beta-binomial).

    At each transaction opportunity (a yearly campaign, a weekly event) an active
    customer transacts with probability ``p ~ Beta(alpha, beta)`` and then drops out
    with probability ``theta ~ Beta(gamma, delta)``.

    The summary holds, per customer (or per pattern, with a weight column), in units
    of opportunities after the first transaction: ``frequency`` (x, the number of
    opportunities with a repeat transaction), ``recency`` (t_x, the opportunity of the
    last one, 0 without repeats) and ``n_periods`` (n, the number of opportunities).

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty on the parameters added to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha``, ``beta``, ``gamma``, ``delta``.
    standard_errors_ : pandas.Series
        From the inverse Hessian of the log-likelihood.
    covariance_ : pandas.DataFrame
        Covariance matrix of the estimates.
    log_likelihood_ : float
        Log-likelihood at the estimates.
    converged_ : bool
        Whether the optimiser converged.
    n_customers_ : int
        Number of customers (sum of weights) fitted.
    n_unique_rows_ : int
        Distinct (frequency, recency, n_periods) rows the fit evaluated.
    n_iter_ : int
        Optimiser iterations.

    See Also
    --------
    BetaGeo : the continuous-time counterpart.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-base analysis in a
    discrete-time noncontractual setting. Marketing Science 29(6), 1086-1108
    (likelihood: eq. 5; E[X(n)]: eq. 9; P(alive): eq. 11; conditional expectation: eq. 13).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> donors = pd.DataFrame({"frequency": [0, 1, 2, 3, 6, 2], "recency": [0, 1, 5, 6, 6, 2],
    ...                        "n_periods": [6, 6, 6, 6, 6, 6], "n": [30, 10, 8, 9, 12, 6]})
    >>> model = clv.BetaGeoBetaBinom().fit(donors, weight_col="n")
    >>> model.predict_purchases(donors, 5).round(3).tolist()
    [0.059, 0.091, 1.532, 2.305, 4.171, 0.128]
    """

    _param_names = ("alpha", "beta", "gamma", "delta")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        n_periods_col: str = "n_periods",
        weight_col: str | None = None,
    ) -> BetaGeoBetaBinom:
        """Fit the model by maximum likelihood.

        Identical (frequency, recency, n_periods) rows are merged into one weighted row
        before fitting.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer, or per pattern with ``weight_col``.
        frequency_col : str, default="frequency"
            Opportunities with a repeat transaction, x (an integer >= 0).
        recency_col : str, default="recency"
            Opportunity of the last repeat transaction, t_x (0 without one).
        n_periods_col : str, default="n_periods"
            Number of opportunities after the first transaction, n.
        weight_col : str, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        ColumnNotFoundError
            A named column is missing.
        InvalidDataError
            Negative or non-integer values, frequency > recency, recency > n_periods.
        """
        caller = "BetaGeoBetaBinom.fit"
        if not (isinstance(self.penalizer, (int, float)) and self.penalizer >= 0):
            raise InvalidDataError(
                f"{caller}: penalizer must be a number >= 0, got {self.penalizer!r}."
            )
        x, tx, n, w = _bgbb_arrays(
            summary,
            frequency_col=frequency_col,
            recency_col=recency_col,
            n_periods_col=n_periods_col,
            weight_col=weight_col,
            caller=caller,
        )
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        data = _btyd.compress(x, tx, n, w)

        def loglik(p: np.ndarray, order: int, d: _btyd.Compressed = data) -> Any:
            return _btyd.bgbb_loglik(p, d, grad=order >= 1, hess=order == 2)

        start = None
        if len(data.x) > _btyd._START_ROWS:
            sample = data.thin(_btyd._START_CUSTOMERS)
            start = (lambda p, order: loglik(p, order, sample), sample.n)
        res = _btyd.maximize(
            loglik,
            np.zeros(4),
            data.n,
            penalty_scale=np.ones(4),
            penalizer=float(self.penalizer),
            start=start,
        )
        params = np.exp(res.log_params)
        self.n_unique_rows_ = len(data.x)
        self._set_fit(params, res.loglik, res, data.n)
        return self

    def _xtn(self, summary, frequency_col, recency_col, n_periods_col, caller):
        self._check_fitted(caller.split(".")[-1])
        x, tx, n, _ = _bgbb_arrays(
            summary,
            frequency_col=frequency_col,
            recency_col=recency_col,
            n_periods_col=n_periods_col,
            caller=caller,
            allow_empty=True,
        )
        return x, tx, n

    def predict_purchases(
        self,
        summary: pd.DataFrame,
        n_future: int,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        n_periods_col: str = "n_periods",
    ) -> pd.Series:
        """Expected number of transactions in the next ``n_future`` opportunities.

        The conditional expectation E[X(n, n + n_future) | x, t_x, n].

        Parameters
        ----------
        summary : pandas.DataFrame
            Summary with frequency (x), recency (t_x) and n_periods (n).
        n_future : int
            Number of future opportunities (>= 0).
        frequency_col, recency_col, n_periods_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``expected_purchases``, indexed like ``summary``.
        """
        caller = "BetaGeoBetaBinom.predict_purchases"
        x, tx, n = self._xtn(summary, frequency_col, recency_col, n_periods_col, caller)
        m = _check_periods(n_future, caller, "n_future")
        values = _btyd.bgbb_expected(self._params(), float(m), x, tx, n)
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def p_alive(
        self,
        summary: pd.DataFrame,
        *,
        n_future: int = 0,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        n_periods_col: str = "n_periods",
    ) -> pd.Series:
        """Probability that each customer is still active.

        Parameters
        ----------
        summary : pandas.DataFrame
            Summary with frequency (x), recency (t_x) and n_periods (n).
        n_future : int, default=0
            Opportunities after the last observed one (0: at the end of observation).
        frequency_col, recency_col, n_periods_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``p_alive`` in [0, 1], indexed like ``summary``.
        """
        caller = "BetaGeoBetaBinom.p_alive"
        x, tx, n = self._xtn(summary, frequency_col, recency_col, n_periods_col, caller)
        m = _check_periods(n_future, caller, "n_future")
        values = _btyd.bgbb_p_alive(self._params(), x, tx, n, float(m))
        return pd.Series(values, index=summary.index, name="p_alive")

    def expected_purchases_new_customer(self, n_periods: int) -> float:
        """Expected repeat transactions of a new customer in its first ``n_periods``.

        Parameters
        ----------
        n_periods : int
            Number of opportunities after the first transaction.

        Returns
        -------
        float
        """
        caller = "BetaGeoBetaBinom.expected_purchases_new_customer"
        self._check_fitted("expected_purchases_new_customer")
        n = _check_periods(n_periods, caller, "n_periods")
        return _btyd.bgbb_expected_new(self._params(), n)


def _check_periods(value: Any, caller: str, name: str) -> int:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer, float))
        or not float(value).is_integer()
        or value < 0
    ):
        raise InvalidDataError(
            f"{caller}: `{name}` must be a whole number of opportunities >= 0, got {value!r}."
        )
    return int(value)
