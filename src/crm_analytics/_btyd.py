"""Vectorised likelihoods, gradients and predictions of the BTYD models (private).

All functions work on plain numpy arrays in one time unit (the unit of the data).
Notation of the literature: ``x`` repeat purchases (frequency), ``tx`` time of the last
purchase measured from the first (recency), ``T`` age (first purchase to the end of
observation).

Log-likelihoods are computed in log space (``gammaln``, ``betaln``, ``logaddexp``); their
gradients are analytic and returned with respect to the log-parameters, which is what
the optimiser sees. Terms that depend on the frequency alone are evaluated once per
distinct frequency.

The Pareto/NBD likelihood contains the integral
``I = int_{tx}^{T} (alpha + u)^-(r + x) (beta + u)^-(s + 1) du``
(in the literature written as a difference of two Gauss hypergeometric functions,
which cancels badly when ``tx`` is close to ``T``). It is evaluated here by
Gauss-Legendre quadrature after the change of variable ``zeta = log((m + u) / (m + tx))``
(``m = min(alpha, beta)``), under which the integrand is an exponential times a smooth
bounded factor; derivatives are taken under the integral sign with the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

_GL_FIT = np.polynomial.legendre.leggauss(48)
_GL_PRED = np.polynomial.legendre.leggauss(96)
_CHUNK = 8192


# --------------------------------------------------------------------------- data


@dataclass
class Compressed:
    """Distinct (x, tx, T) rows with their weights, plus the distinct frequencies."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    ux: np.ndarray  # distinct frequencies
    inv: np.ndarray  # row -> index into ux
    wx: np.ndarray  # total weight per distinct frequency
    n_raw: int

    @property
    def n(self) -> float:
        return float(self.w.sum())


def compress(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray | None = None
) -> Compressed:
    """Merge identical (x, tx, T) rows, summing their weights (no Python loop)."""
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    n_raw = len(x)
    if n_raw:
        order = np.lexsort((T, tx, x))
        xs, txs, Ts, ws = x[order], tx[order], T[order], w[order]
        new = np.ones(n_raw, dtype=bool)
        new[1:] = (np.diff(xs) != 0) | (np.diff(txs) != 0) | (np.diff(Ts) != 0)
        starts = np.flatnonzero(new)
        x, tx, T = xs[starts], txs[starts], Ts[starts]
        w = np.add.reduceat(ws, starts)
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=len(ux))
    return Compressed(x, tx, T, w, ux, inv, wx, n_raw)


# --------------------------------------------------------------------------- BG/NBD and MBG/NBD


def bg_loglik(
    params: np.ndarray, d: Compressed, *, modified: bool = False, grad: bool = True
) -> tuple[float, np.ndarray | None]:
    """Total log-likelihood of BG/NBD (or MBG/NBD) and its gradient on log-parameters."""
    r, alpha, a, b = params
    x, tx, T, w, ux, inv = d.x, d.tx, d.T, d.w, d.ux, d.inv
    k = 1.0 if modified else 0.0  # MBG/NBD: one more drop-out opportunity (at time 0)
    ab = a + b
    # terms of x alone, once per distinct x
    gx = gammaln(r + ux) + gammaln(b + ux + k) - gammaln(ab + ux + k)
    base = gx[inv] - gammaln(r) + r * np.log(alpha) + gammaln(ab) - gammaln(b)
    la_T = np.log(alpha + T)
    la_tx = np.log(alpha + tx)
    A3 = -(r + x) * la_T
    has_dead = x > 0 if not modified else np.ones_like(x, dtype=bool)
    bx = b + x - 1.0 + k
    safe_bx = np.where(has_dead, bx, 1.0)
    A4 = np.where(has_dead, np.log(a) - np.log(safe_bx) - (r + x) * la_tx, -np.inf)
    lse = np.logaddexp(A3, A4)
    ll = float(np.dot(w, base + lse))
    if not grad:
        return ll, None
    w3 = np.exp(A3 - lse)
    w4 = 1.0 - w3
    W = d.n
    dr = d.wx @ digamma(r + ux) - W * digamma(r) + W * np.log(alpha) - w @ (w3 * la_T + w4 * la_tx)
    dalpha = W * r / alpha - w @ ((r + x) * (w3 / (alpha + T) + w4 / (alpha + tx)))
    dab = W * digamma(ab) - d.wx @ digamma(ab + ux + k)
    da = dab + (w @ w4) / a
    db = (
        dab
        + d.wx @ digamma(b + ux + k)
        - W * digamma(b)
        - w @ np.where(has_dead, w4 / safe_bx, 0.0)
    )
    g = np.array([dr, dalpha, da, db]) * params
    return ll, g


