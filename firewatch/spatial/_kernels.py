"""Compiled inner loops of :class:`~firewatch.spatial.grid_index.TileIndex` (numba).

The footprint overlap is a loop per pixel over the few tiles and boundary pieces it covers,
with a handful of polygons per pixel to sum into: a poor fit for whole-array numpy (which
must materialise every (pixel, piece) pair and sort them back into groups) and a natural one
for a compiled loop.  The arithmetic is the same as documented in :mod:`grid_index`.

Functions are compiled on first use and cached on disk next to this module
(``numba`` ``cache=True``), so only the first run on a machine pays the few seconds of
compilation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

_EPS = 1e-7  # keep in step with grid_index._EPS


@njit(cache=True, nogil=True)
def _grow_i(arr: Any, size: int) -> Any:  # pragma: no cover - compiled
    out = np.empty(size, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


@njit(cache=True, nogil=True)
def _grow_f(arr: Any, size: int) -> Any:  # pragma: no cover - compiled
    out = np.empty(size, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


_MAX_POLYGONS = 256  # a footprint over more cells than this is left to GEOS


@njit(cache=True, nogil=True, inline="always")
def _add(lv: Any, la: Any, nl: int, v: Any, val: float) -> int:  # pragma: no cover
    """Add ``val`` to polygon ``v``'s running sum (a short list, searched linearly); the new
    length, or ``-1`` when the list is full."""
    for k in range(nl):
        if lv[k] == v:
            la[k] += val
            return nl
    if nl < 0 or nl == len(lv):
        return -1
    lv[nl] = v
    la[nl] = val
    return nl + 1


@njit(cache=True, nogil=True)
def footprint_overlaps(  # pragma: no cover - compiled; tested through TileIndex
    x: Any,
    y: Any,
    a: Any,
    b: Any,
    cos: Any,
    sin: Any,
    kx: Any,
    ky: Any,
    centre: Any,
    fp_code: Any,
    nx: int,
    ny: int,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    tile_head: Any,
    pieces: Any,
    rows4: Any,
    cols4: Any,
) -> tuple[Any, Any, Any, Any]:
    """Rows (point, polygon, km²) of each footprint's overlaps, sorted by point then polygon,
    and the points whose sums did not add up (no rows; the caller recomputes them)."""
    n = len(x)
    cap = n + n // 4 + 16
    op = np.empty(cap, dtype=np.int64)
    ov = np.empty(cap, dtype=np.int64)
    oa = np.empty(cap, dtype=np.float64)
    bad = np.empty(16, dtype=np.int64)
    nbad = 0
    m = 0
    lv = np.empty(_MAX_POLYGONS, dtype=np.int64)
    la = np.empty(_MAX_POLYGONS, dtype=np.float64)
    for p in range(n):
        xp = x[p]
        yp = y[p]
        A = a[p]
        B = b[p]
        c = cos[p]
        s = sin[p]
        kxp = kx[p]
        kyp = ky[p]
        ex = (abs(A * c) + abs(B * s)) / kxp
        ey = (abs(A * s) + abs(B * c)) / kyp
        if not (
            math.isfinite(ex) and math.isfinite(ey) and math.isfinite(xp) and math.isfinite(yp)
        ):
            continue
        full = 4.0 * A * B
        cp = centre[p]
        xlo = xp - ex
        xhi = xp + ex
        ylo = yp - ey
        yhi = yp + ey
        ulo = (xlo - x0) / dx
        uhi = (xhi - x0) / dx
        vlo = (ylo - y0) / dy
        vhi = (yhi - y0) / dy
        i_lo = math.floor(ulo - _EPS)
        i_hi = math.floor(uhi + _EPS)
        j_lo = math.floor(vlo - _EPS)
        j_hi = math.floor(vhi + _EPS)
        ci = math.floor((xp - x0) / dx)
        cj = math.floor((yp - y0) / dy)
        if cp >= 0 and 0 <= ci < nx and 0 <= cj < ny:
            code = fp_code[cj * nx + ci]
            if code >= 0:
                need = max(max(ci - i_lo, i_hi - ci), max(cj - j_lo, j_hi - cj))
                if code % 32 >= need + 1:  # a block of pure tiles holds the whole footprint
                    if m == cap:
                        cap *= 2
                        op = _grow_i(op, cap)
                        ov = _grow_i(ov, cap)
                        oa = _grow_f(oa, cap)
                    op[m] = p
                    ov[m] = code // 32
                    oa[m] = full
                    m += 1
                    continue
        nl = 0
        for tj in range(max(j_lo, 0), min(j_hi, ny - 1) + 1):
            r0 = min(max(math.floor(4.0 * (vlo - tj) - _EPS), 0), 3)
            r1 = min(max(math.floor(4.0 * (vhi - tj) + _EPS), 0), 3)
            for ti in range(max(i_lo, 0), min(i_hi, nx - 1) + 1):
                code = fp_code[tj * nx + ti]
                if code > -2:
                    continue
                tk = -2 - code
                c0 = min(max(math.floor(4.0 * (ulo - ti) - _EPS), 0), 3)
                c1 = min(max(math.floor(4.0 * (uhi - ti) + _EPS), 0), 3)
                rect = rows4[r0, r1] & cols4[c0, c1]
                if (tile_head[tk, 2] & rect) == 0:
                    continue
                for e in range(tile_head[tk, 0], tile_head[tk, 1]):
                    if (np.int64(pieces[e, 6]) & rect) == 0:
                        continue
                    sx0 = pieces[e, 0]
                    sy0 = pieces[e, 1]
                    sx1 = pieces[e, 2]
                    sy1 = pieces[e, 3]
                    if (
                        max(sx0, sx1) < xlo
                        or min(sx0, sx1) > xhi
                        or max(sy0, sy1) < ylo
                        or min(sy0, sy1) > yhi
                    ):
                        continue
                    # Local frame of the footprint: u along scan, v along track, km.
                    e0 = (sx0 - xp) * kxp
                    n0 = (sy0 - yp) * kyp
                    e1 = (sx1 - xp) * kxp
                    n1 = (sy1 - yp) * kyp
                    u0 = e0 * c + n0 * s
                    v0 = n0 * c - e0 * s
                    u1 = e1 * c + n1 * s
                    v1 = n1 * c - e1 * s
                    du = u1 - u0
                    dv = v1 - v0
                    part = 0.0
                    # Liang–Barsky clip of the piece to the rectangle: [t0, t1].
                    t0 = 0.0
                    t1 = 1.0
                    if du != 0.0:
                        ta = (-A - u0) / du
                        tb = (A - u0) / du
                        t0 = max(t0, min(ta, tb))
                        t1 = min(t1, max(ta, tb))
                    elif not (-A < u0 < A):  # on a side: excluded, as a crossing
                        t1 = -1.0
                    if dv != 0.0:
                        ta = (-B - v0) / dv
                        tb = (B - v0) / dv
                        t0 = max(t0, min(ta, tb))
                        t1 = min(t1, max(ta, tb))
                    elif not (-B < v0 < B):
                        t1 = -1.0
                    if t1 > t0:
                        part = (u0 + du * (t0 + t1) * 0.5) * dv * (t1 - t0)
                    # Crossings of the right and left sides (moving +v along each side).
                    if du != 0.0:
                        up = A if du > 0 else -A
                        for k in range(2):
                            side = A if k == 0 else -A
                            if (u0 < side) != (u1 < side):
                                vc = v0 + (side - u0) / du * dv
                                if -B <= vc < B:
                                    if vc >= 0:
                                        part += up * (B - vc)
                                    else:
                                        part -= up * (B + vc)
                    # Crossings of the centre line v=0 carry the state from the centre.
                    if (v0 < 0) != (v1 < 0):
                        uc = u0 - v0 / dv * du
                        if -A <= uc < A:
                            rising = 2.0 * A * B if dv > 0 else -2.0 * A * B
                            if uc >= 0:
                                part -= rising
                            else:
                                part += rising
                    if part != 0.0:
                        nl = _add(lv, la, nl, np.int64(pieces[e, 4]), part)
                        r = np.int64(pieces[e, 5])
                        if r >= 0:
                            nl = _add(lv, la, nl, r, -part)
        if cp >= 0:
            nl = _add(lv, la, nl, cp, full)
        # Check and emit, polygons in ascending order.
        tol = 1e-9 * full + 1e-12
        total = 0.0
        ok = nl >= 0
        nl = max(nl, 0)
        for k in range(nl):
            v = la[k]
            if v < -tol:  # a polygon overlapping the centre's: its state there was counted 0
                v += full
                la[k] = v
            if v < -tol or v > full + tol:
                ok = False
            total += v
        if total > full * (1 + 1e-7) + 1e-12:
            ok = False
        if not ok:
            if nbad == len(bad):
                bad = _grow_i(bad, 2 * nbad)
            bad[nbad] = p
            nbad += 1
            continue
        for k in range(1, nl):  # insertion sort by polygon
            kv = lv[k]
            ka = la[k]
            j = k - 1
            while j >= 0 and lv[j] > kv:
                lv[j + 1] = lv[j]
                la[j + 1] = la[j]
                j -= 1
            lv[j + 1] = kv
            la[j + 1] = ka
        if m + nl > cap:
            cap = 2 * (m + nl)
            op = _grow_i(op, cap)
            ov = _grow_i(ov, cap)
            oa = _grow_f(oa, cap)
        for k in range(nl):
            v = la[k]
            if v > tol:
                op[m] = p
                ov[m] = lv[k]
                oa[m] = min(v, full)
                m += 1
    return op[:m], ov[:m], oa[:m], bad[:nbad]


@njit(cache=True, nogil=True)
def block_order(  # pragma: no cover - compiled; tested through TileIndex
    x: Any, y: Any, x0: float, y0: float, dx: float, dy: float, nx: int, ny: int, block: int
) -> Any:
    """An order of the points by blocks of ``block`` × ``block`` tiles (row-major; points
    outside the raster or not finite last), stable inside a block: a counting sort.

    Points near each other then use the same tiles one after the other, which is what makes
    the footprint loop fast on points that come in random order."""
    n = len(x)
    nbx = (nx + block - 1) // block
    nby = (ny + block - 1) // block
    nkeys = nbx * nby + 1
    key = np.empty(n, dtype=np.int64)
    count = np.zeros(nkeys + 1, dtype=np.int64)
    for p in range(n):
        u = (x[p] - x0) / dx
        v = (y[p] - y0) / dy
        k = nkeys - 1
        if u >= 0.0 and v >= 0.0 and u < nx and v < ny:  # False for NaN
            k = (int(v) // block) * nbx + int(u) // block
        key[p] = k
        count[k + 1] += 1
    for k in range(nkeys):
        count[k + 1] += count[k]
    order = np.empty(n, dtype=np.int64)
    for p in range(n):
        k = key[p]
        order[count[k]] = p
        count[k] += 1
    return order


@njit(cache=True, nogil=True)
def order_by_point(point: Any, n: int) -> Any:  # pragma: no cover - compiled
    """Stable order of rows by ``point`` (``0 <= point < n``): a counting sort."""
    start = np.zeros(n + 1, dtype=np.int64)
    for i in range(len(point)):
        start[point[i] + 1] += 1
    for k in range(n):
        start[k + 1] += start[k]
    order = np.empty(len(point), dtype=np.int64)
    for i in range(len(point)):
        k = point[i]
        order[start[k]] = i
        start[k] += 1
    return order
