"""Vectorised likelihoods, gradients, Hessians and predictions of the BTYD models (private).

All functions work on plain numpy arrays in one time unit (the unit of the data).
Notation of the literature: ``x`` repeat purchases (frequency), ``tx`` time of the last
purchase measured from the first (recency), ``T`` age (first purchase to the end of
observation).

Log-likelihoods are computed in log space (``gammaln``, ``betaln``, ``logaddexp``); their
gradients and Hessians are analytic and returned with respect to the log-parameters,
which is what the optimiser sees. Terms that depend on the frequency alone are evaluated
once per distinct frequency.

The Pareto/NBD likelihood contains the integral
``I = int_{tx}^{T} (alpha + u)^-(r + x) (beta + u)^-(s + 1) du``
(in the literature written as a difference of two Gauss hypergeometric functions).
The fit writes it as ``H(x, tx) - H(x, T)`` with ``H(x, y) = int_y^{T_max} ...``, so the
quadrature runs once per distinct (x, tx) and (x, T) pair instead of once per customer
row. The difference loses no accuracy that matters: ``s H(x, T)`` never exceeds the
"alive at T" term of the likelihood, so the absolute error of ``s I`` stays a rounding
error of the whole likelihood. Each ``H`` is evaluated by Gauss-Legendre quadrature after
the change of variable ``zeta = log((m + u) / (m + y))`` (``m = min(alpha, beta)``), under
which the integrand is an exponential times a smooth bounded factor; first and second
derivatives are taken under the integral sign with the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1, polygamma

# 32 nodes: on a grid of 432 parameter sets x 4,000 rows (x up to 170), the log-integral and
# its derivative means agree with 96 nodes to 1e-10 (20 nodes: 4e-10, 16: 3e-7)
_GL_FIT = np.polynomial.legendre.leggauss(32)
_GL_PRED = np.polynomial.legendre.leggauss(96)
_GL_START = np.polynomial.legendre.leggauss(16)  # relative error ~3e-7: enough for a start
_CHUNK = 8192
# fits on more distinct rows than this start from a fit on a thinned sample
_START_ROWS = 20_000
_START_CUSTOMERS = 20_000
# Pareto/NBD rows whose integral is below 1 - _DIRECT_RATIO of H(x, tx) get their own quadrature
_DIRECT_RATIO = 0.9
_ALL_DIRECT_ROWS = 5_000
# the Pareto/NBD start uses a smaller sample (its likelihood costs a quadrature per pair)
_PARETO_START_CUSTOMERS = 5_000


def _trigamma(v: Any) -> Any:
    return polygamma(1, v)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product of two vectors without BLAS threads (which stall on busy machines)."""
    return float(np.einsum("i,i->", a, b))


# --------------------------------------------------------------------------- data


