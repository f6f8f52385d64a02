"""Locate points and pixel footprints in a set of polygons (the village cells of a grid), fast.

How it works
------------
A regular raster of *tiles* covers the polygons.  While the index is built, every polygon ring
is cut at the tile lines (a "supercover" of each segment), so the index knows exactly which
tiles a boundary touches; those tiles are *mixed*.  Every other tile lies inside one polygon,
or outside all of them, which a scan-line fill of the tile centres tells; those tiles are
*pure*.  Building is numpy on arrays of segments: no Python loop per polygon.

* A point in a pure tile gets that tile's polygon from one array look-up.  A point in a mixed
  tile is tested with GEOS (``shapely.contains_xy`` on prepared polygons) against the few
  polygons that touch that tile only, most likely first.  The answer is therefore exactly what
  a GEOS point-in-polygon test gives, as with ``geopandas.sjoin(predicate="within")``.
* A footprint (a rotated rectangle, see :mod:`firewatch.spatial.footprint`) whose tile range
  lies in a block of pure tiles around its centre is wholly inside its centre's polygon; the
  index keeps, per pure tile, how many rings of pure tiles surround it, so that is one compare.
  For the others the area of the rectangle inside each polygon is integrated exactly along the
  boundary pieces stored in the tiles it covers (Green's theorem: the clipped boundary pieces,
  plus the stretches of the rectangle's sides that lie inside, whose inside/outside state is
  carried from the centre by counting crossings); a 4×4 sub-cell mask per tile and per piece
  skips the pieces the footprint cannot reach.  That loop is compiled
  (:mod:`firewatch.spatial._kernels`, numba) and runs over the points in blocks of nearby
  tiles, so each tile's pieces are read from memory once per block, not once per point.  A
  result that does not add up (only possible for degenerate input, e.g. a centre exactly on a
  boundary) or a footprint over more than 256 cells is recomputed with GEOS.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from firewatch.spatial import _kernels
from firewatch.spatial.footprint import footprint_polygons, km_per_degree

__all__ = ["FootprintOverlaps", "TileIndex"]

log = logging.getLogger(__name__)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

_EPS: Final = _kernels._EPS  # in tile units: a point this close to a tile line is in both
_MAX_RINGS: Final = 24  # pure-ring counts are capped here; larger footprints take the exact path


def _masks() -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Bit masks of a 4×4 sub-cell block (bit ``4*row + col``): rows r0..r1, columns c0..c1."""
    rows = np.zeros((4, 4), dtype=np.uint16)
    cols = np.zeros((4, 4), dtype=np.uint16)
    for lo in range(4):
        for hi in range(lo, 4):
            rows[lo, hi] = sum(0xF << (4 * r) for r in range(lo, hi + 1))
            line = sum(1 << c for c in range(lo, hi + 1))
            cols[lo, hi] = sum(line << (4 * r) for r in range(4))
    return rows, cols


_ROWS, _COLS = _masks()
_ROWS64, _COLS64 = _ROWS.astype(np.int64), _COLS.astype(np.int64)


