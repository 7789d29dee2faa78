"""Customer lifetime value: who will buy again, how often, for how much, and what each
customer is worth.

Purchase models ("buy till you die", BTYD) fitted by maximum likelihood on the
customer summary (:func:`crm_analytics.customer_summary`):

- :class:`BetaGeo` (BG/NBD), :class:`ModifiedBetaGeo` (MBG/NBD), :class:`ParetoNBD`
  predict repeat purchases and the probability that a customer is still active;
- :class:`GammaGamma` predicts the mean value of a customer's purchases;
- :func:`customer_lifetime_value` combines them into discounted monthly cash flows,
  :func:`fit_clv` does everything from the orders in one call;
- :func:`calibration_holdout` and :func:`evaluate_holdout` check predictions on a
  period the model did not see.

The BTYD statistics keep the literature's names. For each customer, ``frequency`` is
``x``, the number of repeat purchase periods (distinct purchase days, or weeks, minus
one); ``recency`` is ``t_x``, the time from the first to the last purchase; ``T`` is the
age, the time from the first purchase to the end of observation. ``recency`` and ``T``
are in one time unit (days or weeks, the ``freq`` of ``customer_summary``); every time
argument (``t``) and every fitted time-scale parameter (``alpha``, ``beta``) is in that
unit.
"""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from . import _btyd, schema
from ._clv_base import (
    _bad,
    _btyd_arrays,
    _check_frame,
    _check_n,
    _check_t,
    _Model,
    _numeric,
)
from ._clv_bgbb import BetaGeoBetaBinom
from ._validation import check_choice, check_columns, example_values, warn_external
from .exceptions import (
    DataQualityWarning,
    InvalidDataError,
    StatisticalWarning,
)

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CLVResult",
    "GammaGamma",
    "HoldoutEvaluation",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "calibration_holdout",
    "customer_lifetime_value",
    "evaluate_holdout",
    "fit_clv",
    "frequency_recency_matrix",
    "model_from_json",
    "p_alive_history",
]

# days or weeks per month in the CLV cash-flow convention of lifetimes and the literature
_PERIODS_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0}


def model_from_json(text: str) -> Any:
    """Rebuild any CLV model saved with ``to_json``.

    Parameters
    ----------
    text : str
        The JSON string.

    Returns
    -------
    BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom or GammaGamma

    Examples
    --------
    >>> import crm_analytics.clv as clv
    >>> model = clv.model_from_json(clv.BetaGeo(penalizer=0.01).to_json())
    >>> model
    BetaGeo(penalizer=0.01), not fitted
    """
    state = json.loads(text)
    classes = {
        c.__name__: c for c in (BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom, GammaGamma)
    }
    name = state.get("model") if isinstance(state, dict) else None
    if name not in classes:
        raise InvalidDataError(
            f"model_from_json: unknown model {name!r}; expected one of {sorted(classes)}."
        )
    return classes[name].from_json(text)


# --------------------------------------------------------------------------- purchase models