def bg_log_odds_dead(params, x, tx, T, *, modified: bool = False) -> np.ndarray:
    """log of P(dead) / P(alive) given the history (-inf when it cannot be dead)."""
    r, alpha, a, b = params
    k = 1.0 if modified else 0.0
    has_dead = (x > 0) if not modified else np.ones(np.shape(x), dtype=bool)
    bx = np.where(has_dead, b + x - 1.0 + k, 1.0)
    val = np.log(a) - np.log(bx) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.where(has_dead, val, -np.inf)


def bg_p_alive(params, x, tx, T, *, modified: bool = False) -> np.ndarray:
    return expit(-bg_log_odds_dead(params, x, tx, T, modified=modified))


def bg_expected(params, t, x, tx, T, *, modified: bool = False) -> np.ndarray:
    """E[X(T, T + t) | x, tx, T]; with x = tx = T = 0 the unconditional E[X(t)].

    Uses Euler's transformation of the hypergeometric term,
    ``(1 - z)^(r + x) 2F1(r + x, b + x; c; z) = (1 - z)^(a - 1) 2F1(c - r - x, a - 1; c; z)``,
    whose arguments stay small for any frequency and age.
    """
    r, alpha, a, b = params
    k = 1.0 if modified else 0.0
    t = np.asarray(t, dtype=float)
    c = a + b + x - 1.0 + k
    z = t / (alpha + T + t)
    F = hyp2f1(c - r - x, a - 1.0, c, z)
    L = (a - 1.0) * np.log1p(-z)
    # 1 - exp(L) F, written to keep precision when t is small
    bracket = -np.expm1(L) * F - (F - 1.0)
    out = c / (a - 1.0) * bracket * bg_p_alive(params, x, tx, T, modified=modified)
    return np.where(t > 0, out, 0.0)