def _ragged_arange(counts: IntArray) -> IntArray:
    """``[0..c0-1, 0..c1-1, ...]`` for ``counts = [c0, c1, ...]``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _line_crossings(a: FloatArray, b: FloatArray) -> tuple[IntArray, FloatArray]:
    """Segment index and parameter ``t`` where segments ``a -> b`` cross integer lines."""
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    k0 = np.floor(lo) + 1.0
    k1 = np.ceil(hi) - 1.0
    cnt = np.maximum(k1 - k0 + 1.0, 0.0).astype(np.int64)
    seg = np.repeat(np.arange(len(a), dtype=np.int64), cnt)
    k = k0[seg] + _ragged_arange(cnt)
    t = (k - a[seg]) / (b[seg] - a[seg])
    return seg, t


@dataclass
class FootprintOverlaps:
    """Areas of pixel footprints inside polygons.

    Attributes
    ----------
    point, polygon, area_km2
        One row per (point, polygon) with an overlap above 1e-9 of the footprint.  A point's
        rows are consecutive, largest area first (on a tie the centre's polygon, then the lower
        id); the points come in no particular order.
    footprint_km2
        Area of each point's footprint (``scan × track``).
    centre
        The polygon containing each point's centre (``-1``: none).
    top, top_km2, cells
        Per point: the polygon it overlaps most (on a tie the centre's polygon, then the lower
        id; ``-1``: none), that area, and how many polygons it overlaps (its rows).
    fallback
        How many footprints were recomputed with GEOS.
    """

    point: IntArray
    polygon: IntArray
    area_km2: FloatArray
    footprint_km2: FloatArray
    centre: IntArray
    top: IntArray
    top_km2: FloatArray
    cells: IntArray
    fallback: int = 0


def _summary(
    p: IntArray, v: IntArray, ar: FloatArray, centre: IntArray, n: int
) -> tuple[IntArray, IntArray, FloatArray, IntArray, FloatArray, IntArray]:
    """Rows (of the GEOS paths) in :class:`FootprintOverlaps` order, and its per-point ``top``,
    ``top_km2`` and ``cells``."""
    order = np.lexsort((v, v != centre[p], -ar, p))
    p, v, ar = p[order], v[order], ar[order]
    top = np.full(n, -1, dtype=np.int64)
    top_km2 = np.zeros(n)
    first = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else p
    top[p[first]] = v[first]
    top_km2[p[first]] = ar[first]
    return p, v, ar, top, top_km2, np.bincount(p, minlength=n)


def _footprint_inputs(
    lon: ArrayLike, lat: ArrayLike, scan_km: ArrayLike, track_km: ArrayLike, angle: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Centres, half sizes (km) and angles as contiguous float arrays of one length."""
    x = np.ascontiguousarray(lon, dtype="float64")
    y = np.ascontiguousarray(lat, dtype="float64")
    a = np.asarray(scan_km, dtype="float64") / 2.0
    b = np.asarray(track_km, dtype="float64") / 2.0
    th = np.ascontiguousarray(np.broadcast_to(np.asarray(angle, dtype="float64"), x.shape))
    return x, y, a, b, th


