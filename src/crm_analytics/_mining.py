"""Exact frequent-itemset mining and rule generation on sparse basket × item matrices.

Private engine behind :mod:`crm_analytics.basket`. Everything works on integer codes;
the public module turns labels into codes and back.

Itemsets: level-wise search with vertical occurrence lists
-----------------------------------------------------------
Level 1 counts items with one ``bincount``. Items are then ranked by increasing count
(ties by code) and every itemset is kept as a tuple of ranks in increasing order, so a
``k``-itemset is its ``(k-1)``-prefix (the *parent*) plus one more frequent item.

For level ``k`` the frequent ``(k-1)``-itemsets are held as a sparse basket × itemset
matrix ``T`` (a 1 where the basket contains the whole itemset: Eclat's vertical
occurrence lists, stored as one CSC matrix). One sparse product ``T.T @ X`` then counts
*every* one-item extension of *every* ``(k-1)``-itemset at once; ``X.T @ X`` is the
pair count of level 2. Counts are exact integers, so a ``k``-itemset is frequent when
its count reaches ``min_count`` and no Apriori subset pruning is needed for correctness
(a frequent set has frequent subsets by construction). ``T`` for the next level keeps
the occurrences of a parent whose basket also holds the new item (a vectorised sorted
lookup), and only for itemsets that can still grow (those with a later sibling).

Why this design: the work is done by scipy's compiled sparse kernels and numpy sorts,
with Python looping only over levels (and chunks of a level), never over baskets; the
memory is proportional to the occurrences of frequent itemsets, not to
baskets × items (mlxtend's ``fpgrowth`` starts with ``df.values``); ranking by
increasing count keeps parents rare, so the occurrence lists stay short; and the cost
of every product is known before it runs (``sum over baskets of |T_b| · |X_b|``), which
gives the memory guard.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import scipy.sparse as sp

from .exceptions import CRMError

# bytes per entry of a sparse product (int64 index + int64 row + int64 data, with slack)
_BYTES_PER_PRODUCT_ENTRY = 40
# bytes per reported itemset or rule (frozenset + DataFrame row), measured roughly
_BYTES_PER_RESULT_ROW = 600
# entries of one chunk when building the occurrence lists of the next level
_CHUNK_ENTRIES = 8_000_000


class MiningMemoryError(CRMError, MemoryError):
    """Mining would need more memory than allowed (too many frequent itemsets or pairs).

    Raised *before* the allocation, with the estimate and a fix (a higher
    ``min_support``, a ``max_len``, or a larger ``memory_limit``).
    """


def default_memory_limit() -> int:
    """Half of the memory the operating system reports as available (fallback 4 GiB)."""
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 // 2
    with contextlib.suppress(ValueError, OSError, AttributeError):
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages * size // 2)
    return 4 * 1024**3


def threshold_count(min_support: float, n: int) -> int:
    """Smallest count meeting ``count >= min_support * n``, robust to float rounding.

    ``0.07 * 100`` is ``7.000000000000001`` in floating point; a relative tolerance of
    1e-9 makes it 7, as the decimal arithmetic the user meant.

    >>> threshold_count(0.07, 100), threshold_count(0.001, 9835), threshold_count(1.0, 3)
    (7, 10, 3)
    """
    return max(1, math.ceil(min_support * n * (1.0 - 1e-9)))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a sort and a mask: faster than hashing for integer keys).

    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    out = np.sort(values)
    if len(out) > 1:
        keep = np.empty(len(out), dtype=bool)
        keep[0] = True
        np.not_equal(out[1:], out[:-1], out=keep[1:])
        out = out[keep]
    return out


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"  # pragma: no cover


@dataclass
class Mined:
    """Frequent itemsets by length: ``items[k-1]`` is (m_k, k) item codes, ``counts[k-1]``."""

    n_baskets: int
    min_count: int
    items: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)

    @property
    def n_itemsets(self) -> int:
        return int(sum(len(c) for c in self.counts))


def _as_int_csr(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """Canonical CSR with int32 ones (duplicates summed and then set to 1)."""
    x = sp.csr_matrix(matrix)
    x.sum_duplicates()
    x.eliminate_zeros()
    x = x.astype(np.int32)
    x.data[:] = 1
    return x


def _check_memory(needed: float, limit: int | None, *, what: str, caller: str, level: int) -> None:
    if limit is not None and needed > limit:
        raise MiningMemoryError(
            f"{caller}: {what} would need about {_fmt_bytes(needed)} at itemset length "
            f"{level}, more than the memory_limit of {_fmt_bytes(limit)}.\n"
            f"Hint: raise min_support (or min_count), or pass max_len={max(level - 1, 1)}; "
            f"memory_limit=None turns this check off."
        )


def mine(
    matrix: sp.spmatrix | sp.sparray,
    *,
    min_count: int,
    max_len: int | None = None,
    memory_limit: int | None = None,
    caller: str = "frequent_itemsets",
) -> Mined:
    """Every itemset contained in at least ``min_count`` rows of a 0/1 basket × item matrix.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]]))
    >>> res = mine(x, min_count=2)
    >>> [r.tolist() for r in res.items], [c.tolist() for c in res.counts]
    ([[[0], [2], [1]], [[0, 1], [2, 1]]], [[2, 2, 3], [2, 2]])
    """
    x = _as_int_csr(matrix)
    n, n_items = x.shape
    out = Mined(n_baskets=int(n), min_count=int(min_count))
    item_counts = np.bincount(x.indices, minlength=n_items)
    frequent = np.flatnonzero(item_counts >= min_count)
    # rank items by increasing count (ties by code): parents stay rare, lists short
    ranked = frequent[np.lexsort((frequent, item_counts[frequent]))]
    f = len(ranked)
    if f == 0:
        return out
    out.items.append(ranked[:, None].astype(np.int64))
    out.counts.append(item_counts[ranked].astype(np.int64))
    if (max_len is not None and max_len < 2) or f < 2:
        return out

    # basket × ranked-item matrix, baskets with fewer than two frequent items dropped
    xf = x[:, ranked]
    xf = xf[np.diff(xf.indptr) >= 2]
    xf.sort_indices()
    xf_csc = xf.tocsc()
    # keys item * n_rows + basket of every occurrence (item-major: the CSC order, so the
    # queries of one new itemset arrive sorted and the binary search stays cache-local)
    n_rows = xf.shape[0]
    cols = np.repeat(np.arange(f, dtype=np.int64), np.diff(xf_csc.indptr))
    occ_keys = _Membership(cols * n_rows + xf_csc.indices.astype(np.int64), n_rows * f)
    del cols

    prefix = np.arange(f, dtype=np.int64)[:, None]  # ranks of the current level's itemsets
    occ = xf_csc  # basket × itemset occurrences of the current level
    # items that can extend: the last items of the current level (p ∪ {j} frequent
    # needs the sibling p[:-1] ∪ {j} frequent, which ends in j)
    ext_items = np.arange(f, dtype=np.int64)
    k = 2
    while True:
        m = prefix.shape[0]
        last = prefix[:, -1]
        # extensions must come after the last item
        ext = ext_items[ext_items > last.min()]
        if len(ext) == 0:
            break
        xk = xf_csc[:, ext]
        occ_rows = np.bincount(occ.indices, minlength=occ.shape[0]).astype(np.int64)
        ext_rows = np.bincount(xk.indices, minlength=xk.shape[0]).astype(np.int64)
        flops = int(occ_rows @ ext_rows)
        entries = min(flops, m * len(ext))
        _check_memory(
            entries * _BYTES_PER_PRODUCT_ENTRY,
            memory_limit,
            what=f"counting the {m:,} × {len(ext):,} candidate extensions",
            caller=caller,
            level=k,
        )
        product = (occ.T.tocsr() @ xk.tocsr()).tocoo()
        parent = product.row.astype(np.int64)
        item = ext[product.col]
        count = product.data.astype(np.int64)
        del product
        keep = (count >= min_count) & (item > last[parent])
        parent, item, count = parent[keep], item[keep], count[keep]
        if len(parent) == 0:
            break
        order = np.lexsort((item, parent))
        parent, item, count = parent[order], item[order], count[order]
        new_prefix = np.column_stack([prefix[parent], item])
        out.items.append(ranked[new_prefix])
        out.counts.append(count)
        if out.n_itemsets * _BYTES_PER_RESULT_ROW > (memory_limit or math.inf):
            _check_memory(
                out.n_itemsets * _BYTES_PER_RESULT_ROW,
                memory_limit,
                what=f"reporting {out.n_itemsets:,} frequent itemsets",
                caller=caller,
                level=k,
            )
        if (max_len is not None and k >= max_len) or len(parent) < 2:
            break
        # only itemsets with a later sibling (same parent) can be parents next level
        grows = np.zeros(len(parent), dtype=bool)
        grows[:-1] = parent[:-1] == parent[1:]
        if not grows.any():
            break
        idx = np.flatnonzero(grows)
        ext_items = sorted_unique(item)
        occ = _next_occurrences(
            occ, parent[idx], item[idx], occ_keys, n_rows, memory_limit, caller, k
        )
        prefix = new_prefix[idx]
        k += 1
    return out


def _next_occurrences(
    occ: sp.csc_matrix,
    parent: np.ndarray,
    item: np.ndarray,
    occ_keys: _Membership,
    n_rows: int,
    memory_limit: int | None,
    caller: str,
    level: int,
) -> sp.csc_matrix:
    """Occurrence lists of ``parent ∪ {item}``: the parent's baskets that hold the item."""
    lengths = np.diff(occ.indptr)[parent]
    total = int(lengths.sum())
    _check_memory(
        min(total, _CHUNK_ENTRIES) * 40.0,
        memory_limit,
        what="the occurrence lists of the next level",
        caller=caller,
        level=level + 1,
    )
    indices_parts: list[np.ndarray] = []
    counts_parts: list[np.ndarray] = []
    for lo, hi in _chunks(lengths, _CHUNK_ENTRIES):
        sub = occ[:, parent[lo:hi]]
        col = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(sub.indptr))
        keys = item[lo:hi][col] * n_rows + sub.indices
        hit = occ_keys.contains(keys)
        indices_parts.append(sub.indices[hit])
        counts_parts.append(np.bincount(col[hit], minlength=hi - lo))
    indices = np.concatenate(indices_parts).astype(np.int32, copy=False)
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(counts_parts))]).astype(np.int64)
    data = np.ones(len(indices), dtype=np.int32)
    return sp.csc_matrix((data, indices, indptr), shape=(occ.shape[0], len(parent)))