class _PurchaseModel(_Model):
    """Common fit and predictions of the BTYD purchase models."""

    _time_params: ClassVar[tuple[int, ...]] = (1,)
    _start_customers: ClassVar[int] = _btyd._START_CUSTOMERS

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # model-specific hooks, defined by each model
    @abstractmethod
    def _loglik(self, params: np.ndarray, data: _btyd.Compressed, order: int = 1) -> Any: ...

    @abstractmethod
    def _expected_factor(self, t: Any, x: np.ndarray, T: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _expected(self, t: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _prob(self, n: int, t: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray: ...

    def _start_loglik(self, params: np.ndarray, data: _btyd.Compressed, order: int = 1) -> Any:
        """Log-likelihood used on the thinned sample that gives the starting point."""
        return self._loglik(params, data, order)

    def _theta0(self) -> np.ndarray:
        return np.zeros(4)

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        weight_col: str | None = None,
    ) -> Any:
        """Fit the model by maximum likelihood.

        Identical (frequency, recency, T) rows are merged into one weighted row before
        fitting, so the cost grows with the number of distinct rows, not customers.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer, e.g. from ``crm.customer_summary``.
        frequency_col : str, default="frequency"
            Repeat purchase periods, x (an integer >= 0).
        recency_col : str, default="recency"
            Time from the first to the last purchase, t_x, in the summary's unit.
        T_col : str, default="T"
            Time from the first purchase to the end of observation, T, same unit.
        weight_col : str, optional
            Number of customers each row stands for (already compressed data).

        Returns
        -------
        self

        Raises
        ------
        ColumnNotFoundError
            A named column is missing.
        InvalidDataError
            Negative or non-integer frequency, recency > T, missing values, no rows.
        """
        caller = f"{type(self).__name__}.fit"
        if not (isinstance(self.penalizer, (int, float)) and self.penalizer >= 0):
            raise InvalidDataError(
                f"{caller}: penalizer must be a number >= 0, got {self.penalizer!r}."
            )
        x, tx, T, w = _btyd_arrays(
            summary,
            frequency_col=frequency_col,
            recency_col=recency_col,
            T_col=T_col,
            weight_col=weight_col,
            caller=caller,
        )
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        t_max = float(T.max())
        if t_max <= 0:
            raise InvalidDataError(
                f"{caller}: every customer has {T_col!r} = 0 (all first purchases on the "
                f"last day); there is no history to learn from."
            )
        scale = 1.0 / t_max  # time rescaled so that the longest T is 1
        data_unit = _btyd.compress(x, tx, T, w)
        data = data_unit.scaled(scale)
        start = None
        if len(data.x) > _btyd._START_ROWS:  # start from a thinned sample of customers
            sample = data.thin(self._start_customers)
            start = (lambda p, order: self._start_loglik(p, sample, order), sample.n)
        res = _btyd.maximize(
            lambda p, order: self._loglik(p, data, order),
            self._theta0(),
            data.n,
            penalty_scale=np.ones(len(self._param_names)),
            penalizer=float(self.penalizer),
            start=start,
        )
        params = np.exp(res.log_params)
        params[list(self._time_params)] /= scale
        loglik = self._loglik(params, data_unit, 0)[0]
        self.n_unique_rows_ = len(data.x)
        self._set_fit(params, loglik, res, data.n)
        return self

    def _xtT(self, summary, frequency_col, recency_col, T_col, caller):
        self._check_fitted(caller.split(".")[-1])
        x, tx, T, _ = _btyd_arrays(
            summary,
            frequency_col=frequency_col,
            recency_col=recency_col,
            T_col=T_col,
            caller=caller,
            allow_empty=True,
        )
        return x, tx, T

    def predict_purchases(
        self,
        summary: pd.DataFrame,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
    ) -> pd.Series:
        """Expected number of purchases in the next ``t`` time units, per customer.

        The conditional expectation E[X(T, T + t) | x, t_x, T].

        Parameters
        ----------
        summary : pandas.DataFrame
            Customer summary with frequency (x), recency (t_x) and T.
        t : float
            Horizon, in the unit of recency and T.
        frequency_col, recency_col, T_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``expected_purchases``, indexed like ``summary``.
        """
        caller = f"{type(self).__name__}.predict_purchases"
        x, tx, T = self._xtT(summary, frequency_col, recency_col, T_col, caller)
        t_arr = _check_t(t, caller)
        values = self._expected(t_arr, x, tx, T)
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def p_alive(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
    ) -> pd.Series:
        """Probability that each customer is still active at the end of observation.

        Parameters
        ----------
        summary : pandas.DataFrame
            Customer summary with frequency (x), recency (t_x) and T.
        frequency_col, recency_col, T_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``p_alive`` in [0, 1], indexed like ``summary``.
        """
        caller = f"{type(self).__name__}.p_alive"
        x, tx, T = self._xtT(summary, frequency_col, recency_col, T_col, caller)
        return pd.Series(self._p_alive(x, tx, T), index=summary.index, name="p_alive")

    def prob_purchases(
        self,
        summary: pd.DataFrame,
        n: int,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
    ) -> pd.Series:
        """Probability of exactly ``n`` purchases in the next ``t`` time units.

        The conditional probability P(X(T, T + t) = n | x, t_x, T).

        Parameters
        ----------
        summary : pandas.DataFrame
            Customer summary with frequency (x), recency (t_x) and T.
        n : int
            Number of purchases (>= 0).
        t : float
            Horizon, in the unit of recency and T.
        frequency_col, recency_col, T_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``prob_purchases``, indexed like ``summary``.
        """
        caller = f"{type(self).__name__}.prob_purchases"
        x, tx, T = self._xtT(summary, frequency_col, recency_col, T_col, caller)
        t_arr = _check_t(t, caller)
        n = _check_n(n, caller)
        values = self._prob(n, t_arr, x, tx, T)
        return pd.Series(values, index=summary.index, name="prob_purchases")

    def expected_purchases_new_customer(self, t: float) -> float:
        """Expected purchases of a new customer in ``t`` time units after the first purchase.

        The unconditional E[X(t)] (repeat purchases only).

        Parameters
        ----------
        t : float
            Duration in the unit of the fitted data.

        Returns
        -------
        float
        """
        caller = f"{type(self).__name__}.expected_purchases_new_customer"
        self._check_fitted("expected_purchases_new_customer")
        t_arr = _check_t(t, caller)
        return float(self._expected(t_arr, np.zeros(1), np.zeros(1), np.zeros(1))[0])

    def prob_purchases_new_customer(self, n: int, t: float) -> float:
        """Probability that a new customer makes exactly ``n`` repeat purchases in ``t``.

        Parameters
        ----------
        n : int
            Number of repeat purchases (>= 0).
        t : float
            Duration in the unit of the fitted data.

        Returns
        -------
        float
        """
        caller = f"{type(self).__name__}.prob_purchases_new_customer"
        self._check_fitted("prob_purchases_new_customer")
        t_arr = _check_t(t, caller)
        n = _check_n(n, caller)
        z = np.zeros(1)
        return float(self._prob(n, t_arr, z, z, z)[0])


_REF_BG = """
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers"
    the easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2),
    275-284 (likelihood: eq. 6; E[X(t)]: eq. 7; conditional expectation: eq. 10)."""


class BetaGeo(_PurchaseModel):
    """BG/NBD purchase model (beta-geometric / negative binomial distribution).

    While active, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; after
    each repeat purchase they drop out with probability ``p ~ Beta(a, b)``.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty on the parameters added to the mean negative log-likelihood, with
        ``alpha`` measured in units where the longest T is 1 (the convention of
        lifetimes, so the same value means the same in days or weeks).

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha`` (in the data's time unit), ``a``, ``b``.
    standard_errors_ : pandas.Series
        From the inverse Hessian of the log-likelihood.
    covariance_ : pandas.DataFrame
        Covariance matrix of the estimates.
    log_likelihood_ : float
        Log-likelihood at the estimates, in the data's time unit.
    converged_ : bool
        Whether the optimiser converged.
    n_customers_ : int
        Number of customers (sum of weights) fitted.
    n_unique_rows_ : int
        Distinct (frequency, recency, T) rows the fit actually evaluated.
    n_iter_ : int
        Optimiser iterations.

    References
    ----------
    {ref}

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> summary = pd.DataFrame(
    ...     {{"frequency": [0, 1, 2, 0, 4, 1], "recency": [0.0, 5.0, 20.0, 0.0, 30.0, 2.0],
    ...      "T": [40.0, 38.0, 35.0, 20.0, 33.0, 30.0]}},
    ...     index=pd.Index(list("abcdef"), name="customer_id"))
    >>> model = clv.BetaGeo(penalizer=0.01).fit(summary)
    >>> model.predict_purchases(summary, t=10).round(3)
    customer_id
    a    0.181
    b    0.058
    c    0.457
    d    0.275
    e    0.986
    f    0.068
    Name: expected_purchases, dtype: float64
    """

    __doc__ = __doc__.format(ref=_REF_BG.strip())
    _param_names = ("r", "alpha", "a", "b")
    _modified = False

    def _loglik(self, params, data, order=1):
        return _btyd.bg_loglik(
            params, data, modified=self._modified, grad=order >= 1, hess=order == 2
        )

    def _expected(self, t, x, tx, T):
        return _btyd.bg_expected(self._params(), t, x, tx, T, modified=self._modified)

    def _expected_factor(self, t, x, T):
        return _btyd.bg_expected_factor(self._params(), t, x, T, modified=self._modified)

    def _p_alive(self, x, tx, T):
        return _btyd.bg_p_alive(self._params(), x, tx, T, modified=self._modified)

    def _prob(self, n, t, x, tx, T):
        return _btyd.bg_prob(self._params(), n, t, x, tx, T, modified=self._modified)


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD purchase model (modified BG/NBD).

    Like :class:`BetaGeo`, but a customer may also drop out right after the first
    purchase, so customers without repeat purchases are not assumed to be active.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty on the parameters (``alpha`` in units where the longest T is 1).

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha`` (in the data's time unit), ``a``, ``b``.
    standard_errors_ : pandas.Series
        From the inverse Hessian of the log-likelihood.
    covariance_ : pandas.DataFrame
        Covariance matrix of the estimates.
    log_likelihood_ : float
        Log-likelihood at the estimates, in the data's time unit.
    converged_ : bool
        Whether the optimiser converged.
    n_customers_ : int
        Number of customers fitted.
    n_unique_rows_ : int
        Distinct (frequency, recency, T) rows evaluated.
    n_iter_ : int
        Optimiser iterations.

    References
    ----------
    Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and
    comparison of models for customer base analysis. International Journal of Research
    in Marketing 24(3), 201-209.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> summary = pd.DataFrame(
    ...     {"frequency": [0, 1, 2, 0, 4, 1], "recency": [0.0, 5.0, 20.0, 0.0, 30.0, 2.0],
    ...      "T": [40.0, 38.0, 35.0, 20.0, 33.0, 30.0]})
    >>> model = clv.ModifiedBetaGeo(penalizer=0.01).fit(summary)
    >>> model.p_alive(summary).round(3).tolist()
    [0.192, 0.227, 0.586, 0.34, 0.849, 0.238]
    """

    _modified = True


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD purchase model.

    While active, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)`` and
    stays active for an exponential lifetime with rate ``mu ~ Gamma(s, beta)``.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty on the parameters (``alpha`` and ``beta`` in units where the longest
        T is 1).

    Attributes
    ----------
    params_ : pandas.Series
        ``r``, ``alpha``, ``s``, ``beta`` (``alpha``, ``beta`` in the data's time unit).
    standard_errors_ : pandas.Series
        From the inverse Hessian of the log-likelihood.
    covariance_ : pandas.DataFrame
        Covariance matrix of the estimates.
    log_likelihood_ : float
        Log-likelihood at the estimates, in the data's time unit.
    converged_ : bool
        Whether the optimiser converged.
    n_customers_ : int
        Number of customers fitted.
    n_unique_rows_ : int
        Distinct (frequency, recency, T) rows evaluated.
    n_iter_ : int
        Optimiser iterations.

    Notes
    -----
    The likelihood's integral over the time of drop-out is computed by Gauss-Legendre
    quadrature on a logarithmic scale instead of as the difference of two Gauss
    hypergeometric functions, which avoids cancellation when recency is close to T;
    both agree to about 1e-12.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting your customers:
    who are they and what will they do next? Management Science 33(1), 1-24.
    Fader, P. S. and Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions (note 009).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> summary = pd.DataFrame(
    ...     {"frequency": [0, 1, 2, 0, 4, 1], "recency": [0.0, 5.0, 20.0, 0.0, 30.0, 2.0],
    ...      "T": [40.0, 38.0, 35.0, 20.0, 33.0, 30.0]})
    >>> model = clv.ParetoNBD(penalizer=0.01).fit(summary)
    >>> model.p_alive(summary).round(3).tolist()
    [0.172, 0.214, 0.666, 0.381, 0.951, 0.221]
    """

    _param_names = ("r", "alpha", "s", "beta")
    _time_params = (1, 3)
    _start_customers = _btyd._PARETO_START_CUSTOMERS

    def _loglik(self, params, data, order=1):
        return _btyd.pareto_loglik(params, data, grad=order >= 1, hess=order == 2)

    def _start_loglik(self, params, data, order=1):
        return _btyd.pareto_loglik(
            params, data, grad=order >= 1, hess=order == 2, nodes=_btyd._GL_START
        )

    def _expected(self, t, x, tx, T):
        return _btyd.pareto_expected(self._params(), t, x, tx, T)

    def _expected_factor(self, t, x, T):
        return _btyd.pareto_expected_factor(self._params(), t, x, T)

    def _p_alive(self, x, tx, T):
        return _btyd.pareto_p_alive(self._params(), x, tx, T)

    def _prob(self, n, t, x, tx, T):
        return _btyd.pareto_prob(self._params(), n, t, x, tx, T)


# --------------------------------------------------------------------------- spend model


class GammaGamma(_Model):
    """Gamma-Gamma model of the mean value of a customer's purchases.

    Each purchase value is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` across customers;
    the model assumes spend is independent of purchase frequency. It is fitted on
    repeat customers only (frequency x > 0), with ``monetary_value`` the mean value of
    their x repeat purchases (``zbar``).

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty on the parameters (``v`` in units of the mean spend).

    Attributes
    ----------
    params_ : pandas.Series
        ``p``, ``q``, ``v`` (``v`` in money units).
    standard_errors_ : pandas.Series
        From the inverse Hessian of the log-likelihood.
    covariance_ : pandas.DataFrame
        Covariance matrix of the estimates.
    log_likelihood_ : float
        Log-likelihood of the mean spends, in money units.
    converged_ : bool
        Whether the optimiser converged.
    n_customers_ : int
        Number of repeat customers fitted.
    frequency_spend_corr_ : float
        Pearson correlation of frequency and monetary value among them.
    n_iter_ : int
        Optimiser iterations.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value
    (note 025), eq. 4 (likelihood) and eq. 5 (conditional expectation).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> summary = pd.DataFrame(
    ...     {"frequency": [1, 2, 3, 1, 4, 2, 0], "monetary_value": [20.0, 35.0, 28.0, 60.0, 25.0, 40.0, 0.0]})
    >>> model = clv.GammaGamma(penalizer=0.01).fit(summary)
    >>> model.expected_value(summary).round(2).tolist()
    [30.92, 37.66, 31.48, 52.75, 28.28, 41.19, 44.04]
    """

    _param_names = ("p", "q", "v")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        monetary_col: str = "monetary_value",
        weight_col: str | None = None,
    ) -> GammaGamma:
        """Fit by maximum likelihood on the repeat customers (frequency > 0).

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer, e.g. from ``crm.customer_summary``.
        frequency_col : str, default="frequency"
            Repeat purchase periods, x.
        monetary_col : str, default="monetary_value"
            Mean value of the repeat purchases (``zbar``), in money units.
        weight_col : str, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        InvalidDataError
            Missing columns or values, negative spend, no repeat customers.

        Warns
        -----
        StatisticalWarning
            When |corr(frequency, monetary value)| >= 0.3 over at least 30 repeat
            customers (the model assumes no correlation).
        DataQualityWarning
            When repeat customers with zero spend are left out.
        """
        caller = "GammaGamma.fit"
        _check_frame(summary, caller)
        roles = {"frequency_col": frequency_col, "monetary_col": monetary_col}
        if weight_col is not None:
            roles["weight_col"] = weight_col
        check_columns(list(map(str, summary.columns)), roles, caller=caller, frame_name="summary")
        x = _numeric(summary, frequency_col, "frequency_col", caller)
        m = _numeric(summary, monetary_col, "monetary_col", caller)
        w = _numeric(summary, weight_col, "weight_col", caller) if weight_col else np.ones_like(x)
        _bad(
            caller,
            summary,
            x < 0,
            f"negative {frequency_col!r}",
            "Frequency counts repeat purchases.",
        )
        _bad(
            caller,
            summary,
            (x > 0) & (m < 0),
            f"negative {monetary_col!r}",
            "Spend must be >= 0; check refunds larger than the purchases.",
        )
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        repeat = x > 0
        zero = repeat & (m == 0)
        if zero.any():
            warn_external(
                f"{caller}: {int(zero.sum())} repeat customer(s) with {monetary_col!r} = 0 "
                f"are left out of the spend model (e.g. "
                f"{example_values(summary.index[zero])[0]!r}).",
                DataQualityWarning,
            )
        keep = repeat & (m > 0) & (w > 0)
        if keep.sum() < 2:
            raise InvalidDataError(
                f"{caller}: need at least 2 repeat customers (frequency > 0) with spend > 0, "
                f"found {int(keep.sum())}."
            )
        xk, mk, wk = x[keep], m[keep], w[keep]
        if len(xk) > 2 and np.std(xk) > 0 and np.std(mk) > 0:
            corr = float(np.corrcoef(xk, mk)[0, 1])
        else:
            corr = 0.0
        scale = float(np.average(mk, weights=wk))
        data = _btyd.compress_spend(xk, mk / scale, wk)

        def loglik(p: np.ndarray, order: int, d: _btyd.SpendData = data) -> Any:
            return _btyd.gg_loglik(p, d, grad=order >= 1, hess=order == 2)

        start = None
        if len(xk) > _btyd._START_ROWS:  # start from a thinned sample of customers
            rng = np.random.default_rng(0)
            wt = rng.poisson(wk * (_btyd._START_CUSTOMERS / data.n)).astype(float)
            keep_s = wt > 0
            sample = _btyd.compress_spend(xk[keep_s], mk[keep_s] / scale, wt[keep_s])
            start = (lambda p, order: loglik(p, order, sample), sample.n)
        res = _btyd.maximize(
            loglik,
            np.array([0.0, 1.0, 0.0]),
            data.n,
            penalty_scale=np.ones(3),
            penalizer=float(self.penalizer),
            start=start,
        )
        params = np.exp(res.log_params)
        params[2] *= scale
        # the density of the mean spends in money units: the Jacobian of the rescaling
        loglik_money = res.loglik - data.n * math.log(scale)
        self._set_fit(params, loglik_money, res, data.n)
        self.frequency_spend_corr_ = corr
        if abs(corr) >= 0.3 and len(xk) >= 30:
            warn_external(
                f"{caller}: frequency and {monetary_col!r} are correlated (Pearson r = "
                f"{corr:.2f} over {len(xk)} repeat customers); the Gamma-Gamma model assumes "
                f"they are independent, so its spend predictions may be biased.",
                StatisticalWarning,
            )
        if params[1] <= 1.0:
            warn_external(
                f"{caller}: q = {params[1]:.3g} <= 1, so the population mean spend is "
                f"infinite and expected values of customers without repeats are undefined.",
                StatisticalWarning,
            )
        return self

    def _extra_state(self) -> dict[str, Any]:
        return {"frequency_spend_corr": self.frequency_spend_corr_}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        self.frequency_spend_corr_ = float(extra.get("frequency_spend_corr", float("nan")))

    def expected_value(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        monetary_col: str = "monetary_value",
    ) -> pd.Series:
        """Expected mean purchase value of each customer, E[M | x, zbar].

        A weighted average of the customer's observed mean and the population mean;
        customers without repeat purchases get the population mean.

        Parameters
        ----------
        summary : pandas.DataFrame
            Customer summary.
        frequency_col, monetary_col : str
            Column names.

        Returns
        -------
        pandas.Series
            ``expected_order_value``, indexed like ``summary``.
        """
        caller = "GammaGamma.expected_value"
        self._check_fitted("expected_value")
        _check_frame(summary, caller)
        check_columns(
            list(map(str, summary.columns)),
            {"frequency_col": frequency_col, "monetary_col": monetary_col},
            caller=caller,
            frame_name="summary",
        )
        x = _numeric(summary, frequency_col, "frequency_col", caller)
        m = _numeric(summary, monetary_col, "monetary_col", caller)
        _bad(
            caller,
            summary,
            x < 0,
            f"negative {frequency_col!r}",
            "Frequency counts repeat purchases.",
        )
        values = _btyd.gg_expected_value(self._params(), x, m)
        return pd.Series(values, index=summary.index, name="expected_order_value")


# --------------------------------------------------------------------------- CLV


def customer_lifetime_value(
    summary: pd.DataFrame,
    *,
    purchase_model: _PurchaseModel,
    spend_model: GammaGamma,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: Literal["D", "W", "M"] = "D",
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_col: str = "monetary_value",
) -> pd.DataFrame:
    """Customer lifetime value over a horizon: discounted monthly cash flows.

    For month k = 1..horizon_months, the expected purchases in that month times the
    expected purchase value times ``margin``, discounted by ``(1 + discount_rate)^k``
    (the definition of lifetimes and of Fader, Hardie and Lee 2005).

    Parameters
    ----------
    summary : pandas.DataFrame
        Customer summary with frequency (x), recency (t_x), T and monetary value.
    purchase_model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A fitted purchase model.
    spend_model : GammaGamma
        A fitted spend model.
    horizon_months : int, default=12
        Number of months of cash flow.
    discount_rate : float, default=0.01
        Discount rate per month.
    margin : float, default=1.0
        Profit margin applied to the spend.
    freq : {"D", "W", "M"}, default="D"
        Time unit of recency and T: days (a month is 30 days), weeks (4.345 weeks) or
        months.
    frequency_col, recency_col, T_col, monetary_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``, with columns ``expected_purchases`` (in the horizon),
        ``p_alive``, ``expected_order_value`` and ``clv``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> summary = pd.DataFrame(
    ...     {"frequency": [0, 1, 2, 0, 4, 1], "recency": [0.0, 5.0, 20.0, 0.0, 30.0, 2.0],
    ...      "T": [40.0, 38.0, 35.0, 20.0, 33.0, 30.0],
    ...      "monetary_value": [0.0, 20.0, 35.0, 0.0, 25.0, 60.0]})
    >>> bg = clv.BetaGeo(penalizer=0.01).fit(summary)
    >>> gg = clv.GammaGamma(penalizer=0.01).fit(summary)
    >>> clv.customer_lifetime_value(
    ...     summary, purchase_model=bg, spend_model=gg, horizon_months=3, freq="W").round(2)
       expected_purchases  p_alive  expected_order_value    clv
    0                0.23     1.00                 44.08  10.03
    1                0.07     0.15                 30.55   2.24
    2                0.59     0.76                 37.55  21.79
    3                0.35     1.00                 44.08  15.12
    4                1.28     0.95                 28.11  35.27
    5                0.09     0.15                 53.02   4.56
    """
    caller = "customer_lifetime_value"
    check_choice(freq, tuple(_PERIODS_PER_MONTH), name="freq", caller=caller)
    if not isinstance(purchase_model, _PurchaseModel):
        raise InvalidDataError(
            f"{caller}: purchase_model must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD, "
            f"got {type(purchase_model).__name__}."
        )
    if not isinstance(spend_model, GammaGamma):
        raise InvalidDataError(
            f"{caller}: spend_model must be a fitted GammaGamma, got {type(spend_model).__name__}."
        )
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, (int, np.integer))
        or horizon_months < 1
    ):
        raise InvalidDataError(
            f"{caller}: horizon_months must be an integer >= 1, got {horizon_months!r}."
        )
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise InvalidDataError(f"{caller}: discount_rate must be > -1, got {discount_rate!r}.")
    purchase_model._check_fitted("customer_lifetime_value")
    spend_model._check_fitted("customer_lifetime_value")
    x, tx, T, _ = _btyd_arrays(
        summary,
        frequency_col=frequency_col,
        recency_col=recency_col,
        T_col=T_col,
        caller=caller,
        allow_empty=True,
    )
    value = spend_model.expected_value(
        summary, frequency_col=frequency_col, monetary_col=monetary_col
    )
    value = value.to_numpy()
    # the expensive terms once per distinct (x, t_x, T) row, and the horizon terms once
    # per distinct (x, T): E[X(t) | x, t_x, T] = factor(t; x, T) * P(alive | x, t_x, T)
    rows = _btyd.compress(x, tx, T)
    row_of = rows.row_index
    p_alive = purchase_model._p_alive(rows.x, rows.tx, rows.T)
    pair_of, first = _btyd.group_rows(rows.x, rows.T)
    px, pT = rows.x[first], rows.T[first]
    factor = _PERIODS_PER_MONTH[freq]
    discounted = np.zeros(len(px))
    previous = np.zeros(len(px))
    for month in range(1, int(horizon_months) + 1):  # months, not customers
        cumulative = purchase_model._expected_factor(np.asarray(month * factor), px, pT)
        discounted += (cumulative - previous) / (1.0 + discount_rate) ** month
        previous = cumulative
    alive = p_alive[row_of]
    out = pd.DataFrame(
        {
            "expected_purchases": previous[pair_of][row_of] * alive,
            "p_alive": alive,
            "expected_order_value": value,
            "clv": value * margin * alive * discounted[pair_of][row_of],
        },
        index=summary.index,
    )
    return out