def bg_prob(params, n, t, x, tx, T, *, modified: bool = False) -> np.ndarray:
    """P(X(T, T + t) = n | x, tx, T) (exactly n purchases in the next t)."""
    r, alpha, a, b = params
    k = 1.0 if modified else 0.0
    n = np.asarray(n, dtype=float)
    t = np.asarray(t, dtype=float)
    lbab = betaln(a, b)
    # full likelihood without the common factor alpha^r / Gamma(r)
    loglik_core = _bg_core_loglik(params, x, tx, T, modified=modified)
    # alive at T and n purchases, still alive
    with np.errstate(divide="ignore"):
        logt = np.log(t)
    A1 = (
        betaln(a, b + x + k + n)
        - lbab
        + gammaln(r + x + n)
        - gammaln(n + 1.0)
        + np.where(n > 0, n * logt, 0.0)
        - (r + x + n) * np.log(alpha + T + t)
    )
    # alive at T, n purchases, then dropped out after the n-th
    zeta = t / (alpha + T + t)
    nn = np.where(n > 0, n, 1.0)
    bx2 = np.where(n > 0, b + x + n - 1.0 + k, 1.0)
    with np.errstate(divide="ignore"):
        A2 = np.where(
            n > 0,
            betaln(a + 1.0, bx2)
            - lbab
            + gammaln(r + x)
            - (r + x) * np.log(alpha + T)
            + np.log(betainc(nn, r + x, zeta)),
            -np.inf,
        )
    # already dead at T (only for n = 0)
    has_dead = (x > 0) if not modified else np.ones(np.shape(x), dtype=bool)
    bx3 = np.where(has_dead, b + x - 1.0 + k, 1.0)
    A3 = np.where(
        has_dead & (n == 0),
        betaln(a + 1.0, bx3) - lbab + gammaln(r + x) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    logp = np.logaddexp(np.logaddexp(A1, A2), A3) - loglik_core
    return np.clip(np.exp(logp), 0.0, 1.0)


def _bg_core_loglik(params, x, tx, T, *, modified: bool) -> np.ndarray:
    r, alpha, a, b = params
    k = 1.0 if modified else 0.0
    alive = betaln(a, b + x + k) - betaln(a, b) + gammaln(r + x) - (r + x) * np.log(alpha + T)
    has_dead = (x > 0) if not modified else np.ones(np.shape(x), dtype=bool)
    bx = np.where(has_dead, b + x - 1.0 + k, 1.0)
    dead = np.where(
        has_dead,
        betaln(a + 1.0, bx) - betaln(a, b) + gammaln(r + x) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    return np.logaddexp(alive, dead)


# --------------------------------------------------------------------------- Pareto/NBD


def _power_integral(
    lo, hi, c1, e1, c2, e2, *, n_extra=0.0, nodes=_GL_FIT, grad=False
) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
    """log of ``int_lo^hi (u - lo)^n_extra (c1 + u)^-e1 (c2 + u)^-e2 du`` row-wise.

    With ``grad``, also the integrand-weighted means of ``log(c1 + u)``, ``1 / (c1 + u)``,
    ``log(c2 + u)`` and ``1 / (c2 + u)`` (derivatives of the log-integral under the
    integral sign). Rows with ``hi == lo`` give ``-inf``.
    """
    lo, hi, e1, n_extra = np.broadcast_arrays(
        np.asarray(lo, float),
        np.asarray(hi, float),
        np.asarray(e1, float),
        np.asarray(n_extra, float),
    )
    lo, hi, e1, n_extra = (np.ravel(v) for v in (lo, hi, e1, n_extra))
    nrow = lo.size
    gx, gw = nodes
    u01 = 0.5 * (gx + 1.0)
    LOG_W01 = np.log(0.5 * gw)
    logI = np.empty(nrow)
    stats = [np.empty(nrow) for _ in range(4)] if grad else None
    m = min(c1, c2)
    for start in range(0, nrow, _CHUNK):
        sl = slice(start, start + _CHUNK)
        lo_, hi_, e1_, ne_ = lo[sl], hi[sl], e1[sl], n_extra[sl]
        c0 = m + lo_
        Z = np.log((m + hi_) / c0)
        # slowest exponential decay of the integrand in zeta (see module docstring)
        K = e1_ + e2 - 1.0
        rho = abs(c1 - c2) / c0
        e_big = e2 if c1 <= c2 else e1_
        k_eff = K - e_big * rho / (1.0 + rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(ne_ > 0, np.log1p(ne_ / np.maximum(k_eff, 1e-300)), 0.0)
            cut = np.where(k_eff > 0, peak + 45.0 / k_eff, np.inf)
        Zc = np.minimum(Z, cut)
        zeta = Zc[:, None] * u01[None, :]
        ez = c0[:, None] * np.exp(zeta)
        d1 = ez + (c1 - m)  # c1 + u at the nodes
        d2 = ez + (c2 - m)
        l1 = np.log(d1)
        l2 = np.log(d2)
        with np.errstate(divide="ignore", invalid="ignore"):
            logf = np.log(Zc)[:, None] + LOG_W01[None, :]
            logf = logf + np.log(c0)[:, None] + zeta - e1_[:, None] * l1 - e2 * l2
            if np.any(ne_ > 0):
                extra = ne_[:, None] * np.log(np.maximum(ez - c0[:, None], 0.0))
                logf = logf + np.where(ne_[:, None] > 0, extra, 0.0)
        top = logf.max(axis=1)
        safe_top = np.where(np.isfinite(top), top, 0.0)
        p = np.exp(logf - safe_top[:, None])
        total = p.sum(axis=1)
        with np.errstate(divide="ignore"):
            li = np.log(total) + safe_top
        li = np.where(np.isfinite(top), li, -np.inf)
        logI[sl] = li
        if grad:
            with np.errstate(invalid="ignore", divide="ignore"):
                p = p / np.where(total > 0, total, 1.0)[:, None]
            stats[0][sl] = (p * l1).sum(axis=1)
            stats[1][sl] = (p / d1).sum(axis=1)
            stats[2][sl] = (p * l2).sum(axis=1)
            stats[3][sl] = (p / d2).sum(axis=1)
    return logI, (tuple(stats) if grad else None)


def pareto_loglik(
    params: np.ndarray, d: Compressed, *, grad: bool = True
) -> tuple[float, np.ndarray | None]:
    """Total Pareto/NBD log-likelihood and its gradient on log-parameters."""
    r, alpha, s, beta = params
    x, tx, T, w, ux, inv = d.x, d.tx, d.T, d.w, d.ux, d.inv
    base = gammaln(r + ux)[inv] - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    la_T = np.log(alpha + T)
    lb_T = np.log(beta + T)
    B = -(r + x) * la_T - s * lb_T
    logI, st = _power_integral(tx, T, alpha, r + x, beta, s + 1.0, grad=grad)
    C = np.log(s) + logI
    lse = np.logaddexp(B, C)
    ll = float(np.dot(w, base + lse))
    if not grad:
        return ll, None
    E_l1, E_i1, E_l2, E_i2 = st
    wB = np.exp(B - lse)
    wC = 1.0 - wB
    W = d.n
    dr = d.wx @ digamma(r + ux) - W * digamma(r) + W * np.log(alpha) - w @ (wB * la_T + wC * E_l1)
    dalpha = W * r / alpha - w @ ((r + x) * (wB / (alpha + T) + wC * E_i1))
    ds = W * np.log(beta) - w @ (wB * lb_T) + w @ (wC * (1.0 / s - E_l2))
    dbeta = W * s / beta - w @ (wB * s / (beta + T) + wC * (s + 1.0) * E_i2)
    g = np.array([dr, dalpha, ds, dbeta]) * params
    return ll, g


def _pareto_parts(params, x, tx, T, nodes=_GL_PRED):
    r, alpha, s, beta = params
    x, tx, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, tx, T)))
    shape = x.shape
    x, tx, T = x.ravel(), tx.ravel(), T.ravel()
    B = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    logI, _ = _power_integral(tx, T, alpha, r + x, beta, s + 1.0, nodes=nodes)
    C = np.log(s) + logI
    return B.reshape(shape), C.reshape(shape)