class _Membership:
    """Is a key (item * n_baskets + basket) an occurrence? A packed bitmap when it is small
    (one bit per basket × item cell, at most 64 MiB), else a sorted-key binary search."""

    _MAX_BITMAP_BITS = 64 * 8 * 1024**2

    def __init__(self, sorted_keys: np.ndarray, n_cells: int) -> None:
        self.keys = sorted_keys
        self.bitmap: np.ndarray | None = None
        if 0 < n_cells <= self._MAX_BITMAP_BITS and len(sorted_keys):
            byte = sorted_keys >> 3
            bit = np.left_shift(1, sorted_keys & 7).astype(np.uint8)
            starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
            bitmap = np.zeros((n_cells + 7) // 8, dtype=np.uint8)
            bitmap[byte[starts]] = np.bitwise_or.reduceat(bit, starts)
            self.bitmap = bitmap

    def contains(self, keys: np.ndarray) -> np.ndarray:
        if self.bitmap is not None:
            return ((self.bitmap[keys >> 3] >> (keys & 7).astype(np.uint8)) & 1).astype(bool)
        pos = np.searchsorted(self.keys, keys)
        pos[pos == len(self.keys)] = 0
        return self.keys[pos] == keys


def _chunks(lengths: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) ranges whose summed ``lengths`` stay near ``budget``."""
    if len(lengths) == 0:
        return
    cum = np.cumsum(lengths)
    lo = 0
    while lo < len(lengths):
        base = cum[lo - 1] if lo > 0 else 0
        hi = int(np.searchsorted(cum, base + budget, side="right"))
        hi = max(hi, lo + 1)
        yield lo, min(hi, len(lengths))
        lo = hi


# --- rules -------------------------------------------------------------------------


class ItemsetIndex:
    """Exact lookup of sorted code rows among a table of itemsets (a prefix trie).

    Each ``k``-itemset is keyed by ``(index of its (k-1)-prefix, last code)``; a query is
    found by walking its columns with ``searchsorted``. The table must be closed under
    prefixes (frequent itemsets are closed under all subsets).
    """

    def __init__(self, rows_by_len: dict[int, np.ndarray], n_codes: int) -> None:
        self.n_codes = int(n_codes)
        self.keys: dict[int, np.ndarray] = {}
        self.pos: dict[int, np.ndarray] = {}
        self.missing_prefix: np.ndarray | None = None
        self.missing_len = 0
        for length in sorted(rows_by_len):
            rows = rows_by_len[length]
            if length == 1:
                key = rows[:, 0].astype(np.int64)
            else:
                parent = self.find(rows[:, :-1])
                if (parent < 0).any() and self.missing_prefix is None:
                    self.missing_prefix = rows[np.flatnonzero(parent < 0)[0]]
                    self.missing_len = length
                key = parent * self.n_codes + rows[:, -1]
            order = np.argsort(key, kind="stable")
            self.keys[length] = key[order]
            self.pos[length] = order

    def find(self, query: np.ndarray) -> np.ndarray:
        """Index (within its length) of each query row, or -1 when absent."""
        q, length = query.shape
        idx = np.full(q, -1, dtype=np.int64)
        key = query[:, 0].astype(np.int64)
        for col in range(length):
            if col > 0:
                key = idx * self.n_codes + query[:, col]
            keys = self.keys.get(col + 1)
            if keys is None or len(keys) == 0:
                return np.full(q, -1, dtype=np.int64)
            pos = np.searchsorted(keys, key)
            pos[pos == len(keys)] = 0
            found = (keys[pos] == key) & (key >= 0)
            idx = np.where(found, self.pos[col + 1][pos], -1)
        return idx


@dataclass
class RuleParts:
    """Rules as positions: itemset (length, row), antecedent (length, row), consequent."""

    ant_len: np.ndarray
    ant_row: np.ndarray
    cons_len: np.ndarray
    cons_row: np.ndarray
    set_len: np.ndarray
    set_row: np.ndarray
    count: np.ndarray
    ant_count: np.ndarray
    cons_count: np.ndarray


def generate_rules(
    rows_by_len: dict[int, np.ndarray],
    counts_by_len: dict[int, np.ndarray],
    index: ItemsetIndex,
    *,
    max_consequent_len: int | None,
    keep: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    caller: str,
    memory_limit: int | None,
) -> RuleParts:
    """Every split antecedent → consequent of every itemset that ``keep`` accepts.

    ``keep(count, ant_count, cons_count)`` returns a boolean mask (the thresholds).
    The loop runs over itemset lengths and split patterns, each vectorised over all
    itemsets of that length.
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in RuleParts.__dataclass_fields__}
    kept = 0
    for length in sorted(rows_by_len):
        if length < 2:
            continue
        rows = rows_by_len[length]
        counts = counts_by_len[length]
        top = length - 1 if max_consequent_len is None else min(max_consequent_len, length - 1)
        for c in range(1, top + 1):
            for cons_pos in combinations(range(length), c):
                ant_pos = [p for p in range(length) if p not in cons_pos]
                ant_row = index.find(rows[:, ant_pos])
                cons_row = index.find(rows[:, list(cons_pos)])
                if (ant_row < 0).any() or (cons_row < 0).any():
                    bad = int(np.flatnonzero((ant_row < 0) | (cons_row < 0))[0])
                    raise IncompleteItemsetsError(rows[bad], ant_pos, list(cons_pos))
                ant_count = counts_by_len[length - c][ant_row]
                cons_count = counts_by_len[c][cons_row]
                mask = keep(counts, ant_count, cons_count)
                sel = np.flatnonzero(mask)
                if len(sel) == 0:
                    continue
                kept += len(sel)
                _check_memory(
                    kept * _BYTES_PER_RESULT_ROW,
                    memory_limit,
                    what=f"reporting {kept:,} rules",
                    caller=caller,
                    level=length,
                )
                parts["ant_len"].append(np.full(len(sel), length - c))
                parts["ant_row"].append(ant_row[sel])
                parts["cons_len"].append(np.full(len(sel), c))
                parts["cons_row"].append(cons_row[sel])
                parts["set_len"].append(np.full(len(sel), length))
                parts["set_row"].append(sel.astype(np.int64))
                parts["count"].append(counts[sel])
                parts["ant_count"].append(ant_count[sel])
                parts["cons_count"].append(cons_count[sel])
    return RuleParts(
        **{
            name: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64))
            for name, v in parts.items()
        }
    )


class IncompleteItemsetsError(Exception):
    """A subset of an itemset is missing from the itemsets table (internal signal)."""

    def __init__(self, row: np.ndarray, ant_pos: list[int], cons_pos: list[int]) -> None:
        super().__init__(row)
        self.row = row
        self.ant_pos = ant_pos
        self.cons_pos = cons_pos