@dataclass
class CLVResult:
    """What :func:`fit_clv` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        Per customer (sorted by CLV, highest first): the summary's frequency, recency,
        T and monetary_value, then expected_purchases, p_alive, expected_order_value, clv.
    purchase_model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        The fitted purchase model.
    spend_model : GammaGamma
        The fitted spend model.
    summary : pandas.DataFrame
        The customer summary the models were fitted on.
    """

    table: pd.DataFrame
    purchase_model: Any
    spend_model: GammaGamma
    summary: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"CLVResult({len(self.table):,} customers, total clv {self.table['clv'].sum():,.2f};\n"
            f"  purchase_model={self.purchase_model!r},\n  spend_model={self.spend_model!r})"
        )


_MODELS = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pareto": ParetoNBD}


def fit_clv(
    orders: Any,
    *,
    model: Literal["bgnbd", "mbgnbd", "pareto"] = "bgnbd",
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: Literal["D", "W"] = "D",
    as_of: Any = None,
    penalizer: float = 0.0,
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
) -> CLVResult:
    """Orders to per-customer lifetime value in one call.

    Summarises the orders (:func:`crm_analytics.customer_summary`), fits the purchase
    model and a :class:`GammaGamma` spend model, and computes
    :func:`customer_lifetime_value`.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders (any frame ``customer_summary`` accepts).
    model : {"bgnbd", "mbgnbd", "pareto"}, default="bgnbd"
        Purchase model: :class:`BetaGeo`, :class:`ModifiedBetaGeo` or :class:`ParetoNBD`.
    horizon_months : int, default=12
        Months of cash flow.
    discount_rate : float, default=0.01
        Monthly discount rate.
    margin : float, default=1.0
        Profit margin.
    freq : {"D", "W"}, default="D"
        Purchase period and time unit of the summary (days or weeks).
    as_of : datetime-like, optional
        End of observation; default the latest order.
    penalizer : float, default=0.0
        Penalizer of both models.
    customer_col, time_col, amount_col, order_col : str
        Column names of ``orders``.

    Returns
    -------
    CLVResult
        ``table`` (sorted by ``clv``, highest first), ``purchase_model``,
        ``spend_model`` and ``summary``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> orders = pd.DataFrame({
    ...     "order_id": [f"o{i}" for i in range(10)],
    ...     "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d", "e", "f"],
    ...     "order_time": pd.to_datetime(["2024-01-02", "2024-02-10", "2024-04-01", "2024-01-15",
    ...         "2024-03-03", "2024-02-01", "2024-01-20", "2024-01-25", "2024-03-15", "2024-04-20"]),
    ...     "amount": [30.0, 45.0, 25.0, 80.0, 60.0, 20.0, 15.0, 35.0, 50.0, 40.0],
    ... })
    >>> result = clv.fit_clv(orders, freq="W", penalizer=0.01, horizon_months=6)
    >>> result.table[["frequency", "p_alive", "clv"]].round(2)
                 frequency  p_alive    clv
    customer_id
    f                  0.0     1.00  84.23
    a                  2.0     0.73  74.84
    e                  0.0     1.00  68.13
    c                  0.0     1.00  55.93
    b                  1.0     0.31  32.63
    d                  1.0     0.17  14.05
    """
    caller = "fit_clv"
    check_choice(model, tuple(_MODELS), name="model", caller=caller)
    from .summary import customer_summary

    summary = customer_summary(
        orders,
        as_of=as_of,
        freq=freq,
        customer_col=customer_col,
        time_col=time_col,
        amount_col=amount_col,
        order_col=order_col,
    )
    purchase_model = _MODELS[model](penalizer=penalizer).fit(summary)
    spend_model = GammaGamma(penalizer=penalizer).fit(summary)
    values = customer_lifetime_value(
        summary,
        purchase_model=purchase_model,
        spend_model=spend_model,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
    )
    table = pd.concat([summary[["frequency", "recency", "T", "monetary_value"]], values], axis=1)
    table = table.sort_values(["clv"], ascending=False, kind="stable")
    return CLVResult(
        table=table, purchase_model=purchase_model, spend_model=spend_model, summary=summary
    )