def group_rows(*cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows of equal-length columns, without a Python loop over rows.

    Returns ``(inv, first)``: ``inv[i]`` is the group of row ``i`` (groups numbered in
    the lexicographic order of their values, so the result does not depend on row
    order) and ``first[g]`` is one row of group ``g``.
    """
    n = len(cols[0])
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for col in cols:
        col = np.asarray(col)
        codes, k = _int_codes(col)
        if codes is None:
            codes, uniques = pd.factorize(col, sort=True)
            k = max(len(uniques), 1)
        if size * k >= 2**62:  # renumber the key so far before it can overflow
            key, done = pd.factorize(key, sort=True)
            key = key.astype(np.int64)
            size = max(len(done), 1)
        key = key * k + codes
        size *= k
    inv, uniques = pd.factorize(key, sort=True)
    inv = inv.astype(np.intp)
    first = np.empty(len(uniques), dtype=np.intp)
    first[inv] = np.arange(n, dtype=np.intp)
    return inv, first


def _int_codes(col: np.ndarray) -> tuple[Any, int]:
    """Order-preserving codes of integer-valued columns with a modest range (else None)."""
    if col.dtype.kind not in "fiu":
        return None, 0
    lo, hi = col.min(), col.max()
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > 4 * len(col) + 1024:
        return None, 0
    codes = (col - lo).astype(np.int64)
    if col.dtype.kind == "f" and not np.array_equal(codes, col - lo):
        return None, 0
    return codes, int(hi - lo) + 1


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
    row_index: np.ndarray | None = None  # input row -> distinct row
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> float:
        return float(self.w.sum())

    def scaled(self, scale: float) -> Compressed:
        """The same rows with times multiplied by ``scale``."""
        return replace(self, tx=self.tx * scale, T=self.T * scale, cache={})

    def thin(self, n_target: float, seed: int = 0) -> Compressed:
        """A Poisson-thinned sample of about ``n_target`` customers (fixed seed)."""
        if self.n <= n_target:
            return self
        rng = np.random.default_rng(seed)
        w = rng.poisson(self.w * (n_target / self.n)).astype(float)
        keep = w > 0
        return _from_distinct(self.x[keep], self.tx[keep], self.T[keep], w[keep], int(w.sum()))


def _from_distinct(x, tx, T, w, n_raw, row_index=None) -> Compressed:
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=len(ux))
    return Compressed(x, tx, T, w, ux, inv, wx, n_raw, row_index)


def compress(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray | None = None
) -> Compressed:
    """Merge identical (x, tx, T) rows, summing their weights (no Python loop)."""
    x = np.asarray(x, dtype=float)
    tx = np.asarray(tx, dtype=float)
    T = np.asarray(T, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    row_index, first = group_rows(x, tx, T)
    wd = np.bincount(row_index, weights=w, minlength=len(first)).astype(float)
    return _from_distinct(x[first], tx[first], T[first], wd, len(x), row_index)


def _to_log_params(params, g_nat, H_nat):
    """Gradient and Hessian on natural parameters -> on log-parameters."""
    g = g_nat * params
    H = H_nat * np.outer(params, params) + np.diag(g)
    return g, H


def _sym(entries: dict[tuple[int, int], float], k: int) -> np.ndarray:
    H = np.zeros((k, k))
    for (i, j), v in entries.items():
        H[i, j] += v
        if i != j:
            H[j, i] += v
    return H


# --------------------------------------------------------------------------- BG/NBD and MBG/NBD


def bg_loglik(
    params: np.ndarray,
    d: Compressed,
    *,
    modified: bool = False,
    grad: bool = True,
    hess: bool = False,
) -> Any:
    """Total log-likelihood of BG/NBD (or MBG/NBD), its gradient and Hessian.

    Returns ``(ll, grad)`` (``grad`` None unless asked), or ``(ll, grad, hess)`` with
    ``hess=True``; derivatives are on log-parameters.
    """
    r, alpha, a, b = params
    x, tx, T, w, ux, inv = d.x, d.tx, d.T, d.w, d.ux, d.inv
    k = 1.0 if modified else 0.0  # MBG/NBD: one more drop-out opportunity (at time 0)
    ab = a + b
    # terms of x alone, once per distinct x
    gx = gammaln(r + ux) + gammaln(b + ux + k) - gammaln(ab + ux + k)
    base = gx[inv] - gammaln(r) + r * np.log(alpha) + gammaln(ab) - gammaln(b)
    la_T = np.log(alpha + T)
    la_tx = np.log(alpha + tx)
    rx = r + x
    A3 = -rx * la_T
    has_dead = x > 0 if not modified else np.ones_like(x, dtype=bool)
    bx = b + x - 1.0 + k
    safe_bx = np.where(has_dead, bx, 1.0)
    A4 = np.where(has_dead, np.log(a) - np.log(safe_bx) - rx * la_tx, -np.inf)
    lse = np.logaddexp(A3, A4)
    ll = float(np.dot(w, base + lse))
    if not grad and not hess:
        return ll, None
    w3 = np.exp(A3 - lse)
    w4 = 1.0 - w3
    i_T = 1.0 / (alpha + T)
    i_tx = 1.0 / (alpha + tx)
    i_bx = np.where(has_dead, 1.0 / safe_bx, 0.0)
    W = d.n
    ww3, ww4 = w * w3, w * w4
    dr = (
        _dot(d.wx, digamma(r + ux))
        - W * digamma(r)
        + W * np.log(alpha)
        - _dot(ww3, la_T)
        - _dot(ww4, la_tx)
    )
    dalpha = W * r / alpha - _dot(ww3, (rx * i_T)) - _dot(ww4, (rx * i_tx))
    dab = W * digamma(ab) - _dot(d.wx, digamma(ab + ux + k))
    sw4 = float(np.sum(ww4))
    da = dab + sw4 / a
    db = dab + _dot(d.wx, digamma(b + ux + k)) - W * digamma(b) - _dot(ww4, i_bx)
    g_nat = np.array([dr, dalpha, da, db])
    if not hess:
        return ll, g_nat * params
    # second derivatives: the x-only terms, each branch's own curvature, and the
    # mixing term w3 * w4 * D D^T with D the difference of the branches' gradients
    t_ab = W * _trigamma(ab) - _dot(d.wx, _trigamma(ab + ux + k))
    v = w * w3 * w4
    D = [la_tx - la_T, rx * (i_tx - i_T), None, i_bx]  # D[2] = -1/a is constant
    sv = float(np.sum(v))
    ent = {
        (0, 0): _dot(d.wx, _trigamma(r + ux)) - W * _trigamma(r) + _dot(v, (D[0] * D[0])),
        (0, 1): W / alpha - _dot(ww3, i_T) - _dot(ww4, i_tx) + _dot(v, (D[0] * D[1])),
        (1, 1): -W * r / alpha**2
        + _dot(ww3, (rx * i_T**2))
        + _dot(ww4, (rx * i_tx**2))
        + _dot(v, (D[1] * D[1])),
        (0, 2): -(_dot(v, D[0])) / a,
        (1, 2): -(_dot(v, D[1])) / a,
        (2, 2): t_ab - sw4 / a**2 + sv / a**2,
        (0, 3): _dot(v, (D[0] * D[3])),
        (1, 3): _dot(v, (D[1] * D[3])),
        (2, 3): t_ab - (_dot(v, D[3])) / a,
        (3, 3): t_ab
        + _dot(d.wx, _trigamma(b + ux + k))
        - W * _trigamma(b)
        + _dot(ww4, i_bx**2)
        + _dot(v, (D[3] * D[3])),
    }
    g, H = _to_log_params(params, g_nat, _sym(ent, 4))
    return ll, g, H


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


def bg_expected_factor(params, t, x, T, *, modified: bool = False) -> np.ndarray:
    """E[X(T, T + t) | x, tx, T] / P(alive | x, tx, T): a function of (x, T) alone.

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
    return np.where(t > 0, c / (a - 1.0) * bracket, 0.0)


def bg_expected(params, t, x, tx, T, *, modified: bool = False) -> np.ndarray:
    """E[X(T, T + t) | x, tx, T]; with x = tx = T = 0 the unconditional E[X(t)]."""
    factor = bg_expected_factor(params, t, x, T, modified=modified)
    return factor * bg_p_alive(params, x, tx, T, modified=modified)


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
    lo, hi, c1, e1, c2, e2, *, n_extra=0.0, nodes=_GL_FIT, grad=False, hess=False
) -> tuple[np.ndarray, Any]:
    """log of ``int_lo^hi (u - lo)^n_extra (c1 + u)^-e1 (c2 + u)^-e2 du`` row-wise.

    With ``grad``, also the integrand-weighted means of ``log(c1 + u)``, ``1 / (c1 + u)``,
    ``log(c2 + u)`` and ``1 / (c2 + u)`` (derivatives of the log-integral under the
    integral sign); with ``hess`` as well, their weighted second moments as an array of
    shape (rows, 4, 4). Rows with ``hi == lo`` give ``-inf``.
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
    grad = grad or hess
    stats = [np.empty(nrow) for _ in range(4)]
    second = np.empty((nrow, 4, 4) if hess else (0, 4, 4))
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
            u = (l1, 1.0 / d1, l2, 1.0 / d2)
            pu = [p * ui for ui in u]
            for i in range(4):
                stats[i][sl] = pu[i].sum(axis=1)
            if hess:
                for i in range(4):
                    for j in range(i, 4):
                        second[sl, i, j] = second[sl, j, i] = np.einsum("ij,ij->i", pu[i], u[j])
    if not grad:
        return logI, None
    if hess:
        return logI, (tuple(stats), second)
    return logI, tuple(stats)


def _pareto_pairs(d: Compressed) -> dict[str, Any]:
    """Distinct (x, y) pairs, y in {tx} and {T}, and each row's two pairs (cached)."""
    if "pairs" not in d.cache:
        n = len(d.x)
        inv, first = group_rows(np.concatenate([d.x, d.x]), np.concatenate([d.tx, d.T]))
        xy = np.concatenate([d.x, d.x])[first], np.concatenate([d.tx, d.T])[first]
        d.cache["pairs"] = {"x": xy[0], "y": xy[1], "i_tx": inv[:n], "i_T": inv[n:]}
    return d.cache["pairs"]