def pareto_p_alive(params, x, tx, T) -> np.ndarray:
    B, C = _pareto_parts(params, x, tx, T)
    return expit(B - C)


def pareto_expected(params, t, x, tx, T) -> np.ndarray:
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    lr = np.log((beta + T) / (beta + T + t))
    sm1 = s - 1.0
    # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), continuous at s = 1
    if abs(sm1) > 1e-12:
        frac = -np.expm1(sm1 * lr) / sm1
    else:
        frac = -lr
    out = (r + x) * (beta + T) / (alpha + T) * frac * pareto_p_alive(params, x, tx, T)
    return np.where(t > 0, out, 0.0)


def pareto_prob(params, n, t, x, tx, T) -> np.ndarray:
    """P(X(T, T + t) = n | x, tx, T) for the Pareto/NBD."""
    r, alpha, s, beta = params
    n, t, x, tx, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (n, t, x, tx, T)))
    shape = n.shape
    n, t, x, tx, T = (v.ravel() for v in (n, t, x, tx, T))
    B, C = _pareto_parts(params, x, tx, T)
    lse = np.logaddexp(B, C)  # log-likelihood without gammaln(r+x)-gammaln(r)+r log a+s log b
    with np.errstate(divide="ignore"):
        logt = np.log(t)
    # alive through T + t with exactly n purchases
    t1 = (
        gammaln(r + x + n)
        - gammaln(r + x)
        - gammaln(n + 1.0)
        + np.where(n > 0, n * logt, 0.0)
        - (r + x + n) * np.log(alpha + T + t)
        - s * np.log(beta + T + t)
    )
    # alive at T, n purchases, then dead before T + t
    logI, _ = _power_integral(T, T + t, alpha, r + x + n, beta, s + 1.0, n_extra=n, nodes=_GL_PRED)
    t2 = gammaln(r + x + n) - gammaln(r + x) - gammaln(n + 1.0) + np.log(s) + logI
    with np.errstate(invalid="ignore"):
        p_alive_part = np.exp(np.logaddexp(t1, t2) - lse)
    p_dead = expit(C - B)
    out = p_alive_part + np.where(n == 0, p_dead, 0.0)
    out = np.where(t > 0, out, (n == 0).astype(float))
    return np.clip(out, 0.0, 1.0).reshape(shape)


# --------------------------------------------------------------------------- Gamma-Gamma


@dataclass
class SpendData:
    x: np.ndarray
    m: np.ndarray
    w: np.ndarray

    @property
    def n(self) -> float:
        return float(self.w.sum())