# --------------------------------------------------------------------------- validation


def _cutoff(value: Any, caller: str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{caller}: {name}={value!r} is not a date.") from exc
    if ts is pd.NaT:
        raise InvalidDataError(f"{caller}: {name} must be a date, got {value!r}.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    # a bare date means the whole day
    if ts == ts.normalize():
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return ts


def calibration_holdout(
    orders: Any,
    *,
    calibration_end: Any,
    holdout_end: Any = None,
    freq: Literal["D", "W"] = "D",
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
) -> pd.DataFrame:
    """Split orders into a calibration summary and each customer's actual holdout behaviour.

    The calibration summary is ``customer_summary`` of the purchases up to
    ``calibration_end``; the holdout counts the purchase periods (days or weeks, as
    ``frequency`` does) after it, up to ``holdout_end``. Only customers whose first
    purchase falls in the calibration period are kept. A bare date means the end of
    that day.

    Parameters
    ----------
    orders : DataFrame
        Canonical orders.
    calibration_end : datetime-like
        Last moment of the calibration period.
    holdout_end : datetime-like, optional
        Last moment of the holdout period; default the latest order.
    freq : {"D", "W"}, default="D"
        Purchase period and time unit.
    customer_col, time_col, amount_col, order_col : str
        Column names of ``orders``.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer: the calibration summary's columns (``frequency``,
        ``recency``, ``T``, ``monetary_value``, ...) plus ``holdout_purchases``
        (purchase periods in the holdout), ``holdout_spend`` (net spend in the holdout)
        and ``holdout_duration`` (length of the holdout in ``freq`` units).

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> orders = pd.DataFrame({
    ...     "order_id": ["o1", "o2", "o3", "o4", "o5"],
    ...     "customer_id": ["a", "a", "a", "b", "c"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-05",
    ...                                   "2024-01-03", "2024-02-01"]),
    ...     "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
    ... })
    >>> split = clv.calibration_holdout(orders, calibration_end="2024-01-31",
    ...                                 holdout_end="2024-02-29")
    >>> split[["frequency", "T", "holdout_purchases", "holdout_spend"]]
                 frequency     T  holdout_purchases  holdout_spend
    customer_id
    a                  1.0  30.0                  1           30.0
    b                  0.0  28.0                  0            0.0
    >>> int(split["holdout_duration"].iloc[0])
    29
    """
    import narwhals as nw

    from .summary import customer_summary

    caller = "calibration_holdout"
    check_choice(freq, ("D", "W"), name="freq", caller=caller)
    cal_end = _cutoff(calibration_end, caller, "calibration_end")
    frame = nw.from_native(orders)
    check_columns(list(frame.collect_schema().names()), {"time_col": time_col}, caller=caller)
    if holdout_end is None:
        latest = frame.select(nw.col(time_col).max()).lazy().collect().to_native()
        holdout_end = pd.Timestamp(nw.from_native(latest).item(0, 0))
    hold_end = _cutoff(holdout_end, caller, "holdout_end")
    if hold_end <= cal_end:
        raise InvalidDataError(
            f"{caller}: holdout_end ({hold_end}) must be after calibration_end ({cal_end})."
        )
    cols = dict(
        customer_col=customer_col, time_col=time_col, amount_col=amount_col, order_col=order_col
    )
    cal = customer_summary(orders, as_of=cal_end, freq=freq, **cols)
    time = nw.col(time_col)
    if getattr(frame.collect_schema()[time_col], "time_zone", None):
        time = time.dt.replace_time_zone(None)
    hold_orders = frame.filter(time > nw.lit(cal_end.to_pydatetime())).to_native()
    hold = customer_summary(hold_orders, as_of=hold_end, freq=freq, **cols)
    hold = hold.reindex(cal.index)
    out = cal.copy()
    out["holdout_purchases"] = (hold["frequency"].fillna(-1.0) + 1.0).astype("int64")
    out["holdout_spend"] = hold["monetary_total"].fillna(0.0).astype(float)
    start = (cal_end - pd.Timestamp(0)) // pd.Timedelta(days=1)
    stop = (hold_end - pd.Timestamp(0)) // pd.Timedelta(days=1)
    if freq == "W":
        start, stop = (start + 3) // 7, (stop + 3) // 7
    out["holdout_duration"] = int(stop - start)
    return out


@dataclass
class HoldoutEvaluation:
    """What :func:`evaluate_holdout` returns.

    Attributes
    ----------
    buckets : pandas.DataFrame
        Indexed by calibration frequency bucket (``"0"`` .. ``"6"``, ``"7+"``): columns
        ``n_customers``, ``actual_purchases``, ``predicted_purchases`` (means per
        customer) and, with a spend model, ``actual_spend`` and ``predicted_spend``.
    metrics : pandas.Series
        ``purchases_mae``, ``purchases_rmse`` (per customer), ``purchases_actual_total``,
        ``purchases_predicted_total``, ``purchases_total_error_pct`` and the same with
        ``spend_`` when a spend model is given.
    predictions : pandas.DataFrame
        Per customer: ``predicted_purchases`` (and ``predicted_spend``).
    """

    buckets: pd.DataFrame
    metrics: pd.Series
    predictions: pd.DataFrame = field(repr=False)


def evaluate_holdout(
    model: _PurchaseModel,
    split: pd.DataFrame,
    *,
    spend_model: GammaGamma | None = None,
    max_frequency: int = 7,
) -> HoldoutEvaluation:
    """Compare a model's holdout predictions with what customers actually did.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        Purchase model fitted on the calibration columns of ``split``.
    split : pandas.DataFrame
        Output of :func:`calibration_holdout`.
    spend_model : GammaGamma, optional
        When given, also compares spend (predicted purchases times expected value).
    max_frequency : int, default=7
        Calibration frequencies from this value up share the last bucket ("7+").

    Returns
    -------
    HoldoutEvaluation
        ``buckets`` (the layout of Fader, Hardie and Lee's calibration/holdout figure),
        ``metrics`` and per-customer ``predictions``.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> split = pd.DataFrame({"frequency": [0, 1, 2, 0, 4, 1], "recency": [0.0, 5.0, 20.0, 0.0, 30.0, 2.0],
    ...     "T": [40.0, 38.0, 35.0, 20.0, 33.0, 30.0], "holdout_purchases": [0, 1, 0, 0, 2, 0],
    ...     "holdout_duration": 20})
    >>> model = clv.BetaGeo(penalizer=0.01).fit(split)
    >>> ev = clv.evaluate_holdout(model, split, max_frequency=2)
    >>> ev.buckets.round(3)
                           n_customers  actual_purchases  predicted_purchases
    calibration_frequency
    0                                2               0.0                0.426
    1                                2               0.5                0.123
    2+                               2               1.0                1.421
    """
    caller = "evaluate_holdout"
    if not isinstance(model, _PurchaseModel):
        raise InvalidDataError(
            f"{caller}: model must be a fitted purchase model, got {type(model).__name__}."
        )
    model._check_fitted("evaluate_holdout")
    _check_frame(split, caller, "split")
    needed = {"holdout_purchases": "holdout_purchases", "holdout_duration": "holdout_duration"}
    if spend_model is not None:
        needed["holdout_spend"] = "holdout_spend"
    check_columns(list(map(str, split.columns)), needed, caller=caller, frame_name="split")
    x, tx, T, _ = _btyd_arrays(
        split, frequency_col="frequency", recency_col="recency", T_col="T", caller=caller
    )
    durations = np.unique(split["holdout_duration"].to_numpy(dtype=float))
    if len(durations) != 1:
        raise InvalidDataError(
            f"{caller}: holdout_duration must be one value, found {durations[:3]}."
        )
    t = float(durations[0])
    pred = model._expected(np.asarray(t), x, tx, T)
    actual = split["holdout_purchases"].to_numpy(dtype=float)
    labels = np.array(
        [
            str(int(v)) if v < max_frequency else f"{max_frequency}+"
            for v in range(max_frequency + 1)
        ]
    )
    bucket_idx = np.minimum(x, max_frequency).astype(int)
    bucket = pd.Categorical.from_codes(bucket_idx, categories=labels)
    frame = pd.DataFrame(
        {"bucket": bucket, "actual_purchases": actual, "predicted_purchases": pred},
        index=split.index,
    )
    metrics = {
        "purchases_mae": float(np.mean(np.abs(pred - actual))),
        "purchases_rmse": float(np.sqrt(np.mean((pred - actual) ** 2))),
        "purchases_actual_total": float(actual.sum()),
        "purchases_predicted_total": float(pred.sum()),
    }
    metrics["purchases_total_error_pct"] = _pct(pred.sum(), actual.sum())
    predictions = pd.DataFrame({"predicted_purchases": pred}, index=split.index)
    if spend_model is not None:
        value = spend_model.expected_value(split).to_numpy()
        pred_spend = pred * value
        actual_spend = split["holdout_spend"].to_numpy(dtype=float)
        frame["actual_spend"] = actual_spend
        frame["predicted_spend"] = pred_spend
        predictions["predicted_spend"] = pred_spend
        metrics.update(
            spend_mae=float(np.mean(np.abs(pred_spend - actual_spend))),
            spend_rmse=float(np.sqrt(np.mean((pred_spend - actual_spend) ** 2))),
            spend_actual_total=float(actual_spend.sum()),
            spend_predicted_total=float(pred_spend.sum()),
            spend_total_error_pct=_pct(pred_spend.sum(), actual_spend.sum()),
        )
    grouped = frame.groupby("bucket", observed=False)
    buckets = grouped.mean()
    buckets.insert(0, "n_customers", grouped.size().astype("int64"))
    buckets = buckets.dropna(how="all", subset=[c for c in buckets.columns if c != "n_customers"])
    buckets.index = pd.Index(buckets.index.astype(str), name="calibration_frequency")
    return HoldoutEvaluation(
        buckets=buckets, metrics=pd.Series(metrics, name="value"), predictions=predictions
    )


def _pct(predicted: float, actual: float) -> float:
    return float(100.0 * (predicted - actual) / actual) if actual else float("nan")


# --------------------------------------------------------------------------- model views


def frequency_recency_matrix(
    model: _PurchaseModel,
    *,
    T: float,
    max_frequency: int,
    max_recency: int | None = None,
    metric: Literal["p_alive", "expected_purchases"] = "p_alive",
    t: float = 1.0,
) -> pd.DataFrame:
    """P(alive) or expected purchases over a grid of frequency and recency, at age T.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A fitted purchase model.
    T : float
        Customer age (x, t_x and T in the model's time unit).
    max_frequency : int
        Largest frequency (rows 0..max_frequency).
    max_recency : int, optional
        Largest recency (columns 0..max_recency); default ``floor(T)``.
    metric : {"p_alive", "expected_purchases"}, default="p_alive"
        What to compute.
    t : float, default=1.0
        Horizon of ``expected_purchases``.

    Returns
    -------
    pandas.DataFrame
        Index ``frequency``, columns ``recency``; cells where frequency > 0 and recency = 0
        (impossible histories) are NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> import crm_analytics.clv as clv
    >>> model = clv.BetaGeo.from_json(clv.BetaGeo().to_json())
    >>> model.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    >>> clv.frequency_recency_matrix(model, T=4, max_frequency=2).round(2)
    recency      0     1     2     3     4
    frequency
    0          1.0  1.00  1.00  1.00  1.00
    1          NaN  0.64  0.69  0.72  0.75
    2          NaN  0.62  0.70  0.76  0.81
    """
    caller = "frequency_recency_matrix"
    check_choice(metric, ("p_alive", "expected_purchases"), name="metric", caller=caller)
    model._check_fitted(caller)
    max_recency = int(np.floor(T)) if max_recency is None else int(max_recency)
    freqs = np.arange(int(max_frequency) + 1, dtype=float)
    recs = np.arange(max_recency + 1, dtype=float)
    xx, rr = np.meshgrid(freqs, np.minimum(recs, T), indexing="ij")
    TT = np.full_like(xx, float(T))
    if metric == "p_alive":
        values = model._p_alive(xx.ravel(), rr.ravel(), TT.ravel())
    else:
        values = model._expected(np.asarray(float(t)), xx.ravel(), rr.ravel(), TT.ravel())
    values = values.reshape(xx.shape)
    values[(xx > 0) & (rr == 0)] = np.nan
    values[:, recs > T] = np.nan
    out = pd.DataFrame(
        values,
        index=pd.Index(freqs.astype(int), name="frequency"),
        columns=pd.Index(recs.astype(int), name="recency"),
    )
    return out


def p_alive_history(
    model: _PurchaseModel,
    orders: pd.DataFrame,
    *,
    customer_id: Any,
    as_of: Any = None,
    freq: Literal["D", "W"] = "D",
    customer_col: str = schema.CUSTOMER_ID,
    time_col: str = schema.ORDER_TIME,
    amount_col: str = schema.AMOUNT,
    order_col: str = schema.ORDER_ID,
) -> pd.DataFrame:
    """P(alive) of one customer at every period from the first purchase to ``as_of``.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A purchase model fitted at the same ``freq``.
    orders : pandas.DataFrame
        Canonical orders (purchases are found as ``customer_summary`` finds them).
    customer_id : object
        The customer.
    as_of : datetime-like, optional
        Last date; default the latest order in ``orders``.
    freq : {"D", "W"}, default="D"
        Period of the model.
    customer_col, time_col, amount_col, order_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period_start`` (one row per period), columns ``frequency``,
        ``recency``, ``T`` and ``p_alive``.
    """
    from .summary import customer_summary

    caller = "p_alive_history"
    check_choice(freq, ("D", "W"), name="freq", caller=caller)
    model._check_fitted(caller)
    _check_frame(orders, caller, "orders")
    check_columns(list(map(str, orders.columns)), {"customer_col": customer_col}, caller=caller)
    if as_of is None:
        as_of = orders[time_col].max()
    mine = orders[orders[customer_col] == customer_id]
    cols = dict(
        customer_col=customer_col, time_col=time_col, amount_col=amount_col, order_col=order_col
    )
    if len(mine) == 0:
        raise InvalidDataError(f"{caller}: customer {customer_id!r} has no orders in `orders`.")
    # purchase periods of this customer: a summary per order row keeps the purchase rules
    final = customer_summary(mine, as_of=as_of, freq=freq, **cols)
    if len(final) == 0:
        raise InvalidDataError(
            f"{caller}: customer {customer_id!r} has no purchases up to {as_of}."
        )
    step = 7 if freq == "W" else 1
    first = pd.Timestamp(final["first_purchase"].iloc[0]).normalize()
    if freq == "W":
        first = first - pd.Timedelta(days=first.day_of_week)
    T_end = int(final["T"].iloc[0])
    starts = first + pd.to_timedelta(np.arange(T_end + 1) * step, unit="D")
    per_row = mine.assign(_row=np.arange(len(mine)))
    rows = customer_summary(
        per_row,
        as_of=as_of,
        freq=freq,
        customer_col="_row",
        time_col=time_col,
        amount_col=amount_col,
        order_col=order_col,
    )
    offsets = np.unique(
        ((rows["first_purchase"].dt.normalize() - first) // pd.Timedelta(days=step)).to_numpy()
    )
    grid = np.arange(T_end + 1)
    n_before = np.searchsorted(offsets, grid, side="right")
    x = np.maximum(n_before - 1, 0).astype(float)
    last = offsets[np.maximum(n_before - 1, 0)].astype(float)
    tx = last - offsets[0]
    T = grid - offsets[0]
    p = model._p_alive(x, tx, T.astype(float))
    return pd.DataFrame(
        {"frequency": x, "recency": tx, "T": T.astype(float), "p_alive": p},
        index=pd.DatetimeIndex(starts, name="period_start"),
    )