def _zero_stats(n: int, order: int) -> Any:
    if order == 0:
        return None
    means = tuple(np.zeros(n) for _ in range(4))
    return (means, np.zeros((n, 4, 4))) if order == 2 else means


def _pareto_mu(st: Any, e1: np.ndarray, s: float, hess: bool) -> np.ndarray:
    """Means of the derivatives of log(s * integrand) on (r, alpha, s, beta)."""
    means = st[0] if hess else st
    e2 = s + 1.0
    return np.column_stack([-means[0], -e1 * means[1], 1.0 / s - means[2], -e2 * means[3]])


def _pareto_second(st: Any, e1: np.ndarray, s: float) -> np.ndarray:
    """E[grad grad^T + Hessian] of log(s * integrand), per row of ``st``."""
    means, sec = st
    e2 = s + 1.0
    ones = np.ones_like(e1)
    A = np.column_stack([-ones, -e1, -ones, -e2 * ones])
    b = np.array([0.0, 0.0, 1.0 / s, 0.0])
    AEu = A * np.column_stack(means)
    M = A[:, :, None] * sec * A[:, None, :]
    M += AEu[:, :, None] * b[None, None, :] + b[None, :, None] * AEu[:, None, :]
    M += np.outer(b, b)[None, :, :]
    M[:, 0, 1] -= means[1]
    M[:, 1, 0] -= means[1]
    M[:, 1, 1] += e1 * sec[:, 1, 1]
    M[:, 2, 2] -= 1.0 / s**2
    M[:, 2, 3] -= means[3]
    M[:, 3, 2] -= means[3]
    M[:, 3, 3] += e2 * sec[:, 3, 3]
    return M


