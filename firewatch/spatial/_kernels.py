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

_EPS = 1e-7  # in tile units: a point this close to a tile line is in both (TileIndex too)


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


@njit(cache=True, nogil=True, inline="always")
def _centre(
    xp: float,
    yp: float,
    tk: int,
    tile_head: Any,
    pieces: Any,
    ref_vid: Any,
    ref_xy: Any,
    lv: Any,
    la: Any,
) -> int:  # pragma: no cover - compiled
    """Polygon of a point in mixed tile ``tk``, by counting the boundary crossings on the way
    from the tile's reference point (whose polygon is known); ``-3`` where that is not
    reliable or the point is inside more than one polygon (GEOS decides there)."""
    ref = ref_vid[tk]
    if ref == -3:
        return -3
    cx = ref_xy[tk, 0]
    cy = ref_xy[tk, 1]
    ddx = xp - cx
    ddy = yp - cy
    nl = 0
    if ref >= 0:
        nl = _add(lv, la, nl, ref, 1.0)
    for e in range(tile_head[tk, 0], tile_head[tk, 1]):
        sx0 = pieces[e, 0]
        sy0 = pieces[e, 1]
        sx = pieces[e, 2] - sx0
        sy = pieces[e, 3] - sy0
        o_c = sx * (cy - sy0) - sy * (cx - sx0)
        o_p = sx * (yp - sy0) - sy * (xp - sx0)
        o_a = ddx * (sy0 - cy) - ddy * (sx0 - cx)
        o_b = ddx * (pieces[e, 3] - cy) - ddy * (pieces[e, 2] - cx)
        if ((o_c > 0) != (o_p > 0)) and ((o_a > 0) != (o_b > 0)):
            # Crossing to the left of the piece enters ``left`` (and leaves ``right``).
            sign = 1.0 if o_p > 0 else -1.0
            nl = _add(lv, la, nl, np.int64(pieces[e, 4]), sign)
            right = np.int64(pieces[e, 5])
            if right >= 0:
                nl = _add(lv, la, nl, right, -sign)
    if nl < 0:
        return -3
    out = -1
    for k in range(nl):
        tot = la[k]
        if tot == 1.0:
            if out >= 0:
                return -3  # inside two polygons: an overlap
            out = lv[k]
        elif tot != 0.0:
            return -3  # inconsistent counts: degenerate input
    return out