def compress_spend(x, m, w=None) -> SpendData:
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    if len(x):
        order = np.lexsort((m, x))
        xs, ms, ws = x[order], m[order], w[order]
        new = np.ones(len(x), dtype=bool)
        new[1:] = (np.diff(xs) != 0) | (np.diff(ms) != 0)
        starts = np.flatnonzero(new)
        x, m, w = xs[starts], ms[starts], np.add.reduceat(ws, starts)
    return SpendData(x, m, w)


def gg_loglik(
    params: np.ndarray, d: SpendData, *, grad: bool = True
) -> tuple[float, np.ndarray | None]:
    """Gamma-Gamma log-likelihood of the mean spends (density of zbar)."""
    p, q, v = params
    x, m, w = d.x, d.m, d.w
    px = p * x
    lxm = np.log(x * m + v)
    ll_rows = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * lxm
    )
    ll = float(np.dot(w, ll_rows))
    if not grad:
        return ll, None
    dpq = digamma(px + q)
    dp = w @ (x * (dpq - digamma(px) + np.log(m) + np.log(x) - lxm))
    dq = w @ (dpq - digamma(q) + np.log(v) - lxm)
    dv = w @ (q / v - (px + q) / (x * m + v))
    return ll, np.array([dp, dq, dv]) * params


def gg_expected_value(params, x, m) -> np.ndarray:
    p, q, v = params
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    weight = p * x / (p * x + q - 1.0)
    return (1.0 - weight) * (v * p / (q - 1.0)) + weight * np.where(x > 0, m, 0.0)


# --------------------------------------------------------------------------- optimiser


@dataclass
class FitResult:
    log_params: np.ndarray
    loglik: float  # in the optimiser's units, penalty excluded
    converged: bool
    message: str
    n_iter: int
    grad_norm: float
    hessian: np.ndarray | None  # of the penalised negative log-likelihood, on log-parameters


def maximize(
    loglik: Any,
    theta0: np.ndarray,
    n_weight: float,
    *,
    penalty_scale: np.ndarray,
    penalizer: float,
    bound: float = 30.0,
    max_iter: int = 3000,
) -> FitResult:
    """Maximise ``loglik(params) -> (ll, grad_log)`` over log-parameters.

    The objective is ``-ll / n + penalizer * sum((params * penalty_scale)^2)``
    (a mean, so tolerances do not depend on the number of customers), solved by
    L-BFGS-B with the analytic gradient, polished by Newton steps on the
    finite-difference Hessian of the analytic gradient.
    """

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ll, g = loglik(params)
        pen_p = params * penalty_scale
        f = -ll / n_weight + penalizer * float(pen_p @ pen_p)
        grad = -g / n_weight + penalizer * 2.0 * pen_p**2
        if not np.isfinite(f) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(theta)
        return f, grad

    best = None
    starts = [theta0, theta0 + 1.0, theta0 - 1.0]
    for start in starts:
        res = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-bound, bound)] * len(theta0),
            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 30},
        )
        if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
            best = res
        if res.success and np.isfinite(res.fun):
            break
    assert best is not None
    theta = best.x.copy()
    f0, g0 = objective(theta)
    H = _fd_hessian(objective, theta)
    for _ in range(6):  # Newton polish
        if H is None or not np.all(np.isfinite(H)):
            break
        try:
            step = np.linalg.solve(H, g0)
        except np.linalg.LinAlgError:
            break
        cand = np.clip(theta - step, -bound, bound)
        f1, g1 = objective(cand)
        if not (np.isfinite(f1) and f1 <= f0 + 1e-15 * abs(f0)):
            break
        theta, f0, g0 = cand, f1, g1
        if np.max(np.abs(step)) < 1e-12:
            break
        H = _fd_hessian(objective, theta)
    gnorm = float(np.max(np.abs(g0))) if np.all(np.isfinite(g0)) else np.inf
    converged = bool(np.isfinite(f0) and (gnorm < 1e-4 or (best.success and gnorm < 1e-3)))
    params = np.exp(theta)
    ll, _ = loglik(params)
    H_total = None if H is None else H * n_weight
    return FitResult(theta, float(ll), converged, str(best.message), int(best.nit), gnorm, H_total)


def _fd_hessian(objective: Any, theta: np.ndarray, h: float = 1e-5) -> np.ndarray | None:
    k = len(theta)
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        fp, gp = objective(theta + e)
        fm, gm = objective(theta - e)
        if not (np.isfinite(fp) and np.isfinite(fm)):
            return None
        H[:, j] = (gp - gm) / (2.0 * h)
    return 0.5 * (H + H.T)