def pareto_loglik(
    params: np.ndarray,
    d: Compressed,
    *,
    grad: bool = True,
    hess: bool = False,
    nodes: tuple[np.ndarray, np.ndarray] = _GL_FIT,
) -> Any:
    """Total Pareto/NBD log-likelihood, its gradient and Hessian on log-parameters.

    Returns ``(ll, grad)`` (``grad`` None unless asked), or ``(ll, grad, hess)``.
    ``nodes``: Gauss-Legendre rule of the quadrature (``_GL_START`` for a rough start).
    """
    r, alpha, s, beta = params
    x, T, w, ux = d.x, d.T, d.w, d.ux
    pairs = _pareto_pairs(d)
    px, py, i_tx, i_T = pairs["x"], pairs["y"], pairs["i_tx"], pairs["i_T"]
    y_max = float(np.max(T)) if len(T) else 0.0
    # H(x, y) = int_y^{y_max}: one quadrature per distinct pair
    order = 2 if hess else (1 if grad else 0)
    all_direct = len(x) <= _ALL_DIRECT_ROWS and nodes is _GL_FIT
    sel = np.zeros(0, dtype=np.intp) if all_direct else slice(None)
    logH, st = _power_integral(
        py[sel],
        y_max,
        alpha,
        r + px[sel],
        beta,
        s + 1.0,
        grad=order >= 1,
        hess=order == 2,
        nodes=nodes,
    )
    if all_direct:  # small data: every row gets its own quadrature over [tx, T]
        logH = np.full(len(px), -np.inf)
        st = _zero_stats(len(px), order)
    Ls = np.log(s) + logH  # log(s H)
    L_tx, L_T = Ls[i_tx], Ls[i_T]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(L_tx), np.exp(L_T - L_tx), 0.0)
        C = L_tx + np.log1p(-np.minimum(ratio, 1.0))  # log(s I), I = H(x, tx) - H(x, T)
    # where H(x, T) is close to H(x, tx) the difference would amplify rounding in the
    # derivatives: those rows get their own quadrature over [tx, T]
    threshold = -1.0 if all_direct else _DIRECT_RATIO
    direct = np.flatnonzero((ratio > threshold) & (d.tx < T))
    logI_d, st_d = _power_integral(
        d.tx[direct],
        T[direct],
        alpha,
        r + x[direct],
        beta,
        s + 1.0,
        grad=order >= 1,
        hess=order == 2,
        nodes=nodes,
    )
    C[direct] = np.log(s) + logI_d
    la_T = np.log(alpha + T)
    lb_T = np.log(beta + T)
    rx = r + x
    B = -rx * la_T - s * lb_T
    lse = np.logaddexp(B, C)
    W = d.n
    base_x = gammaln(r + ux)
    ll = float(_dot(d.wx, base_x) + W * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta)))
    ll += float(_dot(w, lse))
    if order == 0:
        return ll, None
    wB = np.exp(B - lse)
    with np.errstate(invalid="ignore"):
        a1 = np.where(np.isfinite(L_tx), np.exp(L_tx - lse), 0.0)
        a2 = np.where(np.isfinite(L_T), np.exp(L_T - lse), 0.0)
    a1[direct] = 0.0
    a2[direct] = 0.0
    a_d = np.exp(C[direct] - lse[direct])
    # derivatives of log(s * integrand): (-log(alpha+u), -(r+x)/(alpha+u), 1/s - log(beta+u),
    # -(s+1)/(beta+u)); their means under each pair's integrand
    mu = _pareto_mu(st, r + px, s, hess)
    mu_d = _pareto_mu(st_d, r + x[direct], s, hess)
    i_aT = 1.0 / (alpha + T)
    i_bT = 1.0 / (beta + T)
    gB = np.column_stack([-la_T, -rx * i_aT, -lb_T, -s * i_bT])
    g_rows = wB[:, None] * gB + a1[:, None] * mu[i_tx] - a2[:, None] * mu[i_T]
    g_rows[direct] += a_d[:, None] * mu_d
    g_nat = np.einsum("n,ni->i", w, g_rows)
    g_nat += np.array(
        [
            _dot(d.wx, digamma(r + ux)) - W * digamma(r) + W * np.log(alpha),
            W * r / alpha,
            W * np.log(beta),
            W * s / beta,
        ]
    )
    if not hess:
        return ll, g_nat * params
    M = _pareto_second(st, r + px, s)
    M_d = _pareto_second(st_d, r + x[direct], s)
    # alive branch: Hessian of B plus gB gB^T
    HB = gB[:, :, None] * gB[:, None, :]
    HB[:, 0, 1] -= i_aT
    HB[:, 1, 0] -= i_aT
    HB[:, 1, 1] += rx * i_aT**2
    HB[:, 2, 3] -= i_bT
    HB[:, 3, 2] -= i_bT
    HB[:, 3, 3] += s * i_bT**2
    # sum_rows w [wB HB + a1 M_tx - a2 M_T - g g^T]
    H_nat = np.einsum("n,nij->ij", w * wB, HB)
    pair_w1 = np.bincount(i_tx, weights=w * a1, minlength=len(px))
    pair_w2 = np.bincount(i_T, weights=w * a2, minlength=len(px))
    H_nat += np.einsum("n,nij->ij", pair_w1 - pair_w2, M)
    H_nat += np.einsum("n,nij->ij", w[direct] * a_d, M_d)
    H_nat -= np.einsum("n,ni,nj->ij", w, g_rows, g_rows)
    H_nat[0, 0] += _dot(d.wx, _trigamma(r + ux)) - W * _trigamma(r)
    H_nat[0, 1] += W / alpha
    H_nat[1, 0] += W / alpha
    H_nat[1, 1] -= W * r / alpha**2
    H_nat[2, 3] += W / beta
    H_nat[3, 2] += W / beta
    H_nat[3, 3] -= W * s / beta**2
    g, H = _to_log_params(params, g_nat, H_nat)
    return ll, g, H


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