class TileIndex:
    """A tile raster over polygons for exact point and footprint location.

    Parameters
    ----------
    polygons
        Valid polygons or multipolygons (WGS-84 degrees).  Their position in this array is the
        id returned by :meth:`locate`.
    tiles_per_polygon
        Tile size is chosen so that an average polygon covers about this many tiles.
    max_tiles
        Upper bound on the raster's size (memory: about 6 bytes per tile).
    """

    def __init__(
        self,
        polygons: ArrayLike,
        *,
        tiles_per_polygon: float = 150.0,
        max_tiles: int = 12_000_000,
    ) -> None:
        geoms = np.asarray(polygons, dtype=object)
        if geoms.ndim != 1 or len(geoms) == 0:
            raise ValueError("TileIndex needs a non-empty 1-D array of polygons")
        kinds = shapely.get_type_id(geoms)
        if not np.isin(kinds, [3, 6]).all():
            raise ValueError("TileIndex indexes polygons and multipolygons only")
        self.polygons = geoms.copy()
        shapely.prepare(self.polygons)
        self.n = len(geoms)
        w, s, e, n = shapely.total_bounds(geoms)
        kxa, kya = km_per_degree((s + n) / 2.0)
        kx, ky = float(kxa), float(kya)
        poly_km2 = float(shapely.area(geoms).sum()) * kx * ky
        box_km2 = max((e - w) * kx * (n - s) * ky, 1e-9)
        tile_km2 = max(poly_km2 / (self.n * tiles_per_polygon), box_km2 / max_tiles, 1e-8)
        side = math.sqrt(tile_km2)
        self.dx = side / kx
        self.dy = side / ky
        self.x0 = w - self.dx
        self.y0 = s - self.dy
        self.nx = math.ceil((e - self.x0) / self.dx) + 2
        self.ny = math.ceil((n - self.y0) / self.dy) + 2
        self._build(geoms)

    # ------------------------------------------------------------------ building

    def _segments(self, geoms: NDArray[np.object_]) -> tuple[FloatArray, IntArray]:
        """Ring segments ``[xa, ya, xb, yb]`` oriented with the interior on their left."""
        parts, owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same = coord_ring[1:] == coord_ring[:-1]
        a = coords[:-1][same]
        b = coords[1:][same]
        ring = coord_ring[:-1][same]
        # Signed area of each ring, in coordinates relative to the raster origin for precision.
        ax, ay = a[:, 0] - self.x0, a[:, 1] - self.y0
        bx, by = b[:, 0] - self.x0, b[:, 1] - self.y0
        area2 = np.bincount(ring, ax * by - bx * ay, minlength=len(rings))
        exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]  # rings come exterior first
        flip = (area2 > 0) != exterior  # exteriors counter-clockwise, holes clockwise
        f = flip[ring]
        xa = np.where(f, b[:, 0], a[:, 0])
        ya = np.where(f, b[:, 1], a[:, 1])
        xb = np.where(f, a[:, 0], b[:, 0])
        yb = np.where(f, a[:, 1], b[:, 1])
        seg = np.column_stack([xa, ya, xb, yb])
        vid = owner[ring_part[ring]].astype(np.int64)
        keep = (xa != xb) | (ya != yb)
        return seg[keep], vid[keep]

    def _mark(self, u: FloatArray, v: FloatArray) -> tuple[IntArray, IntArray]:
        """Tiles whose closed box (grown by ``_EPS``) contains each point: (point, tile) pairs."""
        i = np.floor(u).astype(np.int64)
        j = np.floor(v).astype(np.int64)
        di = np.floor(u - _EPS).astype(np.int64) - i + np.floor(u + _EPS).astype(np.int64) - i
        dj = np.floor(v - _EPS).astype(np.int64) - j + np.floor(v + _EPS).astype(np.int64) - j
        near_i = di != 0  # -1: also the tile to the left/below; +1: to the right/above
        near_j = dj != 0
        idx = np.arange(len(u), dtype=np.int64)
        pts = [idx, idx[near_i], idx[near_j], idx[near_i & near_j]]
        ti = [i, (i + di)[near_i], i[near_j], (i + di)[near_i & near_j]]
        tj = [j, j[near_i], (j + dj)[near_j], (j + dj)[near_i & near_j]]
        return np.concatenate(pts), np.concatenate(tj) * self.nx + np.concatenate(ti)

    def _boundaries(self, seg: FloatArray, vid: IntArray) -> tuple[FloatArray, IntArray, IntArray]:
        """Merge each edge shared by two polygons into one boundary segment.

        Returns the segments (oriented with the ``left`` polygon's interior on their left), the
        ``left`` polygon and the ``right`` one (``-1`` where nothing, or no exact twin, is there).
        """
        xa, ya, xb, yb = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
        fwd = (xa < xb) | ((xa == xb) & (ya < yb))
        lx, ly = np.where(fwd, xa, xb), np.where(fwd, ya, yb)
        hx, hy = np.where(fwd, xb, xa), np.where(fwd, yb, ya)
        order = np.lexsort((hy, hx, ly, lx))
        lx, ly, hx, hy = lx[order], ly[order], hx[order], hy[order]
        eq = (lx[1:] == lx[:-1]) & (ly[1:] == ly[:-1]) & (hx[1:] == hx[:-1]) & (hy[1:] == hy[:-1])
        f = fwd[order]
        nxt = np.r_[eq, False]  # same as the next one
        prv = np.r_[False, eq]  # same as the previous one
        # A clean pair: exactly two copies, in opposite directions.
        pair = nxt & ~prv & ~np.r_[nxt[1:], False] & (f != np.r_[f[1:], False])
        second = np.r_[False, pair[:-1]]
        keep = ~second
        left = vid[order]
        right = np.full(len(order), -1, dtype=np.int64)
        right[np.flatnonzero(pair)] = left[np.flatnonzero(pair) + 1]
        out = seg[order][keep]
        return out, left[keep].astype(np.int64), right[keep]

    def _build(self, geoms: NDArray[np.object_]) -> None:
        nx, ny = self.nx, self.ny
        ntiles = nx * ny
        seg, seg_vid = self._segments(geoms)

        # Scan-line fill of tile centres: which polygon covers each centre, and how many do.
        cover, vsum = self._fill(
            (seg[:, 0] - self.x0) / self.dx,
            (seg[:, 1] - self.y0) / self.dy,
            (seg[:, 2] - self.x0) / self.dx,
            (seg[:, 3] - self.y0) / self.dy,
            seg_vid,
        )

        bseg, bleft, bright = self._boundaries(seg, seg_vid)
        nb = len(bseg)

        # Supercover at half-tile resolution: cut every boundary segment at the half-tile
        # lines; the pieces say which tiles each segment touches and, through their boxes,
        # which quarter-tile sub-cells (a 4×4 mask per tile, for the footprint screen).
        ua = (bseg[:, 0] - self.x0) / self.dx
        va = (bseg[:, 1] - self.y0) / self.dy
        ub = (bseg[:, 2] - self.x0) / self.dx
        vb = (bseg[:, 3] - self.y0) / self.dy
        su, tu = _line_crossings(2 * ua, 2 * ub)
        sv, tv = _line_crossings(2 * va, 2 * vb)
        ids = np.arange(nb, dtype=np.int64)
        s_all = np.concatenate([ids, ids, su, sv])
        t_all = np.concatenate([np.zeros(nb), np.ones(nb), tu, tv])
        order = np.lexsort((t_all, s_all))
        s_all, t_all = s_all[order], t_all[order]
        ok = (s_all[1:] == s_all[:-1]) & (t_all[1:] > t_all[:-1])
        ps = s_all[:-1][ok]
        t0 = t_all[:-1][ok]
        t1 = t_all[1:][ok]
        del s_all, t_all, order, ok, su, tu, sv, tv
        pu0 = (1 - t0) * ua[ps] + t0 * ub[ps]
        pv0 = (1 - t0) * va[ps] + t0 * vb[ps]
        pu1 = (1 - t1) * ua[ps] + t1 * ub[ps]
        pv1 = (1 - t1) * va[ps] + t1 * vb[ps]
        mu, mv = (pu0 + pu1) / 2, (pv0 + pv1) / 2
        piece_tile = np.floor(mv).astype(np.int64) * nx + np.floor(mu).astype(np.int64)

        # Mixed tiles: any tile a piece's start or middle is (nearly) in; over-marking is safe.
        mark_p, mark_t = self._mark(np.concatenate([pu0, mu]), np.concatenate([pv0, mv]))
        mark_s = np.concatenate([ps, ps])[mark_p]
        mixed = np.zeros(ntiles, dtype=bool)
        mixed[mark_t] = True
        mixed |= cover >= 2  # overlapping polygons: decide with GEOS
        lut = np.where(cover == 1, vsum, -1).astype(np.int32)
        mixed_ids = np.flatnonzero(mixed)
        nm = len(mixed_ids)
        lut[mixed_ids] = (-2 - np.arange(nm)).astype(np.int32)
        self.lut = lut
        self.n_mixed = nm
        k_of = -2 - lut.astype(np.int64)  # mixed tile number, valid where lut <= -2

        # 4×4 sub-cell masks from the boxes of the pieces (grown by _EPS).
        pk = k_of[piece_tile]
        ti = (piece_tile % nx).astype("float64")
        tj = (piece_tile // nx).astype("float64")

        def sub(lo_: FloatArray, hi_: FloatArray, base: FloatArray) -> tuple[IntArray, IntArray]:
            a0 = np.clip(np.floor(4 * (lo_ - base) - _EPS), 0, 3).astype(np.int64)
            a1 = np.clip(np.floor(4 * (hi_ - base) + _EPS), 0, 3).astype(np.int64)
            return a0, a1

        c0, c1 = sub(np.minimum(pu0, pu1), np.maximum(pu0, pu1), ti)
        r0, r1 = sub(np.minimum(pv0, pv1), np.maximum(pv0, pv1), tj)
        bits = _ROWS[r0, r1] & _COLS[c0, c1]
        mask = np.zeros(nm, dtype=np.uint16)
        order = np.argsort(pk, kind="stable")
        pk_s = pk[order]
        starts = np.flatnonzero(np.r_[True, pk_s[1:] != pk_s[:-1]])
        mask[pk_s[starts]] = np.bitwise_or.reduceat(bits[order], starts)
        # Tiles marked only through _EPS (a boundary on their edge): treat as fully touched.
        marked_only = np.ones(nm, dtype=bool)
        marked_only[pk_s[starts]] = False
        mask[marked_only] = 0xFFFF
        # Each segment's piece in each mixed tile (its stretch inside the tile), as CSR lists
        # per tile, with the sub-cells it touches.  Pieces of one segment share endpoints
        # exactly, so integrals over the pieces of the tiles a footprint touches add up.
        pkey = pk * nb + ps
        order = np.argsort(pkey, kind="stable")
        pkey_s = pkey[order]
        starts = np.flatnonzero(np.r_[True, pkey_s[1:] != pkey_s[:-1]])
        ekey = pkey_s[starts]
        eseg = ekey % nb
        tlo = np.minimum.reduceat(t0[order], starts)
        thi = np.maximum.reduceat(t1[order], starts)
        xa, ya, xb, yb = (bseg[eseg, c] for c in range(4))
        tseg_ptr = np.searchsorted(ekey // nb, np.arange(nm + 1)).astype(np.int64)
        tseg = eseg.astype(np.int64)
        tpiece_xy = np.column_stack(
            [
                (1 - tlo) * xa + tlo * xb,
                (1 - tlo) * ya + tlo * yb,
                (1 - thi) * xa + thi * xb,
                (1 - thi) * ya + thi * yb,
            ]
        )
        piece_mask = np.bitwise_or.reduceat(bits[order], starts).astype(np.uint16)
        del pu0, pv0, pu1, pv1, mu, mv, piece_tile, pk, ti, tj, bits, order, t0, t1

        # Candidates of each mixed tile for exact point tests: the polygon covering the tile
        # centre first (it usually covers most of the tile), then every polygon whose
        # boundary is in the tile.
        centre_single = mixed_ids[cover[mixed_ids] == 1]
        cand_t = [k_of[centre_single], k_of[mark_t], k_of[mark_t]]
        cand_v = [vsum[centre_single].astype(np.int64), bleft[mark_s], bright[mark_s]]
        cand_r = [np.zeros(len(centre_single), np.int64), np.ones(2 * len(mark_t), np.int64)]
        multi = mixed_ids[cover[mixed_ids] >= 2]
        if len(multi):
            tree = shapely.STRtree(geoms)
            qi, qv = tree.query(shapely.points(*self._centres(multi)), predicate="intersects")
            cand_t.append(k_of[multi[qi]])
            cand_v.append(qv.astype(np.int64))
            cand_r.append(np.zeros(len(qi), np.int64))
        ck = np.concatenate(cand_t)
        cv = np.concatenate(cand_v)
        cr = np.concatenate(cand_r)
        valid = cv >= 0
        ck, cv, cr = ck[valid], cv[valid], cr[valid]
        n = self.n
        key = np.sort((ck * 2 + cr) * n + cv)
        key = key[np.r_[True, key[1:] != key[:-1]]]
        ck, cr, cv = key // (2 * n), (key // n) % 2, key % n
        # A centre polygon is also listed with rank 1 when its boundary is in the tile.
        twin = (ck * 2 + 1) * n + cv
        pos = np.minimum(np.searchsorted(key, twin), len(key) - 1)
        dup = np.zeros(len(key), dtype=bool)
        dup[pos[(cr == 0) & (key[pos] == twin)]] = True
        ck, cv = ck[~dup], cv[~dup]
        self.cand_ptr = np.searchsorted(ck, np.arange(nm + 1)).astype(np.int64)
        self.cand_vid = cv.astype(np.int64)

        # A reference point in each mixed tile whose polygon is known: the tile's centre, from
        # the scan-line fill.  The footprint path carries the inside/outside state from it to a
        # pixel's centre.  A centre inside two polygons, or within 1e-9° of a boundary (the
        # fill's parity could be off there), is not a reference: GEOS decides per point there.
        rx, ry = self._centres(mixed_ids)
        self.ref_xy = np.column_stack([rx, ry])
        ref = np.where(cover[mixed_ids] == 1, vsum[mixed_ids], -1).astype(np.int64)
        ref[cover[mixed_ids] >= 2] = -3
        cnt = tseg_ptr[1:] - tseg_ptr[:-1]
        owner = np.repeat(np.arange(nm, dtype=np.int64), cnt)
        sxy = tpiece_xy
        px, py = rx[owner], ry[owner]
        ex, ey = sxy[:, 2] - sxy[:, 0], sxy[:, 3] - sxy[:, 1]
        ll = ex * ex + ey * ey
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip(((px - sxy[:, 0]) * ex + (py - sxy[:, 1]) * ey) / ll, 0.0, 1.0)
        t = np.where(ll > 0, t, 0.0)
        d = np.hypot(sxy[:, 0] + t * ex - px, sxy[:, 1] + t * ey - py)
        ref[owner[d < 1e-9]] = -3
        self.ref_vid = ref

        # Rings of pure tiles around each pure tile (capped), for the footprint fast path.
        pure = (lut >= 0).reshape(ny, nx)
        rings = pure.astype(np.uint8)
        cur = pure
        for _ in range(_MAX_RINGS - 1):
            nxt = cur.copy()
            nxt[1:, :] &= cur[:-1, :]
            nxt[:-1, :] &= cur[1:, :]
            nxt[0, :] = False
            nxt[-1, :] = False
            tmp = nxt.copy()
            nxt[:, 1:] &= tmp[:, :-1]
            nxt[:, :-1] &= tmp[:, 1:]
            nxt[:, 0] = False
            nxt[:, -1] = False
            if not nxt.any():
                break
            rings += nxt
            cur = nxt

        # The footprint kernel's layout: one read per tile and one cache line per piece.
        # ``fp_code``: a pure tile's polygon × 32 + its ring count, else the lut's code;
        # ``tile_head``: each mixed tile's first and end piece and its sub-cell mask;
        # ``pieces``: x0, y0, x1, y1, left and right polygon, sub-cell mask (and padding).
        if self.n >= (1 << 31) // 32:
            raise ValueError("TileIndex holds at most 67 million polygons")
        self.fp_code = np.where(lut >= 0, lut.astype(np.int64) * 32 + rings.ravel(), lut).astype(
            np.int32
        )
        self.tile_head = np.column_stack([tseg_ptr[:-1], tseg_ptr[1:], mask.astype(np.int64)])
        pieces = np.zeros((len(tseg), 8), dtype=np.float64)
        pieces[:, :4] = tpiece_xy
        pieces[:, 4] = bleft[tseg]
        pieces[:, 5] = bright[tseg]
        pieces[:, 6] = piece_mask
        self.pieces = pieces
        log.debug(
            "tile index: %d polygons, %d×%d tiles of %.4f×%.4f°, %d mixed, %d boundary segments",
            self.n,
            nx,
            ny,
            self.dx,
            self.dy,
            nm,
            nb,
        )

    def _centres(self, tiles: IntArray) -> tuple[FloatArray, FloatArray]:
        return (
            self.x0 + (tiles % self.nx + 0.5) * self.dx,
            self.y0 + (tiles // self.nx + 0.5) * self.dy,
        )

    def _fill(
        self, ua: FloatArray, va: FloatArray, ub: FloatArray, vb: FloatArray, vid: IntArray
    ) -> tuple[IntArray, FloatArray]:
        """How many polygons cover each tile centre, and the sum of their ids (even-odd rule)."""
        nx, ny = self.nx, self.ny
        lo = np.minimum(va, vb)
        hi = np.maximum(va, vb)
        j0 = np.ceil(lo - 0.5)
        j1 = np.ceil(hi - 0.5) - 1.0
        cnt = np.maximum(j1 - j0 + 1.0, 0.0).astype(np.int64)
        s = np.repeat(np.arange(len(ua), dtype=np.int64), cnt)
        j = (j0[s] + _ragged_arange(cnt)).astype(np.int64)
        uc = ua[s] + (j + 0.5 - va[s]) / (vb[s] - va[s]) * (ub[s] - ua[s])
        v = vid[s]
        order = np.lexsort((uc, j, v))
        j, uc, v = j[order], uc[order], v[order]
        new = np.r_[True, (j[1:] != j[:-1]) | (v[1:] != v[:-1])]
        group_start = np.maximum.accumulate(np.where(new, np.arange(len(j)), 0))
        rank = np.arange(len(j)) - group_start
        start = np.flatnonzero(rank % 2 == 0)
        end = start + 1
        valid = end < len(j)
        valid[valid] &= (j[end[valid]] == j[start[valid]]) & (v[end[valid]] == v[start[valid]])
        if not valid.all():
            log.warning("tile index: %d unpaired scan-line crossings ignored", int((~valid).sum()))
        start, end = start[valid], end[valid]
        i0 = np.ceil(uc[start] - 0.5).astype(np.int64)
        i1 = np.ceil(uc[end] - 0.5).astype(np.int64)  # exclusive
        i0 = np.clip(i0, 0, nx)
        i1 = np.clip(i1, 0, nx)
        keep = i1 > i0
        rows, i0, i1, vv = j[start][keep], i0[keep], i1[keep], v[start][keep]
        width = nx + 1
        size = ny * width
        open_ = rows * width + i0
        close = rows * width + i1
        dcount = np.bincount(open_, minlength=size) - np.bincount(close, minlength=size)
        dsum = np.bincount(open_, weights=vv, minlength=size) - np.bincount(
            close, weights=vv, minlength=size
        )
        cover = np.cumsum(dcount.reshape(ny, width), axis=1)[:, :nx].ravel()
        vsum = np.cumsum(dsum.reshape(ny, width), axis=1)[:, :nx].ravel()
        return cover.astype(np.int64), np.rint(vsum)

    # ------------------------------------------------------------------ queries

    def _tiles(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray, NDArray[Any]]:
        u = (x - self.x0) / self.dx
        v = (y - self.y0) / self.dy
        ok = np.isfinite(u) & np.isfinite(v)
        i = np.floor(np.where(ok, u, -1.0)).astype(np.int64)
        j = np.floor(np.where(ok, v, -1.0)).astype(np.int64)
        ok &= (i >= 0) & (i < self.nx) & (j >= 0) & (j < self.ny)
        return i, j, ok

    def _locate_mixed(self, k: IntArray, x: FloatArray, y: FloatArray) -> IntArray:
        """GEOS point-in-polygon for points in mixed tiles ``k``, candidates most likely first."""
        out = np.full(len(k), -1, dtype=np.int64)
        pts = np.arange(len(k))
        start = self.cand_ptr[k]
        count = self.cand_ptr[k + 1] - start
        rank = 0
        while len(pts):
            keep = count > rank
            pts, start, count = pts[keep], start[keep], count[keep]
            if not len(pts):
                break
            v = self.cand_vid[start + rank]
            hit = shapely.contains_xy(self.polygons[v], x[pts], y[pts])
            out[pts[hit]] = v[hit]
            miss = ~hit
            pts, start, count = pts[miss], start[miss], count[miss]
            rank += 1
        return out

    def locate(self, lon: ArrayLike, lat: ArrayLike) -> IntArray:
        """The polygon containing each point (its position in ``polygons``), ``-1`` if none.

        Points exactly on a boundary are in no polygon (GEOS ``contains``), as with
        ``geopandas.sjoin(predicate="within")``.  Where polygons overlap, the first candidate
        that contains the point wins.
        """
        x = np.asarray(lon, dtype="float64")
        y = np.asarray(lat, dtype="float64")
        i, j, ok = self._tiles(x, y)
        code = np.where(ok, self.lut[np.where(ok, j * self.nx + i, 0)], -1).astype(np.int64)
        out = np.where(code >= 0, code, -1)
        pts = np.flatnonzero(code <= -2)
        out[pts] = self._locate_mixed(-2 - code[pts], x[pts], y[pts])
        return out

    def footprint_overlaps(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        scan_km: ArrayLike,
        track_km: ArrayLike,
        angle: ArrayLike,
    ) -> FootprintOverlaps:
        """Area of each pixel footprint inside each polygon it overlaps.

        Parameters
        ----------
        lon, lat
            Pixel centres.
        scan_km, track_km
            Pixel size along scan and along track, km (positive and finite).
        angle
            Scan-axis angle, radians counter-clockwise from east
            (:func:`~firewatch.spatial.footprint.footprint_angle`).

        Returns
        -------
        FootprintOverlaps
            Also the polygon containing each centre (``centre``), as :meth:`locate` would
            give it except for centres exactly on a boundary.
        """
        x, y, a, b, th = _footprint_inputs(lon, lat, scan_km, track_km, angle)
        n = len(x)
        # Work in an order of blocks of nearby tiles: each tile's data is then read from
        # memory once per block rather than once per point (3× faster on random order).
        # numpy allocates every array the loop fills (see _kernels.footprints).
        perm = np.empty(n, dtype=np.int64)
        _kernels.block_order(
            x, y, self.x0, self.y0, self.dx, self.dy, self.nx, self.ny, 16,
            np.empty(n, dtype=np.int64), perm,
        )  # fmt: skip
        xs, ys, ts = x[perm], y[perm], th[perm]
        kx, ky = km_per_degree(ys)
        work, work_a = np.empty((3, n), dtype=np.int64), np.empty(n)
        centre, top, cells = (np.empty(n, dtype=np.int64) for _ in range(3))
        top_km2, bad = np.empty(n), np.empty(n, dtype=np.int64)
        cap = 3 * n + 1024  # pages never written cost nothing
        while True:
            p, v, ar = np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64), np.empty(cap)
            m, nbad = _kernels.footprints(
                perm, xs, ys, a[perm], b[perm], kx, ky, np.cos(ts), np.sin(ts),
                self.fp_code, self.nx, self.ny, self.x0, self.y0, self.dx, self.dy,
                self.tile_head, self.pieces, self.ref_vid, self.ref_xy, _ROWS64, _COLS64,
                p, v, ar, work, work_a, centre, top, top_km2, cells, bad,
            )  # fmt: skip
            if m >= 0:
                break
            cap *= 2
        p, v, ar, bad = p[:m], v[:m], ar[:m], bad[:nbad]
        unsure = np.flatnonzero(centre == -3)
        if len(unsure):
            # Centres the crossing count cannot place (on a boundary, or where cells overlap):
            # GEOS places them.
            i, j, _ = self._tiles(x[unsure], y[unsure])  # inside the raster: a mixed tile
            k = -2 - self.lut[j * self.nx + i].astype(np.int64)
            centre[unsure] = self._locate_mixed(k, x[unsure], y[unsure])
            bad = np.r_[bad, unsure]
        if len(bad):
            # Those, sums that do not add up (overlapping cells, degenerate input) and pixels
            # over more cells than the loop sums: GEOS measures them.
            kx, ky = km_per_degree(y)
            gp, gv, ga, gt, gta, gc = _summary(
                *self._geos_overlaps(bad, x, y, a, b, th, kx, ky), centre, n
            )
            p, v, ar = np.r_[p, gp], np.r_[v, gv], np.r_[ar, ga]
            top[bad], top_km2[bad], cells[bad] = gt[bad], gta[bad], gc[bad]
        return FootprintOverlaps(p, v, ar, 4.0 * a * b, centre, top, top_km2, cells, len(bad))

    def _geos_overlaps(
        self,
        pts: IntArray,
        x: FloatArray,
        y: FloatArray,
        a: FloatArray,
        b: FloatArray,
        th: NDArray[np.float64],
        kx: FloatArray,
        ky: FloatArray,
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """Overlap areas with GEOS polygon intersection (reference / fallback path)."""
        fps = footprint_polygons(x[pts], y[pts], 2 * a[pts], 2 * b[pts], th[pts])
        tree = shapely.STRtree(self.polygons)
        qi, qv = tree.query(fps, predicate="intersects")
        areas = shapely.area(shapely.intersection(fps[qi], self.polygons[qv]))
        areas = areas * kx[pts][qi] * ky[pts][qi]
        keep = areas > 1e-9 * 4.0 * a[pts][qi] * b[pts][qi] + 1e-12  # as the compiled path
        return pts[qi][keep], qv[keep].astype(np.int64), areas[keep]

    def geos_overlaps(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        scan_km: ArrayLike,
        track_km: ArrayLike,
        angle: ArrayLike,
    ) -> FootprintOverlaps:
        """Footprint overlaps computed with GEOS only (slow; the reference for tests)."""
        x, y, a, b, th = _footprint_inputs(lon, lat, scan_km, track_km, angle)
        kx, ky = km_per_degree(y)
        centre = self.locate(x, y)
        p, v, ar, top, top_km2, cells = _summary(
            *self._geos_overlaps(np.arange(len(x)), x, y, a, b, th, kx, ky), centre, len(x)
        )
        return FootprintOverlaps(p, v, ar, 4.0 * a * b, centre, top, top_km2, cells, len(x))