@njit(cache=True, nogil=True)
def footprints(  # pragma: no cover - compiled; tested through TileIndex
    perm: Any,
    x: Any,
    y: Any,
    a: Any,
    b: Any,
    kx: Any,
    ky: Any,
    cos: Any,
    sin: Any,
    fp_code: Any,
    nx: int,
    ny: int,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    tile_head: Any,
    pieces: Any,
    ref_vid: Any,
    ref_xy: Any,
    rows4: Any,
    cols4: Any,
    sp: Any,
    sv: Any,
    sa: Any,
    work: Any,
    work_a: Any,
    centre_out: Any,
    top_out: Any,
    top_a_out: Any,
    cells_out: Any,
    bad: Any,
) -> tuple[int, int]:
    """Overlaps of footprints (centre ``x, y``, half sizes ``a, b`` km, km per degree
    ``kx, ky`` there, cosine and sine of the scan-axis angle) with the indexed polygons.

    The inputs come in the order ``perm`` (:func:`block_order`) of the caller's points:
    entry ``q`` is the caller's point ``perm[q]``.

    Writes the rows (point, polygon, km²) into ``sp, sv, sa``, grouped by point (in
    processing order), inside a point largest area first, the centre's polygon first on a
    tie, then by polygon; per point in the caller's order, its centre's polygon (``-3``: not
    found reliably or inside overlapping polygons; no rows), the polygon of its largest
    overlap (``-1``: none), that area and its number of rows; and the points whose sums did
    not add up (no rows either) into ``bad``.  The caller settles both with GEOS.  ``work``
    (3 × n) and ``work_a`` (n) are scratch space.

    Every array comes from the caller: numpy allocates them (on huge pages where the system
    offers them), which spares the page faults that dominate a loop this short.  Returns the
    number of rows (``-1``: ``sp`` is too short) and of ``bad`` points.
    """
    n = len(x)
    cap = len(sp)
    centre = work[0]  # per point, in processing order: centre, largest overlap, rows
    top = work[1]
    cells = work[2]
    top_a = work_a
    nbad = 0
    m = 0
    lv = np.empty(_MAX_POLYGONS, dtype=np.int64)
    la = np.empty(_MAX_POLYGONS, dtype=np.float64)
    for q in range(n):
        top[q] = -1
        top_a[q] = 0.0
        cells[q] = 0
        xp = x[q]
        yp = y[q]
        A = a[q]
        B = b[q]
        kxp = kx[q]
        kyp = ky[q]
        c = cos[q]
        s = sin[q]
        ci = -1
        cj = -1
        u = (xp - x0) / dx
        v = (yp - y0) / dy
        inside = u >= 0.0 and v >= 0.0 and u < nx and v < ny  # False for NaN
        code = -1
        if inside:
            ci = int(u)
            cj = int(v)
            code = fp_code[cj * nx + ci]
        if code >= 0:
            cp = code // 32
        elif code <= -2:
            cp = _centre(xp, yp, -2 - code, tile_head, pieces, ref_vid, ref_xy, lv, la)
        else:
            cp = -1
        centre[q] = cp
        if cp == -3:
            continue
        ex = (abs(A * c) + abs(B * s)) / kxp
        ey = (abs(A * s) + abs(B * c)) / kyp
        if not (
            math.isfinite(ex) and math.isfinite(ey) and math.isfinite(xp) and math.isfinite(yp)
        ):
            continue
        full = 4.0 * A * B
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
        if code >= 0:
            need = max(max(ci - i_lo, i_hi - ci), max(cj - j_lo, j_hi - cj))
            if code % 32 >= need + 1:  # a block of pure tiles holds the whole footprint
                if m == cap:
                    return -1, nbad
                sp[m] = perm[q]
                sv[m] = cp
                sa[m] = full
                m += 1
                top[q] = cp
                top_a[q] = full
                cells[q] = 1
                continue
        nl = 0
        for tj in range(max(j_lo, 0), min(j_hi, ny - 1) + 1):
            r0 = min(max(math.floor(4.0 * (vlo - tj) - _EPS), 0), 3)
            r1 = min(max(math.floor(4.0 * (vhi - tj) + _EPS), 0), 3)
            for ti in range(max(i_lo, 0), min(i_hi, nx - 1) + 1):
                tc = fp_code[tj * nx + ti]
                if tc > -2:
                    continue
                tk = -2 - tc
                c0 = min(max(math.floor(4.0 * (ulo - ti) - _EPS), 0), 3)
                c1 = min(max(math.floor(4.0 * (uhi - ti) + _EPS), 0), 3)
                rect = rows4[r0, r1] & cols4[c0, c1]
                if (tile_head[tk, 2] & rect) == 0:
                    continue
                for e in range(tile_head[tk, 0], tile_head[tk, 1]):
                    if (np.int64(pieces[e, 6]) & rect) == 0:
                        continue
                    # (No bounding-box test here: nearly every piece that passes the mask
                    # reaches the footprint's box, and the branch cost more than it saved.)
                    part = _piece(
                        pieces[e, 0], pieces[e, 1], pieces[e, 2], pieces[e, 3],
                        xp, yp, kxp, kyp, c, s, A, B,
                    )  # fmt: skip
                    if part != 0.0:
                        nl = _add(lv, la, nl, np.int64(pieces[e, 4]), part)
                        right = np.int64(pieces[e, 5])
                        if right >= 0:
                            nl = _add(lv, la, nl, right, -part)
        if cp >= 0:
            nl = _add(lv, la, nl, cp, full)
        # Check, order and keep.
        tol = 1e-9 * full + 1e-12
        total = 0.0
        ok = nl >= 0
        nl = max(nl, 0)
        for k in range(nl):
            val = la[k]
            if val < -tol:  # a polygon overlapping the centre's: its state there was counted 0
                val += full
                la[k] = val
            if val < -tol or val > full + tol:
                ok = False
            total += val
        if total > full * (1 + 1e-7) + 1e-12:
            ok = False
        if not ok:
            bad[nbad] = perm[q]
            nbad += 1
            continue
        for k in range(1, nl):  # insertion sort, largest first (a few rows)
            kv = lv[k]
            ka = la[k]
            j = k - 1
            while j >= 0 and _before(kv, ka, lv[j], la[j], cp):
                lv[j + 1] = lv[j]
                la[j + 1] = la[j]
                j -= 1
            lv[j + 1] = kv
            la[j + 1] = ka
        if m + nl > cap:
            return -1, nbad
        for k in range(nl):
            val = la[k]
            if val > tol:
                val = min(val, full)
                sp[m] = perm[q]
                sv[m] = lv[k]
                sa[m] = val
                m += 1
                if cells[q] == 0:  # the first row kept is the largest
                    top[q] = lv[k]
                    top_a[q] = val
                cells[q] += 1
    # Per-point results in the caller's order.
    for q in range(n):
        p = perm[q]
        centre_out[p] = centre[q]
        top_out[p] = top[q]
        top_a_out[p] = top_a[q]
        cells_out[p] = cells[q]
    return m, nbad


@njit(cache=True, nogil=True, inline="always")
def _before(v1: Any, a1: float, v2: Any, a2: float, cp: Any) -> bool:  # pragma: no cover
    """Whether row (polygon v1, area a1) sorts before row (v2, a2): larger area first, then
    the centre's polygon ``cp``, then the lower polygon."""
    if a1 != a2:
        return a1 > a2
    if (v1 == cp) != (v2 == cp):
        return v1 == cp
    return v1 < v2