def pareto_expected_factor(params, t, x, T) -> np.ndarray:
    """E[X(T, T + t) | x, tx, T] / P(alive | x, tx, T): a function of (x, T) alone."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    lr = np.log((beta + T) / (beta + T + t))
    sm1 = s - 1.0
    # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), continuous at s = 1
    if abs(sm1) > 1e-12:
        frac = -np.expm1(sm1 * lr) / sm1
    else:
        frac = -lr
    return np.where(t > 0, (r + x) * (beta + T) / (alpha + T) * frac, 0.0)


def pareto_expected(params, t, x, tx, T) -> np.ndarray:
    return pareto_expected_factor(params, t, x, T) * pareto_p_alive(params, x, tx, T)


# --------------------------------------------------------------------------- Gamma-Gamma


@dataclass
class SpendData:
    """Repeat customers' (x, mean spend) with weights, and sums that do not change."""

    x: np.ndarray
    m: np.ndarray
    w: np.ndarray
    ux: np.ndarray = field(init=False)
    wx: np.ndarray = field(init=False)
    inv: np.ndarray = field(init=False)
    wxm: np.ndarray = field(init=False)  # w * x
    s_logm: float = field(init=False)  # sum w log m
    s_xlogm: float = field(init=False)  # sum w x log m

    def __post_init__(self) -> None:
        self.ux, self.inv = np.unique(self.x, return_inverse=True)
        self.wx = np.bincount(self.inv, weights=self.w, minlength=len(self.ux))
        self.wxm = self.w * self.x
        logm = np.log(self.m)
        self.s_logm = float(_dot(self.w, logm))
        self.s_xlogm = float(_dot(self.wxm, logm))

    @property
    def n(self) -> float:
        return float(self.w.sum())


def compress_spend(x, m, w=None) -> SpendData:
    """Spend data of repeat customers (mean spends are continuous: rows are not merged)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    return SpendData(x, m, w)


def gg_loglik(params: np.ndarray, d: SpendData, *, grad: bool = True, hess: bool = False) -> Any:
    """Gamma-Gamma log-likelihood of the mean spends (density of zbar).

    The terms in p x and q are evaluated once per distinct x; per row only
    ``log(x m + v)`` changes with the parameters.
    """
    p, q, v = params
    ux, wx = d.ux, d.wx
    pux = p * ux
    W = d.n
    xm_v = d.x * d.m + v
    lxm = np.log(xm_v)
    s_l = float(_dot(d.w, lxm))
    s_xl = float(_dot(d.wxm, lxm))
    ll = (
        _dot(wx, (gammaln(pux + q) - gammaln(pux) + pux * np.log(ux)))
        - W * gammaln(q)
        + W * q * np.log(v)
        + p * d.s_xlogm
        - d.s_logm
        - p * s_xl
        - q * s_l
    )
    ll = float(ll)
    if not grad and not hess:
        return ll, None
    inv_ = 1.0 / xm_v
    s_i = float(_dot(d.w, inv_))
    s_xi = float(_dot(d.wxm, inv_))
    dpq = digamma(pux + q)
    dp = _dot(wx, ux * (dpq - digamma(pux) + np.log(ux))) + d.s_xlogm - s_xl
    dq = _dot(wx, dpq) - W * digamma(q) + W * np.log(v) - s_l
    dv = W * q / v - p * s_xi - q * s_i
    g_nat = np.array([dp, dq, dv])
    if not hess:
        return ll, g_nat * params
    inv2 = inv_ * inv_
    tpq = _trigamma(pux + q)
    ent = {
        (0, 0): _dot(wx, ux**2 * (tpq - _trigamma(pux))),
        (0, 1): _dot(wx, (ux * tpq)),
        (0, 2): -s_xi,
        (1, 1): _dot(wx, tpq) - W * _trigamma(q),
        (1, 2): W / v - s_i,
        (2, 2): -W * q / v**2 + p * float(_dot(d.wxm, inv2)) + q * float(_dot(d.w, inv2)),
    }
    g, H = _to_log_params(params, g_nat, _sym(ent, 3))
    return ll, g, H


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


def _objective(loglik: Any, n_weight: float, penalty_scale: np.ndarray, penalizer: float) -> Any:
    """``theta, order -> (f, grad, hess)`` of ``-ll / n + penalizer * sum((p * scale)^2)``.

    A mean, so tolerances do not depend on the number of customers. ``order`` 0 gives the
    value only, 1 adds the gradient, 2 the Hessian (None when ``loglik`` has none).
    """

    def objective(theta: np.ndarray, order: int = 1) -> tuple[float, Any, Any]:
        params = np.exp(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = loglik(params, order)
        ll = out[0]
        pen_p = params * penalty_scale
        f = -ll / n_weight + penalizer * float(pen_p @ pen_p)
        if not np.isfinite(f):
            return np.inf, None, None
        if order == 0:
            return f, None, None
        grad = -out[1] / n_weight + penalizer * 2.0 * pen_p**2
        if not np.all(np.isfinite(grad)):
            return np.inf, None, None
        H = None
        if order == 2 and len(out) > 2 and out[2] is not None:
            H = -out[2] / n_weight + np.diag(penalizer * 4.0 * pen_p**2)
            if not np.all(np.isfinite(H)):
                H = None
        return f, grad, H

    return objective


def _lbfgs(objective: Any, theta0: np.ndarray, bound: float, max_iter: int) -> Any:
    """L-BFGS-B with the analytic gradient, from up to three starts."""

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g, _ = objective(theta, 1)
        return (f, g) if np.isfinite(f) else (np.inf, np.zeros_like(theta))

    best = None
    for start in (theta0, theta0 + 1.0, theta0 - 1.0):
        res = minimize(
            fg,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-bound, bound)] * len(theta0),
            options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-8, "maxcor": 30},
        )
        if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
            best = res
        if res.success and np.isfinite(res.fun):
            break
    assert best is not None
    return best


def _fd_hessian(objective: Any, theta: np.ndarray, h: float = 1e-5) -> np.ndarray | None:
    """Central differences of the analytic gradient."""
    k = len(theta)
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        fp, gp, _ = objective(theta + e, 1)
        fm, gm, _ = objective(theta - e, 1)
        if not (np.isfinite(fp) and np.isfinite(fm)):
            return None
        H[:, j] = (gp - gm) / (2.0 * h)
    return 0.5 * (H + H.T)


def _with_hessian(objective: Any, theta: np.ndarray) -> tuple[float, Any, Any]:
    f, g, H = objective(theta, 2)
    if np.isfinite(f) and H is None:
        H = _fd_hessian(objective, theta)
    return f, g, H


def _newton(
    objective: Any, theta: np.ndarray, bound: float, max_iter: int = 40
) -> tuple[np.ndarray, float, Any, Any, int]:
    """Damped Newton iterations with a backtracking line search.

    Returns ``(theta, f, grad, hess, iterations)`` at the last accepted point.
    """
    f, g, H = _with_hessian(objective, theta)
    steps = 0
    if not np.isfinite(f) or H is None:
        return theta, f, g, H, steps
    while steps < max_iter:
        steps += 1
        free = _free(theta, g, bound)
        if not free.any():
            break
        evals, vecs = np.linalg.eigh(H[np.ix_(free, free)])
        top = float(np.max(np.abs(evals)))
        if not np.isfinite(top) or top == 0.0:
            break
        evals = np.maximum(np.abs(evals), 1e-10 * top)  # a descent direction in any case
        step = np.zeros_like(theta)
        step[free] = -(vecs @ ((vecs.T @ g[free]) / evals))
        big = float(np.max(np.abs(step)))
        if big > 2.0:
            step *= 2.0 / big
        slope = float(g @ step)
        t = 1.0
        accepted = False
        while t > 1e-6:
            cand = np.clip(theta + t * step, -bound, bound)
            fc, gc, Hc = _with_hessian(objective, cand)
            if np.isfinite(fc) and Hc is not None and fc <= f + 1e-4 * t * slope + 1e-15 * abs(f):
                accepted = True
                break
            t *= 0.25
        if not accepted:
            break
        moved = float(np.max(np.abs(cand - theta)))
        theta, f, g, H = cand, fc, gc, Hc
        if moved < 1e-10 or _grad_norm(theta, g, bound) < 1e-14:
            break
    return theta, f, g, H, steps


def _free(theta: np.ndarray, g: np.ndarray, bound: float) -> np.ndarray:
    """Coordinates not held at a bound by a gradient pointing outside."""
    at_upper = (theta >= bound - 1e-9) & (g < 0)
    at_lower = (theta <= -bound + 1e-9) & (g > 0)
    return ~(at_upper | at_lower)


def _grad_norm(theta: np.ndarray, g: Any, bound: float) -> float:
    """Largest component of the projected gradient (inf when not finite)."""
    if g is None or not np.all(np.isfinite(g)):
        return np.inf
    free = _free(theta, g, bound)
    return float(np.max(np.abs(g[free]))) if free.any() else 0.0


def maximize(
    loglik: Any,
    theta0: np.ndarray,
    n_weight: float,
    *,
    penalty_scale: np.ndarray,
    penalizer: float,
    start: tuple[Any, float] | None = None,
    bound: float = 30.0,
    max_iter: int = 3000,
) -> FitResult:
    """Maximise ``loglik(params, order) -> (ll, grad_log[, hess_log])`` over log-parameters.

    The objective is ``-ll / n + penalizer * sum((params * penalty_scale)^2)``. A start
    comes from L-BFGS-B (analytic gradient) on ``start = (loglik, n_weight)`` of a thinned
    sample when given, else on the data itself; Newton steps with the analytic Hessian
    then converge on the full data (quadratically, so a few evaluations), and the Hessian
    at the optimum gives the standard errors.
    """
    objective = _objective(loglik, n_weight, penalty_scale, penalizer)
    if start is not None:
        start_objective = _objective(start[0], start[1], penalty_scale, penalizer)
        first = _lbfgs(start_objective, theta0, bound, max_iter)
    else:
        first = _lbfgs(objective, theta0, bound, max_iter)
    n_iter = int(first.nit)
    message = str(first.message)
    theta, f, g, H, it = _newton(objective, np.asarray(first.x, dtype=float), bound)
    n_iter += it
    gnorm = _grad_norm(theta, g, bound)
    if start is not None and not gnorm < 1e-6:
        # the sample's optimum was too far away: L-BFGS-B on the data itself, then Newton
        again = _lbfgs(objective, theta if np.isfinite(f) else first.x, bound, max_iter)
        theta2, f2, g2, H2, it2 = _newton(objective, np.asarray(again.x, dtype=float), bound)
        n_iter += int(again.nit) + it2
        if np.isfinite(f2) and (not np.isfinite(f) or f2 <= f):
            theta, f, g, H, message = theta2, f2, g2, H2, str(again.message)
        gnorm = _grad_norm(theta, g, bound)
    first_gnorm = _grad_norm(first.x, first.jac, bound) if start is None else np.inf
    if not gnorm < 1e-4 and first_gnorm < gnorm and first.fun <= f + 1e-12 * abs(f):
        # Newton could not improve on L-BFGS-B (a flat ridge): keep its result
        theta, f, H = np.asarray(first.x, dtype=float), float(first.fun), None
        gnorm = first_gnorm
    converged = bool(np.isfinite(f) and (gnorm < 1e-4 or (first.success and gnorm < 1e-3)))
    params = np.exp(theta)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ll = float(loglik(params, 0)[0])
    H_total = None if H is None else H * n_weight
    return FitResult(theta, ll, converged, message, n_iter, gnorm, H_total)


# --------------------------------------------------------------------------- BG/BB (discrete time)


def _bgbb_terms(params, x, tx, n):
    """Log-terms of the BG/BB likelihood without the common ``-B(a, b) - B(g, d)``.

    Column 0: alive through all ``n`` opportunities; column ``1 + i``: alive at the
    ``tx + i``-th opportunity and gone after it (``i < n - tx``), -inf beyond.
    """
    alpha, beta, gamma, delta = params
    n_extra = int(np.max(n - tx)) if len(n) else 0
    i = np.arange(n_extra, dtype=float)
    m = tx[:, None] + i[None, :]  # opportunities survived before dropping out
    valid = i[None, :] < (n - tx)[:, None]
    with np.errstate(invalid="ignore"):
        gone = betaln(alpha + x[:, None], beta + m - x[:, None]) + betaln(gamma + 1.0, delta + m)
    alive = betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n)
    terms = np.column_stack([alive, np.where(valid, gone, -np.inf)])
    return terms, m, valid


def bgbb_loglik(params: np.ndarray, d: Compressed, *, grad: bool = True, hess: bool = False) -> Any:
    """Total BG/BB log-likelihood (x = frequency, tx = recency, T = n opportunities).

    Returns ``(ll, grad)``; with ``hess=True`` ``(ll, grad, None)`` (the optimiser then
    differentiates the analytic gradient). Derivatives are on log-parameters.
    """
    alpha, beta, gamma, delta = params
    x, tx, n, w = d.x, d.tx, d.T, d.w
    terms, m, valid = _bgbb_terms(params, x, tx, n)
    top = terms.max(axis=1)
    p = np.exp(terms - top[:, None])
    total = p.sum(axis=1)
    lse = top + np.log(total)
    common = betaln(alpha, beta) + betaln(gamma, delta)
    ll = _dot(w, lse) - d.n * common
    if not grad and not hess:
        return ll, None
    p /= total[:, None]
    pa, pg = p[:, 0], p[:, 1:]
    ab, gd = alpha + beta, gamma + delta
    dig_ax = digamma(alpha + x)
    # d/d(alpha, beta, gamma, delta) of each term, weighted by its share of the row
    mm = np.where(valid, m, 0.0)
    d_alpha = dig_ax - pa * digamma(ab + n) - np.sum(pg * digamma(ab + mm), axis=1)
    d_beta = pa * digamma(beta + n - x) + np.sum(pg * digamma(beta + mm - x[:, None]), axis=1)
    d_beta -= pa * digamma(ab + n) + np.sum(pg * digamma(ab + mm), axis=1)
    d_gamma = pa * (digamma(gamma) - digamma(gd + n))
    d_gamma += np.sum(pg * (digamma(gamma + 1.0) - digamma(gd + 1.0 + mm)), axis=1)
    d_delta = pa * (digamma(delta + n) - digamma(gd + n))
    d_delta += np.sum(pg * (digamma(delta + mm) - digamma(gd + 1.0 + mm)), axis=1)
    W = d.n
    g_nat = np.array(
        [
            _dot(w, d_alpha) - W * (digamma(alpha) - digamma(ab)),
            _dot(w, d_beta) - W * (digamma(beta) - digamma(ab)),
            _dot(w, d_gamma) - W * (digamma(gamma) - digamma(gd)),
            _dot(w, d_delta) - W * (digamma(delta) - digamma(gd)),
        ]
    )
    if hess:
        return ll, g_nat * params, None
    return ll, g_nat * params


def bgbb_row_loglik(params, x, tx, n) -> np.ndarray:
    terms, _, _ = _bgbb_terms(params, x, tx, n)
    top = terms.max(axis=1)
    lse = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
    alpha, beta, gamma, delta = params
    return lse - betaln(alpha, beta) - betaln(gamma, delta)


def bgbb_p_alive(params, x, tx, n, m_future=0.0) -> np.ndarray:
    """P(alive at opportunity n + m_future | x, tx, n) (FHS 2010, eq. A10)."""
    alpha, beta, gamma, delta = params
    log_alive = (
        betaln(alpha + x, beta + n - x)
        - betaln(alpha, beta)
        + betaln(gamma, delta + n + m_future)
        - betaln(gamma, delta)
    )
    return np.clip(np.exp(log_alive - bgbb_row_loglik(params, x, tx, n)), 0.0, 1.0)


def _bgbb_future_bracket(params, n, m_future):
    """log of Gamma(1+d+n)/Gamma(g+d+n) - Gamma(1+d+n+m)/Gamma(g+d+n+m), signed by (g - 1)."""
    alpha, beta, gamma, delta = params
    a1 = gammaln(1.0 + delta + n) - gammaln(gamma + delta + n)
    a2 = gammaln(1.0 + delta + n + m_future) - gammaln(gamma + delta + n + m_future)
    # the ratio decreases in n when gamma > 1 and increases when gamma < 1, so
    # (a1 - a2) and (gamma - 1) have the same sign
    with np.errstate(divide="ignore"):
        return np.maximum(a1, a2) + np.log(-np.expm1(-np.abs(a1 - a2)))


def bgbb_expected(params, m_future, x, tx, n) -> np.ndarray:
    """E[X(n, n + m_future) | x, tx, n], purchases in the next m opportunities (eq. 13)."""
    alpha, beta, gamma, delta = params
    m_future = np.asarray(m_future, dtype=float)
    if abs(gamma - 1.0) < 1e-10:  # the limit gamma -> 1: delta * log-ratio of digammas
        bracket = digamma(1.0 + delta + n + m_future) - digamma(1.0 + delta + n)
        log_b = np.log(np.maximum(bracket, 1e-300)) + np.log(delta)
    else:
        log_b = _bgbb_future_bracket(params, n, m_future) + np.log(delta / abs(gamma - 1.0))
    log_e = (
        betaln(alpha + x + 1.0, beta + n - x)
        - betaln(alpha, beta)
        + gammaln(gamma + delta)
        - gammaln(1.0 + delta)
        + log_b
        - bgbb_row_loglik(params, x, tx, n)
    )
    return np.where(m_future > 0, np.exp(log_e), 0.0)


def bgbb_expected_new(params, n) -> float:
    """E[X(n)] for a new customer: purchases in the first n opportunities (eq. 9)."""
    alpha, beta, gamma, delta = params
    if n <= 0:
        return 0.0
    if abs(gamma - 1.0) < 1e-10:
        log_b = np.log(delta * (digamma(1.0 + delta + n) - digamma(1.0 + delta)))
    else:
        log_b = float(_bgbb_future_bracket(params, 0.0, float(n))) + np.log(
            delta / abs(gamma - 1.0)
        )
    return float(
        alpha / (alpha + beta) * np.exp(log_b + gammaln(gamma + delta) - gammaln(1.0 + delta))
    )