@njit(cache=True, nogil=True, inline="always")
def _piece(
    sx0: float,
    sy0: float,
    sx1: float,
    sy1: float,
    xp: float,
    yp: float,
    kxp: float,
    kyp: float,
    c: float,
    s: float,
    A: float,
    B: float,
) -> float:  # pragma: no cover - compiled
    """A boundary piece's term in the footprint's area integral (Green's theorem)."""
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
    # Liang–Barsky clip of the piece to the rectangle: [t0, t1].  A piece lying on a side's
    # line adds nothing here (the side's own term below accounts for that stretch).
    t0 = 0.0
    t1 = 1.0
    iu = 1.0 / du if du != 0.0 else 0.0
    iv = 1.0 / dv if dv != 0.0 else 0.0
    if du != 0.0:
        ta = (-A - u0) * iu
        tb = (A - u0) * iu
        t0 = max(t0, min(ta, tb))
        t1 = min(t1, max(ta, tb))
    elif not (-A < u0 < A):
        t1 = -1.0
    if dv != 0.0:
        ta = (-B - v0) * iv
        tb = (B - v0) * iv
        t0 = max(t0, min(ta, tb))
        t1 = min(t1, max(ta, tb))
    elif not (-B < v0 < B):
        t1 = -1.0
    if t1 > t0:
        part = (u0 + du * (t0 + t1) * 0.5) * dv * (t1 - t0)
    # Crossings of the right and left sides: the length of each side inside a polygon is its
    # state at v=0 times 2b, corrected at each crossing (moving +v along the side).
    if du != 0.0:
        up = A if du > 0 else -A
        for k in range(2):
            side = A if k == 0 else -A
            if (u0 < side) != (u1 < side):
                vc = v0 + (side - u0) * iu * dv
                if -B <= vc < B:
                    if vc >= 0:
                        part += up * (B - vc)
                    else:
                        part -= up * (B + vc)
    # Crossings of the centre line v=0 carry the state from the centre to each side.
    if (v0 < 0) != (v1 < 0):
        uc = u0 - v0 * iv * du
        if -A <= uc < A:
            rising = 2.0 * A * B if dv > 0 else -2.0 * A * B
            if uc >= 0:
                part -= rising
            else:
                part += rising
    return part


@njit(cache=True, nogil=True)
def block_order(  # pragma: no cover - compiled; tested through TileIndex
    x: Any,
    y: Any,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    nx: int,
    ny: int,
    block: int,
    key: Any,
    order: Any,
) -> None:
    """An order of the points by blocks of ``block`` × ``block`` tiles (row-major; points
    outside the raster or not finite last), stable inside a block: a counting sort.

    Points near each other then use the same tiles one after the other, which is what makes
    the footprint loop fast on points that come in random order.  Writes the order into
    ``order``; ``key`` is scratch space (both as long as ``x``)."""
    n = len(x)
    nbx = (nx + block - 1) // block
    nby = (ny + block - 1) // block
    nkeys = nbx * nby + 1
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
    for p in range(n):
        k = key[p]
        order[count[k]] = p
        count[k] += 1


@njit(cache=True, nogil=True)
def json_size(
    poly: Any, q: Any, starts: Any, item_off: Any, share_off: Any
) -> int:  # pragma: no cover
    """Bytes :func:`json_lists` writes."""
    size = len(starts)
    for r in range(len(poly)):
        v = poly[r]
        k = q[r]
        size += item_off[v + 1] - item_off[v] + share_off[k + 1] - share_off[k] + 3
    return size


@njit(cache=True, nogil=True)
def json_lists(  # pragma: no cover - compiled; tested through GridIndex.attribute
    poly: Any,
    q: Any,
    starts: Any,
    item_buf: Any,
    item_off: Any,
    share_buf: Any,
    share_off: Any,
    out: Any,
) -> None:
    """UTF-8 text of ``[item share}, item share}]`` per group of rows (groups start at
    ``starts``), the lists separated by NUL, into ``out`` (:func:`json_size` bytes):
    ``item_buf[item_off[v]:item_off[v + 1]]`` is polygon ``v``'s opening text,
    ``share_buf[share_off[k]:...]`` share ``k``'s text."""
    m = len(poly)
    w = 0
    g = 0
    for r in range(m):
        if g < len(starts) and starts[g] == r:
            out[w] = 91  # [
            w += 1
            g += 1
        v = poly[r]
        for i in range(item_off[v], item_off[v + 1]):
            out[w] = item_buf[i]
            w += 1
        k = q[r]
        for i in range(share_off[k], share_off[k + 1]):
            out[w] = share_buf[i]
            w += 1
        out[w] = 125  # }
        if r + 1 == m or (g < len(starts) and starts[g] == r + 1):
            out[w + 1] = 93  # ]
            out[w + 2] = 0
        else:
            out[w + 1] = 44  # ,
            out[w + 2] = 32
        w += 3
